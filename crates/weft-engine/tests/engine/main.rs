//! The engine against real SQLite files: several processes' worth of
//! `Workspace`s on one file, reopen, export/import properties.

// Test and benchmark code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod node;
mod peers;
mod roundtrip;

use weft_engine::{KeyBackend, Workspace};
use zeroize::Zeroizing;

/// The passphrase of every test workspace.
pub const PASS: &str = "engine test passphrase";

/// A fresh workspace in a temp dir (passphrase key file).
pub fn new_workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(
        dir.path(),
        "t",
        KeyBackend::Passphrase(Zeroizing::new(PASS.into())),
    )
    .unwrap();
    (dir, ws)
}

/// Opens the workspace again, as another process would.
pub fn reopen(dir: &tempfile::TempDir) -> Workspace {
    Workspace::open(dir.path(), Some(PASS)).unwrap()
}
