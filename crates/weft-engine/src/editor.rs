//! What a live editor needs beyond the CLI's whole-document operations: the
//! note's Loro state for the editor's own replica, the editor's operations
//! sealed as this device's changes, what the editor lacks, and search over
//! titles and note text (in memory, after decryption: nothing readable is
//! indexed on disk).

use serde::Serialize;
use weft_core::index::parse_folder_path;
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
pub struct SearchHit {
    /// The document.
    pub id: DocId,
    /// Note or record.
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
            .export_snapshot())
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
    pub fn create_folder(&mut self, path: &str) -> Result<(), EngineError> {
        let folder = parse_folder_path(path)?;
        if folder.is_empty() {
            return Ok(());
        }
        if self.folders().contains(&folder) {
            return Ok(());
        }
        let now = crate::workspace::now_ms();
        self.index_action(format!("created folder /{}", folder.join("/")), |i| {
            i.ensure_folder(&folder, now).map(|_| ())
        })
    }

    /// Documents (not in the trash) whose title or note text contains every
    /// word of `query`, ignoring case; title matches first, then by path.
    /// Notes are decrypted and loaded into memory as needed; records match on
    /// their title and their field values.
    pub fn search(&mut self, query: &str) -> Result<Vec<SearchHit>, EngineError> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut title_hits = Vec::new();
        let mut body_hits = Vec::new();
        for d in self.list(false)? {
            let title = d.title.to_lowercase();
            let e = self.live_entry(&d.id)?;
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
                id: d.id,
                kind: d.kind,
                title: d.title,
                path: d.path,
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
    use super::*;

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
