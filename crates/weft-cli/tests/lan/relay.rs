//! Two devices on two LAN segments with no path between them, and a real
//! `weft-relay` on a host that sits on both: everything they share crosses
//! the relay, including while one of them is offline.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::converge::{assert_converge, logs};
use crate::host::{Daemon, Host, describe, weft_bin};
use crate::netns::{Lan, wait_until};

/// The relay's port (its default, as an operator runs it).
const RELAY_PORT: u16 = 4467;

/// How long two devices may take to show the same documents through the
/// relay: a push to the relay and its forward, on a loaded 2-core machine.
const CONVERGE: Duration = Duration::from_secs(30);

/// The relay binary, built beside `weft` (`cargo build -p weft-relay`; make
/// test builds it).
fn relay_bin() -> PathBuf {
    let p = weft_bin().with_file_name("weft-relay");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p weft-relay` (make test builds it)",
        p.display()
    );
    p
}

/// A `weft-relay` process inside a namespace; killed on drop (and the Lan's
/// drop kills whatever is left in its namespaces).
pub struct Relay {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The `weft relay add` addresses it printed.
    pub addrs: Vec<String>,
}

impl Relay {
    /// Starts `weft-relay --listen /ip4/0.0.0.0/tcp/4467 --http off` in `ns`
    /// and waits until it has printed a `weft relay add` line for each of
    /// `want`.
    pub fn start(ns: &str, want: &[Ipv4Addr]) -> Relay {
        let dir = tempfile::Builder::new()
            .prefix("weft-lan-relay-")
            .tempdir()
            .expect("temp dir");
        // To files, not pipes: nobody reads a pipe after start-up, and a
        // write to a closed one fails the relay's println.
        let out = std::fs::File::create(dir.path().join("stdout")).expect("relay stdout");
        let err = std::fs::File::create(dir.path().join("stderr")).expect("relay stderr");
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns])
            .arg(relay_bin())
            .args(["--listen", &format!("/ip4/0.0.0.0/tcp/{RELAY_PORT}")])
            .args(["--http", "off", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // The machine's relay settings must not leak in.
        for (k, _) in std::env::vars() {
            if k.starts_with("WEFT_RELAY_") {
                c.env_remove(k);
            }
        }
        let child = c.spawn().expect("starting weft-relay");
        let mut relay = Relay {
            child: Some(child),
            dir,
            addrs: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            relay.addrs = relay
                .stdout()
                .lines()
                .filter_map(|l| l.trim().strip_prefix("weft relay add "))
                .map(str::to_owned)
                .collect();
            if want.iter().all(|ip| relay.find_addr(*ip).is_some()) {
                return relay;
            }
            if let Some(s) = relay
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("weft-relay exited ({s}) before listening:\n{}", relay.log());
            }
            assert!(
                Instant::now() < deadline,
                "weft-relay did not print a `weft relay add` line for each of {want:?} within 20 s:\n{}",
                relay.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }

    /// What it printed and logged so far.
    pub fn log(&self) -> String {
        let err = std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default();
        format!(
            "--- weft-relay stdout ---\n{}--- weft-relay log ---\n{err}",
            self.stdout()
        )
    }

    fn find_addr(&self, ip: Ipv4Addr) -> Option<&String> {
        let prefix = format!("/ip4/{ip}/tcp/{RELAY_PORT}/p2p/");
        self.addrs.iter().find(|a| a.starts_with(&prefix))
    }

    /// The address it printed for `ip`, the one a device on that segment
    /// adds.
    pub fn addr_on(&self, ip: Ipv4Addr) -> String {
        self.find_addr(ip)
            .unwrap_or_else(|| panic!("weft-relay printed no address on {ip}: {:?}", self.addrs))
            .clone()
    }

    /// Sealed changes it stores (its SQLite file, read-only, beside it).
    pub fn stored_changes(&self) -> i64 {
        let db = rusqlite::Connection::open_with_flags(
            self.dir.path().join("data").join("relay.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("opening relay.db");
        db.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
            .expect("counting the relay's changes")
    }

    /// SIGTERM; asserts it drains and exits 0 within 20 s.
    pub fn sigterm(mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
            .status()
            .expect("running sh");
        assert!(sent.success(), "could not signal weft-relay");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting for weft-relay") {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "weft-relay did not exit within 20 s of SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "weft-relay exited with {status} after SIGTERM:\n{}",
            self.log()
        );
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn markdown(v: &Value) -> &str {
    v["markdown"]
        .as_str()
        .unwrap_or_else(|| panic!("not a note: {v}"))
}

/// Asserts that `h`'s peer table lists no device as connected over the LAN
/// or directly (the only way between A and B is through the relay), and
/// that the relay itself is not in it (it lists devices only).
fn assert_no_direct_peer(h: &Host, relay_peer: &str, when: &str) {
    let peers = h.json(&["peers", "--json"]);
    let list = peers["peers"]
        .as_array()
        .unwrap_or_else(|| panic!("`weft peers --json` has no `peers` array: {peers}"));
    for p in list {
        let conn = p["connection"].as_str().unwrap_or_default();
        assert!(
            conn != "lan" && conn != "direct",
            "{when}: {} lists a device connected `{conn}`, but there is no path between the segments: {peers}",
            h.name()
        );
        assert!(
            p["device"] != relay_peer,
            "{when}: {} lists the relay as a device: {peers}",
            h.name()
        );
    }
}

/// What `relay_line` prints once the relay registered and synced.
fn assert_relay_added(h: &Host, addr: &str, out: &str, relay: &Relay) {
    assert!(
        out.contains("relay") && out.contains("last in sync") && !out.contains("not reachable"),
        "`weft relay add {addr}` on {} did not reach the relay:\n{out}\n{}",
        h.name(),
        relay.log()
    );
}

#[test]
fn devices_on_separate_segments_converge_through_a_relay() {
    let Some(lan) = Lan::two_segments_or_skip() else {
        return;
    };
    let started = Instant::now();
    let (a, b, r) = (lan.host(0), lan.host(1), lan.host(2));
    let (r1, r2) = (lan.addrs(2)[0], lan.addrs(2)[1]);

    // The topology: both devices reach the relay host on their own
    // segment; nothing else crosses.
    assert!(
        lan.reachable_at(0, 2, r1, Duration::from_secs(5)),
        "A cannot reach the relay host at {r1}"
    );
    assert!(
        lan.reachable_at(1, 2, r2, Duration::from_secs(5)),
        "B cannot reach the relay host at {r2}"
    );
    assert!(
        !lan.reachable(0, 1, Duration::from_secs(2)),
        "A reaches B: the segments are not separate"
    );
    assert!(
        !lan.reachable(1, 0, Duration::from_secs(2)),
        "B reaches A: the segments are not separate"
    );
    assert!(
        !lan.reachable_at(1, 2, r1, Duration::from_secs(2)),
        "B reaches the relay's address on A's segment ({r1})"
    );

    let relay = Relay::start(&r.ns, &[r1, r2]);
    let (addr_a, addr_b) = (relay.addr_on(r1), relay.addr_on(r2));
    let relay_peer = addr_a.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        addr_b.rsplit('/').next(),
        Some(relay_peer.as_str()),
        "one relay, one peer id: {:?}",
        relay.addrs
    );

    // A starts the workspace, adds the relay at its address on A's
    // segment (A's changes are on the relay when the command returns), and
    // then invites B: the code carries the relay at A's address for it,
    // which B cannot reach.
    a.init("Relayed");
    a.note("Plan", "# Plan\n\n- first\n");
    a.record("Inventory");
    a.set("Inventory", "/apples", "3");
    let out = a.ok_messages(&["relay", "add", &addr_a]);
    assert_relay_added(a, &addr_a, &out, &relay);
    assert!(
        relay.stored_changes() > 0,
        "A's changes are not on the relay:\n{}",
        relay.log()
    );
    let code = a.invite();

    // B joins: a member now, but nothing is reachable (no path to A, and
    // the invite's relay address is on A's segment), so it pulls nothing.
    // Then B adds the relay at its address on B's own segment (same peer
    // id, another IP), as the relay's operator told it: the node dials
    // every address a relay was added at, and B pulls everything.
    let join = ["join", &code, "--passphrase", "--timeout", "5"];
    let out = b.weft(&join);
    assert!(out.status.success(), "{}", describe(&join, &out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing was pulled yet"),
        "`weft join` on B reported a sync although nothing is reachable from B: {}",
        describe(&join, &out)
    );
    assert_eq!(b.titles(), Vec::<String>::new(), "B after `weft join`");
    let out = b.ok_messages(&["relay", "add", &addr_b]);
    assert_relay_added(b, &addr_b, &out, &relay);
    assert_eq!(
        b.titles(),
        ["Inventory", "Plan"],
        "B after `weft relay add`"
    );
    assert_eq!(markdown(&b.show("Plan")), "# Plan\n\n- first\n");

    // A concurrent edit of one record field: made on both before either
    // daemon runs, so neither can have seen the other's.
    a.set("Inventory", "/apples", "10");
    b.set("Inventory", "/apples", "20");

    // Daemons on both, mDNS on (it finds nothing across segments).
    let da = a.spawn_daemon(&[]);
    let db = b.spawn_daemon(&[]);
    let both = [&da, &db];
    a.note("From A", "written on A\n");
    b.record("From B");
    b.set("From B", "/done", "false");
    b.edit("Plan", "# Plan\n\n- first\n- second, from B\n");
    a.set("Inventory", "/pears", "5");
    converge(a, b, &both, &relay);
    for h in [a, b] {
        assert_eq!(
            h.titles(),
            ["From A", "From B", "Inventory", "Plan"],
            "on {}",
            h.name()
        );
        assert_eq!(
            markdown(&h.show("Plan")),
            "# Plan\n\n- first\n- second, from B\n",
            "on {}",
            h.name()
        );
        assert_eq!(markdown(&h.show("From A")), "written on A\n");
        assert_eq!(h.show("From B")["json"], json!({"done": false}));
    }
    // One value of /apples wins on both, and both are shown as a conflict.
    let (sa, sb) = (a.show("Inventory"), b.show("Inventory"));
    assert_eq!(sa, sb, "the record differs between A and B");
    let apples = &sa["json"]["apples"];
    assert!(apples == 10 || apples == 20, "{sa}");
    assert_eq!(sa["json"]["pears"], 5, "{sa}");
    let conflicts = sa["conflicts"].as_array().expect("conflicts");
    let on_apples: Vec<&Value> = conflicts
        .iter()
        .filter(|c| c["pointer"] == "/apples")
        .collect();
    assert_eq!(on_apples.len(), 1, "no conflict shown for /apples: {sa}");
    let values: BTreeSet<String> = on_apples[0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(Value::to_string)
        .collect();
    assert_eq!(
        values,
        BTreeSet::from(["10".to_owned(), "20".to_owned()]),
        "{sa}"
    );
    for h in [a, b] {
        assert_no_direct_peer(h, &relay_peer, "with both daemons running");
    }
    // They reach each other through the relay's circuit (circuit relay v2;
    // hole punching has no path to succeed on here), which `weft peers`
    // shows as `relayed`.
    let a_id = a.device_id();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let peers = b.json(&["peers", "--json"]);
        let relayed = peers["peers"].as_array().is_some_and(|l| {
            l.iter()
                .any(|p| p["device"] == a_id.as_str() && p["connection"] == "relayed")
        });
        if relayed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B never listed A as connected through the relay's circuit: {peers}\n{}",
            logs(&[&da, &db])
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // Store and forward: B goes offline, A edits and goes offline too, and
    // B, back, gets A's edits from the relay alone.
    db.sigterm();
    let relay_before = relay.stored_changes();
    let a_before = a.changes();
    a.note("While B was away", "written on A while B was offline\n");
    a.set("Inventory", "/pears", "7");
    let written = a.changes() - a_before;
    let on_relay = wait_until(CONVERGE, || {
        relay.stored_changes() >= relay_before + written
    });
    assert!(
        on_relay,
        "A's daemon did not push its {written} new changes to the relay (it holds {}, held {relay_before}):\n{}\n{}",
        relay.stored_changes(),
        logs(&[&da]),
        relay.log()
    );
    da.sigterm();
    let db = b.spawn_daemon(&[]);
    let caught_up = wait_until(CONVERGE, || {
        b.titles().contains(&"While B was away".to_owned())
            && b.show("Inventory")["json"]["pears"] == 7
    });
    assert!(
        caught_up,
        "B did not get A's edits from the relay while A was offline: B shows {:?}, Inventory {}\n{}\n{}",
        b.titles(),
        b.show("Inventory"),
        logs(&[&db]),
        relay.log()
    );
    // Everything A has, not only those two edits (A's own CLI reads A's
    // files; no daemon runs there).
    converge(a, b, &[&db], &relay);
    assert_eq!(
        markdown(&b.show("While B was away")),
        "written on A while B was offline\n"
    );
    assert_no_direct_peer(b, &relay_peer, "after catching up");
    let peers = b.json(&["peers", "--json"]);
    let a_id = a.device_id();
    let pa = peers["peers"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["device"] == a_id.as_str()));
    if let Some(pa) = pa {
        assert_eq!(pa["online"], false, "A is offline, B says: {peers}");
    }

    db.sigterm();
    relay.sigterm();
    eprintln!(
        "relay scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `assert_converge`, with the relay's log in the failure message too.
fn converge(a: &Host, b: &Host, daemons: &[&Daemon], relay: &Relay) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_converge(a, b, daemons, CONVERGE);
    }));
    if let Err(e) = r {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        panic!("{msg}\n{}", relay.log());
    }
}
