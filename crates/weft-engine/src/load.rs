//! Turning stored changes into documents in memory, and setting aside the
//! changes that cannot be read.
//!
//! A change that verified (its signature holds, it decrypts) can still be
//! unreadable here: an envelope version, a change kind or a CRDT encoding
//! this build does not know (a newer Weft made it), or bytes that are
//! damaged or crafted. Such a change is kept in the log, so its author's seqs
//! stay contiguous and it is still served to peers and relays, and is *set
//! aside*: listed in the store's `set_aside` table with the reason and this
//! build's [`READER`] version. Every path here skips set-aside rows, so the
//! document stays usable with everything else, and a build with a newer
//! reader retries them on open ([`Workspace::retry_set_aside`]).
//!
//! This is the one place rows become CRDT imports: loading a document
//! (snapshot and tail), absorbing rows appended after it was loaded (sync,
//! other processes, foreign rows met by a commit), and the checks applied to
//! a change as it is received.

use std::collections::HashSet;

use weft_core::index::Index;
use weft_core::note::Note;
use weft_core::record::Record;
use weft_core::{ChangeKind, DeviceId, DocId, DocKind, VersionVector};
use weft_crypto::{DataKey, SealedSnapshot};
use weft_store::{DocRow, StoreRead, StoredChange};
use zeroize::Zeroizing;

use crate::EngineError;
use crate::envelope::Envelope;
use crate::workspace::{
    CLOSE_SNAPSHOT_AFTER_ROWS, INDEX_DOC, SNAPSHOT_AFTER_BYTES, SNAPSHOT_AFTER_ROWS, Workspace,
};

/// What this build can read. A change set aside by a build with a lower
/// number is retried when this one opens the workspace. Raise it whenever
/// the envelope, the change kinds or a CRDT encoding this build reads grows.
pub const READER: u32 = 1;

/// How a change set aside is described to people.
pub(crate) const UNREADABLE: &str = "could not be read (made by a newer version, or damaged)";

/// One device's changes that this build could not read, in one document or
/// in the workspace: for `weft status`, `weft history` and the app.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Unreadable {
    /// The device that made them.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub device: DeviceId,
    /// Its name as it announced itself, if this device has met it.
    pub name: Option<String>,
    /// True if that device is this one.
    pub this_device: bool,
    /// How many changes.
    pub changes: u64,
    /// The sentence to show: "2 changes from laptop could not be read
    /// (made by a newer version, or damaged)".
    pub message: String,
}

/// The CRDT engines behind the three document kinds, seen uniformly.
pub(crate) trait Crdt: Sized {
    fn load_chunks(chunks: &[&[u8]]) -> Result<Self, String>;
    fn import_bytes(&mut self, bytes: &[u8]) -> Result<(), String>;
    /// The whole state for a stored snapshot; an error, never empty bytes.
    fn snapshot(&mut self) -> Result<Vec<u8>, String>;
    fn take_pending(&mut self) -> Option<Vec<u8>>;
    /// Imported changes still wait for a dependency (see `Note::has_pending`).
    fn waiting(&mut self) -> bool;
}

impl Crdt for Note {
    fn waiting(&mut self) -> bool {
        self.has_pending()
    }
    fn load_chunks(chunks: &[&[u8]]) -> Result<Self, String> {
        Note::load(chunks).map_err(|e| e.to_string())
    }
    fn import_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.import(bytes).map_err(|e| e.to_string())
    }
    fn snapshot(&mut self) -> Result<Vec<u8>, String> {
        self.export_snapshot().map_err(|e| e.to_string())
    }
    fn take_pending(&mut self) -> Option<Vec<u8>> {
        self.commit_pending()
    }
}

impl Crdt for Record {
    fn waiting(&mut self) -> bool {
        self.has_pending()
    }
    fn load_chunks(chunks: &[&[u8]]) -> Result<Self, String> {
        Record::load(chunks).map_err(|e| e.to_string())
    }
    fn import_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.import(bytes).map_err(|e| e.to_string())
    }
    fn snapshot(&mut self) -> Result<Vec<u8>, String> {
        Ok(self.export_snapshot())
    }
    fn take_pending(&mut self) -> Option<Vec<u8>> {
        self.commit_pending()
    }
}

impl Crdt for Index {
    fn waiting(&mut self) -> bool {
        self.has_pending()
    }
    fn load_chunks(chunks: &[&[u8]]) -> Result<Self, String> {
        Index::load(chunks).map_err(|e| e.to_string())
    }
    fn import_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.import(bytes).map_err(|e| e.to_string())
    }
    fn snapshot(&mut self) -> Result<Vec<u8>, String> {
        self.export_snapshot().map_err(|e| e.to_string())
    }
    fn take_pending(&mut self) -> Option<Vec<u8>> {
        self.commit_pending()
    }
}

/// A change found unreadable, to be listed as set aside.
#[derive(Debug, Clone)]
pub(crate) struct Aside {
    pub(crate) row: i64,
    pub(crate) doc: DocId,
    pub(crate) author: DeviceId,
    pub(crate) reason: String,
}

impl Aside {
    fn of(c: &StoredChange, reason: String) -> Self {
        let h = c.change.header();
        Self {
            row: c.row,
            doc: h.doc,
            author: h.author,
            reason,
        }
    }
}

/// Checks a change's CRDT bytes for a document of `kind` without applying
/// them (header, checksum, chunk structure).
pub(crate) fn check_body(kind: DocKind, body: &[u8]) -> Result<(), String> {
    match kind {
        DocKind::Note => Note::check(body).map_err(|e| e.to_string()),
        DocKind::Record => Record::check(body).map_err(|e| e.to_string()),
        DocKind::Index => Index::check(body).map_err(|e| e.to_string()),
    }
}

/// Checks a received change, its envelope decoded, as a change of `kind`
/// to `doc`: what [`Workspace::ingest`] holds a verified change to before
/// it is stored as readable.
pub(crate) fn check_received(
    doc: &DocId,
    kind: DocKind,
    envelope: &Result<Envelope, String>,
) -> Result<(), String> {
    if (*doc == INDEX_DOC) != (kind == DocKind::Index) {
        return Err(format!("a {kind} change cannot address document {doc}"));
    }
    check_body(kind, &envelope.as_ref().map_err(Clone::clone)?.body)
}

/// Opens (verifies and decrypts) one stored change and decodes its
/// envelope; the reason as text when it cannot, for the set-aside list.
pub(crate) fn read_change(data_key: &DataKey, c: &StoredChange) -> Result<Envelope, String> {
    let plain = c.change.open(data_key).map_err(|e| e.to_string())?;
    Envelope::decode(&plain)
}

/// A document held in memory, with what of the log it incorporates.
pub(crate) struct Loaded<T> {
    pub(crate) doc: T,
    /// Every change row of this document with id ≤ `upto` is in `doc` or
    /// set aside.
    pub(crate) upto: i64,
    /// Per author, the highest seq of this document's changes in `doc`.
    pub(crate) vector: VersionVector,
    /// Rows and bytes committed since the stored snapshot.
    pub(crate) tail_rows: usize,
    pub(crate) tail_bytes: usize,
    /// The plaintext size of the stored snapshot (0: none).
    pub(crate) snapshot_bytes: usize,
}

impl<T> Loaded<T> {
    /// A document that has nothing in the store yet.
    pub(crate) fn new(doc: T) -> Self {
        Self {
            doc,
            upto: 0,
            vector: VersionVector::new(),
            tail_rows: 0,
            tail_bytes: 0,
            snapshot_bytes: 0,
        }
    }

    /// Whether a new snapshot is worth its cost. While running: after many
    /// rows or bytes, so a long-lived node's loads stay short. On close
    /// (`closing`): also once the tail is a quarter of the snapshot, or long
    /// enough to slow the next load. A snapshot costs the whole document
    /// (the index of 100,000 documents is megabytes), so writing one on every
    /// close would make each command cost O(documents); by size, its cost is
    /// spread over the edits that grew the tail.
    pub(crate) fn snapshot_due(&self, closing: bool) -> bool {
        if self.tail_rows == 0 {
            return false;
        }
        self.tail_rows >= SNAPSHOT_AFTER_ROWS
            || self.tail_bytes >= SNAPSHOT_AFTER_BYTES
            || (closing
                && (self.tail_rows >= CLOSE_SNAPSHOT_AFTER_ROWS
                    || self.tail_bytes.saturating_mul(4) >= self.snapshot_bytes))
    }

    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Loaded<U> {
        Loaded {
            doc: f(self.doc),
            upto: self.upto,
            vector: self.vector,
            tail_rows: self.tail_rows,
            tail_bytes: self.tail_bytes,
            snapshot_bytes: self.snapshot_bytes,
        }
    }

    /// Records that a snapshot of `size` plaintext bytes now covers the tail.
    pub(crate) fn snapshotted(&mut self, size: usize) {
        self.tail_rows = 0;
        self.tail_bytes = 0;
        self.snapshot_bytes = size;
    }

    fn count(&mut self, author: DeviceId, seq: u64, row: i64, len: usize) {
        if seq > self.vector.get(&author) {
            self.vector.set(author, seq);
        }
        self.upto = self.upto.max(row);
        self.tail_rows += 1;
        self.tail_bytes += len;
    }

    /// Records a committed change of ours (`own`: author, seq, row, body
    /// length).
    pub(crate) fn absorb_own(&mut self, own: (DeviceId, u64, i64, usize)) {
        let (author, seq, row, len) = own;
        self.count(author, seq, row, len);
    }

    /// Imports stored changes of this document that it does not hold yet
    /// (rows after `upto`), skipping those in `skip` (set aside already).
    /// `open` turns a row into its envelope (the caller may hold the
    /// plaintext of rows it just verified). Returns the rows found
    /// unreadable now, and whether an import failed part way, in which case
    /// the document in memory may be half-updated and must be reloaded.
    pub(crate) fn absorb_rows(
        &mut self,
        rows: &[StoredChange],
        skip: &HashSet<i64>,
        kind: DocKind,
        open: impl Fn(&StoredChange) -> Result<Envelope, String>,
        import: impl Fn(&mut T, &[u8]) -> Result<(), String>,
    ) -> (Vec<Aside>, bool) {
        let mut found = Vec::new();
        let mut dirty = false;
        for c in rows {
            let h = c.change.header();
            self.upto = self.upto.max(c.row);
            if skip.contains(&c.row) {
                continue;
            }
            let env = match readable(c, kind, &open) {
                Ok(env) => env,
                Err(reason) => {
                    found.push(Aside::of(c, reason));
                    continue;
                }
            };
            if let Err(reason) = import(&mut self.doc, &env.body) {
                found.push(Aside::of(c, reason));
                dirty = true;
                continue;
            }
            self.count(h.author, h.seq, c.row, env.body.len());
        }
        (found, dirty)
    }
}

/// A row's envelope, if it is of `kind` and opens.
fn readable(
    c: &StoredChange,
    kind: DocKind,
    open: impl Fn(&StoredChange) -> Result<Envelope, String>,
) -> Result<Envelope, String> {
    let got = c.change.header().kind;
    if got != ChangeKind::Update(kind) {
        return Err(format!("a {} change in a {kind}", got.doc_kind()));
    }
    open(c)
}

impl Workspace {
    /// Per device, the changes set aside: of `doc`, or of the whole
    /// workspace. Most first.
    pub fn unreadable(&self, doc: Option<&DocId>) -> Result<Vec<Unreadable>, EngineError> {
        let counts = self.store.set_aside_counts(doc)?;
        if counts.is_empty() {
            return Ok(Vec::new());
        }
        let peers = self.store.peers()?;
        Ok(counts
            .into_iter()
            .map(|c| {
                let this_device = c.author == self.device;
                let name = peers
                    .iter()
                    .find(|p| p.device == c.author && !p.name.is_empty())
                    .map(|p| p.name.clone());
                let who = match (&name, this_device) {
                    (_, true) => "this device".to_owned(),
                    (Some(n), false) => n.clone(),
                    (None, false) => format!("device {}", c.author.short()),
                };
                let noun = if c.changes == 1 { "change" } else { "changes" };
                Unreadable {
                    device: c.author,
                    name,
                    this_device,
                    changes: c.changes,
                    message: format!("{} {noun} from {who} {UNREADABLE}", c.changes),
                }
            })
            .collect())
    }

    /// Reads a document's state from its snapshot and the changes after it,
    /// skipping changes set aside and returning those found unreadable now
    /// (the caller lists them: this method only reads). A snapshot that
    /// does not open or load is ignored and the whole log replayed: a
    /// snapshot is only a cache.
    pub(crate) fn read_state<T: Crdt>(
        &self,
        row: &DocRow,
    ) -> Result<(Loaded<T>, Vec<Aside>), EngineError> {
        let doc = row.doc;
        let skip = self.store.set_aside_rows(&doc)?;
        let mut snapshot = match &row.snapshot {
            Some(bytes) => match self.open_snapshot(row, bytes) {
                Ok(s) => Some(s),
                Err(why) => {
                    tracing::warn!(%doc, "ignoring the document's snapshot ({why}); replaying its log");
                    None
                }
            },
            None => None,
        };
        loop {
            let from = if snapshot.is_some() {
                row.snapshot_upto
            } else {
                0
            };
            let tail = self.store.changes_of_doc(&doc, from)?;
            let mut found = Vec::new();
            let mut good: Vec<(&StoredChange, Envelope)> = Vec::new();
            for c in &tail {
                if skip.contains(&c.row) {
                    continue;
                }
                match readable(c, row.kind, |c| read_change(&self.data_key, c)) {
                    Ok(env) => good.push((c, env)),
                    Err(reason) => found.push(Aside::of(c, reason)),
                }
            }
            let mut chunks: Vec<&[u8]> = Vec::with_capacity(good.len() + 1);
            if let Some((bytes, _)) = &snapshot {
                chunks.push(bytes.as_slice());
            }
            chunks.extend(good.iter().map(|(_, e)| e.body.as_slice()));
            let state = match T::load_chunks(&chunks) {
                Ok(state) => state,
                Err(_) => match build::<T>(snapshot.as_ref().map(|(b, _)| b.as_slice()), &good) {
                    Build::Built(state, refused) => {
                        for (i, reason) in refused.into_iter().rev() {
                            let (c, _) = good.remove(i);
                            found.push(Aside::of(c, reason));
                        }
                        state
                    }
                    Build::BadSnapshot(why) => {
                        tracing::warn!(%doc, "ignoring the document's snapshot ({why}); replaying its log");
                        snapshot = None;
                        continue;
                    }
                },
            };
            let mut loaded = Loaded::new(state);
            loaded.upto = tail.last().map_or(from, |c| c.row.max(from));
            if let Some((bytes, vector)) = snapshot.take() {
                loaded.vector = vector;
                loaded.snapshot_bytes = bytes.len();
            }
            for (c, env) in &good {
                let h = c.change.header();
                loaded.count(h.author, h.seq, c.row, env.body.len());
            }
            return Ok((loaded, found));
        }
    }

    /// A stored snapshot's plaintext and the vector it covers, if it is
    /// this document's and opens.
    pub(crate) fn open_snapshot(
        &self,
        row: &DocRow,
        bytes: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, VersionVector), String> {
        let snap = SealedSnapshot::from_bytes(bytes).map_err(|e| e.to_string())?;
        let h = snap.header();
        if h.doc != row.doc || h.workspace != self.store.workspace() || h.kind != row.kind {
            return Err("it belongs to another document".into());
        }
        let vector = VersionVector::decode(&h.vector).map_err(|e| e.to_string())?;
        let plain = snap.open(&self.data_key).map_err(|e| e.to_string())?;
        Ok((plain, vector))
    }

    /// Lists `found` as set aside. Best effort: the list is how changes are
    /// reported and skipped without being tried again, but the log holds
    /// them either way, so failing to write it (a full disk) only means
    /// they are found again on the next load.
    pub(crate) fn note_set_aside(&mut self, found: &[Aside]) {
        if found.is_empty() {
            return;
        }
        for a in found {
            tracing::warn!(doc = %a.doc, author = %a.author, row = a.row, reason = %a.reason,
                "a change could not be read; it is kept and set aside");
        }
        let written = self.store.write(|tx| {
            for a in found {
                tx.set_aside(a.row, &a.doc, &a.author, &a.reason, READER)?;
            }
            Ok::<_, EngineError>(())
        });
        if let Err(e) = written {
            tracing::warn!("could not record changes set aside: {e}");
        }
    }

    /// Retries the changes a build with an older reader set aside: each
    /// that reads now is taken off the list (and its document's snapshot
    /// dropped, so the next load includes it); the others are kept, marked
    /// with this reader.
    pub(crate) fn retry_set_aside(&mut self) -> Result<(), EngineError> {
        let stale = self.store.reader().set_aside_before(READER)?;
        if stale.is_empty() {
            return Ok(());
        }
        let mut verdicts = Vec::with_capacity(stale.len());
        for c in &stale {
            let h = c.change.header();
            let kind = match self.store.doc(&h.doc)? {
                Some(row) => row.kind,
                None => h.kind.doc_kind(),
            };
            let verdict = readable(c, kind, |c| read_change(&self.data_key, c))
                .and_then(|env| check_body(kind, &env.body));
            verdicts.push((c, verdict));
        }
        self.store.write(|tx| {
            for (c, verdict) in &verdicts {
                let h = c.change.header();
                match verdict {
                    Ok(()) => tx.clear_set_aside(c.row, &h.doc)?,
                    Err(reason) => tx.set_aside(c.row, &h.doc, &h.author, reason, READER)?,
                }
            }
            Ok::<_, EngineError>(())
        })
    }
}

enum Build<T> {
    /// The state, and the indexes (ascending) of the changes it refused,
    /// with the reasons.
    Built(T, Vec<(usize, String)>),
    BadSnapshot(String),
}

/// Loads the snapshot and then each change one at a time, leaving out the
/// changes the CRDT refuses. A refused import may leave the document
/// half-updated, so after each refusal the document is rebuilt from what
/// was accepted so far.
fn build<T: Crdt>(snapshot: Option<&[u8]>, good: &[(&StoredChange, Envelope)]) -> Build<T> {
    let base: Vec<&[u8]> = snapshot.into_iter().collect();
    let mut state = match T::load_chunks(&base) {
        Ok(s) => s,
        Err(why) => return Build::BadSnapshot(why),
    };
    let mut accepted: Vec<&[u8]> = base.clone();
    let mut refused = Vec::new();
    for (i, (_, env)) in good.iter().enumerate() {
        match state.import_bytes(&env.body) {
            Ok(()) => {
                accepted.push(&env.body);
                continue;
            }
            Err(reason) => refused.push((i, reason)),
        }
        state = match T::load_chunks(&accepted) {
            Ok(s) => s,
            Err(why) => return Build::BadSnapshot(why),
        };
    }
    Build::Built(state, refused)
}
