//! Sealing for what this device keeps for itself alone (the index's read
//! model): AES-256-GCM under the data key, the item's identity in the
//! associated data, and no signature. The item never leaves the device, so
//! there is no one to prove its author to, and GCM's tag already refuses bytes
//! made or changed without the key. Signing would hash a cache of megabytes
//! twice on every write and once on every read, for nothing. (The data key is
//! the workspace's, held by every member device: what keeps such an item to
//! this device is that it is never sent or copied, not the key.)
//!
//! Form: version `0x01` ‖ nonce (12) ‖ ciphertext with its tag. Associated
//! data: the domain `weft/v1/local` ‖ context length (u32 BE) ‖ context. The
//! domain differs from a change's and a snapshot's, so neither can be taken
//! for the other; the context says which item this is and of what state (the
//! caller binds, say, the workspace, the document and the rows it covers), so
//! a stale or another item's bytes do not open in its place.

use zeroize::Zeroizing;

use super::{NONCE_LEN, SealError, TAG_LEN, decrypt, encrypt, fresh_nonce};
use crate::keys::DataKey;

const DOMAIN: &[u8] = b"weft/v1/local";
const VERSION: u8 = 1;

fn aad(context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(DOMAIN.len() + 4 + context.len());
    aad.extend_from_slice(DOMAIN);
    aad.extend_from_slice(&(context.len() as u32).to_be_bytes());
    aad.extend_from_slice(context);
    aad
}

/// Seals `plaintext`, an item of this device's own, for `context`.
pub fn seal_local(key: &DataKey, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let nonce = fresh_nonce()?;
    let ciphertext = encrypt(key, &nonce, &aad(context), plaintext)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens what [`seal_local`] sealed for the same `context` under the same
/// key; `None` for anything else (another context, another key, changed or
/// truncated bytes, an unknown version).
pub fn open_local(key: &DataKey, context: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (&version, rest) = sealed.split_first()?;
    if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    decrypt(key, &nonce, &aad(context), ciphertext)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn opens_only_for_its_key_and_context_and_unchanged() {
        let ws = weft_core::WorkspaceId::from_bytes([1; 16]);
        let key = crate::WorkspaceKey::generate().derive(&ws).data;
        let other = crate::WorkspaceKey::generate().derive(&ws).data;
        let sealed = seal_local(&key, b"index upto 42", b"the model").unwrap();
        assert_eq!(
            open_local(&key, b"index upto 42", &sealed)
                .unwrap()
                .as_slice(),
            b"the model"
        );
        assert!(!sealed.windows(9).any(|w| w == b"the model"));
        assert!(open_local(&key, b"index upto 43", &sealed).is_none());
        assert!(open_local(&other, b"index upto 42", &sealed).is_none());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(
                open_local(&key, b"index upto 42", &bad).is_none(),
                "byte {i}"
            );
        }
        for cut in 0..sealed.len() {
            assert!(open_local(&key, b"index upto 42", &sealed[..cut]).is_none());
        }
    }
}
