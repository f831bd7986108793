//! The workspace home is private to its owner: 0700, and every file in it 0600.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{Home, PASSPHRASE};
use crate::net::{daemon, signal, wait_exit};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn a_fresh_workspace_and_a_running_node_keep_their_files_private() {
    let mut h = Home::unmade();
    h.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
    let r = h.run(&["init", "--name", "T", "--passphrase"]).ok();
    assert!(!r.stderr().contains("warning"), "{}", r.stderr());
    assert_eq!(mode(h.path()), 0o700, "the home");
    assert_eq!(mode(&h.path().join("weft.db")), 0o600);
    assert_eq!(mode(&h.path().join("keys.weftkey")), 0o600);
    h.note("N", "", "text");

    // While a node runs, SQLite keeps its -wal and -shm files open beside the database
    // and the node its lock file.
    let mut d = daemon(&h);
    for f in ["weft.db", "weft.db-wal", "weft.db-shm", "node.lock"] {
        assert_eq!(mode(&h.path().join(f)), 0o600, "{f}");
    }
    let r = h.run(&["ls"]).ok();
    assert!(!r.stderr().contains("warning"), "{}", r.stderr());
    signal(&d, "-TERM");
    assert_eq!(wait_exit(&mut d).code(), Some(0));
}

#[test]
fn a_home_others_can_read_is_named_with_the_chmod_that_fixes_it() {
    let h = Home::new();
    std::fs::set_permissions(h.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = h.path().join("weft.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = h.run(&["ls"]).ok();
    let err = r.stderr();
    let home = h.path().display().to_string();
    assert!(
        err.contains(&format!(
            "warning: {home} is open to other users of this machine (mode 0755); `chmod 700 {home}` makes it private"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("(mode 0644); `chmod 600 {}`", db.display())),
        "{err}"
    );
    assert_eq!(err.matches("warning:").count(), 2, "each once:\n{err}");
    // The warning is advice: nothing is changed behind the user's back.
    assert_eq!(mode(h.path()), 0o755);
}
