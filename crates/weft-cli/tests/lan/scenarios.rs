//! Devices on one LAN, as a user runs them: `weft daemon` on each, edits
//! with the ordinary commands while the daemons run.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::converge::{assert_converge, difference, logs};
use crate::host::{Daemon, Host, describe};
use crate::netns::{Lan, wait_until};

/// How long two connected devices may take to show the same documents. The
/// daemon pushes a local commit within ~25 ms; this leaves room for a loaded
/// 2-core CI machine, not for a missed reconnect.
const CONVERGE: Duration = Duration::from_secs(20);

/// `weft join` on `joiner` with `weft invite` from `inviter` (whose daemon
/// runs); asserts it pulled from the inviter and shows what it shows.
fn join(inviter: &Host, joiner: &Host, daemons: &[&Daemon]) {
    let code = inviter.invite();
    let out = joiner.join(&code);
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stderr)
                .contains(&format!("synced with {} device", daemons.len())),
        "`weft join` on {} did not sync with {}: {}\n{}",
        joiner.name(),
        inviter.name(),
        describe(&["join", &code], &out),
        logs(daemons)
    );
    // Everything, right when join returns: no daemon runs on the joiner yet.
    if let Some(d) = difference(inviter, joiner) {
        panic!(
            "after `weft join`, {} does not show what {} shows: {d}\n{}",
            joiner.name(),
            inviter.name(),
            logs(daemons)
        );
    }
}

/// Log lines of `d` that refuse the device `id`.
fn refusals(d: &Daemon, id: &str) -> usize {
    d.log()
        .lines()
        .filter(|l| l.contains("refused: ") && l.contains(id))
        .count()
}

fn markdown(v: &Value) -> &str {
    v["markdown"]
        .as_str()
        .unwrap_or_else(|| panic!("not a note: {v}"))
}

#[test]
fn mdns_peers_converge_and_strangers_are_refused() {
    let Some(lan) = Lan::new_or_skip(3) else {
        return;
    };
    let (a, b, c) = (lan.host(0), lan.host(1), lan.host(2));
    a.init("Shared");
    a.note("Plan", "# Plan\n\n- first\n");
    a.record("Inventory");
    a.set("Inventory", "/apples", "3");
    a.note("Journal", "day one\n");
    let da = a.spawn_daemon(&[]);
    join(a, b, &[&da]);
    assert_eq!(b.titles(), ["Inventory", "Journal", "Plan"]);

    // C is a stranger: a workspace of its own on the same LAN. It learns of
    // A and B by mDNS only (nobody gives it an address).
    c.init("Stranger");
    c.note("Secret of C", "only on C\n");
    let db = b.spawn_daemon(&[]);
    let dc = c.spawn_daemon(&[]);
    let all = [&da, &db, &dc];

    // Edits on both sides, notes and record fields, while the daemons run.
    a.note("From A", "written on A\n");
    a.set("Inventory", "/pears", "5");
    b.record("From B");
    b.set("From B", "/done", "false");
    b.edit("Plan", "# Plan\n\n- first\n- second, from B\n");
    b.set("Inventory", "/apples", "4");
    assert_converge(a, b, &all, CONVERGE);
    for h in [a, b] {
        assert_eq!(
            h.titles(),
            ["From A", "From B", "Inventory", "Journal", "Plan"],
            "on {}",
            h.name()
        );
        assert_eq!(
            markdown(&h.show("Plan")),
            "# Plan\n\n- first\n- second, from B\n"
        );
        assert_eq!(markdown(&h.show("From A")), "written on A\n");
        assert_eq!(
            h.show("Inventory"),
            json!({"kind": "record", "json": {"apples": 4, "pears": 5}, "conflicts": []}),
            "on {}",
            h.name()
        );
        assert_eq!(h.show("From B")["json"], json!({"done": false}));
    }

    // C was refused, and said so once, not on every retry.
    let c_id = c.device_id();
    let seen = wait_until(CONVERGE, || refusals(&da, &c_id) + refusals(&db, &c_id) > 0);
    assert!(
        seen,
        "neither A nor B logged `refused: ` for C ({c_id}):\n{}",
        logs(&all)
    );
    // A retry, observed: C's daemon starts again and at once finds A and B by
    // mDNS and dials them. Each of A and B deals with it one of two ways: it
    // turns the connection away (it blocked C when it refused it: a debug
    // line), or, if its first session with C ended otherwise, it refuses C now,
    // for the first time.
    let before = (refusals(&da, &c_id), refusals(&db, &c_id));
    dc.sigterm();
    let dc = c.spawn_daemon(&[]);
    let all = [&da, &db, &dc];
    let handled = |d: &Daemon, before: usize| {
        refusals(d, &c_id) > before
            || d.log()
                .lines()
                .any(|l| l.contains("closed a connection of a refused peer") && l.contains(&c_id))
    };
    let retried = wait_until(CONVERGE, || {
        handled(&da, before.0) && handled(&db, before.1)
    });
    assert!(
        retried,
        "A and B did not both see C come back:\n{}",
        logs(&all)
    );
    // Then the absence: no retry was logged as a second refusal.
    for d in [&da, &db] {
        let n = refusals(d, &c_id);
        assert!(
            n <= 1,
            "{} logged {n} refusals of C ({c_id}), not at most one:\n{}",
            d.name(),
            d.log()
        );
    }
    assert_eq!(
        c.titles(),
        ["Secret of C"],
        "C got documents of another workspace"
    );
    for h in [a, b] {
        assert!(
            !h.titles().contains(&"Secret of C".to_owned()),
            "{} got C's document",
            h.name()
        );
    }

    // A lists B as a LAN peer it is connected to and in sync with, and
    // knows that B holds the latest changes of a document both edited; C,
    // never a member, is not in its peer table.
    let b_id = b.device_id();
    let synced = wait_until(CONVERGE, || {
        let st = a.json(&["status", "Plan", "--json"]);
        st["devices"].as_array().is_some_and(|d| {
            d.iter()
                .any(|x| x["device"] == b_id.as_str() && x["latest"] == true)
        })
    });
    assert!(
        synced,
        "A never saw B holding Plan's latest changes:
{}",
        logs(&all)
    );
    let peers = a.json(&["peers", "--json"]);
    let list = peers["peers"].as_array().unwrap();
    let pb = list
        .iter()
        .find(|p| p["device"] == b_id.as_str())
        .expect("B in A's peers");
    assert_eq!(pb["connection"], "lan", "{peers}");
    assert_eq!(pb["online"], true, "{peers}");
    assert!(pb["last_sync_ms"].is_i64(), "{peers}");
    assert!(
        !list.iter().any(|p| p["device"] == c_id.as_str()),
        "a refused stranger was recorded as a peer: {peers}"
    );

    // SIGTERM drains and exits 0 (asserted by sigterm).
    dc.sigterm();
    db.sigterm();
    da.sigterm();
    // With no node running, nobody is connected.
    let peers = a.json(&["peers", "--json"]);
    assert_eq!(peers["peers"][0]["connection"], "offline", "{peers}");
}

#[test]
fn partition_then_heal_converges() {
    let Some(lan) = Lan::new_or_skip(3) else {
        return;
    };
    // C stays with A while B is cut off: C receiving A's edits is the evidence
    // that they were sent, which makes B not receiving them mean something.
    let (a, b, c) = (lan.host(0), lan.host(1), lan.host(2));
    a.init("Split");
    a.record("Shared");
    a.set("Shared", "/x", "\"base\"");
    let da = a.spawn_daemon(&[]);
    join(a, b, &[&da]);
    let db = b.spawn_daemon(&[]);
    join(a, c, &[&da, &db]);
    let dc = c.spawn_daemon(&[]);
    let both = [&da, &db];
    let all = [&da, &db, &dc];
    a.note("Before", "sent before the cut\n");
    assert_converge(a, b, &both, CONVERGE);
    assert_converge(a, c, &all, CONVERGE);

    lan.cut(1);
    a.note("Only A", "made on A during the partition\n");
    b.note("Only B", "made on B during the partition\n");
    a.set("Shared", "/x", "\"a\"");
    b.set("Shared", "/x", "\"b\"");
    a.set("Shared", "/y", "1");
    // Positive evidence first: A's edits reach C, on A's side of the cut.
    let sent = Instant::now();
    let reached = wait_until(CONVERGE, || {
        c.titles().contains(&"Only A".to_owned()) && c.show("Shared")["json"]["y"] == 1
    });
    assert!(reached, "A's edits never reached C:\n{}", logs(&all));
    // As long again for the other side's edit to have travelled, had it a way.
    std::thread::sleep(sent.elapsed());
    let (ta, tb, tc) = (a.titles(), b.titles(), c.titles());
    assert!(
        !tb.contains(&"Only A".to_owned())
            && !ta.contains(&"Only B".to_owned())
            && !tc.contains(&"Only B".to_owned()),
        "documents crossed a cut link: A has {ta:?}, B has {tb:?}, C has {tc:?}"
    );
    assert_eq!(b.show("Shared")["json"], json!({"x": "b"}));

    let healed = Instant::now();
    lan.restore(1);
    assert_converge(a, b, &both, Duration::from_secs(30));
    eprintln!("healed in {:.1} s", healed.elapsed().as_secs_f64());
    assert_eq!(a.titles(), ["Before", "Only A", "Only B", "Shared"]);
    let (sa, sb) = (a.show("Shared"), b.show("Shared"));
    assert_eq!(sa, sb, "the record differs after healing");
    // The concurrent writes of /x: one wins on both, and both values are
    // kept as a conflict the user can see.
    let x = &sa["json"]["x"];
    assert!(x == "a" || x == "b", "{sa}");
    assert_eq!(sa["json"]["y"], 1);
    let conflicts = sa["conflicts"].as_array().expect("conflicts");
    let on_x: Vec<&Value> = conflicts.iter().filter(|c| c["pointer"] == "/x").collect();
    assert_eq!(on_x.len(), 1, "no conflict shown for /x: {sa}");
    let values: BTreeSet<String> = on_x[0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(Value::to_string)
        .collect();
    assert_eq!(
        values,
        BTreeSet::from(["\"a\"".to_owned(), "\"b\"".to_owned()]),
        "{sa}"
    );
    dc.sigterm();
    db.sigterm();
    da.sigterm();
}

/// 300 JSON files for `weft import`: one command writes them all, which is
/// what makes a sync long enough to be killed in the middle.
fn bulk_records(dir: &std::path::Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let v = json!({
            "n": i,
            "name": format!("item {i}"),
            "tags": ["bulk", format!("t{}", i % 7)],
            "dims": {"w": i * 3, "h": i * 5, "notes": "x".repeat(200)},
        });
        std::fs::write(dir.join(format!("rec-{i:03}.json")), v.to_string()).unwrap();
    }
}

#[test]
fn sigkill_mid_sync_loses_nothing_acknowledged() {
    let Some(lan) = Lan::new_or_skip(2) else {
        return;
    };
    let (a, b) = (lan.host(0), lan.host(1));
    a.init("Bulk");
    let da = a.spawn_daemon(&[]);
    join(a, b, &[&da]);
    let a_joined = a.changes();
    // Written on B while no daemon runs there: it has to reach A across the
    // crash below.
    b.note("Written on B", "before the crash\n");
    let bulk = a.dir().join("bulk");
    bulk_records(&bulk, 300);
    a.ok(&["import", bulk.to_str().unwrap()]);
    let a_before = a.changes();
    let imported = a_before - a_joined;
    let b_before = b.changes();

    // Killed in the middle of the transfer: once some of A's changes are
    // stored (and so acknowledged to A), not all of them.
    let db = b.spawn_daemon(&[]);
    let started = Instant::now();
    while b.stored_changes() == b_before {
        assert!(
            started.elapsed() < CONVERGE,
            "B received nothing from A:\n{}",
            logs(&[&da, &db])
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let killed_log = db.sigkill();
    let b_at_kill = b.changes();
    eprintln!(
        "A held {a_before} changes ({imported} imported), B {b_before} before its daemon and {b_at_kill} at the SIGKILL"
    );
    assert!(
        b_at_kill < b_before + imported,
        "B already held all {imported} imported changes when it was killed: the test did not kill mid-sync; make the workload bigger\n{killed_log}"
    );

    let db = b.spawn_daemon(&[]);
    let both = [&da, &db];
    assert_converge(a, b, &both, CONVERGE);
    let (ca, cb) = (a.changes(), b.changes());
    assert_eq!(ca, cb, "A and B hold different numbers of changes");
    assert_eq!(cb, b_before + imported, "B lost or invented changes");
    assert_eq!(a.ls().as_array().unwrap().len(), 301);
    assert_eq!(markdown(&a.show("Written on B")), "before the crash\n");
    assert_eq!(b.show("rec-299")["json"]["n"], 299);
    db.sigterm();
    da.sigterm();
}
