//! Human and JSON output. Data goes to standard output; messages (confirmations,
//! hints, warnings, progress) go to standard error, so `weft ls | wc -l` counts
//! documents. Text that came from a document or another device is passed through
//! [`clean`] before it reaches a terminal.

use std::borrow::Cow;
use std::io::IsTerminal;

use anyhow::Result;
use serde::Serialize;
use weft_engine::{DocSummary, Shown, Status, Version};

/// Prints `v` as pretty JSON on standard output.
pub fn json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A message for the person at the terminal: standard error, never standard output.
macro_rules! say {
    ($($fmt:tt)*) => { eprintln!($($fmt)*) };
}
pub(crate) use say;

/// Text from a document or another device, made safe to print: control characters
/// (escape sequences could move the cursor, retitle the terminal or hide text) become
/// their visible control pictures (ESC shows as `␛`), and bidirectional overrides, which
/// could make text read differently from what it is, become U+FFFD. Line breaks and
/// tabs are kept only where `multiline`.
pub fn clean(s: &str, multiline: bool) -> Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && !(multiline && (c == '\n' || c == '\t')))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if !bad(c) {
                    c
                } else if (c as u32) < 0x20 {
                    char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}')
                } else if c == '\u{7F}' {
                    '\u{2421}'
                } else {
                    '\u{FFFD}'
                }
            })
            .collect(),
    )
}

/// Whether a table gets its header line: only for a person at a terminal, so a script
/// reading standard output gets one line per item.
pub fn header() -> bool {
    std::io::stdout().is_terminal()
}

/// A progress bar on standard error, when that is a terminal (and the command does not
/// print JSON); `None` otherwise, so scripts and logs get no bar.
pub fn progress(what: &str, json: bool) -> Option<indicatif::ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{pos}}/{{len}} [{{bar:30}}] {{per_sec}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}

/// Moves `bar` (if any) to `done` of `total`.
pub fn tick(bar: &Option<indicatif::ProgressBar>, done: u64, total: u64) {
    if let Some(b) = bar {
        b.set_length(total);
        b.set_position(done);
    }
}

/// Runs `work` with a progress bar labelled `what` (see [`progress`]), handing it
/// the `(done, total)` callback; the bar is cleared however `work` ends.
pub fn with_progress<T>(
    what: &str,
    json: bool,
    work: impl FnOnce(&mut dyn FnMut(usize, usize)) -> T,
) -> T {
    let bar = progress(what, json);
    let out = work(&mut |done, total| tick(&bar, done as u64, total as u64));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    out
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
        say!("No documents. Create one with `weft new note TITLE`.");
        return;
    }
    if header() {
        println!("{:<8}  {:<6}  {:<16}  PATH", "ID", "KIND", "UPDATED");
    }
    for d in docs {
        let id = d.id.to_hex();
        println!(
            "{:<8}  {:<6}  {:<16}  {}{}",
            &id[..8],
            d.kind,
            local_time(d.updated_ms),
            clean(&d.path, false),
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
            println!("{}{}/", "  ".repeat(depth - 1), clean(name, false));
        }
        for d in docs.iter().filter(|d| &d.folder == f) {
            let id = d.id.to_hex();
            println!(
                "{}{}  ({}, {}){}",
                "  ".repeat(depth),
                clean(&d.title, false),
                d.kind,
                &id[..8],
                if d.deleted { " (deleted)" } else { "" }
            );
        }
    }
}

pub fn shown(s: &Shown) -> Result<()> {
    match s {
        // A note's text is data: exactly as stored into a pipe or file, made safe only
        // for a terminal.
        Shown::Note { markdown } if std::io::stdout().is_terminal() => {
            print!("{}", clean(markdown, true))
        }
        Shown::Note { markdown } => print!("{markdown}"),
        Shown::Record { json, conflicts } => {
            println!("{}", serde_json::to_string_pretty(json)?);
            for c in conflicts {
                let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
                say!(
                    "note: {} was changed on several devices at once: {}",
                    clean(&c.pointer, false),
                    clean(&values.join(" | "), false)
                );
            }
        }
    }
    Ok(())
}

pub fn history(versions: &[Version]) {
    if header() {
        println!("{:>4}  {:<16}  {:<20}  SUMMARY", "#", "TIME", "DEVICE");
    }
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
            clean(&v.summary, false)
        );
    }
}

pub fn status(s: &Status) {
    println!("workspace  {} ({})", clean(&s.name, false), s.workspace_id);
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
    for u in &s.unreadable {
        println!("unreadable {}", clean(&u.message, false));
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
        parts.push(format!("problem: {}", clean(&r.status, false)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_from_other_devices_are_shown_not_obeyed() {
        assert_eq!(clean("plain title", false), "plain title");
        assert_eq!(clean("\u{1b}]0;pwned\u{7}x", false), "␛]0;pwned␇x");
        assert_eq!(clean("a\nb\tc", false), "a␊b␉c");
        assert_eq!(clean("a\nb\tc", true), "a\nb\tc");
        assert_eq!(clean("\u{9b}31m", true), "\u{FFFD}31m");
        assert_eq!(clean("abc\u{202E}fdp.exe", false), "abc\u{FFFD}fdp.exe");
        assert_eq!(clean("\u{7f}", false), "\u{2421}");
    }
}
