//! Where a device keeps its secrets: the workspace key and its own device key.
//!
//! Two real stores: the OS keyring ([`KeyringStore`]: macOS Keychain,
//! Windows Credential Manager, Secret Service on Linux) and, where there is
//! none (a headless server), a passphrase-protected file ([`PassphraseFile`]).
//! Neither ever writes a plaintext key to disk: with no keyring and no
//! passphrase the answer is an error, never a silent plaintext fallback.

mod file;
mod keyring_store;

pub use file::{KdfParams, PassphraseFile};
pub use keyring_store::KeyringStore;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use weft_core::WorkspaceId;
use zeroize::Zeroizing;

use crate::keys::{DeviceKey, WorkspaceKey};

/// The secrets one device holds for one workspace. No `Clone`; `Debug`
/// shows only redacted keys and the public device id.
#[derive(Debug)]
pub struct WorkspaceSecrets {
    /// The shared workspace key.
    pub workspace_key: WorkspaceKey,
    /// This device's signing key.
    pub device_key: DeviceKey,
}

impl WorkspaceSecrets {
    /// Fresh secrets for a new workspace: a new workspace key and device key.
    pub fn generate() -> Self {
        Self {
            workspace_key: WorkspaceKey::generate(),
            device_key: DeviceKey::generate(),
        }
    }

    /// Secrets for joining an existing workspace: its key, a new device key.
    pub fn joining(workspace_key: WorkspaceKey) -> Self {
        Self {
            workspace_key,
            device_key: DeviceKey::generate(),
        }
    }
}

/// Why secrets could not be saved, loaded or deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// There is no usable OS keyring (no Secret Service on the session bus,
    /// no session bus at all, or the keyring is locked).
    #[error(
        "no usable OS keyring: {detail}. On a machine without one, keep the keys in a passphrase-protected file instead: `weft init --passphrase`"
    )]
    NoKeyring {
        /// What the platform reported.
        detail: String,
    },
    /// The store has no keys for this workspace.
    #[error(
        "the keys of workspace {workspace} are not in {store} (missing: {entry}); they were never saved here, or were deleted"
    )]
    Missing {
        /// The workspace asked for.
        workspace: WorkspaceId,
        /// The missing keyring entry (`<workspace hex>/device-key`) or file path.
        entry: String,
        /// [`SecretStore::describe`] of the store.
        store: String,
    },
    /// Any other keyring failure, with the platform's own message.
    #[error("keyring entry `{entry}` in {store}: {source}")]
    Keyring {
        /// The entry being accessed.
        entry: String,
        /// [`SecretStore::describe`] of the store.
        store: String,
        /// The keyring crate's error.
        #[source]
        source: keyring::Error,
    },
    /// A keyring entry exists but does not hold a 32-byte key.
    #[error(
        "keyring entry `{entry}` holds {len} bytes, not a 32-byte key: it was not written by weft, or is damaged"
    )]
    BadEntry {
        /// The entry.
        entry: String,
        /// Its length.
        len: usize,
    },
    /// The key file did not decrypt: wrong passphrase (or an altered file).
    #[error("wrong passphrase for key file {path} (or the file was altered)")]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The key file is not a weft key file, or is damaged.
    #[error("key file {path} is damaged or not a weft key file: {detail}")]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The key file belongs to another workspace.
    #[error("key file {path} holds the keys of workspace {found}, not of {expected}")]
    WrongWorkspace {
        /// The key file.
        path: PathBuf,
        /// The workspace asked for.
        expected: WorkspaceId,
        /// The workspace in the file.
        found: WorkspaceId,
    },
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file (or its temporary sibling) involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An empty passphrase would protect nothing.
    #[error("the passphrase is empty; choose a passphrase to protect the key file")]
    EmptyPassphrase,
    /// The Argon2id parameters are unusable.
    #[error(
        "Argon2id parameters m_cost={m_cost_kib} KiB, t_cost={t_cost}, p_cost={p_cost} are invalid: {detail}"
    )]
    Kdf {
        /// Memory cost in KiB.
        m_cost_kib: u32,
        /// Iterations.
        t_cost: u32,
        /// Parallelism.
        p_cost: u32,
        /// What argon2 said.
        detail: String,
    },
    /// The OS random source failed.
    #[error("the operating system's random source failed: {0}")]
    Random(#[source] getrandom::Error),
}

/// A place that keeps [`WorkspaceSecrets`], one set per workspace.
///
/// `Send + Sync` so the engine can hold a `Box<dyn SecretStore>` across
/// threads.
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) the secrets of `ws`. Either both keys are stored
    /// or, on error, neither changes.
    fn save(&self, ws: &WorkspaceId, s: &WorkspaceSecrets) -> Result<(), SecretError>;
    /// Loads the secrets of `ws`; [`SecretError::Missing`] if there are none.
    fn load(&self, ws: &WorkspaceId) -> Result<WorkspaceSecrets, SecretError>;
    /// Deletes the secrets of `ws`. Deleting what is not there succeeds.
    fn delete(&self, ws: &WorkspaceId) -> Result<(), SecretError>;
    /// A human description for messages, e.g. "OS keyring (Secret Service),
    /// service `weft`" or "passphrase-protected key file /path".
    fn describe(&self) -> String;
}

/// Keeps secrets in this process's memory only; they are gone at exit.
/// For tests of code above the secret store (engine, CLI) that should not
/// depend on a keyring or pay for Argon2.
#[derive(Default)]
pub struct MemoryStore {
    // Each value is workspace key ‖ device seed, wiped when removed or dropped.
    map: Mutex<HashMap<WorkspaceId, Zeroizing<[u8; 64]>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<WorkspaceId, Zeroizing<[u8; 64]>>> {
        // A panic while holding the lock cannot leave the map half-updated
        // (every update is one insert or remove), so a poisoned lock is safe.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SecretStore for MemoryStore {
    fn save(&self, ws: &WorkspaceId, s: &WorkspaceSecrets) -> Result<(), SecretError> {
        let mut v = Zeroizing::new([0u8; 64]);
        v[..32].copy_from_slice(s.workspace_key.expose_secret());
        v[32..].copy_from_slice(s.device_key.expose_seed());
        self.lock().insert(*ws, v);
        Ok(())
    }

    fn load(&self, ws: &WorkspaceId) -> Result<WorkspaceSecrets, SecretError> {
        let map = self.lock();
        let v = map.get(ws).ok_or_else(|| SecretError::Missing {
            workspace: *ws,
            entry: "workspace keys".to_owned(),
            store: self.describe(),
        })?;
        Ok(secrets_from_halves(&v[..32], &v[32..]))
    }

    fn delete(&self, ws: &WorkspaceId) -> Result<(), SecretError> {
        self.lock().remove(ws);
        Ok(())
    }

    fn describe(&self) -> String {
        "in-memory secret store (lost at exit)".to_owned()
    }
}

/// Rebuilds secrets from two 32-byte slices (callers check the lengths).
fn secrets_from_halves(workspace_key: &[u8], device_seed: &[u8]) -> WorkspaceSecrets {
    let mut wk = Zeroizing::new([0u8; 32]);
    let mut seed = Zeroizing::new([0u8; 32]);
    wk.copy_from_slice(workspace_key);
    seed.copy_from_slice(device_seed);
    WorkspaceSecrets {
        workspace_key: WorkspaceKey::from_bytes(*wk),
        device_key: DeviceKey::from_seed(*seed),
    }
}

impl weft_core::Coded for SecretError {
    fn code(&self) -> weft_core::ErrorCode {
        use weft_core::ErrorCode;
        match self {
            SecretError::NoKeyring { .. } | SecretError::Keyring { .. } => ErrorCode::Keys,
            SecretError::Missing { .. } => ErrorCode::Keys,
            SecretError::BadEntry { .. }
            | SecretError::Corrupt { .. }
            | SecretError::WrongWorkspace { .. } => ErrorCode::Corrupt,
            SecretError::WrongPassphrase { .. } => ErrorCode::WrongPassphrase,
            SecretError::EmptyPassphrase => ErrorCode::InvalidValue,
            SecretError::Io { .. } => ErrorCode::Io,
            SecretError::Kdf { .. } | SecretError::Random(_) => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trips_and_reports_missing() {
        let store = MemoryStore::new();
        let ws = WorkspaceId::random();
        let s = WorkspaceSecrets::generate();
        store.save(&ws, &s).unwrap();
        let back = store.load(&ws).unwrap();
        assert_eq!(
            back.workspace_key.expose_secret(),
            s.workspace_key.expose_secret()
        );
        assert_eq!(back.device_key.device_id(), s.device_key.device_id());
        store.delete(&ws).unwrap();
        let err = store.load(&ws).unwrap_err();
        assert!(matches!(err, SecretError::Missing { workspace, .. } if workspace == ws));
        assert!(err.to_string().contains(&ws.to_string()), "{err}");
    }

    #[test]
    fn secrets_debug_is_redacted() {
        let s = WorkspaceSecrets::generate();
        let d = format!("{s:?}");
        assert!(
            !d.contains(&hex::encode(s.workspace_key.expose_secret())),
            "{d}"
        );
        assert!(!d.contains(&hex::encode(s.device_key.expose_seed())), "{d}");
        assert!(d.contains("[redacted]"), "{d}");
    }

    #[test]
    fn no_keyring_message_suggests_the_passphrase_file() {
        let e = SecretError::NoKeyring {
            detail: "no session bus".into(),
        };
        assert!(e.to_string().contains("weft init --passphrase"), "{e}");
    }
}
