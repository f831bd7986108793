//! `make bench`, relay figures, side by side with automerge-repo 2.5 (its
//! sync server with the websocket and nodefs adapters,
//! relay/bench/automerge-repo, run by `make bench` in the same run and
//! passed here as JSON in `WEFT_BENCH_AMR`):
//!
//! 1. one edit's latency from device A through the relay to device B;
//! 2. a fresh device pulling 10,000 small documents through the relay;
//! 3. 8 devices typing 6 characters a second for 60 s: p95 latency and the
//!    relay's CPU.
//!
//! The relay is the real `weft-relay` binary (release build, a child
//! process, so its CPU is its own: /proc/<pid>/stat), on loopback with
//! SQLite. The devices are weft-engine nodes in this process, mDNS off, so
//! every change goes through the relay (they never learn each other's
//! addresses). Both systems' clients share one process and its runtime.
//! `WEFT_BENCH_QUICK=1`: 100 edits, 1,000 documents, 10 s of typing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::broadcast;
use weft_core::WorkspaceId;
use weft_crypto::{DeviceKey, MemoryStore, WorkspaceKey, WorkspaceSecrets};
use weft_engine::node::{self, NodeConfig, NodeEvent, NodeHandle};
use weft_engine::{DocId, Shown, Workspace};

fn quick() -> bool {
    std::env::var_os("WEFT_BENCH_QUICK").is_some()
}

struct RelayProc {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl RelayProc {
    fn start() -> Self {
        let exe = std::env::current_exe().unwrap();
        let bin = exe.parent().unwrap().parent().unwrap().join("weft-relay");
        assert!(
            bin.exists(),
            "{} is missing: cargo build --release -p weft-relay",
            bin.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--http", "off"])
            // Every device on one loopback address, at bench speed: the
            // relay's per-source and per-frame limits are for strangers.
            .args([
                "--max-connections-per-source",
                "0",
                "--max-streams-per-source",
                "0",
            ])
            .args([
                "--registrations-per-hour-per-source",
                "0",
                "--control-per-minute",
                "0",
            ])
            .args([
                "--source-rate",
                "1GiB",
                "--source-burst",
                "1GiB",
                "--burst",
                "64MiB",
            ])
            .args(["--frame-rate", "1000000", "--source-frame-rate", "1000000"])
            .arg("--data-dir")
            .arg(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let addr = out
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.trim().strip_prefix("weft relay add ").map(str::to_owned))
            .expect("the relay printed no address");
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    /// CPU seconds (user + system) so far.
    fn cpu_s(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat(5), counted from the state field (3).
        let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
        ticks / 100.0
    }

    fn rss_mb(&self) -> f64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const KEY: [u8; 32] = [8; 32];

/// A device of workspace `ws` (one per workload, so no workload pulls
/// another's documents) using the relay.
fn device(root: &Path, name: &str, seed: u8, relay: &str, ws: u8) -> Workspace {
    let home: PathBuf = root.join(name);
    let ws = Workspace::create_in(
        &home,
        "bench",
        WorkspaceId::from_bytes([ws; 16]),
        WorkspaceSecrets {
            workspace_key: WorkspaceKey::from_bytes(KEY),
            device_key: DeviceKey::from_seed([seed; 32]),
        },
        &MemoryStore::new(),
    )
    .unwrap();
    ws.add_relay(relay).unwrap();
    ws
}

fn cfg(name: &str) -> NodeConfig {
    NodeConfig {
        port: 0,
        mdns: false,
        device_name: name.into(),
        peers: Vec::new(),
        ..NodeConfig::default()
    }
}

async fn synced(rx: &mut broadcast::Receiver<NodeEvent>, timeout: Duration) {
    tokio::time::timeout(timeout, async {
        loop {
            if let Ok(NodeEvent::Synced { .. }) = rx.recv().await {
                return;
            }
        }
    })
    .await
    .expect("not in sync with the relay in time");
}

async fn field(node: &NodeHandle, doc: DocId, key: &'static str) -> Option<u64> {
    node.call(move |ws| match ws.show(&doc, None).ok()? {
        Shown::Record { json, .. } => json.get(key)?.as_u64(),
        _ => None,
    })
    .await
    .ok()
    .flatten()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Waits until `node` shows `doc`'s `key` at `want` or more.
async fn wait_value(node: &NodeHandle, doc: DocId, key: &'static str, want: u64) {
    loop {
        if field(node, doc, key).await.is_some_and(|v| v >= want) {
            return;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

async fn latency(relay: &RelayProc, root: &Path) -> (f64, f64, usize) {
    let n = if quick() { 100 } else { 300 };
    let a = node::start(device(root, "lat-a", 1, &relay.addr, 1), cfg("a")).unwrap();
    let mut ra = a.subscribe();
    synced(&mut ra, Duration::from_secs(20)).await;
    let doc = a
        .call(|ws| ws.create_record("latency", &[], &json!({"i": 0})).unwrap())
        .await
        .unwrap();
    let b = node::start(device(root, "lat-b", 2, &relay.addr, 1), cfg("b")).unwrap();
    let mut rb = b.subscribe();
    synced(&mut rb, Duration::from_secs(20)).await;
    let mut lat = Vec::with_capacity(n);
    for i in 1..=n as u64 {
        let t = Instant::now();
        a.call(move |ws| ws.set_field(&doc, "/i", &json!(i)).unwrap())
            .await
            .unwrap();
        // B's engine shows it: wait on its change events, then read.
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if field(&b, doc, "i").await == Some(i) {
                    return;
                }
                let _ = rb.recv().await;
            }
        })
        .await
        .expect("B did not see an edit within 10 s");
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    (pct(&mut lat, 0.5), pct(&mut lat, 0.95), n)
}

async fn pull(relay: &RelayProc, root: &Path) -> (usize, f64) {
    let n = if quick() { 1_000 } else { 10_000 };
    let mut ws = device(root, "pull-a", 3, &relay.addr, 2);
    for i in 0..n {
        ws.create_record(&format!("doc {i}"), &[], &json!({"done": false, "n": i}))
            .unwrap();
    }
    let a = node::start(ws, cfg("seed")).unwrap();
    let mut ra = a.subscribe();
    synced(&mut ra, Duration::from_secs(600)).await;
    a.shutdown().await.unwrap();
    // A fresh device: from node start to holding every document.
    let c_ws = device(root, "pull-c", 4, &relay.addr, 2);
    let t = Instant::now();
    let c = node::start(c_ws, cfg("fresh")).unwrap();
    let mut rc = c.subscribe();
    synced(&mut rc, Duration::from_secs(600)).await;
    let secs = t.elapsed().as_secs_f64();
    let got = c.call(|ws| ws.list(false).unwrap().len()).await.unwrap();
    assert_eq!(got, n, "the fresh device did not get every document");
    c.shutdown().await.unwrap();
    (n, secs)
}

async fn typing(relay: &RelayProc, root: &Path) -> (f64, f64, f64, usize) {
    let peers = 8usize;
    let secs = if quick() { 10 } else { 60 };
    let mut nodes = Vec::new();
    for k in 0..peers {
        let n = node::start(
            device(root, &format!("type-{k}"), 10 + k as u8, &relay.addr, 3),
            cfg("typist"),
        )
        .unwrap();
        let mut r = n.subscribe();
        synced(&mut r, Duration::from_secs(30)).await;
        nodes.push(n);
    }
    // One record per typist, created up front and spread to everyone.
    let mut docs = Vec::new();
    for (k, n) in nodes.iter().enumerate() {
        let doc = n
            .call(move |ws| {
                ws.create_record(&format!("typist {k}"), &[], &json!({"c": 0}))
                    .unwrap()
            })
            .await
            .unwrap();
        docs.push(doc);
    }
    for n in &nodes {
        for &d in &docs {
            tokio::time::timeout(Duration::from_secs(30), async move {
                while !n.call(move |ws| ws.show(&d, None).is_ok()).await.unwrap() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
            .await
            .expect("a typist's record did not spread");
        }
    }
    let cpu0 = relay.cpu_s();
    let t0 = Instant::now();
    let keystrokes = secs * 6;
    let mut tasks = Vec::new();
    for (k, writer) in nodes.iter().enumerate() {
        let writer = writer.clone();
        let readers: Vec<NodeHandle> = nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, n)| n.clone())
            .collect();
        let doc = docs[k];
        tasks.push(tokio::spawn(async move {
            // Random phase, then one keystroke every 1/6 s.
            tokio::time::sleep(Duration::from_millis(21 * k as u64)).await;
            let mut lat = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_micros(166_667));
            for c in 1..=keystrokes as u64 {
                tick.tick().await;
                let t = Instant::now();
                writer
                    .call(move |ws| ws.set_field(&doc, "/c", &json!(c)).unwrap())
                    .await
                    .unwrap();
                let waits = readers.iter().map(|r| {
                    let r = r.clone();
                    async move {
                        wait_value(&r, doc, "c", c).await;
                        t.elapsed().as_secs_f64() * 1000.0
                    }
                });
                lat.extend(futures::future::join_all(waits).await);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (relay.cpu_s() - cpu0) / wall * 100.0;
    for n in nodes {
        n.shutdown().await.unwrap();
    }
    let samples = lat.len();
    (pct(&mut lat, 0.5), pct(&mut lat, 0.95), cpu, samples)
}

fn amr(workload: &str) -> Option<Value> {
    let text = std::env::var("WEFT_BENCH_AMR").ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["workload"] == workload)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let root = tempfile::tempdir().unwrap();
        let relay = RelayProc::start();
        // `WEFT_BENCH_ONLY=typing` runs that workload alone (profiling the
        // relay, whose pid is printed, with `perf record -p`).
        eprintln!("relay bench: weft-relay pid {}", relay.child.id());
        if std::env::var("WEFT_BENCH_ONLY").is_ok_and(|w| w == "typing") {
            let (tp50, tp95, cpu, samples) = typing(&relay, root.path()).await;
            println!("typing: p50 {tp50:.2} ms, p95 {tp95:.2} ms over {samples}, relay CPU {cpu:.1} %");
            return;
        }
        let (p50, p95, n) = latency(&relay, root.path()).await;
        eprintln!("relay bench: edit latency p50 {p50:.2} ms, p95 {p95:.2} ms over {n} edits");
        let (docs, pull_s) = pull(&relay, root.path()).await;
        eprintln!("relay bench: {docs} documents pulled in {pull_s:.2} s");
        let (tp50, tp95, cpu, samples) = typing(&relay, root.path()).await;
        let rss = relay.rss_mb();
        println!("relay: weft-relay (SQLite, loopback) vs automerge-repo 2.5 sync server, same machine, same run");
        println!("| workload | weft | automerge-repo | ratio |");
        println!("|---|---|---|---|");
        let a = amr("edit_latency");
        let ratio = |w: f64, r: Option<f64>| {
            r.map(|r| format!("{:.1}x", r / w)).unwrap_or_else(|| "n/a".into())
        };
        let av = |v: &Option<Value>, k: &str| v.as_ref().and_then(|v| v[k].as_f64());
        println!(
            "| edit A→server→B p50 ({n} edits) | {p50:.2} ms | {} | {} |",
            av(&a, "p50_ms").map(|v| format!("{v:.2} ms")).unwrap_or("n/a".into()),
            ratio(p50, av(&a, "p50_ms"))
        );
        println!(
            "| edit A→server→B p95 | {p95:.2} ms | {} | {} |",
            av(&a, "p95_ms").map(|v| format!("{v:.2} ms")).unwrap_or("n/a".into()),
            ratio(p95, av(&a, "p95_ms"))
        );
        // automerge-repo's pull is capped below 10,000 documents (its
        // storage adapter slows with every document held: see its README),
        // so the comparison is documents per second.
        let b = amr("pull_10k");
        let weft_rate = docs as f64 / pull_s;
        let amr_rate = av(&b, "docs_per_s");
        println!(
            "| fresh device pulls small docs | {docs} in {pull_s:.2} s = {weft_rate:.0} docs/s | {} | {} |",
            match (av(&b, "docs"), av(&b, "seconds"), amr_rate) {
                (Some(d), Some(s), Some(r)) => format!("{d:.0} in {s:.2} s = {r:.0} docs/s"),
                _ => "n/a".into(),
            },
            amr_rate
                .map(|r| format!("{:.1}x", weft_rate / r))
                .unwrap_or_else(|| "n/a".into())
        );
        let c = amr("typing");
        println!(
            "| 8 typists, 6 chars/s: p50 | {tp50:.2} ms | {} | {} |",
            av(&c, "p50_ms").map(|v| format!("{v:.2} ms")).unwrap_or("n/a".into()),
            ratio(tp50, av(&c, "p50_ms"))
        );
        println!(
            "| 8 typists, 6 chars/s: p95 ({samples} deliveries) | {tp95:.2} ms | {} | {} |",
            av(&c, "p95_ms").map(|v| format!("{v:.2} ms")).unwrap_or("n/a".into()),
            ratio(tp95, av(&c, "p95_ms"))
        );
        println!(
            "| 8 typists: server CPU, % of one core | {cpu:.1} % | {} | {} |",
            av(&c, "server_cpu_percent_of_one_core").map(|v| format!("{v:.1} %")).unwrap_or("n/a".into()),
            ratio(cpu, av(&c, "server_cpu_percent_of_one_core"))
        );
        println!("relay peak RSS over the run: {rss:.1} MB");
    });
}
