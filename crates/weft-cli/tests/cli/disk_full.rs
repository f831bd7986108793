//! A full disk, for real: the workspace lives on a small tmpfs mounted for the test and
//! filled to the brim. A write fails with one clear error and changes nothing, the
//! workspace stays readable, and the same write works once space is freed; a running
//! daemon receiving changes survives it and catches up.
//!
//! Mounting needs root (CI runs as root). Without it the tests say why and pass, unless
//! `WEFT_REQUIRE_ROOT=1` (set by `make test`), which makes them fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Home, PASSPHRASE};
use crate::net::{daemon, daemon_logged, signal, wait_exit};

struct Tmpfs {
    dir: tempfile::TempDir,
}

/// From /proc: the tests forbid unsafe code, so no geteuid().
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

impl Tmpfs {
    /// A tmpfs of `size` (e.g. "16m"), or None when this machine cannot mount one and
    /// `WEFT_REQUIRE_ROOT=1` is not set.
    fn mount_or_skip(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let why = if effective_uid() != Some(0) {
            Some("mounting a tmpfs needs root".to_owned())
        } else {
            match Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
                .arg("tmpfs")
                .arg(dir.path())
                .output()
            {
                Ok(o) if o.status.success() => None,
                Ok(o) => Some(format!(
                    "mount -t tmpfs failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Some(format!("`mount` is not runnable: {e}")),
            }
        };
        match why {
            None => Some(Tmpfs { dir }),
            Some(why) if std::env::var("WEFT_REQUIRE_ROOT").is_ok_and(|v| v == "1") => {
                panic!("{why}, and WEFT_REQUIRE_ROOT=1: the full-disk tests must run")
            }
            Some(why) => {
                eprintln!(
                    "skipped: {why} (run as root, or set WEFT_REQUIRE_ROOT=1 to fail instead)"
                );
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system with a filler file until a write fails with ENOSPC.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0u8; chunk];
            loop {
                match f.write_all(&buf) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                    Err(e) => panic!("filling: {e}"),
                }
            }
        }
        f.sync_all().ok();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

fn passphrase_home(at: &Path) -> Home {
    let mut h = Home::at(at);
    h.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
    h
}

fn integrity(h: &Home) -> String {
    h.db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_write_on_a_full_disk_fails_clearly_and_works_once_space_is_freed() {
    let Some(fs) = Tmpfs::mount_or_skip("8m") else {
        return;
    };
    let home = fs.path().join("weft");
    let h = passphrase_home(&home);
    h.run(&["init", "--name", "T", "--passphrase"]).ok();
    h.note("Before", "", "written before the disk filled\n");
    h.record("Rec", r#"{"n": 1}"#);
    let before = h.fingerprint();
    let filler = fs.fill();

    let big = "a paragraph that will not fit. ".repeat(4000);
    let want = format!("the disk holding {} is full", home.display());
    for r in [
        h.run_stdin(&["new", "note", "Big", "--stdin"], &big),
        h.run(&["set", "Rec", "/n", "2"]),
    ] {
        assert_eq!(r.out.status.code(), Some(1), "{}", r.stderr());
        let err = r.stderr();
        assert!(err.contains(&want), "{err}");
        assert_eq!(err.matches("error:").count(), 1, "said once: {err}");
    }
    let r = h.run_stdin(
        &["patch", "Rec", "-", "--json"],
        r#"[{"op": "replace", "path": "/n", "value": 2}]"#,
    );
    assert_eq!(r.out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(r.stderr().trim()).unwrap();
    assert_eq!(v["code"], "disk_full", "{v}");
    // Everything reads.
    let ls = h.run(&["ls"]).ok().stdout();
    assert!(
        ls.contains("Before") && ls.contains("Rec") && !ls.contains("Big"),
        "{ls}"
    );
    assert_eq!(h.show("Before"), "written before the disk filled\n");
    assert_eq!(h.show_json("Rec")["json"], serde_json::json!({"n": 1}));

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(h.fingerprint(), before, "the failed writes changed nothing");
    h.run_stdin(&["new", "note", "Big", "--stdin"], &big).ok();
    h.run(&["set", "Rec", "/n", "2"]).ok();
    assert_eq!(h.show("Big").trim_end(), big.trim_end());
    assert_eq!(h.show_json("Rec")["json"], serde_json::json!({"n": 2}));
    assert_eq!(h.show("Before"), "written before the disk filled\n");
    assert_eq!(integrity(&h), "ok");
}

/// Polls `f` until it is true or `secs` pass.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_daemon_receiving_changes_survives_a_full_disk_and_catches_up() {
    let Some(fs) = Tmpfs::mount_or_skip("16m") else {
        return;
    };
    let a = Home::new();
    a.note("First", "", "synced before\n");
    let mut da = daemon(&a);
    let code = a.invite_code();
    let code = code.as_str();

    let b = passphrase_home(&fs.path().join("weft"));
    b.run(&[
        "join",
        code,
        "--passphrase",
        "--timeout",
        "20",
        "--port",
        "0",
        "--no-mdns",
    ])
    .ok();
    assert_eq!(b.show("First"), "synced before\n");
    let (mut db, b_log) = daemon_logged(&b);
    a.note("Second", "", "live\n");
    eventually(30, "B's daemon receives Second", || {
        b.run(&["show", "Second"]).out.status.success()
    });

    let filler = fs.fill();
    // Changes bigger than anything B's log holds, so they need new space.
    let big = "a change that does not fit on B's disk. ".repeat(20_000);
    a.run_stdin(&["new", "note", "Big", "--stdin"], &big).ok();
    a.note("After", "", "sent while B's disk was full\n");
    // B's daemon tries and fails to store them, saying why; it stays up, and B reads.
    let want = format!("the disk holding {} is full", b.path().display());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match b_log.recv_timeout(left) {
            Ok(l) if l.contains(&want) => break,
            Ok(_) => {}
            Err(_) => panic!("B's daemon never said its disk was full"),
        }
    }
    assert!(
        db.try_wait().unwrap().is_none(),
        "B's daemon is still running"
    );
    let ls = b.run(&["ls"]).ok().stdout();
    assert!(ls.contains("First") && ls.contains("Second"), "{ls}");
    assert!(!ls.contains("Big"), "{ls}");

    std::fs::remove_file(&filler).unwrap();
    eventually(60, "B catches up once space is freed", || {
        b.run(&["show", "After"]).out.status.success()
    });
    assert_eq!(b.show("Big").trim_end(), big.trim_end());
    assert_eq!(b.show("Second"), "live\n");
    assert!(
        db.try_wait().unwrap().is_none(),
        "B's daemon is still running"
    );
    assert_eq!(integrity(&b), "ok");
    for d in [&mut da, &mut db] {
        signal(d, "-TERM");
        assert_eq!(wait_exit(d).code(), Some(0));
    }
}
