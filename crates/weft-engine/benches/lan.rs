//! `make bench`, LAN figures: two nodes in two network namespaces joined
//! by a veth pair (real sockets, real mDNS discovery), each a child process
//! of this benchmark that runs a weft-engine node:
//!
//! - edit-to-visible latency: the writer sets a record field at typing
//!   pace; the reader reports when its engine shows the new value. Both
//!   stamp the wall clock (one machine, one clock). Reference from the same
//!   run: the round trip of a 64-byte TCP message between the two
//!   namespaces, halved (what the wire alone costs one way).
//! - a freshly joined device pulling a 10,000-document workspace: seconds
//!   and MB/s, against the same bytes sent over one plain TCP connection
//!   between the namespaces.
//!
//! Needs root (`ip netns`). `WEFT_BENCH_QUICK=1`: 200 edits and 1,000 docs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use weft_core::WorkspaceId;
use weft_crypto::{DeviceKey, PassphraseFile, WorkspaceKey, WorkspaceSecrets};
use weft_engine::Workspace;
use weft_engine::node::{self, NodeConfig, NodeEvent};
use zeroize::Zeroizing;

const PASS: &str = "lan bench";
const EDIT_GAP: Duration = Duration::from_millis(60);

fn unix_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

fn secrets(home: &Path) -> PassphraseFile {
    PassphraseFile::new(
        home.join(weft_engine::KEY_FILE),
        Zeroizing::new(PASS.into()),
    )
}

fn make_device(home: &Path, seed: u8) -> Workspace {
    Workspace::create_in(
        home,
        "bench",
        WorkspaceId::from_bytes([5; 16]),
        WorkspaceSecrets {
            workspace_key: WorkspaceKey::from_bytes([6; 32]),
            device_key: DeviceKey::from_seed([seed; 32]),
        },
        &secrets(home),
    )
    .unwrap()
}

fn node_cfg(name: &str) -> NodeConfig {
    NodeConfig {
        port: 4466,
        mdns: true,
        device_name: name.into(),
        peers: Vec::new(),
        ..NodeConfig::default()
    }
}

/// Two namespaces on a veth pair, removed on drop.
struct Pair {
    a: String,
    b: String,
}

const IP_A: &str = "10.231.0.1";
const IP_B: &str = "10.231.0.2";

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().unwrap();
    assert!(st.success(), "ip {args:?} failed");
}

impl Pair {
    fn new() -> Self {
        let pid = std::process::id();
        let p = Pair {
            a: format!("wbench-a-{pid}"),
            b: format!("wbench-b-{pid}"),
        };
        ip(&["netns", "add", &p.a]);
        ip(&["netns", "add", &p.b]);
        let (va, vb) = (
            format!("wba{}", pid % 100_000),
            format!("wbb{}", pid % 100_000),
        );
        ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb]);
        ip(&["link", "set", &va, "netns", &p.a]);
        ip(&["link", "set", &vb, "netns", &p.b]);
        for (ns, dev, addr) in [(&p.a, &va, IP_A), (&p.b, &vb, IP_B)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "multicast", "on", "up"]);
        }
        p
    }

    fn spawn(&self, ns: &str, role: &str, home: &Path, extra: &[(&str, String)]) -> Child {
        let exe = std::env::current_exe().unwrap();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns])
            .arg(exe)
            .env("WEFT_BENCH_ROLE", role)
            .env("WEFT_BENCH_HOME", home)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra {
            c.env(k, v);
        }
        c.spawn().unwrap()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn lines(child: &mut Child) -> impl Iterator<Item = String> + use<> {
    BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

// ---- roles, run inside a namespace ----

fn env_home() -> PathBuf {
    PathBuf::from(std::env::var_os("WEFT_BENCH_HOME").unwrap())
}

/// Writer: once the reader is in sync, sets `/i` = 0..n at typing pace,
/// printing `E i time_us` just before each edit.
async fn role_writer() {
    let n: usize = std::env::var("WEFT_BENCH_EDITS").unwrap().parse().unwrap();
    let home = env_home();
    let ws = Workspace::open_in(&home, &secrets(&home)).unwrap();
    let node = node::start(ws, node_cfg("writer")).unwrap();
    let mut ev = node.subscribe();
    loop {
        if let Ok(NodeEvent::Synced { .. }) = ev.recv().await {
            break;
        }
    }
    let doc = node
        .call(|ws| ws.resolve("latency", false).unwrap().doc)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut out = std::io::stdout();
    for i in 0..n {
        writeln!(out, "E {i} {}", unix_us()).unwrap();
        node.call(move |ws| ws.set_field(&doc, "/i", &json!(i)).unwrap())
            .await
            .unwrap();
        tokio::time::sleep(EDIT_GAP).await;
    }
    out.flush().unwrap();
    // Stay up until the parent has the reader's last line.
    tokio::time::sleep(Duration::from_secs(2)).await;
    node.shutdown().await.unwrap();
}

/// Reader: prints `S i time_us` whenever its engine shows a new `/i`.
async fn role_reader() {
    let n: u64 = std::env::var("WEFT_BENCH_EDITS").unwrap().parse().unwrap();
    let home = env_home();
    let ws = Workspace::open_in(&home, &secrets(&home)).unwrap();
    let node = node::start(ws, node_cfg("reader")).unwrap();
    let mut ev = node.subscribe();
    let mut out = std::io::stdout();
    let mut last = None;
    while last != Some(n - 1) {
        let Ok(NodeEvent::DocsChanged { .. }) = ev.recv().await else {
            continue;
        };
        let v = node
            .call(|ws| {
                let doc = ws.resolve("latency", false).ok()?.doc;
                match ws.show(&doc, None).ok()? {
                    weft_engine::Shown::Record { json, .. } => json.get("i")?.as_u64(),
                    _ => None,
                }
            })
            .await
            .unwrap();
        let t = unix_us();
        if let Some(i) = v
            && last != Some(i)
        {
            writeln!(out, "S {i} {t}").unwrap();
            out.flush().unwrap();
            last = Some(i);
        }
    }
    node.shutdown().await.unwrap();
}

/// Serves its workspace until killed.
async fn role_serve() {
    let home = env_home();
    let ws = Workspace::open_in(&home, &secrets(&home)).unwrap();
    let node = node::start(ws, node_cfg("server")).unwrap();
    println!("READY");
    std::future::pending::<()>().await;
    drop(node);
}

/// A fresh device: prints `P seconds bytes changes` once in sync.
async fn role_pull() {
    let home = env_home();
    let ws = Workspace::open_in(&home, &secrets(&home)).unwrap();
    let t = Instant::now();
    let node = node::start(ws, node_cfg("joiner")).unwrap();
    let mut ev = node.subscribe();
    loop {
        if let Ok(NodeEvent::Synced { .. }) = ev.recv().await {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let s = node.sessions().await.unwrap();
    let bytes: u64 = s.iter().map(|s| s.stats.bytes_in).sum();
    let changes: u64 = s.iter().map(|s| s.stats.changes_in).sum();
    println!("P {secs} {bytes} {changes}");
    node.shutdown().await.unwrap();
}

/// TCP reference. `WEFT_BENCH_TCP=rtt`: echo 64-byte messages; a number:
/// read that many bytes, then answer one byte.
fn role_tcp_server() {
    let mode = std::env::var("WEFT_BENCH_TCP").unwrap();
    let l = std::net::TcpListener::bind((IP_A, 4467)).unwrap();
    println!("READY");
    let (mut s, _) = l.accept().unwrap();
    s.set_nodelay(true).unwrap();
    if mode == "rtt" {
        let mut b = [0u8; 64];
        while s.read_exact(&mut b).is_ok() {
            if s.write_all(&b).is_err() {
                break;
            }
        }
    } else {
        let total: usize = mode.parse().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < total {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        let _ = s.write_all(&[1]);
    }
}

fn role_tcp_client() {
    let mode = std::env::var("WEFT_BENCH_TCP").unwrap();
    let mut s = std::net::TcpStream::connect((IP_A, 4467)).unwrap();
    s.set_nodelay(true).unwrap();
    if mode == "rtt" {
        let mut rtts = Vec::new();
        let mut b = [7u8; 64];
        for _ in 0..1000 {
            let t = Instant::now();
            s.write_all(&b).unwrap();
            s.read_exact(&mut b).unwrap();
            rtts.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        rtts.sort_by(f64::total_cmp);
        println!("R {} {}", pct(&rtts, 0.5), pct(&rtts, 0.95));
    } else {
        let total: usize = mode.parse().unwrap();
        let chunk = vec![1u8; 64 * 1024];
        let t = Instant::now();
        let mut sent = 0;
        while sent < total {
            let n = chunk.len().min(total - sent);
            s.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
        let mut back = [0u8; 1];
        s.read_exact(&mut back).unwrap();
        println!("B {}", t.elapsed().as_secs_f64());
    }
}

// ---- the parent ----

fn bench_latency(pair: &Pair, dir: &Path, edits: usize) {
    let (ha, hb) = (dir.join("lat-a"), dir.join("lat-b"));
    let mut a = make_device(&ha, 1);
    a.create_record("latency", &[], &json!({"i": -1})).unwrap();
    a.close().unwrap();
    make_device(&hb, 2).close().unwrap();
    let env = [("WEFT_BENCH_EDITS", edits.to_string())];
    let mut reader = pair.spawn(&pair.b, "reader", &hb, &env);
    let mut writer = pair.spawn(&pair.a, "writer", &ha, &env);
    let seen: Vec<String> = lines(&mut reader).collect();
    let sent: Vec<String> = lines(&mut writer).collect();
    let _ = reader.wait();
    let _ = writer.wait();
    let parse = |l: &[String], tag: &str| -> std::collections::HashMap<u64, u128> {
        l.iter()
            .filter_map(|s| {
                let mut it = s.split(' ');
                (it.next()? == tag).then_some(())?;
                Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
            })
            .collect()
    };
    let (e, s) = (parse(&sent, "E"), parse(&seen, "S"));
    let mut lat: Vec<f64> = e
        .iter()
        .filter_map(|(i, t0)| Some((*s.get(i)? as f64 - *t0 as f64) / 1000.0))
        .collect();
    lat.sort_by(f64::total_cmp);
    assert!(!lat.is_empty(), "the reader saw no edit");
    // The reference: the wire alone, one way.
    let mut srv = pair.spawn(
        &pair.a,
        "tcp-server",
        dir,
        &[("WEFT_BENCH_TCP", "rtt".into())],
    );
    let mut srv_lines = lines(&mut srv);
    assert_eq!(srv_lines.next().as_deref(), Some("READY"));
    let mut cli = pair.spawn(
        &pair.b,
        "tcp-client",
        dir,
        &[("WEFT_BENCH_TCP", "rtt".into())],
    );
    let r: Vec<f64> = lines(&mut cli)
        .next()
        .unwrap()
        .split(' ')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let _ = cli.wait();
    let _ = srv.kill();
    let (w50, w95) = (r[0] / 2.0, r[1] / 2.0);
    println!(
        "lan edit-to-visible ({} of {edits} edits seen, one every {} ms, two daemons in two namespaces):",
        lat.len(),
        EDIT_GAP.as_millis()
    );
    let (p50, p95) = (pct(&lat, 0.5), pct(&lat, 0.95));
    println!(
        "  weft       p50 {p50:.2} ms  p95 {p95:.2} ms  max {:.2} ms   (goal p50 < 10 ms, p95 < 25 ms)",
        lat[lat.len() - 1]
    );
    println!("  tcp 64 B   p50 {w50:.3} ms  p95 {w95:.3} ms   (one way: half a round trip)");
    println!("  ratio      p50 {:.1}x  p95 {:.1}x", p50 / w50, p95 / w95);
}

fn bench_pull(pair: &Pair, dir: &Path, docs: usize) {
    let (ha, hb) = (dir.join("pull-a"), dir.join("pull-b"));
    let t = Instant::now();
    let mut a = make_device(&ha, 3);
    for i in 0..docs {
        a.create_record(
            &format!("doc {i}"),
            &[],
            &json!({"n": i, "title": format!("record number {i}"), "tags": ["a", "b"]}),
        )
        .unwrap();
    }
    a.close().unwrap();
    eprintln!(
        "built {docs} documents in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    make_device(&hb, 4).close().unwrap();
    let mut srv = pair.spawn(&pair.a, "serve", &ha, &[]);
    let mut srv_lines = lines(&mut srv);
    assert_eq!(srv_lines.next().as_deref(), Some("READY"));
    let mut pull = pair.spawn(&pair.b, "pull", &hb, &[]);
    let line = lines(&mut pull).next().expect("the joiner never synced");
    let _ = pull.wait();
    let _ = srv.kill();
    let _ = srv.wait();
    let f: Vec<f64> = line
        .split(' ')
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let (secs, bytes, changes) = (f[0], f[1], f[2]);
    // Reference: the same number of bytes over one plain TCP connection.
    let n = (bytes as usize).to_string();
    let mut sink = pair.spawn(&pair.a, "tcp-server", dir, &[("WEFT_BENCH_TCP", n.clone())]);
    let mut sink_lines = lines(&mut sink);
    assert_eq!(sink_lines.next().as_deref(), Some("READY"));
    let mut src = pair.spawn(&pair.b, "tcp-client", dir, &[("WEFT_BENCH_TCP", n)]);
    let tl = lines(&mut src).next().unwrap();
    let _ = src.wait();
    let _ = sink.kill();
    let tcp: f64 = tl.split(' ').nth(1).unwrap().parse().unwrap();
    let mb = bytes / 1e6;
    println!(
        "lan join: a fresh device pulls {docs} documents ({changes} changes, {mb:.1} MB of sealed changes):"
    );
    println!(
        "  weft          {secs:.2} s  {:.1} MB/s  (from node start: discovery, handshake, verify, store)",
        mb / secs
    );
    println!(
        "  plain tcp     {tcp:.2} s  {:.1} MB/s  (the same bytes over one connection, 64 KiB writes)",
        mb / tcp
    );
    println!("  ratio         {:.1}x", secs / tcp);
}

fn main() {
    if let Ok(role) = std::env::var("WEFT_BENCH_ROLE") {
        match role.as_str() {
            "tcp-server" => return role_tcp_server(),
            "tcp-client" => return role_tcp_client(),
            _ => {}
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        return rt.block_on(async {
            match role.as_str() {
                "writer" => role_writer().await,
                "reader" => role_reader().await,
                "serve" => role_serve().await,
                "pull" => role_pull().await,
                other => panic!("unknown role {other}"),
            }
        });
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `ip netns add` needs root.
    let who = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&who.stdout).trim() != "0" {
        println!("lan: skipped (needs root for network namespaces)");
        return;
    }
    let quick = std::env::var_os("WEFT_BENCH_QUICK").is_some();
    let dir = tempfile::tempdir().unwrap();
    let pair = Pair::new();
    bench_latency(&pair, dir.path(), if quick { 200 } else { 1000 });
    bench_pull(&pair, dir.path(), if quick { 1000 } else { 10_000 });
}
