//! Devices and a real `weft-relay` process on loopback, mDNS off: two
//! devices that are never online together converge through it, and a
//! member deletes the workspace from it. (tests/lan runs the same across
//! network namespaces with no path between the devices.)

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Home, PASSPHRASE};

/// The relay binary, built beside `weft` (`cargo nextest run --workspace`
/// builds it; with `-p weft-cli` alone, `cargo build -p weft-relay` first).
fn relay_bin() -> PathBuf {
    let weft = crate::harness::weft_bin();
    let p = weft.with_file_name("weft-relay");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p weft-relay` (make test builds it)",
        p.display()
    );
    p
}

pub struct Relay {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Relay {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, 0)
    }

    /// In `dir` (its identity and database), on `port` (0: any).
    pub fn start_in(dir: tempfile::TempDir, port: u16) -> Self {
        Self::start_with(dir, port, &[])
    }

    /// With more flags.
    pub fn start_with(dir: tempfile::TempDir, port: u16, extra: &[&str]) -> Self {
        let listen = format!("/ip4/127.0.0.1/tcp/{port}");
        let mut child = Command::new(relay_bin())
            .args(["--listen", &listen, "--http", "off"])
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let mut addr = None;
        for line in out.lines().map_while(Result::ok) {
            if let Some(a) = line.trim().strip_prefix("weft relay add ") {
                addr = Some(a.to_owned());
                break;
            }
        }
        let addr = addr.expect("weft-relay printed no address to add");
        Self { child, addr, dir }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("relay.db")).unwrap()
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < end, "the relay did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NET: [&str; 3] = ["--no-mdns", "--port", "0"];

fn sync_once(h: &Home) -> String {
    let mut args = vec!["sync", "--once", "--timeout", "20"];
    args.extend(NET);
    h.run(&args).ok().stderr()
}

#[test]
fn devices_that_are_never_online_together_converge_through_a_relay() {
    let mut relay = Relay::start();
    let a = Home::new();
    a.note("Plan", "", "written on A before the relay");
    let added = a.run(&["relay", "add", &relay.addr]).ok().stderr();
    assert!(added.contains("Added relay"), "{added}");
    assert!(added.contains("last in sync"), "{added}");
    // The relay holds ciphertext only: the note's words are not in its file.
    let rows: i64 = relay
        .db()
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert!(rows > 0, "A's changes did not reach the relay");
    let file = std::fs::read(relay.dir.path().join("relay.db")).unwrap();
    let wal = std::fs::read(relay.dir.path().join("relay.db-wal")).unwrap_or_default();
    for bytes in [&file, &wal] {
        assert!(
            !bytes.windows(5).any(|w| w == b"Plan!" || w == b"relay"),
            "plaintext in the relay's database"
        );
    }

    // B joins from an invite while A is offline: the code carries the
    // relay, and B pulls everything from it.
    let b = Home::joined(&a.invite_code(), "20");
    assert!(b.show("Plan").contains("written on A before the relay"));

    // B edits and leaves; A comes back and gets it from the relay alone.
    b.note("Reply", "", "from B while A was away");
    let s = sync_once(&b);
    assert!(s.contains("synced with 1 device"), "{s}");
    let s = sync_once(&a);
    assert!(s.contains("synced with 1 device"), "{s}");
    assert!(a.show("Reply").contains("from B while A was away"));

    // Both list the relay as in sync, and `weft status` says so.
    let ls = a.run(&["relay", "ls", "--json"]).ok().json();
    assert_eq!(ls[0]["addr"], relay.addr.as_str(), "{ls}");
    assert!(ls[0]["last_sync_ms"].as_i64().is_some(), "{ls}");
    assert_eq!(ls[0]["status"], "", "{ls}");
    let st = b.run(&["status"]).ok().stdout();
    assert!(st.contains(&format!("relay      {}", relay.addr)), "{st}");

    // SIGTERM drains and exits 0, and a restarted relay still has it all.
    assert_eq!(relay.stop().code(), Some(0));
    let before: i64 = relay
        .db()
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    let dir = std::mem::replace(&mut relay.dir, tempfile::tempdir().unwrap());
    let port: u16 = relay.addr.split('/').nth(4).unwrap().parse().unwrap();
    let relay2 = Relay::start_in(dir, port);
    assert_eq!(relay2.addr, relay.addr, "the relay's identity changed");
    let after: i64 = relay2
        .db()
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(before, after);
    let s = sync_once(&a);
    assert!(s.contains("synced with 1 device"), "{s}");
}

#[test]
fn forget_deletes_the_workspace_from_the_relay() {
    let relay = Relay::start();
    let a = Home::new();
    a.note("Secret plans", "", "to be deleted from the relay");
    a.run(&["relay", "add", &relay.addr]).ok();
    let count = |sql: &str| -> i64 { relay.db().query_row(sql, [], |r| r.get(0)).unwrap() };
    assert!(count("SELECT COUNT(*) FROM changes") > 0);
    let out = a.run(&["relay", "forget", &relay.addr]).ok().stderr();
    assert!(out.contains("deleted this workspace"), "{out}");
    for t in ["changes", "heads", "workspaces"] {
        assert_eq!(
            count(&format!("SELECT COUNT(*) FROM {t}")),
            0,
            "rows left in {t}"
        );
    }
    // This device no longer uses it, and its invite no longer names it.
    let ls = a.run(&["relay", "ls", "--json"]).ok().json();
    assert_eq!(ls.as_array().map(Vec::len), Some(0), "{ls}");
    // Forgetting a relay that is not configured is an error naming it.
    a.run(&["relay", "forget", &relay.addr])
        .fails_with("is not a relay of this workspace");
    // The relay keeps a tombstone of what was forgotten: another device of
    // the workspace adding it does not silently bring the workspace back
    // (only the relay's operator can, with `weft-relay --unforget`).
    let b = Home::empty();
    let mut join = b.command();
    // A's invite no longer names the relay; B adds it by hand.
    let code_after = a.invite_code();
    join.args(["join", &code_after, "--passphrase", "--timeout", "1"])
        .args(NET)
        .env("WEFT_PASSPHRASE", PASSPHRASE);
    assert!(join.output().unwrap().status.success());
    let mut b = b;
    b.env.push(("WEFT_PASSPHRASE".into(), PASSPHRASE.into()));
    let r = b.run(&["relay", "add", &relay.addr]);
    assert_eq!(r.out.status.code(), Some(4), "{}", r.stderr());
    assert!(
        r.stderr().contains("was forgotten on this relay"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("--unforget"), "{}", r.stderr());
    for t in ["changes", "heads", "workspaces"] {
        assert_eq!(
            count(&format!("SELECT COUNT(*) FROM {t}")),
            0,
            "rows in {t}"
        );
    }
}

#[test]
fn a_relay_address_without_its_peer_id_is_refused_and_changes_nothing() {
    let a = Home::new();
    let before = a.fingerprint();
    a.run(&["relay", "add", "/ip4/127.0.0.1/tcp/4467"])
        .fails_with("does not end in /p2p/");
    a.run(&["relay", "add", "relay.example.org"])
        .fails_with("is not a multiaddr");
    assert_eq!(a.fingerprint(), before);
    let ls = a.run(&["relay", "ls"]).ok().stderr();
    assert!(ls.contains("No relay"), "{ls}");
}

#[test]
fn a_full_quota_on_the_relay_shows_in_status() {
    let relay = Relay::start_with(tempfile::tempdir().unwrap(), 0, &["--quota", "1KiB"]);
    let a = Home::new();
    a.note(
        "Long",
        "",
        &"a note longer than the relay's quota. ".repeat(100),
    );
    let out = a.run(&["relay", "add", &relay.addr]).ok().stderr();
    assert!(out.contains("quota full"), "{out}");
    let st = a.run(&["status"]).ok().stdout();
    assert!(st.contains("problem: quota full"), "{st}");
    // Nothing of the refused batch is on the relay.
    let rows: i64 = relay
        .db()
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn the_relay_refuses_bad_configuration_with_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(relay_bin())
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let bad = dir.path().join("relay.toml");
    std::fs::write(&bad, "quota_bytes = 5\nlisten_on = [\"x\"]\n").unwrap();
    for (args, needle) in [
        (vec!["--config", bad.to_str().unwrap()], "relay.toml"),
        (vec!["--listen", "tcp:4467"], "--listen"),
        (vec!["--quota", "lots"], "lots"),
        (vec!["--http", "everywhere"], "--http"),
        (
            vec![
                "--database",
                "postgres://nobody@127.0.0.1:1/none",
                "--http",
                "off",
            ],
            "database",
        ),
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // The config file's keys are used when they are right.
    std::fs::write(
        &bad,
        "http = \"off\"\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n",
    )
    .unwrap();
    let mut child = Command::new(relay_bin())
        .arg("--config")
        .arg(&bad)
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = out
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("  weft relay add"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !lines.iter().any(|l| l.contains("/metrics")),
        "http = \"off\" in the file was ignored: {lines:?}"
    );
}
