//! The relay control protocol (docs/protocol.md, "Relay control"): a
//! device registers its workspace on a relay, asks how much of the quota it
//! uses, or makes the relay forget the workspace. One request and one
//! response per stream, framed like sync frames (`u32 length ‖ body`).
//!
//! Every request carries an Ed25519 signature by the workspace's relay-auth
//! key over a transcript that names the request, the workspace, the relay
//! and the device (both as their transport-authenticated peer ids), so a
//! request cannot be replayed to another relay or by another device. A
//! registration proves possession of the key behind the verifier it asks the
//! relay to store; a forget or usage request is checked against the stored
//! verifier. Kept apart from the sync stream so that a sync session stays
//! one exchange with one meaning, and a relay can refuse an unknown
//! workspace before it holds any session state.

use weft_core::{DeviceId, WorkspaceId};
use weft_crypto::{RelayAuthKey, RelayVerifier};

/// Largest control frame body: requests and responses are small.
pub const MAX_CONTROL_FRAME: usize = 4096;

const T_REGISTER: u8 = 0x01;
const T_FORGET: u8 = 0x02;
const T_USAGE: u8 = 0x03;
const T_OK: u8 = 0x10;
const T_ERROR: u8 = 0x11;

/// What a request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Store the workspace's verifier and accept its devices.
    Register,
    /// Delete the workspace and every change stored for it.
    Forget,
    /// Report the workspace's usage.
    Usage,
}

impl RequestKind {
    fn domain(self) -> &'static [u8] {
        match self {
            RequestKind::Register => b"weft/v1/relay-register",
            RequestKind::Forget => b"weft/v1/relay-forget",
            RequestKind::Usage => b"weft/v1/relay-usage",
        }
    }
    fn code(self) -> u8 {
        match self {
            RequestKind::Register => T_REGISTER,
            RequestKind::Forget => T_FORGET,
            RequestKind::Usage => T_USAGE,
        }
    }
}

/// A control request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// What it asks.
    pub kind: RequestKind,
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The verifier to store (register only).
    pub verifier: Option<RelayVerifier>,
    /// The signature over [`transcript`].
    pub proof: [u8; 64],
}

/// Why a relay refused a control request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlError {
    /// The request did not parse.
    Malformed,
    /// The signature did not verify.
    ProofFailed,
    /// The relay does not know the workspace.
    UnknownWorkspace,
    /// The relay holds as many workspaces as it is configured for.
    RelayFull,
    /// The workspace is registered with another verifier.
    VerifierMismatch,
    /// The relay failed (its storage); try again later.
    Internal,
    /// This workspace was forgotten on this relay with this key: it does
    /// not come back by registering again (the relay's operator can lift it).
    Forgotten,
    /// Too many registrations from this address lately; try again later.
    RateLimited,
    /// A code this build does not know.
    Other(u8),
}

impl ControlError {
    fn code(self) -> u8 {
        match self {
            ControlError::Malformed => 1,
            ControlError::ProofFailed => 2,
            ControlError::UnknownWorkspace => 3,
            ControlError::RelayFull => 4,
            ControlError::VerifierMismatch => 5,
            ControlError::Internal => 6,
            ControlError::Forgotten => 7,
            ControlError::RateLimited => 8,
            ControlError::Other(c) => c,
        }
    }
    fn from_code(c: u8) -> Self {
        match c {
            1 => ControlError::Malformed,
            2 => ControlError::ProofFailed,
            3 => ControlError::UnknownWorkspace,
            4 => ControlError::RelayFull,
            5 => ControlError::VerifierMismatch,
            6 => ControlError::Internal,
            7 => ControlError::Forgotten,
            8 => ControlError::RateLimited,
            other => ControlError::Other(other),
        }
    }
}

/// A workspace's footprint on a relay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Changes stored.
    pub changes: u64,
    /// Bytes of sealed changes stored.
    pub bytes: u64,
    /// The quota in bytes (0: none).
    pub quota: u64,
}

/// A control response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// Done; the workspace's usage after the request (all zero after a
    /// forget: that is what was deleted, in `changes` and `bytes`).
    Ok(Usage),
    /// Refused.
    Error {
        /// Why.
        code: ControlError,
        /// For the user.
        message: String,
    },
}

/// Why control bytes did not parse.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlWireError {
    /// Too short, too long, or an unknown type.
    #[error("malformed relay control message: {0}")]
    Malformed(&'static str),
}

/// The bytes a request's signature covers.
pub fn transcript(
    kind: RequestKind,
    workspace: &WorkspaceId,
    relay: &DeviceId,
    device: &DeviceId,
) -> Vec<u8> {
    let domain = kind.domain();
    let mut m = Vec::with_capacity(domain.len() + 16 + 64);
    m.extend_from_slice(domain);
    m.extend_from_slice(workspace.as_bytes());
    m.extend_from_slice(relay.public_key());
    m.extend_from_slice(device.public_key());
    m
}

impl Request {
    /// A signed request from `device` to `relay`.
    pub fn new(
        kind: RequestKind,
        workspace: WorkspaceId,
        key: &RelayAuthKey,
        relay: &DeviceId,
        device: &DeviceId,
    ) -> Self {
        let proof = key.sign_proof(&transcript(kind, &workspace, relay, device));
        Self {
            kind,
            workspace,
            verifier: (kind == RequestKind::Register).then(|| key.verifier()),
            proof,
        }
    }

    /// True if the signature verifies under `verifier` for this relay and
    /// device.
    pub fn verify(&self, verifier: &RelayVerifier, relay: &DeviceId, device: &DeviceId) -> bool {
        verifier.verify(
            &transcript(self.kind, &self.workspace, relay, device),
            &self.proof,
        )
    }

    /// The frame body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 16 + 32 + 64);
        out.push(self.kind.code());
        out.extend_from_slice(self.workspace.as_bytes());
        if let Some(v) = &self.verifier {
            out.extend_from_slice(&v.to_bytes());
        }
        out.extend_from_slice(&self.proof);
        out
    }

    /// Parses a frame body.
    pub fn decode(body: &[u8]) -> Result<Self, ControlWireError> {
        let (&t, rest) = body
            .split_first()
            .ok_or(ControlWireError::Malformed("empty"))?;
        let kind = match t {
            T_REGISTER => RequestKind::Register,
            T_FORGET => RequestKind::Forget,
            T_USAGE => RequestKind::Usage,
            _ => return Err(ControlWireError::Malformed("unknown request type")),
        };
        let want = 16 + if kind == RequestKind::Register { 32 } else { 0 } + 64;
        if rest.len() != want {
            return Err(ControlWireError::Malformed("wrong request length"));
        }
        let (ws, rest) = rest.split_at(16);
        let mut ws16 = [0u8; 16];
        ws16.copy_from_slice(ws);
        let (verifier, rest) = if kind == RequestKind::Register {
            let (v, rest) = rest.split_at(32);
            let mut v32 = [0u8; 32];
            v32.copy_from_slice(v);
            (Some(RelayVerifier::from_bytes(v32)), rest)
        } else {
            (None, rest)
        };
        let mut proof = [0u8; 64];
        proof.copy_from_slice(rest);
        Ok(Self {
            kind,
            workspace: WorkspaceId::from_bytes(ws16),
            verifier,
            proof,
        })
    }
}

impl Response {
    /// The frame body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Ok(u) => {
                out.push(T_OK);
                out.extend_from_slice(&u.changes.to_be_bytes());
                out.extend_from_slice(&u.bytes.to_be_bytes());
                out.extend_from_slice(&u.quota.to_be_bytes());
            }
            Response::Error { code, message } => {
                out.push(T_ERROR);
                out.push(code.code());
                let mut end = message.len().min(1024);
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                out.extend_from_slice(&(end as u16).to_be_bytes());
                out.extend_from_slice(&message.as_bytes()[..end]);
            }
        }
        out
    }

    /// Parses a frame body.
    pub fn decode(body: &[u8]) -> Result<Self, ControlWireError> {
        let (&t, rest) = body
            .split_first()
            .ok_or(ControlWireError::Malformed("empty"))?;
        let u64_at = |i: usize| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&rest[i..i + 8]);
            u64::from_be_bytes(b)
        };
        match t {
            T_OK if rest.len() == 24 => Ok(Response::Ok(Usage {
                changes: u64_at(0),
                bytes: u64_at(8),
                quota: u64_at(16),
            })),
            T_ERROR if rest.len() >= 3 => {
                let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
                if rest.len() != 3 + len || len > 1024 {
                    return Err(ControlWireError::Malformed("wrong error length"));
                }
                let message = std::str::from_utf8(&rest[3..])
                    .map_err(|_| ControlWireError::Malformed("message is not UTF-8"))?
                    .to_owned();
                Ok(Response::Error {
                    code: ControlError::from_code(rest[0]),
                    message,
                })
            }
            T_OK | T_ERROR => Err(ControlWireError::Malformed("wrong response length")),
            _ => Err(ControlWireError::Malformed("unknown response type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_crypto::DeviceKey;

    fn ids() -> (WorkspaceId, DeviceId, DeviceId, RelayAuthKey) {
        (
            WorkspaceId::from_bytes([3; 16]),
            DeviceKey::from_seed([1; 32]).device_id(),
            DeviceKey::from_seed([2; 32]).device_id(),
            RelayAuthKey::from_bytes([7; 32]),
        )
    }

    #[test]
    fn requests_round_trip_and_verify_only_where_made() {
        let (ws, relay, device, key) = ids();
        for kind in [
            RequestKind::Register,
            RequestKind::Forget,
            RequestKind::Usage,
        ] {
            let r = Request::new(kind, ws, &key, &relay, &device);
            let back = Request::decode(&r.encode()).expect("decodes");
            assert_eq!(back, r);
            let v = key.verifier();
            assert!(back.verify(&v, &relay, &device));
            // Not for another relay, device, or as another request.
            assert!(!back.verify(&v, &device, &relay));
            let other = RelayAuthKey::from_bytes([8; 32]).verifier();
            assert!(!back.verify(&other, &relay, &device));
            let mut moved = back.clone();
            moved.kind = match kind {
                RequestKind::Forget => RequestKind::Usage,
                _ => RequestKind::Forget,
            };
            assert!(!moved.verify(&v, &relay, &device));
        }
    }

    #[test]
    fn every_truncation_and_extension_is_an_error() {
        let (ws, relay, device, key) = ids();
        let bytes = Request::new(RequestKind::Register, ws, &key, &relay, &device).encode();
        for n in 0..bytes.len() {
            assert!(Request::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Request::decode(&long).is_err());
        for r in [
            Response::Ok(Usage {
                changes: 5,
                bytes: 1 << 40,
                quota: 1 << 30,
            }),
            Response::Error {
                code: ControlError::RelayFull,
                message: "full: 10 of 10 workspaces".into(),
            },
            Response::Error {
                code: ControlError::Other(99),
                message: String::new(),
            },
        ] {
            let b = r.encode();
            assert_eq!(Response::decode(&b).expect("decodes"), r);
            for n in 0..b.len() {
                assert!(Response::decode(&b[..n]).is_err(), "prefix {n} of {r:?}");
            }
        }
    }
}
