//! The store against a real SQLite file.

// Test and benchmark code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use weft_core::{ChangeKind, DocId, DocKind, WorkspaceId};
use weft_crypto::{ChangeHeader, DeviceKey, SealedChange, WorkspaceKey};
use weft_store::{Store, StoreError};

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    ws: WorkspaceId,
    key: WorkspaceKey,
    dev: DeviceKey,
}

fn fixture() -> (Fixture, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weft.db");
    let ws = WorkspaceId::random();
    let store = Store::create(&path, ws).unwrap();
    (
        Fixture {
            _dir: dir,
            path,
            ws,
            key: WorkspaceKey::generate(),
            dev: DeviceKey::generate(),
        },
        store,
    )
}

fn seal(f: &Fixture, dev: &DeviceKey, doc: DocId, seq: u64, body: &[u8]) -> SealedChange {
    let header = ChangeHeader {
        workspace: f.ws,
        doc,
        author: dev.device_id(),
        seq,
        kind: ChangeKind::Update(DocKind::Note),
    };
    SealedChange::seal(header, body, &f.key.derive(&f.ws).data, dev).unwrap()
}

#[test]
fn appended_changes_read_back_and_open() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    let other = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            assert_eq!(tx.next_seq(&f.dev.device_id())?, 1);
            tx.append(&seal(&f, &f.dev, doc, 1, b"one"), 10)?;
            tx.append(&seal(&f, &f.dev, other, 2, b"two"), 11)?;
            tx.append(&seal(&f, &f.dev, doc, 3, b"three"), 12)?;
            assert_eq!(tx.next_seq(&f.dev.device_id())?, 4);
            Ok(())
        })
        .unwrap();
    let data = f.key.derive(&f.ws).data;
    let rows = store.changes_of_doc(&doc, 0).unwrap();
    let bodies: Vec<Vec<u8>> = rows
        .iter()
        .map(|r| r.change.open(&data).unwrap().to_vec())
        .collect();
    assert_eq!(bodies, vec![b"one".to_vec(), b"three".to_vec()]);
    assert_eq!(store.changes_of_doc(&doc, rows[0].row).unwrap().len(), 1);
    let row = store.doc(&doc).unwrap().unwrap();
    assert_eq!(
        (row.kind, row.changes, row.updated_at_ms),
        (DocKind::Note, 2, 12)
    );
    assert_eq!(store.change_count().unwrap(), 3);
    // Survives reopening.
    drop(store);
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.workspace(), f.ws);
    assert_eq!(store.changes_of_doc(&doc, 0).unwrap().len(), 2);
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
}

#[test]
fn a_failed_transaction_leaves_nothing() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    let r = store.write(|tx| -> Result<(), StoreError> {
        tx.append(&seal(&f, &f.dev, doc, 1, b"one"), 1)?;
        Err(StoreError::Missing {
            path: "boom".into(),
        })
    });
    assert!(r.is_err());
    assert_eq!(store.change_count().unwrap(), 0);
    assert!(store.doc(&doc).unwrap().is_none());
}

#[test]
fn duplicates_are_ignored_and_conflicting_rewrites_refused() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    let c = seal(&f, &f.dev, doc, 1, b"one");
    let again = c.clone();
    let forged = seal(&f, &f.dev, doc, 1, b"other");
    store
        .write(|tx| -> Result<(), StoreError> {
            assert!(tx.append(&c, 1)?.is_some());
            assert!(
                tx.append(&again, 2)?.is_none(),
                "the same change twice is a no-op"
            );
            let err = tx.append(&forged, 3).unwrap_err();
            assert!(matches!(err, StoreError::Conflict { seq: 1, .. }), "{err}");
            Ok(())
        })
        .unwrap();
    assert_eq!(store.change_count().unwrap(), 1);
}

#[test]
fn version_vector_counts_only_contiguous_runs() {
    let (f, mut store) = fixture();
    let other = DeviceKey::generate();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            for s in [1, 2, 3, 5] {
                tx.append(&seal(&f, &f.dev, doc, s, b"x"), 0)?;
            }
            for s in [2, 3] {
                tx.append(&seal(&f, &other, doc, s, b"y"), 0)?;
            }
            Ok(())
        })
        .unwrap();
    let vv = store.version_vector().unwrap();
    assert_eq!(vv.get(&f.dev.device_id()), 3, "seq 4 is missing");
    assert_eq!(vv.get(&other.device_id()), 0, "seq 1 is missing");
}

#[test]
fn the_log_is_append_only_in_sql_too() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            tx.append(&seal(&f, &f.dev, doc, 1, b"x"), 0)?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let e = conn.execute("DELETE FROM changes", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = conn.execute("UPDATE changes SET seq = 9", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn newer_schema_and_foreign_files_are_refused_untouched() {
    let (f, store) = fixture();
    drop(store);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.pragma_update(None, "user_version", 42).unwrap();
    drop(conn);
    let before = std::fs::read(&f.path).unwrap();
    let err = Store::open(&f.path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 42, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade weft"), "{err}");
    assert_eq!(std::fs::read(&f.path).unwrap(), before);

    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE x (y)")
        .unwrap();
    assert!(matches!(
        Store::open(&other),
        Err(StoreError::NotWeft { .. })
    ));
    assert!(matches!(
        Store::open(&dir.path().join("missing.db")),
        Err(StoreError::Missing { .. })
    ));
}

#[test]
fn snapshots_replace_and_report_what_they_cover() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            let row = tx.append(&seal(&f, &f.dev, doc, 1, b"x"), 5)?.unwrap();
            tx.set_snapshot(&doc, DocKind::Note, b"snap-1", b"", row, 5)?;
            tx.set_snapshot(&doc, DocKind::Note, b"snap-2", b"", row, 6)?;
            Ok(())
        })
        .unwrap();
    let row = store.doc(&doc).unwrap().unwrap();
    assert_eq!(row.snapshot.as_deref(), Some(&b"snap-2"[..]));
    assert_eq!(
        store.changes_of_doc(&doc, row.snapshot_upto).unwrap().len(),
        0
    );
    assert_eq!(row.changes, 1);
}
