//! A read model of the index tree: every live node with its metadata, and
//! the path rules that make replicas agree on what a folder path means.

use std::collections::HashMap;

use loro::{LoroTree, LoroValue, TreeID, TreeParentId, ValueOrContainer};

use crate::ids::{DocId, DocKind};

/// What a node is, from its `type` meta field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Folder,
    Doc(DocKind),
    /// Missing or unknown `type` (a newer version's node, or half-written
    /// foreign data): shown nowhere, but still a folder-path component.
    Other,
}

/// One live node.
#[derive(Clone, Debug)]
pub(crate) struct NodeInfo {
    pub id: TreeID,
    pub parent: Option<TreeID>,
    pub kind: NodeKind,
    pub title: String,
    pub doc: Option<DocId>,
    pub deleted: bool,
    pub created: i64,
}

/// Every live node, plus each folder's title path.
pub(crate) struct View {
    pub nodes: HashMap<TreeID, NodeInfo>,
    /// Folder nodes by full title path, canonical node first.
    pub folders: HashMap<Vec<String>, Vec<TreeID>>,
}

fn meta_str(m: &loro::LoroMap, key: &str) -> Option<String> {
    match m.get(key)? {
        ValueOrContainer::Value(LoroValue::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn meta_i64(m: &loro::LoroMap, key: &str) -> Option<i64> {
    match m.get(key)? {
        ValueOrContainer::Value(LoroValue::I64(i)) => Some(i),
        ValueOrContainer::Value(LoroValue::Double(f)) => Some(f as i64),
        _ => None,
    }
}

fn meta_bool(m: &loro::LoroMap, key: &str) -> Option<bool> {
    match m.get(key)? {
        ValueOrContainer::Value(LoroValue::Bool(b)) => Some(b),
        _ => None,
    }
}

impl View {
    pub fn build(tree: &LoroTree) -> Self {
        let mut nodes = HashMap::new();
        for n in tree.get_nodes(false) {
            let parent = match n.parent {
                TreeParentId::Node(p) => Some(p),
                TreeParentId::Root => None,
                // `get_nodes(false)` only walks live nodes; anything else is
                // not part of the visible tree.
                TreeParentId::Deleted | TreeParentId::Unexist => continue,
            };
            let Ok(meta) = tree.get_meta(n.id) else {
                continue;
            };
            let kind = match meta_str(&meta, "type").as_deref() {
                Some("folder") => NodeKind::Folder,
                Some("note") => NodeKind::Doc(DocKind::Note),
                Some("record") => NodeKind::Doc(DocKind::Record),
                _ => NodeKind::Other,
            };
            let info = NodeInfo {
                id: n.id,
                parent,
                kind,
                title: meta_str(&meta, "title").unwrap_or_default(),
                doc: meta_str(&meta, "doc").and_then(|s| s.parse().ok()),
                deleted: meta_bool(&meta, "deleted").unwrap_or(false),
                created: meta_i64(&meta, "created").unwrap_or(0),
            };
            nodes.insert(n.id, info);
        }
        let mut view = View {
            nodes,
            folders: HashMap::new(),
        };
        let mut folders: HashMap<Vec<String>, Vec<TreeID>> = HashMap::new();
        for n in view.nodes.values().filter(|n| n.kind == NodeKind::Folder) {
            let mut path = view.parent_path(n.id);
            path.push(n.title.clone());
            folders.entry(path).or_default().push(n.id);
        }
        for ids in folders.values_mut() {
            ids.sort_by_key(|id| view.canonical_key(*id));
        }
        view.folders = folders;
        view
    }

    /// The order that picks a canonical node among several with one path:
    /// earliest `created`, then smallest TreeID. Both are part of the
    /// replicated state, so every replica picks the same node.
    fn canonical_key(&self, id: TreeID) -> (i64, TreeID) {
        (self.nodes.get(&id).map_or(i64::MAX, |n| n.created), id)
    }

    /// The titles of `id`'s ancestors, from the root down.
    pub fn parent_path(&self, id: TreeID) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = self.nodes.get(&id).and_then(|n| n.parent);
        // Loro keeps the tree acyclic; the bound is belt and braces.
        for _ in 0..self.nodes.len() {
            let Some(p) = cur.and_then(|c| self.nodes.get(&c)) else {
                break;
            };
            out.push(p.title.clone());
            cur = p.parent;
        }
        out.reverse();
        out
    }

    /// The canonical folder node for `path`; `Some(None)` is the root.
    pub fn folder(&self, path: &[String]) -> Option<Option<TreeID>> {
        if path.is_empty() {
            return Some(None);
        }
        self.folders
            .get(path)
            .and_then(|ids| ids.first())
            .map(|id| Some(*id))
    }

    /// Every live node carrying `doc`, canonical (smallest TreeID) first.
    pub fn doc_nodes(&self, doc: &DocId) -> Vec<&NodeInfo> {
        let mut v: Vec<&NodeInfo> = self
            .nodes
            .values()
            .filter(|n| matches!(n.kind, NodeKind::Doc(_)) && n.doc.as_ref() == Some(doc))
            .collect();
        v.sort_by_key(|n| n.id);
        v
    }
}
