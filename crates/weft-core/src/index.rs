//! The workspace index: titles, folders and tombstones of every document, in
//! one Loro document holding a movable tree named `"tree"`.
//!
//! Every tree node is a folder or a document entry. Its meta map holds
//! `"type"` (`"folder"`, `"note"` or `"record"`), `"title"`, `"doc"` (the
//! 32-hex document id, documents only), `"deleted"` (a tombstone flag, so a
//! deleted document can be restored) and `"created"` (ms since the epoch,
//! passed in by the caller). A movable tree is used because concurrent moves
//! of folders must merge without cycles or duplicates, which Loro guarantees.
//!
//! ## Paths
//!
//! Folders are named by the path of their titles from the root. Several
//! folder nodes can end up with one path: two devices creating "Work"
//! concurrently each make a node. They are one folder to the user: documents
//! in either are reported under the same path, [`Index::folders`] lists the
//! path once, and a path resolves to the node with the earliest `created`,
//! ties broken by the smallest `TreeID`. Both are replicated state, so every
//! replica resolves a path to the same node. A document id that appears on
//! several nodes (not expected) reads from the node with the smallest
//! `TreeID`; updates are applied to all of them.

mod frozen;
mod lookup;
#[cfg(test)]
mod tests;
mod view;

use std::cell::{Ref, RefCell};
use std::sync::{Arc, Mutex};

use loro::{ExportMode, IdSpan, LoroDoc, LoroTree, Subscription, TreeID};

use crate::guard::{Panicked, guarded};
use crate::ids::{DocId, DocKind};
use frozen::Frozen;
use view::{Dirty, View};

/// The name of the tree container; part of the stored format.
const TREE: &str = "tree";

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// A document or folder title is not acceptable.
    #[error("invalid title {title:?}: {reason}")]
    InvalidTitle {
        /// The title as given.
        title: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A folder path is not acceptable.
    #[error("invalid folder path {path:?}: {reason}")]
    InvalidFolderPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The index has no entry for this document.
    #[error("document {doc} is not in the workspace index")]
    NoSuchDoc {
        /// The document id.
        doc: DocId,
    },
    /// The document is already in the index.
    #[error("document {doc} is already in the workspace index")]
    DocExists {
        /// The document id.
        doc: DocId,
    },
    /// Only notes and records have index entries.
    #[error("a {kind} cannot be added to the workspace index")]
    WrongKind {
        /// The kind that was given.
        kind: DocKind,
    },
    /// No folder has this path.
    #[error("no folder `{}`", .path.join("/"))]
    NoSuchFolder {
        /// The folder path.
        path: Vec<String>,
    },
    /// Moving a folder into itself or one of its own subfolders.
    #[error("cannot move folder `{}` into `{}`, which is inside it", .path.join("/"), .new_parent.join("/"))]
    Cycle {
        /// The folder being moved.
        path: Vec<String>,
        /// The requested new parent.
        new_parent: Vec<String>,
    },
    /// Renaming a folder to the name of a folder beside it (the two would merge).
    #[error("a folder `{}` already exists", .path.join("/"))]
    FolderExists {
        /// The path that is taken.
        path: Vec<String>,
    },
    /// Bytes given to [`Index::load`] or [`Index::import`] are not a valid Loro update or snapshot.
    #[error("cannot load index bytes: {0}")]
    Load(#[source] loro::LoroError),
    /// Loro refused a local operation.
    #[error("index tree operation failed: {0}")]
    Loro(#[from] loro::LoroError),
    /// Loro panicked on foreign bytes.
    #[error(transparent)]
    Panicked(#[from] Panicked),
    /// Bytes given to [`Index::check`] are not a Loro update or snapshot
    /// this version can read.
    #[error("cannot read index bytes: {0}")]
    Check(String),
    /// Loro could not encode the index (never expected).
    #[error("cannot encode the index: {0}")]
    Export(String),
    /// The index was made from a read model alone ([`Index::from_read_model`]):
    /// it answers lookups, and the tree must be loaded to change or export it.
    #[error("the workspace index is not loaded (only its read model is)")]
    Deferred,
}

/// One document as the index describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The document.
    pub doc: DocId,
    /// Note or record.
    pub kind: DocKind,
    /// Its title.
    pub title: String,
    /// The folder titles from the root down (empty: at the root).
    pub folder: Vec<String>,
    /// Whether the document is in the trash.
    pub deleted: bool,
    /// When it was added (ms since the epoch, the adding device's clock).
    pub created_ms: i64,
}

/// One folder path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderEntry {
    /// The folder titles from the root down.
    pub path: Vec<String>,
    /// When the (canonical) folder was created.
    pub created_ms: i64,
}

/// A folder, as returned by [`Index::ensure_folder`]: the root or a tree node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FolderRef(Option<TreeID>);

impl FolderRef {
    /// Whether this is the workspace root.
    pub fn is_root(&self) -> bool {
        self.0.is_none()
    }
}

/// Parses a folder path typed by a user: `"a/b"`, with optional leading or
/// trailing `/`, components trimmed. `""` and `"/"` are the root; an empty
/// component (`"a//b"`) is an error.
pub fn parse_folder_path(s: &str) -> Result<Vec<String>, IndexError> {
    let t = s.trim();
    let t = t.strip_prefix('/').unwrap_or(t);
    let t = t.strip_suffix('/').unwrap_or(t);
    if t.trim().is_empty() {
        return Ok(Vec::new());
    }
    t.split('/')
        .map(|c| {
            let c = c.trim();
            if c.is_empty() {
                return Err(IndexError::InvalidFolderPath {
                    path: s.to_owned(),
                    reason: "a folder name is empty",
                });
            }
            check_title(c, true)?;
            Ok(c.to_owned())
        })
        .collect()
}

/// Checks a folder path given as its list of names (the UI's and the engine's form; only
/// the CLI types paths as `"a/b"`, see [`parse_folder_path`]): every name is one
/// non-blank line without `/`. A name with a `/` is refused, never split into two folders.
pub fn check_folder_path(names: &[String]) -> Result<Vec<String>, IndexError> {
    names
        .iter()
        .map(|c| {
            check_title(c, true)?;
            Ok(c.trim().to_owned())
        })
        .collect()
}

/// Titles are one non-blank line; folder titles also cannot contain `/`,
/// which separates path components.
fn check_title(title: &str, folder: bool) -> Result<(), IndexError> {
    let bad = |reason| {
        Err(IndexError::InvalidTitle {
            title: title.to_owned(),
            reason,
        })
    };
    if title.trim().is_empty() {
        return bad("a title cannot be empty");
    }
    if title.contains(['\n', '\r']) {
        return bad("a title must be a single line");
    }
    if folder && title.contains('/') {
        return bad("a folder name cannot contain `/`");
    }
    Ok(())
}

/// The tree nodes of the folder at `path` (twins made on two devices read as one).
fn folder_nodes(view: &View, path: &[String]) -> Result<Vec<TreeID>, IndexError> {
    view.folders
        .get(path)
        .cloned()
        .ok_or_else(|| IndexError::NoSuchFolder {
            path: path.to_vec(),
        })
}

/// The workspace index document.
pub struct Index {
    doc: LoroDoc,
    /// How many of this peer's ops [`Index::commit_pending`] has handed out.
    sent: i32,
    /// The read model of the tree, built on first use and then kept up to date
    /// from Loro's events (see `view.rs`): building it reads every node, so it
    /// is built once per process, and each change after that costs what it
    /// touches.
    model: RefCell<Model>,
    /// A read model adopted with [`Index::set_read_model`], answering lookups
    /// until the tree is read or changed (then it is dropped).
    frozen: RefCell<Option<Frozen>>,
    /// Made by [`Index::from_read_model`]: `doc` is empty, the read model is
    /// the whole state, and whatever needs the tree is refused.
    deferred: bool,
}

/// The read model and what keeps it current.
#[derive(Default)]
struct Model {
    view: View,
    /// The nodes Loro's events named since `view` was last brought up to date.
    dirty: Arc<Mutex<Dirty>>,
    /// Keeps the event callback registered (dropping it unsubscribes); `None`
    /// until the model is first built.
    sub: Option<Subscription>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("peer", &self.doc.peer_id())
            .finish_non_exhaustive()
    }
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

impl Index {
    /// An empty index (Loro picks a random peer id).
    pub fn new() -> Self {
        Self {
            doc: LoroDoc::new(),
            sent: 0,
            model: RefCell::new(Model::default()),
            frozen: RefCell::new(None),
            deferred: false,
        }
    }

    /// An index that holds only a read model made by [`Index::read_model`]:
    /// every lookup is answered from it, and anything that needs the tree
    /// (a change, an import, a snapshot) fails with [`IndexError::Deferred`]
    /// until the caller loads the index instead. This is how a command that
    /// only looks documents up opens a workspace of 100,000 documents without
    /// reading the index's Loro document at all. The bytes are checked whole
    /// here (every node and lookup reads, every parent exists), so a lookup
    /// can never find the model wanting later and fall back to the empty tree.
    pub fn from_read_model(bytes: Vec<u8>) -> Result<Self, IndexError> {
        let f = Frozen::parse(bytes)
            .filter(Frozen::check_all)
            .ok_or_else(|| IndexError::Check("not a read model".into()))?;
        let mut idx = Self::new();
        *idx.frozen.get_mut() = Some(f);
        idx.deferred = true;
        Ok(idx)
    }

    /// Whether this index holds only a read model (see [`Index::from_read_model`]).
    pub fn is_deferred(&self) -> bool {
        self.deferred
    }

    /// Refuses to touch the tree of an index made from a read model alone.
    fn writable(&self) -> Result<(), IndexError> {
        if self.deferred {
            return Err(IndexError::Deferred);
        }
        Ok(())
    }

    /// Rebuilds the index from a snapshot and/or updates, in any order.
    /// Empty chunks are skipped.
    pub fn load(chunks: &[&[u8]]) -> Result<Self, IndexError> {
        let mut idx = Self::new();
        for c in chunks {
            idx.import(c)?;
        }
        Ok(idx)
    }

    /// Applies foreign bytes (a Loro update or snapshot). After
    /// [`IndexError::Panicked`] drop the index and load it again.
    pub fn import(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.writable()?;
        *self.frozen.get_mut() = None;
        guarded("Loro", "importing an index update", || {
            self.doc.import(bytes)
        })?
        .map_err(IndexError::Load)?;
        Ok(())
    }

    /// True while some imported updates wait for a predecessor that has not
    /// arrived (sync delivers each device's changes in order, but not in
    /// causal order across devices). Loro keeps them and applies them once
    /// the predecessor comes, but a snapshot omits them, so a snapshot taken
    /// now would lose them: callers skip snapshotting until this is false.
    pub fn has_pending(&self) -> bool {
        // An encoding failure is treated as "pending": skipping a snapshot
        // (a cache) is always safe, losing updates is not.
        self.doc
            .export_pending_updates()
            .map(|p| p.is_some())
            .unwrap_or(true)
    }

    /// The whole document as a Loro snapshot.
    pub fn export_snapshot(&self) -> Result<Vec<u8>, IndexError> {
        self.writable()?;
        self.doc
            .export(ExportMode::Snapshot)
            .map_err(|e| IndexError::Export(e.to_string()))
    }

    /// Checks that `bytes` are a Loro update or snapshot this version can
    /// read, without applying them (see [`crate::note::Note::check`]).
    /// Empty bytes are accepted, as [`Index::import`] accepts them.
    pub fn check(bytes: &[u8]) -> Result<(), IndexError> {
        if bytes.is_empty() {
            return Ok(());
        }
        crate::note::check_loro(bytes).map_err(IndexError::Check)
    }

    /// This device's operations since the last call as one Loro update, or
    /// `None` when nothing changed locally. Imported foreign updates are not
    /// included.
    pub fn commit_pending(&mut self) -> Option<Vec<u8>> {
        self.doc.commit();
        let peer = self.doc.peer_id();
        let end = self.doc.oplog_vv().get(&peer).copied().unwrap_or(0);
        if end <= self.sent {
            return None;
        }
        let spans = vec![IdSpan::new(peer, self.sent, end)];
        let bytes = self.doc.export(ExportMode::updates_in_range(spans)).ok()?;
        self.sent = end;
        Some(bytes)
    }

    /// The current version: the Loro frontiers (the latest op ids), sorted
    /// and encoded as 12 bytes each (peer u64 then counter i32, big-endian),
    /// so equal bytes mean equal content on any replica.
    pub fn version_bytes(&self) -> Vec<u8> {
        let mut ids: Vec<(u64, i32)> = self
            .doc
            .oplog_frontiers()
            .iter()
            .map(|id| (id.peer, id.counter))
            .collect();
        ids.sort_unstable();
        ids.iter()
            .flat_map(|(p, c)| p.to_be_bytes().into_iter().chain(c.to_be_bytes()))
            .collect()
    }

    fn tree(&self) -> LoroTree {
        self.doc.get_tree(TREE)
    }

    /// The read model, brought up to date. Callers hold it only while reading,
    /// and never across a call that takes it again.
    fn view(&self) -> Ref<'_, View> {
        // Committing emits the events of any operation still in the open
        // transaction, so the model below covers every applied op.
        self.doc.commit();
        {
            let mut m = self.model.borrow_mut();
            if m.sub.is_some() {
                let Model { view, dirty, .. } = &mut *m;
                view.apply(&self.tree(), dirty);
            } else {
                // An adopted read model describes this very state: unpacking it
                // costs a fraction of reading every node's metadata from Loro
                // (which decodes each node's map). From here on the kept model
                // follows the tree, and the adopted one may go stale.
                let adopted = self.frozen.borrow_mut().take();
                m.view = match adopted.and_then(|f| f.all_nodes()) {
                    Some(nodes) => View::of(nodes.into_iter()),
                    None => View::build(&self.tree()),
                };
                // Subscribed after the build, so loading a big snapshot emits no
                // events; nothing runs in between.
                let sink = Arc::clone(&m.dirty);
                m.sub = Some(
                    self.doc
                        .subscribe_root(Arc::new(move |e| Dirty::record(&sink, &e))),
                );
            }
        }
        Ref::map(self.model.borrow(), |m| &m.view)
    }

    /// The read model in its flat form (`frozen.rs`), for the caller to keep
    /// (sealed) and hand to [`Index::set_read_model`] on a later load of the
    /// same state. Builds the model if it is not built.
    pub fn read_model(&self) -> Vec<u8> {
        frozen::encode(&self.view())
    }

    /// Adopts a read model made by [`Index::read_model`] from exactly the
    /// state this index was loaded with: lookups by id, title and id prefix,
    /// and the full listing, are answered from it without reading the tree,
    /// until anything reads or changes the tree. Bytes that are not a read
    /// model are refused and change nothing.
    pub fn set_read_model(&mut self, bytes: Vec<u8>) -> Result<(), IndexError> {
        let f = Frozen::parse(bytes).ok_or_else(|| IndexError::Check("not a read model".into()))?;
        if self.model.get_mut().sub.is_none() {
            *self.frozen.get_mut() = Some(f);
        }
        Ok(())
    }

    /// Whether the tree was read in this process (its read model built).
    pub fn has_model(&self) -> bool {
        self.model.borrow().sub.is_some()
    }

    /// `f` over the adopted read model, if there is one and the tree has not
    /// been read since. A model that fails to answer (damaged bytes) is
    /// dropped, and the caller reads the tree.
    fn frozen<T>(&self, f: impl FnOnce(&Frozen) -> Option<T>) -> Option<T> {
        if self.has_model() {
            return None;
        }
        let r = self.frozen.borrow().as_ref().map(f);
        match r {
            Some(Some(v)) => Some(v),
            Some(None) => {
                *self.frozen.borrow_mut() = None;
                None
            }
            None => None,
        }
    }

    /// Whether the kept read model equals one built afresh from the tree (the
    /// property the incremental model must keep; for tests).
    #[cfg(test)]
    pub(crate) fn model_matches_rebuild(&self) -> bool {
        let kept = self.view();
        *kept == View::build(&self.tree())
    }

    /// Returns the folder at `path`, creating whatever part is missing.
    pub fn ensure_folder(&mut self, path: &[String], now_ms: i64) -> Result<FolderRef, IndexError> {
        self.writable()?;
        let r = self.ensure_folder_inner(&self.view(), path, now_ms);
        self.doc.commit();
        r
    }

    fn ensure_folder_inner(
        &self,
        view: &View,
        path: &[String],
        now_ms: i64,
    ) -> Result<FolderRef, IndexError> {
        for c in path {
            check_title(c, true)?;
        }
        // The longest prefix that exists already.
        let mut have = 0;
        let mut parent = None;
        for n in (0..=path.len()).rev() {
            if let Some(node) = view.folder(&path[..n]) {
                have = n;
                parent = node;
                break;
            }
        }
        let tree = self.tree();
        for title in &path[have..] {
            let id = tree.create(parent)?;
            let meta = tree.get_meta(id)?;
            meta.insert("type", "folder")?;
            meta.insert("title", title.as_str())?;
            meta.insert("created", now_ms)?;
            parent = Some(id);
        }
        Ok(FolderRef(parent))
    }

    /// Adds a note or record with `title` in `folder` (created if missing).
    pub fn add_doc(
        &mut self,
        doc: DocId,
        kind: DocKind,
        title: &str,
        folder: &[String],
        now_ms: i64,
    ) -> Result<(), IndexError> {
        self.writable()?;
        if kind == DocKind::Index {
            return Err(IndexError::WrongKind { kind });
        }
        check_title(title, false)?;
        let view = self.view();
        if !view.doc_nodes(&doc).is_empty() {
            return Err(IndexError::DocExists { doc });
        }
        let r = (|| {
            let FolderRef(parent) = self.ensure_folder_inner(&view, folder, now_ms)?;
            let tree = self.tree();
            let id = tree.create(parent)?;
            let meta = tree.get_meta(id)?;
            meta.insert("type", kind.name())?;
            meta.insert("title", title)?;
            meta.insert("doc", doc.to_hex().as_str())?;
            meta.insert("deleted", false)?;
            meta.insert("created", now_ms)?;
            Ok(())
        })();
        self.doc.commit();
        r
    }

    /// Renames a document. Concurrent renames: the last writer wins, the
    /// same on every replica.
    pub fn rename(&mut self, doc: &DocId, title: &str) -> Result<(), IndexError> {
        self.writable()?;
        check_title(title, false)?;
        self.each_doc_node(doc, |tree, id| {
            tree.get_meta(id)?.insert("title", title)?;
            Ok(())
        })
    }

    /// Moves a document into `folder`, creating the folder if missing.
    pub fn move_doc(
        &mut self,
        doc: &DocId,
        folder: &[String],
        now_ms: i64,
    ) -> Result<(), IndexError> {
        self.writable()?;
        let view = self.view();
        let nodes: Vec<TreeID> = view.doc_nodes(doc).iter().map(|n| n.id).collect();
        if nodes.is_empty() {
            return Err(IndexError::NoSuchDoc { doc: *doc });
        }
        let r = (|| {
            let FolderRef(target) = self.ensure_folder_inner(&view, folder, now_ms)?;
            let tree = self.tree();
            for id in nodes {
                // Already in a folder with this path (perhaps a concurrently
                // created twin): moving would change nothing the user sees.
                if view.parent_path(id) != folder {
                    tree.mov(id, target)?;
                }
            }
            Ok(())
        })();
        self.doc.commit();
        r
    }

    /// Puts a document in the trash (`true`) or restores it (`false`).
    pub fn set_deleted(&mut self, doc: &DocId, deleted: bool) -> Result<(), IndexError> {
        self.writable()?;
        self.each_doc_node(doc, |tree, id| {
            tree.get_meta(id)?.insert("deleted", deleted)?;
            Ok(())
        })
    }

    /// Moves the folder at `path` (every node with that path) under the
    /// existing folder `new_parent`. Moving a folder into itself or below
    /// itself is refused; if another device concurrently makes the opposite
    /// move, Loro drops one of the two so the tree stays acyclic.
    pub fn move_folder(
        &mut self,
        path: &[String],
        new_parent: &[String],
    ) -> Result<(), IndexError> {
        self.writable()?;
        if path.is_empty() {
            return Err(IndexError::InvalidFolderPath {
                path: String::new(),
                reason: "the root folder cannot be moved",
            });
        }
        if new_parent.len() >= path.len() && new_parent[..path.len()] == *path {
            return Err(IndexError::Cycle {
                path: path.to_vec(),
                new_parent: new_parent.to_vec(),
            });
        }
        let view = self.view();
        let ids = folder_nodes(&view, path)?;
        let target = view
            .folder(new_parent)
            .ok_or_else(|| IndexError::NoSuchFolder {
                path: new_parent.to_vec(),
            })?;
        let tree = self.tree();
        let r = ids.into_iter().try_for_each(|id| {
            if view.nodes.get(&id).map(|n| n.parent) == Some(target) {
                return Ok(());
            }
            tree.mov(id, target).map_err(IndexError::from)
        });
        self.doc.commit();
        r
    }

    /// Renames the folder at `path` (everything in it stays in it). A folder
    /// of the new name beside it is refused: the two would merge, which a
    /// rename should not do. Concurrent renames: the last writer wins, as
    /// for documents.
    pub fn rename_folder(&mut self, path: &[String], name: &str) -> Result<(), IndexError> {
        self.writable()?;
        let Some((old, parent)) = path.split_last() else {
            return Err(IndexError::InvalidFolderPath {
                path: String::new(),
                reason: "the root folder cannot be renamed",
            });
        };
        check_title(name, true)?;
        let view = self.view();
        let ids = folder_nodes(&view, path)?;
        if name == old {
            return Ok(());
        }
        let renamed: Vec<String> = parent.iter().cloned().chain([name.to_owned()]).collect();
        if view.folders.contains_key(&renamed) {
            return Err(IndexError::FolderExists { path: renamed });
        }
        let tree = self.tree();
        let r = ids.into_iter().try_for_each(|id| {
            tree.get_meta(id)?.insert("title", name)?;
            Ok(())
        });
        self.doc.commit();
        r
    }

    /// Runs `f` on every node of `doc` and commits.
    fn each_doc_node(
        &mut self,
        doc: &DocId,
        f: impl Fn(&LoroTree, TreeID) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let ids: Vec<TreeID> = self.view().doc_nodes(doc).iter().map(|n| n.id).collect();
        if ids.is_empty() {
            return Err(IndexError::NoSuchDoc { doc: *doc });
        }
        let tree = self.tree();
        let r = ids.into_iter().try_for_each(|id| f(&tree, id));
        self.doc.commit();
        r
    }
}
