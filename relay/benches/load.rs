//! `make bench`, relay load: one relay process with 1,000 connected
//! devices (500 workspaces of two), each uploading 50 sealed changes at
//! once: the relay's peak RSS, and changes ingested per second (from the
//! first offer to the relay's `weft_relay_changes_in_total` reaching the
//! total), then until every partner holds the other's changes. The devices
//! are light clients (a libp2p swarm and a `weft_sync::Session` each, the
//! relay tests' client) in this process, so on this 2-core machine they
//! share the CPU with the relay: the figure is a floor.
//! `WEFT_BENCH_QUICK=1`: 200 devices.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Device, Workspace, http_get, metric};
use weft_core::DocId;

const PER_DEVICE: usize = 50;

fn rss_mb(pid: u32, field: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let devices = if std::env::var_os("WEFT_BENCH_QUICK").is_some() {
        200
    } else {
        1000
    };
    let dir = tempfile::tempdir().unwrap();
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-relay"))
        .args([
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--http",
            &http.to_string(),
            // A thousand devices on one loopback address: the per-source
            // limits are for strangers, not this bench.
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
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let addr: libp2p::Multiaddr = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.trim().strip_prefix("weft relay add ").map(str::to_owned))
        .expect("relay address")
        .parse()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let t = Instant::now();
        let mut all = Vec::with_capacity(devices);
        let mut pairs = Vec::new();
        for _ in 0..devices / 2 {
            let ws = Workspace::new();
            let mut a = Device::connect(&addr, &ws).await;
            a.register().await;
            a.sync().await;
            let mut b = Device::connect(&addr, &ws).await;
            b.sync().await;
            pairs.push((all.len(), all.len() + 1));
            all.push(a);
            all.push(b);
        }
        // Every session open before the clock starts.
        for d in &all {
            assert!(
                d.wait_until(Duration::from_secs(60), |s| s.open).await,
                "a session did not open"
            );
        }
        let connect_s = t.elapsed().as_secs_f64();
        let idle_rss = rss_mb(pid, "VmRSS:");
        let payloads: Vec<Vec<u8>> = (0..PER_DEVICE)
            .map(|i| format!("a small record change, number {i:04}").into_bytes())
            .collect();
        for d in &all {
            d.author_many(DocId::random(), &payloads);
        }
        let total = (devices * PER_DEVICE) as f64;
        let t0 = Instant::now();
        for d in &all {
            d.offer();
        }
        let ingest_s = loop {
            let (_, body) = http_get(http, "/metrics").await;
            if metric(&body, "weft_relay_changes_in_total").unwrap_or(0.0) >= total {
                break t0.elapsed().as_secs_f64();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "ingest did not finish in 300 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        for (a, b) in &pairs {
            let (va, vb) = (all[*a].vector(), all[*b].vector());
            assert!(all[*b].wait_holds(&va, Duration::from_secs(300)).await);
            assert!(all[*a].wait_holds(&vb, Duration::from_secs(300)).await);
        }
        let delivered_s = t0.elapsed().as_secs_f64();
        let peak = rss_mb(pid, "VmHWM:");
        println!(
            "relay load: {devices} devices connected in {connect_s:.1} s; relay RSS idle {idle_rss:.1} MB, peak {peak:.1} MB (goal < 300 MB)"
        );
        println!(
            "relay load: {total} changes ingested in {ingest_s:.2} s = {:.0} changes/s (goal >= 10,000); every partner held the other's after {delivered_s:.2} s",
            total / ingest_s
        );
        drop(all);
    });
    let _ = child.kill();
    let _ = child.wait();
}
