//! Sealed changes and sealed snapshots: the only form in which document
//! content is stored or leaves the device.
//!
//! Both are AES-256-GCM with the header as associated data (so a body cannot
//! be moved under another header), plus an Ed25519 signature by the author's
//! device key over a domain string, the header, the nonce and the ciphertext
//! (so a relay without keys can check authorship, and a workspace member
//! cannot forge another device's changes). See docs/protocol.md.

mod change;
mod local;
mod snapshot;

pub use change::{ChangeHeader, HEADER_LEN, MAX_CIPHERTEXT_LEN, SealedChange};
pub use local::{open_local, seal_local};
pub use snapshot::{
    MAX_SNAPSHOT_CIPHERTEXT_LEN, MAX_SNAPSHOT_PLAINTEXT_LEN, MAX_SNAPSHOT_VECTOR_LEN,
    SealedSnapshot, SnapshotHeader,
};

use std::fmt;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use weft_core::{DeviceId, DocId, IdError, Seq};
use zeroize::Zeroizing;

use crate::keys::{DataKey, SignatureError};

/// Length of an AES-GCM nonce (96 bits, the size GCM is designed for).
pub const NONCE_LEN: usize = 12;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of the AES-GCM authentication tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// Names a sealed item in error messages, so a user (or a relay operator)
/// can tell which change of which document failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealedItem {
    /// A sealed change.
    Change {
        /// The document it belongs to.
        doc: DocId,
        /// The device that claims to have written it.
        author: DeviceId,
        /// The author's sequence number.
        seq: Seq,
    },
    /// A sealed snapshot.
    Snapshot {
        /// The document it belongs to.
        doc: DocId,
        /// The device that claims to have written it.
        author: DeviceId,
    },
}

impl fmt::Display for SealedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealedItem::Change { doc, author, seq } => {
                write!(f, "change #{seq} by device {author} to document {doc}")
            }
            SealedItem::Snapshot { doc, author } => {
                write!(f, "snapshot of document {doc} by device {author}")
            }
        }
    }
}

/// Why sealing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The header names a different author than the device key signing it.
    /// Sealing it would produce a change that no peer accepts.
    #[error("header names device {header} as author, but it is being signed by device {device}")]
    AuthorMismatch {
        /// The author in the header.
        header: DeviceId,
        /// The device whose key was given.
        device: DeviceId,
    },
    /// The plaintext (or a header field) exceeds the format's limit.
    #[error("{what} is {len} bytes, more than the maximum of {max}")]
    TooLarge {
        /// What was too large ("change plaintext", "snapshot vector", ...).
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The OS random source failed, so no fresh nonce could be made.
    #[error("the operating system's random source failed while making a nonce: {0}")]
    Random(#[source] getrandom::Error),
    /// AES-GCM refused to encrypt (only possible for inputs far beyond the
    /// size limits checked before, so this indicates a bug).
    #[error("AES-256-GCM encryption failed")]
    Encrypt,
}

/// Why a sealed change or snapshot could not be verified or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The signature does not verify: the header, nonce or ciphertext was
    /// altered, or the claimed author did not write it.
    #[error("{item}: signature rejected ({source}); it was altered or not written by that device")]
    BadSignature {
        /// Which item.
        item: SealedItem,
        /// The signature check's reason.
        #[source]
        source: SignatureError,
    },
    /// Decryption failed: the data key is not this workspace's, or the body
    /// was re-signed under a header it was not sealed with.
    #[error(
        "{item}: decryption failed (wrong workspace key, or the body was moved from another change)"
    )]
    Decrypt {
        /// Which item.
        item: SealedItem,
    },
    /// A field is larger than the format allows (only reachable through
    /// `from_parts`, e.g. an oversized database row).
    #[error("{item}: {field} is {len} bytes, more than the maximum of {max}")]
    TooLarge {
        /// Which item.
        item: SealedItem,
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Why bytes could not be parsed as a header, sealed change or snapshot.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ends before the structure does.
    #[error("{what} is truncated: {field} needs {needed} more bytes but only {available} remain")]
    Truncated {
        /// What was being parsed.
        what: &'static str,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The version byte is not one this build understands.
    #[error(
        "{what} has format version {version}, but this build of weft reads only version 1 (was it written by a newer weft?)"
    )]
    UnsupportedVersion {
        /// What was being parsed.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// The kind byte is not a known kind.
    #[error("{what}: {source}")]
    UnknownKind {
        /// What was being parsed.
        what: &'static str,
        /// The id error naming the code.
        #[source]
        source: IdError,
    },
    /// A length field exceeds the format's limit. Checked before anything is
    /// allocated, so a hostile length cannot exhaust memory.
    #[error("{what}: {field} declares {len} bytes, more than the maximum of {max}")]
    TooLarge {
        /// What was being parsed.
        what: &'static str,
        /// Which field.
        field: &'static str,
        /// The declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A ciphertext shorter than the GCM tag cannot be valid.
    #[error(
        "{what}: ciphertext of {len} bytes is shorter than the {TAG_LEN}-byte authentication tag"
    )]
    CiphertextTooShort {
        /// What was being parsed.
        what: &'static str,
        /// The declared length.
        len: usize,
    },
    /// Bytes are left over after the structure ends.
    #[error("{what} has {extra} unexpected bytes after its end")]
    TrailingBytes {
        /// What was being parsed.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
}

/// A bounds-checked cursor over untrusted bytes: every read says what it was
/// reading, so a truncated input produces an error naming the field.
struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], ParseError> {
        if self.buf.len() < n {
            return Err(ParseError::Truncated {
                what: self.what,
                field,
                needed: n,
                available: self.buf.len(),
            });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ParseError> {
        let b = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, ParseError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u32_be(&mut self, field: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn u64_be(&mut self, field: &'static str) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A u32-BE length prefix followed by that many bytes, refusing lengths
    /// over `max` before touching the data.
    fn len_prefixed(&mut self, field: &'static str, max: usize) -> Result<&'a [u8], ParseError> {
        let len = self.u32_be(field)?;
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if len_usize > max {
            return Err(ParseError::TooLarge {
                what: self.what,
                field,
                len: u64::from(len),
                max,
            });
        }
        self.take(field, len_usize)
    }

    fn finish(self) -> Result<(), ParseError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ParseError::TrailingBytes {
                what: self.what,
                extra: self.buf.len(),
            })
        }
    }
}

/// Appends a u32-BE length. Lengths are bounded by the MAX constants (all far
/// below 4 GiB) before anything is sealed; an out-of-range length can only come
/// from a hand-built `from_parts` value and saturates, which `from_bytes` then
/// rejects instead of silently wrapping.
fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

/// A fresh random nonce.
///
/// Random rather than a counter: several devices seal under the same data
/// key without coordinating, and a device restored from a backup would
/// repeat counter values. At 2^-32 collision probability after 2^32
/// messages per workspace, random 96-bit nonces are safe for a notes app.
fn fresh_nonce() -> Result<[u8; NONCE_LEN], SealError> {
    let mut n = [0u8; NONCE_LEN];
    getrandom::fill(&mut n).map_err(SealError::Random)?;
    Ok(n)
}

fn cipher(key: &DataKey) -> Aes256Gcm {
    Aes256Gcm::new(key.expose_secret().into())
}

/// AES-256-GCM encryption; the plaintext copy being encrypted in place is
/// the returned ciphertext, so no plaintext copy is left behind.
fn encrypt(
    key: &DataKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    cipher(key)
        .encrypt_in_place(&Nonce::from(*nonce), aad, &mut buf)
        .map_err(|_| SealError::Encrypt)?;
    Ok(buf)
}

/// AES-256-GCM decryption into a buffer that is wiped when dropped.
fn decrypt(
    key: &DataKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher(key)
        .decrypt_in_place(&Nonce::from(*nonce), aad, &mut *buf)
        .ok()?;
    Some(buf)
}

/// The bytes an Ed25519 signature covers: domain ‖ header ‖ nonce ‖ ciphertext.
/// The domain differs per item type, so a change signature can never be
/// replayed as a snapshot signature. Header and nonce have self-delimiting
/// lengths, so the concatenation is unambiguous.
fn signed_message(domain: &[u8], header: &[u8], nonce: &[u8; NONCE_LEN], ct: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + header.len() + NONCE_LEN + ct.len());
    m.extend_from_slice(domain);
    m.extend_from_slice(header);
    m.extend_from_slice(nonce);
    m.extend_from_slice(ct);
    m
}
