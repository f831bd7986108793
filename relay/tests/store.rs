//! One behavioural suite over the `RelayStore` trait, run against SQLite
//! always and against PostgreSQL when `WEFT_TEST_DATABASE_URL` is set (each
//! case in a fresh database). With `WEFT_REQUIRE_POSTGRES=1` and no URL the
//! PostgreSQL cases fail instead of skipping.

// Test code: failing loudly is the point (the workspace denies these
// lints in non-test code only).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod pg;

use weft_core::{ChangeKind, DeviceId, DocId, DocKind, Seq, VersionVector, WorkspaceId};
use weft_crypto::{ChangeHeader, DeviceKey, RelayVerifier, SealedChange, WorkspaceKey};
use weft_relay::store::{self, Reg, Registration, RelayStore, StoreError, Usage};

/// A store under test, with what the backend-specific checks need.
struct Backend {
    // Dropped before the database it lives in.
    store: Box<dyn RelayStore>,
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite {
        path: std::path::PathBuf,
        _dir: tempfile::TempDir,
    },
    Postgres {
        _db: pg::TestDb,
    },
}

impl Backend {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relay.db");
        let url = format!("sqlite:{}", path.display());
        let store = store::open(&url).expect("open sqlite store");
        Self {
            store,
            url,
            kind: Kind::Sqlite { path, _dir: dir },
        }
    }

    fn postgres() -> Option<Self> {
        let db = pg::TestDb::create()?;
        let url = db.url.clone();
        let store = store::open(&url).expect("open postgres store");
        Some(Self {
            store,
            url,
            kind: Kind::Postgres { _db: db },
        })
    }

    fn reopen(&self) -> Box<dyn RelayStore> {
        store::open(&self.url).expect("reopen store")
    }

    /// Rows of `ws` in (changes, heads, workspaces), by the backend's own SQL.
    fn rows_of(&self, ws: &WorkspaceId) -> [i64; 3] {
        let id = ws.as_bytes().to_vec();
        match &self.kind {
            Kind::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).expect("open sqlite");
                let q = |sql: &str| -> i64 {
                    c.query_row(sql, [id.as_slice()], |r| r.get(0))
                        .expect("count")
                };
                [
                    q("SELECT COUNT(*) FROM changes WHERE workspace = ?1"),
                    q("SELECT COUNT(*) FROM heads WHERE workspace = ?1"),
                    q("SELECT COUNT(*) FROM workspaces WHERE id = ?1"),
                ]
            }
            Kind::Postgres { .. } => pg::blocking(&self.url, move |c| {
                let mut q = |sql: &str| -> i64 {
                    c.query_one(sql, &[&id]).expect("count").get::<_, i64>(0)
                };
                [
                    q("SELECT COUNT(*) FROM changes WHERE workspace = $1"),
                    q("SELECT COUNT(*) FROM heads WHERE workspace = $1"),
                    q("SELECT COUNT(*) FROM workspaces WHERE id = $1"),
                ]
            }),
        }
    }

    /// Sets the first byte (the header version) of a stored change to 0xFE,
    /// so the row no longer parses.
    fn break_row(&self, ws: &WorkspaceId, author: &DeviceId, seq: Seq) {
        let (w, a, s) = (
            ws.as_bytes().to_vec(),
            author.public_key().to_vec(),
            seq as i64,
        );
        let n = match &self.kind {
            Kind::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).expect("open sqlite");
                let mut sealed: Vec<u8> = c
                    .query_row(
                        "SELECT sealed FROM changes WHERE workspace = ?1 AND author = ?2 AND seq = ?3",
                        rusqlite::params![w, a, s],
                        |r| r.get(0),
                    )
                    .expect("the row to tamper with exists");
                sealed[0] = 0xFE;
                c.execute(
                    "UPDATE changes SET sealed = ?4 WHERE workspace = ?1 AND author = ?2 AND seq = ?3",
                    rusqlite::params![w, a, s, sealed],
                )
                .expect("tamper") as u64
            }
            Kind::Postgres { .. } => pg::blocking(&self.url, move |c| {
                c.execute(
                    "UPDATE changes SET sealed = set_byte(sealed, 0, 254) WHERE workspace = $1 AND author = $2 AND seq = $3",
                    &[&w, &a, &s],
                )
                .expect("tamper")
            }),
        };
        assert_eq!(n, 1, "the row to tamper with exists");
    }

    fn schema_version(&self) -> i64 {
        match &self.kind {
            Kind::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .expect("open sqlite")
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("user_version"),
            Kind::Postgres { .. } => pg::blocking(&self.url, |c| {
                let rows = c
                    .query("SELECT version FROM weft_relay_schema", &[])
                    .expect("schema table");
                assert_eq!(rows.len(), 1, "one schema row");
                rows[0].get::<_, i64>(0)
            }),
        }
    }
}

/// One workspace's keys and a few authors.
struct Ws {
    id: WorkspaceId,
    keys: weft_crypto::DerivedKeys,
}

impl Ws {
    fn new() -> Self {
        let id = WorkspaceId::random();
        Self {
            id,
            keys: WorkspaceKey::generate().derive(&id),
        }
    }
    fn verifier(&self) -> RelayVerifier {
        self.keys.relay_auth.verifier()
    }
    fn change(&self, author: &DeviceKey, seq: Seq, payload: &[u8]) -> SealedChange {
        SealedChange::seal(
            ChangeHeader {
                workspace: self.id,
                doc: DocId::from_bytes([7; 16]),
                author: author.device_id(),
                seq,
                kind: ChangeKind::Update(DocKind::Note),
            },
            payload,
            &self.keys.data,
            author,
        )
        .expect("seal")
    }
    fn run(&self, author: &DeviceKey, seqs: std::ops::RangeInclusive<Seq>) -> Vec<SealedChange> {
        seqs.map(|s| self.change(author, s, format!("change {s}").as_bytes()))
            .collect()
    }
    fn register(&self, s: &dyn RelayStore) -> Reg {
        match s
            .register(&self.id, &self.verifier(), 0, 1)
            .expect("register")
        {
            Registration::Created(r) => r,
            r => panic!("not created: {r:?}"),
        }
    }
    /// Its registration under its own key (row -1 if none: the store
    /// treats it as unknown).
    fn reg(&self, s: &dyn RelayStore) -> Reg {
        s.registrations(&self.id)
            .expect("registrations")
            .into_iter()
            .find(|(_, v)| *v == self.verifier())
            .map_or(
                Reg {
                    row: -1,
                    workspace: self.id,
                },
                |(r, _)| r,
            )
    }
}

fn seqs(list: &[SealedChange]) -> Vec<Seq> {
    list.iter().map(|c| c.header().seq).collect()
}

fn bytes_of(list: &[SealedChange]) -> u64 {
    list.iter().map(|c| c.to_bytes().len() as u64).sum()
}

fn vv(entries: &[(DeviceId, Seq)]) -> VersionVector {
    let mut v = VersionVector::new();
    for (a, s) in entries {
        v.set(*a, *s);
    }
    v
}

// ---------------------------------------------------------------- cases

fn register(b: &Backend) {
    let s = b.store.as_ref();
    let (w1, w2, w3) = (Ws::new(), Ws::new(), Ws::new());
    let r1 = match s.register(&w1.id, &w1.verifier(), 3, 1).expect("register") {
        Registration::Created(r) => r,
        r => panic!("not created: {r:?}"),
    };
    assert_eq!(
        s.register(&w1.id, &w1.verifier(), 3, 2).expect("again"),
        Registration::Existing(r1)
    );
    // Same workspace id, another key (a stranger who read the id off a
    // hello): a registration of its own, the first one untouched.
    let stranger = Ws {
        id: w1.id,
        keys: WorkspaceKey::generate().derive(&w1.id),
    };
    let rs = match s
        .register(&w1.id, &stranger.verifier(), 3, 3)
        .expect("second key")
    {
        Registration::Created(r) => r,
        r => panic!("not created: {r:?}"),
    };
    assert_ne!(rs, r1);
    let regs = s.registrations(&w1.id).expect("lookup");
    assert_eq!(
        regs,
        vec![(r1, w1.verifier()), (rs, stranger.verifier())],
        "each key keeps its own registration"
    );
    assert_eq!(
        s.register(&w2.id, &w2.verifier(), 3, 4).expect("third"),
        Registration::Created(w2.reg(s))
    );
    // Every registration counts against the maximum.
    assert_eq!(
        s.register(&w3.id, &w3.verifier(), 3, 5).expect("fourth"),
        Registration::Full { max: 3 }
    );
    assert!(s.registrations(&w3.id).expect("lookup").is_empty());
    // A full relay still answers a known registration.
    assert_eq!(
        s.register(&w2.id, &w2.verifier(), 3, 6).expect("existing"),
        Registration::Existing(w2.reg(s))
    );
    // 0 means no limit.
    assert!(matches!(
        s.register(&w3.id, &w3.verifier(), 0, 7).expect("unlimited"),
        Registration::Created(_)
    ));
    assert_eq!(s.totals().expect("totals").workspaces, 4);
    // The two registrations of one id keep apart logs and usage.
    let k = DeviceKey::generate();
    s.append(&r1, &w1.run(&k, 1..=2), 0, 8).expect("append");
    assert_eq!(s.usage(&rs).expect("usage"), Usage::default());
    assert_eq!(s.vector(&rs).expect("vector"), VersionVector::new());
    assert_eq!(s.vector(&r1).expect("vector").get(&k.device_id()), 2);
}

fn verifier_lookup(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    assert!(s.registrations(&w.id).expect("lookup").is_empty());
    let r = w.register(s);
    assert_eq!(
        s.registrations(&w.id).expect("lookup"),
        vec![(r, w.verifier())]
    );
    assert!(
        s.registrations(&WorkspaceId::random())
            .expect("lookup")
            .is_empty()
    );
}

fn append_and_read_back(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let (ka, kb) = (DeviceKey::generate(), DeviceKey::generate());
    let (a, bb) = (ka.device_id(), kb.device_id());
    let ca = w.run(&ka, 1..=5);
    let cb = w.run(&kb, 1..=3);
    let batch: Vec<_> = ca.iter().chain(cb.iter()).cloned().collect();
    let r = s.append(&w.reg(s), &batch, 0, 10).expect("append");
    assert_eq!(r.stored, 8);
    assert_eq!(r.bytes, bytes_of(&batch));
    assert_eq!(r.duplicates, 0);
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    assert_eq!(s.vector(&w.reg(s)).expect("vector"), vv(&[(a, 5), (bb, 3)]));

    let all = s
        .changes_after(&w.reg(s), &a, 0, 100, usize::MAX)
        .expect("read");
    assert_eq!(all, ca, "the same changes, byte for byte, in seq order");
    assert_eq!(
        s.changes_after(&w.reg(s), &bb, 0, 100, usize::MAX)
            .expect("read"),
        cb
    );
    assert_eq!(
        seqs(
            &s.changes_after(&w.reg(s), &a, 2, 2, usize::MAX)
                .expect("read")
        ),
        vec![3, 4],
        "max_count"
    );
    assert!(
        s.changes_after(&w.reg(s), &a, 5, 100, usize::MAX)
            .expect("read")
            .is_empty()
    );
    let one = ca[0].to_bytes().len();
    assert_eq!(
        seqs(&s.changes_after(&w.reg(s), &a, 0, 100, 1).expect("read")),
        vec![1],
        "at least one change even if it is over max_bytes"
    );
    assert_eq!(
        seqs(&s.changes_after(&w.reg(s), &a, 0, 100, one).expect("read")),
        vec![1],
        "max_bytes"
    );
    assert_eq!(
        seqs(
            &s.changes_after(&w.reg(s), &a, 0, 100, 2 * one)
                .expect("read")
        )
        .len(),
        2,
        "max_bytes"
    );
    // Another workspace's view is empty.
    let other = Ws::new();
    other.register(s);
    assert!(
        s.changes_after(&other.reg(s), &a, 0, 100, usize::MAX)
            .expect("read")
            .is_empty()
    );
    assert_eq!(
        s.vector(&other.reg(s)).expect("vector"),
        VersionVector::new()
    );
    // Appending continues the head.
    let r = s
        .append(&w.reg(s), &w.run(&ka, 6..=7), 0, 11)
        .expect("append more");
    assert_eq!(r.stored, 2);
    assert_eq!(s.vector(&w.reg(s)).expect("vector").get(&a), 7);
}

fn duplicates_counted(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let k = DeviceKey::generate();
    let batch = w.run(&k, 1..=4);
    s.append(&w.reg(s), &batch, 0, 1).expect("append");
    let before = s.usage(&w.reg(s)).expect("usage");
    let r = s.append(&w.reg(s), &batch, 0, 2).expect("append again");
    assert_eq!(r.stored, 0);
    assert_eq!(r.bytes, 0);
    assert_eq!(r.duplicates, 4);
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    assert_eq!(s.usage(&w.reg(s)).expect("usage"), before);
    // Old and new in one batch: the old ones are duplicates, the new stored.
    let mut mixed = batch[2..].to_vec();
    mixed.extend(w.run(&k, 5..=6));
    let r = s.append(&w.reg(s), &mixed, 0, 3).expect("mixed");
    assert_eq!((r.stored, r.duplicates), (2, 2));
    assert_eq!(s.vector(&w.reg(s)).expect("vector").get(&k.device_id()), 6);
    // A change repeated inside one batch is a duplicate, on every backend.
    let next = w.change(&k, 7, b"seven");
    let r = s
        .append(&w.reg(s), &[next.clone(), next], 0, 4)
        .expect("repeated");
    assert_eq!((r.stored, r.duplicates), (1, 1), "{:?}", r.refused);
    assert!(r.refused.is_empty(), "{:?}", r.refused);
}

fn gap_refused(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let k = DeviceKey::generate();
    s.append(&w.reg(s), &w.run(&k, 1..=2), 0, 1)
        .expect("append");
    let r = s
        .append(&w.reg(s), &[w.change(&k, 4, b"four")], 0, 2)
        .expect("append with a gap");
    assert_eq!(r.stored, 0);
    assert_eq!(r.refused.len(), 1, "{:?}", r.refused);
    assert_eq!((r.refused[0].0, r.refused[0].1), (k.device_id(), 4));
    assert_eq!(s.vector(&w.reg(s)).expect("vector").get(&k.device_id()), 2);
    assert!(
        s.changes_after(&w.reg(s), &k.device_id(), 2, 10, usize::MAX)
            .expect("read")
            .is_empty()
    );
    // A first change that is not seq 1 is a gap too.
    let k2 = DeviceKey::generate();
    let r = s
        .append(&w.reg(s), &[w.change(&k2, 2, b"x")], 0, 3)
        .expect("append");
    assert_eq!((r.stored, r.refused.len()), (0, 1));
    assert_eq!(s.vector(&w.reg(s)).expect("vector").get(&k2.device_id()), 0);
}

fn authors_past_the_bound_are_refused(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let keys: Vec<DeviceKey> = (0..weft_relay::store::MAX_AUTHORS)
        .map(|_| DeviceKey::generate())
        .collect();
    let first: Vec<_> = keys.iter().map(|k| w.change(k, 1, b"x")).collect();
    let r = s.append(&w.reg(s), &first, 0, 1).expect("append");
    assert_eq!(r.stored as u64, weft_relay::store::MAX_AUTHORS);
    // One author more: refused with the reason; known authors go on.
    let extra = DeviceKey::generate();
    let r = s
        .append(
            &w.reg(s),
            &[w.change(&extra, 1, b"y"), w.change(&keys[0], 2, b"z")],
            0,
            2,
        )
        .expect("append");
    assert_eq!(r.stored, 1, "{:?}", r.refused);
    assert_eq!(r.refused.len(), 1);
    assert_eq!(r.refused[0].0, extra.device_id());
    assert_eq!(r.refused[0].2, weft_relay::store::TOO_MANY_AUTHORS);
    assert_eq!(
        s.vector(&w.reg(s)).expect("vector").get(&extra.device_id()),
        0
    );
}

fn different_change_under_stored_seq_refused(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let k = DeviceKey::generate();
    let batch = w.run(&k, 1..=3);
    s.append(&w.reg(s), &batch, 0, 1).expect("append");
    let forged = w.change(&k, 2, b"another second change");
    let r = s.append(&w.reg(s), &[forged], 0, 2).expect("append");
    assert_eq!((r.stored, r.duplicates), (0, 0));
    assert_eq!(r.refused.len(), 1, "{:?}", r.refused);
    assert_eq!((r.refused[0].0, r.refused[0].1), (k.device_id(), 2));
    assert_eq!(
        s.changes_after(&w.reg(s), &k.device_id(), 0, 10, usize::MAX)
            .expect("read"),
        batch,
        "the stored change is kept"
    );
}

fn wrong_workspace_batch(b: &Backend) {
    let s = b.store.as_ref();
    let (w, other) = (Ws::new(), Ws::new());
    w.register(s);
    other.register(s);
    let k = DeviceKey::generate();
    let mut batch = w.run(&k, 1..=2);
    batch.push(other.change(&k, 1, b"elsewhere"));
    match s.append(&w.reg(s), &batch, 0, 1) {
        Err(StoreError::WrongWorkspace {
            ours, theirs, seq, ..
        }) => {
            assert_eq!((ours, theirs, seq), (w.id, other.id, 1));
        }
        r => panic!("expected WrongWorkspace, got {r:?}"),
    }
    assert_eq!(s.vector(&w.reg(s)).expect("vector"), VersionVector::new());
    assert_eq!(
        s.vector(&other.reg(s)).expect("vector"),
        VersionVector::new()
    );
    // Unknown workspace.
    let stranger = Ws::new();
    match s.append(&stranger.reg(s), &stranger.run(&k, 1..=1), 0, 1) {
        Err(StoreError::UnknownWorkspace(id)) => assert_eq!(id, stranger.id),
        r => panic!("expected UnknownWorkspace, got {r:?}"),
    }
}

fn quota_stores_nothing_of_an_overflowing_batch(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let k = DeviceKey::generate();
    let first = w.run(&k, 1..=2);
    let used = bytes_of(&first);
    let next = w.run(&k, 3..=6);
    let each = next[0].to_bytes().len() as u64;
    // Room for two of the four.
    let quota = used + 2 * each + each / 2;
    s.append(&w.reg(s), &first, quota, 1)
        .expect("within the quota");
    match s.append(&w.reg(s), &next, quota, 2) {
        Err(StoreError::Quota {
            used: u, quota: q, ..
        }) => {
            assert_eq!((u, q), (used, quota));
        }
        r => panic!("expected a quota error, got {r:?}"),
    }
    assert_eq!(
        s.vector(&w.reg(s)).expect("vector").get(&k.device_id()),
        2,
        "nothing of the refused batch may be stored"
    );
    assert_eq!(
        s.usage(&w.reg(s)).expect("usage"),
        Usage {
            changes: 2,
            bytes: used
        }
    );
    assert_eq!(
        b.rows_of(&w.id)[0],
        2,
        "no row of the refused batch in the table"
    );
    // What fits is stored.
    let r = s.append(&w.reg(s), &next[..2], quota, 3).expect("fits");
    assert_eq!(r.stored, 2);
    // Duplicates cost nothing against the quota.
    let r = s.append(&w.reg(s), &first, quota, 4).expect("duplicates");
    assert_eq!(r.duplicates, 2);
}

fn usage_and_totals(b: &Backend) {
    let s = b.store.as_ref();
    assert_eq!(s.totals().expect("totals"), Default::default());
    let (w1, w2) = (Ws::new(), Ws::new());
    w1.register(s);
    w2.register(s);
    assert_eq!(s.usage(&w1.reg(s)).expect("usage"), Usage::default());
    let k = DeviceKey::generate();
    let c1 = w1.run(&k, 1..=3);
    let c2 = w2.run(&k, 1..=2);
    s.append(&w1.reg(s), &c1, 0, 1).expect("append");
    s.append(&w2.reg(s), &c2, 0, 1).expect("append");
    assert_eq!(
        s.usage(&w1.reg(s)).expect("usage"),
        Usage {
            changes: 3,
            bytes: bytes_of(&c1)
        }
    );
    let t = s.totals().expect("totals");
    assert_eq!(
        (t.workspaces, t.changes, t.bytes),
        (2, 5, bytes_of(&c1) + bytes_of(&c2))
    );
    assert!(matches!(
        s.usage(&Ws::new().reg(s)),
        Err(StoreError::UnknownWorkspace(_))
    ));
}

fn forget_removes_every_row(b: &Backend) {
    let s = b.store.as_ref();
    let (w, keep) = (Ws::new(), Ws::new());
    w.register(s);
    keep.register(s);
    let (k1, k2) = (DeviceKey::generate(), DeviceKey::generate());
    let secret_run: Vec<_> = (1..=20)
        .map(|i| w.change(&k1, i, &[i as u8; 3000]))
        .collect();
    let batch: Vec<_> = secret_run
        .iter()
        .cloned()
        .chain(w.run(&k2, 1..=2))
        .collect();
    s.append(&w.reg(s), &batch, 0, 1).expect("append");
    s.append(&keep.reg(s), &keep.run(&k1, 1..=3), 0, 1)
        .expect("append");
    let needle = secret_run[7].ciphertext()[..48].to_vec();
    if let Kind::Sqlite { path, .. } = &b.kind {
        assert!(
            sqlite_files_contain(path, &needle),
            "test setup: the sealed bytes are in the database before the forget"
        );
    }
    assert_eq!(b.rows_of(&w.id), [22, 2, 1]);
    let removed = s.forget(&w.reg(s), 2).expect("forget");
    assert_eq!(
        removed,
        Usage {
            changes: 22,
            bytes: bytes_of(&batch)
        }
    );
    assert_eq!(
        b.rows_of(&w.id),
        [0, 0, 0],
        "rows of the forgotten workspace remain (changes, heads, workspaces)"
    );
    assert!(s.registrations(&w.id).expect("lookup").is_empty());
    assert_eq!(s.vector(&w.reg(s)).expect("vector"), VersionVector::new());
    assert!(matches!(
        s.usage(&w.reg(s)),
        Err(StoreError::UnknownWorkspace(_))
    ));
    // The other workspace is untouched.
    assert_eq!(b.rows_of(&keep.id), [3, 1, 1]);
    assert_eq!(s.totals().expect("totals").changes, 3);
    if let Kind::Sqlite { path, .. } = &b.kind {
        assert!(
            !sqlite_files_contain(path, &needle),
            "the forgotten workspace's sealed bytes are still in the SQLite file (secure_delete)"
        );
    }
    // The forgotten pair does not come back by registering again (a
    // tombstone), and the tombstone counts as no workspace.
    assert_eq!(
        s.register(&w.id, &w.verifier(), 0, 3).expect("register"),
        Registration::Forgotten
    );
    assert!(s.registrations(&w.id).expect("lookup").is_empty());
    assert_eq!(s.totals().expect("totals").workspaces, 1);
    // Another key for the same id is another registration.
    let other = Ws {
        id: w.id,
        keys: WorkspaceKey::generate().derive(&w.id),
    };
    other.register(s);
    // The operator lifts the tombstone: the pair registers from scratch.
    assert_eq!(s.unforget(&w.id).expect("unforget"), 1);
    w.register(s);
    assert_eq!(s.usage(&w.reg(s)).expect("usage"), Usage::default());
    assert_eq!(s.registrations(&w.id).expect("lookup").len(), 2);
    // Forgetting an unknown workspace is an error, not a silent success.
    assert!(matches!(
        s.forget(&Ws::new().reg(s), 3),
        Err(StoreError::UnknownWorkspace(_))
    ));
}

fn sqlite_files_contain(path: &std::path::Path, needle: &[u8]) -> bool {
    let mut found = false;
    for suffix in ["", "-wal", "-journal"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(bytes) = std::fs::read(&p) {
            found |= bytes.windows(needle.len()).any(|w| w == needle);
        }
    }
    found
}

fn feed(b: &Backend) {
    let s = b.store.as_ref();
    assert_eq!(s.feed_head().expect("head"), 0);
    assert!(s.feed_after(0, 10).expect("feed").is_empty());
    let (w1, w2) = (Ws::new(), Ws::new());
    w1.register(s);
    w2.register(s);
    let k = DeviceKey::generate();
    s.append(&w1.reg(s), &w1.run(&k, 1..=3), 0, 1)
        .expect("append");
    s.append(&w2.reg(s), &w2.run(&k, 1..=2), 0, 1)
        .expect("append");
    let all = s.feed_after(0, 100).expect("feed");
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|p| p[0].id < p[1].id), "id order");
    let wss: Vec<_> = all.iter().map(|e| e.workspace).collect();
    assert_eq!(wss, vec![w1.id, w1.id, w1.id, w2.id, w2.id]);
    let head = s.feed_head().expect("head");
    assert_eq!(head, all[4].id);
    let page = s.feed_after(all[0].id, 2).expect("feed");
    assert_eq!(page, all[1..3].to_vec());
    assert!(s.feed_after(head, 10).expect("feed").is_empty());
    // Refused and duplicate changes add no rows.
    s.append(&w1.reg(s), &w1.run(&k, 1..=3), 0, 2)
        .expect("dups");
    assert_eq!(s.feed_head().expect("head"), head);
}

fn migration_idempotent(b: &Backend) {
    let w = Ws::new();
    w.register(b.store.as_ref());
    let k = DeviceKey::generate();
    let batch = w.run(&k, 1..=3);
    b.store
        .append(&w.reg(b.store.as_ref()), &batch, 0, 1)
        .expect("append");
    let v = b.schema_version();
    assert!(v >= 1);
    let again = b.reopen();
    let third = b.reopen();
    assert_eq!(b.schema_version(), v, "reopening must not migrate again");
    assert_eq!(
        again
            .changes_after(&w.reg(again.as_ref()), &k.device_id(), 0, 10, usize::MAX)
            .expect("read"),
        batch
    );
    assert_eq!(
        third
            .register(&w.id, &w.verifier(), 0, 2)
            .expect("register"),
        Registration::Existing(w.reg(third.as_ref()))
    );
    assert!(!again.shared() || matches!(b.kind, Kind::Postgres { .. }));
}

fn tampered_row_ends_the_list(b: &Backend) {
    let s = b.store.as_ref();
    let w = Ws::new();
    w.register(s);
    let k = DeviceKey::generate();
    let batch = w.run(&k, 1..=5);
    s.append(&w.reg(s), &batch, 0, 1).expect("append");
    b.break_row(&w.id, &k.device_id(), 3);
    let got = s
        .changes_after(&w.reg(s), &k.device_id(), 0, 10, usize::MAX)
        .expect("a broken row is not an error");
    assert_eq!(got, batch[..2].to_vec(), "the prefix before the broken row");
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    super::$case(&super::Backend::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    if let Some(b) = super::Backend::postgres() {
                        super::$case(&b);
                    }
                }
            )*
        }
    };
}

suite!(
    register,
    verifier_lookup,
    append_and_read_back,
    duplicates_counted,
    gap_refused,
    authors_past_the_bound_are_refused,
    different_change_under_stored_seq_refused,
    wrong_workspace_batch,
    quota_stores_nothing_of_an_overflowing_batch,
    usage_and_totals,
    forget_removes_every_row,
    feed,
    migration_idempotent,
    tampered_row_ends_the_list,
);
