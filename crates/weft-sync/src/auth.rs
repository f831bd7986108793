//! Membership proof transcripts (docs/protocol.md, "Sync: authentication").
//!
//! A proof covers the workspace, both peer ids (as the transport
//! authenticated them) and both fresh nonces, so it cannot be replayed to
//! another peer, in another session, or for another workspace. The
//! prover's id comes first: A's proof to B and B's proof to A differ even
//! though the two sessions share every input.

use weft_core::{DeviceId, WorkspaceId};

const MEMBER_DOMAIN: &[u8] = b"weft/v1/member-proof";
const RELAY_DOMAIN: &[u8] = b"weft/v1/relay-proof";

/// Who proves what to whom.
pub(crate) struct Transcript<'a> {
    pub(crate) workspace: &'a WorkspaceId,
    pub(crate) prover: &'a DeviceId,
    pub(crate) verifier: &'a DeviceId,
    pub(crate) prover_nonce: &'a [u8; 32],
    pub(crate) verifier_nonce: &'a [u8; 32],
}

impl Transcript<'_> {
    fn bytes(&self, domain: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(domain.len() + 16 + 64 + 64);
        m.extend_from_slice(domain);
        m.extend_from_slice(self.workspace.as_bytes());
        m.extend_from_slice(self.prover.public_key());
        m.extend_from_slice(self.verifier.public_key());
        m.extend_from_slice(self.prover_nonce);
        m.extend_from_slice(self.verifier_nonce);
        m
    }
    /// The message a device MACs with the peer-auth key for another device.
    pub(crate) fn member(&self) -> Vec<u8> {
        self.bytes(MEMBER_DOMAIN)
    }
    /// The message a device signs with the relay-auth key for a relay.
    pub(crate) fn relay(&self) -> Vec<u8> {
        self.bytes(RELAY_DOMAIN)
    }
}
