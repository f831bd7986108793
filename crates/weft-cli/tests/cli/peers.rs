//! `weft peers`, `weft peer add|rm` and `weft status DOC`.

use weft_core::{DeviceId, VersionVector};

use crate::harness::Home;

/// Writes a peers row the way the daemon would, behind the CLI's back.
fn insert_peer(
    h: &Home,
    byte: u8,
    name: &str,
    last_sync_ms: Option<i64>,
    vector: &VersionVector,
) -> DeviceId {
    let device = DeviceId::from_public_key([byte; 32]);
    h.db()
        .execute(
            "INSERT INTO peers (device, name, addrs, connection, last_seen_ms, last_sync_ms, vector)
             VALUES (?1, ?2, ?3, 'lan', ?4, ?5, ?6)",
            rusqlite::params![
                device.public_key().as_slice(),
                name,
                "/ip4/192.168.1.20/tcp/4466\n/ip4/192.168.1.20/udp/4466/quic-v1",
                i64::from(byte),
                last_sync_ms,
                vector.encode(),
            ],
        )
        .unwrap();
    device
}

fn added(h: &Home) -> serde_json::Value {
    h.run(&["peers", "--json"]).ok().json()["added"].clone()
}

#[test]
fn a_fresh_workspace_has_no_peers() {
    let h = Home::new();
    let j = h.run(&["peers", "--json"]).ok().json();
    assert_eq!(j, serde_json::json!({"peers": [], "added": []}));
    let out = h.run(&["peers"]).ok();
    assert_eq!(out.stdout(), "", "an empty list prints no data");
    assert!(
        out.stderr().contains("No other device seen yet"),
        "{}",
        out.stderr()
    );
}

#[test]
fn an_added_address_is_listed_once_and_can_be_removed() {
    let h = Home::new();
    let a = "/ip4/192.168.1.20/tcp/4466";
    let out = h.run(&["peer", "add", a]).ok().stderr();
    assert_eq!(out.trim(), format!("added {a}"));
    assert_eq!(added(&h), serde_json::json!([a]));
    // The same address again, also written with a leading zero.
    for again in [a, "/ip4/192.168.1.20/tcp/04466"] {
        let out = h.run(&["peer", "add", again]).ok().stderr();
        assert!(out.contains("already known"), "{out}");
    }
    let q = "/dns4/home.example.org/udp/4466/quic-v1";
    h.run(&["peer", "add", q]).ok();
    assert_eq!(added(&h), serde_json::json!([a, q]));
    let out = h.run(&["peer", "ls"]).ok();
    assert!(
        out.stderr().contains("Added by hand")
            && out.stdout().contains(a)
            && out.stdout().contains(q),
        "{}{}",
        out.stdout(),
        out.stderr()
    );

    let out = h.run(&["peer", "rm", a]).ok().stderr();
    assert_eq!(out.trim(), format!("removed {a}"));
    assert_eq!(added(&h), serde_json::json!([q]));
    h.run(&["peer", "rm", a]).fails_with("was not added");
    assert_eq!(added(&h), serde_json::json!([q]));
}

#[test]
fn a_bad_multiaddr_is_refused_naming_it_and_nothing_is_stored() {
    let h = Home::new();
    for (bad, why) in [
        ("192.168.1.20:4466", "must start with `/`"),
        ("/ip4/192.168.1.300/tcp/4466", "not an IPv4 address"),
        ("/ip4/192.168.1.20/tcp/99999", "not a port"),
        ("/ip4/192.168.1.20/http/80", "unknown protocol `http`"),
        ("/ip4/192.168.1.20/tcp", "needs a value"),
    ] {
        h.run(&["peer", "add", bad]).fails_with(bad).fails_with(why);
    }
    assert_eq!(added(&h), serde_json::json!([]));
    let n: i64 = h
        .db()
        .query_row("SELECT count(*) FROM peer_addrs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn seen_peers_are_listed_with_their_peer_id_and_last_sync() {
    let h = Home::new();
    let laptop = insert_peer(&h, 1, "laptop", Some(1_000), &VersionVector::new());
    let phone = insert_peer(&h, 2, "", None, &VersionVector::new());
    let j = h.run(&["peers", "--json"]).ok().json();
    let peers = j["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2);
    // Most recently seen first.
    assert_eq!(peers[0]["device"], phone.to_string());
    assert_eq!(peers[0]["last_sync_ms"], serde_json::Value::Null);
    assert_eq!(peers[1]["device"], laptop.to_string());
    assert_eq!(peers[1]["name"], "laptop");
    // No node runs on this workspace, so nobody is connected now, whatever
    // the row last said.
    assert_eq!(peers[1]["connection"], "offline");
    assert_eq!(peers[1]["online"], false);
    assert_eq!(peers[1]["last_sync_ms"], 1_000);
    assert_eq!(peers[1]["addrs"].as_array().unwrap().len(), 2);

    let out = h.run(&["peers"]).ok().stdout();
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}:\n{out}"))
            .to_owned()
    };
    // No header when standard output is not a terminal: one line per device.
    assert!(!out.contains("LAST SYNC"), "{out}");
    let l = line(&laptop.to_string());
    assert!(l.starts_with("laptop") && l.contains("d ago"), "{l}");
    let p = line(&phone.to_string());
    assert!(
        p.starts_with("(unnamed)") && p.trim_end().ends_with("never"),
        "{p}"
    );
    assert!(
        out.contains("/udp/4466/quic-v1"),
        "every address is shown:\n{out}"
    );
}

#[test]
fn status_of_a_doc_names_the_devices_with_its_latest_changes() {
    let h = Home::new();
    let id = h.note("Plans", "", "draft\n");
    let me = h.run(&["status", "--json"]).ok().json()["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let j = h.run(&["status", "Plans", "--json"]).ok().json();
    assert_eq!(j["doc"], id.as_str());
    assert_eq!(j["title"], "Plans");
    assert_eq!(
        j["devices"],
        serde_json::json!([{
            "device": me, "name": "", "this_device": true, "latest": true, "last_sync_ms": null
        }])
    );
    let out = h.run(&["status", &id[..8]]).ok().stdout();
    assert!(out.contains("\"Plans\""), "{out}");
    let l = out.lines().find(|l| l.contains(&me)).unwrap();
    assert!(
        l.contains("this device") && l.contains("has the latest changes"),
        "{l}"
    );

    // Peers as the daemon records them: one holding everything, one that
    // acknowledged nothing yet, one that missed the last edit.
    let device: DeviceId = me.parse().unwrap();
    let head: i64 = h
        .db()
        .query_row("SELECT MAX(seq) FROM changes", [], |r| r.get(0))
        .unwrap();
    let mut full = VersionVector::new();
    full.set(device, head as u64);
    let synced = insert_peer(&h, 1, "laptop", Some(5), &full);
    let never = insert_peer(&h, 2, "phone", None, &VersionVector::new());
    h.run_stdin(&["edit", "Plans", "--stdin"], "final\n").ok();
    let behind = insert_peer(&h, 3, "tablet", Some(7), &full);
    let j = h.run(&["status", "Plans", "--json"]).ok().json();
    let latest: Vec<(String, bool)> = j["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["latest"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        latest,
        vec![
            (String::new(), true),
            ("tablet".to_owned(), false),
            ("phone".to_owned(), false),
            ("laptop".to_owned(), false),
        ]
    );
    let out = h.run(&["status", "Plans"]).ok().stdout();
    let l = out
        .lines()
        .find(|l| l.contains(&never.to_string()))
        .unwrap();
    assert!(l.contains("phone") && l.contains("never synced"), "{l}");
    for d in [synced, behind] {
        let l = out.lines().find(|l| l.contains(&d.to_string())).unwrap();
        assert!(l.contains("missing recent changes"), "{l}");
    }
    // Catching up on the edit makes it latest.
    let mut now_full = VersionVector::new();
    now_full.set(device, head as u64 + 1);
    h.db()
        .execute(
            "UPDATE peers SET vector = ?1 WHERE name = 'laptop'",
            [now_full.encode()],
        )
        .unwrap();
    let out = h.run(&["status", "Plans"]).ok().stdout();
    let l = out
        .lines()
        .find(|l| l.contains(&synced.to_string()))
        .unwrap();
    assert!(
        l.contains("laptop") && l.contains("has the latest changes"),
        "{l}"
    );
}

#[test]
fn status_without_a_doc_is_the_workspace_status() {
    let h = Home::new();
    h.note("Plans", "", "x\n");
    let s = h.run(&["status", "--json"]).ok().json();
    assert_eq!(s["name"], "Test");
    assert_eq!(s["notes"], 1);
    let out = h.run(&["status"]).ok().stdout();
    assert!(
        out.contains("workspace") && out.contains("1 notes"),
        "{out}"
    );
    h.run(&["status", "No such doc"])
        .fails_with("no document matches");
}

#[test]
fn help_lists_the_peer_commands() {
    let h = Home::empty();
    let top = h.run(&["--help"]).ok().stdout();
    assert!(top.contains("peers") && top.contains("peer "), "{top}");
    for c in [
        &["peers", "--help"][..],
        &["peer", "ls", "--help"],
        &["peer", "add", "--help"],
        &["peer", "rm", "--help"],
    ] {
        h.run(c).ok();
    }
    let s = h.run(&["status", "--help"]).ok().stdout();
    assert!(s.contains("[DOC]"), "{s}");
}

#[test]
fn status_of_an_empty_note_works() {
    let h = Home::new();
    // No --stdin: a note with no content of its own yet, only its entry in
    // the index, which a never-synced peer does not have.
    h.run(&["new", "note", "Empty"]).ok();
    let never = insert_peer(&h, 9, "phone", None, &VersionVector::new());
    let out = h.run(&["status", "Empty"]).ok().stdout();
    assert!(
        out.contains("this device") && out.contains("has the latest changes"),
        "{out}"
    );
    let l = out
        .lines()
        .find(|l| l.contains(&never.to_string()))
        .unwrap();
    assert!(l.contains("never synced"), "{out}");
}
