//! A Weft node: the store, the keys and the document model wired together.
//!
//! This is the API both shells call: the `weft` CLI and the Tauri app. It is
//! synchronous (SQLite and the CRDT libraries are); async callers run it on
//! a blocking thread. The network layer drives the same [`Workspace`]
//! through its sync sessions (see `sync.rs`).

pub mod config;
mod editor;
mod envelope;
mod error;
mod export;
mod home;
mod invite;
mod load;
pub mod node;
mod ops;
mod peers;
mod read_model;
mod repair;
mod search;
mod sync;
#[cfg(test)]
mod testing;
mod workspace;

pub use envelope::Envelope;
pub use error::EngineError;
pub use export::{ExportReport, ImportReport};
pub use home::{DB_FILE, KEY_FILE, LoosePermission, default_home, loose_permissions};
pub use invite::{Joined, shareable_addrs};
pub use load::{READER, Unreadable};
pub use ops::{ConflictView, DocSummary, RelayStatus, Shown, Status, Version};
pub use peers::{Holder, parse_relay_addr};
pub use repair::{LostChanges, Rebuilt, Salvaged, UnreadableDoc, check_file, rebuild, salvage};
pub use search::{MAX_HITS, SearchHit};
pub use sync::{DEFAULT_MAX_AUTHORS, Ingested, StoreLog};
pub use workspace::{KeyBackend, Workspace};

pub use weft_core::{DocId, DocKind};
pub use weft_crypto::{Invite, InviteError};
pub use weft_store::{PeerRecord, RelayRecord, RelayState, StoreError};
