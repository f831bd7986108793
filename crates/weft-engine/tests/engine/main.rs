//! The engine against real SQLite files: several processes' worth of
//! `Workspace`s on one file, reopen, export/import properties.

// Test and benchmark code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod export;
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

/// A renamed folder keeps what is in it, and the rename is on disk for the
/// next process; a rename onto a folder beside it is refused and writes
/// nothing.
#[test]
fn a_renamed_folder_keeps_its_documents_across_a_reopen() {
    let (dir, mut ws) = new_workspace();
    ws.create_note("Plan", &["work".into(), "q4".into()], "ship it\n")
        .unwrap();
    ws.create_note("Groceries", &["home".into()], "milk\n")
        .unwrap();
    ws.rename_folder(&["work".into()], "Job").unwrap();
    let err = ws.rename_folder(&["Job".into()], "home").unwrap_err();
    assert_eq!(err.code(), "already_exists");
    assert!(
        err.to_string().contains("a folder `home` already exists"),
        "{err}"
    );
    drop(ws);

    let ws = reopen(&dir);
    let paths: Vec<String> = ws
        .list(false)
        .unwrap()
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(paths, vec!["Job/q4/Plan", "home/Groceries"]);
    assert_eq!(
        ws.folders(),
        vec![
            vec!["Job".to_owned()],
            vec!["Job".to_owned(), "q4".to_owned()],
            vec!["home".to_owned()],
        ]
    );
}

/// One document's summary is the one the full list shows, for a live
/// document, a trashed one and, after a reopen, one read from the stored
/// read model alone; an unknown id has none.
#[test]
fn a_document_s_summary_is_what_the_list_shows() {
    let (dir, mut ws) = new_workspace();
    let plan = ws.create_note("Plan", &["work".into()], "x\n").unwrap();
    let old = ws
        .create_record("Old", &[], &serde_json::json!({"n": 1}))
        .unwrap();
    ws.set_field(&plan, "/missing", &serde_json::json!(1))
        .unwrap_err();
    ws.remove(&old).unwrap();
    drop(ws);
    let ws = reopen(&dir);
    for id in [plan, old] {
        let listed = ws.list(true).unwrap().into_iter().find(|d| d.id == id);
        assert!(listed.is_some());
        assert_eq!(ws.summary(&id).unwrap(), listed);
    }
    assert_eq!(ws.summary(&weft_engine::DocId::random()).unwrap(), None);
}
