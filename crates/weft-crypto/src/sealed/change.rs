//! The sealed change: one encrypted, signed CRDT update.

use std::fmt;

use weft_core::{ChangeKind, DeviceId, DocId, Seq, WorkspaceId};
use zeroize::Zeroizing;

use super::{
    NONCE_LEN, OpenError, ParseError, Reader, SIGNATURE_LEN, SealError, SealedItem, TAG_LEN,
    decrypt, encrypt, fresh_nonce, put_len, signed_message,
};
use crate::keys::{DataKey, DeviceKey, verify_signature};

/// Length of an encoded [`ChangeHeader`]:
/// version 1 + workspace 16 + doc 16 + author 32 + seq 8 + kind 1.
pub const HEADER_LEN: usize = 1 + 16 + 16 + 32 + 8 + 1;

/// Largest ciphertext (plaintext + 16-byte tag) a sealed change may carry.
/// A change is one user action's CRDT update; 16 MiB is far above any real
/// one, and bounds what a hostile peer can make us allocate per frame.
pub const MAX_CIPHERTEXT_LEN: usize = 16 * 1024 * 1024;

const HEADER_VERSION: u8 = 1;
const WHAT_HEADER: &str = "change header";
const WHAT_CHANGE: &str = "sealed change";

/// Domain string in front of every change signature.
const SIG_DOMAIN: &[u8] = b"weft/v1/change";

/// The authenticated header of a sealed change.
///
/// ┌──────────────────────────────────────────────────────────────────────┐
/// │ FROZEN. The encoding below is the AES-GCM associated data and part of │
/// │ the signed message of every change ever sealed. Changing a field, its │
/// │ order, width or byte order makes every stored change (on every device │
/// │ and relay) fail to open. A new layout needs a new version byte and   │
/// │ code that keeps reading version 1.                                   │
/// └──────────────────────────────────────────────────────────────────────┘
///
/// Encoding (74 bytes): `0x01` ‖ workspace id (16) ‖ doc id (16) ‖
/// author public key (32) ‖ seq (u64 big-endian) ‖ kind code (1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChangeHeader {
    /// The workspace the change belongs to.
    pub workspace: WorkspaceId,
    /// The document it changes.
    pub doc: DocId,
    /// The device that wrote (and signs) it.
    pub author: DeviceId,
    /// The author's sequence number (1, 2, 3, ... across the workspace).
    pub seq: Seq,
    /// What the body is (which CRDT engine reads it).
    pub kind: ChangeKind,
}

impl ChangeHeader {
    /// Length of the encoding; same as [`HEADER_LEN`].
    pub const HEADER_LEN: usize = HEADER_LEN;

    /// The frozen binary encoding (see the type's documentation).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = HEADER_VERSION;
        out[1..17].copy_from_slice(self.workspace.as_bytes());
        out[17..33].copy_from_slice(self.doc.as_bytes());
        out[33..65].copy_from_slice(self.author.public_key());
        out[65..73].copy_from_slice(&self.seq.to_be_bytes());
        out[73] = self.kind.code();
        out
    }

    /// Parses exactly [`HEADER_LEN`] bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, WHAT_HEADER);
        let h = Self::read(&mut r)?;
        r.finish()?;
        Ok(h)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let what = r.what;
        let version = r.u8("version")?;
        if version != HEADER_VERSION {
            return Err(ParseError::UnsupportedVersion { what, version });
        }
        let workspace = WorkspaceId::from_bytes(r.array("workspace id")?);
        let doc = DocId::from_bytes(r.array("document id")?);
        let author = DeviceId::from_public_key(r.array("author")?);
        let seq = r.u64_be("seq")?;
        let kind = ChangeKind::from_code(r.u8("kind")?)
            .map_err(|source| ParseError::UnknownKind { what, source })?;
        Ok(Self {
            workspace,
            doc,
            author,
            seq,
            kind,
        })
    }

    fn item(&self) -> SealedItem {
        SealedItem::Change {
            doc: self.doc,
            author: self.author,
            seq: self.seq,
        }
    }
}

/// One encrypted, signed change. Built only by sealing plaintext
/// ([`SealedChange::seal`]) or by reassembling stored/received parts
/// ([`SealedChange::from_parts`], [`SealedChange::from_bytes`]); the latter
/// are unverified until [`SealedChange::verify`] or [`SealedChange::open`].
///
/// It holds ciphertext only, so it is the type that may cross to the store,
/// the network and the relay.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedChange {
    header: ChangeHeader,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for SealedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedChange")
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl SealedChange {
    /// Largest ciphertext a change may carry; same as [`MAX_CIPHERTEXT_LEN`].
    pub const MAX_CIPHERTEXT_LEN: usize = MAX_CIPHERTEXT_LEN;
    /// Largest plaintext [`SealedChange::seal`] accepts.
    pub const MAX_PLAINTEXT_LEN: usize = MAX_CIPHERTEXT_LEN - TAG_LEN;

    /// Encrypts `plaintext` under `data_key` with a fresh random nonce and
    /// the encoded header as associated data, then signs it with `device`.
    pub fn seal(
        header: ChangeHeader,
        plaintext: &[u8],
        data_key: &DataKey,
        device: &DeviceKey,
    ) -> Result<SealedChange, SealError> {
        let signer = device.device_id();
        if header.author != signer {
            return Err(SealError::AuthorMismatch {
                header: header.author,
                device: signer,
            });
        }
        if plaintext.len() > Self::MAX_PLAINTEXT_LEN {
            return Err(SealError::TooLarge {
                what: "change plaintext",
                len: plaintext.len(),
                max: Self::MAX_PLAINTEXT_LEN,
            });
        }
        let aad = header.encode();
        let nonce = fresh_nonce()?;
        let ciphertext = encrypt(data_key, &nonce, &aad, plaintext)?;
        let signature = device.sign(&signed_message(SIG_DOMAIN, &aad, &nonce, &ciphertext));
        Ok(SealedChange {
            header,
            nonce,
            ciphertext,
            signature,
        })
    }

    /// Reassembles a change from stored or received parts. Nothing is
    /// checked here: call [`SealedChange::verify`] or [`SealedChange::open`].
    pub fn from_parts(
        header: ChangeHeader,
        nonce: [u8; NONCE_LEN],
        ciphertext: Vec<u8>,
        signature: [u8; SIGNATURE_LEN],
    ) -> Self {
        Self {
            header,
            nonce,
            ciphertext,
            signature,
        }
    }

    /// Splits the change into its parts (e.g. to store them as columns)
    /// without copying the ciphertext.
    pub fn into_parts(self) -> (ChangeHeader, [u8; NONCE_LEN], Vec<u8>, [u8; SIGNATURE_LEN]) {
        (self.header, self.nonce, self.ciphertext, self.signature)
    }

    /// The authenticated header (unverified until `verify`/`open` succeed).
    pub fn header(&self) -> &ChangeHeader {
        &self.header
    }

    /// The AES-GCM nonce.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The ciphertext, including its 16-byte tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The author's Ed25519 signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// Checks the author's signature (and the size limit). Needs no keys, so
    /// a relay can refuse forged or corrupted changes it cannot read.
    pub fn verify(&self) -> Result<(), OpenError> {
        let item = self.header.item();
        if self.ciphertext.len() > MAX_CIPHERTEXT_LEN {
            return Err(OpenError::TooLarge {
                item,
                field: "ciphertext",
                len: self.ciphertext.len(),
                max: MAX_CIPHERTEXT_LEN,
            });
        }
        let msg = signed_message(
            SIG_DOMAIN,
            &self.header.encode(),
            &self.nonce,
            &self.ciphertext,
        );
        verify_signature(&self.header.author, &msg, &self.signature)
            .map_err(|source| OpenError::BadSignature { item, source })
    }

    /// Verifies the signature, then decrypts. The plaintext is wiped when
    /// the returned buffer is dropped.
    pub fn open(&self, data_key: &DataKey) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        self.verify()?;
        self.decrypt(data_key)
    }

    /// Checks the signatures of many changes, each exactly as
    /// [`SealedChange::verify`] (`verify_strict`) does. Not as an Ed25519
    /// batch, though a batch costs about half as much per signature: a batch
    /// accepts a signature its author's key holder built with a small-order
    /// component that `verify_strict` refuses, so a change's verdict would
    /// depend on which other changes shared its frame and on the build, and
    /// two devices could disagree about one change forever (each refusal
    /// leaves a hole in its author's log). Every device must reach the same
    /// verdict on every change; the speed comes from checking a frame's
    /// changes on every core instead (weft-sync's `verify.rs`).
    pub fn verify_many(changes: &[SealedChange]) -> Vec<Result<(), OpenError>> {
        changes.iter().map(SealedChange::verify).collect()
    }

    /// [`SealedChange::open`] for many changes: each signature checked
    /// ([`SealedChange::verify_many`]), then each change whose signature
    /// holds decrypted.
    pub fn open_many(
        changes: &[SealedChange],
        data_key: &DataKey,
    ) -> Vec<Result<Zeroizing<Vec<u8>>, OpenError>> {
        Self::verify_many(changes)
            .into_iter()
            .zip(changes)
            .map(|(verified, c)| {
                verified?;
                c.decrypt(data_key)
            })
            .collect()
    }

    fn decrypt(&self, data_key: &DataKey) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        decrypt(
            data_key,
            &self.nonce,
            &self.header.encode(),
            &self.ciphertext,
        )
        .ok_or(OpenError::Decrypt {
            item: self.header.item(),
        })
    }

    /// The wire/bytes form:
    /// header (74) ‖ nonce (12) ‖ ciphertext length (u32 BE) ‖ ciphertext ‖ signature (64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(HEADER_LEN + NONCE_LEN + 4 + self.ciphertext.len() + SIGNATURE_LEN);
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(&self.nonce);
        put_len(&mut out, self.ciphertext.len());
        out.extend_from_slice(&self.ciphertext);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the form written by [`SealedChange::to_bytes`]. Never panics
    /// and never allocates more than the input's own size; the result is
    /// unverified.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, WHAT_CHANGE);
        let header = ChangeHeader::read(&mut r)?;
        let nonce = r.array("nonce")?;
        let ciphertext = r.len_prefixed("ciphertext", MAX_CIPHERTEXT_LEN)?;
        if ciphertext.len() < TAG_LEN {
            return Err(ParseError::CiphertextTooShort {
                what: WHAT_CHANGE,
                len: ciphertext.len(),
            });
        }
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(Self {
            header,
            nonce,
            ciphertext: ciphertext.to_vec(),
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::WorkspaceKey;
    use weft_core::DocKind;

    fn header(author: DeviceId) -> ChangeHeader {
        ChangeHeader {
            workspace: WorkspaceId::from_bytes([1; 16]),
            doc: DocId::from_bytes([2; 16]),
            author,
            seq: 0x0102_0304_0506_0708,
            kind: ChangeKind::Update(DocKind::Record),
        }
    }

    #[test]
    fn header_encoding_is_frozen() {
        // Byte-for-byte pin of the frozen layout: if this test needs
        // changing, every stored change just stopped opening.
        let h = header(DeviceId::from_public_key([3; 32]));
        let e = h.encode();
        assert_eq!(HEADER_LEN, 74);
        assert_eq!(e[0], 1);
        assert_eq!(&e[1..17], &[1; 16]);
        assert_eq!(&e[17..33], &[2; 16]);
        assert_eq!(&e[33..65], &[3; 32]);
        assert_eq!(&e[65..73], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(e[73], 2);
        assert_eq!(ChangeHeader::decode(&e).unwrap(), h);
    }

    #[test]
    fn header_decode_errors_name_the_problem() {
        let e = header(DeviceId::from_public_key([3; 32])).encode();
        let err = ChangeHeader::decode(&e[..70]).unwrap_err();
        assert!(
            matches!(err, ParseError::Truncated { field: "seq", .. }),
            "{err}"
        );
        let mut v2 = e;
        v2[0] = 2;
        let err = ChangeHeader::decode(&v2).unwrap_err();
        assert_eq!(
            err,
            ParseError::UnsupportedVersion {
                what: "change header",
                version: 2
            }
        );
        assert!(err.to_string().contains("version 2"), "{err}");
        let mut bad_kind = e;
        bad_kind[73] = 99;
        let err = ChangeHeader::decode(&bad_kind).unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
        let mut long = e.to_vec();
        long.push(0);
        assert_eq!(
            ChangeHeader::decode(&long).unwrap_err(),
            ParseError::TrailingBytes {
                what: "change header",
                extra: 1
            }
        );
    }

    #[test]
    fn seal_refuses_a_header_naming_another_author() {
        let ws = WorkspaceId::from_bytes([1; 16]);
        let keys = WorkspaceKey::generate().derive(&ws);
        let dev = DeviceKey::generate();
        let other = DeviceKey::generate().device_id();
        let err = SealedChange::seal(header(other), b"x", &keys.data, &dev).unwrap_err();
        assert!(matches!(err, SealError::AuthorMismatch { .. }), "{err}");
    }

    #[test]
    fn declared_length_over_the_limit_is_refused_before_allocating() {
        let dev = DeviceKey::generate();
        let mut b = header(dev.device_id()).encode().to_vec();
        b.extend_from_slice(&[0; NONCE_LEN]);
        b.extend_from_slice(&u32::MAX.to_be_bytes());
        let err = SealedChange::from_bytes(&b).unwrap_err();
        assert!(
            matches!(
                err,
                ParseError::TooLarge {
                    field: "ciphertext",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn errors_name_doc_author_and_seq() {
        let ws = WorkspaceId::from_bytes([1; 16]);
        let keys = WorkspaceKey::generate().derive(&ws);
        let wrong = WorkspaceKey::generate().derive(&ws);
        let dev = DeviceKey::generate();
        let h = header(dev.device_id());
        let sealed = SealedChange::seal(h, b"hello", &keys.data, &dev).unwrap();
        assert_eq!(&*sealed.open(&keys.data).unwrap(), b"hello");
        let msg = sealed.open(&wrong.data).unwrap_err().to_string();
        assert!(msg.contains(&h.doc.to_string()), "{msg}");
        assert!(msg.contains(&h.author.to_string()), "{msg}");
        assert!(msg.contains(&h.seq.to_string()), "{msg}");
    }
}
