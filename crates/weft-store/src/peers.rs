//! Local bookkeeping of the other devices: what this device last saw of
//! each (`peers`) and the addresses the user added by hand (`peer_addrs`).
//! Neither table is synced; `weft peers` and `weft status DOC` read them,
//! the network node writes them.

use rusqlite::{OptionalExtension, Row, params};
use weft_core::{DeviceId, DocId, VersionVector};

use crate::store::{Store, StoreError, sql_err};

/// What this device knows about another device of the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The device.
    pub device: DeviceId,
    /// Its display name, as it announced it (may be empty).
    pub name: String,
    /// The multiaddrs it was last seen at.
    pub addrs: Vec<String>,
    /// How it was last connected: "lan", "direct", "relayed" or
    /// "hole-punched" (free text to the store; the network layer names it).
    pub connection: String,
    /// When it was last seen (ms since the Unix epoch).
    pub last_seen_ms: i64,
    /// When it was last fully in sync with this device, if ever.
    pub last_sync_ms: Option<i64>,
    /// The version vector it last acknowledged holding.
    pub vector: VersionVector,
}

impl Store {
    /// Inserts or replaces the row for `p.device`.
    pub fn upsert_peer(&self, p: &PeerRecord) -> Result<(), StoreError> {
        // Newline-joined on disk: an address with a line break would come
        // back as two, so it is refused rather than silently split.
        if let Some(bad) = p.addrs.iter().find(|a| a.contains(['\n', '\r'])) {
            return Err(StoreError::BadPeerAddr {
                device: p.device,
                addr: bad.clone(),
            });
        }
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO peers
                 (device, name, addrs, connection, last_seen_ms, last_sync_ms, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.device.public_key().as_slice(),
                    p.name,
                    p.addrs.join("\n"),
                    p.connection,
                    p.last_seen_ms,
                    p.last_sync_ms,
                    p.vector.encode(),
                ])
            })
            .map(|_| ())
            .map_err(sql_err(&self.path))
    }

    /// The row of one peer, if this device has seen it.
    pub fn peer(&self, device: &DeviceId) -> Result<Option<PeerRecord>, StoreError> {
        let raw = self
            .conn
            .prepare_cached(
                "SELECT device, name, addrs, connection, last_seen_ms, last_sync_ms, vector
                 FROM peers WHERE device = ?1",
            )
            .and_then(|mut s| {
                s.query_row([device.public_key().as_slice()], raw_peer)
                    .optional()
            })
            .map_err(sql_err(&self.path))?;
        raw.map(|r| self.decode_peer(r)).transpose()
    }

    /// All peers, most recently seen first (ties in device order, so the
    /// listing is stable).
    pub fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT device, name, addrs, connection, last_seen_ms, last_sync_ms, vector
                 FROM peers ORDER BY last_seen_ms DESC, device",
            )
            .map_err(&err)?;
        let rows = stmt.query_map([], raw_peer).map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.decode_peer(row.map_err(&err)?)?);
        }
        Ok(out)
    }

    /// Remembers an address the user added by hand; true if it is new.
    pub fn add_peer_addr(&self, addr: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO peer_addrs (addr, added_ms) VALUES (?1, ?2)
                 ON CONFLICT (addr) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![addr, now_ms]))
            .map(|n| n > 0)
            .map_err(sql_err(&self.path))
    }

    /// Forgets a hand-added address; true if it was there.
    pub fn remove_peer_addr(&self, addr: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("DELETE FROM peer_addrs WHERE addr = ?1")
            .and_then(|mut s| s.execute([addr]))
            .map(|n| n > 0)
            .map_err(sql_err(&self.path))
    }

    /// The hand-added addresses, oldest first.
    pub fn peer_addrs(&self) -> Result<Vec<String>, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT addr FROM peer_addrs ORDER BY added_ms, addr")
            .map_err(&err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// For each author, the highest seq among the changes of `doc`: what a
    /// peer must hold to have the doc's latest changes. Seqs are contiguous
    /// per author, so a peer whose vector reaches these holds every change
    /// of the doc this device holds. Empty for a document with no changes.
    pub fn doc_vector(&self, doc: &DocId) -> Result<VersionVector, StoreError> {
        let err = sql_err(&self.path);
        // Served by `changes_by_doc`: a pass over this document's rows only.
        // `id` is a bare column next to MAX(): SQLite takes it from the row
        // holding the maximum, which names that row if it is corrupt.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT author, MAX(seq), id FROM changes WHERE doc = ?1 GROUP BY author",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([doc.as_bytes().as_slice()], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(&err)?;
        let mut vv = VersionVector::new();
        for row in rows {
            let (author, seq, id) = row.map_err(&err)?;
            let corrupt = |detail: String| StoreError::CorruptChange {
                row: id,
                doc: doc.to_hex(),
                detail,
            };
            let author =
                DeviceId::from_slice(&author).map_err(|_| corrupt("bad author id".to_owned()))?;
            let seq = u64::try_from(seq).map_err(|_| corrupt("negative seq".to_owned()))?;
            vv.set(author, seq);
        }
        Ok(vv)
    }

    fn decode_peer(&self, r: RawPeer) -> Result<PeerRecord, StoreError> {
        let corrupt = |detail: String| StoreError::CorruptPeer {
            path: self.path.clone(),
            device: hex::encode(&r.device),
            detail,
        };
        let device = DeviceId::from_slice(&r.device).map_err(|e| corrupt(e.to_string()))?;
        let vector =
            VersionVector::decode(&r.vector).map_err(|e| corrupt(format!("vector: {e}")))?;
        Ok(PeerRecord {
            device,
            name: r.name,
            addrs: r
                .addrs
                .split('\n')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            connection: r.connection,
            last_seen_ms: r.last_seen_ms,
            last_sync_ms: r.last_sync_ms,
            vector,
        })
    }
}

/// A peers row before its blobs are checked, so a corrupt row is an error
/// naming the peer rather than a rusqlite conversion failure.
struct RawPeer {
    device: Vec<u8>,
    name: String,
    addrs: String,
    connection: String,
    last_seen_ms: i64,
    last_sync_ms: Option<i64>,
    vector: Vec<u8>,
}

fn raw_peer(r: &Row<'_>) -> rusqlite::Result<RawPeer> {
    Ok(RawPeer {
        device: r.get(0)?,
        name: r.get(1)?,
        addrs: r.get(2)?,
        connection: r.get(3)?,
        last_seen_ms: r.get(4)?,
        last_sync_ms: r.get(5)?,
        vector: r.get(6)?,
    })
}
