//! Secrets in the OS keyring, through the `keyring` crate.

use keyring::{CredentialBuilder, Entry};
use weft_core::WorkspaceId;
use zeroize::Zeroizing;

use super::{SecretError, SecretStore, WorkspaceSecrets, secrets_from_halves};

const WORKSPACE_KEY_ENTRY: &str = "workspace-key";
const DEVICE_KEY_ENTRY: &str = "device-key";

/// Stores each workspace's secrets as two keyring entries under one service:
/// users `<workspace hex>/workspace-key` and `<workspace hex>/device-key`,
/// each holding the raw 32 bytes.
///
/// Two entries rather than one 64-byte blob so a user browsing their keyring
/// (Seahorse, Keychain Access) sees what each item is.
pub struct KeyringStore {
    service: String,
    /// `None`: the platform's default store. `Some`: an explicit backend
    /// (tests), used without touching the keyring crate's process-global
    /// default.
    builder: Option<Box<CredentialBuilder>>,
}

impl KeyringStore {
    /// The platform keyring, under `service` (the app uses `"weft"`).
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            builder: None,
        }
    }

    /// A store backed by a specific credential builder, e.g. an in-memory one
    /// in tests. Note `keyring::mock` keeps each secret inside its `Entry`
    /// object only, so with it a `load` after `save` reports `Missing`.
    pub fn with_credential_builder(
        service: impl Into<String>,
        builder: Box<CredentialBuilder>,
    ) -> Self {
        Self {
            service: service.into(),
            builder: Some(builder),
        }
    }

    /// The keyring service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn user(ws: &WorkspaceId, which: &str) -> String {
        format!("{}/{which}", ws.to_hex())
    }

    fn entry(&self, ws: &WorkspaceId, which: &str) -> Result<(Entry, String), SecretError> {
        let user = Self::user(ws, which);
        let entry = match &self.builder {
            None => Entry::new(&self.service, &user),
            Some(b) => b
                .build(None, &self.service, &user)
                .map(Entry::new_with_credential),
        }
        .map_err(|e| self.classify(ws, &user, e))?;
        Ok((entry, user))
    }

    /// Maps a keyring error to what the user should be told.
    fn classify(&self, ws: &WorkspaceId, entry: &str, err: keyring::Error) -> SecretError {
        match err {
            keyring::Error::NoEntry => SecretError::Missing {
                workspace: *ws,
                entry: entry.to_owned(),
                store: format!("this keyring ({})", self.describe()),
            },
            // Locked keyring, dismissed unlock prompt, access rules.
            keyring::Error::NoStorageAccess(e) => SecretError::NoKeyring {
                detail: format!(
                    "{} refused access: it is locked, or no default keyring exists yet ({e})",
                    self.describe()
                ),
            },
            keyring::Error::PlatformFailure(e) if platform_unavailable(e.as_ref()) => {
                SecretError::NoKeyring {
                    detail: format!("{} is not reachable ({e})", self.describe()),
                }
            }
            other => SecretError::Keyring {
                entry: entry.to_owned(),
                store: self.describe(),
                source: other,
            },
        }
    }

    fn get_key(&self, ws: &WorkspaceId, which: &str) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let (entry, user) = self.entry(ws, which)?;
        let bytes = Zeroizing::new(
            entry
                .get_secret()
                .map_err(|e| self.classify(ws, &user, e))?,
        );
        if bytes.len() != 32 {
            return Err(SecretError::BadEntry {
                entry: user,
                len: bytes.len(),
            });
        }
        Ok(bytes)
    }
}

/// True if a keyring platform error means "there is no keyring here" rather
/// than "the keyring failed". On Linux that is a D-Bus-level failure to reach
/// a Secret Service provider: no session bus (libdbus cannot autolaunch one
/// without `$DISPLAY`), or a bus where nobody owns `org.freedesktop.secrets`.
/// Errors the provider itself returns are real failures and stay visible.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn platform_unavailable(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    const UNREACHABLE: &[&str] = &[
        "org.freedesktop.DBus.Error.NotSupported",
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.NoServer",
        "org.freedesktop.DBus.Error.NoNetwork",
        "org.freedesktop.DBus.Error.FileNotFound",
        "org.freedesktop.DBus.Error.BadAddress",
        "org.freedesktop.DBus.Error.Disconnected",
        "org.freedesktop.DBus.Error.AuthFailed",
        "org.freedesktop.DBus.Error.NoReply",
        "org.freedesktop.DBus.Error.Timeout",
        "org.freedesktop.DBus.Error.TimedOut",
    ];
    match e.downcast_ref::<dbus_secret_service::Error>() {
        Some(dbus_secret_service::Error::Unavailable) => true,
        Some(dbus_secret_service::Error::Dbus(d)) => d.name().is_some_and(|n| {
            UNREACHABLE.contains(&n) || n.starts_with("org.freedesktop.DBus.Error.Spawn.")
        }),
        _ => false,
    }
}

/// On macOS and Windows the keychain / credential manager is part of the OS,
/// so every platform failure is a real failure worth showing as is.
#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
fn platform_unavailable(_e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    false
}

impl SecretStore for KeyringStore {
    fn save(&self, ws: &WorkspaceId, s: &WorkspaceSecrets) -> Result<(), SecretError> {
        let (wk_entry, wk_user) = self.entry(ws, WORKSPACE_KEY_ENTRY)?;
        let (dk_entry, dk_user) = self.entry(ws, DEVICE_KEY_ENTRY)?;
        // Remember what the first entry held, so a failure on the second can
        // put it back: a half-written pair would pair a new workspace key
        // with an old device key, or leave a key nobody can find.
        let previous = wk_entry.get_secret().ok().map(Zeroizing::new);
        wk_entry
            .set_secret(s.workspace_key.expose_secret())
            .map_err(|e| self.classify(ws, &wk_user, e))?;
        if let Err(e) = dk_entry.set_secret(s.device_key.expose_seed()) {
            // Best effort: if the keyring just failed, the rollback may fail
            // too; the error reported is the one that caused it.
            let _ = match &previous {
                Some(old) => wk_entry.set_secret(old),
                None => wk_entry.delete_credential(),
            };
            return Err(self.classify(ws, &dk_user, e));
        }
        Ok(())
    }

    fn load(&self, ws: &WorkspaceId) -> Result<WorkspaceSecrets, SecretError> {
        let wk = self.get_key(ws, WORKSPACE_KEY_ENTRY)?;
        let seed = self.get_key(ws, DEVICE_KEY_ENTRY)?;
        Ok(secrets_from_halves(&wk, &seed))
    }

    fn delete(&self, ws: &WorkspaceId) -> Result<(), SecretError> {
        let mut first_err = None;
        for which in [WORKSPACE_KEY_ENTRY, DEVICE_KEY_ENTRY] {
            let result =
                self.entry(ws, which)
                    .and_then(|(entry, user)| match entry.delete_credential() {
                        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                        Err(e) => Err(self.classify(ws, &user, e)),
                    });
            // Try both entries even if the first fails, so as much as
            // possible is removed; report the first failure.
            if let Err(e) = result {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn describe(&self) -> String {
        let backend = if self.builder.is_some() {
            "custom credential store"
        } else if cfg!(target_os = "macos") {
            "OS keyring (macOS Keychain)"
        } else if cfg!(target_os = "windows") {
            "OS keyring (Windows Credential Manager)"
        } else {
            "OS keyring (Secret Service)"
        };
        format!("{backend}, service `{}`", self.service)
    }
}

#[cfg(test)]
mod tests {
    use std::any::Any;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use keyring::credential::{Credential, CredentialApi, CredentialBuilderApi};

    use super::*;

    type Shared = Arc<Mutex<HashMap<String, Vec<u8>>>>;

    /// An in-memory keyring that, unlike `keyring::mock`, persists across
    /// `Entry` objects and can be told to fail writes to one user.
    #[derive(Default, Clone)]
    struct MemKeyring {
        items: Shared,
        fail_set_for: Arc<Mutex<Option<String>>>,
    }

    struct MemCred {
        user: String,
        ring: MemKeyring,
    }

    impl CredentialApi for MemCred {
        fn set_secret(&self, secret: &[u8]) -> keyring::Result<()> {
            if self.ring.fail_set_for.lock().unwrap().as_deref() == Some(&self.user) {
                return Err(keyring::Error::PlatformFailure("injected failure".into()));
            }
            self.ring
                .items
                .lock()
                .unwrap()
                .insert(self.user.clone(), secret.to_vec());
            Ok(())
        }
        fn get_secret(&self) -> keyring::Result<Vec<u8>> {
            self.ring
                .items
                .lock()
                .unwrap()
                .get(&self.user)
                .cloned()
                .ok_or(keyring::Error::NoEntry)
        }
        fn delete_credential(&self) -> keyring::Result<()> {
            self.ring
                .items
                .lock()
                .unwrap()
                .remove(&self.user)
                .map(|_| ())
                .ok_or(keyring::Error::NoEntry)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn debug_fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "MemCred({})", self.user)
        }
    }

    impl CredentialBuilderApi for MemKeyring {
        fn build(
            &self,
            _t: Option<&str>,
            _s: &str,
            user: &str,
        ) -> keyring::Result<Box<Credential>> {
            Ok(Box::new(MemCred {
                user: user.to_owned(),
                ring: self.clone(),
            }))
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn store() -> (KeyringStore, MemKeyring) {
        let ring = MemKeyring::default();
        (
            KeyringStore::with_credential_builder("weft-unit", Box::new(ring.clone())),
            ring,
        )
    }

    #[test]
    fn round_trip_uses_two_named_entries() {
        let (store, ring) = store();
        let ws = WorkspaceId::random();
        let s = WorkspaceSecrets::generate();
        store.save(&ws, &s).unwrap();
        let items = ring.items.lock().unwrap().clone();
        let wk_user = format!("{}/workspace-key", ws.to_hex());
        let dk_user = format!("{}/device-key", ws.to_hex());
        assert_eq!(
            items.get(&wk_user).unwrap(),
            s.workspace_key.expose_secret()
        );
        assert_eq!(items.get(&dk_user).unwrap(), s.device_key.expose_seed());

        let back = store.load(&ws).unwrap();
        assert_eq!(
            back.workspace_key.expose_secret(),
            s.workspace_key.expose_secret()
        );
        assert_eq!(back.device_key.device_id(), s.device_key.device_id());

        store.delete(&ws).unwrap();
        assert!(ring.items.lock().unwrap().is_empty());
        store.delete(&ws).unwrap(); // idempotent
        let err = store.load(&ws).unwrap_err();
        match &err {
            SecretError::Missing {
                workspace, entry, ..
            } => {
                assert_eq!(workspace, &ws);
                assert_eq!(entry, &wk_user);
            }
            other => panic!("expected Missing, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&wk_user) && msg.contains("not in this keyring"),
            "{msg}"
        );
    }

    #[test]
    fn failed_second_write_leaves_no_half_pair() {
        let (store, ring) = store();
        let ws = WorkspaceId::random();
        *ring.fail_set_for.lock().unwrap() = Some(format!("{}/device-key", ws.to_hex()));
        let err = store.save(&ws, &WorkspaceSecrets::generate()).unwrap_err();
        assert!(matches!(err, SecretError::Keyring { .. }), "{err:?}");
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert!(
            ring.items.lock().unwrap().is_empty(),
            "first entry left behind"
        );
    }

    #[test]
    fn failed_second_write_restores_the_previous_pair() {
        let (store, ring) = store();
        let ws = WorkspaceId::random();
        let old = WorkspaceSecrets::generate();
        store.save(&ws, &old).unwrap();
        *ring.fail_set_for.lock().unwrap() = Some(format!("{}/device-key", ws.to_hex()));
        store.save(&ws, &WorkspaceSecrets::generate()).unwrap_err();
        *ring.fail_set_for.lock().unwrap() = None;
        let back = store.load(&ws).unwrap();
        assert_eq!(
            back.workspace_key.expose_secret(),
            old.workspace_key.expose_secret()
        );
        assert_eq!(back.device_key.device_id(), old.device_key.device_id());
    }

    #[test]
    fn an_entry_of_the_wrong_length_is_reported_not_truncated() {
        let (store, ring) = store();
        let ws = WorkspaceId::random();
        store.save(&ws, &WorkspaceSecrets::generate()).unwrap();
        ring.items
            .lock()
            .unwrap()
            .insert(format!("{}/device-key", ws.to_hex()), b"hunter2".to_vec());
        let err = store.load(&ws).unwrap_err();
        assert!(
            matches!(err, SecretError::BadEntry { len: 7, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn keyring_mock_backend_keeps_nothing_between_entries() {
        // keyring::mock stores a secret inside one Entry object; KeyringStore
        // makes fresh entries per call, so with it a save is not loadable.
        // This pins that documented behaviour (and the NoEntry mapping).
        let store = KeyringStore::with_credential_builder(
            "weft-mock",
            keyring::mock::default_credential_builder(),
        );
        let ws = WorkspaceId::random();
        store.save(&ws, &WorkspaceSecrets::generate()).unwrap();
        assert!(matches!(store.load(&ws), Err(SecretError::Missing { .. })));
    }

    #[test]
    fn describe_names_the_service() {
        assert!(
            KeyringStore::new("weft")
                .describe()
                .contains("service `weft`")
        );
        let (store, _) = store();
        assert!(store.describe().contains("weft-unit"));
    }
}
