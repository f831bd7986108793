//! What a [`Session`](crate::Session) is made with and reports: its
//! credentials, limits and configuration, the verified changes and events it
//! hands its driver, its counters, and why it ends.

use std::sync::Arc;

use weft_core::{DeviceId, DocId, Seq, VersionVector, WorkspaceId};
use weft_crypto::{DerivedKeys, RelayVerifier, SealedChange};
use zeroize::Zeroizing;

use crate::log::LogError;
use crate::wire::{RefuseCode, RejectCode, Rejection, Role, WireError};

/// What this side can prove, and check.
#[derive(Clone)]
pub enum Credentials {
    /// A member device: the keys derived from the workspace key.
    Member(Arc<DerivedKeys>),
    /// A relay serving one workspace: only the verifier of its relay-auth
    /// key, so it can check devices' proofs, and nothing it could decrypt
    /// or sign with.
    Relay(RelayVerifier),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Member(_) => f.write_str("Member([redacted])"),
            Credentials::Relay(v) => f.debug_tuple("Relay").field(v).finish(),
        }
    }
}

/// Bounds on what a session buffers and sends. Every one of them is a
/// memory or fairness bound; none is needed for correctness.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Serialized bytes per `changes` frame (one larger change still
    /// travels alone).
    pub batch_bytes: usize,
    /// Changes per `changes` frame (at most [`MAX_BATCH_CHANGES`]).
    pub batch_changes: usize,
    /// Bytes sent and not yet acknowledged.
    pub window_bytes: usize,
    /// Changes sent and not yet acknowledged.
    pub window_changes: usize,
    /// Bytes of early changes held while waiting for a predecessor.
    pub reorder_bytes: usize,
    /// Resend the handshake, or rewind the window, after this long without
    /// progress.
    pub retransmit_ms: u64,
    /// Send a `have` at least this often, so a lost acknowledgement is
    /// repaired and an idle peer still learns where we are.
    pub keepalive_ms: u64,
    /// Give up on a handshake that has not completed in this time.
    pub handshake_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            batch_bytes: 1 << 20,
            batch_changes: 256,
            window_bytes: 8 << 20,
            window_changes: 4096,
            reorder_bytes: 8 << 20,
            // On a reliable stream (libp2p) nothing is ever lost, and a
            // rewind would resend a window a slow link is still carrying;
            // so by default only a peer silent for a minute is retried.
            // The simulator, whose links lose frames, sets it far lower.
            retransmit_ms: 60_000,
            keepalive_ms: 15_000,
            handshake_timeout_ms: 30_000,
        }
    }
}

/// Who is at each end of the session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The workspace to sync.
    pub workspace: WorkspaceId,
    /// This side's peer id, as the transport authenticates it.
    pub local: DeviceId,
    /// The other side's peer id, as the transport authenticated it.
    pub remote: DeviceId,
    /// What the other side must be: a device found on the LAN must be a
    /// device; a configured relay must be a relay.
    pub expect: Role,
    /// Bounds.
    pub limits: Limits,
}

/// A sealed change that passed every check this side can make: it parses,
/// belongs to this workspace, its signature verifies and (on a device) it
/// decrypts under its own header. Only a [`Session`] makes these, so the
/// store's caller cannot skip verification by accident.
pub struct VerifiedChange {
    pub(crate) change: SealedChange,
    pub(crate) plaintext: Option<Zeroizing<Vec<u8>>>,
}

impl VerifiedChange {
    /// The sealed change, to store.
    pub fn sealed(&self) -> &SealedChange {
        &self.change
    }
    /// Its decrypted payload (devices only; a relay has no key).
    pub fn plaintext(&self) -> Option<&[u8]> {
        self.plaintext.as_deref().map(|v| v.as_slice())
    }
    /// Both parts.
    pub fn into_parts(self) -> (SealedChange, Option<Zeroizing<Vec<u8>>>) {
        (self.change, self.plaintext)
    }
}

impl std::fmt::Debug for VerifiedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedChange")
            .field("change", &self.change)
            .finish_non_exhaustive()
    }
}

/// Something the driver must act on or may report.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The other side proved itself; data may flow.
    Authenticated {
        /// Its peer id.
        remote: DeviceId,
        /// What it is.
        role: Role,
    },
    /// Verified changes to append to the log, in this order (each author's
    /// in seq order, contiguous with what the log held). Store them before
    /// the next [`Session::poll_transmit`]: the acknowledgement it sends
    /// promises they are durable.
    Store(Vec<VerifiedChange>),
    /// A received change failed verification and was dropped; the rest of
    /// its batch was processed.
    Rejected {
        /// Its claimed author and seq, if the header could be read.
        change: Option<(DeviceId, Seq)>,
        /// Its claimed document, if the header could be read.
        doc: Option<DocId>,
        /// Why.
        code: RejectCode,
        /// The verifier's message.
        detail: String,
    },
    /// The other side acknowledged holding at least this.
    RemoteHas(VersionVector),
    /// The other side refused some of our changes (it will get those
    /// authors' changes from another peer, or never, if they are bad).
    PeerRejected(Vec<Rejection>),
    /// Both sides hold exactly the same changes.
    InSync,
}

/// Counters for status and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Changes received and handed out to store.
    pub changes_in: u64,
    /// Changes sent (including resends).
    pub changes_out: u64,
    /// Serialized change bytes received.
    pub bytes_in: u64,
    /// Serialized change bytes sent.
    pub bytes_out: u64,
    /// Changes received that were already held.
    pub duplicates: u64,
    /// Changes received and rejected.
    pub rejected: u64,
    /// Times the window was rewound after a stall.
    pub rewinds: u64,
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The peer sent bytes that are not a valid frame.
    #[error("peer {peer} sent a malformed frame: {source}")]
    Wire {
        /// The peer.
        peer: DeviceId,
        /// What was wrong.
        #[source]
        source: WireError,
    },
    /// No protocol version in common.
    #[error(
        "peer {peer} speaks sync protocol versions {theirs_min}..={theirs_max}, this device speaks {ours_min}..={ours_max}: update Weft on the older one"
    )]
    IncompatibleVersion {
        /// The peer.
        peer: DeviceId,
        /// Our range.
        ours_min: u16,
        /// Our range.
        ours_max: u16,
        /// Theirs.
        theirs_min: u16,
        /// Theirs.
        theirs_max: u16,
    },
    /// The peer syncs another workspace.
    #[error("peer {peer} asked for workspace {theirs}, this device syncs workspace {ours}")]
    WrongWorkspace {
        /// The peer.
        peer: DeviceId,
        /// Ours.
        ours: WorkspaceId,
        /// Theirs.
        theirs: WorkspaceId,
    },
    /// The peer's membership proof did not verify.
    #[error("peer {peer} failed the membership proof: it does not hold this workspace's key")]
    NotMember {
        /// The peer.
        peer: DeviceId,
    },
    /// The peer is a device where a relay was expected, or the reverse.
    #[error("peer {peer} is a {got}, but a {expected} was expected")]
    UnexpectedRole {
        /// The peer.
        peer: DeviceId,
        /// What we expected.
        expected: Role,
        /// What it said it is.
        got: Role,
    },
    /// The peer ended the session and said why.
    #[error("peer {peer} refused the session ({code:?}): {message}")]
    Refused {
        /// The peer.
        peer: DeviceId,
        /// Its reason code.
        code: RefuseCode,
        /// Its message.
        message: String,
        /// When it says to try again (seconds), if it said.
        retry_after_s: Option<u32>,
    },
    /// The peer broke the protocol.
    #[error("peer {peer} broke the sync protocol: {what}")]
    Protocol {
        /// The peer.
        peer: DeviceId,
        /// What it did.
        what: &'static str,
    },
    /// The handshake did not complete in time.
    #[error("peer {peer} did not complete the handshake within {ms} ms")]
    HandshakeTimeout {
        /// The peer.
        peer: DeviceId,
        /// The limit.
        ms: u64,
    },
    /// The local log could not be read.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The session already ended.
    #[error("the session with {peer} has ended")]
    Closed {
        /// The peer.
        peer: DeviceId,
    },
}

/// A received membership proof.
#[derive(Clone, Copy)]
pub(crate) enum Proof<'a> {
    /// HMAC with the peer-auth key (device to device).
    Member(&'a [u8; 32]),
    /// Signature with the relay-auth key (device to relay).
    Relay(&'a [u8; 64]),
}
