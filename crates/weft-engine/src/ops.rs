//! What a user does to a workspace: list, resolve, create, edit, move,
//! delete, history and revert. Each mutating call is one user action: one
//! write transaction holding one sealed change per touched document.

use std::collections::HashMap;

use serde::Serialize;
use weft_core::index::{Index, IndexEntry, check_folder_path};
use weft_core::note::Note;
use weft_core::record::{Conflict, Record};
use weft_core::{ChangeKind, DeviceId, DocId, DocKind};

use weft_store::StoreRead;

use crate::EngineError;
use crate::load::{UNREADABLE, read_change};
use crate::workspace::{Body, Crdt, INDEX_DOC, Workspace, now_ms};

/// One document as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocSummary {
    /// Its id (32 hex digits).
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub id: DocId,
    /// "note" or "record".
    // The index is never listed: only notes and records.
    #[cfg_attr(feature = "ts", ts(type = "Exclude<DocKind, 'index'>"))]
    pub kind: DocKind,
    /// Its title.
    pub title: String,
    /// The folder path, from the root.
    pub folder: Vec<String>,
    /// `folder/…/title`.
    pub path: String,
    /// True if it is in the trash.
    pub deleted: bool,
    /// When it was created (RFC 3339, UTC).
    pub created: String,
    /// When it last changed on any device this one has heard from (RFC 3339, UTC).
    pub updated: String,
    /// `updated` in ms since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub updated_ms: i64,
}

/// A document's content as shown.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Shown {
    /// A note, rendered as Markdown.
    Note {
        /// The Markdown.
        markdown: String,
    },
    /// A record as JSON, with any fields that have concurrent values.
    Record {
        /// The winning values.
        #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
        json: serde_json::Value,
        /// Fields written concurrently on several devices.
        conflicts: Vec<ConflictView>,
    },
}

/// A field with concurrent values, for display.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictView {
    /// The JSON pointer of the field.
    pub pointer: String,
    /// Every concurrent value.
    #[cfg_attr(feature = "ts", ts(type = "unknown[]"))]
    pub values: Vec<serde_json::Value>,
}

impl From<Conflict> for ConflictView {
    fn from(c: Conflict) -> Self {
        Self {
            pointer: c.pointer,
            values: c.values,
        }
    }
}

/// One version in a document's history: the state after one change.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    /// 1-based position in this device's log of the document.
    pub number: usize,
    /// When the change was made (RFC 3339, UTC, the author's clock).
    pub time: String,
    /// `time` in ms since the Unix epoch.
    pub time_ms: i64,
    /// The device that made it.
    pub device: DeviceId,
    /// True if that device is this one.
    pub this_device: bool,
    /// What the change did.
    pub summary: String,
    /// False for a change this build cannot read (set aside: made by a
    /// newer version, or damaged); its time is when it arrived here, and
    /// its content is left out of every version.
    pub readable: bool,
}

/// `weft status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The workspace id.
    pub workspace_id: String,
    /// Its display name.
    pub name: String,
    /// This device's id.
    pub device_id: String,
    /// The workspace home.
    pub home: String,
    /// Notes (not deleted).
    pub notes: usize,
    /// Records (not deleted).
    pub records: usize,
    /// Documents in the trash.
    pub deleted: usize,
    /// Folders.
    pub folders: usize,
    /// Sealed changes in the log.
    pub changes: i64,
    /// Bytes on disk (database and WAL).
    pub storage_bytes: u64,
    /// Where the keys are kept.
    pub keys: String,
    /// The process syncing this workspace (`weft daemon`, the app), if one
    /// runs: its pid and listen addresses.
    pub node: Option<crate::node::RunningNode>,
    /// Other devices of this workspace this one has synced with.
    pub peers: usize,
    /// When this device was last in sync with one of them.
    pub last_sync_ms: Option<i64>,
    /// The relays this device syncs through.
    pub relays: Vec<RelayStatus>,
    /// Changes this build could not read, per device that made them.
    pub unreadable: Vec<crate::Unreadable>,
}

/// One relay, for `weft status` and `weft relay ls`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RelayStatus {
    /// Its multiaddr.
    pub addr: String,
    /// How it is doing, as a code.
    pub state: weft_store::RelayState,
    /// When the workspace was last registered there.
    pub registered_ms: Option<i64>,
    /// When this device was last in sync with it.
    pub last_sync_ms: Option<i64>,
    /// The relay's last refusal or error; empty when all is well.
    pub status: String,
    /// Bytes the workspace uses there, as the relay last said.
    pub used_bytes: Option<i64>,
    /// The relay's quota for the workspace (0: none).
    pub quota_bytes: Option<i64>,
    /// A `weft relay forget` is pending.
    pub forgetting: bool,
}

impl From<weft_store::RelayRecord> for RelayStatus {
    fn from(r: weft_store::RelayRecord) -> Self {
        Self {
            addr: r.addr,
            state: r.state,
            registered_ms: r.registered_ms,
            last_sync_ms: r.last_sync_ms,
            status: r.status,
            used_bytes: r.used_bytes,
            quota_bytes: r.quota_bytes,
            forgetting: r.forget,
        }
    }
}

pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

pub(crate) fn path_of(folder: &[String], title: &str) -> String {
    let mut s = folder.join("/");
    if !s.is_empty() {
        s.push('/');
    }
    s.push_str(title);
    s
}

/// An index entry as listed, `updated` falling back to its creation.
fn summary_of(e: IndexEntry, updated_ms: Option<i64>) -> DocSummary {
    let up = updated_ms.unwrap_or(e.created_ms);
    DocSummary {
        id: e.doc,
        kind: e.kind,
        path: path_of(&e.folder, &e.title),
        title: e.title,
        folder: e.folder,
        deleted: e.deleted,
        created: rfc3339(e.created_ms),
        updated: rfc3339(up),
        updated_ms: up,
    }
}

impl Workspace {
    pub(crate) fn index(&self) -> &Index {
        &self.index.doc
    }

    /// The index to change: its tree is loaded first if only its read model
    /// was (see `read_model.rs`).
    fn index_mut(&mut self) -> Result<&mut Index, EngineError> {
        self.ensure_index_tree()?;
        Ok(&mut self.index.doc)
    }

    /// Every document, sorted by path; deleted ones only if asked.
    pub fn list(&self, include_deleted: bool) -> Result<Vec<DocSummary>, EngineError> {
        self.list_under(&[], include_deleted)
    }

    /// The documents in `folder` and the folders below it, sorted by path;
    /// deleted ones only if asked. Only that folder's subtree is walked.
    pub fn list_under(
        &self,
        folder: &[String],
        include_deleted: bool,
    ) -> Result<Vec<DocSummary>, EngineError> {
        let entries = if folder.is_empty() {
            self.index().entries()
        } else {
            self.index().entries_under(folder)?
        };
        let updated: HashMap<DocId, i64> = self.store.updated_times()?;
        let mut out: Vec<DocSummary> = entries
            .into_iter()
            .filter(|e| include_deleted || !e.deleted)
            .map(|e| {
                let up = updated.get(&e.doc).copied();
                summary_of(e, up)
            })
            .collect();
        out.sort_by(|a, b| (&a.folder, &a.title, a.id).cmp(&(&b.folder, &b.title, b.id)));
        Ok(out)
    }

    /// One document as [`Workspace::list`] shows it, deleted or not: two
    /// lookups, whatever the size of the workspace (the app shows a document
    /// it just made without listing them all).
    pub fn summary(&self, doc: &DocId) -> Result<Option<DocSummary>, EngineError> {
        let Some(e) = self.index().entry(doc) else {
            return Ok(None);
        };
        let up = self.store.doc(doc)?.map(|r| r.updated_at_ms);
        Ok(Some(summary_of(e, up)))
    }

    /// Every folder path, sorted.
    pub fn folders(&self) -> Vec<Vec<String>> {
        let mut f: Vec<Vec<String>> = self.index().folders().into_iter().map(|f| f.path).collect();
        f.sort();
        f.dedup();
        f
    }

    /// Finds a document by full id, exact title, or unambiguous id prefix
    /// (at least 4 hex digits), in that order. Deleted documents match only
    /// if `include_deleted`.
    pub fn resolve(&self, query: &str, include_deleted: bool) -> Result<IndexEntry, EngineError> {
        // Each step is a lookup in the index's read model (by id, by title, by an
        // id range), so resolving costs the same in 100 documents or 100,000.
        let live = |found: Vec<IndexEntry>| -> Vec<IndexEntry> {
            found
                .into_iter()
                .filter(|e| include_deleted || !e.deleted)
                .collect()
        };
        let q = query.trim();
        if let Ok(id) = q.parse::<DocId>()
            && let Some(e) = self
                .index()
                .entry(&id)
                .filter(|e| include_deleted || !e.deleted)
        {
            return Ok(e);
        }
        let pick = |found: Vec<IndexEntry>| -> Result<Option<IndexEntry>, EngineError> {
            match <[IndexEntry; 1]>::try_from(found) {
                Ok([one]) => Ok(Some(one)),
                Err(v) if v.is_empty() => Ok(None),
                Err(many) => Err(EngineError::AmbiguousDoc {
                    query: query.to_owned(),
                    candidates: many
                        .iter()
                        .map(|e| {
                            format!(
                                "  {}  {:<6}  {}",
                                e.doc,
                                e.kind,
                                path_of(&e.folder, &e.title)
                            )
                        })
                        .collect(),
                }),
            }
        };
        if let Some(e) = pick(live(self.index().entries_titled(q)))? {
            return Ok(e);
        }
        if q.len() >= 4
            && let Some(e) = pick(live(self.index().entries_with_id_prefix(q)))?
        {
            return Ok(e);
        }
        if !include_deleted {
            // Say so when the only match is in the trash.
            if let Ok(e) = self.resolve(query, true)
                && e.deleted
            {
                return Err(EngineError::Deleted {
                    doc: e.doc,
                    title: e.title,
                });
            }
        }
        Err(EngineError::UnknownDoc {
            query: query.to_owned(),
        })
    }

    /// The index entry of a document, deleted or not.
    fn any_entry(&self, doc: &DocId) -> Result<IndexEntry, EngineError> {
        self.index()
            .entry(doc)
            .ok_or_else(|| EngineError::UnknownDoc {
                query: doc.to_hex(),
            })
    }

    /// The index entry of a document that is not in the trash.
    pub(crate) fn live_entry(&self, doc: &DocId) -> Result<IndexEntry, EngineError> {
        let e = self.any_entry(doc)?;
        if e.deleted {
            return Err(EngineError::Deleted {
                doc: e.doc,
                title: e.title,
            });
        }
        Ok(e)
    }

    /// Loads a document's body; a document listed in the index whose first
    /// change has not arrived yet is empty.
    pub(crate) fn loaded_body(&mut self, e: &IndexEntry) -> Result<&mut Body, EngineError> {
        if !self.docs.contains_key(&e.doc) && self.store.doc(&e.doc)?.is_none() {
            let body = match e.kind {
                DocKind::Note => Body::Note(Note::new()),
                _ => Body::Record(Box::new(Record::new())),
            };
            self.insert_new(e.doc, body);
        }
        Ok(&mut self.body(&e.doc)?.doc)
    }

    pub(crate) fn note_mut(
        &mut self,
        e: &IndexEntry,
        hint: &'static str,
    ) -> Result<&mut Note, EngineError> {
        match self.loaded_body(e)? {
            Body::Note(n) => Ok(n),
            Body::Record(_) => Err(EngineError::WrongKind {
                title: e.title.clone(),
                expected: DocKind::Note,
                actual: DocKind::Record,
                hint,
            }),
        }
    }

    fn record_mut(
        &mut self,
        e: &IndexEntry,
        hint: &'static str,
    ) -> Result<&mut Record, EngineError> {
        match self.loaded_body(e)? {
            Body::Record(r) => Ok(r),
            Body::Note(_) => Err(EngineError::WrongKind {
                title: e.title.clone(),
                expected: DocKind::Record,
                actual: DocKind::Note,
                hint,
            }),
        }
    }

    /// Creates a note with `markdown` as its content.
    pub fn create_note(
        &mut self,
        title: &str,
        folder: &[String],
        markdown: &str,
    ) -> Result<DocId, EngineError> {
        let folder = check_folder_path(folder)?;
        let doc = DocId::random();
        self.index_mut()?
            .add_doc(doc, DocKind::Note, title, &folder, now_ms())?;
        self.insert_new(doc, Body::Note(Note::from_markdown(markdown)));
        self.commit_action(&[doc], "created note")?;
        Ok(doc)
    }

    /// Creates a record from a JSON object.
    pub fn create_record(
        &mut self,
        title: &str,
        folder: &[String],
        json: &serde_json::Value,
    ) -> Result<DocId, EngineError> {
        let folder = check_folder_path(folder)?;
        let record = Record::from_json(json)?;
        let doc = DocId::random();
        self.index_mut()?
            .add_doc(doc, DocKind::Record, title, &folder, now_ms())?;
        self.insert_new(doc, Body::Record(Box::new(record)));
        self.commit_action(&[doc], "created record")?;
        Ok(doc)
    }

    /// Drops uncommitted in-memory edits after a failed operation.
    pub(crate) fn discard(&mut self, doc: &DocId) {
        self.evict(doc);
        self.evict(&INDEX_DOC);
    }

    /// A document's current content.
    pub fn show(&mut self, doc: &DocId, at: Option<usize>) -> Result<Shown, EngineError> {
        let e = self.live_entry(doc)?;
        if let Some(n) = at {
            return self.show_at(&e, n);
        }
        Ok(match self.loaded_body(&e)? {
            Body::Note(n) => Shown::Note {
                markdown: n.to_markdown(),
            },
            Body::Record(r) => Shown::Record {
                json: r.to_json(),
                conflicts: r.conflicts().into_iter().map(Into::into).collect(),
            },
        })
    }

    fn show_at(&mut self, e: &IndexEntry, n: usize) -> Result<Shown, EngineError> {
        let chunks = self.history_bodies(e, n)?;
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let bad = |d: String| EngineError::Corrupt {
            doc: e.doc,
            detail: d,
        };
        Ok(match e.kind {
            DocKind::Note => Shown::Note {
                markdown: Note::load_chunks(&refs).map_err(bad)?.to_markdown(),
            },
            _ => {
                let r = Record::load_chunks(&refs).map_err(bad)?;
                Shown::Record {
                    json: r.to_json(),
                    conflicts: r.conflicts().into_iter().map(Into::into).collect(),
                }
            }
        })
    }

    /// The CRDT bytes of the first `n` changes of a document.
    fn history_bodies(&self, e: &IndexEntry, n: usize) -> Result<Vec<Vec<u8>>, EngineError> {
        let changes = self.store.changes_of_doc(&e.doc, 0)?;
        if n == 0 || n > changes.len() {
            return Err(EngineError::NoSuchVersion {
                title: e.title.clone(),
                version: n,
                max: changes.len(),
            });
        }
        let skip = self.store.set_aside_rows(&e.doc)?;
        Ok(changes[..n]
            .iter()
            .filter(|c| {
                !skip.contains(&c.row) && c.change.header().kind == ChangeKind::Update(e.kind)
            })
            .filter_map(|c| read_change(&self.data_key, c).ok().map(|env| env.body))
            .collect())
    }

    /// Replaces a note's content with `markdown`, stored as a minimal
    /// character diff. Returns the summary, or `None` if nothing changed.
    pub fn edit_note(
        &mut self,
        doc: &DocId,
        markdown: &str,
    ) -> Result<Option<String>, EngineError> {
        let e = self.live_entry(doc)?;
        let summary = self
            .note_mut(&e, "edit records with `weft set` or `weft patch`")?
            .set_markdown(markdown)
            .to_string();
        Ok(self.commit_action(&[e.doc], &summary)?.then_some(summary))
    }

    /// The Markdown of a note (for `weft edit`).
    pub fn note_markdown(&mut self, doc: &DocId) -> Result<String, EngineError> {
        let e = self.live_entry(doc)?;
        Ok(self
            .note_mut(&e, "records are edited with `weft set` or `weft patch`")?
            .to_markdown())
    }

    /// Sets the value at a JSON pointer in a record.
    pub fn set_field(
        &mut self,
        doc: &DocId,
        pointer: &str,
        value: &serde_json::Value,
    ) -> Result<(), EngineError> {
        let e = self.live_entry(doc)?;
        let r = self.record_mut(
            &e,
            "JSON pointers address records; edit notes with `weft edit`",
        )?;
        if let Err(err) = r.set(pointer, value) {
            self.discard(&e.doc);
            return Err(err.into());
        }
        self.commit_action(&[e.doc], &format!("set {pointer}"))?;
        Ok(())
    }

    /// Adds `by` to the counter at a JSON pointer (creating it at 0).
    pub fn increment(&mut self, doc: &DocId, pointer: &str, by: i64) -> Result<(), EngineError> {
        let e = self.live_entry(doc)?;
        let r = self.record_mut(&e, "counters live in records")?;
        if let Err(err) = r.increment(pointer, by) {
            self.discard(&e.doc);
            return Err(err.into());
        }
        self.commit_action(&[e.doc], &format!("increment {pointer} by {by}"))?;
        Ok(())
    }

    /// Applies an RFC 6902 JSON Patch to a record: all of it or none.
    pub fn patch(&mut self, doc: &DocId, patch: &serde_json::Value) -> Result<usize, EngineError> {
        let e = self.live_entry(doc)?;
        let r = self.record_mut(
            &e,
            "JSON Patch applies to records; edit notes with `weft edit`",
        )?;
        match r.apply_patch(patch) {
            Ok(s) => {
                self.commit_action(&[e.doc], &format!("patch ({} ops)", s.ops))?;
                Ok(s.ops)
            }
            Err(err) => {
                self.discard(&e.doc);
                Err(err.into())
            }
        }
    }

    pub(crate) fn index_action(
        &mut self,
        summary: String,
        f: impl FnOnce(&mut Index) -> Result<(), weft_core::index::IndexError>,
    ) -> Result<(), EngineError> {
        if let Err(e) = f(self.index_mut()?) {
            self.discard(&INDEX_DOC);
            return Err(e.into());
        }
        self.commit_action(&[], &summary)?;
        Ok(())
    }

    /// Moves a document into a folder (created if missing; `[]` is the root).
    pub fn move_doc(&mut self, doc: &DocId, folder: &[String]) -> Result<(), EngineError> {
        let e = self.live_entry(doc)?;
        let path = check_folder_path(folder)?;
        let now = now_ms();
        self.index_action(
            format!("moved \"{}\" to /{}", e.title, path.join("/")),
            |i| i.move_doc(&e.doc, &path, now),
        )
    }

    /// Moves the folder `path` (with everything in it) under the folder
    /// `new_parent` (`[]` is the root). Moving a folder into itself or below
    /// itself is refused; when two devices concurrently make moves that
    /// together would form a cycle, one of them is dropped on merge.
    pub fn move_folder(
        &mut self,
        path: &[String],
        new_parent: &[String],
    ) -> Result<(), EngineError> {
        let from = check_folder_path(path)?;
        let to = check_folder_path(new_parent)?;
        self.index_action(
            format!("moved folder /{} to /{}", from.join("/"), to.join("/")),
            |i| i.move_folder(&from, &to),
        )
    }

    /// Renames the folder at `path`; what is in it stays in it.
    /// A folder of the new name beside it is refused.
    pub fn rename_folder(&mut self, path: &[String], name: &str) -> Result<(), EngineError> {
        let from = check_folder_path(path)?;
        self.index_action(
            format!("renamed folder /{} to \"{name}\"", from.join("/")),
            |i| i.rename_folder(&from, name),
        )
    }

    /// Renames a document.
    pub fn rename(&mut self, doc: &DocId, title: &str) -> Result<(), EngineError> {
        let e = self.live_entry(doc)?;
        self.index_action(format!("renamed \"{}\" to \"{title}\"", e.title), |i| {
            i.rename(&e.doc, title)
        })
    }

    /// Moves a document to the trash (a tombstone that syncs).
    pub fn remove(&mut self, doc: &DocId) -> Result<(), EngineError> {
        let e = self.live_entry(doc)?;
        self.index_action(format!("deleted \"{}\"", e.title), |i| {
            i.set_deleted(&e.doc, true)
        })
    }

    /// Brings a document back from the trash.
    pub fn undelete(&mut self, doc: &DocId) -> Result<(), EngineError> {
        let e = self.any_entry(doc)?;
        if !e.deleted {
            return Ok(());
        }
        self.index_action(format!("restored \"{}\"", e.title), |i| {
            i.set_deleted(&e.doc, false)
        })
    }

    /// The versions of a document, oldest first.
    pub fn history(&self, doc: &DocId) -> Result<Vec<Version>, EngineError> {
        let e = self.any_entry(doc)?;
        let changes = self.store.changes_of_doc(&e.doc, 0)?;
        let skip = self.store.set_aside_rows(&e.doc)?;
        Ok(changes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let h = c.change.header();
                let env = Some(c)
                    .filter(|c| !skip.contains(&c.row) && h.kind == ChangeKind::Update(e.kind))
                    .and_then(|c| read_change(&self.data_key, c).ok());
                let (time_ms, summary, readable) = match env {
                    Some(env) => (env.time_ms, env.summary, true),
                    None => (c.stored_at_ms, UNREADABLE.to_owned(), false),
                };
                Version {
                    number: i + 1,
                    time: rfc3339(time_ms),
                    time_ms,
                    device: h.author,
                    this_device: h.author == self.device,
                    summary,
                    readable,
                }
            })
            .collect())
    }

    /// Restores a document's content as of version `n`, as a new change:
    /// history is kept, and the revert itself can be reverted.
    pub fn revert(&mut self, doc: &DocId, n: usize) -> Result<bool, EngineError> {
        let e = self.live_entry(doc)?;
        let old = self.show_at(&e, n)?;
        let summary = format!("reverted to version {n}");
        match (self.loaded_body(&e)?, old) {
            (Body::Note(note), Shown::Note { markdown }) => {
                note.set_markdown(&markdown);
            }
            (Body::Record(r), Shown::Record { json, .. }) => {
                if let Err(err) = r.replace_all(&json) {
                    self.discard(&e.doc);
                    return Err(err.into());
                }
            }
            _ => {
                return Err(EngineError::Corrupt {
                    doc: e.doc,
                    detail: "its history holds changes of another kind".into(),
                });
            }
        }
        self.commit_action(&[e.doc], &summary)
    }

    /// Workspace facts for `weft status`.
    pub fn status(&self) -> Result<Status, EngineError> {
        let entries = self.index().entries();
        let live = |k: DocKind| entries.iter().filter(|e| !e.deleted && e.kind == k).count();
        let peers = self.store.peers()?;
        Ok(Status {
            workspace_id: self.workspace_id().to_hex(),
            name: self.name()?,
            device_id: self.device.to_string(),
            home: self.home.display().to_string(),
            notes: live(DocKind::Note),
            records: live(DocKind::Record),
            deleted: entries.iter().filter(|e| e.deleted).count(),
            folders: self.folders().len(),
            changes: self.store.change_count()?,
            storage_bytes: self.store.disk_usage(),
            keys: self.key_location.clone(),
            node: crate::node::running_node(&self.home),
            peers: peers.len(),
            last_sync_ms: peers.iter().filter_map(|p| p.last_sync_ms).max(),
            relays: self
                .store
                .relays()?
                .into_iter()
                .map(RelayStatus::from)
                .collect(),
            unreadable: self.unreadable(None)?,
        })
    }
}

impl Workspace {
    /// Applies edits to a note without committing them: an editor's
    /// keystrokes, or a trace replay. [`Workspace::commit_edits`] seals
    /// everything since the last commit as one change.
    pub fn with_note<T>(
        &mut self,
        doc: &DocId,
        f: impl FnOnce(&mut Note) -> T,
    ) -> Result<T, EngineError> {
        let e = self.live_entry(doc)?;
        Ok(f(self.note_mut(&e, "this is for notes")?))
    }

    /// Commits the pending edits of a document as one change.
    pub fn commit_edits(&mut self, doc: &DocId, summary: &str) -> Result<bool, EngineError> {
        self.commit_action(&[*doc], summary)
    }

    /// Drops a document from memory and loads it again from the store
    /// (snapshot plus later changes): what opening it cold costs.
    pub fn reload(&mut self, doc: &DocId) -> Result<(), EngineError> {
        self.flush()?;
        self.evict(doc);
        self.body(doc)?;
        Ok(())
    }
}
