//! Random user actions on a device: note and record edits (with concurrent
//! writes to the same fields), tree moves (including concurrent folder moves
//! that would form a cycle), deletes, undeletes and renames.

use serde_json::json;
use weft_engine::{EngineError, Workspace};

use crate::world::Rng;

const FOLDERS: &[&str] = &["", "x", "y", "x/z"];
const FIELDS: &[&str] = &["/a", "/b", "/c"];
const WORDS: &[&str] = &["alpha", "beta", "gamma", "delta", "weft", "warp", "loom"];

/// Errors a user can cause (a document deleted meanwhile, a folder moved
/// away, a cycle refused locally) are part of the workload. Anything else is
/// a defect and fails the seed.
fn tolerate(r: Result<(), EngineError>) -> Result<(), String> {
    match r {
        Ok(()) => Ok(()),
        Err(
            EngineError::UnknownDoc { .. }
            | EngineError::Deleted { .. }
            | EngineError::WrongKind { .. }
            | EngineError::Index(_)
            | EngineError::Record(_)
            | EngineError::Note(_),
        ) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        Some(&items[rng.below(items.len() as u64) as usize])
    }
}

/// One random action. Documents are chosen by title (unique, assigned
/// from a counter), never by id, so a seed replays the same choices even
/// though document ids are random.
pub fn act(ws: &mut Workspace, rng: &mut Rng, counter: &mut u64) -> Result<String, String> {
    let mut docs = ws.list(true).map_err(|e| e.to_string())?;
    docs.sort_by(|a, b| a.title.cmp(&b.title));
    let live: Vec<_> = docs.iter().filter(|d| !d.deleted).cloned().collect();
    let notes: Vec<_> = live
        .iter()
        .filter(|d| d.kind == weft_engine::DocKind::Note)
        .cloned()
        .collect();
    let records: Vec<_> = live
        .iter()
        .filter(|d| d.kind == weft_engine::DocKind::Record)
        .cloned()
        .collect();
    *counter += 1;
    let n = *counter;
    let roll = rng.below(100);
    let r: Result<(), EngineError> = match roll {
        0..=11 => {
            let folder = names(pick(rng, FOLDERS).copied().unwrap_or(""));
            ws.create_note(&format!("n{n}"), &folder, "first line\n")
                .map(|_| ())
        }
        12..=19 => {
            let folder = names(pick(rng, FOLDERS).copied().unwrap_or(""));
            ws.create_record(&format!("r{n}"), &folder, &json!({"a": 0, "list": []}))
                .map(|_| ())
        }
        20..=49 => match pick(rng, &notes) {
            Some(d) => {
                let id = d.id;
                match ws.note_markdown(&id) {
                    Ok(md) => {
                        let word = pick(rng, WORDS).copied().unwrap_or("w");
                        let chars: Vec<char> = md.chars().collect();
                        let at = rng.below(chars.len() as u64 + 1) as usize;
                        let mut next: String = chars[..at].iter().collect();
                        if rng.pct(25) && at < chars.len() {
                            // Delete a few characters instead.
                            let end = (at + 1 + rng.below(4) as usize).min(chars.len());
                            next.extend(&chars[end..]);
                        } else {
                            next.push_str(word);
                            next.push(if rng.pct(15) { '\n' } else { ' ' });
                            next.extend(&chars[at..]);
                        }
                        ws.edit_note(&id, &next).map(|_| ())
                    }
                    Err(e) => Err(e),
                }
            }
            None => Ok(()),
        },
        50..=69 => match pick(rng, &records) {
            Some(d) => {
                let id = d.id;
                let field = pick(rng, FIELDS).copied().unwrap_or("/a");
                if rng.pct(20) {
                    ws.increment(&id, "/a", 1 + rng.below(5) as i64)
                } else {
                    ws.set_field(&id, field, &json!(format!("v{n}")))
                }
            }
            None => Ok(()),
        },
        70..=77 => match pick(rng, &live) {
            Some(d) => {
                let folder = names(pick(rng, FOLDERS).copied().unwrap_or(""));
                ws.move_doc(&d.id, &folder)
            }
            None => Ok(()),
        },
        78..=83 => {
            // Folder moves that two partitioned devices can make in
            // opposite directions: x under y, y under x.
            let (from, to) = if rng.pct(50) { ("x", "y") } else { ("y", "x") };
            let folders = ws.folders();
            let has = |p: &str| folders.iter().any(|f| f.join("/").ends_with(p));
            if has(from) && has(to) {
                let path_of = |p: &str| {
                    folders
                        .iter()
                        .find(|f| f.last().map(String::as_str) == Some(p))
                        .cloned()
                        .unwrap_or_default()
                };
                ws.move_folder(&path_of(from), &path_of(to))
            } else {
                Ok(())
            }
        }
        84..=88 => match pick(rng, &live) {
            Some(d) => ws.rename(&d.id, &format!("t{n}")),
            None => Ok(()),
        },
        89..=94 => match pick(rng, &live) {
            Some(d) => ws.remove(&d.id),
            None => Ok(()),
        },
        _ => {
            let deleted: Vec<_> = docs.iter().filter(|d| d.deleted).cloned().collect();
            match pick(rng, &deleted) {
                Some(d) => ws.undelete(&d.id),
                None => Ok(()),
            }
        }
    };
    tolerate(r).map(|()| format!("op {roll}"))
}

/// A folder path written "a/b" in the tables above, as its list of names.
fn names(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
