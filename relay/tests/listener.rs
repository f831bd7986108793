//! PostgreSQL: a relay node keeps waking its sessions for other nodes'
//! commits while an uncommitted row id (a transaction held open) sits below
//! more than a page of committed rows. Skipped without
//! `WEFT_TEST_DATABASE_URL` (run under `scripts/with-postgres.sh`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;
mod pg;

use common::{Device, WAIT, Workspace, relay_config, start_relay};
use weft_core::{DocId, VersionVector};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_ups_continue_past_a_held_gap_under_a_full_page() {
    let Some(db) = pg::TestDb::create() else {
        return;
    };
    let (d1, d2) = (
        tempfile::tempdir().expect("temp dir"),
        tempfile::tempdir().expect("temp dir"),
    );
    let mut c1 = relay_config(d1.path());
    c1.database = Some(db.url.clone());
    let mut c2 = relay_config(d2.path());
    c2.database = Some(db.url.clone());
    let (n1, addr1) = start_relay(c1).await;
    let (n2, addr2) = start_relay(c2).await;

    // A transaction takes a row id and stays open (the gap); 10,001 rows
    // commit above it, more than the listener reads at once.
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let url = db.url.clone();
    let holder = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let mut other = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        let mut tx = c.transaction().expect("begin");
        let filler = vec![9u8; 16];
        tx.execute(
            "INSERT INTO changes (reg, workspace, author, seq, stored_ms, sealed) VALUES (0, $1, $1, 1, 0, '\\x00')",
            &[&filler],
        )
        .expect("the held row");
        other
            .execute(
                "INSERT INTO changes (reg, workspace, author, seq, stored_ms, sealed)
                 SELECT 0, $1, $1, g, 0, '\\x00' FROM generate_series(2, 10002) g",
                &[&filler],
            )
            .expect("rows above the gap");
        other.batch_execute("NOTIFY weft_changes").expect("notify");
        held_tx.send(()).expect("signal");
        // Held until the test has seen wake-ups past it.
        let _ = hold_rx.recv();
        drop(tx);
    });
    held_rx.recv().expect("the gap is held");

    // Another workspace: A on node 1, B on node 2. B's changes reach A
    // only through node 1's listener.
    let ws = Workspace::new();
    let mut a = Device::connect(&addr1, &ws).await;
    a.register().await;
    a.sync().await;
    let mut b = Device::connect(&addr2, &ws).await;
    b.sync().await;
    assert!(
        a.wait_until(WAIT, |s| s.open).await && b.wait_until(WAIT, |s| s.open).await,
        "sessions did not open"
    );
    let doc = DocId::random();
    for round in 1..=3u64 {
        b.push(doc, format!("round {round}").as_bytes());
        let mut want = VersionVector::new();
        want.set(b.id, round);
        assert!(
            a.wait_holds(&want, WAIT).await,
            "round {round}: node 1 stopped waking its sessions with a gap held under 10,001 committed rows (A holds {:?})",
            a.vector()
        );
    }
    hold_tx.send(()).expect("release");
    holder.join().expect("holder thread");
    n1.shutdown().await;
    n2.shutdown().await;
    drop(db);
}
