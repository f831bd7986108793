//! The engine's side of sync: the log as the protocol sees it, sessions
//! carrying this device's credentials, and storing what a session verified.
//!
//! The network layer (and the simulator in tests/sim) owns the sessions and
//! moves frames; this module is where verified changes meet the store and
//! the open documents.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use weft_core::DocKind;
use weft_core::index::Index;
use weft_core::{DeviceId, DocId, Seq, VersionVector};
use weft_crypto::SealedChange;
use weft_store::{Store, StoreError, StoreRead, StoredChange};
use weft_sync::{Credentials, Limits, Log, LogError, Role, Session, SessionConfig, VerifiedChange};

use crate::EngineError;
use crate::envelope::Envelope;
use crate::load::{Aside, Crdt, Loaded, READER, check_received, read_change};
use crate::workspace::{Body, INDEX_DOC, Workspace, now_ms};

/// A store seen through the protocol's [`Log`] trait. Public so a relay
/// (which has a store but no workspace keys) can serve sessions too.
#[derive(Debug, Clone, Copy)]
pub struct StoreLog<'a>(pub &'a Store);

fn log_err(e: StoreError) -> LogError {
    LogError {
        source: Box::new(e),
    }
}

impl Log for StoreLog<'_> {
    fn vector(&self) -> Result<VersionVector, LogError> {
        self.0.version_vector().map_err(log_err)
    }
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, LogError> {
        self.0
            .changes_after(author, after, max_count, max_bytes)
            .map_err(log_err)
    }
}

/// How many devices' changes a workspace accepts unless `weft.toml` says
/// otherwise (`[sync] max_authors`). Each author costs 40 bytes in every
/// version vector and every `have`; a thousand devices is far beyond a
/// person's or a team's, and keeps a `have` under 40 KiB.
pub const DEFAULT_MAX_AUTHORS: usize = 1000;

/// What storing one batch from a peer did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// Changes newly stored.
    pub stored: usize,
    /// Changes already held (another peer delivered them first).
    pub duplicates: usize,
    /// Changes the store refused: a different change under the same
    /// (author, seq), or one that does not follow what is stored. Each with
    /// the store's reason.
    pub refused: Vec<(DeviceId, Seq, String)>,
    /// Changes stored but set aside: they verified, but this build cannot
    /// read them (made by a newer version, or damaged). Each with the reason.
    pub set_aside: Vec<(DeviceId, Seq, String)>,
    /// Documents that changed.
    pub docs: Vec<DocId>,
}

impl Workspace {
    /// Sets the most devices whose changes [`Workspace::ingest`] accepts
    /// (at least 1). Changes from a new device beyond it are refused with
    /// that as the reason; devices already holding changes are unaffected.
    pub fn set_max_authors(&mut self, n: usize) {
        self.max_authors = n.max(1);
    }

    /// This workspace's log, for [`Session`] calls.
    pub fn sync_log(&self) -> StoreLog<'_> {
        StoreLog(&self.store)
    }

    /// The version vector of everything this device holds.
    pub fn version_vector(&self) -> Result<VersionVector, EngineError> {
        Ok(self.store.version_vector()?)
    }

    /// A sync session with the peer `remote` (its transport-authenticated
    /// peer id), which must be a `expect` (a device or a relay). `nonce`
    /// must be fresh random bytes.
    pub fn sync_session(
        &self,
        remote: DeviceId,
        expect: Role,
        limits: Limits,
        nonce: [u8; 32],
        now_ms: u64,
    ) -> Session {
        let workspace = self.store.workspace();
        let keys = Arc::new(self.secrets.workspace_key.derive(&workspace));
        Session::new(
            SessionConfig {
                workspace,
                local: self.device,
                remote,
                expect,
                limits,
            },
            Credentials::Member(keys),
            nonce,
            now_ms,
        )
    }

    /// A signed relay control request from this device to `relay`
    /// (docs/protocol.md "Relay control").
    pub fn relay_request(
        &self,
        kind: weft_sync::relay::RequestKind,
        relay: DeviceId,
    ) -> weft_sync::relay::Request {
        let workspace = self.store.workspace();
        let keys = self.secrets.workspace_key.derive(&workspace);
        weft_sync::relay::Request::new(kind, workspace, &keys.relay_auth, &relay, &self.device)
    }

    /// Stores changes a session verified, in one transaction, then brings
    /// the documents held in memory up to the store. A change that verifies
    /// but this build cannot read (its envelope, kind or CRDT bytes) is
    /// stored and set aside, never refused, so the author's later changes
    /// still follow it; so is a change whose kind differs from its
    /// document's, with that as the reason. Either all of the batch's acceptable
    /// changes are stored or (on an I/O error, such as a full disk) none,
    /// and memory is only touched after the commit, so a failed batch
    /// leaves it exactly as the store is.
    pub fn ingest(&mut self, changes: Vec<VerifiedChange>) -> Result<Ingested, EngineError> {
        if changes.is_empty() {
            return Ok(Ingested::default());
        }
        let now = now_ms();
        let mut out = Ingested::default();
        let mut touched = BTreeSet::new();
        // The session already decrypted these: merge from its plaintexts
        // rather than verifying and decrypting each row a second time.
        let known: HashMap<(DeviceId, Seq), &[u8]> = changes
            .iter()
            .filter_map(|v| {
                let h = v.sealed().header();
                v.plaintext().map(|p| ((h.author, h.seq), p))
            })
            .collect();
        let checked = precheck(&changes, now);
        let max_authors = self.max_authors;
        self.store.write(|tx| -> Result<(), EngineError> {
            let mut authors = tx.author_count()?;
            // One lookup per author and per document in a batch, not per
            // change: a catch-up batch is hundreds of one author's changes.
            let mut seen: HashSet<DeviceId> = HashSet::new();
            let mut kinds: HashMap<DocId, Option<DocKind>> = HashMap::new();
            for (v, (changed, body_verdict)) in changes.iter().zip(&checked) {
                let c = v.sealed();
                let h = c.header();
                let new_author = !seen.contains(&h.author) && tx.next_seq(&h.author)? == 1;
                if new_author && authors >= max_authors {
                    out.refused.push((
                        h.author,
                        h.seq,
                        format!(
                            "this workspace already holds changes of {authors} devices, the most \
                             it accepts (`[sync] max_authors` in weft.toml)"
                        ),
                    ));
                    continue;
                }
                let kind = h.kind.doc_kind();
                // A change of another kind than its document is stored too
                // (refusing it would leave a hole in its author's seqs, so
                // every later change of that author would be refused and no
                // peer holding it could ever be in sync) but never applied.
                let stored_kind = match kinds.get(&h.doc) {
                    Some(k) => *k,
                    None => tx.doc_kind(&h.doc)?,
                };
                match tx.append_at(c, now, *changed) {
                    Ok(Some(row)) => {
                        out.stored += 1;
                        authors += usize::from(new_author);
                        seen.insert(h.author);
                        kinds
                            .entry(h.doc)
                            .or_insert(Some(stored_kind.unwrap_or(kind)));
                        touched.insert(h.doc);
                        let verdict = match stored_kind {
                            Some(k) if k != kind => {
                                Err(format!("a {kind} change addressed to a {k}"))
                            }
                            _ => body_verdict.clone(),
                        };
                        if let Err(reason) = verdict {
                            tx.set_aside(row, &h.doc, &h.author, &reason, READER)?;
                            out.set_aside.push((h.author, h.seq, reason));
                        }
                    }
                    Ok(None) => out.duplicates += 1,
                    Err(e @ (StoreError::Gap { .. } | StoreError::Conflict { .. })) => {
                        out.refused.push((h.author, h.seq, e.to_string()));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        })?;
        if touched.contains(&INDEX_DOC) {
            self.ensure_index_tree()?;
        }
        let open = |c: &StoredChange| -> Result<Envelope, String> {
            let h = c.change.header();
            match known.get(&(h.author, h.seq)) {
                Some(plain) => Envelope::decode(plain),
                None => read_change(&self.data_key, c),
            }
        };
        let absorbed = absorb_stored(
            &self.store,
            &mut self.index,
            &mut self.docs,
            touched.iter(),
            open,
        )?;
        drop(known);
        self.settle(&absorbed.found, &absorbed.reload);
        out.docs = touched.into_iter().collect();
        self.maybe_snapshot()?;
        Ok(out)
    }

    /// Brings the open documents (and the index) up to date with changes
    /// another process committed to the same file, such as a `weft` command
    /// run while the app or a daemon holds the workspace. Returns the
    /// documents that changed, the index among them if it did.
    pub fn catch_up(&mut self) -> Result<Vec<DocId>, EngineError> {
        let data_key = &self.data_key;
        let open = |c: &StoredChange| read_change(data_key, c);
        // An index known only by its read model has no tree to import rows
        // into: it is left out here, and loaded below if rows arrived. Its rows
        // are never handed to an import it would refuse (which would set them
        // aside for good), however the reads below interleave with another
        // process's commits.
        let deferred = self.index.doc.is_deferred();
        let mut docs: Vec<DocId> = Vec::new();
        if !deferred {
            docs.push(INDEX_DOC);
        }
        docs.extend(self.docs.keys().copied());
        let absorbed = absorb_stored(
            &self.store,
            &mut self.index,
            &mut self.docs,
            docs.iter(),
            open,
        )?;
        self.settle(&absorbed.found, &absorbed.reload);
        let mut changed = absorbed.changed;
        // Loading reads every index row stored, these new ones included.
        if deferred && self.store.reader().last_row_of_doc(&INDEX_DOC)? > self.index.upto {
            self.ensure_index_tree()?;
            if !changed.contains(&INDEX_DOC) {
                changed.push(INDEX_DOC);
            }
        }
        Ok(changed)
    }

    /// Lists what was found unreadable and reloads the documents whose
    /// import failed part way.
    fn settle(&mut self, found: &[Aside], reload: &[DocId]) {
        self.note_set_aside(found);
        for doc in reload {
            self.evict(doc);
        }
    }
}

/// Per change of a batch to ingest: the author's time (capped at `now`: a
/// fast clock elsewhere must not put a document in the future here, and
/// `now` if the envelope does not read) and whether its envelope and CRDT
/// bytes read as a change of the kind its header names
/// ([`check_received`]; a change without plaintext passes). Decoding and
/// checking the bytes (parsing each Automerge or Loro change) is most of
/// ingest's work outside SQLite and needs only the change itself, so it is
/// done before the transaction, a large batch over the machine's cores:
/// scoped threads, joined before this returns.
fn precheck(changes: &[VerifiedChange], now: i64) -> Vec<(i64, Result<(), String>)> {
    let one = |v: &VerifiedChange| {
        let h = v.sealed().header();
        match v.plaintext().map(Envelope::decode) {
            None => (now, Ok(())),
            Some(envelope) => {
                let changed = envelope.as_ref().map_or(now, |e| e.time_ms.min(now));
                (
                    changed,
                    check_received(&h.doc, h.kind.doc_kind(), &envelope),
                )
            }
        }
    };
    // The CRDT parsers run under `catch_unwind` already; a panic here still
    // only sets the part aside, never loses it.
    weft_core::parallel::map_parts(
        changes,
        64,
        |part| part.iter().map(one).collect(),
        |_| (now, Err("the change could not be checked".to_owned())),
    )
}

/// What [`absorb_stored`] did.
pub(crate) struct Absorbed {
    /// The documents that had rows to absorb.
    pub(crate) changed: Vec<DocId>,
    /// Changes found unreadable.
    pub(crate) found: Vec<Aside>,
    /// Documents whose import failed part way, to reload.
    pub(crate) reload: Vec<DocId>,
}

/// Imports into the documents held in memory (the index, and each open
/// note or record among `docs`) the stored rows they do not hold yet.
pub(crate) fn absorb_stored<'a>(
    store: &Store,
    index: &mut Loaded<Index>,
    open_docs: &mut HashMap<DocId, Loaded<Body>>,
    docs: impl Iterator<Item = &'a DocId>,
    open: impl Fn(&StoredChange) -> Result<Envelope, String> + Copy,
) -> Result<Absorbed, EngineError> {
    let mut out = Absorbed {
        changed: Vec::new(),
        found: Vec::new(),
        reload: Vec::new(),
    };
    for doc in docs {
        // An index without its tree would refuse every row, and a refused row
        // is set aside for good: the caller loads the tree first.
        if *doc == INDEX_DOC && index.doc.is_deferred() {
            continue;
        }
        let (aside, dirty) = if *doc == INDEX_DOC {
            let rows = store.changes_of_doc(doc, index.upto)?;
            if rows.is_empty() {
                continue;
            }
            let skip = store.set_aside_rows(doc)?;
            index.absorb_rows(&rows, &skip, DocKind::Index, open, |d, b| d.import_bytes(b))
        } else if let Some(l) = open_docs.get_mut(doc) {
            let rows = store.changes_of_doc(doc, l.upto)?;
            if rows.is_empty() {
                continue;
            }
            let skip = store.set_aside_rows(doc)?;
            let kind = l.doc.kind();
            l.absorb_rows(&rows, &skip, kind, open, |d, b| d.import_bytes(b))
        } else {
            continue;
        };
        out.changed.push(*doc);
        out.found.extend(aside);
        if dirty {
            out.reload.push(*doc);
        }
    }
    Ok(out)
}
