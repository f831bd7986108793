//! Whether two devices show the same workspace, and waiting for it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::host::{Daemon, Host};

/// Every exported file under `dir`, by relative path.
fn read_tree(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).expect("reading an export") {
        let path = entry.expect("reading an export").path();
        if path.is_dir() {
            read_tree(&path, base, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .expect("inside")
                .display()
                .to_string();
            out.insert(rel, std::fs::read(&path).expect("reading an exported file"));
        }
    }
}

/// What a user sees of a workspace: `ls --json` and the content of every
/// document. The content comes from one `weft export` (Markdown and JSON)
/// instead of a `show` per document: one process per host and poll,
/// whatever the number of documents. Not `--native`: Loro and Automerge
/// bytes of equal documents may differ with the order changes arrived in.
/// Conflicting values of a field are not exported; tests that make them
/// compare `show --json` of that record too.
pub struct View {
    pub ls: Value,
    pub files: BTreeMap<String, Vec<u8>>,
}

static EXPORTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `ls --json`, `updated` included: a synced change carries its author's
/// time, so equal documents show the same `updated` on every device.
fn comparable_ls(h: &Host) -> Value {
    h.ls()
}

pub fn view(h: &Host) -> View {
    let ls = comparable_ls(h);
    let n = EXPORTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = h.dir().join(format!("export-{n}"));
    h.ok(&["export", dir.to_str().expect("utf-8 path")]);
    let mut files = BTreeMap::new();
    read_tree(&dir, &dir, &mut files);
    let _ = std::fs::remove_dir_all(&dir);
    View { ls, files }
}

/// None if `a` and `b` show the same; else what differs.
pub fn difference(a: &Host, b: &Host) -> Option<String> {
    let va = view(a);
    let vb = view(b);
    if va.ls != vb.ls {
        return Some(format!(
            "`ls --json` differs:\n{}: {}\n{}: {}",
            a.name(),
            va.ls,
            b.name(),
            vb.ls
        ));
    }
    if va.files != vb.files {
        let differing: Vec<&String> = va
            .files
            .keys()
            .chain(vb.files.keys())
            .filter(|k| va.files.get(*k) != vb.files.get(*k))
            .collect();
        return Some(format!("same `ls`, different content in {differing:?}"));
    }
    None
}

/// Waits until `a` and `b` show the same documents; panics after `timeout`
/// with both sides' `ls` and the daemons' logs.
pub fn assert_converge(a: &Host, b: &Host, daemons: &[&Daemon], timeout: Duration) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        match difference(a, b) {
            None => {
                eprintln!(
                    "{} and {} converged after {:.1} s",
                    a.name(),
                    b.name(),
                    start.elapsed().as_secs_f64()
                );
                return;
            }
            Some(d) => last = d,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "{} and {} did not converge within {timeout:?}: {last}\n{}",
        a.name(),
        b.name(),
        logs(daemons)
    );
}

/// The daemons' logs, for a failure message.
pub fn logs(daemons: &[&Daemon]) -> String {
    daemons
        .iter()
        .map(|d| format!("--- {} ---\n{}", d.name(), d.log()))
        .collect::<Vec<_>>()
        .join("\n")
}
