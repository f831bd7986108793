//! The sealed snapshot: a whole document state, with the version vector it
//! covers, so a new device can start from it instead of the whole history.

use std::fmt;

use weft_core::{DeviceId, DocId, DocKind, WorkspaceId};
use zeroize::Zeroizing;

use super::{
    NONCE_LEN, OpenError, ParseError, Reader, SIGNATURE_LEN, SealError, SealedItem, TAG_LEN,
    decrypt, encrypt, fresh_nonce, put_len, signed_message,
};
use crate::keys::{DataKey, DeviceKey, verify_signature};

/// Largest document state a snapshot may hold.
pub const MAX_SNAPSHOT_PLAINTEXT_LEN: usize = 256 * 1024 * 1024;
/// Largest snapshot ciphertext (plaintext + tag).
pub const MAX_SNAPSHOT_CIPHERTEXT_LEN: usize = MAX_SNAPSHOT_PLAINTEXT_LEN + TAG_LEN;
/// Largest encoded version vector in a snapshot header: 65,536 authors at 40
/// bytes each, far beyond any real workspace, small enough to bound memory.
pub const MAX_SNAPSHOT_VECTOR_LEN: usize = 40 * 65_536;

const HEADER_VERSION: u8 = 1;
const WHAT_HEADER: &str = "snapshot header";
const WHAT_SNAPSHOT: &str = "sealed snapshot";

/// Domain string in front of the snapshot header in the AAD, and in front of
/// the signed message. It differs from the change domain (`weft/v1/change`)
/// in its ninth byte, so no change signature or ciphertext can ever pass as
/// a snapshot's.
const DOMAIN: &[u8] = b"weft/v1/snapshot";

/// The authenticated header of a sealed snapshot.
///
/// FROZEN like [`super::ChangeHeader`]: its encoding is inside the AAD and
/// signature of every stored snapshot; changing it makes them all unreadable.
///
/// Encoding: `0x01` ‖ workspace id (16) ‖ doc id (16) ‖ doc kind code (1) ‖
/// author public key (32) ‖ vector length (u32 BE) ‖ vector bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The workspace the document belongs to.
    pub workspace: WorkspaceId,
    /// The document.
    pub doc: DocId,
    /// Its kind (which engine reads the state).
    pub kind: DocKind,
    /// The device that made (and signs) the snapshot.
    pub author: DeviceId,
    /// An encoded `VersionVector`: the changes the snapshot includes. Opaque
    /// here; bounded by [`MAX_SNAPSHOT_VECTOR_LEN`].
    pub vector: Vec<u8>,
}

impl fmt::Debug for SnapshotHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotHeader")
            .field("workspace", &self.workspace)
            .field("doc", &self.doc)
            .field("kind", &self.kind)
            .field("author", &self.author)
            .field("vector_len", &self.vector.len())
            .finish()
    }
}

impl SnapshotHeader {
    /// The frozen binary encoding (see the type's documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 16 + 16 + 1 + 32 + 4 + self.vector.len());
        out.push(HEADER_VERSION);
        out.extend_from_slice(self.workspace.as_bytes());
        out.extend_from_slice(self.doc.as_bytes());
        out.push(self.kind.code());
        out.extend_from_slice(self.author.public_key());
        put_len(&mut out, self.vector.len());
        out.extend_from_slice(&self.vector);
        out
    }

    /// Parses exactly one encoded header.
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
        let kind = DocKind::from_code(r.u8("kind")?)
            .map_err(|source| ParseError::UnknownKind { what, source })?;
        let author = DeviceId::from_public_key(r.array("author")?);
        let vector = r
            .len_prefixed("version vector", MAX_SNAPSHOT_VECTOR_LEN)?
            .to_vec();
        Ok(Self {
            workspace,
            doc,
            kind,
            author,
            vector,
        })
    }

    fn item(&self) -> SealedItem {
        SealedItem::Snapshot {
            doc: self.doc,
            author: self.author,
        }
    }

    /// The AES-GCM associated data: domain ‖ encoded header.
    fn aad(&self) -> Vec<u8> {
        let mut aad = DOMAIN.to_vec();
        aad.extend_from_slice(&self.encode());
        aad
    }
}

/// One encrypted, signed document snapshot. Same construction rules as
/// [`super::SealedChange`]: built by sealing or from unverified parts.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSnapshot {
    header: SnapshotHeader,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for SealedSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSnapshot")
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

impl SealedSnapshot {
    /// Encrypts a document state under `data_key` (AAD = domain ‖ header) and
    /// signs it with `device`, which must be the header's author.
    pub fn seal(
        header: SnapshotHeader,
        plaintext: &[u8],
        data_key: &DataKey,
        device: &DeviceKey,
    ) -> Result<SealedSnapshot, SealError> {
        let signer = device.device_id();
        if header.author != signer {
            return Err(SealError::AuthorMismatch {
                header: header.author,
                device: signer,
            });
        }
        if plaintext.len() > MAX_SNAPSHOT_PLAINTEXT_LEN {
            return Err(SealError::TooLarge {
                what: "snapshot plaintext",
                len: plaintext.len(),
                max: MAX_SNAPSHOT_PLAINTEXT_LEN,
            });
        }
        if header.vector.len() > MAX_SNAPSHOT_VECTOR_LEN {
            return Err(SealError::TooLarge {
                what: "snapshot version vector",
                len: header.vector.len(),
                max: MAX_SNAPSHOT_VECTOR_LEN,
            });
        }
        let nonce = fresh_nonce()?;
        let ciphertext = encrypt(data_key, &nonce, &header.aad(), plaintext)?;
        let msg = signed_message(DOMAIN, &header.encode(), &nonce, &ciphertext);
        let signature = device.sign(&msg);
        Ok(SealedSnapshot {
            header,
            nonce,
            ciphertext,
            signature,
        })
    }

    /// Reassembles a snapshot from stored or received parts (unverified).
    pub fn from_parts(
        header: SnapshotHeader,
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

    /// Splits the snapshot into its parts without copying.
    pub fn into_parts(
        self,
    ) -> (
        SnapshotHeader,
        [u8; NONCE_LEN],
        Vec<u8>,
        [u8; SIGNATURE_LEN],
    ) {
        (self.header, self.nonce, self.ciphertext, self.signature)
    }

    /// The authenticated header (unverified until `verify`/`open` succeed).
    pub fn header(&self) -> &SnapshotHeader {
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

    /// Checks the author's signature and the size limits (no keys needed).
    pub fn verify(&self) -> Result<(), OpenError> {
        let item = self.header.item();
        for (field, len, max) in [
            (
                "ciphertext",
                self.ciphertext.len(),
                MAX_SNAPSHOT_CIPHERTEXT_LEN,
            ),
            (
                "version vector",
                self.header.vector.len(),
                MAX_SNAPSHOT_VECTOR_LEN,
            ),
        ] {
            if len > max {
                return Err(OpenError::TooLarge {
                    item,
                    field,
                    len,
                    max,
                });
            }
        }
        let msg = signed_message(DOMAIN, &self.header.encode(), &self.nonce, &self.ciphertext);
        verify_signature(&self.header.author, &msg, &self.signature)
            .map_err(|source| OpenError::BadSignature { item, source })
    }

    /// Verifies the signature, then decrypts the document state.
    pub fn open(&self, data_key: &DataKey) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        self.verify()?;
        decrypt(data_key, &self.nonce, &self.header.aad(), &self.ciphertext).ok_or(
            OpenError::Decrypt {
                item: self.header.item(),
            },
        )
    }

    /// The wire/bytes form: encoded header ‖ nonce (12) ‖ ciphertext length
    /// (u32 BE) ‖ ciphertext ‖ signature (64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = self.header.encode();
        let mut out = Vec::with_capacity(
            header.len() + NONCE_LEN + 4 + self.ciphertext.len() + SIGNATURE_LEN,
        );
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.nonce);
        put_len(&mut out, self.ciphertext.len());
        out.extend_from_slice(&self.ciphertext);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses the form written by [`SealedSnapshot::to_bytes`] (unverified).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, WHAT_SNAPSHOT);
        let header = SnapshotHeader::read(&mut r)?;
        let nonce = r.array("nonce")?;
        let ciphertext = r.len_prefixed("ciphertext", MAX_SNAPSHOT_CIPHERTEXT_LEN)?;
        if ciphertext.len() < TAG_LEN {
            return Err(ParseError::CiphertextTooShort {
                what: WHAT_SNAPSHOT,
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
    use crate::sealed::{ChangeHeader, SealedChange};
    use weft_core::ChangeKind;

    #[test]
    fn header_encoding_is_frozen() {
        let h = SnapshotHeader {
            workspace: WorkspaceId::from_bytes([1; 16]),
            doc: DocId::from_bytes([2; 16]),
            kind: DocKind::Note,
            author: DeviceId::from_public_key([3; 32]),
            vector: vec![9, 8, 7],
        };
        let mut expect = vec![1];
        expect.extend_from_slice(&[1; 16]);
        expect.extend_from_slice(&[2; 16]);
        expect.push(1);
        expect.extend_from_slice(&[3; 32]);
        expect.extend_from_slice(&[0, 0, 0, 3, 9, 8, 7]);
        assert_eq!(h.encode(), expect);
        assert_eq!(SnapshotHeader::decode(&expect).unwrap(), h);
    }

    #[test]
    fn a_change_signature_never_validates_a_snapshot() {
        // Same author, same nonce and ciphertext bytes: only the domain
        // separates the two signed messages, and it must be enough.
        let ws = WorkspaceId::from_bytes([1; 16]);
        let keys = WorkspaceKey::generate().derive(&ws);
        let dev = DeviceKey::generate();
        let change = SealedChange::seal(
            ChangeHeader {
                workspace: ws,
                doc: DocId::from_bytes([2; 16]),
                author: dev.device_id(),
                seq: 1,
                kind: ChangeKind::Update(DocKind::Note),
            },
            b"state",
            &keys.data,
            &dev,
        )
        .unwrap();
        let snap = SealedSnapshot::from_parts(
            SnapshotHeader {
                workspace: ws,
                doc: DocId::from_bytes([2; 16]),
                kind: DocKind::Note,
                author: dev.device_id(),
                vector: Vec::new(),
            },
            *change.nonce(),
            change.ciphertext().to_vec(),
            *change.signature(),
        );
        let err = snap.open(&keys.data).unwrap_err();
        assert!(matches!(err, OpenError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn oversized_vector_is_refused_when_sealing_and_parsing() {
        let dev = DeviceKey::generate();
        let keys = WorkspaceKey::generate().derive(&WorkspaceId::from_bytes([1; 16]));
        let h = SnapshotHeader {
            workspace: WorkspaceId::from_bytes([1; 16]),
            doc: DocId::from_bytes([2; 16]),
            kind: DocKind::Record,
            author: dev.device_id(),
            vector: vec![0; MAX_SNAPSHOT_VECTOR_LEN + 1],
        };
        let err = SealedSnapshot::seal(h.clone(), b"", &keys.data, &dev).unwrap_err();
        assert!(matches!(err, SealError::TooLarge { .. }), "{err}");
        let err = SnapshotHeader::decode(&h.encode()).unwrap_err();
        assert!(
            matches!(
                err,
                ParseError::TooLarge {
                    field: "version vector",
                    ..
                }
            ),
            "{err}"
        );
    }
}
