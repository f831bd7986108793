//! The index's read model kept sealed in the store (`read_models`, migration
//! 7), so a command that only looks documents up never decodes the index
//! tree: in a workspace of 100,000 documents that decoding and the model
//! built from it are most of a command's time.
//!
//! The model is adopted on load only when it covers exactly the index's
//! change rows (`upto` equal to the loaded index's), so it describes the
//! same state a full load would give; anything that reads or changes the
//! tree drops it (`Index::set_read_model`). It is written on close (and with
//! every index snapshot) by a process whose index moved past the stored one,
//! and only if no other process appended an index change meanwhile. Like a
//! snapshot it is a cache: failing to read or write it costs time, never
//! data.

use weft_core::DocKind;
use weft_core::index::Index;
use weft_crypto::{SealedSnapshot, SnapshotHeader};
use weft_store::{DocRow, StoreError, StoreRead};

use crate::load::Loaded;
use crate::workspace::INDEX_DOC;
use crate::{EngineError, Workspace};

/// The first bytes of a read model's plaintext, so it can never be taken
/// for an index snapshot (both are sealed under the index's header).
const DOMAIN: &[u8] = b"weft read model\0";

impl Workspace {
    /// Hands `index` its stored read model if that covers exactly its rows.
    pub(crate) fn adopt_read_model(&mut self, row: &DocRow, index: &mut Loaded<Index>) {
        self.read_model_upto = 0;
        let stored = match self.store.read_model(&INDEX_DOC) {
            Ok(Some(m)) => m,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("could not read the index's read model: {e}");
                return;
            }
        };
        let (sealed, upto) = stored;
        if upto != index.upto || upto == 0 {
            return;
        }
        let plain = match self.open_snapshot(row, &sealed) {
            Ok((plain, _)) => plain,
            Err(why) => {
                tracing::warn!("ignoring the index's read model ({why})");
                return;
            }
        };
        let Some(rest) = plain.strip_prefix(DOMAIN) else {
            tracing::warn!("ignoring the index's read model (not one)");
            return;
        };
        // The same rows can make different states: a build that cannot read a
        // row sets it aside, one that can applies it. The model is of the
        // state whose Loro version it names, and only of that one.
        let Some((version, model)) = split_version(rest) else {
            tracing::warn!("ignoring the index's read model (damaged)");
            return;
        };
        if version != index.doc.version_bytes().as_slice() {
            return;
        }
        match index.doc.set_read_model(model.to_vec()) {
            Ok(()) => self.read_model_upto = upto,
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
        if !l.doc.has_model() || l.upto == self.read_model_upto || l.upto == 0 {
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
        let mut plain = zeroize::Zeroizing::new(DOMAIN.to_vec());
        plain.extend_from_slice(&(version.len() as u32).to_le_bytes());
        plain.extend_from_slice(&version);
        plain.extend_from_slice(&l.doc.read_model());
        let header = SnapshotHeader {
            workspace: self.store.workspace(),
            doc: INDEX_DOC,
            kind: DocKind::Index,
            author: self.device,
            vector: l.vector.encode(),
        };
        let sealed = SealedSnapshot::seal(header, &plain, &self.data_key, &self.secrets.device_key)
            .map_err(|e| EngineError::Seal(e.to_string()))?
            .to_bytes();
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

/// The Loro version a stored model names, and the model.
fn split_version(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(len)?;
    Some((b.get(4..end)?, b.get(end..)?))
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
        assert!(!ws.index().has_model(), "the tree was decoded");
        assert!(ws.read_model_upto > 0);
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
    fn a_damaged_or_stale_model_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = created(dir.path());
        let mut ws = open(dir.path(), &secrets);
        ws.create_note("Plan", &[], "x").unwrap();
        ws.close().unwrap();
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
