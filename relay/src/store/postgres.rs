//! The scale-out backend: PostgreSQL, shared by any number of relay
//! processes. Appends to one workspace serialise on its `workspaces` row
//! (`SELECT … FOR UPDATE`), so two nodes storing the same author's next
//! change cannot both win. Every append ends with `NOTIFY weft_changes`
//! (empty payload) inside its transaction: PostgreSQL delivers it at
//! commit, and each node's listener then reads the rows past its watermark
//! (`watermark.rs`), so many commits collapse into one wake-up and a lost
//! notification costs latency, never a row.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::{Client, NoTls};
use weft_core::{DeviceId, Seq, VersionVector, WorkspaceId};
use weft_crypto::{RelayVerifier, SealedChange};
use weft_sync::ByteBudget;

use super::{
    Appended, FeedEntry, MAX_AUTHORS, Reg, Registration, RelayStore, StoreError, TOO_MANY_AUTHORS,
    Totals, Usage, check_workspace, parse_rows,
};

/// The channel every node listens on.
pub const CHANNEL: &str = "weft_changes";

/// Migrations, in order; `weft_relay_schema` holds how many are applied.
/// Columns are read with `try_get`: a database altered behind the relay
/// is an error, not a panic.
const MIGRATIONS: &[&str] = &[
    r"
    CREATE TABLE workspaces (
        id BYTEA PRIMARY KEY,
        verifier BYTEA NOT NULL,
        created_ms BIGINT NOT NULL,
        changes BIGINT NOT NULL DEFAULT 0,
        bytes BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE heads (
        workspace BYTEA NOT NULL,
        author BYTEA NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (workspace, author)
    );
    CREATE TABLE changes (
        id BIGSERIAL PRIMARY KEY,
        workspace BYTEA NOT NULL,
        author BYTEA NOT NULL,
        seq BIGINT NOT NULL,
        stored_ms BIGINT NOT NULL,
        sealed BYTEA NOT NULL,
        UNIQUE (workspace, author, seq)
    );
",
    r"
    -- One row per (workspace id, verifier): a second verifier registering an
    -- id gets a registration of its own instead of colliding with the first.
    -- Existing rows keep their pair; their heads and changes move to its key.
    ALTER TABLE workspaces DROP CONSTRAINT workspaces_pkey;
    ALTER TABLE workspaces ADD COLUMN reg BIGSERIAL PRIMARY KEY;
    ALTER TABLE workspaces ADD CONSTRAINT workspaces_id_verifier UNIQUE (id, verifier);
    ALTER TABLE heads ADD COLUMN reg BIGINT;
    UPDATE heads h SET reg = w.reg FROM workspaces w WHERE w.id = h.workspace;
    DELETE FROM heads WHERE reg IS NULL;
    ALTER TABLE heads ALTER COLUMN reg SET NOT NULL;
    ALTER TABLE heads DROP CONSTRAINT heads_pkey;
    ALTER TABLE heads ADD PRIMARY KEY (reg, author);
    ALTER TABLE changes ADD COLUMN reg BIGINT;
    UPDATE changes c SET reg = w.reg FROM workspaces w WHERE w.id = c.workspace;
    DELETE FROM changes WHERE reg IS NULL;
    ALTER TABLE changes ALTER COLUMN reg SET NOT NULL;
    ALTER TABLE changes DROP CONSTRAINT changes_workspace_author_seq_key;
    ALTER TABLE changes ADD CONSTRAINT changes_reg_author_seq UNIQUE (reg, author, seq);
    -- Forgotten (workspace id, verifier) pairs: not registered again.
    CREATE TABLE forgotten (
        id BYTEA NOT NULL,
        verifier BYTEA NOT NULL,
        forgotten_ms BIGINT NOT NULL,
        PRIMARY KEY (id, verifier)
    );
",
];

/// The PostgreSQL backend: one connection (a relay opens one per shard and
/// one for listening).
pub struct PgStore {
    client: RefCell<Client>,
    url: String,
}

fn db(e: postgres::Error) -> StoreError {
    StoreError::Db {
        backend: "postgres",
        detail: e.to_string(),
    }
}

fn seq_i64(s: Seq) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Connects and migrates (under an advisory lock, so relay nodes that
    /// start together migrate once).
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(db)?;
        let mut tx = client.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock(4467)", &[])
            .map_err(db)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS weft_relay_schema (version BIGINT NOT NULL)")
            .map_err(db)?;
        let version: i64 = match tx
            .query_opt("SELECT version FROM weft_relay_schema", &[])
            .map_err(db)?
        {
            Some(r) => r.try_get(0).map_err(db)?,
            None => {
                tx.execute("INSERT INTO weft_relay_schema (version) VALUES (0)", &[])
                    .map_err(db)?;
                0
            }
        };
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::TooNew {
                found: version,
                supported,
            });
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.batch_execute(m).map_err(db)?;
            tx.execute(
                "UPDATE weft_relay_schema SET version = $1",
                &[&(i as i64 + 1)],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(Self {
            client: RefCell::new(client),
            url: url.to_owned(),
        })
    }

    /// The connection string (for the listener's own connection).
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Waits for notifications on [`CHANNEL`]: `wait` returns true when at
/// least one arrived (all pending ones are consumed), false on timeout.
pub struct PgListener {
    client: Client,
}

impl PgListener {
    /// A separate connection that LISTENs.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut client = Client::connect(url, NoTls).map_err(db)?;
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(db)?;
        Ok(Self { client })
    }

    /// Blocks up to `timeout` for a notification.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut n = self.client.notifications();
        let first = n.timeout_iter(timeout).next().map_err(db)?;
        if first.is_none() {
            return Ok(false);
        }
        // A burst collapses: take whatever else is already queued.
        while n.iter().next().map_err(db)?.is_some() {}
        Ok(true)
    }
}

impl RelayStore for PgStore {
    fn register(
        &self,
        workspace: &WorkspaceId,
        verifier: &RelayVerifier,
        max_workspaces: u64,
        now_ms: i64,
    ) -> Result<Registration, StoreError> {
        let mut c = self.client.borrow_mut();
        let mut tx = c.transaction().map_err(db)?;
        // One registration at a time, so the count check holds.
        tx.execute("SELECT pg_advisory_xact_lock(4468)", &[])
            .map_err(db)?;
        let ws = workspace.as_bytes().as_slice();
        let v = verifier.to_bytes();
        let v = v.as_slice();
        let reg = |row| Reg {
            row,
            workspace: *workspace,
        };
        let existing = tx
            .query_opt(
                "SELECT reg FROM workspaces WHERE id = $1 AND verifier = $2",
                &[&ws, &v],
            )
            .map_err(db)?;
        let forgotten: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM forgotten WHERE id = $1 AND verifier = $2)",
                &[&ws, &v],
            )
            .map_err(db)?
            .try_get(0)
            .map_err(db)?;
        let r = match existing {
            Some(row) => Registration::Existing(reg(row.try_get(0).map_err(db)?)),
            None if forgotten => Registration::Forgotten,
            None => {
                let n: i64 = tx
                    .query_one("SELECT COUNT(*) FROM workspaces", &[])
                    .map_err(db)?
                    .try_get(0)
                    .map_err(db)?;
                if max_workspaces > 0 && n as u64 >= max_workspaces {
                    Registration::Full {
                        max: max_workspaces,
                    }
                } else {
                    let row = tx
                        .query_one(
                            "INSERT INTO workspaces (id, verifier, created_ms) VALUES ($1, $2, $3) RETURNING reg",
                            &[&ws, &v, &now_ms],
                        )
                        .map_err(db)?;
                    Registration::Created(reg(row.try_get(0).map_err(db)?))
                }
            }
        };
        tx.commit().map_err(db)?;
        Ok(r)
    }

    fn registrations(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<(Reg, RelayVerifier)>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT reg, verifier FROM workspaces WHERE id = $1 ORDER BY reg",
                &[&workspace.as_bytes().as_slice()],
            )
            .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let row: i64 = r.try_get(0).map_err(db)?;
            let v: Vec<u8> = r.try_get(1).map_err(db)?;
            if let Ok(v) = <[u8; 32]>::try_from(v.as_slice()) {
                let reg = Reg {
                    row,
                    workspace: *workspace,
                };
                out.push((reg, RelayVerifier::from_bytes(v)));
            }
        }
        Ok(out)
    }

    fn vector(&self, reg: &Reg) -> Result<VersionVector, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query("SELECT author, seq FROM heads WHERE reg = $1", &[&reg.row])
            .map_err(db)?;
        let mut v = VersionVector::new();
        for r in rows {
            let a: Vec<u8> = r.try_get(0).map_err(db)?;
            let s: i64 = r.try_get(1).map_err(db)?;
            if let Ok(author) = DeviceId::from_slice(&a) {
                v.set(author, s.max(0) as u64);
            }
        }
        Ok(v)
    }

    fn changes_after(
        &self,
        reg: &Reg,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT seq, sealed FROM changes WHERE reg = $1 AND author = $2 AND seq > $3 ORDER BY seq LIMIT $4",
                &[
                    &reg.row,
                    &author.public_key().as_slice(),
                    &seq_i64(after),
                    &(max_count as i64),
                ],
            )
            .map_err(db)?;
        let mut out = Vec::new();
        let mut budget = ByteBudget::new(max_bytes);
        for r in rows {
            if !budget.wants_more() {
                break;
            }
            let seq: i64 = r.try_get(0).map_err(db)?;
            let b: Vec<u8> = r.try_get(1).map_err(db)?;
            budget.take(b.len());
            out.push((seq.max(0) as u64, b));
        }
        Ok(parse_rows(&reg.workspace, author, out))
    }

    fn append(
        &self,
        reg: &Reg,
        changes: &[SealedChange],
        quota: u64,
        now_ms: i64,
    ) -> Result<Appended, StoreError> {
        check_workspace(&reg.workspace, changes)?;
        let mut c = self.client.borrow_mut();
        let mut tx = c.transaction().map_err(db)?;
        let ws = reg.workspace.as_bytes().to_vec();
        let Some(row) = tx
            .query_opt(
                "SELECT bytes FROM workspaces WHERE reg = $1 FOR UPDATE",
                &[&reg.row],
            )
            .map_err(db)?
        else {
            return Err(StoreError::UnknownWorkspace(reg.workspace));
        };
        let used: i64 = row.try_get(0).map_err(db)?;
        let used = used.max(0) as u64;
        // The heads of every author in the batch, in one read.
        let authors: Vec<Vec<u8>> = {
            let mut a: Vec<Vec<u8>> = changes
                .iter()
                .map(|c| c.header().author.public_key().to_vec())
                .collect();
            a.sort();
            a.dedup();
            a
        };
        let mut heads: HashMap<DeviceId, u64> = HashMap::new();
        for r in tx
            .query(
                "SELECT author, seq FROM heads WHERE reg = $1 AND author = ANY($2)",
                &[&reg.row, &authors],
            )
            .map_err(db)?
        {
            let a: Vec<u8> = r.try_get(0).map_err(db)?;
            let s: i64 = r.try_get(1).map_err(db)?;
            if let Ok(d) = DeviceId::from_slice(&a) {
                heads.insert(d, s.max(0) as u64);
            }
        }
        let mut out = Appended::default();
        let mut authors: i64 = tx
            .query_one("SELECT COUNT(*) FROM heads WHERE reg = $1", &[&reg.row])
            .and_then(|r| r.try_get(0))
            .map_err(db)?;
        let (mut i_author, mut i_seq, mut i_sealed) = (Vec::new(), Vec::new(), Vec::new());
        let mut dup_check: Vec<&SealedChange> = Vec::new();
        for c in changes {
            let h = c.header();
            let known = heads.contains_key(&h.author);
            if !known && authors.max(0) as u64 >= MAX_AUTHORS {
                out.refused.push((h.author, h.seq, TOO_MANY_AUTHORS));
                continue;
            }
            let head = heads.get(&h.author).copied().unwrap_or(0);
            if h.seq <= head {
                dup_check.push(c);
                continue;
            }
            if h.seq != head + 1 {
                out.refused.push((
                    h.author,
                    h.seq,
                    "it does not follow the author's last change",
                ));
                continue;
            }
            let bytes = c.to_bytes();
            out.bytes += bytes.len() as u64;
            i_author.push(h.author.public_key().to_vec());
            i_seq.push(seq_i64(h.seq));
            i_sealed.push(bytes);
            if !known {
                authors += 1;
            }
            heads.insert(h.author, h.seq);
        }
        if quota > 0 && used + out.bytes > quota {
            return Err(StoreError::Quota {
                used,
                quota,
                needed: out.bytes,
            });
        }
        for c in dup_check {
            let h = c.header();
            // Earlier in this batch (not inserted yet), or stored before.
            let pending = i_author
                .iter()
                .zip(&i_seq)
                .position(|(a, s)| a.as_slice() == h.author.public_key() && *s == seq_i64(h.seq));
            let held = match pending {
                Some(i) => Some(i_sealed[i].clone()),
                None => tx
                    .query_opt(
                        "SELECT sealed FROM changes WHERE reg = $1 AND author = $2 AND seq = $3",
                        &[&reg.row, &h.author.public_key().as_slice(), &seq_i64(h.seq)],
                    )
                    .map_err(db)?
                    .map(|r| r.try_get::<_, Vec<u8>>(0))
                    .transpose()
                    .map_err(db)?,
            };
            if held.as_deref() == Some(c.to_bytes().as_slice()) {
                out.duplicates += 1;
            } else {
                out.refused.push((
                    h.author,
                    h.seq,
                    "a different change is stored under this seq",
                ));
            }
        }
        if !i_seq.is_empty() {
            out.stored = i_seq.len();
            // One statement for the whole batch: a round trip per row is
            // what would bound ingest, not PostgreSQL.
            tx.execute(
                "INSERT INTO changes (reg, workspace, author, seq, stored_ms, sealed)
                 SELECT $6, $1, a, s, $2, b FROM UNNEST($3::bytea[], $4::int8[], $5::bytea[]) AS t(a, s, b)
                 ORDER BY s",
                &[&ws, &now_ms, &i_author, &i_seq, &i_sealed, &reg.row],
            )
            .map_err(db)?;
            let (h_author, h_seq): (Vec<Vec<u8>>, Vec<i64>) = heads
                .iter()
                .map(|(a, s)| (a.public_key().to_vec(), seq_i64(*s)))
                .unzip();
            tx.execute(
                "INSERT INTO heads (reg, workspace, author, seq)
                 SELECT $4, $1, a, s FROM UNNEST($2::bytea[], $3::int8[]) AS t(a, s)
                 ON CONFLICT (reg, author) DO UPDATE SET seq = GREATEST(heads.seq, excluded.seq)",
                &[&ws, &h_author, &h_seq, &reg.row],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE workspaces SET changes = changes + $2, bytes = bytes + $3 WHERE reg = $1",
                &[&reg.row, &(out.stored as i64), &(out.bytes as i64)],
            )
            .map_err(db)?;
            tx.batch_execute(&format!("NOTIFY {CHANNEL}")).map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(out)
    }

    fn usage(&self, reg: &Reg) -> Result<Usage, StoreError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT changes, bytes FROM workspaces WHERE reg = $1",
                &[&reg.row],
            )
            .map_err(db)?
            .ok_or(StoreError::UnknownWorkspace(reg.workspace))?;
        Ok(Usage {
            changes: row.try_get::<_, i64>(0).map_err(db)?.max(0) as u64,
            bytes: row.try_get::<_, i64>(1).map_err(db)?.max(0) as u64,
        })
    }

    fn forget(&self, reg: &Reg, now_ms: i64) -> Result<Usage, StoreError> {
        let usage = self.usage(reg)?;
        let mut c = self.client.borrow_mut();
        let mut tx = c.transaction().map_err(db)?;
        tx.execute(
            "INSERT INTO forgotten (id, verifier, forgotten_ms)
             SELECT id, verifier, $2 FROM workspaces WHERE reg = $1
             ON CONFLICT DO NOTHING",
            &[&reg.row, &now_ms],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM changes WHERE reg = $1", &[&reg.row])
            .map_err(db)?;
        tx.execute("DELETE FROM heads WHERE reg = $1", &[&reg.row])
            .map_err(db)?;
        tx.execute("DELETE FROM workspaces WHERE reg = $1", &[&reg.row])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(usage)
    }

    fn unforget(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        self.client
            .borrow_mut()
            .execute(
                "DELETE FROM forgotten WHERE id = $1",
                &[&workspace.as_bytes().as_slice()],
            )
            .map_err(db)
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        let r = self
            .client
            .borrow_mut()
            .query_one(
                "SELECT COUNT(*), COALESCE(SUM(changes), 0)::BIGINT, COALESCE(SUM(bytes), 0)::BIGINT FROM workspaces",
                &[],
            )
            .map_err(db)?;
        Ok(Totals {
            workspaces: r.try_get::<_, i64>(0).map_err(db)?.max(0) as u64,
            changes: r.try_get::<_, i64>(1).map_err(db)?.max(0) as u64,
            bytes: r.try_get::<_, i64>(2).map_err(db)?.max(0) as u64,
        })
    }

    fn feed_after(&self, after: i64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT id, workspace FROM changes WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get(0).map_err(db)?;
            let ws: Vec<u8> = r.try_get(1).map_err(db)?;
            if let Ok(workspace) = WorkspaceId::from_slice(&ws) {
                out.push(FeedEntry { id, workspace });
            }
        }
        Ok(out)
    }

    fn feed_head(&self) -> Result<i64, StoreError> {
        self.client
            .borrow_mut()
            .query_one("SELECT COALESCE(MAX(id), 0)::BIGINT FROM changes", &[])
            .map_err(db)?
            .try_get(0)
            .map_err(db)
    }

    fn shared(&self) -> bool {
        true
    }
}
