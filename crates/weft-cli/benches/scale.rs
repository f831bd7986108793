//! The scale curve: a workspace of 1,000, 10,000 and 100,000 documents
//! (generated notes of realistic sizes and a tenth records, in two levels of
//! folders), each figure printed beside the 1,000-document one from the same
//! run. A single-document operation should stay within 2x of its 1,000
//! figure at every size; import, export and pull should grow linearly.
//!
//! Through the real `weft` binary (a fresh process each time, as a user runs
//! it): import, `weft new`, `weft set`, `weft show`, `weft ls`, export, and
//! the RSS of a running `weft daemon`. In process, on one open workspace (as
//! the daemon and the app hold it): creating a document, a search after the
//! first one, and the memory the search index takes.
//!
//! `WEFT_SCALE_SIZES=1000,10000` picks the sizes (default 1000,10000,100000).

// A benchmark: a failed step is a panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSPHRASE: &str = "scale passphrase, not a secret";

/// The `weft` built with this bench, or `WEFT_BIN` (a copied release build).
fn weft_bin() -> PathBuf {
    std::env::var_os("WEFT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_weft")))
}

fn weft(home: &Path, args: &[&str]) -> Output {
    let out = Command::new(weft_bin())
        .env("WEFT_HOME", home)
        .env("WEFT_PASSPHRASE", PASSPHRASE)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run weft");
    assert!(
        out.status.success(),
        "weft {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

mod common;
// A fixed seed per size, so every run generates the same workspace.
use common::Rng;

const WORDS: &[&str] = &[
    "garden", "letter", "river", "meeting", "draft", "budget", "travel", "recipe", "python",
    "harbor", "window", "market", "lantern", "copper", "meadow", "signal", "winter", "planet",
    "ledger", "orchard", "canvas", "thread", "pocket", "summit", "glacier", "violet", "archive",
];

fn sentence(r: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[r.below(WORDS.len() as u64) as usize]);
    }
    s.push('.');
    s
}

/// A note of 1–3 KB as vaults hold them: frontmatter, a heading,
/// paragraphs with wikilinks, a list.
fn note(r: &mut Rng, i: usize) -> String {
    let tag = WORDS[r.below(WORDS.len() as u64) as usize];
    let mut s = format!(
        "---\ntags: [{tag}, note]\ncreated: 2024-01-{:02}\n---\n# Note {i}\n\n",
        1 + i % 28
    );
    for _ in 0..(2 + r.below(4)) {
        for _ in 0..(3 + r.below(4)) {
            let words = 8 + r.below(10) as usize;
            s.push_str(&sentence(r, words));
            s.push(' ');
        }
        let _ = write!(s, "See [[Note {}]].\n\n", r.below(1000));
    }
    for k in 0..(2 + r.below(4)) {
        let _ = writeln!(s, "- item {k}: {}", sentence(r, 4));
    }
    s
}

/// Writes `n` documents into `dir`: notes, and every tenth a record, in
/// `n / 50` folders of two levels. Returns one note's and one record's title.
fn generate(dir: &Path, n: usize) -> (String, String) {
    let mut r = Rng(0x5eed_0000 + n as u64);
    let folders = (n / 50).max(1);
    for i in 0..n {
        let f = i % folders;
        let sub = dir
            .join(format!("Area {}", f / 10))
            .join(format!("Topic {f}"));
        std::fs::create_dir_all(&sub).unwrap();
        if i % 10 == 9 {
            let v = serde_json::json!({
                "title": format!("Record {i}"),
                "count": r.below(1000),
                "done": r.below(2) == 1,
                "tags": [WORDS[r.below(WORDS.len() as u64) as usize]],
                "notes": sentence(&mut r, 12),
            });
            std::fs::write(
                sub.join(format!("Record {i}.json")),
                serde_json::to_string_pretty(&v).unwrap(),
            )
            .unwrap();
        } else {
            std::fs::write(sub.join(format!("Note {i}.md")), note(&mut r, i)).unwrap();
        }
    }
    ("Note 0".into(), "Record 9".into())
}

/// The share of the generated notes that the export wrote back byte for byte.
fn identical_share(src: &Path, out: &Path) -> f64 {
    let (mut same, mut total) = (0usize, 0usize);
    let mut dirs = vec![src.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                total += 1;
                let exported = out.join(p.strip_prefix(src).unwrap());
                same += usize::from(std::fs::read(&p).ok() == std::fs::read(&exported).ok());
            }
        }
    }
    100.0 * same as f64 / total.max(1) as f64
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The median of `runs` timings of `f`.
fn time(runs: usize, mut f: impl FnMut(usize)) -> Duration {
    median(
        (0..runs)
            .map(|i| {
                let t = Instant::now();
                f(i);
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// A memory figure of /proc/PID/status, in KiB (0 once the process is gone).
fn status_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One size's figures, by name.
#[derive(Default)]
struct Figures(Vec<(&'static str, &'static str, f64)>);

impl Figures {
    fn put(&mut self, name: &'static str, unit: &'static str, v: f64) {
        println!("  {name:<34} {v:>12.2} {unit}");
        self.0.push((name, unit, v));
    }
    fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|f| f.0 == name).map(|f| f.2)
    }
}

fn measure(root: &Path, n: usize) -> Figures {
    let mut f = Figures::default();
    println!("== {n} documents ==");
    let src = root.join(format!("src-{n}"));
    let (a_note, a_record) = generate(&src, n);
    let home = root.join(format!("home-{n}"));
    weft(&home, &["init", "--name", "scale", "--passphrase"]);

    let t = Instant::now();
    let mut import = Command::new(weft_bin())
        .env("WEFT_HOME", &home)
        .env("WEFT_PASSPHRASE", PASSPHRASE)
        .args(["import", src.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its peak RSS, read while it runs (the kernel keeps the high-water mark).
    let mut peak = 0;
    let status = loop {
        peak = peak.max(status_kib(import.id(), "VmHWM:"));
        if let Some(s) = import.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "weft import failed");
    let d = t.elapsed();
    f.put("import", "docs/s", n as f64 / d.as_secs_f64());
    f.put("import peak RSS", "MiB", peak as f64 / 1024.0);

    let runs = 7;
    f.put(
        "weft new note",
        "ms",
        ms(time(runs, |i| {
            weft(
                &home,
                &["new", "note", &format!("Fresh {i}"), "--folder", "Area 0"],
            );
        })),
    );
    f.put(
        "weft set",
        "ms",
        ms(time(runs, |i| {
            weft(&home, &["set", &a_record, "/count", &i.to_string()]);
        })),
    );
    f.put(
        "weft show",
        "ms",
        ms(time(runs, |_| {
            weft(&home, &["show", &a_note]);
        })),
    );
    f.put(
        "weft ls",
        "ms",
        ms(time(3, |_| {
            weft(&home, &["ls", "--json"]);
        })),
    );

    let out = root.join(format!("out-{n}"));
    let t = Instant::now();
    weft(&home, &["export", out.to_str().unwrap()]);
    f.put("export", "docs/s", n as f64 / t.elapsed().as_secs_f64());
    f.put(
        "notes exported byte-identical",
        "%",
        identical_share(&src, &out),
    );

    // In process, as the daemon and the app hold a workspace.
    let mut ws = weft_engine::Workspace::open(&home, Some(PASSPHRASE)).unwrap();
    let folder = vec!["Area 1".to_owned()];
    f.put(
        "create (open workspace)",
        "ms",
        ms(time(21, |i| {
            ws.create_note(&format!("In process {i}"), &folder, "text")
                .unwrap();
        })),
    );
    let t = Instant::now();
    let first = ws.search("orchard lantern").unwrap().len();
    f.put("search, first", "ms", ms(t.elapsed()));
    f.put(
        "search, then",
        "ms",
        ms(time(7, |i| {
            let q = [
                "orchard lantern",
                "copper",
                "note 9",
                "glacier summit window",
            ][i % 4];
            ws.search(q).unwrap();
        })),
    );
    assert!(first > 0, "the search found nothing");
    f.put(
        "search index (text held)",
        "MiB",
        ws.search_index_bytes() as f64 / (1024.0 * 1024.0),
    );
    drop(ws);

    let mut daemon = Command::new(weft_bin())
        .env("WEFT_HOME", &home)
        .env("WEFT_PASSPHRASE", PASSPHRASE)
        .args(["daemon", "--port", "0", "--no-mdns"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    f.put("daemon RSS", "MiB", rss_kib(daemon.id()) as f64 / 1024.0);
    let _ = daemon.kill();
    let _ = daemon.wait();
    f
}

fn main() {
    let sizes: Vec<usize> = std::env::var("WEFT_SCALE_SIZES")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let root = tempfile::tempdir().unwrap();
    let all: Vec<(usize, Figures)> = sizes
        .iter()
        .map(|n| (*n, measure(root.path(), *n)))
        .collect();
    let Some((base_n, base)) = all.first() else {
        return;
    };
    println!("\n== scale curve (ratio: against {base_n} documents, same run) ==");
    let mut head = format!("{:<26}", "figure");
    for (n, _) in &all {
        let _ = write!(head, " {:>18}", format!("{n} docs"));
    }
    println!("{head}");
    for (name, unit, _) in &base.0 {
        let mut line = format!("{:<26}", format!("{name} ({unit})"));
        for (_, figs) in &all {
            let v = figs.get(name).unwrap_or(f64::NAN);
            let r = v / base.get(name).unwrap_or(f64::NAN);
            let _ = write!(line, " {:>10.2} ({:>4.2}x)", v, r);
        }
        println!("{line}");
    }
}
