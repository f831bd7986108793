//! The relay in process, with real devices over libp2p: store-and-forward,
//! blindness, hostile input, /health and /metrics, shutdown, and two nodes
//! on one PostgreSQL database.

// Test code: failing loudly is the point (the workspace denies these
// lints in non-test code only).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;
mod pg;

use std::time::Duration;

use common::{Device, End, WAIT, Workspace, http_get, metric, relay_config, start_relay};
use futures::{AsyncReadExt, AsyncWriteExt};
use weft_core::{DocId, VersionVector};
use weft_relay::metrics::Rejection;
use weft_sync::relay::{ControlError, RequestKind, Response};
use weft_sync::{MAX_FRAME_LEN, RefuseCode, RejectCode};

fn payloads(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag} #{i}").into_bytes()).collect()
}

fn vv_of(list: &[(weft_core::DeviceId, u64)]) -> VersionVector {
    let mut v = VersionVector::new();
    for (a, s) in list {
        v.set(*a, *s);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_through_the_relay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    let mut b = Device::connect(&addr, &ws).await;
    a.sync().await;
    b.sync().await;
    let doc = DocId::random();
    a.push_many(doc, &payloads("from a", 10));
    b.push_many(doc, &payloads("from b", 7));
    let want = vv_of(&[(a.id, 10), (b.id, 7)]);
    assert!(
        a.wait_holds(&want, WAIT).await,
        "A did not receive B's 7 changes within 10 s (holds {:?})",
        a.vector()
    );
    assert!(
        b.wait_holds(&want, WAIT).await,
        "B did not receive A's 10 changes within 10 s (holds {:?})",
        b.vector()
    );
    // B can read what A wrote.
    assert_eq!(
        b.lock().log.plaintext.get(&(a.id, 3)).map(Vec::as_slice),
        Some(b"from a #2".as_slice())
    );
    // Live: an edit after the catch-up arrives too.
    a.push(doc, b"later");
    assert!(
        b.wait_holds(&vv_of(&[(a.id, 11)]), WAIT).await,
        "B did not receive A's live edit within 10 s"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_and_forward_to_a_device_that_comes_later() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    a.sync().await;
    let doc = DocId::random();
    a.push_many(doc, &payloads("offline", 25));
    assert!(
        a.wait_acked(WAIT).await,
        "the relay did not acknowledge A's 25 changes within 10 s"
    );
    let a_id = a.id;
    a.disconnect().await;
    let mut b = Device::connect(&addr, &ws).await;
    b.sync().await;
    assert!(
        b.wait_holds(&vv_of(&[(a_id, 25)]), WAIT).await,
        "B, connecting after A left, did not receive A's 25 changes within 10 s (holds {:?})",
        b.vector()
    );
    assert_eq!(
        b.lock().log.plaintext.get(&(a_id, 25)).map(Vec::as_slice),
        Some(b"offline #24".as_slice())
    );
    relay.shutdown().await;
}

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> bool {
    ["relay.db", "relay.db-wal"].iter().any(|f| {
        std::fs::read(dir.join(f))
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_stores_only_ciphertext() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    a.sync().await;
    let secret = b"the launch code is 0000, tell no one".to_vec();
    let sent = a.push_many(DocId::random(), &vec![secret.clone(); 5]);
    assert!(a.wait_acked(WAIT).await, "no acknowledgement within 10 s");
    // The test looks at the right files: the ciphertext is there...
    assert!(
        files_contain(dir.path(), &sent[0].ciphertext()[..32]),
        "test setup: the sealed change is not in the relay's SQLite files"
    );
    // ...and the plaintext is not.
    assert!(
        !files_contain(dir.path(), &secret),
        "the plaintext payload occurs in the relay's SQLite file"
    );
    assert!(!files_contain(dir.path(), b"the launch code"));
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_relay_auth_proof_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut owner = Device::connect(&addr, &ws).await;
    owner.register().await;
    // Same workspace id, another workspace key.
    let impostor_ws = Workspace {
        id: ws.id,
        keys: Workspace::new().keys,
    };
    let mut impostor = Device::connect(&addr, &impostor_ws).await;
    impostor.sync().await;
    impostor.push(DocId::random(), b"let me in");
    match impostor.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::NotMember,
            ..
        }) => {}
        e => panic!("expected a NotMember refusal, got {e:?}"),
    }
    assert_eq!(relay.metrics().rejections(Rejection::Proof), 1);
    let (_, m) = http_get(relay.http_addr().expect("http"), "/metrics").await;
    assert_eq!(
        metric(&m, "weft_relay_rejections_total{reason=\"proof\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(metric(&m, "weft_relay_changes_in_total"), Some(0.0));
    // A control request signed with a key no registration holds: the
    // relay knows no such workspace.
    let req = impostor.request(RequestKind::Usage);
    match impostor.control(&req).await {
        Response::Error {
            code: ControlError::UnknownWorkspace,
            ..
        } => {}
        r => panic!("expected UnknownWorkspace, got {r:?}"),
    }
    // Registering the id with another key makes a registration of its own,
    // which does not take the workspace over.
    impostor.register().await;
    owner.sync().await;
    owner.push(DocId::random(), b"mine");
    assert!(owner.wait_acked(WAIT).await, "the owner could not sync");
    let mut owner2 = Device::connect(&addr, &ws).await;
    owner2.sync().await;
    assert!(
        owner2.wait_holds(&owner.vector(), WAIT).await,
        "the owner's second device did not get the owner's change"
    );
    assert_eq!(
        owner2.lock().log.changes.len(),
        1,
        "only the owner's author reached the owner's device"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_workspace_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut d = Device::connect(&addr, &ws).await;
    d.sync().await;
    match d.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::UnknownWorkspace,
            ..
        }) => {}
        e => panic!("expected an UnknownWorkspace refusal, got {e:?}"),
    }
    let req = d.request(RequestKind::Usage);
    match d.control(&req).await {
        Response::Error {
            code: ControlError::UnknownWorkspace,
            ..
        } => {}
        r => panic!("expected UnknownWorkspace, got {r:?}"),
    }
    assert!(relay.metrics().rejections(Rejection::UnknownWorkspace) >= 1);
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badly_signed_registration_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut d = Device::connect(&addr, &ws).await;
    let mut req = d.request(RequestKind::Register);
    req.proof[10] ^= 0x40;
    match d.control(&req).await {
        Response::Error {
            code: ControlError::ProofFailed,
            ..
        } => {}
        r => panic!("expected ProofFailed, got {r:?}"),
    }
    // Signed for another device: replayed by this one, it fails too.
    let other = weft_crypto::DeviceKey::generate().device_id();
    let replay = weft_sync::relay::Request::new(
        RequestKind::Register,
        ws.id,
        &ws.keys.relay_auth,
        &d.relay_id,
        &other,
    );
    match d.control(&replay).await {
        Response::Error {
            code: ControlError::ProofFailed,
            ..
        } => {}
        r => panic!("expected ProofFailed for a replayed request, got {r:?}"),
    }
    // Nothing was registered: a sync is refused.
    d.sync().await;
    match d.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::UnknownWorkspace,
            ..
        }) => {}
        e => panic!("expected UnknownWorkspace after a failed registration, got {e:?}"),
    }
    // The genuine registration works, and reports usage.
    let req = d.request(RequestKind::Register);
    match d.control(&req).await {
        Response::Ok(u) => assert_eq!(u.changes, 0),
        r => panic!("registration refused: {r:?}"),
    }
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_ends_the_stream_and_the_relay_serves_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut bad = Device::connect(&addr, &ws).await;
    bad.register().await;
    for before_hello in [true, false] {
        let mut s = bad.raw_stream(weft_net::SYNC_PROTOCOL).await;
        if !before_hello {
            // A valid session start, then the oversized frame.
            let hello = weft_sync::Frame::Hello(weft_sync::Hello {
                min_version: weft_sync::MIN_PROTOCOL_VERSION,
                max_version: weft_sync::PROTOCOL_VERSION,
                features: 0,
                role: weft_sync::Role::Device,
                workspace: ws.id,
                nonce: [1; 32],
            })
            .encode();
            let mut f = (hello.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&hello);
            s.write_all(&f).await.expect("write hello");
        }
        let len = u32::try_from(MAX_FRAME_LEN + 1).expect("fits u32");
        let mut f = len.to_be_bytes().to_vec();
        f.extend_from_slice(&[0x06; 1024]);
        let _ = s.write_all(&f).await;
        let _ = s.flush().await;
        // The relay ends the stream (what it sent before is read past).
        let ended = tokio::time::timeout(WAIT, async {
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "the relay kept the stream open after an oversized frame (before hello: {before_hello})"
        );
    }
    assert!(relay.metrics().rejections(Rejection::Malformed) >= 2);
    // Others (and the same connection) are still served.
    let mut good = Device::connect(&addr, &ws).await;
    good.sync().await;
    good.push(DocId::random(), b"still here");
    assert!(
        good.wait_acked(WAIT).await,
        "the relay stopped serving after an oversized frame"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quota_refuses_the_batch_and_stores_none_of_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = relay_config(dir.path());
    cfg.quota_bytes = 8 * 1024;
    let (relay, addr) = start_relay(cfg).await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    a.sync().await;
    let doc = DocId::random();
    a.push_many(doc, &[vec![1u8; 1000], vec![2u8; 1000]]);
    assert!(
        a.wait_acked(WAIT).await,
        "the first changes were not stored"
    );
    // Ten 1 KB changes in one batch: past the 8 KiB quota.
    a.push_many(doc, &vec![vec![3u8; 1000]; 10]);
    match a.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::QuotaExceeded,
            message,
        }) => assert!(message.contains("quota"), "{message}"),
        e => panic!("expected a QuotaExceeded refusal, got {e:?}"),
    }
    assert_eq!(relay.metrics().rejections(Rejection::Quota), 1);
    relay.shutdown().await;
    let s = weft_relay::store::open(&format!("sqlite:{}", dir.path().join("relay.db").display()))
        .expect("open the relay's store");
    let regs = s.registrations(&ws.id).expect("registrations");
    let [(reg, _)] = regs.as_slice() else {
        panic!("one registration, found {regs:?}");
    };
    assert_eq!(
        s.vector(reg).expect("vector"),
        vv_of(&[(a.id, 2)]),
        "nothing of the refused batch may be stored"
    );
    assert_eq!(s.usage(reg).expect("usage").changes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_while_an_honest_device_syncs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = relay_config(dir.path());
    cfg.rate_bytes = 32 * 1024;
    cfg.burst_bytes = 32 * 1024;
    cfg.rate_patience = Duration::from_millis(500);
    let (relay, addr) = start_relay(cfg).await;
    let ws = Workspace::new();
    let mut flood = Device::connect(&addr, &ws).await;
    flood.register().await;
    let mut honest = Device::connect(&addr, &ws).await;
    flood.sync().await;
    honest.sync().await;
    let doc = DocId::random();
    // 2 MiB against a 32 KiB/s limit.
    flood.push_many(doc, &vec![vec![0xAB; 16 * 1024]; 128]);
    honest.push_many(doc, &payloads("honest", 3));
    match flood.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::RateLimited,
            ..
        }) => {}
        e => panic!("expected a RateLimited refusal for the flood, got {e:?}"),
    }
    assert!(relay.metrics().rejections(Rejection::RateLimited) >= 1);
    assert!(
        honest.wait_acked(WAIT).await,
        "the honest device's 3 changes were not acknowledged within 10 s"
    );
    let mut late = Device::connect(&addr, &ws).await;
    late.sync().await;
    assert!(
        late.wait_holds(&vv_of(&[(honest.id, 3)]), WAIT).await,
        "the honest device's changes did not reach another device within 10 s"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_stored_change_is_rejected_by_the_receiving_device() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    let mut b = Device::connect(&addr, &ws).await;
    a.sync().await;
    b.sync().await;
    let doc = DocId::random();
    a.push_many(doc, &payloads("a", 3));
    b.push_many(doc, &payloads("b", 4));
    assert!(a.wait_acked(WAIT).await && b.wait_acked(WAIT).await);
    let (a_id, b_id) = (a.id, b.id);
    a.disconnect().await;
    b.disconnect().await;
    // Flip a ciphertext byte of A's second change: it still parses, its
    // signature no longer verifies.
    let db = rusqlite::Connection::open(dir.path().join("relay.db")).expect("open relay.db");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    let sealed: Vec<u8> = db
        .query_row(
            "SELECT sealed FROM changes WHERE author = ?1 AND seq = 2",
            [a_id.public_key().as_slice()],
            |r| r.get(0),
        )
        .expect("A's second change is stored");
    let mut forged = sealed.clone();
    let at = weft_crypto::HEADER_LEN + weft_crypto::NONCE_LEN + 4;
    forged[at] ^= 0x01;
    assert!(weft_crypto::SealedChange::from_bytes(&forged).is_ok());
    db.execute(
        "UPDATE changes SET sealed = ?1 WHERE author = ?2 AND seq = 2",
        rusqlite::params![forged, a_id.public_key().as_slice()],
    )
    .expect("tamper");
    drop(db);
    let mut c = Device::connect(&addr, &ws).await;
    c.sync().await;
    assert!(
        c.wait_holds(&vv_of(&[(a_id, 1), (b_id, 4)]), WAIT).await,
        "C did not receive the untampered changes within 10 s (holds {:?})",
        c.vector()
    );
    assert!(
        c.wait_until(WAIT, |s| !s.rejected.is_empty()).await,
        "C did not reject the tampered change"
    );
    {
        let st = c.lock();
        assert_eq!(
            st.rejected,
            vec![(Some((a_id, 2)), RejectCode::BadSignature)]
        );
        assert_eq!(
            weft_sync::Log::vector(&st.log).expect("vector").get(&a_id),
            1
        );
        assert_eq!(
            st.log.plaintext.get(&(b_id, 4)).map(Vec::as_slice),
            Some(b"b #3".as_slice())
        );
    }
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let http = relay.http_addr().expect("serving http");
    // Loopback only, no --external: healthy, but the operator is told that
    // no circuit slot will ever be granted.
    let (code, health) = http_get(http, "/health").await;
    assert_eq!(code, 200);
    assert!(health.starts_with("ok\n"), "{health}");
    assert!(health.contains("external_addresses: 0\n"), "{health}");
    assert!(
        health.contains("circuits: warning: no external address"),
        "{health}"
    );
    assert_eq!(http_get(http, "/nope").await.0, 404);
    // With --external naming a public address, circuits are fine.
    let dir2 = tempfile::tempdir().expect("temp dir");
    let mut c2 = relay_config(dir2.path());
    c2.external = vec!["/ip4/203.0.113.5/tcp/4467".parse().expect("multiaddr")];
    let (r2, _) = start_relay(c2).await;
    let (_, health) = http_get(r2.http_addr().expect("http"), "/health").await;
    assert!(health.contains("circuits: ok\n"), "{health}");
    r2.shutdown().await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    a.sync().await;
    a.push_many(DocId::random(), &payloads("m", 12));
    assert!(a.wait_acked(WAIT).await, "no acknowledgement within 10 s");
    let (code, m) = http_get(http, "/metrics").await;
    assert_eq!(code, 200);
    assert_eq!(metric(&m, "weft_relay_connected_peers"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "weft_relay_changes_in_total"), Some(12.0), "{m}");
    assert_eq!(metric(&m, "weft_relay_workspaces"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "weft_relay_stored_changes"), Some(12.0), "{m}");
    assert_eq!(metric(&m, "weft_relay_sessions"), Some(1.0), "{m}");
    a.disconnect().await;
    let gone = async {
        loop {
            let (_, m) = http_get(http, "/metrics").await;
            if metric(&m, "weft_relay_connected_peers") == Some(0.0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(
        tokio::time::timeout(WAIT, gone).await.is_ok(),
        "connected_peers did not drop to 0 within 10 s of the device leaving"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_every_acknowledged_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    let first_peer = relay.peer();
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    a.sync().await;
    a.push_many(DocId::random(), &payloads("durable", 40));
    assert!(a.wait_acked(WAIT).await, "no acknowledgement within 10 s");
    let a_id = a.id;
    relay.shutdown().await;
    a.disconnect().await;
    let (relay, addr) = start_relay(relay_config(dir.path())).await;
    assert_eq!(
        relay.peer(),
        first_peer,
        "the relay's identity survives a restart"
    );
    let mut b = Device::connect(&addr, &ws).await;
    b.sync().await;
    assert!(
        b.wait_holds(&vv_of(&[(a_id, 40)]), WAIT).await,
        "the restarted relay does not serve all 40 changes (B holds {:?})",
        b.vector()
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_database() {
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
    let ws = Workspace::new();
    let mut a = Device::connect(&addr1, &ws).await;
    a.register().await;
    let mut b = Device::connect(&addr2, &ws).await;
    a.sync().await;
    b.sync().await;
    assert!(
        a.wait_until(WAIT, |s| s.open).await && b.wait_until(WAIT, |s| s.open).await,
        "sessions did not open"
    );
    let doc = DocId::random();
    a.push_many(doc, &payloads("a", 10));
    assert!(
        b.wait_holds(&vv_of(&[(a.id, 10)]), WAIT).await,
        "B (node 2) did not receive A's 10 changes (node 1) within 10 s (holds {:?})",
        b.vector()
    );
    assert!(
        n2.metrics()
            .remote_wakeups
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    b.push_many(doc, &payloads("b", 5));
    assert!(
        a.wait_holds(&vv_of(&[(b.id, 5)]), WAIT).await,
        "A (node 1) did not receive B's 5 changes (node 2) within 10 s (holds {:?})",
        a.vector()
    );
    assert!(
        n1.metrics()
            .remote_wakeups
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    a.disconnect().await;
    b.disconnect().await;
    n1.shutdown().await;
    n2.shutdown().await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_forget_over_the_control_protocol() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = relay_config(dir.path());
    cfg.quota_bytes = 1 << 20;
    let (relay, addr) = start_relay(cfg).await;
    let ws = Workspace::new();
    let mut a = Device::connect(&addr, &ws).await;
    a.register().await;
    a.sync().await;
    let sent = a.push_many(DocId::random(), &payloads("forget me", 6));
    assert!(a.wait_acked(WAIT).await, "no acknowledgement within 10 s");
    let bytes: u64 = sent.iter().map(|c| c.to_bytes().len() as u64).sum();
    assert!(
        files_contain(dir.path(), sent[2].ciphertext()),
        "test setup: the sealed change is in the relay's files before the forget"
    );
    let req = a.request(RequestKind::Usage);
    match a.control(&req).await {
        Response::Ok(u) => assert_eq!((u.changes, u.bytes, u.quota), (6, bytes, 1 << 20)),
        r => panic!("usage refused: {r:?}"),
    }
    let req = a.request(RequestKind::Forget);
    match a.control(&req).await {
        Response::Ok(u) => assert_eq!((u.changes, u.bytes), (6, bytes), "what was deleted"),
        r => panic!("forget refused: {r:?}"),
    }
    // The live session is ended with the reason.
    match a.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::UnknownWorkspace,
            ..
        }) => {}
        e => panic!("expected the session to end with UnknownWorkspace, got {e:?}"),
    }
    // Nothing of the workspace is left, and a new session is refused.
    let db = rusqlite::Connection::open(dir.path().join("relay.db")).expect("open relay.db");
    let rows: i64 = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM changes WHERE workspace = ?1) + (SELECT COUNT(*) FROM heads WHERE workspace = ?1) + (SELECT COUNT(*) FROM workspaces WHERE id = ?1)",
            [ws.id.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(rows, 0, "rows of the forgotten workspace remain");
    drop(db);
    assert!(
        !files_contain(dir.path(), sent[2].ciphertext()),
        "the forgotten changes' bytes remain in the relay's SQLite files"
    );
    let mut b = Device::connect(&addr, &ws).await;
    b.sync().await;
    match b.wait_end(WAIT).await {
        Some(End::Refused {
            code: RefuseCode::UnknownWorkspace,
            ..
        }) => {}
        e => panic!("expected UnknownWorkspace after the forget, got {e:?}"),
    }
    // Registering the forgotten workspace again (same key) is refused:
    // it does not silently come back.
    let req = b.request(RequestKind::Register);
    match b.control(&req).await {
        Response::Error {
            code: ControlError::Forgotten,
            message,
        } => assert!(message.contains("forgotten"), "{message}"),
        r => panic!("expected Forgotten, got {r:?}"),
    }
    assert_eq!(relay.metrics().rejections(Rejection::Forgotten), 1);
    relay.shutdown().await;
}
