//! Weft's document model: ids, document kinds, notes (Loro rich text),
//! records (Automerge JSON) and the workspace index (a Loro movable tree).
//!
//! Everything here is pure: no file, socket or clock access. Callers pass in
//! bytes and timestamps; the store and engine crates own I/O.

pub mod error_code;
pub mod guard;
pub mod ids;
pub mod index;
pub mod note;
pub mod parallel;
pub mod record;
pub mod search;
pub mod vv;

pub use error_code::{Category, Coded, ErrorCode};
pub use ids::{ChangeKind, DeviceId, DocId, DocKind, IdError, Seq, WorkspaceId};
pub use vv::VersionVector;
