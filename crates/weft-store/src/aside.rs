//! Changes set aside: verified and kept in the log, but not readable here.
//!
//! A change whose signature holds but whose envelope, encoding or body this
//! version cannot read (made by a newer version, or damaged) stays in
//! `changes`, so its author's seqs stay contiguous and it is still served to
//! peers and relays, and is listed in `set_aside` (migration 6). Every
//! loader skips the listed rows; the engine reports them per author; a
//! newer reader retries them ([`Reader::set_aside_before`]).

use std::collections::HashSet;

use rusqlite::params;
use weft_core::{DeviceId, DocId};

use crate::read::Reader;
use crate::store::{StoreError, StoredChange, WriteTx, sql_err};

/// How many of one author's changes are set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsideCount {
    /// The author.
    pub author: DeviceId,
    /// Its changes set aside (in one document, or in the workspace).
    pub changes: u64,
}

impl WriteTx<'_> {
    /// Lists change row `row` (of `doc`, by `author`) as set aside by
    /// reader version `reader`, for `reason`. Listing it again replaces the
    /// reason and the reader.
    pub fn set_aside(
        &self,
        row: i64,
        doc: &DocId,
        author: &DeviceId,
        reason: &str,
        reader: u32,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO set_aside (change, doc, author, reason, reader)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (change) DO UPDATE SET reason = excluded.reason,
                     reader = excluded.reader",
            )
            .and_then(|mut s| {
                s.execute(params![
                    row,
                    doc.as_bytes().as_slice(),
                    author.public_key().as_slice(),
                    reason,
                    reader
                ])
            })
            .map(|_| ())
            .map_err(sql_err(self.path))
    }

    /// Takes row `row` off the list: it reads now. The document's snapshot
    /// is dropped, since it was made without the change and claims to cover
    /// its row; the next load replays the log.
    pub fn clear_set_aside(&self, row: i64, doc: &DocId) -> Result<(), StoreError> {
        let err = sql_err(self.path);
        self.tx
            .prepare_cached("DELETE FROM set_aside WHERE change = ?1")
            .and_then(|mut s| s.execute([row]))
            .map_err(&err)?;
        self.tx
            .prepare_cached("DELETE FROM snapshots WHERE doc = ?1")
            .and_then(|mut s| s.execute([doc.as_bytes().as_slice()]))
            .map_err(&err)?;
        self.tx
            .prepare_cached("DELETE FROM read_models WHERE doc = ?1")
            .and_then(|mut s| s.execute([doc.as_bytes().as_slice()]))
            .map(|_| ())
            .map_err(&err)
    }
}

impl Reader<'_> {
    /// The rows of `doc` that are set aside.
    pub fn set_aside_rows(&self, doc: &DocId) -> Result<HashSet<i64>, StoreError> {
        let err = sql_err(self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT change FROM set_aside WHERE doc = ?1")
            .map_err(&err)?;
        let rows = stmt
            .query_map([doc.as_bytes().as_slice()], |r| r.get::<_, i64>(0))
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// Per author, how many changes are set aside: of `doc`, or of the
    /// whole workspace. Most first.
    pub fn set_aside_counts(&self, doc: Option<&DocId>) -> Result<Vec<AsideCount>, StoreError> {
        let err = sql_err(self.path);
        let sql = match doc {
            Some(_) => {
                "SELECT author, COUNT(*) FROM set_aside WHERE doc = ?1
                 GROUP BY author ORDER BY COUNT(*) DESC, author"
            }
            None => {
                "SELECT author, COUNT(*) FROM set_aside
                 GROUP BY author ORDER BY COUNT(*) DESC, author"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(&err)?;
        let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?));
        let raw: Vec<(Vec<u8>, i64)> = match doc {
            Some(d) => stmt
                .query_map([d.as_bytes().as_slice()], map)
                .and_then(|rows| rows.collect()),
            None => stmt.query_map([], map).and_then(|rows| rows.collect()),
        }
        .map_err(&err)?;
        raw.into_iter()
            .map(|(author, n)| {
                let author =
                    DeviceId::from_slice(&author).map_err(|_| StoreError::CorruptHead {
                        path: self.path.to_owned(),
                        author: hex::encode(&author),
                        detail: "a set-aside change's author is not a device id".into(),
                    })?;
                Ok(AsideCount {
                    author,
                    changes: n.max(0) as u64,
                })
            })
            .collect()
    }

    /// The changes set aside by a reader older than `reader`, to retry.
    pub fn set_aside_before(&self, reader: u32) -> Result<Vec<StoredChange>, StoreError> {
        let rows: Vec<i64> = self
            .conn
            .prepare_cached("SELECT change FROM set_aside WHERE reader < ?1 ORDER BY change")
            .and_then(|mut s| {
                s.query_map([reader], |r| r.get(0))
                    .and_then(|rows| rows.collect())
            })
            .map_err(sql_err(self.path))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(c) = self.change_at(row)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}
