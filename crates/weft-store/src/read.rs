//! The queries a [`Store`](crate::Store) and a [`WriteTx`](crate::WriteTx) share,
//! written once: both hand out a [`Reader`] over their connection, and the
//! [`StoreRead`] trait gives each the same reads.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use weft_core::{ChangeKind, DeviceId, DocId, DocKind, Seq, WorkspaceId};
use weft_crypto::sealed::{NONCE_LEN, SIGNATURE_LEN};
use weft_crypto::{ChangeHeader, SealedChange};
use weft_sync::ByteBudget;

use crate::store::{DocRow, StoreError, StoredChange, sql_err};

/// Reads over one connection (the store's, or a write transaction's).
pub struct Reader<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) path: &'a Path,
    pub(crate) workspace: WorkspaceId,
}

/// The reads a store and a write transaction both offer.
pub trait StoreRead {
    /// A reader over this connection.
    fn reader(&self) -> Reader<'_>;

    /// The cached row of one document (inside a transaction: as the
    /// transaction sees it).
    fn doc(&self, doc: &DocId) -> Result<Option<DocRow>, StoreError> {
        self.reader().doc(doc)
    }

    /// The changes of `doc` with row id greater than `after`, in row order
    /// (inside a transaction, nothing can be appended between reading and
    /// writing).
    fn changes_of_doc(&self, doc: &DocId, after: i64) -> Result<Vec<StoredChange>, StoreError> {
        self.reader().changes_of_doc(doc, after)
    }

    /// The changes of `author` with seq greater than `after`, in seq order:
    /// at most `max_count`, and stopping once the serialized size
    /// ([`SealedChange::to_bytes`]) of those collected reaches `max_bytes`
    /// (so the last one may cross it), but always at least one if any
    /// exists and `max_count` is not zero.
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, StoreError> {
        self.reader()
            .changes_after(author, after, max_count, max_bytes)
    }

    /// The documents changed after row `after`, and the highest row id.
    fn docs_changed_after(&self, after: i64) -> Result<(Vec<DocId>, i64), StoreError> {
        self.reader().docs_changed_after(after)
    }

    /// The sealed read model stored for `doc` and the change row it covers.
    fn read_model(&self, doc: &DocId) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        self.reader().read_model(doc)
    }

    /// The highest change row id of `doc` (0 if it has none).
    fn last_row_of_doc(&self, doc: &DocId) -> Result<i64, StoreError> {
        self.reader().last_row_of_doc(doc)
    }

    /// The highest change row id (0 for an empty log).
    fn last_change_row(&self) -> Result<i64, StoreError> {
        self.reader().last_change_row()
    }

    /// The rows of `doc` that are set aside (see `aside.rs`).
    fn set_aside_rows(&self, doc: &DocId) -> Result<std::collections::HashSet<i64>, StoreError> {
        self.reader().set_aside_rows(doc)
    }

    /// Per author, how many changes are set aside, of `doc` or of the
    /// whole workspace.
    fn set_aside_counts(&self, doc: Option<&DocId>) -> Result<Vec<crate::AsideCount>, StoreError> {
        self.reader().set_aside_counts(doc)
    }
}

/// The columns of a `changes` row, in the order [`change_columns`] reads them.
pub(crate) const CHANGE_COLUMNS: &str =
    "id, doc, author, seq, kind, nonce, ciphertext, signature, stored_at";

/// A `changes` row as stored, before [`stored_change`] checks it.
pub(crate) type RawChange = (
    i64,
    Vec<u8>,
    Vec<u8>,
    i64,
    i64,
    Vec<u8>,
    Vec<u8>,
    Vec<u8>,
    i64,
);

/// Reads the [`CHANGE_COLUMNS`] of one row.
pub(crate) fn change_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawChange> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

/// A change row whose columns did not decode: its row id, its document
/// column (hex) and what is wrong.
pub(crate) type BadChange = (i64, String, String);

/// Decodes a row read by [`change_columns`].
pub(crate) fn stored_change(
    workspace: WorkspaceId,
    raw: RawChange,
) -> Result<StoredChange, BadChange> {
    let (id, doc, author, seq, kind, nonce, ciphertext, signature, stored_at) = raw;
    let doc = DocId::from_slice(&doc).map_err(|e| (id, hex::encode(&doc), e.to_string()))?;
    let change = decode_change(
        workspace, doc, &author, seq, kind, nonce, ciphertext, signature,
    )
    .map_err(|detail| (id, doc.to_hex(), detail))?;
    Ok(StoredChange {
        row: id,
        stored_at_ms: stored_at,
        change,
    })
}

fn corrupt_change((row, doc, detail): BadChange) -> StoreError {
    StoreError::CorruptChange { row, doc, detail }
}

/// The columns of a `docs` row, in the order [`doc_columns`] reads them.
pub(crate) const DOC_SELECT: &str = "SELECT d.doc, d.kind, s.sealed, COALESCE(s.upto, 0), \
     d.changes, d.updated_at FROM docs d LEFT JOIN snapshots s ON s.doc = d.doc";

/// A `docs` row as stored, before [`doc_row`] checks it.
pub(crate) type RawDoc = (Vec<u8>, i64, Option<Vec<u8>>, i64, i64, i64);

/// Reads the columns [`DOC_SELECT`] selects, of one row.
pub(crate) fn doc_columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDoc> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

impl Reader<'_> {
    /// The cached row of one document.
    pub fn doc(&self, doc: &DocId) -> Result<Option<DocRow>, StoreError> {
        let row = self
            .conn
            .prepare_cached(&format!("{DOC_SELECT} WHERE d.doc = ?1"))
            .and_then(|mut s| {
                s.query_row([doc.as_bytes().as_slice()], doc_columns)
                    .optional()
            })
            .map_err(sql_err(self.path))?;
        row.map(doc_row).transpose()
    }

    /// The changes of `doc` with row id greater than `after`, in row order.
    pub fn changes_of_doc(&self, doc: &DocId, after: i64) -> Result<Vec<StoredChange>, StoreError> {
        let err = sql_err(self.path);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CHANGE_COLUMNS} FROM changes WHERE doc = ?1 AND id > ?2 ORDER BY id"
            ))
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![doc.as_bytes().as_slice(), after], change_columns)
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(stored_change(self.workspace, row.map_err(&err)?).map_err(corrupt_change)?);
        }
        Ok(out)
    }

    /// The documents with change rows after row `after`, and the highest row
    /// id (`after` if there is none): what changed since a reader last looked,
    /// whichever process or peer wrote it. One range scan of the log's key.
    pub fn docs_changed_after(&self, after: i64) -> Result<(Vec<DocId>, i64), StoreError> {
        let err = sql_err(self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, doc FROM changes WHERE id > ?1 ORDER BY id")
            .map_err(&err)?;
        let mut rows = stmt.query([after]).map_err(&err)?;
        let mut docs = std::collections::BTreeSet::new();
        let mut last = after;
        while let Some(r) = rows.next().map_err(&err)? {
            last = r.get(0).map_err(&err)?;
            let bytes: Vec<u8> = r.get(1).map_err(&err)?;
            if let Ok(b) = <[u8; 16]>::try_from(bytes.as_slice()) {
                docs.insert(DocId::from_bytes(b));
            }
        }
        Ok((docs.into_iter().collect(), last))
    }

    /// The sealed read model stored for `doc` and the change row it covers.
    pub fn read_model(&self, doc: &DocId) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        self.conn
            .prepare_cached("SELECT model, upto FROM read_models WHERE doc = ?1")
            .and_then(|mut s| {
                s.query_row([doc.as_bytes().as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(sql_err(self.path))
    }

    /// The highest change row id of `doc` (0 if it has none). A lookup in the
    /// log's index by document.
    pub fn last_row_of_doc(&self, doc: &DocId) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM changes WHERE doc = ?1")
            .and_then(|mut s| s.query_row([doc.as_bytes().as_slice()], |r| r.get(0)))
            .map_err(sql_err(self.path))
    }

    /// The highest change row id (0 for an empty log).
    pub fn last_change_row(&self) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM changes")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(sql_err(self.path))
    }

    /// Change row `id`, if there is one.
    pub fn change_at(&self, id: i64) -> Result<Option<StoredChange>, StoreError> {
        let raw = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CHANGE_COLUMNS} FROM changes WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([id], change_columns).optional())
            .map_err(sql_err(self.path))?;
        raw.map(|r| stored_change(self.workspace, r).map_err(corrupt_change))
            .transpose()
    }

    /// The changes of `author` with seq greater than `after`, in seq order: at
    /// most `max_count`, within `max_bytes` by the one rule of
    /// [`weft_sync::ByteBudget`] (the relay's stores apply it too).
    pub fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, StoreError> {
        let (workspace, err) = (self.workspace, sql_err(self.path));
        // Seqs are stored as i64: nothing lies beyond i64::MAX.
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(max_count).unwrap_or(i64::MAX);
        // Served by the UNIQUE (author, seq) index: a range scan from `after`,
        // never a pass over the log.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, doc, seq, kind, nonce, ciphertext, signature
             FROM changes WHERE author = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(&err)?;
        let mut rows = stmt
            .query(params![author.public_key().as_slice(), after, limit])
            .map_err(&err)?;
        let mut out = Vec::new();
        let mut budget = ByteBudget::new(max_bytes);
        // The budget is checked before stepping to the next row, so a change
        // that would not be returned is never read.
        while budget.wants_more() {
            let Some(r) = rows.next().map_err(&err)? else {
                break;
            };
            let id: i64 = r.get(0).map_err(&err)?;
            let doc: Vec<u8> = r.get(1).map_err(&err)?;
            let corrupt = |detail: String| StoreError::CorruptChange {
                row: id,
                doc: hex::encode(&doc),
                detail,
            };
            let doc_id =
                DocId::from_slice(&doc).map_err(|e| corrupt(format!("bad document id: {e}")))?;
            let ciphertext: Vec<u8> = r.get(5).map_err(&err)?;
            budget.take(SERIALIZED_OVERHEAD + ciphertext.len());
            let change = decode_change(
                workspace,
                doc_id,
                author.public_key().as_slice(),
                r.get(2).map_err(&err)?,
                r.get(3).map_err(&err)?,
                r.get(4).map_err(&err)?,
                ciphertext,
                r.get(6).map_err(&err)?,
            )
            .map_err(corrupt)?;
            out.push(change);
        }
        Ok(out)
    }
}

pub(crate) fn doc_row(
    (doc, kind, snapshot, snapshot_upto, changes, updated_at_ms): RawDoc,
) -> Result<DocRow, StoreError> {
    let corrupt = |detail: String| StoreError::CorruptChange {
        row: 0,
        doc: hex::encode(&doc),
        detail,
    };
    let id = DocId::from_slice(&doc).map_err(|e| corrupt(e.to_string()))?;
    let kind = u8::try_from(kind)
        .ok()
        .and_then(|k| DocKind::from_code(k).ok())
        .ok_or_else(|| corrupt(format!("unknown document kind {kind}")))?;
    Ok(DocRow {
        doc: id,
        kind,
        snapshot,
        snapshot_upto,
        changes,
        updated_at_ms,
    })
}

/// Bytes a serialized sealed change takes besides its ciphertext: header,
/// nonce, ciphertext length and signature (see `SealedChange::to_bytes`).
const SERIALIZED_OVERHEAD: usize = weft_crypto::HEADER_LEN + NONCE_LEN + 4 + SIGNATURE_LEN;

/// Rebuilds a sealed change from its row's columns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_change(
    workspace: WorkspaceId,
    doc: DocId,
    author: &[u8],
    seq: i64,
    kind: i64,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
    signature: Vec<u8>,
) -> Result<SealedChange, String> {
    let author = DeviceId::from_slice(author).map_err(|_| "bad author id".to_owned())?;
    let seq = u64::try_from(seq).map_err(|_| "negative seq".to_owned())?;
    let kind = u8::try_from(kind)
        .ok()
        .and_then(|k| ChangeKind::from_code(k).ok())
        .ok_or_else(|| "unknown change kind".to_owned())?;
    // The ciphertext's length is not checked here: opening the change
    // checks it (and everything else), and the engine then reports the
    // document as unreadable, naming it, while the rest of the workspace
    // keeps working.
    let nonce: [u8; NONCE_LEN] = nonce
        .as_slice()
        .try_into()
        .map_err(|_| "nonce is not 12 bytes".to_owned())?;
    let signature: [u8; SIGNATURE_LEN] = signature
        .as_slice()
        .try_into()
        .map_err(|_| "signature is not 64 bytes".to_owned())?;
    let header = ChangeHeader {
        workspace,
        doc,
        author,
        seq,
        kind,
    };
    Ok(SealedChange::from_parts(
        header, nonce, ciphertext, signature,
    ))
}
