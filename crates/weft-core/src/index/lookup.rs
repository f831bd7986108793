//! Looking documents and folders up: answered from an adopted read model
//! while there is one, else from the kept [`View`]; never a scan of the tree.

use loro::TreeID;

use super::frozen::Frozen;
use super::view::{self, NodeKind, View};
use super::{FolderEntry, Index, IndexEntry, IndexError, folder_nodes};
use crate::ids::DocId;

impl Index {
    /// The entry for `doc`, deleted or not.
    pub fn entry(&self, doc: &DocId) -> Option<IndexEntry> {
        if let Some(e) = self.frozen(|f| {
            let n = f.docs_in(*doc..=*doc)?;
            match n.first() {
                Some(n) => frozen_entry(f, n).map(Some),
                None => Some(None),
            }
        }) {
            return e;
        }
        let view = self.view();
        let node = *view.doc_nodes(doc).first()?;
        entry_of(&view, node)
    }

    /// Every document, including deleted ones, sorted by folder, title, id.
    pub fn entries(&self) -> Vec<IndexEntry> {
        if let Some(all) = self.frozen(|f| frozen_entries(f, f.all_docs()?)) {
            return all;
        }
        let view = self.view();
        sorted(
            view.canonical_doc_nodes()
                .filter_map(|n| entry_of(&view, n)),
        )
    }

    /// Every document as (id, title, deleted), in no particular order: what a
    /// scan needs, without the folder path each entry would build.
    pub fn titles(&self) -> Vec<(DocId, String, bool)> {
        if let Some(all) = self.frozen(|f| {
            f.all_docs()?
                .into_iter()
                .map(|n| Some((n.doc?, n.title, n.deleted)))
                .collect()
        }) {
            return all;
        }
        self.view()
            .canonical_doc_nodes()
            .filter_map(|n| Some((n.doc?, n.title.clone(), n.deleted)))
            .collect()
    }

    /// The first `limit` of `docs` (each with a group: `false` sorts first) in
    /// the order of [`Index::entries`] within each group, as entries. Sorting
    /// borrows each document's folder path from the read model, so only the
    /// entries returned are built: search ranks thousands of hits this way.
    pub fn first_in_order(&self, docs: &[(DocId, bool)], limit: usize) -> Vec<IndexEntry> {
        let view = self.view();
        let mut keyed: Vec<_> = docs
            .iter()
            .filter_map(|(d, group)| {
                let n = *view.doc_nodes(d).first()?;
                Some((*group, view.folder_path_of(n), n.title.as_str(), *d, n))
            })
            .collect();
        type Keyed<'a> = (
            bool,
            std::borrow::Cow<'a, [String]>,
            &'a str,
            DocId,
            &'a view::NodeInfo,
        );
        let order =
            |a: &Keyed<'_>, b: &Keyed<'_>| (a.0, &*a.1, a.2, a.3).cmp(&(b.0, &*b.1, b.2, b.3));
        if keyed.len() > limit {
            keyed.select_nth_unstable_by(limit, order);
            keyed.truncate(limit);
        }
        keyed.sort_by(order);
        keyed
            .into_iter()
            .filter_map(|k| entry_of(&view, k.4))
            .collect()
    }

    /// The documents whose title is exactly `title`, deleted or not, sorted as
    /// [`Index::entries`]. A lookup, not a scan.
    pub fn entries_titled(&self, title: &str) -> Vec<IndexEntry> {
        if let Some(found) = self.frozen(|f| frozen_entries(f, f.titled(title)?)) {
            return found;
        }
        let view = self.view();
        sorted(
            view.docs_titled(title)
                .iter()
                .filter_map(|d| entry_of(&view, view.doc_nodes(d).first()?))
                .filter(|e| e.title == title),
        )
    }

    /// The documents whose 32-hex id starts with `prefix` (hex digits, any
    /// case), deleted or not, sorted as [`Index::entries`]. A range of the id
    /// lookup, not a scan; an empty or non-hex prefix matches nothing.
    pub fn entries_with_id_prefix(&self, prefix: &str) -> Vec<IndexEntry> {
        let p = prefix.to_ascii_lowercase();
        if p.is_empty() || p.len() > 32 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return Vec::new();
        }
        let pad = |c: char| -> Option<DocId> {
            let full: String = p.chars().chain(std::iter::repeat(c)).take(32).collect();
            full.parse().ok()
        };
        let (Some(lo), Some(hi)) = (pad('0'), pad('f')) else {
            return Vec::new();
        };
        if let Some(found) = self.frozen(|f| frozen_entries(f, f.docs_in(lo..=hi)?)) {
            return found;
        }
        let view = self.view();
        sorted(
            view.doc_nodes_in(lo..=hi)
                .filter_map(|n| entry_of(&view, n)),
        )
    }

    /// The documents in the folder at `path` and every folder below it (twin
    /// folders read as one), deleted or not, sorted as [`Index::entries`]. It
    /// walks that folder's subtree only.
    pub fn entries_under(&self, path: &[String]) -> Result<Vec<IndexEntry>, IndexError> {
        let view = self.view();
        let mut stack: Vec<Option<TreeID>> = if path.is_empty() {
            vec![None]
        } else {
            folder_nodes(&view, path)?.into_iter().map(Some).collect()
        };
        let mut out = Vec::new();
        while let Some(parent) = stack.pop() {
            for n in view.children_of(parent) {
                match n.kind {
                    NodeKind::Doc(_) => {
                        // A duplicated document reads from its canonical node only.
                        if let Some(d) = n.doc
                            && view.doc_nodes(&d).first().map(|c| c.id) == Some(n.id)
                            && let Some(e) = entry_of(&view, n)
                        {
                            out.push(e);
                        }
                    }
                    _ => stack.push(Some(n.id)),
                }
            }
        }
        Ok(sorted(out.into_iter()))
    }

    /// Every folder path once, sorted; `created_ms` is the canonical node's.
    pub fn folders(&self) -> Vec<FolderEntry> {
        let view = self.view();
        let mut out: Vec<FolderEntry> = view
            .folders
            .iter()
            .filter_map(|(path, ids)| {
                let first = view.nodes.get(ids.first()?)?;
                Some(FolderEntry {
                    path: path.clone(),
                    created_ms: first.created,
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }
}

/// The entry of a document node of an adopted read model.
fn frozen_entry(f: &Frozen, n: &view::NodeInfo) -> Option<IndexEntry> {
    entry_at(n, f.parent_path(n)?)
}

/// The entries of document nodes of an adopted read model, sorted; `None` if
/// any does not read.
fn frozen_entries(f: &Frozen, nodes: Vec<view::NodeInfo>) -> Option<Vec<IndexEntry>> {
    let all: Option<Vec<IndexEntry>> = nodes.iter().map(|n| frozen_entry(f, n)).collect();
    Some(sorted(all?.into_iter()))
}

/// Entries in the order [`Index::entries`] promises: folder, title, id.
fn sorted(entries: impl Iterator<Item = IndexEntry>) -> Vec<IndexEntry> {
    let mut out: Vec<IndexEntry> = entries.collect();
    out.sort_by(|a, b| (&a.folder, &a.title, a.doc).cmp(&(&b.folder, &b.title, b.doc)));
    out
}

fn entry_of(view: &View, n: &view::NodeInfo) -> Option<IndexEntry> {
    entry_at(n, view.parent_path(n.id))
}

/// A document node's entry, in `folder`.
fn entry_at(n: &view::NodeInfo, folder: Vec<String>) -> Option<IndexEntry> {
    let NodeKind::Doc(kind) = n.kind else {
        return None;
    };
    Some(IndexEntry {
        doc: n.doc?,
        kind,
        title: n.title.clone(),
        folder,
        deleted: n.deleted,
        created_ms: n.created,
    })
}
