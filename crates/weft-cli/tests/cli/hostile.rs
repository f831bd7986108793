//! A member that crafts and seals bad changes cannot break the workspace
//! for anyone else. Three real workspaces share a key (A, an honest B, and
//! M, which writes sealed changes straight into its own log with its real
//! keys: garbage for a note, garbage for the index, a future envelope
//! version, a change of the wrong kind). They reach A and B through a real
//! `weft-relay` and directly; every honest device still shows and exports
//! every document, later honest changes still arrive, and `weft status`
//! names what could not be read.

use std::time::{Duration, Instant};

use weft_core::{ChangeKind, DocId, DocKind};
use weft_crypto::{ChangeHeader, PassphraseFile, SealedChange, SecretStore};
use weft_engine::Envelope;
use weft_store::Store;
use zeroize::Zeroizing;

use crate::harness::{Home, PASSPHRASE};
use crate::net::{daemon_on, signal, wait_exit};
use crate::relay::Relay;

const NET: [&str; 3] = ["--no-mdns", "--port", "0"];

fn sync_once(h: &Home) -> String {
    let mut args = vec!["sync", "--once", "--timeout", "20"];
    args.extend(NET);
    h.run(&args).ok().stderr()
}

/// Seals `(doc, kind, plaintext)` as the next changes of `m`'s device, with
/// its real keys, and writes them into its log as a hostile build would:
/// straight into the tables, past the store's own checks (which refuse a
/// change of the wrong kind even from this device).
fn craft(m: &Home, changes: &[(DocId, DocKind, Vec<u8>)]) {
    let store = Store::open(&m.path().join("weft.db")).unwrap();
    let workspace = store.workspace();
    drop(store);
    let secrets = PassphraseFile::new(
        m.path().join("keys.weftkey"),
        Zeroizing::new(PASSPHRASE.to_owned()),
    )
    .load(&workspace)
    .unwrap();
    let data = secrets.workspace_key.derive(&workspace).data;
    let author = secrets.device_key.device_id();
    let db = m.db();
    let key = author.public_key();
    let head: i64 = db
        .query_row(
            "SELECT seq FROM heads WHERE author = ?1",
            [key.as_slice()],
            |r| r.get(0),
        )
        .unwrap_or(0);
    for (seq, (doc, kind, plain)) in (head as u64 + 1..).zip(changes) {
        let header = ChangeHeader {
            workspace,
            doc: *doc,
            author,
            seq,
            kind: ChangeKind::Update(*kind),
        };
        let c = SealedChange::seal(header, plain, &data, &secrets.device_key).unwrap();
        db.execute(
            "INSERT INTO changes (doc, author, seq, kind, nonce, ciphertext, signature, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            rusqlite::params![
                doc.as_bytes().as_slice(),
                key.as_slice(),
                seq as i64,
                kind.code(),
                c.nonce().as_slice(),
                c.ciphertext(),
                c.signature().as_slice(),
            ],
        )
        .unwrap();
        db.execute(
            "INSERT INTO heads (author, seq) VALUES (?1, ?2)
             ON CONFLICT (author) DO UPDATE SET seq = excluded.seq",
            rusqlite::params![key.as_slice(), seq as i64],
        )
        .unwrap();
    }
}

fn envelope(body: &[u8]) -> Vec<u8> {
    Envelope {
        time_ms: 1_700_000_000_000,
        summary: "crafted".into(),
        body: body.to_vec(),
    }
    .encode()
}

fn id(hex: &str) -> DocId {
    hex.trim().parse().unwrap()
}

/// A free TCP port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every document `h` lists shows, and the whole workspace exports.
fn everything_reads(h: &Home, titles: &[&str]) {
    let ls = h.run(&["ls", "--json"]).ok().json();
    let listed: Vec<&str> = ls
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["title"].as_str())
        .collect();
    for t in titles {
        assert!(listed.contains(t), "{t} is not listed: {ls}");
        h.run(&["show", t]).ok();
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("export");
    h.run(&["export", dir.to_str().unwrap()]).ok();
    for t in titles {
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(t));
        assert!(found, "{t} is missing from the export");
    }
}

#[test]
fn a_member_sealing_bad_changes_breaks_nothing_for_the_others() {
    let relay = Relay::start();
    let a = Home::new();
    let alpha = id(&a.note("Alpha", "", "alpha text"));
    let rec = id(&a.record("Rec", r#"{"n": 1}"#));
    a.run(&["relay", "add", &relay.addr]).ok();
    let code = a.invite_code();
    let m = Home::joined(&code, "20");
    let b = Home::joined(&code, "20");

    // M seals garbage for A's note, garbage for the index, a record change
    // in an envelope version from the future, and a record change addressed
    // to the note. Each is kept (M's seqs stay contiguous, and sync
    // completes) and set aside.
    let index = DocId::from_bytes([0; 16]);
    let mut future = envelope(b"future record bytes");
    future[0] = 9;
    craft(
        &m,
        &[
            (alpha, DocKind::Note, envelope(b"not a loro update")),
            (index, DocKind::Index, envelope(&[0xff; 64])),
            (rec, DocKind::Record, future),
            (alpha, DocKind::Record, envelope(b"wrong kind")),
        ],
    );
    let s = sync_once(&m);
    assert!(s.contains("synced with 1 device"), "{s}");

    // A and B pull them from the relay: sync completes, and everything
    // still shows and exports.
    for h in [&a, &b] {
        let s = sync_once(h);
        assert!(s.contains("synced with 1 device"), "{s}");
        everything_reads(h, &["Alpha", "Rec"]);
        assert!(h.show("Alpha").contains("alpha text"));
        assert_eq!(h.show_json("Rec")["json"]["n"], 1);
        // The four changes nobody can read are named, per device.
        let status = h.run(&["status"]).ok().stdout();
        let line = status
            .lines()
            .find(|l| l.starts_with("unreadable "))
            .unwrap_or_else(|| panic!("no unreadable line: {status}"));
        assert!(
            line.contains("4 changes from ")
                && line.ends_with("could not be read (made by a newer version, or damaged)"),
            "{status}"
        );
        let doc = h.run(&["status", "Alpha"]).ok().stdout();
        assert!(doc.contains("2 changes from "), "{doc}");
        let history = h.run(&["history", "Alpha"]).ok();
        assert!(
            history.stdout().contains("could not be read"),
            "{}",
            history.stdout()
        );
        assert!(
            history.stderr().contains("2 changes from "),
            "{}",
            history.stderr()
        );
        // The wrong-kind change is set aside with that as its reason.
        let reason: String = h
            .db()
            .query_row(
                "SELECT reason FROM set_aside JOIN changes ON changes.id = set_aside.change
                 WHERE changes.doc = ?1 AND changes.kind != ?2",
                rusqlite::params![alpha.as_bytes().as_slice(), DocKind::Note.code()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(reason, "a record change addressed to a note");
    }

    // Later honest changes still arrive through the relay.
    b.note("From B", "", "written after the bad changes");
    b.run(&["set", "Rec", "/n", "2"]).ok();
    sync_once(&b);
    sync_once(&a);
    assert!(a.show("From B").contains("written after the bad changes"));
    assert_eq!(a.show_json("Rec")["json"]["n"], 2);

    // And directly: M delivers its changes to A's running daemon, then B
    // writes again; A's daemon keeps every document readable and takes B's.
    let port = free_port();
    let mut node = daemon_on(&a, port);
    let addr = format!("/ip4/127.0.0.1/tcp/{port}");
    for h in [&m, &b] {
        h.run(&["peer", "add", &addr]).ok();
    }
    sync_once(&m);
    b.note("Direct", "", "straight to A's daemon");
    sync_once(&b);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !a.run(&["ls"]).ok().stdout().contains("Direct") {
        assert!(
            Instant::now() < deadline,
            "B's note never reached A's daemon"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(a.show("Direct").contains("straight to A's daemon"));
    everything_reads(&a, &["Alpha", "Rec", "From B", "Direct"]);
    signal(&node, "-TERM");
    assert_eq!(wait_exit(&mut node).code(), Some(0));
}
