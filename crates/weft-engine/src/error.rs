//! Errors of engine operations. Every variant names what was wrong, and
//! [`EngineError::code`] gives its code from the one table (`weft_core::error_code`),
//! which the CLI's exit codes, `--json` errors and the UI all use.

use std::path::PathBuf;

use weft_core::index::IndexError;
use weft_core::note::NoteError;
use weft_core::record::RecordError;
use weft_core::{Coded, DocId, DocKind, ErrorCode};
use weft_crypto::SecretError;
use weft_store::StoreError;

/// What went wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No data directory could be determined for this user.
    #[error("cannot determine a data directory: set WEFT_HOME or pass --home")]
    NoDataDir,
    /// There is no workspace at the home.
    #[error("no workspace in {home}: run `weft init` to create one")]
    NoWorkspace {
        /// The workspace home.
        home: PathBuf,
    },
    /// `init` on a home that already has one.
    #[error("a workspace already exists in {home}")]
    AlreadyExists {
        /// The workspace home.
        home: PathBuf,
    },
    /// The workspace's keys are in a passphrase file and none was given.
    #[error(
        "the keys of this workspace are in a passphrase-protected file ({path}): \
         set WEFT_PASSPHRASE or enter the passphrase"
    )]
    PassphraseRequired {
        /// The key file.
        path: PathBuf,
    },
    /// No document matches.
    #[error(
        "no document matches `{query}` (give an id, an id prefix, or an exact title; see `weft ls`)"
    )]
    UnknownDoc {
        /// What the user typed.
        query: String,
    },
    /// Several documents match.
    #[error("`{query}` is ambiguous; it matches:\n{}", .candidates.join("\n"))]
    AmbiguousDoc {
        /// What the user typed.
        query: String,
        /// One line per match: id, kind, title.
        candidates: Vec<String>,
    },
    /// The document is deleted.
    #[error("document \"{title}\" ({doc}) is deleted; `weft undelete {doc}` brings it back")]
    Deleted {
        /// The document.
        doc: DocId,
        /// Its title.
        title: String,
    },
    /// An operation for one kind was asked of another.
    #[error("\"{title}\" is a {actual}, not a {expected}: {hint}")]
    WrongKind {
        /// The document's title.
        title: String,
        /// What the operation needs.
        expected: DocKind,
        /// What the document is.
        actual: DocKind,
        /// What to do instead.
        hint: &'static str,
    },
    /// A version number outside the document's history.
    #[error("document \"{title}\" has versions 1 to {max}; there is no version {version}")]
    NoSuchVersion {
        /// The document's title.
        title: String,
        /// The version asked for.
        version: usize,
        /// The latest version.
        max: usize,
    },
    /// The stored state of one document could not be read back.
    #[error("document {doc} cannot be read: {detail}")]
    Corrupt {
        /// The document.
        doc: DocId,
        /// What failed (decryption, signature, decoding, ...).
        detail: String,
    },
    /// A title or folder path that is not allowed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A record operation failed (bad pointer, failed patch test, ...).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A note operation failed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The keys could not be stored or loaded.
    #[error(transparent)]
    Keys(#[from] SecretError),
    /// A file to import is not what it should be.
    #[error("cannot import {path}: {detail}")]
    Import {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// File system error.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error (in the message, so not also a `source`).
        cause: std::io::Error,
    },
    /// Joining with the OS keyring, which already holds a device of this
    /// workspace (another home of this user).
    #[error(
        "this user's OS keyring already holds a device of workspace {workspace} (another \
         home created or joined it); joining again would replace that device's key. Join \
         with a passphrase key file instead (`weft join --passphrase`)"
    )]
    KeyringTaken {
        /// The workspace.
        workspace: weft_core::WorkspaceId,
    },
    /// An address given by the user (a relay's, a peer's) was refused.
    #[error("{addr}: {reason}")]
    BadAddress {
        /// The address as given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `weft.toml` could not be read or written.
    #[error("{}: {detail}", .path.display())]
    Config {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// Sealing a change failed (an internal invariant; never user input).
    #[error("sealing a change failed: {0}")]
    Seal(String),
}

impl EngineError {
    /// The stable code of this error (the table in `weft_core::error_code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::NoDataDir => ErrorCode::NoDataDir,
            EngineError::NoWorkspace { .. } => ErrorCode::NoWorkspace,
            EngineError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            EngineError::PassphraseRequired { .. } => ErrorCode::PassphraseRequired,
            EngineError::UnknownDoc { .. } => ErrorCode::UnknownDoc,
            EngineError::AmbiguousDoc { .. } => ErrorCode::AmbiguousDoc,
            EngineError::Deleted { .. } => ErrorCode::Deleted,
            EngineError::WrongKind { .. } => ErrorCode::WrongKind,
            EngineError::NoSuchVersion { .. } => ErrorCode::NoSuchVersion,
            EngineError::Corrupt { .. } => ErrorCode::Corrupt,
            EngineError::Index(e) => e.code(),
            EngineError::Record(e) => e.code(),
            EngineError::Note(e) => e.code(),
            EngineError::Store(e) => e.code(),
            EngineError::Keys(e) => e.code(),
            EngineError::Import { .. } => ErrorCode::Import,
            EngineError::Io { cause, .. } => match cause.kind() {
                std::io::ErrorKind::NotFound => ErrorCode::NoSuchFile,
                std::io::ErrorKind::StorageFull => ErrorCode::DiskFull,
                _ => ErrorCode::Io,
            },
            EngineError::Config { .. } => ErrorCode::Config,
            EngineError::BadAddress { .. } => ErrorCode::InvalidAddress,
            EngineError::KeyringTaken { .. } => ErrorCode::KeyringTaken,
            EngineError::Seal(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EngineError {
        let path = path.into();
        move |cause| EngineError::Io { path, cause }
    }
}

impl Coded for EngineError {
    fn code(&self) -> ErrorCode {
        EngineError::code(self)
    }
}
