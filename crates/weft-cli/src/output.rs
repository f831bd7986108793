//! Human and JSON output.

use anyhow::Result;
use serde::Serialize;
use weft_engine::{DocSummary, Shown, Status, Version};

pub fn json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

pub fn table(docs: &[DocSummary]) {
    if docs.is_empty() {
        println!("No documents. Create one with `weft new note TITLE`.");
        return;
    }
    println!("{:<8}  {:<6}  {:<16}  PATH", "ID", "KIND", "UPDATED");
    for d in docs {
        let id = d.id.to_hex();
        println!(
            "{:<8}  {:<6}  {:<16}  {}{}",
            &id[..8],
            d.kind,
            local_time(d.updated_ms),
            d.path,
            if d.deleted { "  (deleted)" } else { "" }
        );
    }
}

pub fn tree(folders: &[Vec<String>], docs: &[DocSummary]) {
    // Every folder (even empty ones), then documents under their folder.
    let mut all: Vec<Vec<String>> = folders.to_vec();
    for d in docs {
        for i in 1..=d.folder.len() {
            all.push(d.folder[..i].to_vec());
        }
    }
    all.push(Vec::new());
    all.sort();
    all.dedup();
    for f in &all {
        let depth = f.len();
        if let Some(name) = f.last() {
            println!("{}{}/", "  ".repeat(depth - 1), name);
        }
        for d in docs.iter().filter(|d| &d.folder == f) {
            let id = d.id.to_hex();
            println!(
                "{}{}  ({}, {}){}",
                "  ".repeat(depth),
                d.title,
                d.kind,
                &id[..8],
                if d.deleted { " (deleted)" } else { "" }
            );
        }
    }
}

pub fn shown(s: &Shown) -> Result<()> {
    match s {
        Shown::Note { markdown } => print!("{markdown}"),
        Shown::Record { json, conflicts } => {
            println!("{}", serde_json::to_string_pretty(json)?);
            for c in conflicts {
                let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
                eprintln!(
                    "note: {} was changed on several devices at once: {}",
                    c.pointer,
                    values.join(" | ")
                );
            }
        }
    }
    Ok(())
}

pub fn history(versions: &[Version]) {
    println!("{:>4}  {:<16}  {:<20}  SUMMARY", "#", "TIME", "DEVICE");
    for v in versions {
        let dev = v.device.to_string();
        let dev = format!(
            "…{}{}",
            &dev[dev.len().saturating_sub(8)..],
            if v.this_device { " (this)" } else { "" }
        );
        println!(
            "{:>4}  {:<16}  {:<20}  {}",
            v.number,
            local_time(v.time_ms),
            dev,
            v.summary
        );
    }
}

pub fn status(s: &Status) {
    println!("workspace  {} ({})", s.name, s.workspace_id);
    println!("device     {}", s.device_id);
    println!("home       {}", s.home);
    println!(
        "documents  {} notes, {} records, {} in the trash, {} folders",
        s.notes, s.records, s.deleted, s.folders
    );
    println!("changes    {}", s.changes);
    println!("storage    {}", human_bytes(s.storage_bytes));
    println!("keys       {}", s.keys);
    let last = s
        .last_sync_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "never".to_owned());
    match &s.node {
        Some(n) => println!(
            "sync       running (pid {}); {} devices, last in sync {last}",
            n.pid, s.peers
        ),
        None => println!(
            "sync       not running (`weft daemon` syncs continuously); {} devices, last in sync {last}",
            s.peers
        ),
    }
    for r in &s.relays {
        println!("relay      {}", relay_line(r));
    }
}

/// One relay's line: its address, then how it is doing.
pub fn relay_line(r: &weft_engine::RelayStatus) -> String {
    let when = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "never".to_owned())
    };
    let mut parts = Vec::new();
    if r.forgetting {
        parts.push("deleting this workspace from it (`weft relay forget`)".to_owned());
    }
    if !r.status.is_empty() {
        parts.push(format!("problem: {}", r.status));
    }
    match r.registered_ms {
        Some(_) => parts.push(format!("last in sync {}", when(r.last_sync_ms))),
        None => parts.push("not registered yet (a running node registers it)".to_owned()),
    }
    if let Some(used) = r.used_bytes {
        let used = human_bytes(used.max(0) as u64);
        match r.quota_bytes {
            Some(q) if q > 0 => parts.push(format!("{used} of {} quota", human_bytes(q as u64))),
            _ => parts.push(format!("{used} stored")),
        }
    }
    format!("{}\n             {}", r.addr, parts.join("; "))
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
