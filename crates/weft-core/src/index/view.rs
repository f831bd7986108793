//! A read model of the index tree: every live node with its metadata, the
//! lookups by document id, by title, by parent and by folder path, and the
//! path rules that make replicas agree on what a folder path means.
//!
//! The model is built once from the tree ([`View::build`]) and then kept up
//! to date from Loro's events ([`Dirty`]): each node an event names is read
//! again from the tree ([`View::refresh`]), so a change costs what it touches
//! (a node, its lookups, and for a folder the paths of the folders below it),
//! never a walk over every document. The property test in `tests.rs` checks
//! after every step of random concurrent histories that the model equals a
//! fresh build.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use loro::event::{Diff, DiffEvent};
use loro::{
    ContainerID, ContainerType, Index, LoroTree, LoroValue, TreeID, TreeParentId, ValueOrContainer,
};

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NodeInfo {
    pub id: TreeID,
    pub parent: Option<TreeID>,
    pub kind: NodeKind,
    pub title: String,
    pub doc: Option<DocId>,
    pub deleted: bool,
    pub created: i64,
}

/// Every live node and the lookups over them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct View {
    pub nodes: HashMap<TreeID, NodeInfo>,
    /// Live nodes by parent (`None`: the root).
    children: HashMap<Option<TreeID>, HashSet<TreeID>>,
    /// Document nodes by document id, smallest TreeID (the canonical node) first.
    /// Ordered, so an id prefix is a range.
    by_doc: BTreeMap<DocId, Vec<TreeID>>,
    /// Document nodes by title.
    by_title: HashMap<String, BTreeSet<TreeID>>,
    /// Folder nodes by full title path, canonical node first.
    pub folders: HashMap<Vec<String>, Vec<TreeID>>,
    /// Each folder node's path, as placed in `folders`.
    folder_paths: HashMap<TreeID, Vec<String>>,
}

/// The nodes Loro's events named since the model was last brought up to date.
/// Filled by the subscription's callback (which may not touch the model: the
/// callback runs inside Loro's commit and import), drained by [`View::apply`].
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    nodes: HashSet<TreeID>,
}

impl Dirty {
    /// Records what one event touched: tree diffs name their nodes; a node's
    /// meta map is the container whose id is the node's id, and a container
    /// nested in a meta map has the node in its path.
    pub fn record(dirty: &Arc<Mutex<Dirty>>, event: &DiffEvent) {
        // A poisoned lock means a callback panicked mid-insert; the set is still a set.
        let mut d = dirty.lock().unwrap_or_else(|p| p.into_inner());
        for c in &event.events {
            if let Diff::Tree(t) = &c.diff {
                d.nodes.extend(t.diff.iter().map(|i| i.target));
            }
            if let ContainerID::Normal {
                peer,
                counter,
                container_type: ContainerType::Map,
            } = c.target
            {
                d.nodes.insert(TreeID::new(*peer, *counter));
            }
            for (_, ix) in c.path {
                if let Index::Node(id) = ix {
                    d.nodes.insert(*id);
                }
            }
        }
    }

    fn take(dirty: &Arc<Mutex<Dirty>>) -> HashSet<TreeID> {
        // A poisoned lock means a callback panicked mid-insert; the set is still a set.
        let mut d = dirty.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut d.nodes)
    }
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

/// The node as the tree has it now, or `None` if it is not live.
fn read_node(tree: &LoroTree, id: TreeID) -> Option<NodeInfo> {
    if !tree.contains(id) || tree.is_node_deleted(&id).unwrap_or(true) {
        return None;
    }
    let parent = match tree.parent(id)? {
        TreeParentId::Node(p) => Some(p),
        TreeParentId::Root => None,
        TreeParentId::Deleted | TreeParentId::Unexist => return None,
    };
    let meta = tree.get_meta(id).ok()?;
    let kind = match meta_str(&meta, "type").as_deref() {
        Some("folder") => NodeKind::Folder,
        Some("note") => NodeKind::Doc(DocKind::Note),
        Some("record") => NodeKind::Doc(DocKind::Record),
        _ => NodeKind::Other,
    };
    Some(NodeInfo {
        id,
        parent,
        kind,
        title: meta_str(&meta, "title").unwrap_or_default(),
        doc: meta_str(&meta, "doc").and_then(|s| s.parse().ok()),
        deleted: meta_bool(&meta, "deleted").unwrap_or(false),
        created: meta_i64(&meta, "created").unwrap_or(0),
    })
}

impl View {
    /// The model of the whole tree: one read of every live node.
    pub fn build(tree: &LoroTree) -> Self {
        Self::of(
            tree.nodes()
                .into_iter()
                .filter_map(|id| read_node(tree, id)),
        )
    }

    /// The model of these live nodes (the whole tree's).
    pub fn of(nodes: impl Iterator<Item = NodeInfo>) -> Self {
        let mut view = View::default();
        let mut placed = Vec::new();
        for info in nodes {
            if info.kind == NodeKind::Folder {
                placed.push(info.id);
            }
            view.insert(info);
        }
        view.place_folders(placed);
        view
    }

    /// Brings the model up to date with the nodes the events named.
    pub fn apply(&mut self, tree: &LoroTree, dirty: &Arc<Mutex<Dirty>>) {
        let ids = Dirty::take(dirty);
        if ids.is_empty() {
            return;
        }
        let mut folders = Vec::new();
        for id in ids {
            self.refresh(tree, id, &mut folders);
        }
        self.place_folders(folders);
    }

    /// Reads `id` from the tree again. A node that became live brings its live
    /// subtree with it (Loro names only the node that moved back); a node that
    /// is gone takes its subtree out of the model. Folders whose path may have
    /// changed are pushed to `folders`.
    fn refresh(&mut self, tree: &LoroTree, id: TreeID, folders: &mut Vec<TreeID>) {
        let was = self.nodes.contains_key(&id);
        match read_node(tree, id) {
            Some(info) => {
                let old = self.remove_one(id);
                if info.kind == NodeKind::Folder {
                    folders.push(id);
                }
                // A node renamed or moved changes the path of every folder below it
                // (any node's title is a path component, whatever its type).
                if old
                    .as_ref()
                    .is_some_and(|o| (&o.title, o.parent) != (&info.title, info.parent))
                {
                    self.folders_below(id, folders);
                }
                self.insert(info);
                if !was {
                    let mut stack: Vec<TreeID> = tree.children(id).unwrap_or_default();
                    while let Some(c) = stack.pop() {
                        if self.nodes.contains_key(&c) {
                            continue;
                        }
                        if let Some(info) = read_node(tree, c) {
                            if info.kind == NodeKind::Folder {
                                folders.push(c);
                            }
                            self.insert(info);
                            stack.extend(tree.children(c).unwrap_or_default());
                        }
                    }
                }
            }
            None if was => {
                let mut stack = vec![id];
                while let Some(n) = stack.pop() {
                    if let Some(kids) = self.children.get(&Some(n)) {
                        stack.extend(kids.iter().copied());
                    }
                    self.remove_one(n);
                }
            }
            None => {}
        }
    }

    /// Every folder strictly below `id` in the model, under nodes of any
    /// kind (every ancestor's title is a path component). Documents have no
    /// children, so this walks the folders and their documents once.
    fn folders_below(&self, id: TreeID, out: &mut Vec<TreeID>) {
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            for c in self.children.get(&Some(n)).into_iter().flatten() {
                if self
                    .nodes
                    .get(c)
                    .is_some_and(|i| i.kind == NodeKind::Folder)
                {
                    out.push(*c);
                }
                stack.push(*c);
            }
        }
    }

    fn insert(&mut self, info: NodeInfo) {
        let id = info.id;
        self.children.entry(info.parent).or_default().insert(id);
        if let (NodeKind::Doc(_), Some(doc)) = (info.kind, info.doc) {
            let ids = self.by_doc.entry(doc).or_default();
            if let Err(at) = ids.binary_search(&id) {
                ids.insert(at, id);
            }
            self.by_title
                .entry(info.title.clone())
                .or_default()
                .insert(id);
        }
        self.nodes.insert(id, info);
    }

    /// Takes one node out of every lookup (its children stay where they are).
    fn remove_one(&mut self, id: TreeID) -> Option<NodeInfo> {
        let info = self.nodes.remove(&id)?;
        if let Some(set) = self.children.get_mut(&info.parent) {
            set.remove(&id);
            if set.is_empty() {
                self.children.remove(&info.parent);
            }
        }
        if let (NodeKind::Doc(_), Some(doc)) = (info.kind, info.doc) {
            if let Some(ids) = self.by_doc.get_mut(&doc) {
                ids.retain(|n| *n != id);
                if ids.is_empty() {
                    self.by_doc.remove(&doc);
                }
            }
            if let Some(set) = self.by_title.get_mut(&info.title) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_title.remove(&info.title);
                }
            }
        }
        if let Some(path) = self.folder_paths.remove(&id)
            && let Some(ids) = self.folders.get_mut(&path)
        {
            ids.retain(|n| *n != id);
            if ids.is_empty() {
                self.folders.remove(&path);
            }
        }
        Some(info)
    }

    /// Puts each live folder of `ids` at its current path, then orders every
    /// path it touched canonical node first.
    fn place_folders(&mut self, ids: Vec<TreeID>) {
        let mut touched = HashSet::new();
        for id in ids {
            let Some(title) = self
                .nodes
                .get(&id)
                .filter(|n| n.kind == NodeKind::Folder)
                .map(|n| n.title.clone())
            else {
                continue;
            };
            if let Some(old) = self.folder_paths.remove(&id)
                && let Some(v) = self.folders.get_mut(&old)
            {
                v.retain(|n| *n != id);
                if v.is_empty() {
                    self.folders.remove(&old);
                }
            }
            let mut path = self.parent_path(id);
            path.push(title);
            self.folders.entry(path.clone()).or_default().push(id);
            self.folder_paths.insert(id, path.clone());
            touched.insert(path);
        }
        for path in touched {
            let Some(mut v) = self.folders.remove(&path) else {
                continue;
            };
            v.sort_by_key(|id| self.canonical_key(*id));
            v.dedup();
            self.folders.insert(path, v);
        }
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

    /// The folder path `n` is in: borrowed from the placed folders when its
    /// parent is one (the usual case), built otherwise.
    pub fn folder_path_of(&self, n: &NodeInfo) -> std::borrow::Cow<'_, [String]> {
        match n.parent {
            None => std::borrow::Cow::Borrowed(&[]),
            Some(p) => match self.folder_paths.get(&p) {
                Some(path) => std::borrow::Cow::Borrowed(path.as_slice()),
                None => std::borrow::Cow::Owned(self.parent_path(n.id)),
            },
        }
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
        self.by_doc
            .get(doc)
            .into_iter()
            .flatten()
            .filter_map(|id| self.nodes.get(id))
            .collect()
    }

    /// The canonical node of every document, in document id order.
    pub fn canonical_doc_nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.by_doc
            .values()
            .filter_map(|ids| ids.first().and_then(|id| self.nodes.get(id)))
    }

    /// The canonical node of every document whose id lies in `range`.
    pub fn doc_nodes_in(
        &self,
        range: std::ops::RangeInclusive<DocId>,
    ) -> impl Iterator<Item = &NodeInfo> {
        self.by_doc
            .range(range)
            .filter_map(|(_, ids)| ids.first().and_then(|id| self.nodes.get(id)))
    }

    /// The documents with a node titled `title` (any node: the caller checks the
    /// canonical one).
    pub fn docs_titled(&self, title: &str) -> BTreeSet<DocId> {
        self.by_title
            .get(title)
            .into_iter()
            .flatten()
            .filter_map(|id| self.nodes.get(id).and_then(|n| n.doc))
            .collect()
    }

    /// The live nodes directly in folder node `parent` (`None`: the root).
    pub fn children_of(&self, parent: Option<TreeID>) -> impl Iterator<Item = &NodeInfo> {
        self.children
            .get(&parent)
            .into_iter()
            .flatten()
            .filter_map(|id| self.nodes.get(id))
    }
}
