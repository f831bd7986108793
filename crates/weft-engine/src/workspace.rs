//! Opening a workspace, loading documents, and committing sealed changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use weft_core::index::Index;
use weft_core::note::Note;
use weft_core::record::Record;
use weft_core::{ChangeKind, DeviceId, DocId, DocKind};
use weft_crypto::{
    ChangeHeader, DataKey, DeviceKey, KeyringStore, PassphraseFile, SealedChange, SealedSnapshot,
    SecretStore, SnapshotHeader, WorkspaceKey, WorkspaceSecrets,
};
use weft_store::{DocRow, Store, StoreError, StoreRead, StoredChange};
use zeroize::Zeroizing;

use crate::EngineError;
use crate::envelope::Envelope;
use crate::home::{DB_FILE, KEY_FILE};
use crate::load::read_change;
pub(crate) use crate::load::{Crdt, Loaded};

/// The OS keyring service under which Weft keeps its secrets.
pub const KEYRING_SERVICE: &str = "weft";
pub(crate) const META_KEYS: &str = "keys";
pub(crate) const META_NAME: &str = "name";
pub(crate) const KEYS_KEYRING: &[u8] = b"os-keyring";
pub(crate) const KEYS_FILE: &[u8] = b"passphrase-file";
/// Keys held by a secret store the embedder passes to every open.
const KEYS_EXTERNAL: &[u8] = b"external";

fn backend(home: &Path, keys: KeyBackend) -> (Box<dyn SecretStore>, &'static [u8]) {
    match keys {
        KeyBackend::OsKeyring => (Box::new(KeyringStore::new(KEYRING_SERVICE)), KEYS_KEYRING),
        KeyBackend::Passphrase(p) => (
            Box::new(PassphraseFile::new(home.join(KEY_FILE), p)),
            KEYS_FILE,
        ),
    }
}

/// The index document has a fixed, well-known id in every workspace, so a
/// device that has never seen a workspace knows where titles live.
pub(crate) const INDEX_DOC: DocId = DocId::from_bytes([0; 16]);

/// Snapshot a document mid-session once its unsnapshotted tail is this
/// long, which bounds load time after a crash. Otherwise snapshots are
/// written when the workspace is closed: writing one per commit would cost
/// an export of the whole document on every keystroke batch.
pub(crate) const SNAPSHOT_AFTER_ROWS: usize = 2000;
pub(crate) const SNAPSHOT_AFTER_BYTES: usize = 2 << 20;
/// On close, a tail this long is snapshotted whatever its size: each row is a
/// decryption and an import on the next load.
pub(crate) const CLOSE_SNAPSHOT_AFTER_ROWS: usize = 256;

/// Where the workspace's secrets are kept.
pub enum KeyBackend {
    /// The OS keyring (Secret Service, Keychain, Credential Manager).
    OsKeyring,
    /// A key file in the workspace home, wrapped with this passphrase
    /// (Argon2id + AES-256-GCM). For machines without a keyring.
    Passphrase(Zeroizing<String>),
}

/// A note or a record, loaded.
pub(crate) enum Body {
    Note(Note),
    // Boxed: an Automerge document is ~4 KiB inline, a Loro one 32 bytes.
    Record(Box<Record>),
}

impl Body {
    pub(crate) fn kind(&self) -> DocKind {
        match self {
            Body::Note(_) => DocKind::Note,
            Body::Record(_) => DocKind::Record,
        }
    }
    pub(crate) fn import_bytes(&mut self, b: &[u8]) -> Result<(), String> {
        match self {
            Body::Note(n) => n.import_bytes(b),
            Body::Record(r) => r.import_bytes(b),
        }
    }
    fn waiting(&mut self) -> bool {
        match self {
            Body::Note(n) => n.waiting(),
            Body::Record(r) => r.waiting(),
        }
    }
    fn snapshot(&mut self) -> Result<Vec<u8>, String> {
        match self {
            Body::Note(n) => n.snapshot(),
            Body::Record(r) => r.snapshot(),
        }
    }
    pub(crate) fn take_pending(&mut self) -> Option<Vec<u8>> {
        match self {
            Body::Note(n) => n.take_pending(),
            Body::Record(r) => r.take_pending(),
        }
    }
}

/// One change about to be sealed: part of a user action.
pub(crate) struct Pending {
    pub(crate) doc: DocId,
    pub(crate) kind: DocKind,
    pub(crate) body: Vec<u8>,
    pub(crate) summary: String,
}

/// An open workspace.
pub struct Workspace {
    pub(crate) home: PathBuf,
    pub(crate) store: Store,
    pub(crate) secrets: WorkspaceSecrets,
    pub(crate) data_key: DataKey,
    pub(crate) device: DeviceId,
    pub(crate) key_location: String,
    pub(crate) index: Loaded<Index>,
    pub(crate) docs: HashMap<DocId, Loaded<Body>>,
    /// The most authors whose changes [`Workspace::ingest`] accepts.
    pub(crate) max_authors: usize,
    /// The change row the stored read model of the index covers (0: none or
    /// not adopted; `read_model.rs`).
    pub(crate) read_model_upto: i64,
    /// The in-memory text index, from the first search on (`search.rs`).
    pub(crate) search: Option<crate::search::SearchIndex>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("home", &self.home)
            .field("workspace", &self.store.workspace())
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

fn corrupt(doc: DocId) -> impl Fn(String) -> EngineError {
    move |detail| EngineError::Corrupt { doc, detail }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Workspace {
    /// True if `home` holds a workspace.
    pub fn exists(home: &Path) -> bool {
        home.join(DB_FILE).is_file()
    }

    /// Creates a workspace in `home`: a new SQLite file, a random workspace
    /// key and device key, stored in the chosen [`KeyBackend`]. Nothing is
    /// left behind if any step fails.
    pub fn init(home: &Path, name: &str, keys: KeyBackend) -> Result<Self, EngineError> {
        let (store_impl, marker) = backend(home, keys);
        let secrets = WorkspaceSecrets {
            workspace_key: WorkspaceKey::generate(),
            device_key: DeviceKey::generate(),
        };
        let workspace = weft_core::WorkspaceId::random();
        Self::create(home, name, workspace, secrets, store_impl.as_ref(), marker)
    }

    /// Makes `home` a new device of an existing workspace: the workspace's
    /// id and key (from an invite), a fresh device key, and an empty log
    /// that sync fills.
    pub fn join(
        home: &Path,
        name: &str,
        workspace: weft_core::WorkspaceId,
        key: WorkspaceKey,
        keys: KeyBackend,
    ) -> Result<Self, EngineError> {
        let keyring = matches!(keys, KeyBackend::OsKeyring);
        let (store_impl, marker) = backend(home, keys);
        // The keyring names a workspace's secrets by the workspace alone, so
        // a second home of this user joining the same workspace would replace
        // the first home's device key (two homes, one device id). Refuse
        // before anything is written.
        if keyring && store_impl.load(&workspace).is_ok() {
            return Err(EngineError::KeyringTaken { workspace });
        }
        let secrets = WorkspaceSecrets {
            workspace_key: key,
            device_key: DeviceKey::generate(),
        };
        Self::create(home, name, workspace, secrets, store_impl.as_ref(), marker)
    }

    /// Creates a device of `workspace` whose secrets the caller chose
    /// (a new workspace, or one being joined), kept in a secret store the
    /// caller provides: for embedders with their own store, and for tests
    /// that run many deterministic devices in one process. Reopen it with
    /// [`Workspace::open_in`] and the same store.
    pub fn create_in(
        home: &Path,
        name: &str,
        workspace: weft_core::WorkspaceId,
        secrets: WorkspaceSecrets,
        store: &dyn SecretStore,
    ) -> Result<Self, EngineError> {
        Self::create(home, name, workspace, secrets, store, KEYS_EXTERNAL)
    }

    /// Opens a workspace made with [`Workspace::create_in`].
    pub fn open_in(home: &Path, secrets: &dyn SecretStore) -> Result<Self, EngineError> {
        let db = home.join(DB_FILE);
        if !db.is_file() {
            return Err(EngineError::NoWorkspace {
                home: home.to_owned(),
            });
        }
        Self::open_with(home, secrets)
    }

    fn create(
        home: &Path,
        name: &str,
        workspace: weft_core::WorkspaceId,
        secrets: WorkspaceSecrets,
        store_impl: &dyn SecretStore,
        marker: &[u8],
    ) -> Result<Self, EngineError> {
        let db = home.join(DB_FILE);
        if db.exists() {
            return Err(EngineError::AlreadyExists {
                home: home.to_owned(),
            });
        }
        crate::home::make_private_home(home)?;
        store_impl.save(&workspace, &secrets)?;
        // Build the database under a temporary name and rename it into place
        // last, so a crash mid-init leaves no half-made workspace.
        let tmp = home.join(format!("{DB_FILE}.init-{}", std::process::id()));
        let made = (|| -> Result<(), EngineError> {
            let _ = std::fs::remove_file(&tmp);
            let store = Store::create(&tmp, workspace)?;
            store.set_meta(META_KEYS, marker)?;
            store.set_meta(META_NAME, name.as_bytes())?;
            drop(store);
            std::fs::rename(&tmp, &db).map_err(EngineError::io(&db))
        })();
        if let Err(e) = made {
            let _ = std::fs::remove_file(&tmp);
            let _ = store_impl.delete(&workspace);
            return Err(e);
        }
        Self::open_with(home, store_impl)
    }

    /// Opens the workspace in `home`. Keys come from the OS keyring, or from
    /// the key file with `passphrase` if the workspace was made that way.
    pub fn open(home: &Path, passphrase: Option<&str>) -> Result<Self, EngineError> {
        let db = home.join(DB_FILE);
        if !db.is_file() {
            return Err(EngineError::NoWorkspace {
                home: home.to_owned(),
            });
        }
        let store = Store::open(&db)?;
        let marker = store.meta(META_KEYS)?.unwrap_or_default();
        drop(store);
        if marker == KEYS_FILE {
            let path = home.join(KEY_FILE);
            let pass = passphrase.ok_or(EngineError::PassphraseRequired { path: path.clone() })?;
            Self::open_with(
                home,
                &PassphraseFile::new(path, Zeroizing::new(pass.to_owned())),
            )
        } else {
            Self::open_with(home, &KeyringStore::new(KEYRING_SERVICE))
        }
    }

    fn open_with(home: &Path, secrets_store: &dyn SecretStore) -> Result<Self, EngineError> {
        let store = Store::open(&home.join(DB_FILE))?;
        let workspace = store.workspace();
        let secrets = secrets_store.load(&workspace)?;
        let data_key = secrets.workspace_key.derive(&workspace).data;
        let device = secrets.device_key.device_id();
        let mut ws = Self {
            home: home.to_owned(),
            store,
            secrets,
            data_key,
            device,
            key_location: secrets_store.describe(),
            index: Loaded::new(Index::new()),
            docs: HashMap::new(),
            max_authors: crate::DEFAULT_MAX_AUTHORS,
            search: None,
            read_model_upto: 0,
        };
        // Retrying is best effort: a workspace on a full or read-only disk
        // still opens, and the changes stay set aside until the next open.
        if let Err(e) = ws.retry_set_aside() {
            tracing::warn!("could not retry the changes set aside: {e}");
        }
        ws.index = ws.load_index()?;
        Ok(ws)
    }

    /// The workspace home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// This workspace's id.
    pub fn workspace_id(&self) -> weft_core::WorkspaceId {
        self.store.workspace()
    }

    /// This device's id.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// The workspace's display name.
    pub fn name(&self) -> Result<String, EngineError> {
        Ok(self
            .store
            .meta(META_NAME)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default())
    }

    /// The row of a document, or `UnknownDoc` if it has none.
    pub(crate) fn doc_row(&self, doc: &DocId) -> Result<DocRow, EngineError> {
        self.store.doc(doc)?.ok_or_else(|| EngineError::UnknownDoc {
            query: doc.to_hex(),
        })
    }

    /// Loads (or returns the cached) note or record.
    pub(crate) fn body(&mut self, doc: &DocId) -> Result<&mut Loaded<Body>, EngineError> {
        if !self.docs.contains_key(doc) {
            let row = self.doc_row(doc)?;
            let (loaded, found) = match row.kind {
                DocKind::Note => {
                    let (l, found) = self.read_state::<Note>(&row)?;
                    (l.map(Body::Note), found)
                }
                DocKind::Record => {
                    let (l, found) = self.read_state::<Record>(&row)?;
                    (l.map(|r| Body::Record(Box::new(r))), found)
                }
                DocKind::Index => {
                    return Err(EngineError::UnknownDoc {
                        query: doc.to_hex(),
                    });
                }
            };
            self.note_set_aside(&found);
            self.docs.insert(*doc, loaded);
        }
        self.docs
            .get_mut(doc)
            .ok_or_else(|| EngineError::UnknownDoc {
                query: doc.to_hex(),
            })
    }

    /// Whether a document is held in memory.
    pub(crate) fn is_loaded(&self, doc: &DocId) -> bool {
        self.docs.contains_key(doc)
    }

    /// Inserts a brand-new document into the cache (before its first commit).
    pub(crate) fn insert_new(&mut self, doc: DocId, body: Body) {
        self.docs.insert(doc, Loaded::new(body));
    }

    /// Collects the uncommitted local edits of `docs` (and of the index) as
    /// one user action and commits them in a single transaction.
    pub(crate) fn commit_action(
        &mut self,
        docs: &[DocId],
        summary: &str,
    ) -> Result<bool, EngineError> {
        let mut pending = Vec::new();
        for d in docs {
            if let Some(l) = self.docs.get_mut(d)
                && let Some(body) = l.doc.take_pending()
            {
                pending.push(Pending {
                    doc: *d,
                    kind: l.doc.kind(),
                    body,
                    summary: summary.to_owned(),
                });
            }
        }
        if let Some(body) = self.index.doc.take_pending() {
            pending.push(Pending {
                doc: INDEX_DOC,
                kind: DocKind::Index,
                body,
                summary: summary.to_owned(),
            });
        }
        if pending.is_empty() {
            return Ok(false);
        }
        match self.commit(&pending, &mut || None) {
            Ok(()) => {
                self.maybe_snapshot()?;
                Ok(true)
            }
            Err(e) => {
                // The in-memory documents hold edits that did not reach the
                // log: drop them so the next read reloads what is stored.
                for p in &pending {
                    self.evict(&p.doc);
                }
                Err(e)
            }
        }
    }

    /// Drops a document's in-memory state (the index is reloaded from the store).
    pub(crate) fn evict(&mut self, doc: &DocId) {
        if *doc == INDEX_DOC {
            match self.load_index() {
                Ok(index) => self.index = index,
                Err(e) => {
                    // Keep what is in memory rather than show an empty
                    // workspace; the next write reports the store's error.
                    tracing::warn!("could not reload the workspace index: {e}");
                }
            }
        } else {
            self.docs.remove(doc);
        }
    }

    /// The index as stored: its read model alone when that stands for every
    /// stored row (`read_model.rs`), else its tree.
    pub(crate) fn load_index(&mut self) -> Result<Loaded<Index>, EngineError> {
        if let Some(index) = self.index_from_read_model() {
            return Ok(index);
        }
        self.load_index_tree()
    }

    /// The index's tree as stored: its snapshot and later changes, those that
    /// cannot be read set aside.
    pub(crate) fn load_index_tree(&mut self) -> Result<Loaded<Index>, EngineError> {
        let Some(row) = self.store.doc(&INDEX_DOC)? else {
            return Ok(Loaded::new(Index::new()));
        };
        let (mut index, found) = self.read_state::<Index>(&row)?;
        self.note_set_aside(&found);
        self.adopt_read_model(&mut index);
        Ok(index)
    }

    /// Loads the index's tree if only its read model was loaded: before any
    /// change to the index and before rows of it are merged.
    pub(crate) fn ensure_index_tree(&mut self) -> Result<(), EngineError> {
        if self.index.doc.is_deferred() {
            self.index = self.load_index_tree()?;
        }
        Ok(())
    }

    /// Seals and appends `pending` in one write transaction. Changes other
    /// processes appended to the same documents since we loaded them are
    /// read inside the same transaction and merged in afterwards, so `upto`
    /// stays exact. Before them, in the same transaction, the first changes
    /// of new documents `stream` hands out one at a time (an import: each is
    /// sealed, appended and dropped, so memory holds one at a time; the
    /// documents are not loaded); an error from it rolls everything back.
    pub(crate) fn commit(
        &mut self,
        pending: &[Pending],
        stream: &mut dyn FnMut() -> Option<Result<Pending, EngineError>>,
    ) -> Result<(), EngineError> {
        let now = now_ms();
        let workspace = self.store.workspace();
        let device = self.device;
        let data_key = &self.data_key;
        let device_key = &self.secrets.device_key;
        let uptos: Vec<i64> = pending
            .iter()
            .map(|p| {
                if p.doc == INDEX_DOC {
                    self.index.upto
                } else {
                    self.docs.get(&p.doc).map(|l| l.upto).unwrap_or(0)
                }
            })
            .collect();
        let appended = self.store.write(|tx| -> Result<_, EngineError> {
            // Seals one change of ours and appends it; its row.
            let append = |p: &Pending, seq: u64| -> Result<i64, EngineError> {
                let header = ChangeHeader {
                    workspace,
                    doc: p.doc,
                    author: device,
                    seq,
                    kind: ChangeKind::Update(p.kind),
                };
                let plain = Zeroizing::new(
                    Envelope {
                        time_ms: now,
                        summary: p.summary.clone(),
                        body: p.body.clone(),
                    }
                    .encode(),
                );
                let sealed = SealedChange::seal(header, &plain, data_key, device_key)
                    .map_err(|e| EngineError::Seal(e.to_string()))?;
                tx.append(&sealed, now)?
                    .ok_or_else(|| EngineError::Seal(format!("seq {seq} was already taken")))
            };
            let mut first = tx.next_seq(&device)?;
            while let Some(p) = stream() {
                let p = p?;
                // A document with nothing in it (an empty file) has no change:
                // Loro refuses empty bytes, so one would be unreadable.
                if p.body.is_empty() {
                    continue;
                }
                append(&p, first)?;
                first += 1;
            }
            let mut out = Vec::with_capacity(pending.len());
            for (seq, (p, upto)) in (first..).zip(pending.iter().zip(&uptos)) {
                let foreign = tx.changes_of_doc(&p.doc, *upto)?;
                let skip = if foreign.is_empty() {
                    Default::default()
                } else {
                    tx.set_aside_rows(&p.doc)?
                };
                let row = append(p, seq)?;
                out.push((row, seq, foreign, skip));
            }
            Ok(out)
        })?;
        // Merge what other processes appended before our change, then count
        // our own. A foreign change that cannot be read is set aside; one
        // whose import failed part way leaves the document to be reloaded.
        let data_key = &self.data_key;
        let open = |c: &StoredChange| read_change(data_key, c);
        let mut found = Vec::new();
        let mut reload = Vec::new();
        for (p, (row, seq, foreign, skip)) in pending.iter().zip(appended) {
            let own = (self.device, seq, row, p.body.len());
            let (aside, dirty) = if p.doc == INDEX_DOC {
                let l = &mut self.index;
                let r = l.absorb_rows(&foreign, &skip, DocKind::Index, open, |d, b| {
                    d.import_bytes(b)
                });
                l.absorb_own(own);
                r
            } else if let Some(l) = self.docs.get_mut(&p.doc) {
                let r = l.absorb_rows(&foreign, &skip, p.kind, open, |d, b| d.import_bytes(b));
                l.absorb_own(own);
                r
            } else {
                continue;
            };
            found.extend(aside);
            if dirty {
                reload.push(p.doc);
            }
        }
        self.note_set_aside(&found);
        for doc in &reload {
            self.evict(doc);
        }
        Ok(())
    }

    pub(crate) fn maybe_snapshot(&mut self) -> Result<(), EngineError> {
        self.snapshot_due(false)
    }

    /// Snapshots every loaded document (the index too) for which one is due
    /// (see `Loaded::snapshot_due`).
    fn snapshot_due(&mut self, closing: bool) -> Result<(), EngineError> {
        let due: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, l)| l.snapshot_due(closing))
            .map(|(d, _)| *d)
            .collect();
        for d in due {
            self.snapshot_doc(&d)?;
        }
        if self.index.snapshot_due(closing) {
            self.snapshot_doc(&INDEX_DOC)?;
        }
        Ok(())
    }

    /// Writes a sealed snapshot of one loaded document, unless another
    /// process appended changes we have not merged (then it is left to the
    /// next writer: a snapshot is only a cache).
    pub(crate) fn snapshot_doc(&mut self, doc: &DocId) -> Result<(), EngineError> {
        let workspace = self.store.workspace();
        // A document holding changes that wait for a dependency is not
        // snapshotted: the snapshot would omit them while `upto` claimed
        // them, and they would be lost on the next load. The log still has
        // them; the next snapshot after the dependency arrives covers them.
        let (kind, bytes, upto, vector) = if *doc == INDEX_DOC {
            let l = &mut self.index;
            // An index known by its read model alone has no tree to snapshot,
            // and its stored snapshot and model already cover every row.
            if l.doc.is_deferred() || l.doc.waiting() {
                return Ok(());
            }
            let bytes = l.doc.snapshot().map_err(corrupt(*doc))?;
            (DocKind::Index, bytes, l.upto, l.vector.encode())
        } else {
            let Some(l) = self.docs.get_mut(doc) else {
                return Ok(());
            };
            if l.doc.waiting() {
                return Ok(());
            }
            let bytes = l.doc.snapshot().map_err(corrupt(*doc))?;
            (l.doc.kind(), bytes, l.upto, l.vector.encode())
        };
        let header = SnapshotHeader {
            workspace,
            doc: *doc,
            kind,
            author: self.device,
            vector: vector.clone(),
        };
        let sealed = SealedSnapshot::seal(header, &bytes, &self.data_key, &self.secrets.device_key)
            .map_err(|e| EngineError::Seal(e.to_string()))?
            .to_bytes();
        let now = now_ms();
        let written = match self.store.write(|tx| -> Result<bool, EngineError> {
            if !tx.changes_of_doc(doc, upto)?.is_empty() {
                return Ok(false);
            }
            tx.set_snapshot(doc, kind, &sealed, &vector, upto, now)?;
            Ok(true)
        }) {
            // A snapshot is a cache: on a full disk the log still has everything, and
            // the committed action it follows must not be reported as failed.
            Err(EngineError::Store(StoreError::Full { .. })) => return Ok(()),
            r => r?,
        };
        if written {
            let size = bytes.len();
            if *doc == INDEX_DOC {
                self.index.snapshotted(size);
                // A long-running node writes the read model with the index's
                // snapshots, so commands run beside it find a current one.
                self.save_read_model();
            } else if let Some(l) = self.docs.get_mut(doc) {
                l.snapshotted(size);
            }
        }
        Ok(())
    }

    /// Writes the snapshots due on close: of every document whose changes since
    /// its last one are worth a snapshot (see `Loaded::snapshot_due`). Called
    /// on close; safe to call any time.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        self.snapshot_due(true)?;
        // A process whose index moved leaves a read model covering every index
        // row, so the next command that only looks documents up opens the
        // index from it alone. The snapshot is left to its own policy: one
        // that needs the tree decodes it either way, and writing the snapshot
        // of 100,000 documents on every close would be most of a `weft new`.
        self.save_read_model();
        Ok(())
    }

    /// Flushes snapshots and closes the workspace.
    pub fn close(mut self) -> Result<(), EngineError> {
        self.flush()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        // Best effort: a snapshot is a cache, and the log already holds
        // every committed change. `close` reports errors; drop cannot.
        let _ = self.flush();
    }
}
