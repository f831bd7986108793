//! The network commands where no second device is needed: the daemon's
//! lifecycle, one node per workspace, and what `sync`/`join` say when there
//! is nobody to sync with. Loopback only, mDNS off (the namespace tests in
//! tests/lan cover real discovery).

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Home, PASSPHRASE};

/// Starts `weft daemon` on a free port and waits for its first "listening"
/// line.
pub fn daemon(h: &Home) -> Child {
    daemon_on(h, 0)
}

/// [`daemon`] on `port`.
pub fn daemon_on(h: &Home, port: u16) -> Child {
    let (child, rx) = daemon_logged_on(h, port);
    // Keep draining so the daemon never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    child
}

/// [`daemon`], with the lines it logs after "listening" (the receiver must be
/// drained, or dropped).
pub fn daemon_logged(h: &Home) -> (Child, std::sync::mpsc::Receiver<String>) {
    daemon_logged_on(h, 0)
}

fn daemon_logged_on(h: &Home, port: u16) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = h
        .command()
        .args(["daemon", "--port", &port.to_string(), "--no-mdns"])
        .args(["--device-name", "t"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains("listening on") => break,
            Ok(_) => {}
            Err(_) => panic!("the daemon never said it was listening"),
        }
    }
    (child, rx)
}

pub fn signal(child: &Child, sig: &str) {
    let st = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "the daemon did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_daemon_whose_log_cannot_be_written_keeps_running() {
    // /dev/full fails every write with ENOSPC, as a log on a full disk does.
    let h = Home::new();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = h
        .command()
        .args(["daemon", "--port", "0", "--no-mdns"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(full)
        .spawn()
        .unwrap();
    // It logs as it starts and as the edit below reaches it.
    std::thread::sleep(Duration::from_secs(2));
    h.note("While the log is full", "", "x");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon died when its log could not be written"
    );
    signal(&child, "-TERM");
    assert_eq!(wait_exit(&mut child).code(), Some(0));
}

#[test]
fn the_daemon_stops_cleanly_on_sigterm_and_sigint() {
    let h = Home::new();
    for sig in ["-TERM", "-INT"] {
        let mut d = daemon(&h);
        signal(&d, sig);
        let st = wait_exit(&mut d);
        assert_eq!(st.code(), Some(0), "{sig}: {st}");
    }
    // The workspace is intact and usable afterwards.
    h.note("After", "", "still here");
    assert!(h.show("After").contains("still here"));
}

#[test]
fn edits_work_while_the_daemon_runs_and_a_second_node_is_refused() {
    let h = Home::new();
    let mut d = daemon(&h);
    // Editing commands share the file with the daemon.
    h.note("Live", "", "typed while syncing");
    assert!(h.show("Live").contains("typed while syncing"));
    // A second network process on the same workspace would be the same
    // device twice on the network.
    let r = h.run(&["daemon", "--port", "0", "--no-mdns"]);
    // Locked by another node: its own exit code, and the message once, exactly.
    assert_eq!(r.out.status.code(), Some(6), "{}", r.stderr());
    let tail = r.stderr().lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        tail,
        format!(
            "error: another weft process (pid {}) already syncs the workspace in {}: one device runs one node (stop it first, or let it sync)",
            d.id(),
            h.path().display()
        )
    );
    assert_eq!(
        r.stderr().matches("already syncs").count(),
        1,
        "{}",
        r.stderr()
    );
    // `sync --once` has nothing to add to a running daemon, and says so.
    let once = h.run(&["sync", "--once", "--port", "0", "--no-mdns"]).ok();
    assert!(once.stderr().contains("already syncs"), "{}", once.stderr());
    // `weft status` tells that a daemon syncs this workspace, and where.
    let st = h.run(&["status", "--json"]).ok().json();
    assert_eq!(st["node"]["pid"], d.id(), "{st}");
    assert!(
        st["node"]["addrs"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{st}"
    );
    signal(&d, "-TERM");
    assert_eq!(wait_exit(&mut d).code(), Some(0));
    let st = h.run(&["status", "--json"]).ok().json();
    assert!(st["node"].is_null(), "a stopped daemon still shows: {st}");
    assert!(h.run(&["status"]).ok().stdout().contains("not running"));
}

#[test]
fn sync_once_with_nobody_around_fails_and_says_why() {
    let h = Home::new();
    let t = Instant::now();
    h.run(&[
        "sync",
        "--once",
        "--timeout",
        "2",
        "--port",
        "0",
        "--no-mdns",
    ])
    .fails_with("found no device of this workspace within 2 s");
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "the timeout was not kept"
    );
}

#[test]
fn a_mistyped_invite_code_creates_nothing() {
    let inviter = Home::new();
    let code = inviter.invite_code();
    // One character changed in the middle of the code.
    let mut chars: Vec<char> = code.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let typo: String = chars.into_iter().collect();
    let joiner = Home::empty();
    let mut cmd = joiner.command();
    let out = cmd
        .args([
            "join",
            &typo,
            "--passphrase",
            "--timeout",
            "1",
            "--no-mdns",
            "--port",
            "0",
        ])
        .env("WEFT_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mistyped"), "{err}");
    assert!(
        std::fs::read_dir(joiner.path()).unwrap().next().is_none(),
        "a failed join left files behind"
    );
}

#[test]
fn join_into_an_existing_workspace_is_refused() {
    let inviter = Home::new();
    let code = inviter.invite_code();
    let other = Home::new();
    let before = other.fingerprint();
    other
        .run(&["join", &code, "--timeout", "1", "--no-mdns", "--port", "0"])
        .fails_with("already holds a workspace");
    assert_eq!(other.fingerprint(), before);
}
