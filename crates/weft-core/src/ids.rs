//! Identifiers. Each is a newtype so a doc id can never be passed where a
//! workspace id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why an id could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdError {
    /// The text is not the expected number of hex digits.
    #[error("`{text}` is not a {what}: expected {expected} hex digits")]
    BadHex {
        /// What was being parsed ("document id", ...).
        what: &'static str,
        /// The offending text.
        text: String,
        /// How many hex digits were expected.
        expected: usize,
    },
    /// The text is not a valid device id (a libp2p Ed25519 PeerId).
    #[error("`{0}` is not a device id (expected a base58 Ed25519 peer id starting with 12D3KooW)")]
    BadDevice(String),
    /// A byte value does not name a known kind.
    #[error("unknown {what} code {code}")]
    UnknownKind {
        /// "document kind" or "change kind".
        what: &'static str,
        /// The unknown code.
        code: u8,
    },
}

fn random_16() -> [u8; 16] {
    let mut b = [0u8; 16];
    // getrandom only fails when the OS has no entropy source at all; there is
    // nothing sensible to do then but stop.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system's random source failed");
    b
}

fn parse_hex16(what: &'static str, s: &str) -> Result<[u8; 16], IdError> {
    let bad = || IdError::BadHex {
        what,
        text: s.to_owned(),
        expected: 32,
    };
    let v = hex::decode(s).map_err(|_| bad())?;
    v.try_into().map_err(|_| bad())
}

macro_rules! id128 {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            /// A fresh random id (128 bits from the OS random source).
            pub fn random() -> Self {
                Self(random_16())
            }
            /// Wraps raw bytes.
            pub const fn from_bytes(b: [u8; 16]) -> Self {
                Self(b)
            }
            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }
            /// Parses from a byte slice (e.g. a database column); errors on a wrong length.
            pub fn from_slice(b: &[u8]) -> Result<Self, IdError> {
                let arr: [u8; 16] = b.try_into().map_err(|_| IdError::BadHex {
                    what: $what,
                    text: hex::encode(b),
                    expected: 32,
                })?;
                Ok(Self(arr))
            }
            /// Lower-case hex, 32 digits.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_hex16($what, s).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id128!(
    /// A workspace: the unit of sharing between a person's devices.
    WorkspaceId,
    "workspace id"
);
id128!(
    /// A document (note or record) inside a workspace.
    DocId,
    "document id"
);

/// A device: the Ed25519 public key of its device key. Displayed as the
/// libp2p PeerId of that key (`12D3KooW...`), so the id a user sees in
/// `weft status` is the one libp2p shows on the network.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId([u8; 32]);

/// The multihash prefix of an Ed25519 libp2p PeerId: identity hash (0x00),
/// length 36, then the protobuf PublicKey { Type = Ed25519 (1), Data = 32 bytes }.
const PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

impl DeviceId {
    /// Wraps an Ed25519 public key.
    pub const fn from_public_key(pk: [u8; 32]) -> Self {
        Self(pk)
    }
    /// The Ed25519 public key.
    pub const fn public_key(&self) -> &[u8; 32] {
        &self.0
    }
    /// Parses from a byte slice (e.g. a database column).
    pub fn from_slice(b: &[u8]) -> Result<Self, IdError> {
        let arr: [u8; 32] = b
            .try_into()
            .map_err(|_| IdError::BadDevice(hex::encode(b)))?;
        Ok(Self(arr))
    }
    /// A short form for tables: the last 8 characters of the peer id.
    pub fn short(&self) -> String {
        let s = self.to_string();
        s[s.len().saturating_sub(8)..].to_owned()
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut b = Vec::with_capacity(38);
        b.extend_from_slice(&PEER_ID_PREFIX);
        b.extend_from_slice(&self.0);
        f.write_str(&bs58::encode(b).into_string())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl FromStr for DeviceId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = bs58::decode(s)
            .into_vec()
            .map_err(|_| IdError::BadDevice(s.to_owned()))?;
        match b.strip_prefix(&PEER_ID_PREFIX[..]) {
            Some(pk) => Self::from_slice(pk).map_err(|_| IdError::BadDevice(s.to_owned())),
            None => Err(IdError::BadDevice(s.to_owned())),
        }
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A per-author sequence number. Each device numbers its changes 1, 2, 3, ...
/// across the whole workspace, with no gaps.
pub type Seq = u64;

/// What a document is. Stored as one byte; the codes are frozen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// Rich text, backed by Loro.
    Note,
    /// Structured JSON, backed by Automerge.
    Record,
    /// The workspace index (titles, folders, tombstones), a Loro tree.
    Index,
}

impl DocKind {
    /// The frozen one-byte code.
    pub const fn code(self) -> u8 {
        match self {
            DocKind::Note => 1,
            DocKind::Record => 2,
            DocKind::Index => 3,
        }
    }
    /// Inverse of [`DocKind::code`].
    pub fn from_code(code: u8) -> Result<Self, IdError> {
        match code {
            1 => Ok(DocKind::Note),
            2 => Ok(DocKind::Record),
            3 => Ok(DocKind::Index),
            _ => Err(IdError::UnknownKind {
                what: "document kind",
                code,
            }),
        }
    }
    /// The lower-case name users see.
    pub const fn name(self) -> &'static str {
        match self {
            DocKind::Note => "note",
            DocKind::Record => "record",
            DocKind::Index => "index",
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a sealed change carries. Part of the authenticated header.
///
/// An `Update` is an incremental CRDT update (a Loro update or Automerge
/// change bytes) for a document of the given kind. The kind travels in the
/// header (and so in the AAD) so a receiver knows which engine to hand the
/// plaintext to, and a relay cannot re-label a note update as a record change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// An incremental update to a document of this kind.
    Update(DocKind),
}

impl ChangeKind {
    /// The frozen one-byte code.
    pub const fn code(self) -> u8 {
        match self {
            ChangeKind::Update(k) => k.code(),
        }
    }
    /// Inverse of [`ChangeKind::code`].
    pub fn from_code(code: u8) -> Result<Self, IdError> {
        DocKind::from_code(code)
            .map(ChangeKind::Update)
            .map_err(|_| IdError::UnknownKind {
                what: "change kind",
                code,
            })
    }
    /// The document kind this change applies to.
    pub const fn doc_kind(self) -> DocKind {
        match self {
            ChangeKind::Update(k) => k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_id_displays_as_libp2p_peer_id_and_parses_back() {
        let d = DeviceId::from_public_key([7u8; 32]);
        let s = d.to_string();
        assert!(s.starts_with("12D3KooW"), "{s}");
        assert_eq!(s.parse::<DeviceId>().unwrap(), d);
        assert!("12D3KooWnotreal".parse::<DeviceId>().is_err());
    }

    #[test]
    fn doc_id_hex_round_trip_and_errors() {
        let id = DocId::random();
        assert_eq!(id.to_hex().parse::<DocId>().unwrap(), id);
        let err = "abc".parse::<DocId>().unwrap_err();
        assert!(err.to_string().contains("document id"), "{err}");
        assert_ne!(DocId::random(), DocId::random());
    }

    #[test]
    fn kind_codes_are_frozen() {
        for k in [DocKind::Note, DocKind::Record, DocKind::Index] {
            assert_eq!(DocKind::from_code(k.code()).unwrap(), k);
        }
        assert_eq!(DocKind::Note.code(), 1);
        assert_eq!(DocKind::Record.code(), 2);
        assert_eq!(DocKind::Index.code(), 3);
        assert!(ChangeKind::from_code(9).is_err());
    }
}
