//! A hostile stranger against an in-process relay: it pre-registers a
//! victim's workspace id, opens many connections and streams, leaves
//! maximal frames half sent, floods empty `have`s, registrations and
//! control requests. Throughout, an honest workspace (two devices on
//! another source address) keeps syncing through the relay, the relay
//! stays within its memory budget, and each refusal shows in `/metrics`
//! under its reason.
//!
//! The stranger connects over IPv6 loopback (`::1`) and the honest devices
//! over IPv4 (`127.0.0.1`), so the relay sees them as two source addresses.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Device, End, MemLog, WAIT, Workspace, http_get, metric, relay_config};
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::Multiaddr;
use weft_core::{DocId, VersionVector};
use weft_relay::{Config, Relay};
use weft_sync::relay::{ControlError, RequestKind, Response};
use weft_sync::{
    Credentials, Frame, FrameReader, Limits, MAX_FRAME_LEN, Role, Session, SessionConfig, prefixed,
};

/// The budget the suite runs the relay with: a little over the least a
/// two-shard relay accepts.
const BUDGET: u64 = 80 << 20;

/// A relay for the stranger: loopback on IPv4 (honest) and IPv6 (the
/// stranger), small per-source caps, short timeouts.
async fn relay(
    dir: &std::path::Path,
    tune: impl FnOnce(&mut Config),
) -> (Relay, Multiaddr, Multiaddr) {
    let mut c = relay_config(dir);
    c.listen = vec![
        "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        "/ip6/::1/tcp/0".parse().unwrap(),
    ];
    c.memory_budget = BUDGET;
    c.frame_timeout = Duration::from_secs(2);
    c.idle_timeout = Duration::from_secs(2);
    c.rate_patience = Duration::from_secs(1);
    tune(&mut c);
    let relay = Relay::start(c).await.expect("relay starts");
    let addrs = relay.wait_listening(WAIT).await;
    let v4 = addrs
        .iter()
        .find(|a| a.to_string().starts_with("/ip4/"))
        .expect("an IPv4 address")
        .clone();
    let v6 = addrs
        .iter()
        .find(|a| a.to_string().starts_with("/ip6/"))
        .expect("an IPv6 loopback address (the stranger's source)")
        .clone();
    (relay, v4, v6)
}

/// Two honest devices of one workspace, registered and syncing, with a
/// keepalive well inside the relay's idle timeout.
async fn honest(addr: &Multiaddr) -> (Device, Device) {
    let ws = Workspace::new();
    let quick = Limits {
        keepalive_ms: 300,
        ..Limits::default()
    };
    let mut a = Device::connect(addr, &ws).await;
    a.set_limits(quick.clone());
    a.register().await;
    a.sync().await;
    let mut b = Device::connect(addr, &ws).await;
    b.set_limits(quick);
    b.sync().await;
    assert!(
        a.wait_until(WAIT, |s| s.open).await && b.wait_until(WAIT, |s| s.open).await,
        "the honest sessions did not open"
    );
    (a, b)
}

/// A's next change reaches B through the relay.
async fn still_syncs(a: &Device, b: &Device, what: &str) {
    a.push(DocId::random(), what.as_bytes());
    let want: VersionVector = a.vector();
    assert!(
        b.wait_holds(&want, WAIT).await,
        "{what}: the honest workspace stopped syncing (B holds {:?}, A {:?})",
        b.vector(),
        want
    );
}

/// The counter of one refusal reason in `/metrics`.
async fn refusals(relay: &Relay, reason: &str) -> f64 {
    let (_, m) = http_get(relay.http_addr().expect("http"), "/metrics").await;
    metric(
        &m,
        &format!("weft_relay_rejections_total{{reason=\"{reason}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Waits until the refusal counter of `reason` is at least `n`.
async fn wait_refusals(relay: &Relay, reason: &str, n: f64) -> f64 {
    let end = std::time::Instant::now() + WAIT;
    loop {
        let v = refusals(relay, reason).await;
        if v >= n || std::time::Instant::now() >= end {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn vm_rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// A sync stream on which `d` has proved membership and the relay has
/// answered with its `have` (so it counts the stream as authenticated).
async fn authenticated_stream(d: &mut Device) -> libp2p::Stream {
    let mut s = d.raw_stream(weft_net::SYNC_PROTOCOL).await;
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).unwrap();
    let mut session = Session::new(
        SessionConfig {
            workspace: d.ws.id,
            local: d.id,
            remote: d.relay_id,
            expect: Role::Relay,
            limits: Limits::default(),
        },
        Credentials::Member(d.ws.keys.clone()),
        nonce,
        0,
    );
    let log = MemLog::default();
    let mut frames = FrameReader::new();
    let mut buf = vec![0u8; 4096];
    let handshake = async {
        loop {
            while let Some(b) = session.poll_transmit(0, &log).expect("transmit") {
                s.write_all(&prefixed(&b)).await.expect("write");
            }
            s.flush().await.expect("flush");
            let n = s.read(&mut buf).await.expect("read");
            assert!(n > 0, "the relay closed the handshake");
            frames.extend(&buf[..n]);
            while let Some(f) = frames.next_frame().expect("frame") {
                let have = matches!(Frame::decode(&f), Ok(Frame::Have(_)));
                session.handle_frame(&f, 0, &log).expect("handshake");
                if have {
                    return;
                }
            }
        }
    };
    tokio::time::timeout(WAIT, handshake)
        .await
        .expect("authenticated within 10 s");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_who_registers_the_victims_id_first_does_not_lock_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, v4, v6) = relay(dir.path(), |_| {}).await;
    let victim = Workspace::new();
    // The stranger read the id off a hello and registers it with a key
    // of its own, before the victim ever does.
    let squat = Workspace {
        id: victim.id,
        keys: Workspace::new().keys,
    };
    let mut stranger = Device::connect(&v6, &squat).await;
    stranger.register().await;
    stranger.sync().await;
    stranger.push(DocId::random(), b"squatter's junk");
    assert!(
        stranger.wait_acked(WAIT).await,
        "the stranger's own registration works"
    );
    // The victim registers and syncs as if the stranger were not there.
    let (a, b) = {
        let mut a = Device::connect(&v4, &victim).await;
        a.register().await;
        a.sync().await;
        let mut b = Device::connect(&v4, &victim).await;
        b.sync().await;
        (a, b)
    };
    still_syncs(&a, &b, "after a squatted registration").await;
    assert_eq!(
        b.lock().log.changes.len(),
        1,
        "the squatter's changes reached the victim's device"
    );
    assert!(b.lock().rejected.is_empty());
    // The stranger cannot forget the victim's registration: its forget
    // removes only its own.
    let req = stranger.request(RequestKind::Forget);
    match stranger.control(&req).await {
        Response::Ok(u) => assert_eq!(u.changes, 1, "the stranger forgot its own change only"),
        r => panic!("the stranger's forget: {r:?}"),
    }
    still_syncs(&a, &b, "after the stranger's forget").await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_and_streams_from_one_source_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, v4, v6) = relay(dir.path(), |c| {
        c.max_connections_per_source = 6;
        c.max_streams_per_source = 4;
        // The streams within the cap hold their unfinished hello for the
        // whole test.
        c.frame_timeout = Duration::from_secs(60);
    })
    .await;
    let (a, b) = honest(&v4).await;
    // Streams: one device opens many sync streams; those past the cap are
    // refused at once.
    let mut s = Device::connect(&v6, &Workspace::new()).await;
    let mut held = Vec::new();
    for _ in 0..10 {
        let mut st = s.raw_stream(weft_net::SYNC_PROTOCOL).await;
        // A stream reaches the relay with its first bytes (lazy protocol
        // negotiation): the start of a hello that never finishes.
        // (A refused one may be closed before the write.)
        let _ = st.write_all(&[0, 0, 0, 40]).await;
        let _ = st.flush().await;
        held.push(st);
        // Paced, so each stream reaches the relay's guard: a burst can fill
        // libp2p's queue of inbound streams, which then drops the rest before
        // the guard sees them (closed all the same, but not by the cap).
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each stream past the cap is closed, and the source holds at most the
    // cap's streams open.
    let mut closed = vec![false; held.len()];
    let end = std::time::Instant::now() + WAIT;
    while closed.iter().filter(|c| **c).count() < 6 && std::time::Instant::now() < end {
        for (st, c) in held.iter_mut().zip(closed.iter_mut()).filter(|(_, c)| !**c) {
            let mut buf = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(50), st.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => *c = true,
                Ok(Ok(_)) | Err(_) => {}
            }
        }
    }
    let open = closed.iter().filter(|c| !**c).count();
    assert!(
        open <= 4,
        "{open} streams stayed open past the per-source cap of 4"
    );
    let n = wait_refusals(&relay, "source_streams", 6.0).await;
    assert!(
        n >= 6.0,
        "streams past the per-source cap were not refused ({n})"
    );
    still_syncs(&a, &b, "with the stranger's streams open").await;
    // Connections: one per stranger device, from the same address.
    let mut strangers = vec![s];
    for _ in 0..10 {
        strangers.push(Device::connect(&v6, &Workspace::new()).await);
    }
    assert!(
        wait_refusals(&relay, "source_connections", 5.0).await >= 5.0,
        "connections past the per-source cap were not closed"
    );
    still_syncs(&a, &b, "with the stranger's connections open").await;
    drop(held);
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_maximal_frames_stay_within_the_memory_budget_and_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, v4, v6) = relay(dir.path(), |c| {
        // Rates out of the way: the budget is what holds here.
        c.rate_bytes = 1 << 30;
        c.burst_bytes = 1 << 30;
        c.source_rate_bytes = 1 << 30;
        c.source_burst_bytes = 1 << 30;
    })
    .await;
    let (a, b) = honest(&v4).await;
    let before = vm_rss();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(vm_rss(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    // The stranger registers a workspace of its own (anyone may), proves
    // membership on 12 streams, and on each sends all but the last byte
    // of a 16 MiB frame: 192 MiB it would have the relay hold.
    let mut s = Device::connect(&v6, &Workspace::new()).await;
    s.register().await;
    let len = MAX_FRAME_LEN - 64 * 1024;
    // Every stream proves membership first: once the budget is full, a new
    // stream is refused at once (also counted), which is not this case.
    let mut streams = Vec::new();
    for _ in 0..12 {
        streams.push(authenticated_stream(&mut s).await);
    }
    let mut writers = Vec::new();
    for mut st in streams {
        writers.push(tokio::spawn(async move {
            let chunk = vec![0x06u8; 64 * 1024];
            let _ = st.write_all(&(len as u32).to_be_bytes()).await;
            let mut left = len - 1;
            while left > 0 {
                let n = left.min(chunk.len());
                if st.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
            let _ = st.flush().await;
            // Then nothing: hold the stream open.
            std::future::pending::<()>().await;
        }));
    }
    // Each stream is closed: its frame never finished, or it waited on
    // the full budget for as long.
    let end = std::time::Instant::now() + WAIT * 3;
    loop {
        let n = refusals(&relay, "slow_frame").await + refusals(&relay, "memory").await;
        if n >= 12.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "only {n} of 12 half-sent frames were dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    still_syncs(&a, &b, "after half-sent frames").await;
    let (_, m) = http_get(relay.http_addr().unwrap(), "/metrics").await;
    let used_peak = metric(&m, "weft_relay_memory_peak_bytes").expect("peak gauge");
    assert!(
        used_peak <= BUDGET as f64,
        "the budget was exceeded: {used_peak}"
    );
    assert!(
        used_peak >= (BUDGET / 2) as f64,
        "test setup: the stranger did not fill the budget ({used_peak})"
    );
    sampler.abort();
    let grew = peak
        .load(std::sync::atomic::Ordering::Relaxed)
        .saturating_sub(before);
    // What the stranger sent was 192 MiB; the relay held at most its budget,
    // plus transport buffers.
    assert!(
        grew < BUDGET + (48 << 20),
        "the process grew by {} MiB against a {} MiB budget",
        grew >> 20,
        BUDGET >> 20
    );
    for w in writers {
        w.abort();
    }
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_empty_haves_is_rate_limited_and_silence_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, v4, v6) = relay(dir.path(), |c| {
        c.frame_rate = 200;
        c.source_frame_rate = 400;
    })
    .await;
    let (a, b) = honest(&v4).await;
    let mut s = Device::connect(&v6, &Workspace::new()).await;
    s.register().await;
    let mut st = authenticated_stream(&mut s).await;
    let have = Frame::Have(VersionVector::new()).encode_prefixed();
    let burst: Vec<u8> = (0..20_000).flat_map(|_| have.clone()).collect();
    let flood = tokio::spawn(async move {
        for _ in 0..50 {
            if st.write_all(&burst).await.is_err() {
                return;
            }
        }
    });
    assert!(
        wait_refusals(&relay, "rate_limited", 1.0).await >= 1.0,
        "a flood of empty haves was not rate limited"
    );
    still_syncs(&a, &b, "during a flood of haves").await;
    flood.abort();
    // A stream that proves membership and then says nothing is closed
    // after the idle timeout. (From the other address: the flooding one is
    // deep in its frame debt, which is shared by all its devices.)
    let mut quiet = Device::connect(&v4, &Workspace::new()).await;
    quiet.register().await;
    quiet.set_limits(Limits {
        keepalive_ms: 600_000,
        ..Limits::default()
    });
    quiet.sync().await;
    assert!(quiet.wait_until(WAIT, |st| st.open).await);
    let end = quiet.wait_end(WAIT).await;
    assert_eq!(end, Some(End::Closed), "a silent stream stayed open");
    assert!(refusals(&relay, "idle").await >= 1.0);
    still_syncs(&a, &b, "after the idle stream").await;
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_and_control_floods_are_refused_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, v4, v6) = relay(dir.path(), |c| {
        c.registrations_per_hour_per_source = 5;
        c.control_per_minute = 30;
    })
    .await;
    let (mut a, b) = honest(&v4).await;
    let mut s = Device::connect(&v6, &Workspace::new()).await;
    let mut refused = 0;
    for i in 0..12 {
        s.ws = Workspace::new();
        let req = s.request(RequestKind::Register);
        match s.control(&req).await {
            Response::Ok(_) => assert!(i < 5, "registration {i} from one source was accepted"),
            Response::Error {
                code: ControlError::RateLimited,
                ..
            } => refused += 1,
            r => panic!("unexpected answer: {r:?}"),
        }
    }
    assert_eq!(refused, 7, "registrations past 5 an hour from one source");
    assert_eq!(refusals(&relay, "registration_rate").await, 7.0);
    // Control requests past 30 a minute from the stranger's address.
    for _ in 0..30 {
        let req = s.request(RequestKind::Usage);
        let _ = s.control(&req).await;
    }
    assert!(refusals(&relay, "control_rate").await >= 1.0);
    // The honest device, from its own address, registers again (every
    // connection does) and syncs.
    a.register().await;
    still_syncs(&a, &b, "after the floods").await;
    relay.shutdown().await;
}
