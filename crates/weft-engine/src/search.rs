//! Search over titles and the text of notes and records: in memory, after
//! decryption; nothing readable is written to disk.
//!
//! The first search builds a [`TextIndex`] of every document's text (each
//! document read once from the store, which may be ahead of the documents
//! this process holds); after that
//! each search first re-reads only the documents with change rows after the
//! last one it saw (`docs_changed_after`: local edits, a peer's changes, or
//! another process's commit alike), then scans. The index is dropped with the
//! workspace.

use serde::Serialize;
use weft_core::note::Note;
use weft_core::record::Record;
use weft_core::search::{Candidate, Query, TextIndex};
use weft_core::{DocId, DocKind};
use weft_store::StoreRead;

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

/// The text index and the last change row it covers.
#[derive(Debug, Default)]
pub(crate) struct SearchIndex {
    text: TextIndex,
    upto: i64,
    /// Every document not in the trash with its lowercased title, as of the
    /// index's change row `titles_at`: taken again only when the index moved.
    candidates: Vec<Candidate>,
    titles_at: Option<i64>,
}

impl Workspace {
    /// Documents (not in the trash) whose title or text contains every word
    /// of `query`, ignoring case; title matches first, each group in the
    /// tree's order (by folder, then title, as [`Workspace::list`]); at most
    /// [`MAX_HITS`]. Records match on their title and their field values.
    pub fn search(&mut self, query: &str) -> Result<Vec<SearchHit>, EngineError> {
        let Some(q) = Query::parse(query) else {
            return Ok(Vec::new());
        };
        self.refresh_search()?;
        let at = self.index.upto;
        let stale = self
            .search
            .as_ref()
            .is_some_and(|s| s.titles_at != Some(at));
        if stale {
            let candidates: Vec<Candidate> = self
                .index()
                .titles()
                .into_iter()
                .filter(|(_, _, deleted)| !deleted)
                .map(|(d, t, _)| (d, t.to_lowercase()))
                .collect();
            if let Some(s) = self.search.as_mut() {
                s.candidates = candidates;
                s.titles_at = Some(at);
            }
        }
        let hits: Vec<(DocId, bool)> = match &self.search {
            Some(s) => s
                .text
                .search(&q, &s.candidates)
                .into_iter()
                .filter_map(|(i, in_title)| Some((s.candidates.get(i)?.0, !in_title)))
                .collect(),
            None => Vec::new(),
        };
        let hits = self.index().first_in_order(&hits, MAX_HITS);
        let mut out = Vec::with_capacity(hits.len());
        for e in hits {
            let body = self.stored_text(&e.doc)?.unwrap_or_default();
            let lower = body.to_lowercase();
            let snippet = q
                .words()
                .iter()
                .find_map(|w| snippet(&body, &lower, w))
                .unwrap_or_default();
            out.push(SearchHit {
                id: e.doc,
                kind: e.kind,
                path: crate::ops::path_of(&e.folder, &e.title),
                title: e.title,
                snippet,
            });
        }
        Ok(out)
    }

    /// The bytes of text the search index holds (0 before the first search).
    pub fn search_index_bytes(&self) -> usize {
        self.search.as_ref().map_or(0, |s| s.text.bytes())
    }

    /// Builds the text index, or brings it up to date with the documents that
    /// have change rows it has not seen.
    fn refresh_search(&mut self) -> Result<(), EngineError> {
        let mut s = self.search.take().unwrap_or_default();
        let r = (|| -> Result<(), EngineError> {
            // Texts are read from the store, not from the documents this
            // process holds: those may not have taken in another process's
            // latest commit yet, and the rows read here are marked as seen.
            let docs: Vec<DocId> = if s.upto == 0 && s.text.is_empty() {
                s.upto = self.store.last_change_row()?;
                self.store.updated_times()?.into_keys().collect()
            } else {
                let (docs, last) = self.store.docs_changed_after(s.upto)?;
                s.upto = last;
                docs
            };
            for doc in docs {
                match self.stored_text(&doc)? {
                    Some(text) => s.text.set(doc, &text),
                    None => s.text.remove(&doc),
                }
            }
            Ok(())
        })();
        // On an error the index stays as far as it got; `upto` may be past
        // documents not read, so it is dropped and built again next time.
        if r.is_ok() {
            self.search = Some(s);
        }
        r
    }

    /// A document's searchable text as stored (`None` for the index, or a
    /// document with no row yet).
    fn stored_text(&self, doc: &DocId) -> Result<Option<String>, EngineError> {
        let Some(row) = self.store.doc(doc)? else {
            return Ok(None);
        };
        // Changes found unreadable here are left for the document's own load
        // to list; this only reads.
        Ok(match row.kind {
            DocKind::Note => Some(self.read_state::<Note>(&row)?.0.doc.plain_text()),
            DocKind::Record => Some(record_text(
                &self.read_state::<Record>(&row)?.0.doc.to_json(),
            )),
            _ => None,
        })
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

    fn workspace(dir: &tempfile::TempDir) -> Workspace {
        crate::testing::workspace(dir.path()).0
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

    #[test]
    fn search_follows_renames_edits_trash_and_another_process_s_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ws, secrets) = crate::testing::workspace(dir.path());
        let id = ws.create_note("Alpha", &[], "first words").unwrap();
        let titles = |ws: &mut Workspace, q: &str| -> Vec<String> {
            ws.search(q).unwrap().into_iter().map(|h| h.title).collect()
        };
        assert_eq!(titles(&mut ws, "alpha"), ["Alpha"]);
        ws.rename(&id, "Beta").unwrap();
        assert!(titles(&mut ws, "alpha").is_empty());
        assert_eq!(titles(&mut ws, "beta"), ["Beta"]);
        ws.edit_note(&id, "a needle now").unwrap();
        assert_eq!(titles(&mut ws, "needle"), ["Beta"]);
        assert!(titles(&mut ws, "first").is_empty());
        // Another process (a `weft` command beside the app) edits and adds.
        let mut other = Workspace::open_in(dir.path(), &secrets).unwrap();
        other.edit_note(&id, "a haystack").unwrap();
        other.create_note("Gamma", &[], "haystack too").unwrap();
        drop(other);
        // The edit's text is found at once; "Gamma" is found once this process
        // has taken in the index change naming it (its text was read already).
        assert_eq!(titles(&mut ws, "haystack"), ["Beta"]);
        ws.catch_up().unwrap();
        assert_eq!(titles(&mut ws, "haystack"), ["Beta", "Gamma"]);
        assert!(titles(&mut ws, "needle").is_empty());
        ws.remove(&id).unwrap();
        assert_eq!(titles(&mut ws, "haystack"), ["Gamma"]);
        assert!(ws.search_index_bytes() > 0);
    }
}
