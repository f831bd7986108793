//! A database written before registrations were keyed by (workspace id,
//! verifier) opens with its rows converted: the workspace keeps its key,
//! log and usage, and another key for the same id registers apart. SQLite
//! always; PostgreSQL under `scripts/with-postgres.sh`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod pg;

use weft_core::{ChangeKind, DocId, DocKind, WorkspaceId};
use weft_crypto::{ChangeHeader, DeviceKey, SealedChange, WorkspaceKey};
use weft_relay::store::{self, Registration};

/// The first schema, as it shipped (both backends accept this SQL, with
/// BLOB spelled BYTEA and INTEGER as BIGINT for PostgreSQL).
const V1: &str = "
    CREATE TABLE workspaces (id BLOB PRIMARY KEY, verifier BLOB NOT NULL, created_ms INTEGER NOT NULL,
        changes INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE heads (workspace BLOB NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (workspace, author));
    CREATE TABLE changes (id INTEGER PRIMARY KEY, workspace BLOB NOT NULL, author BLOB NOT NULL,
        seq INTEGER NOT NULL, stored_ms INTEGER NOT NULL, sealed BLOB NOT NULL,
        UNIQUE (workspace, author, seq));
";

struct Old {
    id: WorkspaceId,
    keys: weft_crypto::DerivedKeys,
    author: DeviceKey,
    change: SealedChange,
}

fn old() -> Old {
    let id = WorkspaceId::random();
    let keys = WorkspaceKey::generate().derive(&id);
    let author = DeviceKey::generate();
    let change = SealedChange::seal(
        ChangeHeader {
            workspace: id,
            doc: DocId::from_bytes([1; 16]),
            author: author.device_id(),
            seq: 1,
            kind: ChangeKind::Update(DocKind::Note),
        },
        b"before the migration",
        &keys.data,
        &author,
    )
    .expect("seal");
    Old {
        id,
        keys,
        author,
        change,
    }
}

fn check(url: &str, o: &Old) {
    let s = store::open(url).expect("the old database opens and migrates");
    let regs = s.registrations(&o.id).expect("registrations");
    assert_eq!(regs.len(), 1, "the workspace keeps one registration");
    let (reg, v) = regs[0];
    assert_eq!(v, o.keys.relay_auth.verifier(), "under its key");
    assert_eq!(
        s.changes_after(&reg, &o.author.device_id(), 0, 10, usize::MAX)
            .expect("read"),
        vec![o.change.clone()],
        "its log survives"
    );
    assert_eq!(
        s.vector(&reg).expect("vector").get(&o.author.device_id()),
        1
    );
    assert_eq!(s.usage(&reg).expect("usage").changes, 1);
    assert_eq!(
        s.register(&o.id, &v, 0, 5).expect("register"),
        Registration::Existing(reg)
    );
    let other = WorkspaceKey::generate().derive(&o.id).relay_auth.verifier();
    assert!(matches!(
        s.register(&o.id, &other, 0, 6).expect("register"),
        Registration::Created(_)
    ));
    assert_eq!(s.totals().expect("totals").workspaces, 2);
}

#[test]
fn sqlite_rows_are_converted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("relay.db");
    let o = old();
    {
        let c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(V1).expect("v1 schema");
        let b = o.change.to_bytes();
        c.execute(
            "INSERT INTO workspaces VALUES (?1, ?2, 1, 1, ?3)",
            rusqlite::params![
                o.id.as_bytes().as_slice(),
                o.keys.relay_auth.verifier().to_bytes().as_slice(),
                b.len() as i64
            ],
        )
        .expect("workspace row");
        let a = o.author.device_id();
        c.execute(
            "INSERT INTO heads VALUES (?1, ?2, 1)",
            rusqlite::params![o.id.as_bytes().as_slice(), a.public_key().as_slice()],
        )
        .expect("heads row");
        c.execute(
            "INSERT INTO changes (workspace, author, seq, stored_ms, sealed) VALUES (?1, ?2, 1, 1, ?3)",
            rusqlite::params![o.id.as_bytes().as_slice(), a.public_key().as_slice(), b],
        )
        .expect("change row");
        c.execute_batch("PRAGMA user_version = 1").expect("version");
    }
    check(&format!("sqlite:{}", path.display()), &o);
}

#[test]
fn postgres_rows_are_converted() {
    let Some(db) = pg::TestDb::create() else {
        return;
    };
    let o = old();
    let (id, v, a, b) = (
        o.id.as_bytes().to_vec(),
        o.keys.relay_auth.verifier().to_bytes().to_vec(),
        o.author.device_id().public_key().to_vec(),
        o.change.to_bytes(),
    );
    pg::blocking(&db.url, move |c| {
        let sql = V1
            .replace("BLOB", "BYTEA")
            .replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
            .replace("INTEGER", "BIGINT");
        c.batch_execute(&sql).expect("v1 schema");
        c.batch_execute(
            "CREATE TABLE weft_relay_schema (version BIGINT NOT NULL);
             INSERT INTO weft_relay_schema VALUES (1);",
        )
        .expect("version");
        let n = b.len() as i64;
        c.execute(
            "INSERT INTO workspaces VALUES ($1, $2, 1, 1, $3)",
            &[&id, &v, &n],
        )
        .expect("workspace row");
        c.execute("INSERT INTO heads VALUES ($1, $2, 1)", &[&id, &a])
            .expect("heads row");
        c.execute(
            "INSERT INTO changes (workspace, author, seq, stored_ms, sealed) VALUES ($1, $2, 1, 1, $3)",
            &[&id, &a, &b],
        )
        .expect("change row");
    });
    let url = db.url.clone();
    std::thread::spawn(move || check(&url, &o))
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}
