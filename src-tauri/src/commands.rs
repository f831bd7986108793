//! The Tauri commands the UI invokes (from ui/src/api.ts, and nowhere else).
//!
//! Each is a thin call into weft-engine on the node's core thread; what they return
//! is shaped in `views`. Opening a workspace runs on a blocking thread: the keyring,
//! Argon2id for a passphrase and SQLite are synchronous, and a synchronous Tauri
//! command would run on the main thread, freezing the window while it works.

use tauri::ipc::Response;
use tauri::{AppHandle, Manager};
use weft_core::ErrorCode;
use weft_engine::config::ConfigFile;
use weft_engine::{DocId, DocSummary, Holder, SearchHit, Shown, Unreadable};
use zeroize::Zeroizing;

use crate::SessionState;
use crate::session::{Open, Session, UiError, WorkspaceView};
use crate::views::{
    self, DocTable, InviteView, Preview, RecordView, SettingsView, SyncStatus, VersionView,
};

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

/// The open workspace (its node), without holding the session lock across the call.
fn open(app: &AppHandle) -> Result<Open, UiError> {
    let state = app.state::<SessionState>();
    let session = state
        .0
        .lock()
        .map_err(|_| UiError::internal("an earlier operation failed; restart Weft"))?;
    session.open()
}

fn doc_id(id: &str) -> Result<DocId, UiError> {
    id.parse().map_err(|_| {
        UiError::new(
            ErrorCode::InvalidValue,
            format!("`{id}` is not a document id"),
        )
    })
}

/// Where the window stands: no workspace, locked, or open (opening it if it can).
#[tauri::command]
pub async fn workspace_status(app: AppHandle) -> Result<WorkspaceView, UiError> {
    with_session(app, Session::status).await
}

/// Opens the workspace while the window's page is still loading (WebKit takes a good
/// part of a second to start it), as the page's first call would, and reads its folders
/// once, which the engine's index builds on first use: the page then finds the workspace
/// open and its first list quicker. A workspace that cannot open without asking (a
/// passphrase) is left for the page; so is any error, which the page's own call meets
/// and shows.
pub async fn open_early(app: AppHandle) {
    let opened = with_session(app.clone(), Session::status).await;
    if let (Ok(WorkspaceView::Open { .. }), Ok(o)) = (opened, open(&app)) {
        let _ = o.call(|ws| Ok(ws.folders().len())).await;
    }
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

/// Joins the workspace of an invite code, as a new device.
#[tauri::command]
pub async fn join_workspace(app: AppHandle, code: String) -> Result<WorkspaceView, UiError> {
    let code = Zeroizing::new(code);
    with_session(app, move |s| s.join(&code)).await
}

/// Every document, the trash too, and every folder, by columns (`views::DocTable`).
#[tauri::command]
pub async fn list_tree(app: AppHandle) -> Result<DocTable, UiError> {
    open(&app)?
        .call(|ws| Ok(DocTable::new(ws.list(true)?, ws.folders())))
        .await
}

async fn created(o: &Open, id: DocId) -> Result<DocSummary, UiError> {
    o.call(move |ws| ws.summary(&id))
        .await?
        .ok_or_else(|| UiError::internal("the new document is not in the index"))
}

/// Creates an empty note in `folder`.
#[tauri::command]
pub async fn create_note(
    app: AppHandle,
    title: String,
    folder: Vec<String>,
) -> Result<DocSummary, UiError> {
    let o = open(&app)?;
    let id = o
        .call(move |ws| ws.create_note(&title, &folder, ""))
        .await?;
    created(&o, id).await
}

/// Creates an empty record in `folder`.
#[tauri::command]
pub async fn create_record(
    app: AppHandle,
    title: String,
    folder: Vec<String>,
) -> Result<DocSummary, UiError> {
    let o = open(&app)?;
    let id = o
        .call(move |ws| ws.create_record(&title, &folder, &serde_json::json!({})))
        .await?;
    created(&o, id).await
}

/// Creates an empty folder.
#[tauri::command]
pub async fn create_folder(app: AppHandle, path: Vec<String>) -> Result<(), UiError> {
    open(&app)?.call(move |ws| ws.create_folder(&path)).await
}

/// Renames a document.
#[tauri::command]
pub async fn rename_doc(app: AppHandle, id: String, title: String) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?
        .call(move |ws| ws.rename(&id, title.trim()))
        .await
}

/// Moves a document into a folder.
#[tauri::command]
pub async fn move_doc(app: AppHandle, id: String, folder: Vec<String>) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?.call(move |ws| ws.move_doc(&id, &folder)).await
}

/// Moves a folder (with everything in it) under another.
#[tauri::command]
pub async fn move_folder(
    app: AppHandle,
    path: Vec<String>,
    parent: Vec<String>,
) -> Result<(), UiError> {
    open(&app)?
        .call(move |ws| ws.move_folder(&path, &parent))
        .await
}

/// Renames a folder; what is in it stays in it.
#[tauri::command]
pub async fn rename_folder(app: AppHandle, path: Vec<String>, name: String) -> Result<(), UiError> {
    open(&app)?
        .call(move |ws| ws.rename_folder(&path, &name))
        .await
}

/// Moves a document to the trash.
#[tauri::command]
pub async fn trash_doc(app: AppHandle, id: String) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?.call(move |ws| ws.remove(&id)).await
}

/// Brings a document back from the trash.
#[tauri::command]
pub async fn restore_doc(app: AppHandle, id: String) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?.call(move |ws| ws.undelete(&id)).await
}

/// The note's Loro snapshot, for the editor's replica (binary).
#[tauri::command]
pub async fn open_note(app: AppHandle, id: String) -> Result<Response, UiError> {
    let id = doc_id(&id)?;
    let bytes = open(&app)?.call(move |ws| ws.note_state(&id)).await?;
    Ok(Response::new(bytes))
}

/// Seals the editor's new operations as one change.
#[tauri::command]
pub async fn save_note_update(app: AppHandle, id: String, update: Vec<u8>) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?
        .call(move |ws| ws.apply_editor_update(&id, &update).map(|_| ()))
        .await
}

/// What the store holds that the editor at `version` lacks (binary).
#[tauri::command]
pub async fn note_updates_since(
    app: AppHandle,
    id: String,
    version: Vec<u8>,
) -> Result<Response, UiError> {
    let id = doc_id(&id)?;
    let bytes = open(&app)?
        .call(move |ws| ws.note_updates_since(&id, &version))
        .await?;
    Ok(Response::new(bytes))
}

/// A record's values and its concurrent ones.
#[tauri::command]
pub async fn get_record(app: AppHandle, id: String) -> Result<RecordView, UiError> {
    let id = doc_id(&id)?;
    match open(&app)?.call(move |ws| ws.show(&id, None)).await? {
        Shown::Record { json, conflicts } => Ok(RecordView { json, conflicts }),
        Shown::Note { .. } => Err(UiError::new(
            ErrorCode::WrongKind,
            "this document is a note",
        )),
    }
}

/// Sets one field of a record (any JSON value).
#[tauri::command]
pub async fn set_record_field(
    app: AppHandle,
    id: String,
    pointer: String,
    value: serde_json::Value,
) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?
        .call(move |ws| ws.set_field(&id, &pointer, &value))
        .await
}

/// Applies an RFC 6902 JSON Patch to a record: all of it or none.
#[tauri::command]
pub async fn patch_record(
    app: AppHandle,
    id: String,
    patch: Vec<serde_json::Value>,
) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?
        .call(move |ws| ws.patch(&id, &serde_json::Value::Array(patch)).map(|_| ()))
        .await
}

/// The versions of a document, oldest first, with the devices' names.
#[tauri::command]
pub async fn history(app: AppHandle, id: String) -> Result<Vec<VersionView>, UiError> {
    let id = doc_id(&id)?;
    open(&app)?
        .call(move |ws| {
            let names = views::device_names(&ws.peers()?);
            Ok(ws
                .history(&id)?
                .into_iter()
                .map(|v| VersionView::new(v, &names))
                .collect())
        })
        .await
}

/// A document as it was at version `number`.
#[tauri::command]
pub async fn preview_version(
    app: AppHandle,
    id: String,
    number: usize,
) -> Result<Preview, UiError> {
    let id = doc_id(&id)?;
    Ok(open(&app)?
        .call(move |ws| ws.show(&id, Some(number)))
        .await?
        .into())
}

/// Restores version `number` as a new change.
#[tauri::command]
pub async fn restore_version(app: AppHandle, id: String, number: usize) -> Result<(), UiError> {
    let id = doc_id(&id)?;
    open(&app)?
        .call(move |ws| ws.revert(&id, number).map(|_| ()))
        .await
}

/// Devices, relays and how far along sync is.
#[tauri::command]
pub async fn sync_status(app: AppHandle) -> Result<SyncStatus, UiError> {
    views::sync_status(&open(&app)?).await
}

/// Which devices hold a document's latest changes.
#[tauri::command]
pub async fn doc_holders(app: AppHandle, id: String) -> Result<Vec<Holder>, UiError> {
    let id = doc_id(&id)?;
    open(&app)?.call(move |ws| ws.doc_holders(&id)).await
}

/// The changes of a document this build could not read, per device that
/// made them (the document header's warning).
#[tauri::command]
pub async fn unreadable_changes(app: AppHandle, id: String) -> Result<Vec<Unreadable>, UiError> {
    let id = doc_id(&id)?;
    open(&app)?.call(move |ws| ws.unreadable(Some(&id))).await
}

/// An invite code for another device, with its QR code.
#[tauri::command]
pub async fn create_invite(app: AppHandle) -> Result<InviteView, UiError> {
    let o = open(&app)?;
    let addrs = o.node.listen_addrs().await?;
    let peers = weft_engine::shareable_addrs(addrs.iter().map(ToString::to_string));
    let invite = o.call(move |ws| ws.invite(peers)).await?;
    Ok(InviteView::new(&invite))
}

/// This device's settings.
#[tauri::command]
pub async fn get_settings(app: AppHandle) -> Result<SettingsView, UiError> {
    let o = open(&app)?;
    let home = o.home.clone();
    o.call(move |ws| {
        Ok(SettingsView {
            device_name: ConfigFile::read(&home)?.device_name(),
            home: home.display().to_string(),
            relays: ws.relays()?.into_iter().map(|r| r.addr).collect(),
        })
    })
    .await
}

/// Sets the name other devices see (weft.toml); they see it from the next start.
#[tauri::command]
pub async fn set_device_name(app: AppHandle, name: String) -> Result<(), UiError> {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(UiError::new(
            ErrorCode::InvalidName,
            "a device needs a name",
        ));
    }
    let home = open(&app)?.home;
    tauri::async_runtime::spawn_blocking(move || {
        let mut cfg = ConfigFile::read(&home)?;
        cfg.net.device_name = Some(name);
        cfg.write(&home)
    })
    .await
    .map_err(|e| UiError::internal(format!("the operation did not finish: {e}")))?
    .map_err(UiError::from)
}

/// Adds a weft-relay; the node registers and syncs with it.
#[tauri::command]
pub async fn add_relay(app: AppHandle, addr: String) -> Result<(), UiError> {
    open(&app)?
        .call(move |ws| ws.add_relay(addr.trim()).map(|_| ()))
        .await
}

/// Stops using a relay (what it stores stays there; `weft relay forget` deletes it).
#[tauri::command]
pub async fn remove_relay(app: AppHandle, addr: String) -> Result<(), UiError> {
    open(&app)?
        .call(move |ws| ws.remove_relay(addr.trim()).map(|_| ()))
        .await
}

/// Titles and note text, searched in memory.
#[tauri::command]
pub async fn search(app: AppHandle, query: String) -> Result<Vec<SearchHit>, UiError> {
    open(&app)?.call(move |ws| ws.search(&query)).await
}
