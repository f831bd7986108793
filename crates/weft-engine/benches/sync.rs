//! `make bench`, sync figures, each with its reference from the same run:
//!
//! - catch-up: a fresh device pulls 10,000 small documents (20 changes each:
//!   created, then 19 edits) from one peer, in process, through real
//!   sessions (frames encoded and decoded) into a real SQLite file; against
//!   plain SQLite inserts of the same rows, in transactions of the same size;
//! - reconnect: two devices, each with 1,000 changes the other lacks, meet
//!   again: time from the first hello until both hold everything.
//!
//! `WEFT_BENCH_QUICK=1` uses 1,000 documents; `WEFT_BENCH_ONLY=reconnect`
//! or `catch-up` runs one of the two.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::json;
use weft_core::WorkspaceId;
use weft_crypto::{DeviceKey, MemoryStore, SealedChange, WorkspaceKey, WorkspaceSecrets};
use weft_engine::{DocId, Workspace};
use weft_sync::{Credentials, Event, Limits, Log, Role, Session, verify_received};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Dev {
    ws: Workspace,
    _secrets: MemoryStore,
}

fn device(dir: &std::path::Path, name: &str, workspace: WorkspaceId, seed: u8) -> Dev {
    let secrets = MemoryStore::new();
    let ws = Workspace::create_in(
        &dir.join(name),
        name,
        workspace,
        WorkspaceSecrets {
            workspace_key: WorkspaceKey::from_bytes([7; 32]),
            device_key: DeviceKey::from_seed([seed; 32]),
        },
        &secrets,
    )
    .unwrap();
    Dev {
        ws,
        _secrets: secrets,
    }
}

/// Where a sync's time went: receiving (parse + verify + decrypt),
/// storing (SQLite + merging into open documents), sending (reading the
/// log + encoding).
#[derive(Default, Debug)]
struct Split {
    receive: Duration,
    store: Duration,
    send: Duration,
}

thread_local! {
    static SPLIT: std::cell::RefCell<Split> = std::cell::RefCell::new(Split::default());
}

fn add(f: impl FnOnce(&mut Split) -> &mut Duration, t: Instant) {
    let d = t.elapsed();
    SPLIT.with(|s| *f(&mut s.borrow_mut()) += d);
}

/// Drives one session's output and events; returns frames to send.
fn pump(ws: &mut Workspace, s: &mut Session, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let mut stored = Vec::new();
        while let Some(e) = s.poll_event() {
            if let Event::Store(list) = e {
                stored.extend(list);
            }
        }
        if !stored.is_empty() {
            let t = Instant::now();
            ws.ingest(stored).unwrap();
            add(|s| &mut s.store, t);
        }
        let t = Instant::now();
        let next = s.poll_transmit(now, &ws.sync_log()).unwrap();
        add(|s| &mut s.send, t);
        match next {
            Some(f) => out.push(f),
            None => {
                while s.poll_event().is_some() {}
                return out;
            }
        }
    }
}

/// Connects `a` and `b` over a perfect in-memory link and runs until both
/// hold the same vector and nothing is in flight. Returns the time taken
/// and the time spent receiving (parse, verify, decrypt).
fn sync_pair(a: &mut Workspace, b: &mut Workspace) -> (Duration, Duration) {
    SPLIT.with(|s| *s.borrow_mut() = Split::default());
    let t = Instant::now();
    let limits = Limits::default();
    let mut sa = a.sync_session(b.device_id(), Role::Device, limits.clone(), [1; 32], 0);
    let mut sb = b.sync_session(a.device_id(), Role::Device, limits, [2; 32], 0);
    let mut to_b = pump(a, &mut sa, 0);
    let mut to_a = pump(b, &mut sb, 0);
    while !to_a.is_empty() || !to_b.is_empty() {
        let mut next_a = Vec::new();
        for f in to_b.drain(..) {
            let t = Instant::now();
            sb.handle_frame(&f, 0, &b.sync_log()).unwrap();
            add(|s| &mut s.receive, t);
            next_a.extend(pump(b, &mut sb, 0));
        }
        let mut next_b = Vec::new();
        for f in to_a.drain(..) {
            let t = Instant::now();
            sa.handle_frame(&f, 0, &a.sync_log()).unwrap();
            add(|s| &mut s.receive, t);
            next_b.extend(pump(a, &mut sa, 0));
        }
        to_a = next_a;
        to_b = next_b;
    }
    let took = t.elapsed();
    assert_eq!(a.version_vector().unwrap(), b.version_vector().unwrap());
    SPLIT.with(|s| {
        let s = s.borrow();
        println!(
            "  (time in receive/verify {:.0} ms, store {:.0} ms, send {:.0} ms)",
            ms(s.receive),
            ms(s.store),
            ms(s.send)
        );
    });
    (took, SPLIT.with(|s| s.borrow().receive))
}

/// The reference: the same rows, inserted into a plain table of a fresh
/// SQLite file (same WAL + synchronous=NORMAL), 256 rows per transaction
/// (the protocol's batch).
/// One change as a plain row: doc, author, seq, serialized bytes.
type Row = (Vec<u8>, Vec<u8>, i64, Vec<u8>);

fn plain_inserts(dir: &std::path::Path, rows: &[Row]) -> Duration {
    let conn = rusqlite::Connection::open(dir.join("plain.sqlite")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE changes (id INTEGER PRIMARY KEY, doc BLOB NOT NULL, author BLOB NOT NULL,
             seq INTEGER NOT NULL, bytes BLOB NOT NULL, UNIQUE (author, seq));",
    )
    .unwrap();
    let t = Instant::now();
    for chunk in rows.chunks(256) {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO changes (doc, author, seq, bytes) VALUES (?1, ?2, ?3, ?4)",
                )
                .unwrap();
            for (doc, author, seq, bytes) in chunk {
                stmt.execute(params![doc, author, seq, bytes]).unwrap();
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    t.elapsed()
}

fn bench_catch_up(quick: bool) {
    let docs = if quick { 1_000 } else { 10_000 };
    let dir = tempfile::tempdir().unwrap();
    let workspace = WorkspaceId::from_bytes([5; 16]);
    let mut a = device(dir.path(), "a", workspace, 1);
    let setup = Instant::now();
    for d in 0..docs {
        let id: DocId =
            a.ws.create_record(&format!("record {d}"), &[], &json!({"n": 0, "name": "x"}))
                .unwrap();
        for e in 0..18 {
            a.ws.set_field(&id, "/n", &json!(e)).unwrap();
        }
    }
    let setup = setup.elapsed();
    let log = a.ws.sync_log();
    let vv = log.vector().unwrap();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    for (author, top) in vv.iter() {
        let mut after = 0;
        while after < *top {
            for c in log.changes_after(author, after, 4096, usize::MAX).unwrap() {
                let b = c.to_bytes();
                bytes += b.len();
                after = c.header().seq;
                rows.push((
                    c.header().doc.as_bytes().to_vec(),
                    author.public_key().to_vec(),
                    after as i64,
                    b,
                ));
            }
        }
    }
    let n = rows.len();
    let mut b = device(dir.path(), "b", workspace, 2);
    let (took, receive) = sync_pair(&mut a.ws, &mut b.ws);
    let reference = plain_inserts(dir.path(), &rows);
    let (serial, parallel, checked) = verify_reference(workspace, &rows);
    let secs = took.as_secs_f64();
    println!(
        "catch-up: fresh device pulls {docs} documents, {n} changes, {:.1} MB (source built in {:.1} s)",
        bytes as f64 / 1e6,
        setup.as_secs_f64()
    );
    println!(
        "  weft sync:          {:>9.0} ms  {:>9.0} changes/s  {:>6.1} MB/s",
        ms(took),
        n as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    println!(
        "  plain SQLite rows:  {:>9.0} ms  {:>9.0} rows/s     {:>6.1} MB/s",
        ms(reference),
        n as f64 / reference.as_secs_f64(),
        bytes as f64 / 1e6 / reference.as_secs_f64()
    );
    println!(
        "  ratio: weft takes {:.1}x the time of plain inserts",
        took.as_secs_f64() / reference.as_secs_f64()
    );
    let per = |d: Duration| d.as_secs_f64() * 1e6 / checked as f64;
    println!(
        "  verifying {checked} of these changes: one at a time on one core {:.1} us each, \
         as a session does (frames of 256, every core) {:.1} us each: {:.1}x",
        per(serial),
        per(parallel),
        serial.as_secs_f64() / parallel.as_secs_f64()
    );
    println!(
        "  share of the sync in receiving (parse, verify, decrypt) {:.0}%, in verifying \
         alone about {:.0}% (one at a time it would be about {:.0} ms more)",
        100.0 * receive.as_secs_f64() / secs,
        100.0 * per(parallel) * n as f64 / 1e6 / secs,
        (per(serial) - per(parallel)) * n as f64 / 1e3
    );
}

/// The reference for verification, on the same changes (at most 25,600 of
/// them): parse, verify and decrypt each alone on this thread, as a session
/// did once, against `weft_sync::verify_received` over frames of 256
/// changes, as a session does now. Returns both times and how many.
fn verify_reference(workspace: WorkspaceId, rows: &[Row]) -> (Duration, Duration, usize) {
    let keys = std::sync::Arc::new(WorkspaceKey::from_bytes([7; 32]).derive(&workspace));
    let sample: Vec<Vec<u8>> = rows.iter().take(25_600).map(|r| r.3.clone()).collect();
    let t = Instant::now();
    for b in &sample {
        let c = SealedChange::from_bytes(b).unwrap();
        assert_eq!(c.header().workspace, workspace);
        c.open(&keys.data).unwrap();
    }
    let serial = t.elapsed();
    let creds = Credentials::Member(keys);
    let t = Instant::now();
    for frame in sample.chunks(256) {
        let out = verify_received(frame, &workspace, &creds);
        assert!(out.iter().all(Result::is_ok));
    }
    (serial, t.elapsed(), sample.len())
}

fn bench_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = WorkspaceId::from_bytes([6; 16]);
    let mut a = device(dir.path(), "a", workspace, 3);
    let mut b = device(dir.path(), "b", workspace, 4);
    let ra =
        a.ws.create_record("shared a", &[], &json!({"n": 0}))
            .unwrap();
    let rb =
        a.ws.create_record("shared b", &[], &json!({"n": 0}))
            .unwrap();
    sync_pair(&mut a.ws, &mut b.ws);
    // Apart: 1,000 changes on each side.
    for i in 0..1000 {
        a.ws.set_field(&ra, "/n", &json!(i)).unwrap();
        b.ws.set_field(&rb, "/n", &json!(i)).unwrap();
    }
    let (took, _) = sync_pair(&mut a.ws, &mut b.ws);
    println!(
        "reconnect: 1,000 pending changes on each side, hello to converged: {:.1} ms (goal < 200 ms)",
        ms(took)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let quick = std::env::var("WEFT_BENCH_QUICK").is_ok_and(|v| v == "1");
    let only = std::env::var("WEFT_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "reconnect" {
        bench_reconnect();
    }
    if only.is_empty() || only == "catch-up" {
        bench_catch_up(quick);
    }
}
