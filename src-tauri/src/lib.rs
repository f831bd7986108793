//! Weft's desktop window: a Tauri shell over weft-engine, nothing else.
//!
//! `weft` with no arguments calls [`run`]. The UI (ui/, built into ui/dist and embedded
//! at compile time) talks to the engine only through the commands in `commands`; every
//! error reaches it as `{code, message}` ([`UiError`]).

mod commands;
mod session;

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use tauri::{Manager, RunEvent};

pub use session::{Session, UiError, WorkspaceView};

/// Why the window could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DesktopError {
    /// Tauri could not build the app or its window (no display, no WebKitGTK, ...).
    #[error("cannot start the Weft window: {0}")]
    Tauri(#[from] tauri::Error),
}

/// Tauri's managed state: the one session this window has.
pub(crate) struct SessionState(pub(crate) Mutex<Session>);

/// The app context build.rs generated: config, embedded UI, icons, ACL.
// The generated code unwraps values it produced itself at build time (the decoded icons,
// the serialized ACL), not input from disk, so the workspace's unwrap ban does not apply.
#[allow(clippy::unwrap_used, clippy::expect_used)]
fn context() -> tauri::Context {
    tauri::tauri_build_context!()
}

/// Opens the Weft window and runs until it is closed.
///
/// The workspace home is resolved once, here: `WEFT_HOME`, else `$XDG_DATA_HOME/weft`.
pub fn run() -> Result<(), DesktopError> {
    launch(Session::new(weft_engine::default_home()))
}

/// Opens the Weft window on the workspace at `home` (the CLI's `--home`), and runs until
/// it is closed. Taking the home as an argument spares the caller from setting
/// `WEFT_HOME`, which would need `unsafe` `set_var`.
pub fn run_with_home(home: PathBuf) -> Result<(), DesktopError> {
    launch(Session::new(Ok(home)))
}

fn launch(session: Session) -> Result<(), DesktopError> {
    let app = tauri::Builder::default()
        .manage(SessionState(Mutex::new(session)))
        .invoke_handler(tauri::generate_handler![
            commands::workspace_status,
            commands::create_workspace,
            commands::unlock_workspace,
            commands::list_documents,
        ])
        .build(context())?;
    // `run_return` rather than `run`: on Linux `run` exits the process from inside the
    // event loop, and the caller (the `weft` binary) should decide how to exit.
    app.run_return(|app, event| {
        if let RunEvent::Exit = event {
            // Snapshots are written on close; without them the next start replays the
            // whole change log. Nothing is lost if this fails: every edit is committed.
            let state = app.state::<SessionState>();
            let mut session = state.0.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(e) = session.close() {
                eprintln!("weft: closing the workspace: {e}");
            }
        }
    });
    Ok(())
}
