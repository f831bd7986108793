//! SQLite storage for one workspace: the append-only sealed change log and
//! the snapshot cache.
//!
//! The file holds ciphertext only: sealed changes, sealed snapshots, ids,
//! sequence numbers and times. Titles, text and field values never touch it
//! in plaintext. The exception is local bookkeeping about the network
//! (`peers`, `peer_addrs`, `relays`): the names and network addresses of other
//! devices as this device last saw them: no document content, and never
//! synced.
//!
//! Durability: WAL with `synchronous=NORMAL`. A committed transaction
//! survives the process being killed at any moment (the WAL is written
//! before COMMIT returns); only an OS crash or power loss can lose the last
//! transactions. `FULL` would cost an fsync per commit (~360 commits/s
//! measured here against ~24k/s), which would break the sub-millisecond
//! local write goal, and sync repairs the rare power-loss case from peers.

mod aside;
mod error;
mod migrations;
mod peers;
mod read;
mod relays;
mod repair;
mod store;

pub use aside::AsideCount;
pub use peers::PeerRecord;
pub use read::{Reader, StoreRead};
pub use relays::{RelayRecord, RelayState};
pub use repair::Salvage;
pub use store::{DocRow, Store, StoreError, StoredChange, WriteTx};
