//! Weft's desktop window: a Tauri shell over weft-engine, nothing else.
//!
//! `weft` with no arguments calls [`run`]. The UI (ui/, built into ui/dist and embedded
//! at compile time) talks to the engine only through the commands in `commands`; every
//! error reaches it as `{code, message}` ([`UiError`]).

pub mod bindings;
mod commands;
mod session;
mod views;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tauri::{AppHandle, Emitter, Manager, RunEvent};

pub use session::{Open, Session, Sink, UiError, UiEvent, WorkspaceView};

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
    launch(weft_engine::default_home())
}

/// Opens the Weft window on the workspace at `home` (the CLI's `--home`), and runs until
/// it is closed. Taking the home as an argument spares the caller from setting
/// `WEFT_HOME`, which would need `unsafe` `set_var`.
pub fn run_with_home(home: PathBuf) -> Result<(), DesktopError> {
    launch(Ok(home))
}

fn launch(home: Result<PathBuf, weft_engine::EngineError>) -> Result<(), DesktopError> {
    // Events can start before the app handle exists (the node starts when the workspace
    // opens, which is once the handle is set, but the sink is made first).
    let handle: Arc<OnceLock<AppHandle>> = Arc::new(OnceLock::new());
    let sink_handle = handle.clone();
    let sink: Sink = Arc::new(move |e: UiEvent| {
        if let Some(app) = sink_handle.get() {
            let sent = match &e {
                UiEvent::DocsChanged(docs) => {
                    app.emit(e.name(), session::DocsChanged { docs: docs.clone() })
                }
                UiEvent::SyncChanged => app.emit(e.name(), ()),
            };
            if let Err(err) = sent {
                eprintln!("weft: forwarding {} to the window: {err}", e.name());
            }
        }
    });
    let app = tauri::Builder::default()
        .manage(SessionState(Mutex::new(Session::new(home, sink))))
        .invoke_handler(tauri::generate_handler![
            commands::workspace_status,
            commands::create_workspace,
            commands::unlock_workspace,
            commands::join_workspace,
            commands::list_tree,
            commands::create_note,
            commands::create_record,
            commands::create_folder,
            commands::rename_doc,
            commands::move_doc,
            commands::move_folder,
            commands::rename_folder,
            commands::trash_doc,
            commands::restore_doc,
            commands::open_note,
            commands::save_note_update,
            commands::note_updates_since,
            commands::get_record,
            commands::set_record_field,
            commands::patch_record,
            commands::history,
            commands::preview_version,
            commands::restore_version,
            commands::sync_status,
            commands::doc_holders,
            commands::unreadable_changes,
            commands::create_invite,
            commands::get_settings,
            commands::set_device_name,
            commands::add_relay,
            commands::remove_relay,
            commands::search,
        ])
        .build(context())?;
    let _ = handle.set(app.handle().clone());
    tauri::async_runtime::spawn(commands::open_early(app.handle().clone()));
    // `run_return` rather than `run`: on Linux `run` exits the process from inside the
    // event loop, and the caller (the `weft` binary) should decide how to exit.
    app.run_return(|app, event| {
        if let RunEvent::Exit = event {
            // The node writes snapshots and tells its peers on the way out; without
            // the snapshots the next start replays the whole change log. Nothing is
            // lost if this fails: every edit was committed when it was made.
            let state = app.state::<SessionState>();
            let open = state
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take_open();
            if let Some(open) = open
                && let Err(e) = tauri::async_runtime::block_on(open.node.shutdown())
            {
                eprintln!("weft: closing the workspace: {e}");
            }
        }
    });
    Ok(())
}
