//! The soak: three devices (`weft daemon` processes) and a relay under
//! continuous edits while a chaos loop kills and restarts devices and relay
//! nodes at random and fills and frees a small disk under one device. At
//! the end every device must hold every edit any `weft` command reported as
//! done, and `PRAGMA integrity_check` must pass on every file.
//!
//! Two phases: a relay on SQLite, then two relay nodes sharing one
//! PostgreSQL database (when `WEFT_TEST_DATABASE_URL` is set, as
//! `make bench` does through scripts/with-postgres.sh). The disk is a tmpfs
//! mounted for the run (root only; otherwise that part is skipped, and said).
//!
//! `WEFT_SOAK_SECONDS` sets each phase's length (default 180);
//! `WEFT_SOAK_ONLY=postgres` runs the second phase alone.

// A benchmark: a failed step is a panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "soak passphrase, not a secret";

fn weft_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weft"))
}

fn relay_bin() -> PathBuf {
    let p = weft_bin().with_file_name("weft-relay");
    assert!(
        p.exists(),
        "{} is missing: `cargo build --release -p weft-relay` first (make bench does)",
        p.display()
    );
    p
}

mod common;
use common::Rng;

fn weft(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(weft_bin());
    c.env("WEFT_HOME", home)
        .env("WEFT_PASSPHRASE", PASSPHRASE)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        None => {
            c.stdin(Stdio::null());
            c.output().expect("run weft")
        }
        Some(text) => {
            c.stdin(Stdio::piped());
            let mut child = c.spawn().expect("run weft");
            if let Some(mut i) = child.stdin.take() {
                let _ = i.write_all(text.as_bytes());
            }
            child.wait_with_output().expect("run weft")
        }
    }
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tmpfs mounted for the run, unmounted on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(dir: PathBuf, size: &str) -> Option<Self> {
        std::fs::create_dir_all(&dir).ok()?;
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        st.success().then_some(Self { dir })
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Writes until the disk is full.
    fn fill(&self) {
        let Ok(mut f) = std::fs::File::create(self.filler()) else {
            return;
        };
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// One relay node: restarted on the same port and data dir, so it keeps
/// its identity and address.
struct RelayNode {
    dir: PathBuf,
    port: u16,
    database: Option<String>,
    child: Option<Child>,
    addr: String,
}

impl RelayNode {
    fn start(dir: PathBuf, database: Option<String>) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut node = Self {
            dir,
            port,
            database,
            child: None,
            addr: String::new(),
        };
        node.spawn();
        let out = node.dir.join("stdout");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(a) = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("weft relay add "))
            {
                node.addr = a.to_owned();
                break;
            }
            assert!(Instant::now() < deadline, "the relay printed no address");
            std::thread::sleep(Duration::from_millis(100));
        }
        node
    }

    fn spawn(&mut self) {
        let mut c = Command::new(relay_bin());
        c.args([
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{}", self.port),
            "--http",
            "off",
        ])
        .arg("--data-dir")
        .arg(&self.dir)
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(self.dir.join("stdout")).unwrap())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("stderr"))
                .unwrap(),
        );
        if let Some(db) = &self.database {
            c.args(["--database", db]);
        }
        self.child = Some(c.spawn().expect("start weft-relay"));
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RelayNode {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Device {
    name: String,
    home: PathBuf,
    /// The daemon's log, beside the homes (not on the small disk).
    log: PathBuf,
    daemon: Option<Child>,
}

impl Device {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(weft_bin())
            .env("WEFT_HOME", &self.home)
            .env("WEFT_PASSPHRASE", PASSPHRASE)
            .env("RUST_LOG", "info")
            .args(["daemon", "--no-mdns", "--port", "0", "--device-name"])
            .arg(&self.name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start weft daemon");
        self.daemon = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn titles(&self) -> BTreeSet<String> {
        let out = weft(&self.home, &["ls", "--json"], None);
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
            return BTreeSet::new();
        };
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["title"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Default)]
struct Counts {
    edits: AtomicU64,
    acknowledged: AtomicU64,
    refused_while_full: AtomicU64,
}

fn integrity_ok(db: &Path) -> bool {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)))
        .is_ok_and(|s| s == "ok")
}

fn phase(label: &str, seconds: u64, database: Option<String>, nodes: usize, seed: u64) {
    let root = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed | 1);
    let mut relays: Vec<RelayNode> = (0..nodes)
        .map(|i| RelayNode::start(root.path().join(format!("relay{i}")), database.clone()))
        .collect();
    // Device c's home is on the small disk when one can be mounted.
    let disk = SmallDisk::mount(root.path().join("disk"), "48m");
    let homes = [
        root.path().join("a"),
        root.path().join("b"),
        match &disk {
            Some(d) => d.dir.join("c"),
            None => root.path().join("c"),
        },
    ];
    ok(
        weft(&homes[0], &["init", "--name", "Soak", "--passphrase"], None),
        "init",
    );
    for r in &relays {
        ok(
            weft(&homes[0], &["relay", "add", &r.addr], None),
            "relay add",
        );
    }
    let code = ok(weft(&homes[0], &["invite", "--no-qr"], None), "invite")
        .lines()
        .find(|l| l.starts_with("weft1-"))
        .expect("an invite code")
        .to_owned();
    for home in &homes[1..] {
        ok(
            weft(
                home,
                &[
                    "join",
                    &code,
                    "--passphrase",
                    "--timeout",
                    "60",
                    "--no-mdns",
                    "--port",
                    "0",
                ],
                None,
            ),
            "join",
        );
    }
    let mut devices: Vec<Device> = homes
        .iter()
        .zip(["a", "b", "c"])
        .map(|(h, n)| Device {
            name: n.into(),
            home: h.clone(),
            log: root.path().join(format!("{n}.log")),
            daemon: None,
        })
        .collect();
    for d in &mut devices {
        d.start();
    }

    // Editors: each device makes a note every 100-400 ms through the CLI,
    // as a person or a script would, whatever its daemon is doing. A note
    // whose command exited 0 is acknowledged: it must be everywhere at the
    // end.
    let stop = Arc::new(AtomicBool::new(false));
    let full = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let editors: Vec<_> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (home, name) = (d.home.clone(), d.name.clone());
            let (stop, full, counts, acked) =
                (stop.clone(), full.clone(), counts.clone(), acked.clone());
            let mut rng = Rng(seed.wrapping_mul(31).wrapping_add(i as u64 + 7) | 1);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let title = format!("{name}-{n}");
                    let was_full = full.load(Ordering::Relaxed);
                    counts.edits.fetch_add(1, Ordering::Relaxed);
                    let out = weft(
                        &home,
                        &["new", "note", &title, "--stdin"],
                        Some(&format!("edit {n} of device {name}\n")),
                    );
                    if out.status.success() {
                        counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                        acked.lock().unwrap().insert(title);
                    } else if was_full || full.load(Ordering::Relaxed) {
                        counts.refused_while_full.fetch_add(1, Ordering::Relaxed);
                    } else {
                        eprintln!(
                            "  {title} failed: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        );
                    }
                    std::thread::sleep(rng.millis(100, 400));
                }
            })
        })
        .collect();

    // Chaos.
    let (mut device_kills, mut relay_kills, mut disk_fulls) = (0u64, 0u64, 0u64);
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        std::thread::sleep(rng.millis(1500, 5000));
        match rng.below(if disk.is_some() { 3 } else { 2 }) {
            0 => {
                let d = rng.below(devices.len() as u64) as usize;
                devices[d].kill();
                device_kills += 1;
                std::thread::sleep(rng.millis(200, 2000));
                devices[d].start();
            }
            1 => {
                let r = rng.below(relays.len() as u64) as usize;
                relays[r].kill();
                relay_kills += 1;
                std::thread::sleep(rng.millis(200, 2000));
                relays[r].spawn();
            }
            _ => {
                if let Some(disk) = &disk {
                    full.store(true, Ordering::Relaxed);
                    disk.fill();
                    disk_fulls += 1;
                    std::thread::sleep(rng.millis(1000, 4000));
                    disk.free();
                    full.store(false, Ordering::Relaxed);
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for e in editors {
        let _ = e.join();
    }
    if let Some(disk) = &disk {
        disk.free();
    }
    // Everything up again: the daemons catch up through the relays.
    for d in &mut devices {
        if d.daemon
            .as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some())
        {
            d.start();
        }
    }
    let acked = acked.lock().unwrap().clone();
    let settle = Instant::now();
    let deadline = settle + Duration::from_secs(240);
    let mut missing: Vec<(String, usize)>;
    loop {
        missing = devices
            .iter()
            .map(|d| (d.name.clone(), acked.difference(&d.titles()).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let converged = settle.elapsed();
    // Not converged: do fresh sessions (restarted daemons) get there? That
    // tells a change held nowhere from one a live session never offered.
    let mut after_restart = None;
    if !missing.is_empty() {
        for d in &mut devices {
            d.kill();
            d.start();
        }
        let until = Instant::now() + Duration::from_secs(90);
        loop {
            let left: usize = devices
                .iter()
                .map(|d| acked.difference(&d.titles()).count())
                .max()
                .unwrap_or(0);
            if left == 0 || Instant::now() > until {
                after_restart = Some(left);
                break;
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    for d in &mut devices {
        d.kill();
    }
    for r in &mut relays {
        r.kill();
    }
    let mut files: Vec<PathBuf> = devices.iter().map(|d| d.home.join("weft.db")).collect();
    if database.is_none() {
        files.push(relays[0].dir.join("relay.db"));
    }
    let bad: Vec<String> = files
        .iter()
        .filter(|f| !integrity_ok(f))
        .map(|f| f.display().to_string())
        .collect();
    let lost: usize = missing.iter().map(|(_, n)| *n).max().unwrap_or(0);
    println!(
        "soak, {label}, 3 devices, {seconds} s: {} edits made ({} acknowledged), {} kills ({device_kills} of devices, {relay_kills} of relay nodes), {} disk-full events ({} edits refused while full){}, converged {} in {:.1} s, lost {lost} of {}, integrity_check {}",
        counts.edits.load(Ordering::Relaxed),
        counts.acknowledged.load(Ordering::Relaxed),
        device_kills + relay_kills,
        disk_fulls,
        counts.refused_while_full.load(Ordering::Relaxed),
        if disk.is_none() {
            " (no small disk: not root)"
        } else {
            ""
        },
        if missing.is_empty() { "" } else { "NOT" },
        converged.as_secs_f64(),
        acked.len(),
        if bad.is_empty() {
            format!("ok on {} files", files.len())
        } else {
            format!("FAILED on {}", bad.join(", "))
        },
    );
    for (name, n) in &missing {
        println!("  device {name} lacked {n} acknowledged notes");
    }
    if let Some(left) = after_restart {
        println!("  after restarting every daemon: {left} still missing");
    }
    drop(devices);
    drop(relays);
    drop(disk);
    if !missing.is_empty() {
        // Kept for a look: the daemons' logs and the relays' data.
        println!("  logs kept in {}", root.keep().display());
    }
}

fn main() {
    let seconds: u64 = std::env::var("WEFT_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let seed = std::env::var("WEFT_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("soak seed {seed} (WEFT_SOAK_SEED repeats a run)");
    if std::env::var("WEFT_SOAK_ONLY").as_deref() != Ok("postgres") {
        phase("relay on SQLite", seconds, None, 1, seed);
    }
    match std::env::var("WEFT_TEST_DATABASE_URL") {
        Ok(url) => phase(
            "two relay nodes on PostgreSQL",
            seconds,
            Some(url),
            2,
            seed.rotate_left(17),
        ),
        Err(_) => println!(
            "soak, two relay nodes on PostgreSQL: skipped (no WEFT_TEST_DATABASE_URL; make bench runs it under scripts/with-postgres.sh)"
        ),
    }
}
