//! Key material: the workspace key and what HKDF derives from it, and the
//! per-device Ed25519 signing key.
//!
//! Every type here that holds secret bytes follows the same rules (atuin's
//! encryption module): no `Clone` (a copy is one more place to forget to
//! wipe), no `Serialize` (a secret must never end up in a JSON log or an
//! IPC reply by accident), a `Debug` that prints `[redacted]`, and zeroized on
//! drop. Code that genuinely needs the bytes — the secret store, the invite
//! code — calls `expose_secret`, which is easy to grep for.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use weft_core::{DeviceId, WorkspaceId};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// HKDF `info` strings. Distinct per purpose, so learning one derived key (the
/// relay-auth key is deliberately shown to the relay) reveals nothing about the
/// others. Frozen: changing one changes every derived key of every workspace.
const INFO_DATA: &[u8] = b"weft/v1/data-key";
const INFO_PEER_AUTH: &[u8] = b"weft/v1/peer-auth-key";
const INFO_RELAY_AUTH: &[u8] = b"weft/v1/relay-auth-key";

type HmacSha256 = Hmac<Sha256>;

/// Fills `buf` from the operating system's random source.
///
/// Key generation has no sensible fallback when the OS has no entropy source
/// at all (a misconfigured sandbox); stopping is safer than continuing with a
/// predictable key. Sealing, which runs far more often, reports the failure
/// as an error instead (see `SealError::Random`).
#[allow(clippy::expect_used)]
fn os_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source failed");
}

macro_rules! redacted_debug {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

/// The 256-bit workspace key, shared by all devices of a workspace. Every
/// other workspace secret is derived from it with [`WorkspaceKey::derive`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct WorkspaceKey([u8; 32]);

redacted_debug!(WorkspaceKey);

impl WorkspaceKey {
    /// A fresh key from the OS random source.
    pub fn generate() -> Self {
        let mut k = Self([0u8; 32]);
        os_random(&mut k.0);
        k
    }

    /// Wraps key bytes read from the keyring, a key file or an invite code.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw key. Only for storing it (keyring, key file, invite code).
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// Derives the per-purpose keys with HKDF-SHA256, salted with the
    /// workspace id so two workspaces that somehow shared a key would still
    /// get unrelated data keys.
    pub fn derive(&self, workspace: &WorkspaceId) -> DerivedKeys {
        let hk = Hkdf::<Sha256>::new(Some(workspace.as_bytes()), &self.0);
        let mut keys = DerivedKeys {
            data: DataKey([0u8; 32]),
            peer_auth: PeerAuthKey([0u8; 32]),
            relay_auth: RelayAuthKey([0u8; 32]),
        };
        // Writing straight into the key structs leaves no stray copy to wipe.
        hkdf_expand(&hk, INFO_DATA, &mut keys.data.0);
        hkdf_expand(&hk, INFO_PEER_AUTH, &mut keys.peer_auth.0);
        hkdf_expand(&hk, INFO_RELAY_AUTH, &mut keys.relay_auth.0);
        keys
    }
}

/// HKDF-Expand into a 32-byte key. HKDF-SHA256 only refuses outputs longer
/// than 255 * 32 bytes, so a 32-byte output cannot fail.
#[allow(clippy::expect_used)]
fn hkdf_expand(hk: &Hkdf<Sha256>, info: &[u8], out: &mut [u8; 32]) {
    hk.expand(info, out)
        .expect("HKDF-SHA256 can always produce 32 bytes");
}

/// The keys derived from a [`WorkspaceKey`].
#[derive(Debug)]
pub struct DerivedKeys {
    /// Seals change and snapshot bodies (AES-256-GCM).
    pub data: DataKey,
    /// Proves workspace membership between peers (HMAC-SHA256).
    pub peer_auth: PeerAuthKey,
    /// Proves workspace membership to a relay: the seed of an Ed25519 key
    /// whose public half ([`RelayAuthKey::verifier`]) is all the relay keeps.
    pub relay_auth: RelayAuthKey,
}

/// The AES-256-GCM key that seals change and snapshot bodies.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

redacted_debug!(DataKey);

impl DataKey {
    /// The raw key.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

/// HMAC-SHA256 over `msg` with `key`.
fn hmac(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut m = new_hmac(key);
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// Constant-time HMAC-SHA256 check (`verify_slice` compares with `subtle`),
/// so a peer probing tags learns nothing from response timing.
fn hmac_verify(key: &[u8; 32], msg: &[u8], tag: &[u8]) -> bool {
    let mut m = new_hmac(key);
    m.update(msg);
    m.verify_slice(tag).is_ok()
}

/// HMAC accepts keys of any length, so building one from 32 bytes cannot fail.
#[allow(clippy::expect_used)]
fn new_hmac(key: &[u8; 32]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

/// The key peers use to prove workspace membership to each other.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PeerAuthKey([u8; 32]);

redacted_debug!(PeerAuthKey);

impl PeerAuthKey {
    /// The raw key.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
    /// HMAC-SHA256 of `msg`.
    pub fn mac(&self, msg: &[u8]) -> [u8; 32] {
        hmac(&self.0, msg)
    }
    /// True if `tag` is the HMAC-SHA256 of `msg` (constant time; a tag of the
    /// wrong length is simply false).
    pub fn verify_mac(&self, msg: &[u8], tag: &[u8]) -> bool {
        hmac_verify(&self.0, msg, tag)
    }
}

/// The key devices use to prove workspace membership to a relay.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RelayAuthKey([u8; 32]);

redacted_debug!(RelayAuthKey);

impl RelayAuthKey {
    /// Wraps raw key bytes (tests, and keys carried by other means).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    /// The raw key.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
    /// HMAC-SHA256 of `msg`.
    pub fn mac(&self, msg: &[u8]) -> [u8; 32] {
        hmac(&self.0, msg)
    }
    /// True if `tag` is the HMAC-SHA256 of `msg` (constant time).
    pub fn verify_mac(&self, msg: &[u8], tag: &[u8]) -> bool {
        hmac_verify(&self.0, msg, tag)
    }
    /// The public value a relay stores to recognise members: the Ed25519
    /// public key whose secret seed is this key. A relay that keeps only
    /// the verifier can check [`RelayAuthKey::sign_proof`] signatures but
    /// cannot make them, so a leak of the relay's database lets nobody
    /// impersonate a member (an HMAC verifier would have had to be the key
    /// itself), and HKDF's independent outputs keep the data key out of
    /// reach either way.
    pub fn verifier(&self) -> RelayVerifier {
        RelayVerifier(self.signing_key().verifying_key().to_bytes())
    }
    /// Signs a relay membership proof transcript with the key derived from
    /// this one.
    pub fn sign_proof(&self, msg: &[u8]) -> [u8; 64] {
        self.signing_key().sign(msg).to_bytes()
    }
    fn signing_key(&self) -> SigningKey {
        // The relay-auth key is a uniformly random HKDF output, which is
        // exactly what an Ed25519 seed must be.
        SigningKey::from_bytes(&self.0)
    }
}

/// What a relay stores about a workspace's members: the public half of the
/// key pair derived from the relay-auth key. Not secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RelayVerifier([u8; 32]);

impl RelayVerifier {
    /// From stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    /// The bytes to store.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
    /// True if `sig` is a proof over `msg` made with the matching
    /// relay-auth key (`verify_strict`, see [`verify_signature`]).
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        VerifyingKey::from_bytes(&self.0)
            .and_then(|vk| vk.verify_strict(msg, &Signature::from_bytes(sig)))
            .is_ok()
    }
}

/// A device's Ed25519 signing key. Its public half is the [`DeviceId`] (and
/// the device's libp2p identity).
// ed25519-dalek's `SigningKey` (with its `zeroize` feature) wipes itself on
// drop, so this wrapper needs no Drop of its own; it exists to drop `Clone`
// and `Serialize`, which `SigningKey` has.
pub struct DeviceKey(SigningKey);

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The public id is not secret and makes logs useful.
        write!(f, "DeviceKey({}, [redacted])", self.device_id())
    }
}

impl DeviceKey {
    /// A fresh key from the OS random source.
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        os_random(seed.as_mut_slice());
        Self::from_seed(*seed)
    }

    /// Rebuilds the key from its 32-byte seed (as stored in the keyring).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        // Wrapped so the caller's copy of the seed is wiped when we return.
        let seed = Zeroizing::new(seed);
        Self(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed. Only for storing it, or for building the libp2p
    /// identity (`Keypair::ed25519_from_bytes`).
    pub fn expose_seed(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// This device's id (its Ed25519 public key).
    pub fn device_id(&self) -> DeviceId {
        DeviceId::from_public_key(self.0.verifying_key().to_bytes())
    }

    /// An Ed25519 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
}

/// Why a signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum SignatureError {
    /// The device id is not a valid Ed25519 public key (not a curve point).
    #[error("device id {device} is not a valid Ed25519 public key")]
    MalformedKey {
        /// The device whose key is malformed.
        device: DeviceId,
    },
    /// The signature does not verify under the device's key.
    #[error("signature does not verify under the key of device {device}")]
    Invalid {
        /// The claimed signer.
        device: DeviceId,
    },
}

/// How many decompressed device keys each thread keeps. A workspace has a
/// handful of devices; decompressing a key costs about as much as a third
/// of a verification, and sync verifies thousands of changes by the same
/// few authors.
const KEY_CACHE: usize = 32;

thread_local! {
    static VERIFYING_KEYS: std::cell::RefCell<Vec<(DeviceId, VerifyingKey)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn verifying_key(device: &DeviceId) -> Result<VerifyingKey, SignatureError> {
    if let Some(vk) = VERIFYING_KEYS.with(|c| {
        c.borrow()
            .iter()
            .find(|(d, _)| d == device)
            .map(|(_, vk)| *vk)
    }) {
        return Ok(vk);
    }
    let vk = VerifyingKey::from_bytes(device.public_key())
        .map_err(|_| SignatureError::MalformedKey { device: *device })?;
    VERIFYING_KEYS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= KEY_CACHE {
            c.remove(0);
        }
        c.push((*device, vk));
    });
    Ok(vk)
}

/// Checks an Ed25519 signature by `device` over `msg`.
///
/// Uses `verify_strict`, which also rejects small-order public keys and
/// non-canonical signatures: with plain `verify`, a weak key can make one
/// signature valid for many messages, and a malleable signature would let a
/// relay store two byte-different copies of the same change.
pub fn verify_signature(
    device: &DeviceId,
    msg: &[u8],
    sig: &[u8; 64],
) -> Result<(), SignatureError> {
    let vk = verifying_key(device)?;
    vk.verify_strict(msg, &Signature::from_bytes(sig))
        .map_err(|_| SignatureError::Invalid { device: *device })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains_bytes(haystack: &str, key: &[u8; 32]) -> bool {
        // Look for the key in every rendering a careless Debug might use.
        haystack.contains(&hex::encode(key))
            || haystack.contains(&format!("{key:?}"))
            || haystack.contains(&format!("{:?}", &key[..8]))
    }

    #[test]
    fn debug_output_never_shows_key_bytes() {
        let ws = WorkspaceId::random();
        let wk = WorkspaceKey::generate();
        let derived = wk.derive(&ws);
        let dk = DeviceKey::generate();

        let s = format!("{wk:?}");
        assert_eq!(s, "WorkspaceKey([redacted])");
        assert!(!contains_bytes(&s, wk.expose_secret()));

        let s = format!("{derived:?}");
        assert!(s.contains("DataKey([redacted])"), "{s}");
        assert!(s.contains("PeerAuthKey([redacted])"), "{s}");
        assert!(s.contains("RelayAuthKey([redacted])"), "{s}");
        for k in [
            derived.data.expose_secret(),
            derived.peer_auth.expose_secret(),
            derived.relay_auth.expose_secret(),
        ] {
            assert!(!contains_bytes(&s, k), "{s}");
        }

        let s = format!("{dk:?}");
        assert!(s.contains("[redacted]"), "{s}");
        assert!(s.contains(&dk.device_id().to_string()), "{s}");
        assert!(!contains_bytes(&s, dk.expose_seed()), "{s}");
    }

    #[test]
    fn derivation_is_deterministic_and_separates_purposes_and_workspaces() {
        let wk = WorkspaceKey::from_bytes([9u8; 32]);
        let ws = WorkspaceId::from_bytes([1u8; 16]);
        let a = wk.derive(&ws);
        let b = wk.derive(&ws);
        assert_eq!(a.data.expose_secret(), b.data.expose_secret());
        assert_ne!(a.data.expose_secret(), a.peer_auth.expose_secret());
        assert_ne!(a.data.expose_secret(), a.relay_auth.expose_secret());
        assert_ne!(a.peer_auth.expose_secret(), a.relay_auth.expose_secret());
        assert_ne!(a.data.expose_secret(), wk.expose_secret());

        let other = wk.derive(&WorkspaceId::from_bytes([2u8; 16]));
        assert_ne!(a.data.expose_secret(), other.data.expose_secret());
    }

    #[test]
    fn derivation_matches_rfc5869_hkdf_with_our_info_strings() {
        // Pinned output: if the KDF, salt or info strings ever change, every
        // existing workspace loses access to its data. This test catches it.
        let wk = WorkspaceKey::from_bytes([0u8; 32]);
        let ws = WorkspaceId::from_bytes([0u8; 16]);
        let d = wk.derive(&ws);
        let hk = Hkdf::<Sha256>::new(Some(&[0u8; 16]), &[0u8; 32]);
        let mut expect = [0u8; 32];
        hk.expand(b"weft/v1/data-key", &mut expect).unwrap();
        assert_eq!(d.data.expose_secret(), &expect);
        hk.expand(b"weft/v1/peer-auth-key", &mut expect).unwrap();
        assert_eq!(d.peer_auth.expose_secret(), &expect);
        hk.expand(b"weft/v1/relay-auth-key", &mut expect).unwrap();
        assert_eq!(d.relay_auth.expose_secret(), &expect);
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            WorkspaceKey::generate().expose_secret(),
            WorkspaceKey::generate().expose_secret()
        );
        assert_ne!(
            DeviceKey::generate().device_id(),
            DeviceKey::generate().device_id()
        );
    }

    #[test]
    fn macs_verify_only_with_the_same_key_and_message() {
        let ws = WorkspaceId::random();
        let k1 = WorkspaceKey::generate().derive(&ws);
        let k2 = WorkspaceKey::generate().derive(&ws);
        let tag = k1.peer_auth.mac(b"challenge");
        assert!(k1.peer_auth.verify_mac(b"challenge", &tag));
        assert!(!k1.peer_auth.verify_mac(b"challengf", &tag));
        assert!(!k2.peer_auth.verify_mac(b"challenge", &tag));
        assert!(!k1.peer_auth.verify_mac(b"challenge", &tag[..31]));
        // Peer and relay keys are different keys: a peer tag is no relay tag.
        assert!(!k1.relay_auth.verify_mac(b"challenge", &tag));
        let rtag = k1.relay_auth.mac(b"challenge");
        assert!(k1.relay_auth.verify_mac(b"challenge", &rtag));
    }

    #[test]
    fn relay_verifier_checks_proofs_it_cannot_make() {
        let k = WorkspaceKey::generate().derive(&WorkspaceId::random());
        let v = k.relay_auth.verifier();
        assert_ne!(&v.to_bytes(), k.relay_auth.expose_secret());
        let sig = k.relay_auth.sign_proof(b"transcript");
        assert!(v.verify(b"transcript", &sig));
        assert!(!v.verify(b"transcript!", &sig));
        let other = WorkspaceKey::generate().derive(&WorkspaceId::random());
        assert!(!v.verify(b"transcript", &other.relay_auth.sign_proof(b"transcript")));
        assert_eq!(RelayVerifier::from_bytes(v.to_bytes()), v);
    }

    #[test]
    fn device_key_round_trips_through_its_seed_and_signs() {
        let dk = DeviceKey::generate();
        let again = DeviceKey::from_seed(*dk.expose_seed());
        assert_eq!(dk.device_id(), again.device_id());
        let sig = dk.sign(b"hello");
        assert_eq!(verify_signature(&dk.device_id(), b"hello", &sig), Ok(()));
        assert_eq!(
            verify_signature(&dk.device_id(), b"hellp", &sig),
            Err(SignatureError::Invalid {
                device: dk.device_id()
            })
        );
        let other = DeviceKey::generate().device_id();
        assert!(matches!(
            verify_signature(&other, b"hello", &sig),
            Err(SignatureError::Invalid { .. })
        ));
    }

    #[test]
    fn malformed_and_weak_public_keys_are_refused() {
        let dk = DeviceKey::generate();
        let sig = dk.sign(b"m");
        // y = 2 is not on the curve, so this 32-byte string decodes to no point.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        let bad = DeviceId::from_public_key(not_a_point);
        assert_eq!(
            verify_signature(&bad, b"m", &sig),
            Err(SignatureError::MalformedKey { device: bad })
        );
        // The identity point (small order): `verify` might accept crafted
        // signatures under it; `verify_strict` must refuse it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = DeviceId::from_public_key(identity);
        let mut forged = [0u8; 64];
        forged[0] = 1; // R = identity, s = 0
        assert!(verify_signature(&weak, b"anything", &forged).is_err());
    }
}
