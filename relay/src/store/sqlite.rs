//! The default backend: one SQLite file (WAL). Each shard thread opens its
//! own connection; writes are `BEGIN IMMEDIATE` transactions, so they
//! serialise in SQLite and never interleave inside a batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use weft_core::{DeviceId, Seq, VersionVector, WorkspaceId};
use weft_crypto::{RelayVerifier, SealedChange};
use weft_sync::ByteBudget;

use super::{
    Appended, FeedEntry, MAX_AUTHORS, Reg, Registration, RelayStore, StoreError, TOO_MANY_AUTHORS,
    Totals, Usage, check_workspace, parse_rows,
};

/// Migrations, in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    r"
    CREATE TABLE workspaces (
        id BLOB PRIMARY KEY,
        verifier BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        changes INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE heads (
        workspace BLOB NOT NULL,
        author BLOB NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (workspace, author)
    ) WITHOUT ROWID;
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        workspace BLOB NOT NULL,
        author BLOB NOT NULL,
        seq INTEGER NOT NULL,
        stored_ms INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        UNIQUE (workspace, author, seq)
    );
",
    r"
    -- One row per (workspace id, verifier): a second verifier registering an
    -- id gets a registration of its own instead of colliding with the first.
    -- Existing rows keep their pair; their heads and changes move to its key.
    CREATE TABLE regs (
        reg INTEGER PRIMARY KEY AUTOINCREMENT,
        id BLOB NOT NULL,
        verifier BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        changes INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        UNIQUE (id, verifier)
    );
    INSERT INTO regs (id, verifier, created_ms, changes, bytes)
        SELECT id, verifier, created_ms, changes, bytes FROM workspaces;
    CREATE TABLE heads2 (
        reg INTEGER NOT NULL,
        workspace BLOB NOT NULL,
        author BLOB NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (reg, author)
    ) WITHOUT ROWID;
    INSERT INTO heads2 (reg, workspace, author, seq)
        SELECT r.reg, h.workspace, h.author, h.seq FROM heads h JOIN regs r ON r.id = h.workspace;
    CREATE TABLE changes2 (
        id INTEGER PRIMARY KEY,
        reg INTEGER NOT NULL,
        workspace BLOB NOT NULL,
        author BLOB NOT NULL,
        seq INTEGER NOT NULL,
        stored_ms INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        UNIQUE (reg, author, seq)
    );
    INSERT INTO changes2 (id, reg, workspace, author, seq, stored_ms, sealed)
        SELECT c.id, r.reg, c.workspace, c.author, c.seq, c.stored_ms, c.sealed
        FROM changes c JOIN regs r ON r.id = c.workspace;
    DROP TABLE changes;
    DROP TABLE heads;
    DROP TABLE workspaces;
    ALTER TABLE regs RENAME TO workspaces;
    ALTER TABLE heads2 RENAME TO heads;
    ALTER TABLE changes2 RENAME TO changes;
    -- Forgotten (workspace id, verifier) pairs: not registered again.
    CREATE TABLE forgotten (
        id BLOB NOT NULL,
        verifier BLOB NOT NULL,
        forgotten_ms INTEGER NOT NULL,
        PRIMARY KEY (id, verifier)
    ) WITHOUT ROWID;
",
];

/// The SQLite backend.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db {
        backend: "sqlite",
        detail: e.to_string(),
    }
}

fn seq_i64(s: Seq) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Db {
                backend: "sqlite",
                detail: format!("creating {}: {e}", dir.display()),
            })?;
        }
        let mut conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        // secure_delete: `weft relay forget` promises the rows are gone,
        // and SQLite otherwise leaves deleted pages' bytes in the file.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
        )
        .map_err(db)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::TooNew {
                found: version,
                supported,
            });
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(m).map_err(db)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RelayStore for SqliteStore {
    fn register(
        &self,
        workspace: &WorkspaceId,
        verifier: &RelayVerifier,
        max_workspaces: u64,
        now_ms: i64,
    ) -> Result<Registration, StoreError> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(db)?;
        let (ws, v) = (workspace.as_bytes().as_slice(), verifier.to_bytes());
        let existing: Option<i64> = tx
            .query_row(
                "SELECT reg FROM workspaces WHERE id = ?1 AND verifier = ?2",
                params![ws, v.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let forgotten: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM forgotten WHERE id = ?1 AND verifier = ?2)",
                params![ws, v.as_slice()],
                |r| r.get(0),
            )
            .map_err(db)?;
        let reg = |row| Reg {
            row,
            workspace: *workspace,
        };
        let r = match existing {
            Some(row) => Registration::Existing(reg(row)),
            None if forgotten => Registration::Forgotten,
            None => {
                let n: i64 = tx
                    .query_row("SELECT COUNT(*) FROM workspaces", [], |r| r.get(0))
                    .map_err(db)?;
                if max_workspaces > 0 && n as u64 >= max_workspaces {
                    Registration::Full {
                        max: max_workspaces,
                    }
                } else {
                    tx.execute(
                        "INSERT INTO workspaces (id, verifier, created_ms) VALUES (?1, ?2, ?3)",
                        params![ws, v.as_slice(), now_ms],
                    )
                    .map_err(db)?;
                    Registration::Created(reg(tx.last_insert_rowid()))
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
        let mut stmt = self
            .conn
            .prepare_cached("SELECT reg, verifier FROM workspaces WHERE id = ?1 ORDER BY reg")
            .map_err(db)?;
        let rows = stmt
            .query_map([workspace.as_bytes().as_slice()], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (row, v) = row.map_err(db)?;
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
        let mut stmt = self
            .conn
            .prepare_cached("SELECT author, seq FROM heads WHERE reg = ?1")
            .map_err(db)?;
        let rows = stmt
            .query_map([reg.row], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(db)?;
        let mut v = VersionVector::new();
        for row in rows {
            let (a, s) = row.map_err(db)?;
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
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, sealed FROM changes WHERE reg = ?1 AND author = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
            )
            .map_err(db)?;
        let mut rows = stmt
            .query(params![
                reg.row,
                author.public_key().as_slice(),
                seq_i64(after),
                max_count as i64
            ])
            .map_err(db)?;
        let mut out = Vec::new();
        let mut budget = ByteBudget::new(max_bytes);
        while budget.wants_more() {
            let Some(r) = rows.next().map_err(db)? else {
                break;
            };
            let seq: i64 = r.get(0).map_err(db)?;
            let b: Vec<u8> = r.get(1).map_err(db)?;
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
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(db)?;
        let ws = reg.workspace.as_bytes().as_slice();
        let used: Option<(i64, i64)> = tx
            .query_row(
                "SELECT changes, bytes FROM workspaces WHERE reg = ?1",
                [reg.row],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((_, used_bytes)) = used else {
            return Err(StoreError::UnknownWorkspace(reg.workspace));
        };
        let mut heads: HashMap<DeviceId, u64> = HashMap::new();
        let mut out = Appended::default();
        let mut authors: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM heads WHERE reg = ?1",
                [reg.row],
                |r| r.get(0),
            )
            .map_err(db)?;
        {
            let mut head_q = tx
                .prepare_cached("SELECT seq FROM heads WHERE reg = ?1 AND author = ?2")
                .map_err(db)?;
            let mut same_q = tx
                .prepare_cached(
                    "SELECT sealed FROM changes WHERE reg = ?1 AND author = ?2 AND seq = ?3",
                )
                .map_err(db)?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO changes (reg, workspace, author, seq, stored_ms, sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for c in changes {
                let h = c.header();
                let author = h.author.public_key().as_slice();
                let (head, known) = match heads.get(&h.author) {
                    Some(s) => (*s, true),
                    None => {
                        let s: Option<i64> = head_q
                            .query_row(params![reg.row, author], |r| r.get(0))
                            .optional()
                            .map_err(db)?;
                        (s.unwrap_or(0).max(0) as u64, s.is_some())
                    }
                };
                if !known && authors.max(0) as u64 >= MAX_AUTHORS {
                    out.refused.push((h.author, h.seq, TOO_MANY_AUTHORS));
                    continue;
                }
                if h.seq <= head {
                    let held: Option<Vec<u8>> = same_q
                        .query_row(params![reg.row, author, seq_i64(h.seq)], |r| r.get(0))
                        .optional()
                        .map_err(db)?;
                    if held.as_deref() == Some(c.to_bytes().as_slice()) {
                        out.duplicates += 1;
                    } else {
                        out.refused.push((
                            h.author,
                            h.seq,
                            "a different change is stored under this seq",
                        ));
                    }
                    heads.insert(h.author, head);
                    continue;
                }
                if h.seq != head + 1 {
                    out.refused.push((
                        h.author,
                        h.seq,
                        "it does not follow the author's last change",
                    ));
                    heads.insert(h.author, head);
                    continue;
                }
                let bytes = c.to_bytes();
                out.bytes += bytes.len() as u64;
                if quota > 0 && used_bytes.max(0) as u64 + out.bytes > quota {
                    // Dropping `tx` rolls back: nothing of the batch is kept.
                    return Err(StoreError::Quota {
                        used: used_bytes.max(0) as u64,
                        quota,
                        needed: changes.iter().map(|c| c.to_bytes().len() as u64).sum(),
                    });
                }
                ins.execute(params![reg.row, ws, author, seq_i64(h.seq), now_ms, bytes])
                    .map_err(db)?;
                out.stored += 1;
                if !known {
                    authors += 1;
                }
                heads.insert(h.author, h.seq);
            }
            let mut up = tx
                .prepare_cached(
                    "INSERT INTO heads (reg, workspace, author, seq) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (reg, author) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                )
                .map_err(db)?;
            for (author, seq) in &heads {
                if *seq > 0 {
                    up.execute(params![
                        reg.row,
                        ws,
                        author.public_key().as_slice(),
                        seq_i64(*seq)
                    ])
                    .map_err(db)?;
                }
            }
        }
        tx.execute(
            "UPDATE workspaces SET changes = changes + ?2, bytes = bytes + ?3 WHERE reg = ?1",
            params![reg.row, out.stored as i64, out.bytes as i64],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }

    fn usage(&self, reg: &Reg) -> Result<Usage, StoreError> {
        let u: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT changes, bytes FROM workspaces WHERE reg = ?1",
                [reg.row],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        let (changes, bytes) = u.ok_or(StoreError::UnknownWorkspace(reg.workspace))?;
        Ok(Usage {
            changes: changes.max(0) as u64,
            bytes: bytes.max(0) as u64,
        })
    }

    fn forget(&self, reg: &Reg, now_ms: i64) -> Result<Usage, StoreError> {
        let usage = self.usage(reg)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute(
            "INSERT OR IGNORE INTO forgotten (id, verifier, forgotten_ms)
             SELECT id, verifier, ?2 FROM workspaces WHERE reg = ?1",
            params![reg.row, now_ms],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM changes WHERE reg = ?1", [reg.row])
            .map_err(db)?;
        tx.execute("DELETE FROM heads WHERE reg = ?1", [reg.row])
            .map_err(db)?;
        tx.execute("DELETE FROM workspaces WHERE reg = ?1", [reg.row])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        // Move the zeroed pages out of the WAL into the main file too.
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        Ok(usage)
    }

    fn unforget(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM forgotten WHERE id = ?1",
                [workspace.as_bytes().as_slice()],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(changes), 0), COALESCE(SUM(bytes), 0) FROM workspaces",
                [],
                |r| {
                    Ok(Totals {
                        workspaces: r.get::<_, i64>(0)?.max(0) as u64,
                        changes: r.get::<_, i64>(1)?.max(0) as u64,
                        bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )
            .map_err(db)
    }

    fn feed_after(&self, after: i64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, workspace FROM changes WHERE id > ?1 ORDER BY id LIMIT ?2")
            .map_err(db)?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, ws) = row.map_err(db)?;
            if let Ok(workspace) = WorkspaceId::from_slice(&ws) {
                out.push(FeedEntry { id, workspace });
            }
        }
        Ok(out)
    }

    fn feed_head(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM changes", [], |r| r.get(0))
            .map_err(db)
    }

    fn shared(&self) -> bool {
        false
    }
}
