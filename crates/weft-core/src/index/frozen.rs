//! The read model in a flat, sorted form that answers lookups without being
//! unpacked: a command in a workspace of 100,000 documents that only looks a
//! document up (`weft show`, `weft set`) reads this instead of decoding the
//! whole index tree and building the [`View`]. The engine keeps it sealed in
//! the store beside the index's snapshot and uses it only when it covers
//! every index change stored (see ARCHITECTURE.md "On disk").
//!
//! Layout, little-endian:
//!
//! ```text
//! magic "weftrm1\0"   n_nodes u32   n_docs u32
//! nodes    n_nodes × 60 bytes, sorted by TreeID (peer, counter):
//!          peer u64, counter i32, parent peer u64, parent counter i32,
//!          has parent u8, kind u8 (0 other, 1 folder, 2 note, 3 record),
//!          deleted u8, has doc u8, created i64, doc [16], title offset u32,
//!          title length u32
//! by_doc   n_docs × 20 bytes, sorted by doc id: doc [16], node u32
//!          (each document's canonical node)
//! by_title n_docs × 4 bytes: node u32, sorted by (title, doc id)
//! titles   UTF-8 bytes the nodes point into
//! ```
//!
//! Parsing checks only the header and the section sizes (constant time);
//! every field read is bounds-checked, so damaged bytes give `None`, never a
//! panic.

use std::ops::RangeInclusive;

use loro::TreeID;

use super::view::{NodeInfo, NodeKind, View};
use crate::ids::{DocId, DocKind};

const MAGIC: &[u8; 8] = b"weftrm1\0";
const HEAD: usize = 16;
const NODE: usize = 60;
const BY_DOC: usize = 20;

/// A parsed read model.
pub(crate) struct Frozen {
    bytes: Vec<u8>,
    nodes: usize,
    docs: usize,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Encodes the model's nodes and lookups.
pub(crate) fn encode(view: &View) -> Vec<u8> {
    let mut ids: Vec<TreeID> = view.nodes.keys().copied().collect();
    ids.sort_unstable();
    let at: std::collections::HashMap<TreeID, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u32))
        .collect();
    let canonical: Vec<&NodeInfo> = view.canonical_doc_nodes().collect();
    let mut titles = Vec::new();
    let mut out = Vec::with_capacity(HEAD + ids.len() * NODE + canonical.len() * 24);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    out.extend_from_slice(&(canonical.len() as u32).to_le_bytes());
    for id in &ids {
        let Some(n) = view.nodes.get(id) else {
            continue;
        };
        out.extend_from_slice(&n.id.peer.to_le_bytes());
        out.extend_from_slice(&n.id.counter.to_le_bytes());
        let p = n.parent.unwrap_or(TreeID::new(0, 0));
        out.extend_from_slice(&p.peer.to_le_bytes());
        out.extend_from_slice(&p.counter.to_le_bytes());
        out.push(u8::from(n.parent.is_some()));
        out.push(match n.kind {
            NodeKind::Other => 0,
            NodeKind::Folder => 1,
            NodeKind::Doc(DocKind::Note) => 2,
            NodeKind::Doc(_) => 3,
        });
        out.push(u8::from(n.deleted));
        out.push(u8::from(n.doc.is_some()));
        out.extend_from_slice(&n.created.to_le_bytes());
        out.extend_from_slice(n.doc.as_ref().map_or(&[0u8; 16], |d| d.as_bytes()));
        out.extend_from_slice(&(titles.len() as u32).to_le_bytes());
        out.extend_from_slice(&(n.title.len() as u32).to_le_bytes());
        titles.extend_from_slice(n.title.as_bytes());
    }
    for n in &canonical {
        if let Some(d) = n.doc {
            out.extend_from_slice(d.as_bytes());
            out.extend_from_slice(&at.get(&n.id).copied().unwrap_or(u32::MAX).to_le_bytes());
        }
    }
    let mut by_title: Vec<&NodeInfo> = canonical.clone();
    by_title.sort_by(|a, b| (a.title.as_bytes(), a.doc).cmp(&(b.title.as_bytes(), b.doc)));
    for n in by_title {
        out.extend_from_slice(&at.get(&n.id).copied().unwrap_or(u32::MAX).to_le_bytes());
    }
    out.extend_from_slice(&titles);
    out
}

impl Frozen {
    /// Checks the header and section sizes; `None` if they do not fit.
    pub fn parse(bytes: Vec<u8>) -> Option<Self> {
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let nodes = u32_at(&bytes, 8)? as usize;
        let docs = u32_at(&bytes, 12)? as usize;
        let need = HEAD
            .checked_add(nodes.checked_mul(NODE)?)?
            .checked_add(docs.checked_mul(BY_DOC + 4)?)?;
        (bytes.len() >= need).then_some(Self { bytes, nodes, docs })
    }

    /// Whether every node, lookup entry and title reads, and every parent a
    /// node names is a node: then nothing read later finds the model wanting.
    /// Linear, with no allocation (a binary search per parent).
    pub fn check_all(&self) -> bool {
        let b = &self.bytes;
        let nodes_ok = (0..self.nodes).all(|i| {
            let at = HEAD + i * NODE;
            self.title(i).is_some()
                && match b.get(at + 24) {
                    Some(0) => true,
                    Some(_) => (|| {
                        let p = TreeID::new(u64_at(b, at + 12)?, i32_at(b, at + 20)?);
                        self.find(p)
                    })()
                    .is_some(),
                    None => false,
                }
        });
        let in_range = |at: usize| u32_at(b, at).is_some_and(|n| (n as usize) < self.nodes);
        nodes_ok
            && (0..self.docs).all(|k| in_range(self.by_doc_at() + k * BY_DOC + 16))
            && (0..self.docs).all(|k| in_range(self.by_title_at() + k * 4))
    }

    fn by_doc_at(&self) -> usize {
        HEAD + self.nodes * NODE
    }

    fn by_title_at(&self) -> usize {
        self.by_doc_at() + self.docs * BY_DOC
    }

    fn titles_at(&self) -> usize {
        self.by_title_at() + self.docs * 4
    }

    fn node_id(&self, i: usize) -> Option<TreeID> {
        let at = HEAD + i * NODE;
        Some(TreeID::new(
            u64_at(&self.bytes, at)?,
            i32_at(&self.bytes, at + 8)?,
        ))
    }

    fn title(&self, i: usize) -> Option<&str> {
        let at = HEAD + i * NODE;
        let off = u32_at(&self.bytes, at + 52)? as usize;
        let len = u32_at(&self.bytes, at + 56)? as usize;
        let start = self.titles_at().checked_add(off)?;
        std::str::from_utf8(self.bytes.get(start..start.checked_add(len)?)?).ok()
    }

    /// Node `i`, unpacked.
    pub fn node(&self, i: usize) -> Option<NodeInfo> {
        if i >= self.nodes {
            return None;
        }
        let b = &self.bytes;
        let at = HEAD + i * NODE;
        let parent = match b.get(at + 24)? {
            0 => None,
            _ => Some(TreeID::new(u64_at(b, at + 12)?, i32_at(b, at + 20)?)),
        };
        let kind = match b.get(at + 25)? {
            1 => NodeKind::Folder,
            2 => NodeKind::Doc(DocKind::Note),
            3 => NodeKind::Doc(DocKind::Record),
            _ => NodeKind::Other,
        };
        let doc = match b.get(at + 27)? {
            0 => None,
            _ => Some(DocId::from_bytes(b.get(at + 36..at + 52)?.try_into().ok()?)),
        };
        Some(NodeInfo {
            id: self.node_id(i)?,
            parent,
            kind,
            title: self.title(i)?.to_owned(),
            doc,
            deleted: *b.get(at + 26)? != 0,
            created: i64_at(b, at + 28)?,
        })
    }

    /// Every node, unpacked.
    pub fn all_nodes(&self) -> Option<Vec<NodeInfo>> {
        (0..self.nodes).map(|i| self.node(i)).collect()
    }

    /// The position of node `id`.
    fn find(&self, id: TreeID) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.nodes);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.node_id(mid)?.cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The titles of node `n`'s ancestors, from the root down.
    pub fn parent_path(&self, n: &NodeInfo) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut cur = n.parent;
        while let Some(p) = cur {
            // The model was made from an acyclic tree; the bound guards damaged bytes.
            if out.len() > self.nodes {
                return None;
            }
            let i = self.find(p)?;
            out.push(self.title(i)?.to_owned());
            cur = self.node(i)?.parent;
        }
        out.reverse();
        Some(out)
    }

    fn doc_entry(&self, k: usize) -> Option<(DocId, usize)> {
        let at = self.by_doc_at() + k * BY_DOC;
        let doc = DocId::from_bytes(self.bytes.get(at..at + 16)?.try_into().ok()?);
        Some((doc, u32_at(&self.bytes, at + 16)? as usize))
    }

    /// The first position in `by_doc` whose doc is not below `doc`.
    fn doc_lower_bound(&self, doc: &DocId) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.docs);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.doc_entry(mid)?.0 < *doc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }

    /// The canonical nodes of the documents in `range`.
    pub fn docs_in(&self, range: RangeInclusive<DocId>) -> Option<Vec<NodeInfo>> {
        let mut k = self.doc_lower_bound(range.start())?;
        let mut out = Vec::new();
        while k < self.docs {
            let (doc, node) = self.doc_entry(k)?;
            if doc > *range.end() {
                break;
            }
            out.push(self.node(node)?);
            k += 1;
        }
        Some(out)
    }

    /// Every document's canonical node, by document id.
    pub fn all_docs(&self) -> Option<Vec<NodeInfo>> {
        (0..self.docs)
            .map(|k| self.node(self.doc_entry(k)?.1))
            .collect()
    }

    fn title_node(&self, k: usize) -> Option<usize> {
        Some(u32_at(&self.bytes, self.by_title_at() + k * 4)? as usize)
    }

    /// The canonical nodes of the documents titled exactly `title`.
    pub fn titled(&self, title: &str) -> Option<Vec<NodeInfo>> {
        let (mut lo, mut hi) = (0, self.docs);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.title(self.title_node(mid)?)?.as_bytes() < title.as_bytes() {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut out = Vec::new();
        for k in lo..self.docs {
            let i = self.title_node(k)?;
            if self.title(i)? != title {
                break;
            }
            out.push(self.node(i)?);
        }
        Some(out)
    }
}
