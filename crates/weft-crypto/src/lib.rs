//! Weft's cryptography: keys, sealing of changes and snapshots
//! (AES-256-GCM + Ed25519), key derivation, and the secret stores (OS keyring
//! or passphrase-protected file).
//!
//! Trust boundary: everything that leaves a device — to the SQLite file, a
//! LAN peer or the relay — is a [`SealedChange`] or [`SealedSnapshot`]. The
//! plaintext key types never implement `Clone`, `Serialize` or a revealing
//! `Debug`, and are wiped on drop.

pub mod invite;
pub mod keys;
pub mod sealed;
pub mod secrets;

pub use invite::{Invite, InviteError};
pub use keys::{
    DataKey, DerivedKeys, DeviceKey, PeerAuthKey, RelayAuthKey, RelayVerifier, SignatureError,
    WorkspaceKey, verify_signature,
};
pub use sealed::{
    ChangeHeader, HEADER_LEN, MAX_CIPHERTEXT_LEN, MAX_SNAPSHOT_CIPHERTEXT_LEN,
    MAX_SNAPSHOT_PLAINTEXT_LEN, MAX_SNAPSHOT_VECTOR_LEN, NONCE_LEN, OpenError, ParseError,
    SIGNATURE_LEN, SealError, SealedChange, SealedItem, SealedSnapshot, SnapshotHeader, TAG_LEN,
    open_local, seal_local,
};
pub use secrets::{
    KdfParams, KeyringStore, MemoryStore, PassphraseFile, SecretError, SecretStore,
    WorkspaceSecrets,
};
pub use zeroize::Zeroizing;
