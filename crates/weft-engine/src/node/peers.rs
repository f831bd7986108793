//! The core's devices: what is known of each other device of the workspace beyond
//! its stored row, how a peer becomes a member and is kept connected, and when
//! the peer table is saved. (The relays, the other kind of peer, are in
//! `relays.rs`.)

use weft_core::{DeviceId, VersionVector};
use weft_net::Via;
use weft_store::PeerRecord;

use super::NodeEvent;
use super::core::{Core, PeerKind};
use crate::workspace::now_ms;

/// The name in an identify agent string `weft/<version> (<name>)`.
pub(super) fn agent_name(agent: &str) -> Option<String> {
    let rest = agent.strip_prefix("weft/")?;
    let open = rest.find('(')?;
    let close = rest.rfind(')')?;
    (close > open).then(|| rest[open + 1..close].trim().to_owned())
}

/// An address worth dialling again: not loopback, not unspecified.
pub(super) fn dialable(addr: &weft_net::Multiaddr) -> bool {
    use weft_net::Protocol;
    addr.iter().all(|p| match p {
        Protocol::Ip4(ip) => !ip.is_loopback() && !ip.is_unspecified(),
        Protocol::Ip6(ip) => !ip.is_loopback() && !ip.is_unspecified(),
        _ => true,
    })
}

impl Core {
    pub(super) fn display_name(&self, peer: DeviceId) -> String {
        if self.relays.contains_key(&peer) {
            return format!("relay {}", peer.short());
        }
        self.live
            .get(&peer)
            .and_then(|l| l.name.clone())
            .or_else(|| self.records.get(&peer).map(|r| r.name.clone()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| peer.short())
    }

    pub(super) fn record(&mut self, peer: DeviceId) -> &mut PeerRecord {
        self.records.entry(peer).or_insert_with(|| PeerRecord {
            device: peer,
            name: String::new(),
            addrs: Vec::new(),
            connection: String::new(),
            last_seen_ms: now_ms(),
            last_sync_ms: None,
            vector: VersionVector::new(),
        })
    }

    /// The session with `peer` (of `kind`, fixed when its stream attached)
    /// passed its proofs: a device becomes a member and is kept connected.
    pub(super) fn authenticated(&mut self, peer: DeviceId, kind: PeerKind) {
        if kind == PeerKind::Relay {
            tracing::info!(%peer, "syncing through the relay");
            self.emit(NodeEvent::Authenticated { peer });
            return;
        }
        let live = self.live.entry(peer).or_default();
        live.member = true;
        live.dirty = true;
        let via = live.via.map(|v| v.as_str()).unwrap_or("?");
        let name = self.display_name(peer);
        tracing::info!(%peer, "syncing with {name} ({via})");
        self.refused_logged.remove(&peer);
        self.keep(peer);
        self.emit(NodeEvent::Authenticated { peer });
    }

    /// Asks the network to stay connected to a member, redialling with
    /// backoff at the addresses it announced.
    pub(super) fn keep(&self, peer: DeviceId) {
        let Some(live) = self.live.get(&peer) else {
            return;
        };
        if !live.member {
            return;
        }
        let addrs: Vec<weft_net::Multiaddr> = live
            .listen
            .iter()
            .filter_map(|a| a.parse().ok())
            .filter(dialable)
            .collect();
        let net = self.net.clone();
        self.rt.spawn(async move {
            let _ = net.keep(Some(peer), addrs).await;
        });
    }

    /// Opens a session to every connected Weft device that has none: the
    /// first open failed, or the session ended while the connection stayed
    /// up. Only this side's own streams (see `on_net`), and only to peers
    /// that identified as Weft, so other libp2p nodes are not pestered.
    pub(super) fn reopen_missing(&mut self) {
        let me = self.ws.device_id();
        let due: Vec<DeviceId> = self
            .live
            .iter()
            .filter(|(p, l)| {
                me < **p
                    && l.via.is_some_and(|v| v != Via::Relayed)
                    && !self.relays.contains_key(*p)
                    && l.name.is_some()
                    && !self.by_peer.contains_key(*p)
                    && !self.opening.contains(*p)
                    && !self.refused_logged.contains(*p)
            })
            .map(|(p, _)| *p)
            .collect();
        for peer in due {
            self.opening.insert(peer);
            self.node.open(peer);
        }
    }

    /// Writes the rows of members whose state changed.
    pub(super) fn persist(&mut self) {
        let dirty: Vec<DeviceId> = self
            .live
            .iter()
            .filter(|(_, l)| l.dirty && l.member)
            .map(|(d, _)| *d)
            .collect();
        for peer in dirty {
            let (name, addrs, via) = {
                let l = &self.live[&peer];
                let mut addrs = l.listen.clone();
                if addrs.is_empty() {
                    addrs.extend(l.addr.clone());
                }
                (l.name.clone(), addrs, l.via)
            };
            let rec = self.record(peer);
            if let Some(n) = name {
                rec.name = n;
            }
            if !addrs.is_empty() {
                rec.addrs = addrs;
            }
            match via {
                Some(v) => {
                    rec.connection = v.as_str().to_owned();
                    rec.last_seen_ms = now_ms();
                }
                // Keeps `weft peers` true: how it is connected *now*.
                None => rec.connection = "offline".to_owned(),
            }
            let rec = rec.clone();
            match self.ws.record_peer(&rec) {
                Ok(()) => {
                    if let Some(l) = self.live.get_mut(&peer) {
                        l.dirty = false;
                    }
                }
                Err(e) => tracing::warn!(%peer, "saving the peer table: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_device_name_from_the_agent() {
        assert_eq!(
            agent_name("weft/0.1.0 (Ada's laptop)").as_deref(),
            Some("Ada's laptop")
        );
        assert_eq!(agent_name("rust-libp2p/0.47"), None);
        assert_eq!(agent_name("weft/0.1.0"), None);
    }
}
