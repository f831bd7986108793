//! The passphrase-protected key file, on a real filesystem.

use std::path::Path;

use weft_core::WorkspaceId;
use weft_crypto::{
    KdfParams, PassphraseFile, SecretError, SecretStore, WorkspaceSecrets, Zeroizing,
};

/// Argon2id at its minimum cost: the format and error handling are under
/// test here, not the KDF's strength.
const CHEAP: KdfParams = KdfParams {
    m_cost_kib: 8,
    t_cost: 1,
    p_cost: 1,
};

fn file(path: &Path, pass: &str) -> PassphraseFile {
    PassphraseFile::new(path.to_owned(), Zeroizing::new(pass.to_owned())).with_params(CHEAP)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("ws.key"); // parent is created
    let store = file(&path, "correct horse battery staple");
    let ws = WorkspaceId::random();
    let s = WorkspaceSecrets::generate();
    store.save(&ws, &s).unwrap();

    // A fresh store object (as after a restart) reads it back.
    let back = file(&path, "correct horse battery staple")
        .load(&ws)
        .unwrap();
    assert_eq!(
        back.workspace_key.expose_secret(),
        s.workspace_key.expose_secret()
    );
    assert_eq!(back.device_key.device_id(), s.device_key.device_id());
    assert!(store.describe().contains(&path.display().to_string()));

    // Saving again (e.g. a passphrase change) replaces the file cleanly and
    // leaves no temporary files behind.
    let renamed = file(&path, "new passphrase");
    renamed.save(&ws, &s).unwrap();
    // The new passphrase opens the same keys, not merely some file.
    let again = renamed.load(&ws).unwrap();
    assert_eq!(
        again.workspace_key.expose_secret(),
        s.workspace_key.expose_secret()
    );
    assert_eq!(again.device_key.device_id(), s.device_key.device_id());
    assert!(matches!(
        store.load(&ws),
        Err(SecretError::WrongPassphrase { .. })
    ));
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("ws.key")]);
}

#[test]
fn default_params_load_too() {
    // The real (OWASP) parameters: one save and load, to prove they are valid.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let store = PassphraseFile::new(path.clone(), Zeroizing::new("pw".to_owned()));
    let ws = WorkspaceId::random();
    let s = WorkspaceSecrets::generate();
    store.save(&ws, &s).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[8..12], &(19u32 * 1024).to_be_bytes());
    assert_eq!(
        store.load(&ws).unwrap().device_key.device_id(),
        s.device_key.device_id()
    );
}

#[test]
fn wrong_passphrase_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let ws = WorkspaceId::random();
    file(&path, "right")
        .save(&ws, &WorkspaceSecrets::generate())
        .unwrap();
    let err = file(&path, "wrong").load(&ws).unwrap_err();
    match &err {
        SecretError::WrongPassphrase { path: p } => assert_eq!(p, &path),
        other => panic!("expected WrongPassphrase, got {other:?}"),
    }
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
}

#[test]
fn missing_file_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.key");
    let ws = WorkspaceId::random();
    let err = file(&path, "pw").load(&ws).unwrap_err();
    assert!(
        matches!(err, SecretError::Missing { workspace, .. } if workspace == ws),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    // Deleting what is not there succeeds.
    file(&path, "pw").delete(&ws).unwrap();
}

#[test]
fn truncated_garbled_or_foreign_files_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let ws = WorkspaceId::random();
    let store = file(&path, "pw");
    store.save(&ws, &WorkspaceSecrets::generate()).unwrap();
    let good = std::fs::read(&path).unwrap();

    let corrupt = |bytes: &[u8], expect_detail: &str| {
        std::fs::write(&path, bytes).unwrap();
        match store.load(&ws) {
            Err(SecretError::Corrupt { path: p, detail }) => {
                assert_eq!(p, path);
                assert!(detail.contains(expect_detail), "{detail}");
            }
            other => panic!("expected Corrupt ({expect_detail}), got {other:?}"),
        }
    };
    corrupt(&good[..good.len() - 1], "exactly 160 bytes");
    corrupt(&good[..10], "exactly 160 bytes");
    corrupt(b"", "not a weft key file");
    corrupt(b"-----BEGIN PRIVATE KEY-----", "not a weft key file");
    let mut longer = good.clone();
    longer.push(0);
    corrupt(&longer, "longer");
    let mut v2 = good.clone();
    v2[7] = b'2';
    corrupt(&v2, "newer weft");
    // Hostile Argon2 parameters are refused before any memory is allocated.
    let mut huge = good.clone();
    huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    corrupt(&huge, "exceed the limits");
    let mut zero_iterations = good.clone();
    zero_iterations[12..16].copy_from_slice(&0u32.to_be_bytes());
    corrupt(&zero_iterations, "unusable Argon2id parameters");

    // A flipped bit in the salt, params or ciphertext cannot be told apart
    // from a wrong passphrase (that is the point of the AEAD), and must not
    // yield keys.
    for i in [11, 25, 60, 100, 159] {
        let mut flipped = good.clone();
        flipped[i] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(
            matches!(store.load(&ws), Err(SecretError::WrongPassphrase { .. })),
            "byte {i}"
        );
    }
}

#[test]
fn a_file_of_another_workspace_is_neither_loaded_nor_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let (a, b) = (WorkspaceId::random(), WorkspaceId::random());
    let store = file(&path, "pw");
    store.save(&a, &WorkspaceSecrets::generate()).unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        store.load(&b),
        Err(SecretError::WrongWorkspace { expected, found, .. }) if expected == b && found == a
    ));
    assert!(matches!(
        store.save(&b, &WorkspaceSecrets::generate()),
        Err(SecretError::WrongWorkspace { .. })
    ));
    assert!(matches!(
        store.delete(&b),
        Err(SecretError::WrongWorkspace { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    store.delete(&a).unwrap();
    assert!(!path.exists());
}

#[test]
fn the_file_holds_no_plaintext_key_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let ws = WorkspaceId::random();
    let s = WorkspaceSecrets::generate();
    file(&path, "pw").save(&ws, &s).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 160);
    assert!(bytes.starts_with(b"WEFTKEY1"));
    for secret in [s.workspace_key.expose_secret(), s.device_key.expose_seed()] {
        assert!(!contains(&bytes, secret));
        // Not even a recognisable fragment.
        assert!(!contains(&bytes, &secret[..8]));
        assert!(!contains(&bytes, hex::encode(secret).as_bytes()));
    }
    // The workspace id is in the clear (it is not secret).
    assert!(contains(&bytes, ws.as_bytes()));
}

#[cfg(unix)]
#[test]
fn the_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("ws.key");
    let ws = WorkspaceId::random();
    file(&path, "pw")
        .save(&ws, &WorkspaceSecrets::generate())
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "file mode {mode:o}");
    let dmode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dmode & 0o077, 0, "created directory mode {dmode:o}");
}

#[test]
fn an_empty_passphrase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let err = file(&path, "")
        .save(&WorkspaceId::random(), &WorkspaceSecrets::generate())
        .unwrap_err();
    assert!(matches!(err, SecretError::EmptyPassphrase), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn invalid_kdf_params_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.key");
    let store =
        PassphraseFile::new(path.clone(), Zeroizing::new("pw".to_owned())).with_params(KdfParams {
            m_cost_kib: 1,
            t_cost: 1,
            p_cost: 1,
        });
    let err = store
        .save(&WorkspaceId::random(), &WorkspaceSecrets::generate())
        .unwrap_err();
    assert!(
        matches!(err, SecretError::Kdf { m_cost_kib: 1, .. }),
        "{err:?}"
    );
    assert!(!path.exists());
}
