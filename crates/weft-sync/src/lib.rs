//! The Weft sync protocol: what two peers (two devices, or a device and the
//! relay) say to each other, as a state machine that does no I/O.
//!
//! A [`Session`] is one side of one connection. The driver (the network
//! layer, the relay, or a test simulator) feeds it the frames that arrived
//! ([`Session::handle_frame`]) and the passing of time
//! ([`Session::handle_tick`]), stores the verified changes it hands out as
//! [`Event::Store`], and sends the frames it produces
//! ([`Session::poll_transmit`]). The session reads the local change log
//! through the [`Log`] trait, so the same code runs over SQLite, the relay's
//! PostgreSQL, or a map in a unit test. This is the shape of automerge's
//! `sync.rs` (generate/receive), extended with authentication and flow
//! control. The wire format is in docs/protocol.md, "Sync".

mod auth;
pub mod log;
pub mod relay;
mod session;
mod types;
mod verify;
pub mod wire;

pub use log::{ByteBudget, Log, LogError};
pub use session::{
    Credentials, Event, Limits, Session, SessionConfig, SessionError, Stats, VerifiedChange,
};
pub use verify::verify_received;
pub use wire::{
    FEATURES, Frame, FrameReader, Hello, MAX_BATCH_CHANGES, MAX_FRAME_LEN, MIN_PROTOCOL_VERSION,
    PROTOCOL_VERSION, RefuseCode, RejectCode, Rejection, Role, WireError, prefixed,
};
