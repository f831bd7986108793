//! Checking the file, and reading what can still be read out of a damaged one.
//!
//! `PRAGMA quick_check` reads every page (O(file size)), so it is not run on every
//! open: the long-lived node runs it when it starts (`Store::check`), and every
//! query that meets a damaged page reports [`StoreError::Damaged`] anyway. `weft
//! doctor` runs the full `integrity_check` and, when the file is damaged, copies every
//! change row it can still read into a fresh file through a [`Salvage`].

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use weft_core::{DeviceId, Seq, WorkspaceId};

use crate::read::{CHANGE_COLUMNS, change_columns, stored_change};
use crate::store::{Store, StoreError, StoredChange, sql_err};

/// The tables of local bookkeeping a salvage copies over as they are, with the
/// columns this version knows (a file from an older version lacks later columns
/// and keeps their defaults).
const LOCAL_TABLES: [(&str, &str); 3] = [
    (
        "peers",
        "device, name, addrs, connection, last_seen_ms, last_sync_ms, vector",
    ),
    ("peer_addrs", "addr, added_ms"),
    (
        "relays",
        "addr, added_ms, registered_ms, last_sync_ms, status, status_ms, used_bytes, quota_bytes, forget",
    ),
];

impl Store {
    /// Runs `PRAGMA quick_check` (every page's structure, without cross-checking
    /// indexes against tables); `Err(Damaged)` naming the first problems if the file
    /// fails it.
    pub fn check(&self) -> Result<(), StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self.conn.prepare("PRAGMA quick_check(5)").map_err(&err)?;
        let found = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        if found == ["ok"] {
            return Ok(());
        }
        Err(StoreError::Damaged {
            path: self.path.clone(),
            detail: format!("quick_check: {}", found.join("; ")),
        })
    }

    /// Drops every cached snapshot (the log is the truth) and recounts each
    /// document's changes from the log; returns how many documents there are.
    pub fn clear_snapshots(&self) -> Result<usize, StoreError> {
        let err = sql_err(&self.path);
        self.conn
            .execute("DELETE FROM read_models", [])
            .map_err(&err)?;
        self.conn
            .execute("DELETE FROM snapshots", [])
            .map_err(&err)?;
        self.conn
            .execute(
                "UPDATE docs SET changes = (SELECT count(*) FROM changes c WHERE c.doc = docs.doc)",
                [],
            )
            .map_err(&err)
    }
}

/// A damaged database opened to read what it still can, row by row.
pub struct Salvage {
    conn: Connection,
    path: PathBuf,
}

impl Salvage {
    /// Opens the damaged file (never migrating or configuring it). Fails only if
    /// SQLite cannot open it at all.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err(path))?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// A `meta` value, if it can be read.
    pub fn meta(&self, key: &str) -> Option<Vec<u8>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .ok()
    }

    /// The workspace id the file names, if it can be read.
    pub fn workspace(&self) -> Option<WorkspaceId> {
        self.meta("workspace_id")
            .and_then(|b| WorkspaceId::from_slice(&b).ok())
    }

    /// The heads the file recorded (per author, the highest seq stored), if the
    /// table can be read: what the log held before the damage.
    pub fn heads(&self) -> Option<Vec<(DeviceId, Seq)>> {
        let mut stmt = self.conn.prepare("SELECT author, seq FROM heads").ok()?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
            .ok()?;
        let mut out = Vec::new();
        for row in rows {
            let (author, seq) = row.ok()?;
            out.push((
                DeviceId::from_slice(&author).ok()?,
                u64::try_from(seq).ok()?,
            ));
        }
        Some(out)
    }

    /// The highest change row id to try: the table's own, or, when the pages that
    /// say so are damaged, as many rows as the file could hold.
    pub fn last_row(&self) -> i64 {
        if let Ok(Some(max)) = self.conn.query_row("SELECT max(id) FROM changes", [], |r| {
            r.get::<_, Option<i64>>(0)
        }) {
            return max;
        }
        let pages: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap_or(0);
        let size: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .unwrap_or(4096);
        // A change row is over 100 bytes (ids, nonce, signature).
        pages.saturating_mul(size) / 100
    }

    /// Change row `id`: `Ok(None)` if there is none, `Err` if the page that holds it
    /// (or the row itself) cannot be read.
    pub fn change(&self, workspace: WorkspaceId, id: i64) -> Result<Option<StoredChange>, String> {
        let raw = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CHANGE_COLUMNS} FROM changes WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([id], change_columns).optional())
            .map_err(|e| e.to_string())?;
        raw.map(|r| stored_change(workspace, r).map_err(|(_, _, detail)| detail))
            .transpose()
    }

    /// Copies the local bookkeeping (peers, their addresses, relays) and each
    /// document's last-changed time into `fresh`, as far as it can be read; returns
    /// the tables that could not be.
    pub fn copy_local_tables(&self, fresh: &Store) -> Vec<&'static str> {
        let mut lost = Vec::new();
        let attach = fresh.conn.execute(
            "ATTACH DATABASE ?1 AS damaged",
            [self.path.to_string_lossy().as_ref()],
        );
        if attach.is_err() {
            return LOCAL_TABLES.iter().map(|(t, _)| *t).collect();
        }
        for (table, cols) in LOCAL_TABLES {
            let sql = format!(
                "INSERT OR IGNORE INTO main.{table} ({cols}) SELECT {cols} FROM damaged.{table}"
            );
            if fresh.conn.execute(&sql, []).is_err() {
                lost.push(table);
            }
        }
        let _ = fresh.conn.execute(
            "UPDATE main.docs SET updated_at = coalesce(
                 (SELECT d.updated_at FROM damaged.docs d WHERE d.doc = main.docs.doc),
                 updated_at)",
            params![],
        );
        let _ = fresh.conn.execute("DETACH DATABASE damaged", []);
        lost
    }
}
