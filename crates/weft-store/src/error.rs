//! [`StoreError`]: what went wrong reading or writing the store, and the
//! error code each case is reported with.

use std::path::PathBuf;

use weft_core::{DeviceId, Seq};

/// What went wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite itself failed (I/O, locking, constraint).
    #[error("database {path}: {cause}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error (in the message, so not also a `source`).
        cause: rusqlite::Error,
    },
    /// SQLite found pages of the file damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`), or
    /// `PRAGMA quick_check` failed. Every command that meets it reports this one error.
    #[error(
        "the database {path} is damaged ({detail}); `weft doctor` checks it and repairs what it can"
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// A write failed because the disk is full (`SQLITE_FULL`, ENOSPC). The
    /// transaction was rolled back: what was committed before is intact, and writing
    /// works again once space is freed.
    #[error(
        "the disk holding {} is full: nothing was written, and what was saved before is intact; free some space and try again",
        .path.parent().unwrap_or(.path).display()
    )]
    Full {
        /// The database file.
        path: PathBuf,
    },
    /// The file system refused (creating the file, setting its mode).
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (in the message, so not also a `source`).
        cause: std::io::Error,
    },
    /// The file was written by a newer Weft.
    #[error(
        "database {path} has schema version {found}, but this weft understands up to {supported}: \
         upgrade weft to open it (nothing was changed)"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this binary knows.
        supported: i64,
    },
    /// The file is a SQLite database, but not a Weft one.
    #[error("{path} is not a weft database (application id {found:#x})")]
    NotWeft {
        /// The database file.
        path: PathBuf,
        /// The application id found.
        found: i64,
    },
    /// No workspace database at this path.
    #[error("no weft workspace at {path}: run `weft init` first")]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
    },
    /// Metadata every workspace has is missing or malformed.
    #[error("database {path}: workspace metadata `{key}` is missing or malformed")]
    BadMeta {
        /// The database file.
        path: PathBuf,
        /// The meta key.
        key: &'static str,
    },
    /// A change row could not be decoded (truncated or edited outside Weft).
    #[error("change #{row} of document {doc} is corrupt: {detail}")]
    CorruptChange {
        /// Local row id.
        row: i64,
        /// The document it belongs to (hex, as stored).
        doc: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A change that does not directly follow the author's stored changes:
    /// storing it would leave a hole, and the version vector could no longer
    /// say "1..=N are all here".
    #[error(
        "change {seq} of device {author} does not follow the stored {stored}; \
         changes of one device are stored in order",
        stored = .expected.saturating_sub(1)
    )]
    Gap {
        /// The author.
        author: DeviceId,
        /// The seq offered.
        seq: Seq,
        /// The only seq that would have been accepted (one past the stored).
        expected: Seq,
    },
    /// A row of the per-author heads table could not be decoded.
    #[error("database {path}: the stored head of device {author} is corrupt: {detail}")]
    CorruptHead {
        /// The database file.
        path: PathBuf,
        /// The author column, hex, as stored.
        author: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A row of the peers table could not be decoded (edited outside Weft).
    #[error("database {path}: the stored record of peer {device} is corrupt: {detail}")]
    CorruptPeer {
        /// The database file.
        path: PathBuf,
        /// The device column, hex, as stored.
        device: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A peer record that cannot be stored as given.
    #[error("peer {device}: address {addr:?} contains a line break, which no multiaddr has")]
    BadPeerAddr {
        /// The peer.
        device: DeviceId,
        /// The offending address.
        addr: String,
    },
    /// A change with this (author, seq) is already stored with other bytes.
    #[error("change {seq} of device {author} is already stored with different contents")]
    Conflict {
        /// The author.
        author: DeviceId,
        /// The seq.
        seq: Seq,
    },
}

impl weft_core::Coded for StoreError {
    fn code(&self) -> weft_core::ErrorCode {
        use weft_core::ErrorCode;
        match self {
            StoreError::Sqlite { cause, .. } => match cause.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                    ErrorCode::Corrupt
                }
                _ => ErrorCode::Store,
            },
            StoreError::Io { cause, .. } if cause.kind() == std::io::ErrorKind::StorageFull => {
                ErrorCode::DiskFull
            }
            StoreError::Io { .. } => ErrorCode::Io,
            StoreError::Damaged { .. } => ErrorCode::Corrupt,
            StoreError::Full { .. } => ErrorCode::DiskFull,
            StoreError::NewerSchema { .. } => ErrorCode::NewerVersion,
            StoreError::NotWeft { .. }
            | StoreError::BadMeta { .. }
            | StoreError::CorruptChange { .. }
            | StoreError::CorruptHead { .. }
            | StoreError::CorruptPeer { .. } => ErrorCode::Corrupt,
            StoreError::Missing { .. } => ErrorCode::NoWorkspace,
            StoreError::Gap { .. } | StoreError::Conflict { .. } => ErrorCode::Refused,
            StoreError::BadPeerAddr { .. } => ErrorCode::InvalidAddress,
        }
    }
}
