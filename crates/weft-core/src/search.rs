//! Full-text search over a workspace's documents, held in memory only.
//!
//! A [`TextIndex`] keeps each document's searchable text lowercased, and a
//! [`Query`] matches when every one of its words occurs (as a substring,
//! ignoring case) in the document's title or text. A query scans the texts
//! with SIMD substring search (memchr's `memmem`), split over the machine's
//! cores: at 100,000 notes of a few KB that is a few hundred MB scanned in
//! well under 100 ms, without an inverted index to keep consistent under
//! concurrent edits. The cost is memory: the index holds the lowercased text
//! of every document, about the size of the workspace's plaintext
//! ([`TextIndex::bytes`]). It is never written to disk; whoever holds it
//! keeps it current by setting the text of each document that changed.

use std::collections::HashMap;

use memchr::memmem::Finder;

use crate::ids::DocId;

/// The searchable text of every document, lowercased.
#[derive(Debug, Default)]
pub struct TextIndex {
    texts: HashMap<DocId, Box<str>>,
    bytes: usize,
}

/// A parsed query: its words, lowercased, longest first (the longest word
/// is usually the rarest, so a document fails on it first).
#[derive(Debug)]
pub struct Query {
    words: Vec<String>,
    finders: Vec<Finder<'static>>,
}

impl Query {
    /// The query's words; `None` if it has none.
    pub fn parse(query: &str) -> Option<Self> {
        let mut words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return None;
        }
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        words.dedup();
        let finders = words
            .iter()
            .map(|w| Finder::new(w.as_bytes()).into_owned())
            .collect();
        Some(Self { words, finders })
    }

    /// The words, lowercased.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether every word occurs in `title` (lowercased) or in `text`, and if
    /// so whether every word occurs in the title.
    fn check(&self, title: &str, text: &str) -> Option<bool> {
        let mut in_title = true;
        for f in &self.finders {
            let t = f.find(title.as_bytes()).is_some();
            if !t && f.find(text.as_bytes()).is_none() {
                return None;
            }
            in_title &= t;
        }
        Some(in_title)
    }
}

/// A document offered to [`TextIndex::search`]: its id and lowercased title.
pub type Candidate = (DocId, String);

impl TextIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) a document's searchable text.
    pub fn set(&mut self, doc: DocId, text: &str) {
        let lower: Box<str> = text.to_lowercase().into_boxed_str();
        self.bytes += lower.len();
        if let Some(old) = self.texts.insert(doc, lower) {
            self.bytes -= old.len();
        }
    }

    /// Forgets a document.
    pub fn remove(&mut self, doc: &DocId) {
        if let Some(old) = self.texts.remove(doc) {
            self.bytes -= old.len();
        }
    }

    /// The number of documents held.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether no document is held.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The bytes of text held (the index's memory, less the map's own
    /// per-document overhead of about 50 bytes).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The candidates (by position) that match `query`, each with whether
    /// every word is in its title; in the candidates' order. A document
    /// without text matches on its title alone.
    pub fn search(&self, query: &Query, candidates: &[Candidate]) -> Vec<(usize, bool)> {
        // Threads pay off only on a large scan; a small workspace stays on one.
        let min_parallel = if self.bytes < (1 << 20) {
            usize::MAX
        } else {
            2
        };
        crate::parallel::map_parts(
            candidates,
            min_parallel,
            |part| {
                part.iter()
                    .map(|(doc, title)| query.check(title, self.texts.get(doc).map_or("", |t| t)))
                    .collect()
            },
            |_| None,
        )
        .into_iter()
        .enumerate()
        .filter_map(|(i, hit)| hit.map(|in_title| (i, in_title)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u8) -> DocId {
        DocId::from_bytes([n; 16])
    }

    #[test]
    fn every_word_must_occur_in_the_title_or_the_text_ignoring_case() {
        let mut idx = TextIndex::new();
        idx.set(doc(1), "The Orchard by the River");
        idx.set(doc(2), "a lantern in the orchard");
        idx.set(doc(3), "nothing here");
        let cands: Vec<Candidate> = vec![
            (doc(1), "walks".into()),
            (doc(2), "lantern notes".into()),
            (doc(3), "orchard plans".into()),
            (doc(4), "orchard lantern".into()),
        ];
        let q = Query::parse("  ORCHARD   lantern ").unwrap();
        assert_eq!(q.words(), ["orchard", "lantern"]);
        assert_eq!(idx.search(&q, &cands), vec![(1, false), (3, true)]);
        assert!(Query::parse(" \n ").is_none());
    }

    #[test]
    fn replacing_and_removing_text_keeps_the_byte_count_and_the_results() {
        let mut idx = TextIndex::new();
        idx.set(doc(1), "glacier");
        idx.set(doc(1), "summit");
        idx.set(doc(2), "glacier summit");
        assert_eq!(idx.bytes(), "summit".len() + "glacier summit".len());
        let cands: Vec<Candidate> = vec![(doc(1), String::new()), (doc(2), String::new())];
        let q = Query::parse("glacier").unwrap();
        assert_eq!(idx.search(&q, &cands), vec![(1, false)]);
        idx.remove(&doc(2));
        assert!(idx.search(&q, &cands).is_empty());
        assert_eq!(idx.bytes(), "summit".len());
        assert_eq!(idx.len(), 1);
    }

    #[test]
    fn a_large_scan_split_over_threads_finds_what_one_thread_finds() {
        let mut idx = TextIndex::new();
        let mut cands = Vec::new();
        for i in 0..3000u32 {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&i.to_be_bytes());
            let d = DocId::from_bytes(b);
            let word = if i % 7 == 0 { "needle" } else { "hay" };
            idx.set(d, &format!("{} {word} {}", "x".repeat(400), i));
            cands.push((d, format!("title {i}")));
        }
        assert!(
            idx.bytes() > 1 << 20,
            "the scan must be large enough to split"
        );
        let hits = idx.search(&Query::parse("NEEDLE").unwrap(), &cands);
        let want: Vec<(usize, bool)> = (0..3000)
            .filter(|i| i % 7 == 0)
            .map(|i| (i, false))
            .collect();
        assert_eq!(hits, want);
    }
}
