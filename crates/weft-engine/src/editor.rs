//! What a live editor needs beyond the CLI's whole-document operations: the
//! note's Loro state for the editor's own replica, the editor's operations
//! sealed as this device's changes, what the editor lacks, and search over
//! titles and note text (in memory, after decryption: nothing readable is
//! indexed on disk).

use serde::Serialize;
use weft_core::index::check_folder_path;
use weft_core::{DocId, DocKind};

use crate::workspace::Body;
use crate::{EngineError, Workspace};

/// Search results past this many are not returned: a person reads the first
/// screenful and refines the query.
pub const MAX_HITS: usize = 50;
/// Characters of context on each side of a match in a snippet.
const CONTEXT_CHARS: usize = 40;

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    /// The document.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub id: DocId,
    /// Note or record.
    // The index is never listed: only notes and records.
    #[cfg_attr(feature = "ts", ts(type = "Exclude<DocKind, 'index'>"))]
    pub kind: DocKind,
    /// Its title.
    pub title: String,
    /// `folder/…/title`.
    pub path: String,
    /// The text around the first match in the body (line breaks as spaces),
    /// with "…" where it was cut; empty when only the title matched.
    pub snippet: String,
}

impl Workspace {
    /// The note's full Loro state (a snapshot), to start an editor replica.
    pub fn note_state(&mut self, doc: &DocId) -> Result<Vec<u8>, EngineError> {
        let e = self.live_entry(doc)?;
        Ok(self
            .note_mut(&e, "records are edited field by field")?
            .export_snapshot()?)
    }

    /// Seals an editor replica's new operations (a Loro update holding only
    /// them) as one change of this device. Returns false if the update added
    /// nothing new. Bytes Loro cannot apply change nothing and are an error.
    pub fn apply_editor_update(&mut self, doc: &DocId, update: &[u8]) -> Result<bool, EngineError> {
        let e = self.live_entry(doc)?;
        let note = self.note_mut(&e, "records are edited field by field")?;
        let before = note.text().len_unicode();
        if let Err(err) = note.import_local(update) {
            // The import may have half-applied: reload what is stored.
            self.discard(&e.doc);
            return Err(err.into());
        }
        let after = note.text().len_unicode();
        let summary = match after.cmp(&before) {
            std::cmp::Ordering::Greater => format!("edited: +{} chars", after - before),
            std::cmp::Ordering::Less => format!("edited: \u{2212}{} chars", before - after),
            std::cmp::Ordering::Equal => "edited".to_owned(),
        };
        self.commit_action(&[e.doc], &summary)
    }

    /// Every operation of the note that a replica at `version` (an encoded
    /// Loro version vector) lacks, as one Loro update.
    pub fn note_updates_since(
        &mut self,
        doc: &DocId,
        version: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        let e = self.live_entry(doc)?;
        Ok(self
            .note_mut(&e, "records are edited field by field")?
            .updates_since(version)?)
    }

    /// Creates an empty folder (and its missing parents); an existing one is
    /// left as it is.
    pub fn create_folder(&mut self, path: &[String]) -> Result<(), EngineError> {
        let folder = check_folder_path(path)?;
        if folder.is_empty() {
            return Ok(());
        }
        // An existing folder makes no index operation, so nothing is committed.
        let now = crate::workspace::now_ms();
        self.index_action(format!("created folder /{}", folder.join("/")), |i| {
            i.ensure_folder(&folder, now).map(|_| ())
        })
    }

    /// Documents (not in the trash) whose title or note text contains every
    /// word of `query`, ignoring case; title matches first, each group in the
    /// tree's order (by folder, then title, as [`Workspace::list`]).
    /// Notes are decrypted and loaded into memory as needed; records match on
    /// their title and their field values.
    pub fn search(&mut self, query: &str) -> Result<Vec<SearchHit>, EngineError> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut title_hits = Vec::new();
        let mut body_hits = Vec::new();
        // One pass over the index's entries (in path order, as `list`), each loaded
        // by its entry: looking every document up again would rebuild the index view
        // once per document.
        let entries = self.index().entries();
        for e in entries.into_iter().filter(|e| !e.deleted) {
            let title = e.title.to_lowercase();
            let body = match self.loaded_body(&e)? {
                Body::Note(n) => n.plain_text(),
                Body::Record(r) => record_text(&r.to_json()),
            };
            let lower = body.to_lowercase();
            let all = words
                .iter()
                .all(|w| title.contains(w.as_str()) || lower.contains(w.as_str()));
            if !all {
                continue;
            }
            let in_title = words.iter().all(|w| title.contains(w.as_str()));
            let snippet = words
                .iter()
                .find_map(|w| snippet(&body, &lower, w))
                .unwrap_or_default();
            let hit = SearchHit {
                id: e.doc,
                kind: e.kind,
                path: crate::ops::path_of(&e.folder, &e.title),
                title: e.title,
                snippet,
            };
            if in_title {
                title_hits.push(hit);
            } else {
                body_hits.push(hit);
            }
        }
        title_hits.extend(body_hits);
        title_hits.truncate(MAX_HITS);
        Ok(title_hits)
    }
}

/// A record's searchable text: its string values and list items, one per
/// line (field names and the `$fields` schema are not content).
fn record_text(v: &serde_json::Value) -> String {
    fn walk(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Number(n) => {
                out.push_str(&n.to_string());
                out.push('\n');
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(k, _)| k.as_str() != "$fields")
                .for_each(|(_, x)| walk(x, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    walk(v, &mut out);
    out
}

/// The text around the first occurrence of `word` in `text` (`lower` is
/// `text` lowercased), on char boundaries, line breaks shown as spaces.
fn snippet(text: &str, lower: &str, word: &str) -> Option<String> {
    let at = lower.find(word)?;
    // Lowercasing can change byte lengths (rare: 'İ'); map through char
    // counts so the cut is always on a boundary of `text`.
    let at_chars = lower[..at].chars().count();
    let chars: Vec<char> = text.chars().collect();
    let start = at_chars.saturating_sub(CONTEXT_CHARS);
    let end = (at_chars + word.chars().count() + CONTEXT_CHARS).min(chars.len());
    let mut s: String = chars[start.min(chars.len())..end]
        .iter()
        .map(|c| {
            if c.is_control() || *c == '\u{2028}' {
                ' '
            } else {
                *c
            }
        })
        .collect();
    s = s.trim().to_owned();
    if start > 0 {
        s.insert(0, '…');
    }
    if end < chars.len() {
        s.push('…');
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use weft_crypto::{DeviceKey, MemoryStore, WorkspaceKey, WorkspaceSecrets};

    fn workspace(dir: &tempfile::TempDir) -> Workspace {
        Workspace::create_in(
            dir.path(),
            "Test",
            weft_core::WorkspaceId::from_bytes([3; 16]),
            WorkspaceSecrets {
                workspace_key: WorkspaceKey::from_bytes([4; 32]),
                device_key: DeviceKey::from_seed([5; 32]),
            },
            &MemoryStore::new(),
        )
        .unwrap()
    }

    #[test]
    fn search_puts_title_matches_first_and_leaves_the_trash_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = workspace(&dir);
        ws.create_note("Groceries", &["Home".into()], "tomatoes and basil")
            .unwrap();
        ws.create_note("Tomatoes", &["Garden".into()], "plant in May")
            .unwrap();
        let gone = ws.create_note("Old tomatoes", &[], "x").unwrap();
        ws.create_record("Seeds", &[], &serde_json::json!({"kinds": ["Tomato"]}))
            .unwrap();
        ws.remove(&gone).unwrap();
        let hits = ws.search("TOMATO").unwrap();
        let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, ["Garden/Tomatoes", "Seeds", "Home/Groceries"]);
        assert_eq!(hits[2].snippet, "tomatoes and basil");
        assert!(ws.search("tomatoes basil").unwrap().len() == 1);
        assert!(ws.search("   ").unwrap().is_empty());
    }

    #[test]
    fn creating_an_existing_folder_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = workspace(&dir);
        ws.create_folder(&["Projects".into(), "2026".into()])
            .unwrap();
        let changes = ws.status().unwrap().changes;
        ws.create_folder(&["Projects".into(), "2026".into()])
            .unwrap();
        ws.create_folder(&["Projects".into()]).unwrap();
        assert_eq!(ws.status().unwrap().changes, changes, "no change written");
        assert!(
            ws.folders()
                .contains(&vec!["Projects".to_owned(), "2026".to_owned()])
        );
        assert!(ws.create_folder(&["a".into(), " ".into()]).is_err());
        // A name with a slash is refused, not split into two folders.
        assert!(ws.create_folder(&["a/b".into()]).is_err());
    }

    #[test]
    fn snippets_cut_on_char_boundaries_and_mark_the_cuts() {
        let text = format!("{}needle{}", "é".repeat(60), "ü".repeat(60));
        let lower = text.to_lowercase();
        let s = snippet(&text, &lower, "needle").unwrap();
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("needle"));
        assert_eq!(s.chars().filter(|c| *c == 'é').count(), CONTEXT_CHARS);
        assert_eq!(
            snippet("short\ntext", "short\ntext", "text").unwrap(),
            "short text"
        );
        assert_eq!(snippet("abc", "abc", "x"), None);
    }

    #[test]
    fn record_text_holds_values_not_names_or_schema() {
        let t = record_text(&serde_json::json!({
            "author": "Ursula", "pages": 320, "tags": ["sf", "classic"],
            "$fields": {"author": {"type": "text"}}
        }));
        assert!(t.contains("Ursula") && t.contains("320") && t.contains("classic"));
        assert!(!t.contains("author") && !t.contains("type"));
    }
}
