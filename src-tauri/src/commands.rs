//! The Tauri commands the UI invokes (from ui/src/api.ts, and nowhere else).
//!
//! Each runs on a blocking thread: the engine is synchronous (SQLite, CRDTs, Argon2id
//! for a passphrase) and a synchronous Tauri command would run on the main thread,
//! freezing the window while it works.

use tauri::{AppHandle, Manager};
use weft_engine::DocSummary;
use zeroize::Zeroizing;

use crate::SessionState;
use crate::session::{Session, UiError, WorkspaceView};

async fn with_session<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&mut Session) -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<SessionState>();
        // A poisoned lock means an engine call panicked half way: refuse rather than
        // carry on with a workspace in an unknown state.
        let mut session = state
            .0
            .lock()
            .map_err(|_| UiError::internal("an earlier operation failed; restart Weft"))?;
        f(&mut session)
    })
    .await
    .map_err(|e| UiError::internal(format!("the operation did not finish: {e}")))?
}

/// Where the window stands: no workspace, locked, or open (opening it if it can).
#[tauri::command]
pub async fn workspace_status(app: AppHandle) -> Result<WorkspaceView, UiError> {
    with_session(app, Session::status).await
}

/// Creates a workspace with its keys in the OS keyring.
#[tauri::command]
pub async fn create_workspace(app: AppHandle, name: String) -> Result<WorkspaceView, UiError> {
    with_session(app, move |s| s.create(&name)).await
}

/// Opens a workspace whose keys are in a passphrase-protected file.
#[tauri::command]
pub async fn unlock_workspace(
    app: AppHandle,
    passphrase: String,
) -> Result<WorkspaceView, UiError> {
    let passphrase = Zeroizing::new(passphrase);
    with_session(app, move |s| s.unlock(&passphrase)).await
}

/// The open workspace's documents.
#[tauri::command]
pub async fn list_documents(app: AppHandle) -> Result<Vec<DocSummary>, UiError> {
    with_session(app, |s| s.documents()).await
}
