//! The index's read model kept sealed in the store (`read_models`, migration
//! 7), so a command that only looks documents up never reads the index's
//! Loro document: in a workspace of 100,000 documents, decrypting, verifying
//! and importing that document and building the model from it are most of a
//! command's time.
//!
//! On open, a stored model written by a build that reads changes as this one
//! does ([`READER`]) and covering every index row stored stands for the index
//! by itself (`Index::from_read_model`): lookups are answered from it and the
//! tree is loaded only when something needs it (a change to the index, rows
//! of it to merge; `Workspace::ensure_index_tree`). When the tree is loaded
//! anyway, a model covering exactly its rows is adopted only if it names the
//! same Loro version: the same rows can make different states, since a build
//! that cannot read a row sets it aside where another applies it.
//!
//! The model is written on close (and with every index snapshot) by a process
//! whose index moved past the stored one, and only if no other process
//! appended an index change meanwhile. It is sealed for this device alone
//! (`seal_local`: AES-256-GCM bound to the workspace and the rows it covers,
//! no signature, since it never leaves the device). Like a snapshot it is a
//! cache: failing to read or write it costs time, never data.

use weft_core::WorkspaceId;
use weft_core::index::Index;
use weft_crypto::{open_local, seal_local};
use weft_store::{StoreError, StoreRead};
use zeroize::Zeroizing;

use crate::load::{Loaded, READER};
use crate::workspace::INDEX_DOC;
use crate::{EngineError, Workspace};

/// What a stored model is sealed for: this workspace's index read model
/// covering index rows up to `upto`. Bytes sealed for other rows do not open.
fn context(workspace: WorkspaceId, upto: i64) -> Vec<u8> {
    let mut c = b"weft index read model\0".to_vec();
    c.extend_from_slice(workspace.as_bytes());
    c.extend_from_slice(&upto.to_be_bytes());
    c
}

/// A stored model, opened: which reader wrote it, the Loro version it is of,
/// the model, and the index rows it covers.
struct Stored {
    reader: u32,
    version: Vec<u8>,
    model: Vec<u8>,
    upto: i64,
}

impl Workspace {
    /// The stored read model, if there is one covering exactly the index rows
    /// up to `upto` (checked before it is decrypted) and it opens; a damaged
    /// one is logged and ignored.
    fn stored_read_model(&self, upto: i64) -> Option<Stored> {
        let sealed = match self.store.read_model(&INDEX_DOC) {
            Ok(Some((sealed, covers))) if covers == upto && upto > 0 => sealed,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!("could not read the index's read model: {e}");
                return None;
            }
        };
        let context = context(self.store.workspace(), upto);
        let Some(plain) = open_local(&self.data_key, &context, &sealed) else {
            tracing::warn!("ignoring the index's read model (it does not open)");
            return None;
        };
        let parsed = split(&plain).map(|(reader, version, model)| Stored {
            reader,
            version: version.to_vec(),
            model: model.to_vec(),
            upto,
        });
        if parsed.is_none() {
            tracing::warn!("ignoring the index's read model (damaged)");
        }
        parsed
    }

    /// The index as its read model alone, if the stored model was written by
    /// this build's reader and covers every index row stored: then it is the
    /// state a full load would give, and nothing is decoded to open it.
    pub(crate) fn index_from_read_model(&mut self) -> Option<Loaded<Index>> {
        let last = match self.store.reader().last_row_of_doc(&INDEX_DOC) {
            Ok(last) => last,
            Err(e) => {
                tracing::warn!("could not read the index's rows: {e}");
                return None;
            }
        };
        let stored = self.stored_read_model(last)?;
        if stored.reader != READER {
            return None;
        }
        match Index::from_read_model(stored.model) {
            Ok(doc) => {
                self.read_model_upto = stored.upto;
                let mut l = Loaded::new(doc);
                l.upto = stored.upto;
                Some(l)
            }
            Err(e) => {
                tracing::warn!("ignoring the index's read model ({e})");
                None
            }
        }
    }

    /// Hands a loaded `index` its stored read model if that covers exactly its
    /// rows and names its Loro version.
    pub(crate) fn adopt_read_model(&mut self, index: &mut Loaded<Index>) {
        self.read_model_upto = 0;
        let Some(stored) = self.stored_read_model(index.upto) else {
            return;
        };
        if stored.version != index.doc.version_bytes() {
            return;
        }
        match index.doc.set_read_model(stored.model) {
            Ok(()) => self.read_model_upto = stored.upto,
            Err(e) => tracing::warn!("ignoring the index's read model ({e})"),
        }
    }

    /// Writes the index's read model if this process read the tree and the
    /// index moved past the stored model. A cache: failing to write it is
    /// logged, never an error of the action it follows.
    pub(crate) fn save_read_model(&mut self) {
        if let Err(e) = self.write_read_model() {
            tracing::warn!("could not write the index's read model: {e}");
        }
    }

    fn write_read_model(&mut self) -> Result<(), EngineError> {
        let l = &mut self.index;
        if l.doc.is_deferred()
            || !l.doc.has_model()
            || l.upto == self.read_model_upto
            || l.upto == 0
        {
            return Ok(());
        }
        // Changes waiting for a dependency are not in the model but are in
        // `upto`; the model would still match a load (which leaves them
        // waiting too), but wait for the dependency as snapshots do.
        if crate::load::Crdt::waiting(&mut l.doc) {
            return Ok(());
        }
        let upto = l.upto;
        let version = l.doc.version_bytes();
        let model = l.doc.read_model();
        let mut plain = Zeroizing::new(Vec::with_capacity(8 + version.len() + model.len()));
        plain.extend_from_slice(&READER.to_le_bytes());
        plain.extend_from_slice(&(version.len() as u32).to_le_bytes());
        plain.extend_from_slice(&version);
        plain.extend_from_slice(&model);
        drop(Zeroizing::new(model));
        let sealed = seal_local(
            &self.data_key,
            &context(self.store.workspace(), upto),
            &plain,
        )
        .map_err(|e| EngineError::Seal(e.to_string()))?;
        match self.store.write(|tx| -> Result<(), EngineError> {
            // Another process appended an index change: the model is not its
            // state; leave it to that process.
            if tx.last_row_of_doc(&INDEX_DOC)? == upto {
                tx.set_read_model(&INDEX_DOC, &sealed, upto)?;
            }
            Ok(())
        }) {
            Ok(()) => {
                self.read_model_upto = upto;
                Ok(())
            }
            // A cache: a full disk must not fail the command it follows.
            Err(EngineError::Store(StoreError::Full { .. })) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A stored model's plaintext: reader (u32 LE) ‖ version length (u32 LE) ‖
/// Loro version ‖ model.
fn split(b: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    let reader = u32::from_le_bytes(b.get(..4)?.try_into().ok()?);
    let len = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    let end = 8usize.checked_add(len)?;
    Some((reader, b.get(8..end)?, b.get(end..)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use weft_crypto::MemoryStore;

    fn open(dir: &std::path::Path, secrets: &MemoryStore) -> Workspace {
        Workspace::open_in(dir, secrets).unwrap()
    }

    fn created(dir: &std::path::Path) -> MemoryStore {
        let (ws, secrets) = crate::testing::workspace(dir);
        ws.close().unwrap();
        secrets
    }

    /// A closed workspace holding one note, "Plan", and a current read model.
    fn with_plan(dir: &std::path::Path) -> MemoryStore {
        let secrets = created(dir);
        let mut ws = open(dir, &secrets);
        ws.create_note("Plan", &[], "x").unwrap();
        ws.close().unwrap();
        secrets
    }

    #[test]
    fn a_command_that_only_looks_up_reads_the_stored_model_not_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = created(dir.path());
        let mut ws = open(dir.path(), &secrets);
        let id = ws.create_note("Plan", &["Work".into()], "x").unwrap();
        ws.close().unwrap();

        let ws = open(dir.path(), &secrets);
        let e = ws.resolve("Plan", false).unwrap();
        assert_eq!((e.doc, e.folder.clone()), (id, vec!["Work".to_owned()]));
        assert_eq!(ws.resolve(&id.to_hex()[..6], false).unwrap().doc, id);
        assert_eq!(ws.list(false).unwrap().len(), 1);
        assert!(ws.index().is_deferred(), "the tree was loaded");
        assert!(ws.read_model_upto > 0);
        drop(ws);

        // Changing the index loads the tree first, and the change is kept.
        let mut ws = open(dir.path(), &secrets);
        assert!(ws.index().is_deferred());
        ws.rename(&id, "Plan B").unwrap();
        assert!(!ws.index().is_deferred());
        ws.close().unwrap();
        let ws = open(dir.path(), &secrets);
        assert!(
            ws.index().is_deferred(),
            "the renaming process left a current model"
        );
        assert_eq!(ws.resolve("Plan B", false).unwrap().doc, id);
        drop(ws);

        // Another process adds a document: the stored model no longer covers
        // the index, so it is not used, and the new document is found.
        let mut other = open(dir.path(), &secrets);
        let mut third = open(dir.path(), &secrets);
        other.create_note("Later", &[], "y").unwrap();
        drop(other);
        assert!(third.resolve("Later", false).is_err(), "not loaded yet");
        let ws = open(dir.path(), &secrets);
        assert_eq!(
            ws.read_model_upto, ws.index.upto,
            "the writer saved a current model"
        );
        assert_eq!(ws.resolve("Later", false).unwrap().title, "Later");
        third.create_note("Third", &[], "z").unwrap();
        drop(third);
        let ws = open(dir.path(), &secrets);
        assert_eq!(ws.list(false).unwrap().len(), 3);
    }

    #[test]
    fn an_index_opened_from_its_model_takes_in_another_process_s_changes() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = with_plan(dir.path());
        // A long-lived process (the app, a daemon) opened from the model.
        let mut app = open(dir.path(), &secrets);
        assert!(app.index().is_deferred());
        let mut cli = open(dir.path(), &secrets);
        let later = cli.create_note("Later", &["Box".into()], "y").unwrap();
        cli.close().unwrap();
        let changed = app.catch_up().unwrap();
        assert!(
            changed.contains(&INDEX_DOC),
            "the app is told the tree changed"
        );
        let e = app.resolve("Later", false).unwrap();
        assert_eq!((e.doc, e.folder), (later, vec!["Box".to_owned()]));
        assert_eq!(app.list(false).unwrap().len(), 2);
    }

    #[test]
    fn rows_reaching_an_index_without_its_tree_are_never_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = with_plan(dir.path());
        let mut app = open(dir.path(), &secrets);
        assert!(app.index().is_deferred());
        let mut cli = open(dir.path(), &secrets);
        cli.create_note("Later", &[], "y").unwrap();
        cli.close().unwrap();
        // The index's rows read while it has no tree (as when another process
        // commits between a check and the read): nothing is imported or set aside.
        let data_key = &app.data_key;
        let absorbed = crate::sync::absorb_stored(
            &app.store,
            &mut app.index,
            &mut app.docs,
            [INDEX_DOC].iter(),
            |c| crate::load::read_change(data_key, c),
        )
        .unwrap();
        assert!(absorbed.found.is_empty() && absorbed.reload.is_empty());
        assert!(app.store.set_aside_rows(&INDEX_DOC).unwrap().is_empty());
        assert!(app.catch_up().unwrap().contains(&INDEX_DOC));
        assert_eq!(app.resolve("Later", false).unwrap().title, "Later");
        assert!(app.store.set_aside_rows(&INDEX_DOC).unwrap().is_empty());
    }

    #[test]
    fn a_model_from_another_reader_is_not_taken_for_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = with_plan(dir.path());
        // Rewrite the stored model as a build with another reader would have.
        let mut ws = open(dir.path(), &secrets);
        let (sealed, upto) = ws.store.read_model(&INDEX_DOC).unwrap().unwrap();
        let ctx = context(ws.store.workspace(), upto);
        let mut plain = open_local(&ws.data_key, &ctx, &sealed).unwrap();
        plain[..4].copy_from_slice(&(READER + 1).to_le_bytes());
        let other = seal_local(&ws.data_key, &ctx, &plain).unwrap();
        ws.store
            .write(|tx| tx.set_read_model(&INDEX_DOC, &other, upto))
            .unwrap();
        drop(ws);
        let ws = open(dir.path(), &secrets);
        assert!(!ws.index().is_deferred(), "the tree was not loaded");
        assert_eq!(ws.resolve("Plan", false).unwrap().title, "Plan");
    }

    #[test]
    fn a_damaged_or_stale_model_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = with_plan(dir.path());
        let db = rusqlite::Connection::open(dir.path().join(crate::DB_FILE)).unwrap();
        db.execute("UPDATE read_models SET model = x'00ff00ff'", [])
            .unwrap();
        let ws = open(dir.path(), &secrets);
        assert_eq!(ws.read_model_upto, 0);
        assert_eq!(ws.resolve("Plan", false).unwrap().title, "Plan");
        drop(ws);
        // A model claiming to cover rows it does not (a stale one) is not adopted.
        db.execute("UPDATE read_models SET upto = upto - 1", [])
            .unwrap();
        let ws = open(dir.path(), &secrets);
        assert_eq!(ws.read_model_upto, 0);
        assert_eq!(ws.resolve("Plan", false).unwrap().title, "Plan");
    }
}
