//! Builds a workspace home holding the automerge-paper note with its whole
//! history, for the window benchmark (ui/bench/window.mjs):
//!
//! ```sh
//! scripts/with-keyring.sh cargo run --release -p weft-engine --example seed_paper -- HOME
//! ```
//!
//! The trace's 259,778 keystrokes are replayed through the engine's real path
//! (`with_note` + `commit_edits`: Loro → sealed change → SQLite), 100 edits per
//! commit by default (`--per-commit N`), into the note "automerge-paper" in the
//! folder "Papers". Then the note is given rich text the way ui/bench/open-note.mjs
//! formats it (headings, list items, code lines, italic/bold/code/link spans),
//! so the editor's delta is not one plain run. A second note, "Small note", a
//! few paragraphs long, is the reference for keystroke latency.
//!
//! Keys go to the OS keyring (run it under scripts/with-keyring.sh: the app
//! then opens the workspace without asking), or to a passphrase file when
//! `WEFT_PASSPHRASE` is set. `WEFT_TRACE` overrides the trace file.

use std::error::Error;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use weft_engine::{KeyBackend, Workspace};
use zeroize::Zeroizing;

type Patch = (usize, usize, String);
type Res<T> = Result<T, Box<dyn Error>>;

const TITLE: &str = "automerge-paper";
const SMALL_NOTE: &str = "# A small note\n\nThe reference for keystroke latency: a few \
paragraphs, one *italic* and one **bold** span.\n\n- one item\n- another item\n\n\
Typing happens in the middle of this paragraph, which is long enough to hold the \
caret well away from both of its ends while the benchmark types two hundred \
characters into it.\n\nThe last line.\n";

fn usage() -> Box<dyn Error> {
    "usage: seed_paper HOME [--per-commit N]".into()
}

fn load_trace() -> Res<(String, Vec<Patch>, String)> {
    let path = std::env::var_os("WEFT_TRACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../testdata/traces/automerge-paper.json.gz"
            ))
        });
    let gz = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut json)?;
    let v: serde_json::Value = serde_json::from_str(&json)?;
    let bad = || format!("{}: not a sequential editing trace", path.display());
    let mut patches = Vec::new();
    for txn in v["txns"].as_array().ok_or_else(bad)? {
        for p in txn["patches"].as_array().ok_or_else(bad)? {
            let pos = p[0].as_u64().ok_or_else(bad)? as usize;
            let del = p[1].as_u64().ok_or_else(bad)? as usize;
            let ins = p[2].as_str().ok_or_else(bad)?.to_owned();
            patches.push((pos, del, ins));
        }
    }
    let start = v["startContent"].as_str().unwrap_or_default().to_owned();
    let end = v["endContent"].as_str().ok_or_else(bad)?.to_owned();
    Ok((start, patches, end))
}

/// The marks open-note.mjs puts on the text: (start, end, key, value) in chars.
/// The trace is ASCII, so byte offsets of `s` are char offsets.
fn formatting(s: &str) -> Vec<(usize, usize, &'static str, loro::LoroValue)> {
    let mut marks = Vec::new();
    let mut line_start = 0;
    for (i, _) in s.match_indices('\n') {
        let line = &s[line_start..i];
        let block = if line.starts_with("\\section") {
            Some("h2")
        } else if line.starts_with("\\subsection") {
            Some("h3")
        } else if line.trim_start().starts_with("\\item") {
            Some("bullet")
        } else if line.starts_with('%') {
            Some("code_block")
        } else {
            None
        };
        if let Some(b) = block {
            marks.push((i, i + 1, "block", b.into()));
            if b == "code_block" {
                marks.push((i, i + 1, "lang", "latex".into()));
            }
        }
        line_start = i + 1;
    }
    for (cmd, key) in [
        ("\\emph{", "italic"),
        ("\\textbf{", "bold"),
        ("\\texttt{", "code"),
        ("\\url{", "link"),
    ] {
        for (at, _) in s.match_indices(cmd) {
            // Up to the first '}' on the same line, as the regexes of open-note.mjs.
            let rest = &s[at + cmd.len()..];
            let Some(close) = rest.find(['}', '\n']) else {
                continue;
            };
            if rest.as_bytes()[close] != b'}' {
                continue;
            }
            let end = at + cmd.len() + close + 1;
            let value: loro::LoroValue = if key == "link" {
                rest[..close].to_owned().into()
            } else {
                true.into()
            };
            marks.push((at, end, key, value));
        }
    }
    marks
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let home = PathBuf::from(args.next().ok_or_else(usage)?);
    let mut per_commit = 100usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--per-commit" => {
                per_commit = args.next().ok_or_else(usage)?.parse()?;
                if per_commit == 0 {
                    return Err(usage());
                }
            }
            _ => return Err(usage()),
        }
    }
    let keys = match std::env::var("WEFT_PASSPHRASE") {
        Ok(p) => KeyBackend::Passphrase(Zeroizing::new(p)),
        Err(_) => KeyBackend::OsKeyring,
    };

    let (start, patches, end) = load_trace()?;
    let t = Instant::now();
    let mut ws = Workspace::init(&home, "Paper", keys)?;
    let doc = ws.create_note(TITLE, &["Papers".into()], "")?;
    if !start.is_empty() {
        ws.with_note(&doc, |n| n.insert(0, &start))??;
        ws.commit_edits(&doc, "typing")?;
    }
    let mut commits = 0;
    for chunk in patches.chunks(per_commit) {
        ws.with_note(&doc, |n| -> Res<()> {
            for (pos, del, ins) in chunk {
                if *del > 0 {
                    n.delete(*pos, *del)?;
                }
                if !ins.is_empty() {
                    n.insert(*pos, ins)?;
                }
            }
            Ok(())
        })??;
        ws.commit_edits(&doc, "typing")?;
        commits += 1;
    }
    let text = ws.with_note(&doc, |n| n.plain_text())?;
    if text != end {
        return Err("the replayed note differs from the trace's endContent".into());
    }
    let marks = ws.with_note(&doc, |n| -> Res<usize> {
        let body = n.text();
        if !end.ends_with('\n') {
            body.insert(body.len_unicode(), "\n")?;
        }
        let marks = formatting(&body.to_string());
        for (s, e, key, value) in &marks {
            body.mark(*s..*e, key, value.clone())?;
        }
        Ok(marks.len())
    })??;
    ws.commit_edits(&doc, "formatting")?;
    ws.create_note("Small note", &["Papers".into()], SMALL_NOTE)?;
    ws.close()?;
    println!(
        "seeded {}: {} edits in {commits} commits, {marks} marks, {} chars, in {:.1} s",
        home.display(),
        patches.len(),
        end.chars().count(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
