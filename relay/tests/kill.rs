//! The relay process SIGKILLed under load from 100 device clients, then
//! restarted on the same address: every change it acknowledged is still
//! there, and a real Weft device (a weft-engine node) reconnects, pushes
//! what it wrote during the outage and gets back in sync by itself.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Device, Workspace};
use libp2p::Multiaddr;
use weft_core::{DocId, WorkspaceId};
use weft_crypto::{DeviceKey, MemoryStore, WorkspaceKey, WorkspaceSecrets};
use weft_engine::node::{self, NodeConfig, NodeEvent};

const CLIENTS: usize = 100;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The weft-relay binary on `port`, with its data in `dir`.
fn spawn_relay(dir: &std::path::Path, port: u16) -> (Child, Multiaddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-relay"))
        .args([
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            "--http",
            "off",
            "--shards",
            "2",
            // A hundred devices on one loopback address: the per-source
            // limits are for strangers, not this test.
            "--max-connections-per-source",
            "0",
            "--max-streams-per-source",
            "0",
            "--registrations-per-hour-per-source",
            "0",
            "--registrations-per-hour",
            "0",
            "--control-per-minute",
            "0",
            "--source-rate",
            "1GiB",
            "--source-burst",
            "1GiB",
            "--source-frame-rate",
            "1000000",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let addr = out
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.trim().strip_prefix("weft relay add ").map(str::to_owned))
        .expect("the relay printed its address");
    (child, addr.parse().unwrap())
}

/// Kills the relay when the test ends, however it ends.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stored_by(db: &rusqlite::Connection, author: &weft_core::DeviceId) -> u64 {
    db.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE author = ?1",
        [author.public_key().as_slice()],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_under_load_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut relay, addr) = spawn_relay(dir.path(), port);

    // A real device in its own workspace, syncing through the relay.
    let home = tempfile::tempdir().unwrap();
    let mut ews = weft_engine::Workspace::create_in(
        home.path(),
        "kill test",
        WorkspaceId::random(),
        WorkspaceSecrets {
            workspace_key: WorkspaceKey::generate(),
            device_key: DeviceKey::generate(),
        },
        &MemoryStore::new(),
    )
    .unwrap();
    ews.add_relay(&addr.to_string()).unwrap();
    ews.create_note("before", &[], "written before the crash")
        .unwrap();
    let e = node::start(
        ews,
        NodeConfig {
            port: 0,
            mdns: false,
            device_name: "e".into(),
            peers: Vec::new(),
            ..NodeConfig::default()
        },
    )
    .unwrap();
    let mut events = e.subscribe();
    let synced = async |events: &mut tokio::sync::broadcast::Receiver<NodeEvent>| {
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                if let Ok(NodeEvent::Synced { .. }) = events.recv().await {
                    return;
                }
            }
        })
        .await
        .is_ok()
    };
    assert!(
        synced(&mut events).await,
        "E never got in sync with the relay"
    );

    // 100 clients, two devices each of 50 workspaces, each pushing a
    // change every 50 ms.
    let mut spaces = Vec::new();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        if i % 2 == 0 {
            spaces.push(Workspace::new());
        }
        let ws = &spaces[i / 2];
        let mut d = Device::connect_with_seed(&addr, ws, [i as u8 + 1; 32]).await;
        if i % 2 == 0 {
            d.register().await;
        }
        d.sync().await;
        clients.push(Arc::new(d));
    }
    for c in &clients {
        assert!(
            c.wait_until(Duration::from_secs(30), |s| s.open).await,
            "a client's session did not open"
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let doc = DocId::random();
    let mut load = Vec::new();
    for c in &clients {
        let (c, stop) = (c.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                c.push(doc, format!("change {n}").as_bytes());
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    relay.kill().unwrap();
    relay.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    // What each client had been told the relay holds of its own changes.
    let acked: Vec<(weft_core::DeviceId, u64)> = clients
        .iter()
        .map(|c| (c.id, c.lock().remote_has.get(&c.id)))
        .collect();
    let total_acked: u64 = acked.iter().map(|(_, s)| s).sum();
    assert!(
        total_acked > CLIENTS as u64,
        "the load did not get going: {total_acked} changes acknowledged"
    );
    eprintln!("killed with {total_acked} changes acknowledged to {CLIENTS} clients");
    // E keeps writing while the relay is down.
    for i in 0..5 {
        e.call(move |ws| {
            ws.create_note(&format!("during {i}"), &[], "offline")
                .unwrap()
        })
        .await
        .unwrap();
    }

    let (relay2, addr2) = spawn_relay(dir.path(), port);
    let _relay2 = Reap(relay2);
    assert_eq!(addr2, addr, "the restarted relay has another address");
    {
        let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
        for (author, seq) in &acked {
            let held = stored_by(&db, author);
            assert!(
                held >= *seq,
                "the relay acknowledged {seq} changes of {author} but holds {held} after the crash"
            );
        }
    }

    // E reconnects on its own (backoff redial), registers again if need be
    // and pushes what it wrote meanwhile.
    let me = e.device();
    let mine = e
        .call(move |ws| ws.version_vector().unwrap().get(&me))
        .await
        .unwrap();
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let db = rusqlite::Connection::open(dir.path().join("relay.db")).unwrap();
        if stored_by(&db, &me) >= mine {
            break;
        }
        assert!(
            Instant::now() < end,
            "E did not push its {mine} changes to the restarted relay within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    e.shutdown().await.unwrap();

    // A fresh member of the first workspace gets everything the relay
    // acknowledged to its two devices.
    let mut fresh = Device::connect(&addr, &spaces[0]).await;
    fresh.sync().await;
    let want = {
        let mut v = weft_core::VersionVector::new();
        for (a, s) in &acked[..2] {
            v.set(*a, *s);
        }
        v
    };
    assert!(
        fresh.wait_holds(&want, Duration::from_secs(60)).await,
        "a fresh device did not receive every acknowledged change"
    );
}
