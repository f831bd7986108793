//! What this device knows of its peers, for `weft peers` and
//! `weft status DOC`: read from the store's local bookkeeping, which the
//! network node keeps current. Nothing here touches the network.

use serde::Serialize;
use weft_core::{DeviceId, DocId};
use weft_store::{PeerRecord, RelayRecord};

use crate::EngineError;
use crate::workspace::{INDEX_DOC, Workspace, now_ms};

/// One device and whether it holds a document's latest changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Holder {
    /// The device.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub device: DeviceId,
    /// Its name as it announced it; empty for this device (which has no
    /// name of its own) and for peers that sent none.
    pub name: String,
    /// True for the device this workspace is open on.
    pub this_device: bool,
    /// True if it is known to hold every change of the document that this
    /// device holds.
    pub latest: bool,
    /// When it was last fully in sync with this device (`None` for this
    /// device, and for a peer never fully in sync).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub last_sync_ms: Option<i64>,
}

impl Workspace {
    /// The other devices this one has seen, most recently seen first.
    pub fn peers(&self) -> Result<Vec<PeerRecord>, EngineError> {
        Ok(self.store.peers()?)
    }

    /// Records what was last seen of a peer, replacing its previous record.
    pub fn record_peer(&self, p: &PeerRecord) -> Result<(), EngineError> {
        Ok(self.store.upsert_peer(p)?)
    }

    /// Adds an address for the daemon to dial; true if it is new. The
    /// caller checks the syntax: the engine does not link libp2p's parser.
    pub fn add_peer_addr(&self, addr: &str) -> Result<bool, EngineError> {
        Ok(self.store.add_peer_addr(addr, now_ms())?)
    }

    /// Forgets a hand-added address; true if it was there.
    pub fn remove_peer_addr(&self, addr: &str) -> Result<bool, EngineError> {
        Ok(self.store.remove_peer_addr(addr)?)
    }

    /// Adds a relay (a multiaddr ending in `/p2p/<relay id>`, checked by
    /// [`parse_relay_addr`]); true if it is new. The node registers the
    /// workspace there and syncs through it.
    pub fn add_relay(&self, addr: &str) -> Result<bool, EngineError> {
        parse_relay_addr(addr)?;
        Ok(self.store.add_relay(addr.trim(), now_ms())?)
    }

    /// The relays, with what the node last learned of each.
    pub fn relays(&self) -> Result<Vec<RelayRecord>, EngineError> {
        Ok(self.store.relays()?)
    }

    /// SQLite's `data_version` of this connection: it changes when another process
    /// (a running node) commits to the file, and costs no read of any table.
    pub fn data_version(&self) -> Result<i64, EngineError> {
        Ok(self.store.data_version()?)
    }

    /// One relay's row.
    pub fn relay(&self, addr: &str) -> Result<Option<RelayRecord>, EngineError> {
        Ok(self.store.relay(addr)?)
    }

    /// Saves what the node learned of a relay.
    pub fn update_relay(&self, r: &RelayRecord) -> Result<(), EngineError> {
        Ok(self.store.update_relay(r)?)
    }

    /// Asks the node to delete this workspace from the relay; true if the
    /// relay is known.
    pub fn request_relay_forget(&self, addr: &str) -> Result<bool, EngineError> {
        Ok(self.store.request_relay_forget(addr)?)
    }

    /// Removes a relay without touching what it stores.
    pub fn remove_relay(&self, addr: &str) -> Result<bool, EngineError> {
        Ok(self.store.remove_relay(addr)?)
    }

    /// The hand-added addresses, oldest first.
    pub fn peer_addrs(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.store.peer_addrs()?)
    }

    /// Which devices are known to hold the latest changes of `doc`: this
    /// device first (always latest: "latest" is measured against what this
    /// device holds), then every peer in [`Workspace::peers`] order. A peer
    /// is latest when the vector it last acknowledged reaches, for every
    /// author, that author's last change to `doc`. Its title and folder
    /// live in the index document and are not counted here, except for a
    /// document with no change of its own (see below). Deleted documents
    /// are answered too: the trash syncs like the rest.
    pub fn doc_holders(&self, doc: &DocId) -> Result<Vec<Holder>, EngineError> {
        if self.index.doc.entry(doc).is_none() {
            return Err(EngineError::UnknownDoc {
                query: doc.to_string(),
            });
        }
        let mut need = self.store.doc_vector(doc)?;
        if need.is_empty() {
            // An empty note commits no change of its own: it exists only as
            // its index entry, and every peer, even one never synced, would
            // vacuously "hold" it. Having it means holding the index (which
            // we cannot narrow to the one change that added it).
            need = self.store.doc_vector(&INDEX_DOC)?;
        }
        let mut out = vec![Holder {
            device: self.device,
            name: String::new(),
            this_device: true,
            latest: true,
            last_sync_ms: None,
        }];
        out.extend(
            self.store
                .peers()?
                .into_iter()
                // A row for this device could only come from a confused
                // caller; it is already listed, from the truth.
                .filter(|p| p.device != self.device)
                .map(|p| Holder {
                    latest: p.vector.includes(&need),
                    device: p.device,
                    name: p.name,
                    this_device: false,
                    last_sync_ms: p.last_sync_ms,
                }),
        );
        Ok(out)
    }
}

/// Checks a relay address: a multiaddr that names the relay's peer id (so
/// this device can tell the relay from an impostor at the same address).
pub fn parse_relay_addr(addr: &str) -> Result<crate::node::Multiaddr, EngineError> {
    let bad = |reason: String| EngineError::BadAddress {
        addr: addr.trim().to_owned(),
        reason,
    };
    let m: crate::node::Multiaddr = addr.trim().parse().map_err(|e| {
        bad(format!(
            "is not a multiaddr ({e}); weft-relay prints the address to add, like \
             /ip4/203.0.113.7/tcp/4467/p2p/12D3KooW..."
        ))
    })?;
    match m.iter().last() {
        Some(crate::node::Protocol::P2p(_)) => Ok(m),
        _ => Err(bad(
            "it does not end in /p2p/<relay id>: use the full address weft-relay printed, \
             so this device can tell the relay from an impostor"
                .into(),
        )),
    }
}

#[cfg(test)]
mod relay_addr_tests {
    use super::*;

    #[test]
    fn a_relay_address_must_name_the_relay() {
        let e = parse_relay_addr("/ip4/127.0.0.1/tcp/4467").unwrap_err();
        assert_eq!(e.code(), "invalid_address");
        assert!(e.to_string().contains("/p2p/<relay id>"), "{e}");
        assert!(parse_relay_addr("not an address").is_err());
        let ok = "/ip4/127.0.0.1/tcp/4467/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        assert!(parse_relay_addr(ok).is_ok());
    }
}
