//! The [`Store`]: one SQLite file per workspace.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use weft_core::{DeviceId, DocId, DocKind, Seq, VersionVector, WorkspaceId};
use weft_crypto::SealedChange;

pub use crate::error::StoreError;
use crate::migrations::{APPLICATION_ID, MIGRATIONS};
use crate::read::{DOC_SELECT, Reader, StoreRead, doc_columns, doc_row};

/// A sealed change as stored, with its local row id.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// Local arrival order (not meaningful to other devices).
    pub row: i64,
    /// When this device stored it (ms since the Unix epoch).
    pub stored_at_ms: i64,
    /// The sealed change.
    pub change: SealedChange,
}

/// One document's cached state.
#[derive(Debug, Clone)]
pub struct DocRow {
    /// The document.
    pub doc: DocId,
    /// Its kind.
    pub kind: DocKind,
    /// Latest sealed snapshot bytes, if any.
    pub snapshot: Option<Vec<u8>>,
    /// Every change of this document with row id ≤ this is in the snapshot.
    pub snapshot_upto: i64,
    /// Number of changes stored for it.
    pub changes: i64,
    /// Time of the last stored change (ms since the Unix epoch).
    pub updated_at_ms: i64,
}

/// One workspace's SQLite database.
pub struct Store {
    // Crate-visible for the `impl Store` blocks in sibling modules (peers.rs),
    // which keeps this file under the size convention.
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    workspace: WorkspaceId,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("workspace", &self.workspace)
            .finish()
    }
}

const META_WORKSPACE: &str = "workspace_id";

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // A CLI command and a daemon may share the file: wait for the writer
    // instead of failing with SQLITE_BUSY.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The bundled SQLite is built with STAT4, under which a statement whose
    // plan could depend on a bound value (`id > ?2`, the log's reads) is
    // compiled again on every new binding: a third of a commit's SQL time.
    // The plans here do not depend on the values, so ask for one plan per
    // statement.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl Store {
    /// Creates a new workspace database at `path` (which must not exist).
    pub fn create(path: &Path, workspace: WorkspaceId) -> Result<Self, StoreError> {
        let err = sql_err(path);
        // The file is made here, readable by its owner alone, before SQLite opens it
        // (SQLite would make it 0644): it holds device names and addresses in
        // plaintext. SQLite gives the `-wal` and `-shm` files it makes beside it the
        // database's mode, so they are 0600 too.
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(path).map_err(|cause| StoreError::Io {
            path: path.to_owned(),
            cause,
        })?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&err)?;
        configure(&conn).map_err(&err)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(&err)?;
        let mut store = Self {
            conn,
            path: path.to_owned(),
            workspace,
        };
        store.migrate()?;
        store
            .conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![META_WORKSPACE, workspace.as_bytes().as_slice()],
            )
            .map_err(&err)?;
        Ok(store)
    }

    /// Opens an existing workspace database, running any pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        let err = sql_err(path);
        let (conn, app) = connect(path).map_err(&err)?;
        if app != APPLICATION_ID {
            return Err(StoreError::NotWeft {
                path: path.to_owned(),
                found: app,
            });
        }
        // Check the version before touching anything (even pragmas that
        // write, like journal_mode), so a newer file is left as it was.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found: version,
                supported,
            });
        }
        configure(&conn).map_err(&err)?;
        let ws: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [META_WORKSPACE],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let workspace = ws
            .and_then(|b| WorkspaceId::from_slice(&b).ok())
            .ok_or_else(|| StoreError::BadMeta {
                path: path.to_owned(),
                key: META_WORKSPACE,
            })?;
        let mut store = Self {
            conn,
            path: path.to_owned(),
            workspace,
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let err = sql_err(&self.path);
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(&err)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&err)?;
            // Another process opening the same file (the app and a command
            // started together) may have run this migration since the version
            // was read: read it again under the write lock.
            let now: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(&err)?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql).map_err(&err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(&err)?;
            tx.commit().map_err(&err)?;
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The workspace this database belongs to.
    pub fn workspace(&self) -> WorkspaceId {
        self.workspace
    }

    /// Reads a metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(sql_err(&self.path))
    }

    /// Writes a metadata value.
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(sql_err(&self.path))
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`): everything it
    /// appends commits together or not at all. Taking the write lock up
    /// front makes seq allocation safe across processes sharing the file.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let err = sql_err(&self.path);
        // Cached BEGIN/COMMIT statements instead of rusqlite's Transaction,
        // which parses both anew on every commit: that was a sixth of the
        // cost of a one-edit commit.
        self.conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
            .map_err(&err)?;
        let guard = Rollback(&self.conn);
        let wtx = WriteTx {
            tx: &self.conn,
            path: &self.path,
            workspace: self.workspace,
        };
        let out = f(&wtx)?;
        self.conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]))
            .map_err(&err)?;
        std::mem::forget(guard);
        Ok(out)
    }

    /// All documents with a stored row, in no particular order.
    pub fn docs(&self) -> Result<Vec<DocRow>, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self.conn.prepare_cached(DOC_SELECT).map_err(&err)?;
        let rows = stmt.query_map([], doc_columns).map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(doc_row(row.map_err(&err)?)?);
        }
        Ok(out)
    }

    /// When each document last changed (ms since the epoch), without reading
    /// any snapshot: what a listing needs.
    pub fn updated_times(&self) -> Result<HashMap<DocId, i64>, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc, updated_at FROM docs")
            .map_err(&err)?;
        let mut rows = stmt.query([]).map_err(&err)?;
        let mut out = HashMap::new();
        while let Some(r) = rows.next().map_err(&err)? {
            let bytes: Vec<u8> = r.get(0).map_err(&err)?;
            if let Ok(b) = <[u8; 16]>::try_from(bytes.as_slice()) {
                out.insert(DocId::from_bytes(b), r.get(1).map_err(&err)?);
            }
        }
        Ok(out)
    }

    /// SQLite's `data_version`: it changes whenever another connection (a
    /// CLI command, the app) commits to the file. A daemon polls it to
    /// notice local edits it did not make itself; the query touches no page.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(sql_err(&self.path))
    }

    /// Total number of stored changes.
    pub fn change_count(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .map_err(sql_err(&self.path))
    }

    /// The version vector of the whole log: per author, the highest seq
    /// such that 1..=seq are all stored (the store refuses gaps, so that is
    /// the author's head). One row per author, whatever the log's length.
    pub fn version_vector(&self) -> Result<VersionVector, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT author, seq FROM heads")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
            .map_err(&err)?;
        let mut vv = VersionVector::new();
        for row in rows {
            let (author, seq) = row.map_err(&err)?;
            let corrupt = |detail: String| StoreError::CorruptHead {
                path: self.path.clone(),
                author: hex::encode(&author),
                detail,
            };
            let id = DeviceId::from_slice(&author).map_err(|e| corrupt(e.to_string()))?;
            let seq = u64::try_from(seq).map_err(|_| corrupt(format!("negative seq {seq}")))?;
            vv.set(id, seq);
        }
        Ok(vv)
    }

    /// Bytes used on disk by the database and its WAL.
    pub fn disk_usage(&self) -> u64 {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.as_os_str().to_owned();
            p.push(suffix);
            total += std::fs::metadata(PathBuf::from(p))
                .map(|m| m.len())
                .unwrap_or(0);
        }
        total
    }

    /// Runs SQLite's own consistency check; `Ok(vec!["ok"])` when healthy.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(&err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }
}

/// Rolls an open transaction back unless forgotten (on error or panic).
struct Rollback<'a>(&'a Connection);

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self
                .0
                .prepare_cached("ROLLBACK")
                .and_then(|mut s| s.execute([]));
        }
    }
}

/// An open write transaction; see [`Store::write`].
pub struct WriteTx<'a> {
    pub(crate) tx: &'a Connection,
    pub(crate) path: &'a Path,
    workspace: WorkspaceId,
}

impl WriteTx<'_> {
    /// The next seq for `author`: one past the highest stored. Inside the
    /// write lock, so two processes never hand out the same number.
    pub fn next_seq(&self, author: &DeviceId) -> Result<Seq, StoreError> {
        let max: Option<i64> = self
            .tx
            .prepare_cached("SELECT seq FROM heads WHERE author = ?1")
            .and_then(|mut s| {
                s.query_row([author.public_key().as_slice()], |r| r.get(0))
                    .optional()
            })
            .map_err(sql_err(self.path))?;
        Ok(max.unwrap_or(0).max(0) as u64 + 1)
    }

    /// The kind of `doc`, as its first stored change set it; `None` for a
    /// document with nothing stored.
    pub fn doc_kind(&self, doc: &DocId) -> Result<Option<DocKind>, StoreError> {
        let code: Option<i64> = self
            .tx
            .prepare_cached("SELECT kind FROM docs WHERE doc = ?1")
            .and_then(|mut s| {
                s.query_row([doc.as_bytes().as_slice()], |r| r.get(0))
                    .optional()
            })
            .map_err(sql_err(self.path))?;
        code.map(|c| {
            u8::try_from(c)
                .ok()
                .and_then(|c| DocKind::from_code(c).ok())
                .ok_or_else(|| StoreError::CorruptChange {
                    row: 0,
                    doc: doc.to_hex(),
                    detail: format!("the document's stored kind {c} is unknown"),
                })
        })
        .transpose()
    }

    /// How many devices have changes stored.
    pub fn author_count(&self) -> Result<usize, StoreError> {
        self.tx
            .prepare_cached("SELECT COUNT(*) FROM heads")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n.max(0) as usize)
            .map_err(sql_err(self.path))
    }

    /// The workspace this transaction writes to.
    pub fn workspace(&self) -> WorkspaceId {
        self.workspace
    }

    /// Appends a sealed change; returns its row id. Re-appending a change
    /// already stored with the same bytes is a no-op returning `None` (sync
    /// delivers duplicates); the same (author, seq) with other bytes is a
    /// [`StoreError::Conflict`].
    pub fn append(&self, change: &SealedChange, now_ms: i64) -> Result<Option<i64>, StoreError> {
        self.append_at(change, now_ms, now_ms)
    }

    /// [`append`](Self::append) for a change made elsewhere: `stored_at_ms`
    /// is when it arrived here, `changed_at_ms` when its author made it
    /// (from its envelope), which is what the document's "updated" shows,
    /// so every device shows the same time for the same edit.
    pub fn append_at(
        &self,
        change: &SealedChange,
        stored_at_ms: i64,
        changed_at_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        let now_ms = stored_at_ms;
        let err = sql_err(self.path);
        let h = change.header();
        let seq = i64::try_from(h.seq).map_err(|_| StoreError::Conflict {
            author: h.author,
            seq: h.seq,
        })?;
        // Each author's log is contiguous, so a row at this seq exists only
        // below the next expected seq: the common case, the next change,
        // needs no lookup of an existing row.
        let expected = self.next_seq(&h.author)?;
        if h.seq < expected {
            let existing: Option<(Vec<u8>, Vec<u8>)> = self
                .tx
                .prepare_cached(
                    "SELECT ciphertext, signature FROM changes WHERE author = ?1 AND seq = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![h.author.public_key().as_slice(), seq], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()
                })
                .map_err(&err)?;
            if let Some((ct, sig)) = existing {
                if ct == change.ciphertext() && sig == change.signature().as_slice() {
                    return Ok(None);
                }
                return Err(StoreError::Conflict {
                    author: h.author,
                    seq: h.seq,
                });
            }
        }
        if h.seq != expected {
            return Err(StoreError::Gap {
                author: h.author,
                seq: h.seq,
                expected,
            });
        }
        self.tx
            .prepare_cached(
                "INSERT INTO changes (doc, author, seq, kind, nonce, ciphertext, signature, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    h.doc.as_bytes().as_slice(),
                    h.author.public_key().as_slice(),
                    seq,
                    h.kind.code(),
                    change.nonce().as_slice(),
                    change.ciphertext(),
                    change.signature().as_slice(),
                    now_ms,
                ])
            })
            .map_err(&err)?;
        let row = self.tx.last_insert_rowid();
        self.tx
            .prepare_cached(
                "INSERT INTO heads (author, seq) VALUES (?1, ?2)
                 ON CONFLICT (author) DO UPDATE SET seq = excluded.seq",
            )
            .and_then(|mut s| s.execute(params![h.author.public_key().as_slice(), seq]))
            .map_err(&err)?;
        self.tx
            .prepare_cached(
                "INSERT INTO docs (doc, kind, changes, updated_at) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (doc) DO UPDATE SET changes = changes + 1,
                     updated_at = MAX(updated_at, excluded.updated_at)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    h.doc.as_bytes().as_slice(),
                    h.kind.doc_kind().code(),
                    changed_at_ms
                ])
            })
            .map_err(&err)?;
        Ok(Some(row))
    }

    /// Replaces the sealed read model of `doc` (see migration 7): `model`
    /// must describe the document with every change row ≤ `upto`.
    pub fn set_read_model(&self, doc: &DocId, model: &[u8], upto: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO read_models (doc, model, upto) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc) DO UPDATE SET model = excluded.model, upto = excluded.upto",
            )
            .and_then(|mut s| s.execute(params![doc.as_bytes().as_slice(), model, upto]))
            .map(|_| ())
            .map_err(sql_err(self.path))
    }

    /// Replaces the cached snapshot of `doc`: `snapshot` must contain every
    /// change of the document with row id ≤ `upto`.
    pub fn set_snapshot(
        &self,
        doc: &DocId,
        kind: DocKind,
        snapshot: &[u8],
        vector: &[u8],
        upto: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let err = sql_err(self.path);
        self.tx
            .prepare_cached(
                "INSERT INTO docs (doc, kind, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![doc.as_bytes().as_slice(), kind.code(), now_ms]))
            .map_err(&err)?;
        self.tx
            .prepare_cached(
                "INSERT INTO snapshots (doc, sealed, vector, upto) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (doc) DO UPDATE SET sealed = excluded.sealed,
                     vector = excluded.vector, upto = excluded.upto",
            )
            .and_then(|mut s| s.execute(params![doc.as_bytes().as_slice(), snapshot, vector, upto]))
            .map(|_| ())
            .map_err(&err)
    }
}

/// Whether SQLite failed for want of space: a full disk while writing, or while
/// sizing the shared-memory index of the WAL (which it makes on a reader's open).
fn out_of_space(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == rusqlite::ErrorCode::DiskFull
                || f.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE
        }
        _ => false,
    }
}

/// Opens the file and reads its `application_id`, the first read. When the disk is
/// too full for SQLite to make the WAL's shared-memory index (`-shm`), the file is
/// opened again in exclusive locking mode, which keeps that index in memory: the
/// workspace stays readable, and a write then fails as [`StoreError::Full`]. Nothing
/// else has the file open then (it would hold the `-shm`), so the lock costs no one.
fn connect(path: &Path) -> rusqlite::Result<(Connection, i64)> {
    let open = || {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    };
    let app = |c: &Connection| c.pragma_query_value(None, "application_id", |r| r.get(0));
    let conn = open()?;
    match app(&conn) {
        Ok(a) => Ok((conn, a)),
        Err(e) if out_of_space(&e) => {
            drop(conn);
            let conn = open()?;
            conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
            let a = app(&conn)?;
            Ok((conn, a))
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |cause| match cause.sqlite_error_code() {
        _ if out_of_space(&cause) => StoreError::Full {
            path: path.to_owned(),
        },
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            StoreError::Damaged {
                path: path.to_owned(),
                detail: cause.to_string(),
            }
        }
        _ => StoreError::Sqlite {
            path: path.to_owned(),
            cause,
        },
    }
}

impl StoreRead for Store {
    fn reader(&self) -> Reader<'_> {
        Reader {
            conn: &self.conn,
            path: &self.path,
            workspace: self.workspace,
        }
    }
}

impl StoreRead for WriteTx<'_> {
    fn reader(&self) -> Reader<'_> {
        Reader {
            conn: self.tx,
            path: self.path,
            workspace: self.workspace,
        }
    }
}
