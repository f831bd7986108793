//! The relays this device syncs through, and what the node last learned of
//! each. Local bookkeeping like `peers`: never synced, no document content.

use rusqlite::{OptionalExtension, params};

use crate::store::{Store, StoreError, sql_err};

/// How a relay is doing, as the node last found it. Stored as its code (the
/// `state` column); `status` holds the detail for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// No problem known.
    #[default]
    Ok,
    /// It could not be reached (or a control request failed).
    Unreachable,
    /// It refused the workspace (another verifier, or a protocol error).
    Refused,
    /// It refused changes because the workspace's quota is full.
    QuotaFull,
    /// It refused changes because this device sends too fast.
    RateLimited,
}

impl RelayState {
    /// The stored code.
    pub fn code(self) -> i64 {
        match self {
            RelayState::Ok => 0,
            RelayState::Unreachable => 1,
            RelayState::Refused => 2,
            RelayState::QuotaFull => 3,
            RelayState::RateLimited => 4,
        }
    }

    /// The state of a stored code; a code from a newer version reads as a refusal,
    /// which shows its detail text.
    pub fn from_code(code: i64) -> RelayState {
        match code {
            0 => RelayState::Ok,
            1 => RelayState::Unreachable,
            3 => RelayState::QuotaFull,
            4 => RelayState::RateLimited,
            _ => RelayState::Refused,
        }
    }
}

/// One relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRecord {
    /// Its multiaddr, ending in `/p2p/<relay peer id>`.
    pub addr: String,
    /// When it was added.
    pub added_ms: i64,
    /// When the workspace was last registered there.
    pub registered_ms: Option<i64>,
    /// When this device was last in sync with it.
    pub last_sync_ms: Option<i64>,
    /// How it is doing.
    pub state: RelayState,
    /// The relay's last refusal or error, for people ("" when all is well).
    pub status: String,
    /// When `status` was set.
    pub status_ms: Option<i64>,
    /// Bytes the workspace uses on the relay, as it last said.
    pub used_bytes: Option<i64>,
    /// The relay's quota for the workspace (0: none).
    pub quota_bytes: Option<i64>,
    /// `weft relay forget` asked the node to delete the workspace there.
    pub forget: bool,
}

const COLUMNS: &str = "addr, added_ms, registered_ms, last_sync_ms, status, status_ms, used_bytes, quota_bytes, forget, state";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RelayRecord> {
    Ok(RelayRecord {
        addr: r.get(0)?,
        added_ms: r.get(1)?,
        registered_ms: r.get(2)?,
        last_sync_ms: r.get(3)?,
        status: r.get(4)?,
        status_ms: r.get(5)?,
        used_bytes: r.get(6)?,
        quota_bytes: r.get(7)?,
        forget: r.get::<_, i64>(8)? != 0,
        state: RelayState::from_code(r.get(9)?),
    })
}

impl Store {
    /// Adds a relay; true if it is new. Adding one that is being forgotten
    /// cancels the forget.
    pub fn add_relay(&self, addr: &str, now_ms: i64) -> Result<bool, StoreError> {
        let new = self
            .conn
            .prepare_cached(
                "INSERT INTO relays (addr, added_ms) VALUES (?1, ?2) ON CONFLICT (addr) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![addr, now_ms]))
            .map(|n| n > 0)
            .map_err(sql_err(&self.path))?;
        if !new {
            self.conn
                .execute("UPDATE relays SET forget = 0 WHERE addr = ?1", [addr])
                .map_err(sql_err(&self.path))?;
        }
        Ok(new)
    }

    /// The relays, oldest first.
    pub fn relays(&self) -> Result<Vec<RelayRecord>, StoreError> {
        let err = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM relays ORDER BY added_ms, addr"
            ))
            .map_err(&err)?;
        let rows = stmt.query_map([], row).map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// One relay's row.
    pub fn relay(&self, addr: &str) -> Result<Option<RelayRecord>, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM relays WHERE addr = ?1"))
            .and_then(|mut s| s.query_row([addr], row).optional())
            .map_err(sql_err(&self.path))
    }

    /// Saves what the node learned (every column but `addr`, `added_ms`
    /// and `forget`, which only the user changes). A row removed meanwhile
    /// stays removed.
    pub fn update_relay(&self, r: &RelayRecord) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE relays SET registered_ms = ?2, last_sync_ms = ?3, status = ?4,
                 status_ms = ?5, used_bytes = ?6, quota_bytes = ?7, state = ?8 WHERE addr = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    r.addr,
                    r.registered_ms,
                    r.last_sync_ms,
                    r.status,
                    r.status_ms,
                    r.used_bytes,
                    r.quota_bytes,
                    r.state.code()
                ])
            })
            .map(|_| ())
            .map_err(sql_err(&self.path))
    }

    /// Marks a relay for the node to delete the workspace from; true if it
    /// is known.
    pub fn request_relay_forget(&self, addr: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("UPDATE relays SET forget = 1 WHERE addr = ?1", [addr])
            .map(|n| n > 0)
            .map_err(sql_err(&self.path))
    }

    /// Removes a relay's row; true if it was there.
    pub fn remove_relay(&self, addr: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM relays WHERE addr = ?1", [addr])
            .map(|n| n > 0)
            .map_err(sql_err(&self.path))
    }
}
