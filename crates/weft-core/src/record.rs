//! Records: structured JSON documents backed by Automerge.
//!
//! A record's root is always a JSON object (a record is a set of fields).
//! The JSON mapping is fixed, because every replica must read the same bytes
//! the same way:
//!
//! | JSON | Automerge |
//! |---|---|
//! | object | `Map` |
//! | array | `List` |
//! | string | `ScalarValue::Str` (not `Text`: concurrent writes to a string field are then an ordinary last-writer-wins conflict that [`Record::conflicts`] can show, instead of a silent character-level merge of two different values) |
//! | number | `Int` when it is an `i64`, `Uint` above `i64::MAX`, otherwise `F64` |
//! | bool, null | `Boolean`, `Null` |
//!
//! Counters ([`Record::increment`]) are `ScalarValue::Counter` and read back as
//! plain JSON numbers. Values Weft never writes but a foreign document may hold
//! read as: `Text` → string, `Timestamp` → number, `Bytes` → lower-case hex
//! string, unknown scalar types → `null`.
//!
//! Every mutating method is one Automerge transaction: it either commits (and
//! its change becomes part of the next [`Record::commit_pending`]) or is rolled
//! back completely, so a failed [`Record::apply_patch`] leaves no trace.

mod chunks;
mod convert;
mod patch;
mod pointer;
mod sync;
#[cfg(test)]
mod tests;
mod write;

use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ROOT, ReadDoc, ScalarValue, transaction::Transactable,
};
use serde_json::Value as Json;

use crate::guard::{Panicked, guarded};
use pointer::{Kind, ListIndex, Node, WriteMode};

/// The most deeply nested value a record reads or writes. Deeper foreign
/// values read as `null`; deeper local writes are refused. Recursion is
/// bounded so that a hostile document cannot overflow the stack (which would
/// abort the process: `catch_unwind` cannot catch that).
pub const MAX_DEPTH: usize = 200;

/// Why a record operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A record's root must be a JSON object.
    #[error("a record must be a JSON object, got {got}")]
    NotAnObject {
        /// The JSON type that was given ("array", "string", ...).
        got: &'static str,
    },
    /// The text is not an RFC 6901 JSON pointer, or a token does not fit the container it indexes.
    #[error("invalid JSON pointer `{pointer}`: {reason}")]
    InvalidPointer {
        /// The pointer as given.
        pointer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The pointer names a location that does not exist.
    #[error("no value at `{pointer}`")]
    NoSuchPath {
        /// The pointer as given.
        pointer: String,
    },
    /// The pointer goes through a value that is not an object or array.
    #[error("cannot reach `{pointer}`: `{at}` is a scalar, not an object or array")]
    NotAContainer {
        /// The pointer as given.
        pointer: String,
        /// The prefix that names the scalar.
        at: String,
    },
    /// `increment` on a field that holds something other than a counter.
    #[error("`{pointer}` is not a counter")]
    NotACounter {
        /// The pointer as given.
        pointer: String,
    },
    /// A value nests deeper than [`MAX_DEPTH`].
    #[error("the value at `{pointer}` nests deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Where the value was being written.
        pointer: String,
    },
    /// The patch document is not a JSON array of operation objects.
    #[error("not a JSON Patch: {reason}")]
    NotAPatch {
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON Patch `test` operation found a different value.
    #[error("patch op {index} (test) failed: `{pointer}` is {actual}, expected {expected}")]
    PatchTestFailed {
        /// Zero-based index of the failing operation.
        index: usize,
        /// The tested pointer.
        pointer: String,
        /// The value the patch expected (boxed to keep the error small).
        expected: Box<Json>,
        /// The value the record holds.
        actual: Box<Json>,
    },
    /// A JSON Patch operation is malformed or could not be applied.
    #[error("patch op {index} ({op}) failed: {reason}")]
    PatchOp {
        /// Zero-based index of the failing operation.
        index: usize,
        /// The operation name as given (`add`, `remove`, ...).
        op: String,
        /// What went wrong, naming the pointer involved.
        reason: String,
    },
    /// Bytes given to [`Record::load`] or [`Record::import`] are not valid Automerge data.
    #[error("cannot load record bytes: {0}")]
    Load(String),
    /// Automerge panicked on foreign bytes.
    #[error(transparent)]
    Panicked(#[from] Panicked),
    /// Automerge refused a local operation (an internal inconsistency).
    #[error("automerge error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// A field whose value was written concurrently on several devices.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The RFC 6901 pointer of the field.
    pub pointer: String,
    /// Every concurrent value. The last one is the value [`Record::to_json`]
    /// shows (the same on every replica).
    pub values: Vec<Json>,
}

/// What [`Record::apply_patch`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchSummary {
    /// How many patch operations were applied.
    pub ops: usize,
}

/// A record document: a JSON object kept as an Automerge document.
#[derive(Debug)]
pub struct Record {
    doc: AutoCommit,
    /// Local changes committed since the last [`Record::commit_pending`], in
    /// commit order. Tracked by hash rather than with `save_incremental`
    /// because that would also return foreign changes imported in between,
    /// which this device must not re-seal as its own.
    pending: Vec<ChangeHash>,
    /// The document heads, refreshed after every mutation so that
    /// [`Record::version_bytes`] can take `&self` (`AutoCommit::get_heads`
    /// needs `&mut`).
    heads: Vec<ChangeHash>,
}

impl Default for Record {
    fn default() -> Self {
        Self::new()
    }
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

impl Record {
    /// An empty record (`{}`) with a random actor id.
    pub fn new() -> Self {
        Self {
            doc: AutoCommit::new().with_actor(ActorId::random()),
            pending: Vec::new(),
            heads: Vec::new(),
        }
    }

    /// A new record holding `v`, which must be a JSON object. The content is
    /// one pending local change.
    pub fn from_json(v: &Json) -> Result<Self, RecordError> {
        let mut r = Self::new();
        r.replace_all(v)?;
        Ok(r)
    }

    /// Rebuilds a record from stored bytes: snapshots and/or change bytes, in
    /// any order (changes whose dependencies are missing wait inside
    /// Automerge until they arrive). New local changes get a fresh random
    /// actor id, so two loads on one device never reuse an actor's sequence
    /// numbers.
    pub fn load(chunks: &[&[u8]]) -> Result<Self, RecordError> {
        let mut r = Self::new();
        for c in chunks {
            r.ingest(c)?;
        }
        r.doc.set_actor(ActorId::random());
        r.refresh_heads();
        Ok(r)
    }

    /// True while some imported changes wait for a dependency that has not
    /// arrived. Automerge queues them and applies them once it comes, but
    /// `save` omits them, so callers skip snapshotting until this is false.
    pub fn has_pending(&mut self) -> bool {
        !self.doc.get_missing_deps(&[]).is_empty()
    }

    /// Applies foreign bytes (change bytes from another device, or a
    /// snapshot). Invalid bytes are an error, never a panic. After
    /// [`RecordError::Panicked`] the record may be half-updated: drop it and
    /// load again from storage.
    pub fn import(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        let r = self.ingest(bytes);
        self.refresh_heads();
        r
    }

    fn ingest(&mut self, data: &[u8]) -> Result<(), RecordError> {
        let mut changes = Vec::new();
        for chunk in chunks::split(data).map_err(RecordError::Load)? {
            match chunk.kind {
                chunks::DOCUMENT => {
                    let mut other = load_document(&chunk)?;
                    if self.doc.is_empty() {
                        // Nothing to merge into: adopt the loaded document
                        // wholesale (much cheaper than a merge), keeping our actor.
                        other.set_actor(self.doc.get_actor().clone());
                        self.doc = other;
                    } else {
                        guarded("Automerge", "merging a record snapshot", || {
                            self.doc.merge(&mut other)
                        })?
                        .map_err(|e| RecordError::Load(e.to_string()))?;
                    }
                }
                chunks::CHANGE | chunks::COMPRESSED_CHANGE => changes.push(parse_change(&chunk)?),
                other => return Err(unsupported_chunk(other)),
            }
        }
        if !changes.is_empty() {
            guarded("Automerge", "applying record changes", || {
                self.doc.apply_changes(changes)
            })?
            .map_err(|e| RecordError::Load(e.to_string()))?;
        }
        Ok(())
    }

    /// Checks that `data` is what [`Record::import`] reads (Automerge
    /// change chunks, or a document chunk) without a record to apply it to:
    /// what a change received from a peer is held to before it is stored as
    /// readable. A document chunk is loaded in full to check it.
    pub fn check(data: &[u8]) -> Result<(), RecordError> {
        for chunk in chunks::split(data).map_err(RecordError::Load)? {
            match chunk.kind {
                chunks::DOCUMENT => {
                    load_document(&chunk)?;
                }
                chunks::CHANGE | chunks::COMPRESSED_CHANGE => {
                    parse_change(&chunk)?;
                }
                other => return Err(unsupported_chunk(other)),
            }
        }
        Ok(())
    }

    /// The whole document in Automerge's compact format.
    pub fn export_snapshot(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The local changes made since the last call, as concatenated Automerge
    /// change chunks (what [`Record::import`] accepts), or `None` when nothing
    /// changed locally. Foreign changes imported meanwhile are not included.
    pub fn commit_pending(&mut self) -> Option<Vec<u8>> {
        if self.pending.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for h in std::mem::take(&mut self.pending) {
            if let Some(mut c) = self.doc.get_change_by_hash(&h) {
                out.extend_from_slice(&c.bytes());
            }
        }
        Some(out)
    }

    /// The document as JSON, showing the winning value of every conflict.
    pub fn to_json(&self) -> Json {
        convert::object_to_json(&self.doc, &ROOT, Kind::Map, 0)
    }

    /// Every field that currently holds concurrent values, in document order.
    /// Only the winning branch of the tree is searched, i.e. what
    /// [`Record::to_json`] shows.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        convert::collect_conflicts(&self.doc, &ROOT, Kind::Map, &mut String::new(), &mut out, 0);
        out
    }

    /// The value at an RFC 6901 pointer (`""` is the whole record).
    pub fn get(&self, pointer: &str) -> Result<Json, RecordError> {
        let tokens = pointer::parse(pointer)?;
        let node = pointer::resolve(&self.doc, pointer, &tokens)?;
        Ok(convert::node_to_json(&self.doc, &node, tokens.len()))
    }

    /// Writes `value` at `pointer`: creates or replaces a map key, replaces a
    /// list element, or appends to a list with the token `-`. The parent must
    /// exist. `""` replaces the whole record (which must stay an object).
    /// Always writes, even an equal value: that is how a user settles a
    /// conflict.
    pub fn set(&mut self, pointer: &str, value: &Json) -> Result<(), RecordError> {
        let tokens = pointer::parse(pointer)?;
        self.mutate(|doc| {
            if tokens.is_empty() {
                return sync::replace_root(doc, value);
            }
            let parent = pointer::resolve_parent(doc, pointer, &tokens)?;
            pointer::write(doc, &parent, pointer, &tokens, value, WriteMode::Set)
        })
    }

    /// Adds `by` to the counter at `pointer`, creating a counter holding `by`
    /// at a missing map key (or at `-` of a list). Two devices creating the
    /// same missing counter concurrently conflict like any other field; once
    /// it exists, concurrent increments add up.
    pub fn increment(&mut self, pointer: &str, by: i64) -> Result<(), RecordError> {
        let tokens = pointer::parse(pointer)?;
        self.mutate(|doc| {
            let Some(last) = tokens.last() else {
                return Err(RecordError::NotACounter {
                    pointer: pointer.to_owned(),
                });
            };
            let parent = pointer::resolve_parent(doc, pointer, &tokens)?;
            let not_counter = || RecordError::NotACounter {
                pointer: pointer.to_owned(),
            };
            match pointer::child(doc, &parent, pointer, last)? {
                Some(Node::Scalar(ScalarValue::Counter(_))) => match parent.kind {
                    Kind::Map => doc.increment(&parent.id, last.as_str(), by)?,
                    Kind::List => {
                        let i = pointer::existing_index(doc, &parent, pointer, last)?;
                        doc.increment(&parent.id, i, by)?;
                    }
                },
                Some(_) => return Err(not_counter()),
                None => match parent.kind {
                    Kind::Map => doc.put(&parent.id, last.as_str(), ScalarValue::counter(by))?,
                    Kind::List => match pointer::list_index(pointer, last)? {
                        ListIndex::End => {
                            let len = doc.length(&parent.id);
                            doc.insert(&parent.id, len, ScalarValue::counter(by))?;
                        }
                        ListIndex::At(_) => {
                            return Err(RecordError::NoSuchPath {
                                pointer: pointer.to_owned(),
                            });
                        }
                    },
                },
            }
            Ok(())
        })
    }

    /// Applies an RFC 6902 JSON Patch atomically: either every operation
    /// applies or the record is left untouched (and no change is pending).
    pub fn apply_patch(&mut self, patch: &Json) -> Result<PatchSummary, RecordError> {
        let ops = patch::parse(patch)?;
        let n = ops.len();
        self.mutate(|doc| patch::apply(doc, &ops))?;
        Ok(PatchSummary { ops: n })
    }

    /// Makes the record equal `v` with as few operations as possible: maps
    /// are updated key by key and lists through a longest-common-subsequence
    /// diff, so untouched fields and list items keep their identity (and
    /// concurrent edits to them still merge). Used for revert and import.
    pub fn replace_all(&mut self, v: &Json) -> Result<(), RecordError> {
        self.mutate(|doc| sync::replace_root(doc, v))
    }

    /// The document's heads (sorted change hashes, 32 bytes each,
    /// concatenated): equal bytes mean equal content.
    pub fn version_bytes(&self) -> Vec<u8> {
        self.heads.iter().flat_map(|h| h.0).collect()
    }

    /// Runs `f` as one transaction: commit on success, roll back on error.
    fn mutate<T>(
        &mut self,
        f: impl FnOnce(&mut AutoCommit) -> Result<T, RecordError>,
    ) -> Result<T, RecordError> {
        let r = f(&mut self.doc);
        match r {
            Ok(v) => {
                if let Some(h) = self.doc.commit() {
                    self.pending.push(h);
                }
                self.refresh_heads();
                Ok(v)
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    fn refresh_heads(&mut self) {
        self.heads = self.doc.get_heads();
    }
}

/// Loads one document chunk, refusing a partial or unverified load.
fn load_document(chunk: &chunks::Chunk<'_>) -> Result<AutoCommit, RecordError> {
    guarded("Automerge", "loading a record snapshot", || {
        let opts = automerge::LoadOptions::new()
            .on_partial_load(automerge::OnPartialLoad::Error)
            .verification_mode(automerge::VerificationMode::Check);
        AutoCommit::load_with_options(chunk.bytes, opts)
    })?
    .map_err(|e| RecordError::Load(e.to_string()))
}

/// Parses one change chunk, checking its checksum (`Change::try_from` does
/// not, and a corrupted change would otherwise enter the document under a
/// different hash).
fn parse_change(chunk: &chunks::Chunk<'_>) -> Result<Change, RecordError> {
    let c = guarded("Automerge", "parsing record change bytes", || {
        Change::try_from(chunk.bytes)
    })?
    .map_err(|e| RecordError::Load(e.to_string()))?;
    if c.hash().0[..4] != *chunk.checksum() {
        return Err(RecordError::Load(
            "a change's checksum does not match its contents".into(),
        ));
    }
    Ok(c)
}

fn unsupported_chunk(kind: u8) -> RecordError {
    RecordError::Load(format!(
        "unsupported Automerge chunk type {kind} (Weft stores documents and changes only)"
    ))
}
