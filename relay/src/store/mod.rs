//! The relay's storage: one trait, two backends. SQLite (`sqlite.rs`) is
//! the default, one file beside the binary's data; PostgreSQL
//! (`postgres.rs`) lets several relay processes share one database.
//!
//! What a relay keeps per registration (a workspace id with one relay
//! verifier, public: several verifiers may register one id, each apart) is
//! the pair, usage counters, each author's highest seq (`heads`, so a version vector
//! is one indexed read however long the log is) and the sealed changes
//! themselves, and a tombstone of each forgotten pair. The API takes and returns [`SealedChange`] only: a type that
//! is built by sealing or by parsing ciphertext, so nothing here can hold a
//! document's plaintext, and the relay has no key that could make one.

mod postgres;
mod sqlite;

use weft_core::{DeviceId, Seq, VersionVector, WorkspaceId};
use weft_crypto::{RelayVerifier, SealedChange};

pub use self::postgres::{PgListener, PgStore};
pub use self::sqlite::SqliteStore;

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("relay database ({backend}): {detail}")]
    Db {
        /// "sqlite" or "postgres".
        backend: &'static str,
        /// The driver's message.
        detail: String,
    },
    /// Storing the batch would pass the workspace's quota; nothing of it
    /// was stored.
    #[error(
        "the relay's storage quota for this workspace is full: {used} of {quota} bytes used, the batch needs {needed} more"
    )]
    Quota {
        /// Bytes stored.
        used: u64,
        /// The quota.
        quota: u64,
        /// Bytes of the refused batch.
        needed: u64,
    },
    /// The workspace is not registered.
    #[error("the relay does not know workspace {0}")]
    UnknownWorkspace(WorkspaceId),
    /// A change of another workspace was offered.
    #[error("change {seq} of {author} belongs to workspace {theirs}, not {ours}")]
    WrongWorkspace {
        /// Its author.
        author: DeviceId,
        /// Its seq.
        seq: Seq,
        /// The workspace being written.
        ours: WorkspaceId,
        /// The change's.
        theirs: WorkspaceId,
    },
    /// The database was written by a newer relay.
    #[error(
        "the relay database has schema version {found}, newer than this relay's {supported}: upgrade weft-relay"
    )]
    TooNew {
        /// In the database.
        found: i64,
        /// What this build knows.
        supported: i64,
    },
}

/// One registration: a workspace id with one relay verifier. A workspace
/// id travels in clear in hellos, so anyone can register it; each relay
/// verifier that does gets a registration of its own, with its own log,
/// usage and quota, and a session or request reaches the one whose key it
/// proves. `row` is the registration's key in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reg {
    /// The database key of the (workspace id, verifier) pair.
    pub row: i64,
    /// The workspace id.
    pub workspace: WorkspaceId,
}

/// What [`RelayStore::register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The (workspace, verifier) pair is new here.
    Created(Reg),
    /// It was already registered.
    Existing(Reg),
    /// It was forgotten here (a tombstone): not registered again.
    Forgotten,
    /// The relay already holds its maximum number of registrations.
    Full {
        /// The limit.
        max: u64,
    },
}

/// The most devices (authors) whose changes one registration keeps. A
/// member can make fresh device keys at will; past this, changes from a new
/// author are refused, so no registration's version vector (and no `have`
/// the relay sends) grows without bound. The same as a device's default
/// `[sync] max_authors`.
pub const MAX_AUTHORS: u64 = 1000;

/// Why a change from a new author past [`MAX_AUTHORS`] is refused.
pub const TOO_MANY_AUTHORS: &str =
    "the workspace already holds changes of the most devices this relay keeps (1,000)";

/// What one [`RelayStore::append`] stored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Newly stored.
    pub stored: usize,
    /// Bytes newly stored.
    pub bytes: u64,
    /// Already held with the same bytes.
    pub duplicates: usize,
    /// Refused: a gap after the author's head, or different bytes under a
    /// stored (author, seq).
    pub refused: Vec<(DeviceId, Seq, &'static str)>,
}

/// A workspace's footprint.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Changes stored.
    pub changes: u64,
    /// Bytes of sealed changes stored.
    pub bytes: u64,
}

/// The whole relay's footprint, for `/metrics`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Registered workspaces.
    pub workspaces: u64,
    /// Changes stored.
    pub changes: u64,
    /// Bytes stored.
    pub bytes: u64,
}

/// One stored change in arrival order, for waking other relay nodes'
/// subscribers (see `watermark.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEntry {
    /// The row id, increasing in insertion order (not always in commit
    /// order under concurrency).
    pub id: i64,
    /// Its workspace.
    pub workspace: WorkspaceId,
}

/// The relay's storage. Synchronous: it runs on the relay's shard threads,
/// never on the async runtime.
pub trait RelayStore: Send {
    /// Registers `verifier` for `workspace` unless the pair is registered
    /// already, was forgotten (a tombstone), or the relay already holds
    /// `max_workspaces` registrations (0: no limit). Another verifier's
    /// registration of the same id is neither touched nor counted against.
    fn register(
        &self,
        workspace: &WorkspaceId,
        verifier: &RelayVerifier,
        max_workspaces: u64,
        now_ms: i64,
    ) -> Result<Registration, StoreError>;
    /// Every registration of the workspace id, with its verifier.
    fn registrations(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<(Reg, RelayVerifier)>, StoreError>;
    /// Per author, the highest seq stored.
    fn vector(&self, reg: &Reg) -> Result<VersionVector, StoreError>;
    /// `author`'s changes after `after` in seq order: at most `max_count`,
    /// stopping once `max_bytes` are collected (at least one if any). A
    /// stored row that no longer parses ends the list there: the devices
    /// get everything before it, and nothing after it could be contiguous.
    fn changes_after(
        &self,
        reg: &Reg,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, StoreError>;
    /// Stores a batch in one transaction: each change must continue its
    /// author's head (else it is refused), a change already held is a
    /// duplicate. If the new bytes would pass `quota` (0: none), nothing is
    /// stored and the error says so.
    fn append(
        &self,
        reg: &Reg,
        changes: &[SealedChange],
        quota: u64,
        now_ms: i64,
    ) -> Result<Appended, StoreError>;
    /// The registration's usage.
    fn usage(&self, reg: &Reg) -> Result<Usage, StoreError>;
    /// Deletes the registration and every change of it, and keeps a
    /// tombstone of its (workspace id, verifier) so registering the pair
    /// again is refused; returns what was removed.
    fn forget(&self, reg: &Reg, now_ms: i64) -> Result<Usage, StoreError>;
    /// Removes the workspace id's tombstones (an operator's decision);
    /// returns how many there were.
    fn unforget(&self, workspace: &WorkspaceId) -> Result<u64, StoreError>;
    /// Totals over every registration.
    fn totals(&self) -> Result<Totals, StoreError>;
    /// Rows with an id above `after`, in id order, at most `limit`.
    fn feed_after(&self, after: i64, limit: usize) -> Result<Vec<FeedEntry>, StoreError>;
    /// The highest row id (0 if empty): where a node that just started
    /// begins to watch.
    fn feed_head(&self) -> Result<i64, StoreError>;
    /// Whether other processes may write the same database (PostgreSQL):
    /// then the relay listens for their commits.
    fn shared(&self) -> bool;
}

/// A backend chosen by a `--database` value: `sqlite:PATH`, a plain path,
/// or `postgres://…` / `postgresql://…`.
pub fn open(url: &str) -> Result<Box<dyn RelayStore>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(PgStore::connect(url)?))
    } else {
        let path = url.strip_prefix("sqlite:").unwrap_or(url);
        Ok(Box::new(SqliteStore::open(std::path::Path::new(path))?))
    }
}

/// A connection that waits for other relay nodes' commits (PostgreSQL).
pub fn postgres_listener(url: &str) -> Result<PgListener, StoreError> {
    PgListener::connect(url)
}

/// The store a session of one registration reads through; before the
/// device's proof names its registration (`None`) the log is empty.
pub struct WorkspaceLog<'a> {
    /// The store.
    pub store: &'a dyn RelayStore,
    /// The registration.
    pub reg: Option<Reg>,
    /// Version vectors read before, by registration row: used and filled
    /// by `vector`, dropped by the owner when the registration changes.
    pub vectors: Option<&'a std::cell::RefCell<std::collections::HashMap<i64, VersionVector>>>,
}

fn log_err(e: StoreError) -> weft_sync::LogError {
    weft_sync::LogError {
        source: Box::new(e),
    }
}

impl weft_sync::Log for WorkspaceLog<'_> {
    fn vector(&self) -> Result<VersionVector, weft_sync::LogError> {
        let Some(r) = &self.reg else {
            return Ok(VersionVector::new());
        };
        if let Some(c) = self.vectors
            && let Some(v) = c.borrow().get(&r.row)
        {
            return Ok(v.clone());
        }
        let v = self.store.vector(r).map_err(log_err)?;
        if let Some(c) = self.vectors {
            let mut c = c.borrow_mut();
            if c.len() >= 4096 {
                c.clear();
            }
            c.insert(r.row, v.clone());
        }
        Ok(v)
    }
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, weft_sync::LogError> {
        match &self.reg {
            Some(r) => self
                .store
                .changes_after(r, author, after, max_count, max_bytes)
                .map_err(log_err),
            None => Ok(Vec::new()),
        }
    }
}

/// Checks a batch's workspace before any backend writes it.
fn check_workspace(workspace: &WorkspaceId, changes: &[SealedChange]) -> Result<(), StoreError> {
    for c in changes {
        let h = c.header();
        if h.workspace != *workspace {
            return Err(StoreError::WrongWorkspace {
                author: h.author,
                seq: h.seq,
                ours: *workspace,
                theirs: h.workspace,
            });
        }
    }
    Ok(())
}

/// Parses stored rows into changes, stopping at the first that does not
/// parse (see [`RelayStore::changes_after`]).
fn parse_rows(
    workspace: &WorkspaceId,
    author: &DeviceId,
    rows: impl IntoIterator<Item = (u64, Vec<u8>)>,
) -> Vec<SealedChange> {
    let mut out = Vec::new();
    for (seq, bytes) in rows {
        match SealedChange::from_bytes(&bytes) {
            Ok(c) => out.push(c),
            Err(e) => {
                tracing::error!(%workspace, %author, seq, "a stored change does not parse: {e}");
                break;
            }
        }
    }
    out
}
