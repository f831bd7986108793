//! The store against a real SQLite file.

// Test and benchmark code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod damage;
mod peers;

use weft_core::{ChangeKind, DocId, DocKind, WorkspaceId};
use weft_crypto::{ChangeHeader, DeviceKey, SealedChange, WorkspaceKey};
use weft_store::{Store, StoreError, StoreRead};

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
    // Sync re-delivers old changes after newer ones: still a no-op (not a
    // gap), and the head does not move back.
    store
        .write(|tx| -> Result<(), StoreError> {
            assert!(tx.append(&seal(&f, &f.dev, doc, 2, b"two"), 4)?.is_some());
            assert!(tx.append(&again, 5)?.is_none());
            let err = tx.append(&forged, 6).unwrap_err();
            assert!(matches!(err, StoreError::Conflict { seq: 1, .. }), "{err}");
            assert_eq!(tx.next_seq(&f.dev.device_id())?, 3);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.change_count().unwrap(), 2);
    assert_eq!(store.version_vector().unwrap().get(&f.dev.device_id()), 2);
}

#[test]
fn gaps_are_refused_and_the_vector_is_each_authors_run() {
    let (f, mut store) = fixture();
    let other = DeviceKey::generate();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            for s in [1, 2, 3] {
                tx.append(&seal(&f, &f.dev, doc, s, b"x"), 0)?;
            }
            Ok(())
        })
        .unwrap();
    for (dev, s, expected) in [(&f.dev, 5, 4), (&f.dev, 0, 4), (&other, 2, 1)] {
        let err = store
            .write(|tx| tx.append(&seal(&f, dev, doc, s, b"y"), 0))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Gap { seq, expected: e, .. } if seq == s && e == expected),
            "{err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("change {s} of device"))
                && msg.contains(&format!("does not follow the stored {}", expected - 1)),
            "{msg}"
        );
    }
    // A gap in the middle of a batch refuses the batch: 4 was valid on its
    // own but is not kept either.
    let err = store
        .write(|tx| -> Result<(), StoreError> {
            tx.append(&seal(&f, &f.dev, doc, 4, b"four"), 0)?;
            tx.append(&seal(&f, &f.dev, doc, 6, b"six"), 0)?;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Gap {
                seq: 6,
                expected: 5,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        store.change_count().unwrap(),
        3,
        "a refused gap stores nothing"
    );
    let vv = store.version_vector().unwrap();
    assert_eq!(vv.get(&f.dev.device_id()), 3);
    assert_eq!(vv.get(&other.device_id()), 0);
    assert_eq!(vv.iter().count(), 1, "no head for an author with no change");
    // The head did not move: the next change in order is still accepted.
    store
        .write(|tx| -> Result<(), StoreError> {
            assert_eq!(tx.next_seq(&f.dev.device_id())?, 4);
            tx.append(&seal(&f, &f.dev, doc, 4, b"four"), 0)?;
            tx.append(&seal(&f, &other, doc, 1, b"o"), 0)?;
            Ok(())
        })
        .unwrap();
    let vv = store.version_vector().unwrap();
    assert_eq!(vv.get(&f.dev.device_id()), 4);
    assert_eq!(vv.get(&other.device_id()), 1);
}

/// Ten changes by the fixture's device interleaved with ten by `other`,
/// all in one document; the fixture's carry 100-byte bodies.
fn two_authors(f: &Fixture, store: &mut Store, other: &DeviceKey) {
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            for s in 1..=10 {
                tx.append(&seal(f, &f.dev, doc, s, &[s as u8; 100]), 0)?;
                tx.append(&seal(f, other, doc, s, b"o"), 0)?;
            }
            Ok(())
        })
        .unwrap();
}

fn seqs(v: &[SealedChange]) -> Vec<u64> {
    v.iter().map(|c| c.header().seq).collect()
}

#[test]
fn changes_after_reads_one_author_in_order_within_limits() {
    let (f, mut store) = fixture();
    let other = DeviceKey::generate();
    two_authors(&f, &mut store, &other);
    let me = f.dev.device_id();
    let all = store.changes_after(&me, 0, 100, usize::MAX).unwrap();
    assert_eq!(seqs(&all), (1..=10).collect::<Vec<_>>());
    assert!(
        all.iter()
            .all(|c| c.header().author == me && c.verify().is_ok()),
        "only this author's changes, read back intact"
    );
    assert_eq!(
        seqs(
            &store
                .changes_after(&other.device_id(), 4, 100, usize::MAX)
                .unwrap()
        ),
        (5..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(&store.changes_after(&me, 7, 100, usize::MAX).unwrap()),
        vec![8, 9, 10]
    );
    assert_eq!(
        seqs(&store.changes_after(&me, 2, 3, usize::MAX).unwrap()),
        vec![3, 4, 5]
    );
    assert!(
        store
            .changes_after(&me, 2, 0, usize::MAX)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .changes_after(&me, 10, 100, usize::MAX)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .changes_after(&me, u64::MAX, 100, usize::MAX)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .changes_after(&DeviceKey::generate().device_id(), 0, 100, usize::MAX)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn changes_after_stops_once_the_byte_budget_is_reached() {
    let (f, mut store) = fixture();
    let other = DeviceKey::generate();
    two_authors(&f, &mut store, &other);
    let me = f.dev.device_id();
    let all = store.changes_after(&me, 0, 100, usize::MAX).unwrap();
    // Budgets in the unit the protocol frames them in.
    let size = all[0].to_bytes().len();
    assert!(all.iter().all(|c| c.to_bytes().len() == size));
    let at = |budget| seqs(&store.changes_after(&me, 0, 100, budget).unwrap());
    assert_eq!(at(size), vec![1], "the first change fills the budget");
    assert_eq!(at(size + 1), vec![1, 2], "the second crosses it");
    assert_eq!(at(2 * size), vec![1, 2]);
    assert_eq!(at(2 * size + 1), vec![1, 2, 3]);
    assert_eq!(at(1), vec![1], "at least one, whatever the budget");
    assert_eq!(at(0), vec![1]);
    assert_eq!(
        seqs(&store.changes_after(&me, 9, 100, 1).unwrap()),
        vec![10]
    );
    // The same read inside a write transaction.
    store
        .write(|tx| -> Result<(), StoreError> {
            assert_eq!(seqs(&tx.changes_after(&me, 3, 2, size + 1)?), vec![4, 5]);
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_sync_reads_use_indexes_not_a_scan_of_the_log() {
    let (f, store) = fixture();
    drop(store);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    // The statements `changes_after` and `next_seq` run.
    let after = plan(
        "SELECT id, doc, seq, kind, nonce, ciphertext, signature
         FROM changes WHERE author = x'00' AND seq > 5 ORDER BY seq LIMIT 10",
    );
    assert!(
        after.contains("USING INDEX") && after.contains("seq>?"),
        "{after}"
    );
    assert!(!after.contains("TEMP B-TREE"), "no sort: {after}");
    let head = plan("SELECT seq FROM heads WHERE author = x'00'");
    assert!(head.contains("USING INDEX"), "{head}");
}

#[test]
fn a_corrupt_row_is_an_error_not_a_panic() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    store
        .write(|tx| tx.append(&seal(&f, &f.dev, doc, 1, b"x"), 0))
        .unwrap();
    drop(store);
    {
        // Appended behind the store's back: a nonce of 3 bytes.
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute(
            "INSERT INTO changes (doc, author, seq, kind, nonce, ciphertext, signature, stored_at)
             SELECT doc, author, 2, kind, x'010203', ciphertext, signature, 0 FROM changes",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&f.path).unwrap();
    let me = f.dev.device_id();
    assert_eq!(
        seqs(&store.changes_after(&me, 0, 1, usize::MAX).unwrap()),
        vec![1]
    );
    let err = store.changes_after(&me, 0, 10, usize::MAX).unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptChange { detail, .. } if detail.contains("nonce")),
        "{err}"
    );
}

#[test]
fn a_version_1_database_gains_its_heads_on_open() {
    let (f, mut store) = fixture();
    let other = DeviceKey::generate();
    two_authors(&f, &mut store, &other);
    let doc = DocId::random();
    store
        .write(|tx| tx.append(&seal(&f, &f.dev, doc, 11, b"x"), 0))
        .unwrap();
    let before = store.version_vector().unwrap();
    drop(store);
    {
        // What a database written before heads existed looks like.
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute_batch(
            "DROP TABLE heads; DROP TABLE peers; DROP TABLE peer_addrs; DROP TABLE relays; DROP TABLE set_aside; DROP TABLE read_models; DROP TABLE snapshots; ALTER TABLE docs ADD COLUMN snapshot BLOB; ALTER TABLE docs ADD COLUMN snapshot_vector BLOB; ALTER TABLE docs ADD COLUMN snapshot_upto INTEGER NOT NULL DEFAULT 0; PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let mut store = Store::open(&f.path).unwrap();
    let vv = store.version_vector().unwrap();
    assert_eq!(vv, before);
    assert_eq!(vv.get(&f.dev.device_id()), 11);
    assert_eq!(vv.get(&other.device_id()), 10);
    {
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        // Every migration ran, including those after heads.
        assert_eq!(version, 8);
    }
    // Appends carry on from the rebuilt heads, and still refuse gaps.
    store
        .write(|tx| -> Result<(), StoreError> {
            assert_eq!(tx.next_seq(&other.device_id())?, 11);
            tx.append(&seal(&f, &f.dev, doc, 12, b"x"), 0)?;
            Ok(())
        })
        .unwrap();
    let err = store
        .write(|tx| tx.append(&seal(&f, &other, doc, 12, b"x"), 0))
        .unwrap_err();
    assert!(matches!(err, StoreError::Gap { expected: 11, .. }), "{err}");
    assert_eq!(store.version_vector().unwrap().get(&f.dev.device_id()), 12);
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

#[test]
fn snapshots_kept_in_the_docs_rows_move_to_their_own_table() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            let row = tx.append(&seal(&f, &f.dev, doc, 1, b"x"), 5)?.unwrap();
            tx.set_snapshot(&doc, DocKind::Note, b"snap", b"vv", row, 5)?;
            tx.append(&seal(&f, &f.dev, doc, 2, b"y"), 7)?;
            Ok(())
        })
        .unwrap();
    let before = store.doc(&doc).unwrap().unwrap();
    drop(store);
    {
        // What a database written before migration 8 looks like.
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute_batch(
            "ALTER TABLE docs ADD COLUMN snapshot BLOB;
             ALTER TABLE docs ADD COLUMN snapshot_vector BLOB;
             ALTER TABLE docs ADD COLUMN snapshot_upto INTEGER NOT NULL DEFAULT 0;
             UPDATE docs SET snapshot = s.sealed, snapshot_vector = s.vector,
                 snapshot_upto = s.upto FROM snapshots s WHERE s.doc = docs.doc;
             DROP TABLE snapshots; PRAGMA user_version = 7;",
        )
        .unwrap();
    }
    let store = Store::open(&f.path).unwrap();
    let after = store.doc(&doc).unwrap().unwrap();
    assert_eq!(after.snapshot.as_deref(), Some(&b"snap"[..]));
    assert_eq!(
        (after.snapshot_upto, after.changes, after.updated_at_ms),
        (before.snapshot_upto, 2, before.updated_at_ms)
    );
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let cols: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('docs') WHERE name LIKE 'snapshot%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(cols, 0, "the old columns are gone");
}

#[test]
fn processes_opening_an_old_file_at_once_migrate_it_once() {
    // Several opens race to migrate one file written before migration 8;
    // each must open it (the one that loses a race finds the migration done).
    for _ in 0..10 {
        let (f, store) = fixture();
        drop(store);
        {
            let conn = rusqlite::Connection::open(&f.path).unwrap();
            conn.execute_batch(
                "ALTER TABLE docs ADD COLUMN snapshot BLOB;
                 ALTER TABLE docs ADD COLUMN snapshot_vector BLOB;
                 ALTER TABLE docs ADD COLUMN snapshot_upto INTEGER NOT NULL DEFAULT 0;
                 DROP TABLE snapshots; PRAGMA user_version = 7;",
            )
            .unwrap();
        }
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    barrier.wait();
                    Store::open(&f.path).expect("open while another process migrates");
                });
            }
        });
    }
}
