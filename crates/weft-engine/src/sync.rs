//! The engine's side of sync: the log as the protocol sees it, sessions
//! carrying this device's credentials, and storing what a session verified.
//!
//! The network layer (and the simulator in tests/sim) owns the sessions and
//! moves frames; this module is where verified changes meet the store and
//! the open documents.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use weft_core::{DeviceId, DocId, Seq, VersionVector};
use weft_crypto::SealedChange;
use weft_store::{Store, StoreError, StoreRead, StoredChange};
use weft_sync::{Credentials, Limits, Log, LogError, Role, Session, SessionConfig, VerifiedChange};

use crate::EngineError;
use crate::envelope::Envelope;
use crate::workspace::{Crdt, INDEX_DOC, Workspace, now_ms, open_change};

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
    /// Documents that changed.
    pub docs: Vec<DocId>,
}

impl Workspace {
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

    /// Stores changes a session verified, in one transaction, and merges
    /// them into the documents held in memory. Either all of the batch's
    /// acceptable changes are stored or (on an I/O error) none.
    pub fn ingest(&mut self, changes: Vec<VerifiedChange>) -> Result<Ingested, EngineError> {
        if changes.is_empty() {
            return Ok(Ingested::default());
        }
        let now = now_ms();
        let mut out = Ingested::default();
        let mut touched = BTreeSet::new();
        let data_key = &self.data_key;
        // The session already decrypted these: merge from its plaintexts
        // rather than verifying and decrypting each row a second time.
        let known: HashMap<(DeviceId, Seq), &[u8]> = changes
            .iter()
            .filter_map(|v| {
                let h = v.sealed().header();
                v.plaintext().map(|p| ((h.author, h.seq), p))
            })
            .collect();
        let open = |c: &StoredChange| -> Result<Envelope, EngineError> {
            let h = c.change.header();
            match known.get(&(h.author, h.seq)) {
                Some(plain) => Envelope::decode(plain).map_err(|e| EngineError::Corrupt {
                    doc: h.doc,
                    detail: format!("change {} of {}: {e}", h.seq, h.author),
                }),
                None => open_change(data_key, c),
            }
        };
        let index = &mut self.index;
        let docs = &mut self.docs;
        self.store.write(|tx| -> Result<(), EngineError> {
            for v in &changes {
                let c = v.sealed();
                let h = c.header();
                // The author's time (capped at now: a fast clock elsewhere
                // must not put a document in the future here).
                let changed = known
                    .get(&(h.author, h.seq))
                    .and_then(|p| Envelope::decode(p).ok())
                    .map_or(now, |e| e.time_ms.min(now));
                match tx.append_at(c, now, changed) {
                    Ok(Some(_)) => {
                        out.stored += 1;
                        touched.insert(h.doc);
                    }
                    Ok(None) => out.duplicates += 1,
                    Err(e @ (StoreError::Gap { .. } | StoreError::Conflict { .. })) => {
                        out.refused.push((h.author, h.seq, e.to_string()));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Merge into what is open, reading the rows back inside the
            // transaction so `upto` stays exact even if another process
            // appended to the same document meanwhile.
            for doc in &touched {
                if *doc == INDEX_DOC {
                    let rows = tx.changes_of_doc(doc, index.upto)?;
                    index.absorb_rows(&rows, open, |d, b| d.import_bytes(b))?;
                } else if let Some(l) = docs.get_mut(doc) {
                    let rows = tx.changes_of_doc(doc, l.upto)?;
                    l.absorb_rows(&rows, open, |d, b| d.import_bytes(b))?;
                }
            }
            Ok(())
        })?;
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
        let open = |c: &StoredChange| open_change(data_key, c);
        let mut changed = Vec::new();
        let rows = self.store.changes_of_doc(&INDEX_DOC, self.index.upto)?;
        if !rows.is_empty() {
            self.index
                .absorb_rows(&rows, open, |d, b| d.import_bytes(b))?;
            changed.push(INDEX_DOC);
        }
        for (doc, l) in self.docs.iter_mut() {
            let rows = self.store.changes_of_doc(doc, l.upto)?;
            if !rows.is_empty() {
                l.absorb_rows(&rows, open, |d, b| d.import_bytes(b))?;
                changed.push(*doc);
            }
        }
        Ok(changed)
    }
}
