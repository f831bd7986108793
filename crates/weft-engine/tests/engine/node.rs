//! The fast network tier: nodes in one process over real libp2p sockets on
//! loopback (mDNS off: it skips loopback, so peers are added by address).

use std::time::Duration;

use tokio::sync::broadcast;
use weft_core::WorkspaceId;
use weft_crypto::{DeviceKey, MemoryStore, WorkspaceKey, WorkspaceSecrets};
use weft_engine::Workspace;
use weft_engine::node::{self, NodeConfig, NodeEvent, NodeHandle};

const WAIT: Duration = Duration::from_secs(20);

fn device(
    dir: &tempfile::TempDir,
    name: &str,
    workspace: [u8; 16],
    key: [u8; 32],
    seed: u8,
) -> Workspace {
    // The MemoryStore only needs to live through create_in: the node owns
    // the open Workspace from then on.
    Workspace::create_in(
        &dir.path().join(name),
        name,
        WorkspaceId::from_bytes(workspace),
        WorkspaceSecrets {
            workspace_key: WorkspaceKey::from_bytes(key),
            device_key: DeviceKey::from_seed([seed; 32]),
        },
        &MemoryStore::new(),
    )
    .unwrap()
}

fn loopback() -> NodeConfig {
    NodeConfig {
        port: 0,
        mdns: false,
        device_name: "test".into(),
        peers: Vec::new(),
        ..NodeConfig::default()
    }
}

/// A loopback address `node` listens on (TCP).
async fn tcp_addr(node: &NodeHandle) -> node::Multiaddr {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let addrs = node.listen_addrs().await.unwrap();
        if let Some(a) = addrs
            .into_iter()
            .find(|a| a.to_string().starts_with("/ip4/127.0.0.1/tcp/"))
        {
            return a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for(
    rx: &mut broadcast::Receiver<NodeEvent>,
    what: &str,
    mut pred: impl FnMut(&NodeEvent) -> bool,
) -> NodeEvent {
    let r = tokio::time::timeout(WAIT, async {
        loop {
            match rx.recv().await {
                Ok(ev) if pred(&ev) => return ev,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("node stopped"),
            }
        }
    })
    .await;
    r.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn titles(node: &NodeHandle) -> Vec<String> {
    let mut t: Vec<String> = node
        .call(|ws| ws.list(false).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.title)
        .collect();
    t.sort();
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_flow_both_ways_between_two_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let mut a_ws = device(&dir, "a", [1; 16], [7; 32], 1);
    a_ws.create_note("Before", &[], "written before the peers met")
        .unwrap();
    let b_ws = device(&dir, "b", [1; 16], [7; 32], 2);
    let a = node::start(a_ws, loopback()).unwrap();
    let b = node::start(b_ws, loopback()).unwrap();
    let mut a_ev = a.subscribe();
    let mut b_ev = b.subscribe();
    b.keep(tcp_addr(&a).await).await.unwrap();
    wait_for(&mut b_ev, "B in sync with A", |e| {
        matches!(e, NodeEvent::Synced { .. })
    })
    .await;
    assert_eq!(titles(&b).await, ["Before"]);

    // Live: an edit on either side is pushed to the other.
    a.call(|ws| ws.create_note("From A", &[], "hello").map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    wait_for(&mut b_ev, "A's note on B", |e| {
        matches!(e, NodeEvent::DocsChanged { .. })
    })
    .await;
    // B acknowledges what it stored at once, so A knows B has it (what
    // `weft sync --once` and `weft status DOC` go by) in well under the 15 s
    // keepalive.
    let t = std::time::Instant::now();
    loop {
        let s = a.sessions().await.unwrap();
        if s.iter().any(|s| s.in_sync) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "A never learned that B has its note: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.call(|ws| {
        ws.create_record("From B", &[], &serde_json::json!({"n": 1}))
            .map(|_| ())
    })
    .await
    .unwrap()
    .unwrap();
    wait_for(&mut a_ev, "B's record on A", |e| {
        matches!(e, NodeEvent::DocsChanged { .. })
    })
    .await;
    assert_eq!(titles(&a).await, ["Before", "From A", "From B"]);
    assert_eq!(titles(&b).await, ["Before", "From A", "From B"]);
    let md = b
        .call(|ws| {
            let doc = ws.resolve("From A", false).unwrap().doc;
            ws.note_markdown(&doc).unwrap()
        })
        .await
        .unwrap();
    assert_eq!(md.trim(), "hello");

    // The peer table remembers who holds what after the nodes stop.
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    let b_again = Workspace::open_in(&dir.path().join("b"), &reopen_secrets(2)).unwrap();
    let peers = b_again.peers().unwrap();
    assert_eq!(peers.len(), 1, "{peers:?}");
    assert!(peers[0].last_sync_ms.is_some());
}

fn reopen_secrets(seed: u8) -> MemoryStore {
    let s = MemoryStore::new();
    use weft_crypto::SecretStore;
    s.save(
        &WorkspaceId::from_bytes([1; 16]),
        &WorkspaceSecrets {
            workspace_key: WorkspaceKey::from_bytes([7; 32]),
            device_key: DeviceKey::from_seed([seed; 32]),
        },
    )
    .unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_of_another_workspace_is_refused_and_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut a_ws = device(&dir, "a", [1; 16], [7; 32], 1);
    a_ws.create_note("Secret plans", &[], "members only")
        .unwrap();
    // Same workspace id, wrong key: it cannot produce the membership proof.
    let c_ws = device(&dir, "c", [1; 16], [8; 32], 3);
    let a = node::start(a_ws, loopback()).unwrap();
    let c = node::start(c_ws, loopback()).unwrap();
    let mut a_ev = a.subscribe();
    let mut c_ev = c.subscribe();
    c.keep(tcp_addr(&a).await).await.unwrap();
    wait_for(&mut a_ev, "A refusing C", |e| {
        matches!(e, NodeEvent::Refused { .. })
    })
    .await;
    wait_for(&mut c_ev, "C refused", |e| {
        matches!(
            e,
            NodeEvent::Refused { .. } | NodeEvent::SessionEnded { .. }
        )
    })
    .await;
    // Changes move only inside an authenticated session: with none on either
    // side (positive evidence that the refusal ended it), nothing can have
    // arrived since, and nothing is on its way.
    for n in [&a, &c] {
        let open = n.sessions().await.unwrap();
        assert!(
            open.iter().all(|s| !s.authenticated),
            "an authenticated session with a non-member: {open:?}"
        );
    }
    assert!(
        titles(&c).await.is_empty(),
        "a non-member received documents"
    );
    let vv = c.call(|ws| ws.version_vector().unwrap()).await.unwrap();
    assert!(vv.is_empty(), "a non-member stored changes: {vv:?}");
    a.shutdown().await.unwrap();
    c.shutdown().await.unwrap();
}

/// A bare libp2p node with `seed` and a sync stream between it and the node
/// at `addr` (whichever side the protocol has open it).
async fn raw_stream(
    seed: [u8; 32],
    addr: node::Multiaddr,
    to: weft_core::DeviceId,
) -> (weft_net::Network, weft_net::Stream) {
    use futures::StreamExt;
    let mut cfg = weft_net::NetConfig::on_port(seed, 0, "weft/0 (raw)".into());
    cfg.mdns = false;
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let mut net = weft_net::start(cfg).unwrap();
    net.handle.keep(None, vec![addr]).await.unwrap();
    let stream = if net.handle.local() < to {
        loop {
            match net.handle.open_sync_stream(to).await {
                Ok(st) => break st,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    } else {
        tokio::time::timeout(WAIT, net.incoming.next())
            .await
            .unwrap()
            .unwrap()
            .1
    };
    (net, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_flooding_before_its_proof_is_cut_off() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let a = node::start(device(&dir, "a", [1; 16], [7; 32], 1), loopback()).unwrap();
    let (_net, mut stream) = raw_stream([4; 32], tcp_addr(&a).await, a.device()).await;
    // A frame announced at 1 MiB, of which 128 KiB arrive: a member's hello
    // is 60 bytes, so the node must not wait for the rest.
    let mut junk = (1u32 << 20).to_be_bytes().to_vec();
    junk.extend(std::iter::repeat_n(0u8, 128 * 1024));
    let _ = stream.write_all(&junk).await;
    let _ = stream.flush().await;
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the node kept a stranger's flood buffered");
    // And goes on working.
    let n = a
        .call(|ws| ws.create_note("fine", &[], "").is_ok())
        .await
        .unwrap();
    assert!(n);
    a.shutdown().await.unwrap();
}

/// A member that completes the handshake and then never reads again: its
/// stream's windows fill, its writer queue fills, and the node must go on
/// serving everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_does_not_stall_the_others() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    use weft_sync::{FrameReader, Limits, Role};

    let dir = tempfile::tempdir().unwrap();
    let mut a_ws = device(&dir, "a", [1; 16], [7; 32], 1);
    // About 2 MB of changes: far more than a stream's flow-control window
    // and the writer queue hold.
    for i in 0..1500 {
        a_ws.create_record(
            &format!("r{i}"),
            &[],
            &serde_json::json!({"pad": "x".repeat(600), "i": i}),
        )
        .unwrap();
    }
    let b_ws = device(&dir, "b", [1; 16], [7; 32], 2);
    let s_ws = device(&dir, "s", [1; 16], [7; 32], 3);
    let a = node::start(a_ws, loopback()).unwrap();
    let a_addr = tcp_addr(&a).await;

    // The stuck member: a bare libp2p node and a session of its own.
    let (_s_net, mut stream) = raw_stream([3; 32], a_addr.clone(), a.device()).await;
    let a_dev = a.device();
    let mut session = s_ws.sync_session(a_dev, Role::Device, Limits::default(), [9; 32], 0);
    let mut frames = FrameReader::new();
    let mut buf = vec![0u8; 4096];
    let log = s_ws.sync_log();
    tokio::time::timeout(WAIT, async {
        loop {
            // Everything the session has to say; once open, that includes
            // our (empty) `have`, so A starts streaming everything to us.
            while let Some(body) = session.poll_transmit(0, &log).unwrap() {
                stream
                    .write_all(&(body.len() as u32).to_be_bytes())
                    .await
                    .unwrap();
                stream.write_all(&body).await.unwrap();
            }
            stream.flush().await.unwrap();
            if session.is_open() {
                break;
            }
            let n = stream.read(&mut buf).await.unwrap();
            frames.extend(&buf[..n]);
            while let Some(f) = frames.next_frame().unwrap() {
                session.handle_frame(&f, 0, &log).unwrap();
            }
        }
    })
    .await
    .expect("the stuck member's handshake");
    // From here on nothing reads `stream`.

    let b = node::start(b_ws, loopback()).unwrap();
    let mut b_ev = b.subscribe();
    b.keep(a_addr).await.unwrap();
    wait_for(&mut b_ev, "B in sync with A despite the stuck peer", |e| {
        matches!(e, NodeEvent::Synced { .. })
    })
    .await;
    // A stalled core would never deliver it: wait_for's bound fails that.
    a.call(|ws| ws.create_note("Live", &[], "still flowing").map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    wait_for(&mut b_ev, "a live edit on B", |e| {
        matches!(e, NodeEvent::DocsChanged { .. })
    })
    .await;
    // And the stuck member really is stuck: A still owes it changes.
    let stuck = a
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.peer == s_ws.device_id())
        .expect("the stuck member's session is still there");
    assert!(!stuck.in_sync, "the stuck member cannot be in sync");
    drop(stream);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

/// A `weft` command run while the app (or a daemon) holds the workspace writes
/// the same file: the node merges it into what it has open and reports it, so
/// the window's tree and open note show it without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_edit_reaches_the_open_documents_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = device(&dir, "a", [1; 16], [7; 32], 1);
    let doc = ws
        .create_note("Open", &[], "as the window shows it")
        .unwrap();
    let a = node::start(ws, loopback()).unwrap();
    let mut ev = a.subscribe();
    // The window has the note open (loaded in the node's workspace).
    let shown = a
        .call(move |ws| ws.note_markdown(&doc).unwrap())
        .await
        .unwrap();
    assert_eq!(shown.trim(), "as the window shows it");

    // "The CLI": a second handle on the same file, in this process for speed.
    let home = dir.path().join("a");
    let mut cli = Workspace::open_in(&home, &reopen_secrets(1)).unwrap();
    cli.edit_note(&doc, "changed from a terminal").unwrap();
    cli.create_note("New from the CLI", &["Inbox".into()], "x")
        .unwrap();
    cli.close().unwrap();

    let changed = wait_for(
        &mut ev,
        "the CLI's edit reported",
        |e| matches!(e, NodeEvent::DocsChanged { docs } if docs.contains(&doc)),
    )
    .await;
    assert!(matches!(changed, NodeEvent::DocsChanged { .. }));
    let shown = a
        .call(move |ws| ws.note_markdown(&doc).unwrap())
        .await
        .unwrap();
    assert_eq!(shown.trim(), "changed from a terminal");
    // The CLI's create was its own commit; the node may have reported the
    // edit before it saw that one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while titles(&a).await != ["New from the CLI", "Open"] {
        assert!(
            std::time::Instant::now() < deadline,
            "the CLI's new note never reached the node: {:?}",
            titles(&a).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    a.shutdown().await.unwrap();
}
