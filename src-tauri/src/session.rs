//! The window's view of one workspace, over weft-engine and free of Tauri, so the
//! flows the UI depends on (missing → create or join, locked → unlock, open → edit)
//! are tested without a window.
//!
//! Once open, the workspace belongs to a weft-engine node running in this process:
//! the window is a device like `weft daemon`, syncing while it is open. Every
//! operation is a [`NodeHandle::call`] on the node's core thread, which offers what
//! it committed to the connected devices at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use weft_core::{Coded, ErrorCode};
use weft_engine::config::ConfigFile;
use weft_engine::node::{self, NodeEvent, NodeHandle};
use weft_engine::{EngineError, Invite, KeyBackend, Workspace};

/// An error as the UI receives it: it matches on `code` only and shows `message`.
/// Every code is one of the table in `weft_core::error_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct UiError {
    /// Stable, machine-readable: one of the table in `weft_core::error_code`.
    #[ts(type = "ErrorCode")]
    pub code: ErrorCode,
    /// For people; names what was wrong.
    pub message: String,
}

impl UiError {
    /// A failure of this shell itself (a lost thread, a poisoned lock), not of the user's data.
    pub fn internal(message: impl Into<String>) -> Self {
        UiError {
            code: ErrorCode::Internal,
            message: message.into(),
        }
    }

    /// An error with the shell's own `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        UiError {
            code,
            message: message.into(),
        }
    }
}

impl From<EngineError> for UiError {
    fn from(e: EngineError) -> Self {
        UiError {
            code: e.code(),
            message: weft_core::error_code::render(&e),
        }
    }
}

impl From<node::NodeError> for UiError {
    fn from(e: node::NodeError) -> Self {
        match e {
            node::NodeError::Engine(e) => e.into(),
            other => UiError::new(other.code(), weft_core::error_code::render(&other)),
        }
    }
}

/// Where the window stands with its workspace; the UI picks its screen from `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WorkspaceView {
    /// No workspace at `home` yet: offer to create or join one.
    Missing {
        /// The workspace home that was looked in.
        home: String,
    },
    /// The workspace's keys are in a passphrase file: ask for the passphrase.
    Locked {
        /// The workspace home.
        home: String,
    },
    /// Open: its documents can be listed.
    Open {
        /// The workspace home.
        home: String,
        /// The workspace's display name.
        name: String,
        /// This device's id.
        device: String,
    },
}

/// What the engine reports that the UI shows, forwarded as Tauri events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiEvent {
    /// Documents changed by another device (`weft://docs-changed`).
    DocsChanged(Vec<String>),
    /// Connections, sessions or progress changed (`weft://sync-changed`).
    SyncChanged,
}

impl UiEvent {
    /// The Tauri event name.
    pub fn name(&self) -> &'static str {
        match self {
            UiEvent::DocsChanged(_) => "weft://docs-changed",
            UiEvent::SyncChanged => "weft://sync-changed",
        }
    }
}

/// The payload of `weft://docs-changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DocsChanged {
    /// The documents another device changed (ids).
    pub docs: Vec<String>,
}

/// Where events go (the Tauri app handle's `emit`, or a test's channel).
pub type Sink = Arc<dyn Fn(UiEvent) + Send + Sync>;

/// Changes held against changes known to exist, from the node's progress events.
#[derive(Debug, Default, Clone, Copy)]
pub struct Progress {
    /// Changes this device holds.
    pub held: u64,
    /// Changes known to exist.
    pub known: u64,
}

/// The open workspace: the node that owns it, and what the window keeps about it.
#[derive(Debug, Clone)]
pub struct Open {
    /// The node; every operation is a call on it.
    pub node: NodeHandle,
    /// The workspace home.
    pub home: PathBuf,
    name: String,
    progress: Arc<Mutex<Progress>>,
}

impl Open {
    /// Runs `f` on the workspace on the node's core thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, UiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Workspace) -> Result<T, EngineError> + Send + 'static,
    {
        Ok(self.node.call(f).await??)
    }

    /// The latest progress the node reported.
    pub fn progress(&self) -> Progress {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn view(&self) -> WorkspaceView {
        WorkspaceView::Open {
            home: self.home.display().to_string(),
            name: self.name.clone(),
            device: self.node.device().to_string(),
        }
    }
}

/// One window's session: the resolved home and, once opened, the workspace's node.
pub struct Session {
    /// Resolved once at start: the home cannot change under a running window.
    home: Result<PathBuf, UiError>,
    open: Option<Open>,
    sink: Sink,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("home", &self.home)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `home` (from [`weft_engine::default_home`]); a failed resolution is
    /// kept and reported by every call, so the window can still show why. Engine events
    /// go to `sink` once a workspace is open.
    pub fn new(home: Result<PathBuf, EngineError>, sink: Sink) -> Self {
        Session {
            home: home.map_err(UiError::from),
            open: None,
            sink,
        }
    }

    fn home(&self) -> Result<&Path, UiError> {
        self.home.as_deref().map_err(Clone::clone)
    }

    /// The open workspace, for an operation on it.
    pub fn open(&self) -> Result<Open, UiError> {
        self.open
            .clone()
            .ok_or_else(|| UiError::new(ErrorCode::NotOpen, "no workspace is open"))
    }

    /// Opens the workspace if it can be opened without asking (keys in the OS keyring)
    /// and says where things stand. Call inside the async runtime (the node needs it).
    pub fn status(&mut self) -> Result<WorkspaceView, UiError> {
        if let Some(o) = &self.open {
            return Ok(o.view());
        }
        let home = self.home()?.to_owned();
        if !Workspace::exists(&home) {
            return Ok(WorkspaceView::Missing {
                home: home.display().to_string(),
            });
        }
        match Workspace::open(&home, None) {
            Ok(ws) => self.keep(ws),
            Err(EngineError::PassphraseRequired { .. }) => Ok(WorkspaceView::Locked {
                home: home.display().to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a workspace whose keys are in a passphrase file. A wrong passphrase is an
    /// error (code `keys`) and leaves the session locked, so the user can try again.
    pub fn unlock(&mut self, passphrase: &str) -> Result<WorkspaceView, UiError> {
        if let Some(o) = &self.open {
            return Ok(o.view());
        }
        let home = self.home()?.to_owned();
        let ws = Workspace::open(&home, Some(passphrase))?;
        self.keep(ws)
    }

    /// Creates a workspace named `name` at the home, its keys in the OS keyring.
    pub fn create(&mut self, name: &str) -> Result<WorkspaceView, UiError> {
        self.create_with(name, KeyBackend::OsKeyring)
    }

    /// [`Session::create`] with the keys where `keys` says (tests use a passphrase).
    pub fn create_with(&mut self, name: &str, keys: KeyBackend) -> Result<WorkspaceView, UiError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(UiError::new(
                ErrorCode::InvalidName,
                "a workspace needs a name",
            ));
        }
        let home = self.home()?.to_owned();
        let ws = Workspace::init(&home, name, keys)?;
        self.keep(ws)
    }

    /// Joins the workspace of an invite code as a new device, keys in the OS keyring.
    /// A code that does not read changes nothing.
    pub fn join(&mut self, code: &str) -> Result<WorkspaceView, UiError> {
        self.join_with(code, KeyBackend::OsKeyring)
    }

    /// [`Session::join`] with the keys where `keys` says.
    pub fn join_with(&mut self, code: &str, keys: KeyBackend) -> Result<WorkspaceView, UiError> {
        let invite = Invite::decode(code.trim()).map_err(|e| {
            UiError::new(
                ErrorCode::InvalidInvite,
                format!("reading the invite code: {e}"),
            )
        })?;
        let home = self.home()?.to_owned();
        let (ws, _ignored) = Workspace::join_invite(&home, invite, keys)?;
        self.keep(ws)
    }

    fn keep(&mut self, ws: Workspace) -> Result<WorkspaceView, UiError> {
        let home = ws.home().to_owned();
        let name = ws.name()?;
        // A weft.toml that does not read is reported, not silently replaced by defaults.
        let cfg = ConfigFile::read(&home)?.node_config(&home)?;
        let node = node::start(ws, cfg)?;
        let progress = Arc::new(Mutex::new(Progress::default()));
        forward_events(node.subscribe(), self.sink.clone(), progress.clone());
        let open = Open {
            node,
            home,
            name,
            progress,
        };
        let view = open.view();
        self.open = Some(open);
        Ok(view)
    }

    /// Stops the node (snapshots written, peers told), if a workspace is open.
    pub fn take_open(&mut self) -> Option<Open> {
        self.open.take()
    }
}

/// Forwards node events to the UI until the node stops.
fn forward_events(
    mut rx: tokio::sync::broadcast::Receiver<NodeEvent>,
    sink: Sink,
    progress: Arc<Mutex<Progress>>,
) {
    use tokio::sync::broadcast::error::RecvError;
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(NodeEvent::DocsChanged { docs }) => {
                    sink(UiEvent::DocsChanged(
                        docs.iter().map(ToString::to_string).collect(),
                    ));
                }
                Ok(NodeEvent::Progress { held, known }) => {
                    *progress.lock().unwrap_or_else(PoisonError::into_inner) =
                        Progress { held, known };
                    sink(UiEvent::SyncChanged);
                }
                Ok(NodeEvent::Listening(_)) => {}
                Ok(_) => sink(UiEvent::SyncChanged),
                // Fell behind: the UI re-reads everything it shows.
                Err(RecvError::Lagged(_)) => {
                    sink(UiEvent::DocsChanged(Vec::new()));
                    sink(UiEvent::SyncChanged);
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
