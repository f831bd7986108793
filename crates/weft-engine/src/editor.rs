//! What a live editor needs beyond the CLI's whole-document operations: the
//! note's Loro state for the editor's own replica, the editor's operations
//! sealed as this device's changes, what the editor lacks, and folders made
//! from the sidebar. Search is in `search.rs`.

use weft_core::DocId;
use weft_core::index::check_folder_path;

use crate::{EngineError, Workspace};

impl Workspace {
    /// The note's full Loro state (a snapshot), to start an editor replica.
    pub fn note_state(&mut self, doc: &DocId) -> Result<Vec<u8>, EngineError> {
        let e = self.live_entry(doc)?;
        Ok(self
            .note_mut(&e, "records are edited field by field")?
            .export_snapshot()?)
    }

    /// Seals an editor replica's new operations (a Loro update holding only
    /// them) as one change of this device. Returns false if the update added
    /// nothing new. Bytes Loro cannot apply change nothing and are an error.
    pub fn apply_editor_update(&mut self, doc: &DocId, update: &[u8]) -> Result<bool, EngineError> {
        let e = self.live_entry(doc)?;
        let note = self.note_mut(&e, "records are edited field by field")?;
        let before = note.text().len_unicode();
        if let Err(err) = note.import_local(update) {
            // The import may have half-applied: reload what is stored.
            self.discard(&e.doc);
            return Err(err.into());
        }
        let after = note.text().len_unicode();
        let summary = match after.cmp(&before) {
            std::cmp::Ordering::Greater => format!("edited: +{} chars", after - before),
            std::cmp::Ordering::Less => format!("edited: \u{2212}{} chars", before - after),
            std::cmp::Ordering::Equal => "edited".to_owned(),
        };
        self.commit_action(&[e.doc], &summary)
    }

    /// Every operation of the note that a replica at `version` (an encoded
    /// Loro version vector) lacks, as one Loro update.
    pub fn note_updates_since(
        &mut self,
        doc: &DocId,
        version: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        let e = self.live_entry(doc)?;
        Ok(self
            .note_mut(&e, "records are edited field by field")?
            .updates_since(version)?)
    }

    /// Creates an empty folder (and its missing parents); an existing one is
    /// left as it is.
    pub fn create_folder(&mut self, path: &[String]) -> Result<(), EngineError> {
        let folder = check_folder_path(path)?;
        if folder.is_empty() {
            return Ok(());
        }
        // An existing folder makes no index operation, so nothing is committed.
        let now = crate::workspace::now_ms();
        self.index_action(format!("created folder /{}", folder.join("/")), |i| {
            i.ensure_folder(&folder, now).map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn workspace(dir: &tempfile::TempDir) -> Workspace {
        crate::testing::workspace(dir.path()).0
    }

    #[test]
    fn creating_an_existing_folder_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = workspace(&dir);
        ws.create_folder(&["Projects".into(), "2026".into()])
            .unwrap();
        let changes = ws.status().unwrap().changes;
        ws.create_folder(&["Projects".into(), "2026".into()])
            .unwrap();
        ws.create_folder(&["Projects".into()]).unwrap();
        assert_eq!(ws.status().unwrap().changes, changes, "no change written");
        assert!(
            ws.folders()
                .contains(&vec!["Projects".to_owned(), "2026".to_owned()])
        );
        assert!(ws.create_folder(&["a".into(), " ".into()]).is_err());
        // A name with a slash is refused, not split into two folders.
        assert!(ws.create_folder(&["a/b".into()]).is_err());
    }
}
