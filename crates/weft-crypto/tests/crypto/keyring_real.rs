//! KeyringStore against the real platform keyring.
//!
//! These need a Secret Service on the session bus (on Linux). They run only
//! when `WEFT_TEST_KEYRING=1`, and then must pass: the Makefile sets it and
//! runs the tests under `dbus-run-session` with an unlocked gnome-keyring.
//! Without it they print that they were skipped.

use std::sync::Mutex;

use weft_core::WorkspaceId;
use weft_crypto::{KeyringStore, SecretError, SecretStore, WorkspaceSecrets};

/// The Secret Service client is not safe against concurrent use from many
/// threads of one process (keyring's docs), and libtest runs tests in
/// parallel threads: one test at a time talks to the keyring.
static KEYRING: Mutex<()> = Mutex::new(());

fn enabled(test: &str) -> bool {
    if std::env::var("WEFT_TEST_KEYRING").as_deref() == Ok("1") {
        true
    } else {
        eprintln!(
            "keyring_real::{test}: skipped (set WEFT_TEST_KEYRING=1 to run against the OS keyring)"
        );
        false
    }
}

/// A service name no other run (or the real app's "weft") uses.
fn unique_service() -> String {
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    format!("weft-test-{}-{}", std::process::id(), hex::encode(r))
}

/// Removes this test's entries even if an assertion fails midway.
struct Cleanup<'a>(&'a KeyringStore, WorkspaceId);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.0.delete(&self.1);
    }
}

#[test]
fn stores_reads_and_deletes_real_entries() {
    if !enabled("stores_reads_and_deletes_real_entries") {
        return;
    }
    let _guard = KEYRING.lock().unwrap_or_else(|e| e.into_inner());
    let service = unique_service();
    let store = KeyringStore::new(service.clone());
    let ws = WorkspaceId::random();
    let _cleanup = Cleanup(&store, ws);
    let s = WorkspaceSecrets::generate();

    store
        .save(&ws, &s)
        .unwrap_or_else(|e| panic!("saving to the OS keyring failed: {e}"));

    // The entries are where the documentation says, holding the raw keys.
    let raw = |which: &str| {
        keyring::Entry::new(&service, &format!("{}/{which}", ws.to_hex()))
            .unwrap()
            .get_secret()
    };
    assert_eq!(
        &raw("workspace-key").unwrap()[..],
        s.workspace_key.expose_secret()
    );
    assert_eq!(&raw("device-key").unwrap()[..], s.device_key.expose_seed());

    // A new store object (as in a new process) reads them back.
    let back = KeyringStore::new(service.clone())
        .load(&ws)
        .unwrap_or_else(|e| panic!("loading from the OS keyring failed: {e}"));
    assert_eq!(
        back.workspace_key.expose_secret(),
        s.workspace_key.expose_secret()
    );
    assert_eq!(back.device_key.device_id(), s.device_key.device_id());

    // Replacing works and keeps one entry per key.
    let s2 = WorkspaceSecrets::generate();
    store.save(&ws, &s2).unwrap();
    assert_eq!(
        store.load(&ws).unwrap().device_key.device_id(),
        s2.device_key.device_id()
    );

    store.delete(&ws).unwrap();
    assert!(matches!(raw("workspace-key"), Err(keyring::Error::NoEntry)));
    assert!(matches!(raw("device-key"), Err(keyring::Error::NoEntry)));
    assert!(matches!(store.load(&ws), Err(SecretError::Missing { .. })));
    store.delete(&ws).unwrap(); // deleting again is fine
}

#[test]
fn a_missing_entry_is_missing_and_named() {
    if !enabled("a_missing_entry_is_missing_and_named") {
        return;
    }
    let _guard = KEYRING.lock().unwrap_or_else(|e| e.into_inner());
    let store = KeyringStore::new(unique_service());
    let ws = WorkspaceId::random();
    let err = store.load(&ws).unwrap_err();
    match &err {
        SecretError::Missing {
            workspace, entry, ..
        } => {
            assert_eq!(workspace, &ws);
            assert_eq!(entry, &format!("{}/workspace-key", ws.to_hex()));
        }
        other => panic!("expected Missing from a working keyring, got: {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("not in this keyring") && msg.contains(&ws.to_hex()),
        "{msg}"
    );
}

/// Environment variable that turns [`no_bus_child`] from a no-op into the check.
#[cfg(target_os = "linux")]
const CHILD_MARKER: &str = "WEFT_TEST_NO_BUS_CHILD";

/// Runs [`no_bus_child`] in a child process with every way of finding a
/// session bus removed. A child, because the bus address comes from the
/// environment, which a test must not change in its own (multi-threaded)
/// process. Deterministic: libdbus then can only try to autolaunch a bus,
/// which needs `$DISPLAY`.
#[cfg(target_os = "linux")]
#[test]
fn without_a_session_bus_the_error_is_no_keyring() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "keyring_real::no_bus_child",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MARKER, "1")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // Guard against the child silently running zero tests.
    assert!(stdout.contains("1 passed"), "child ran no test:\n{stdout}");
    assert!(
        stderr.contains("no-bus check ran"),
        "child skipped the check:\n{stderr}"
    );
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "helper: run in a child process by without_a_session_bus_the_error_is_no_keyring"]
fn no_bus_child() {
    if std::env::var(CHILD_MARKER).as_deref() != Ok("1") {
        return;
    }
    eprintln!("no-bus check ran");
    let store = KeyringStore::new(unique_service());
    let ws = WorkspaceId::random();
    for (op, result) in [
        (
            "save",
            store.save(&ws, &WorkspaceSecrets::generate()).map(|_| ()),
        ),
        ("load", store.load(&ws).map(|_| ())),
    ] {
        match result {
            Err(SecretError::NoKeyring { detail }) => {
                assert!(!detail.is_empty());
            }
            other => panic!("{op} without a session bus: expected NoKeyring, got {other:?}"),
        }
    }
    let msg = store.load(&ws).unwrap_err().to_string();
    eprintln!("no-bus error as the user sees it: {msg}");
    assert!(msg.contains("weft init --passphrase"), "{msg}");
}
