//! The window's view of one workspace, over weft-engine and free of Tauri, so the
//! flows the UI depends on (missing → create, locked → unlock, open → list) are tested
//! without a window.

use std::path::{Path, PathBuf};

use serde::Serialize;
use weft_engine::{DocSummary, EngineError, KeyBackend, Workspace};

/// An error as the UI receives it: it matches on `code` only and shows `message`.
///
/// Codes are [`EngineError::code`]'s, plus this shell's own: `invalid_name`, `internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    /// Stable, machine-readable.
    pub code: &'static str,
    /// For people; names what was wrong.
    pub message: String,
}

impl UiError {
    /// A failure of this shell itself (a lost thread, a poisoned lock), not of the user's data.
    pub fn internal(message: impl Into<String>) -> Self {
        UiError {
            code: "internal",
            message: message.into(),
        }
    }
}

impl From<EngineError> for UiError {
    fn from(e: EngineError) -> Self {
        UiError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// Where the window stands with its workspace; the UI picks its screen from `state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WorkspaceView {
    /// No workspace at `home` yet: offer to create one.
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
    },
}

/// One window's session: the resolved home and, once opened, the workspace.
#[derive(Debug)]
pub struct Session {
    /// Resolved once at start: the home cannot change under a running window.
    home: Result<PathBuf, UiError>,
    workspace: Option<Workspace>,
}

impl Session {
    /// A session for `home` (from [`weft_engine::default_home`]); a failed resolution is
    /// kept and reported by every call, so the window can still show why.
    pub fn new(home: Result<PathBuf, EngineError>) -> Self {
        Session {
            home: home.map_err(UiError::from),
            workspace: None,
        }
    }

    fn home(&self) -> Result<&Path, UiError> {
        self.home.as_deref().map_err(Clone::clone)
    }

    fn open_view(&self, ws: &Workspace) -> Result<WorkspaceView, UiError> {
        Ok(WorkspaceView::Open {
            home: ws.home().display().to_string(),
            name: ws.name()?,
        })
    }

    /// Opens the workspace if it can be opened without asking (keys in the OS keyring)
    /// and says where things stand.
    pub fn status(&mut self) -> Result<WorkspaceView, UiError> {
        if let Some(ws) = &self.workspace {
            return self.open_view(ws);
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
        if let Some(ws) = &self.workspace {
            return self.open_view(ws);
        }
        let home = self.home()?.to_owned();
        let ws = Workspace::open(&home, Some(passphrase))?;
        self.keep(ws)
    }

    /// Creates a workspace named `name` at the home, its keys in the OS keyring.
    pub fn create(&mut self, name: &str) -> Result<WorkspaceView, UiError> {
        self.create_with(name, KeyBackend::OsKeyring)
    }

    fn create_with(&mut self, name: &str, keys: KeyBackend) -> Result<WorkspaceView, UiError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(UiError {
                code: "invalid_name",
                message: "a workspace needs a name".to_owned(),
            });
        }
        let home = self.home()?.to_owned();
        let ws = Workspace::init(&home, name, keys)?;
        self.keep(ws)
    }

    fn keep(&mut self, ws: Workspace) -> Result<WorkspaceView, UiError> {
        let view = self.open_view(&ws)?;
        self.workspace = Some(ws);
        Ok(view)
    }

    /// The open workspace's documents (not the deleted ones), sorted by path.
    pub fn documents(&self) -> Result<Vec<DocSummary>, UiError> {
        let ws = self.workspace.as_ref().ok_or_else(|| UiError {
            code: "not_open",
            message: "no workspace is open".to_owned(),
        })?;
        Ok(ws.list(false)?)
    }

    /// Flushes and closes the workspace, if one is open (on exit).
    pub fn close(&mut self) -> Result<(), EngineError> {
        match self.workspace.take() {
            Some(ws) => ws.close(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn passphrase(p: &str) -> KeyBackend {
        KeyBackend::Passphrase(Zeroizing::new(p.to_owned()))
    }

    fn titles(docs: &[DocSummary]) -> Vec<(String, String)> {
        docs.iter()
            .map(|d| (d.path.clone(), d.kind.to_string()))
            .collect()
    }

    #[test]
    fn empty_home_offers_to_create_a_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("weft");
        let mut s = Session::new(Ok(home.clone()));
        assert_eq!(
            s.status().unwrap(),
            WorkspaceView::Missing {
                home: home.display().to_string()
            }
        );
        assert_eq!(s.documents().unwrap_err().code, "not_open");
    }

    #[test]
    fn unresolvable_home_is_reported_by_every_call() {
        let mut s = Session::new(Err(EngineError::NoDataDir));
        assert_eq!(s.status().unwrap_err().code, "no_data_dir");
        assert_eq!(s.create("x").unwrap_err().code, "no_data_dir");
        assert_eq!(s.unlock("x").unwrap_err().code, "no_data_dir");
    }

    #[test]
    fn passphrase_workspace_is_locked_until_the_right_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_owned();
        {
            let mut ws = Workspace::init(&home, "Lab", passphrase("correct horse")).unwrap();
            ws.create_note("Hello world", "Inbox", "hi").unwrap();
            ws.close().unwrap();
        }
        let mut s = Session::new(Ok(home.clone()));
        let locked = WorkspaceView::Locked {
            home: home.display().to_string(),
        };
        assert_eq!(s.status().unwrap(), locked);
        let wrong = s.unlock("battery staple").unwrap_err();
        assert_eq!(wrong.code, "keys", "{wrong:?}");
        assert_eq!(
            s.status().unwrap(),
            locked,
            "a wrong passphrase keeps it locked"
        );

        let open = s.unlock("correct horse").unwrap();
        assert_eq!(
            open,
            WorkspaceView::Open {
                home: home.display().to_string(),
                name: "Lab".to_owned()
            }
        );
        assert_eq!(s.status().unwrap(), open);
        let docs = s.documents().unwrap();
        assert_eq!(
            titles(&docs),
            [("Inbox/Hello world".to_owned(), "note".to_owned())]
        );
        assert_eq!(docs[0].folder, ["Inbox"]);
        s.close().unwrap();
    }

    #[test]
    fn created_workspace_is_open_and_lists_what_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("new");
        let mut s = Session::new(Ok(home.clone()));
        assert_eq!(
            s.create_with("   ", passphrase("pw")).unwrap_err().code,
            "invalid_name"
        );
        let view = s.create_with("  Notes  ", passphrase("pw")).unwrap();
        assert_eq!(
            view,
            WorkspaceView::Open {
                home: home.display().to_string(),
                name: "Notes".to_owned()
            }
        );
        assert!(s.documents().unwrap().is_empty());
        s.workspace
            .as_mut()
            .unwrap()
            .create_record("Reading list", "", &serde_json::json!({}))
            .unwrap();
        assert_eq!(
            titles(&s.documents().unwrap()),
            [("Reading list".to_owned(), "record".to_owned())]
        );
        // A second window (or a retry) must not overwrite an existing workspace.
        let mut other = Session::new(Ok(home));
        assert_eq!(
            other
                .create_with("Again", passphrase("pw"))
                .unwrap_err()
                .code,
            "already_exists"
        );
    }

    #[test]
    fn errors_reach_the_ui_as_code_and_message() {
        let e = UiError::from(EngineError::NoWorkspace {
            home: PathBuf::from("/nowhere"),
        });
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "no_workspace");
        assert!(
            json["message"].as_str().unwrap().contains("/nowhere"),
            "{json}"
        );
        let view = serde_json::to_value(WorkspaceView::Locked { home: "/h".into() }).unwrap();
        assert_eq!(view, serde_json::json!({"state": "locked", "home": "/h"}));
    }

    /// The path `make test` takes: the real OS keyring (Secret Service under
    /// scripts/with-keyring.sh). Elsewhere there may be no keyring to talk to.
    #[test]
    fn keyring_real_create_then_reopen_without_asking() {
        if std::env::var_os("WEFT_TEST_KEYRING").is_none() {
            eprintln!("skipped: set WEFT_TEST_KEYRING=1 with an unlocked Secret Service");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("kr");
        let mut s = Session::new(Ok(home.clone()));
        s.create("Keyring").unwrap();
        s.close().unwrap();
        let mut again = Session::new(Ok(home));
        assert!(matches!(
            again.status().unwrap(),
            WorkspaceView::Open { name, .. } if name == "Keyring"
        ));
    }
}
