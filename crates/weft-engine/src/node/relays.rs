//! The device's side of a relay: the control requests (register, forget)
//! over `/weft/relay/1`, and how a relay's refusals turn into a retry time
//! and a status line. The core (`core.rs`) keeps one [`RelayLink`] per
//! configured relay.

use std::collections::HashSet;
use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use weft_core::DeviceId;
use weft_net::{Multiaddr, NetHandle, Protocol};
use weft_store::{RelayRecord, RelayState};
use weft_sync::relay::{MAX_CONTROL_FRAME, Request, Response};
use weft_sync::{RefuseCode, SessionError};

use super::NodeEvent;
use super::core::{Core, CoreMsg};
use crate::workspace::now_ms;

/// A control request gets this long for its answer.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(15);

/// What the core knows of one relay (one peer id, which may have been
/// added at several addresses: a relay on two networks, or an invite's
/// address that this device cannot reach and one it can).
#[derive(Debug)]
pub(crate) struct RelayLink {
    /// Every address it was added at, in table order.
    pub(crate) addrs: Vec<Multiaddr>,
    /// The address the current connection uses, for the circuit slot.
    pub(crate) connected_addr: Option<Multiaddr>,
    /// Its state; saved to every row of this relay.
    pub(crate) rec: RelayRecord,
    /// The workspace is registered there (this run).
    pub(crate) registered: bool,
    /// A control request is in flight.
    pub(crate) busy: bool,
    /// Nothing is tried before this (core time, ms).
    pub(crate) retry_at_ms: u64,
    /// A circuit reservation was asked for on the current connection.
    pub(crate) reserved: bool,
    pub(crate) connected: bool,
    /// `rec` changed and is not saved yet.
    pub(crate) dirty: bool,
}

impl RelayLink {
    pub(crate) fn new(addr: Multiaddr, rec: RelayRecord) -> Self {
        Self {
            addrs: vec![addr],
            connected_addr: None,
            rec,
            registered: false,
            busy: false,
            retry_at_ms: 0,
            reserved: false,
            connected: false,
            dirty: false,
        }
    }

    /// Records how the relay is doing, for `weft status` and `weft relay add`.
    pub(crate) fn set_status(&mut self, state: RelayState, status: String, now_ms: i64) {
        if self.rec.status != status || self.rec.state != state {
            self.rec.state = state;
            self.rec.status = status;
            self.rec.status_ms = Some(now_ms);
            self.dirty = true;
        }
    }
}

/// The relay's peer id: the `/p2p/` at the end of its address.
pub(crate) fn relay_peer(addr: &Multiaddr) -> Option<DeviceId> {
    match addr.iter().last() {
        Some(Protocol::P2p(id)) => weft_net::device_of(&id),
        _ => None,
    }
}

/// After a relay session ended with `e`: how long to wait before trying
/// again, whether the workspace must be registered again, and what to
/// show the user (None: nothing worth showing, e.g. a dropped link).
pub(crate) fn after_session_error(
    e: &SessionError,
) -> (Duration, bool, Option<(RelayState, String)>) {
    match e {
        SessionError::Refused {
            code,
            message,
            retry_after_s,
            ..
        } => {
            // The relay's own word on when to come back (protocol feature
            // `REFUSE_RETRY_AFTER`), within reason; else a default per reason.
            let after = |default: u64| {
                Duration::from_secs(retry_after_s.map_or(default, |s| u64::from(s).clamp(1, 3600)))
            };
            match code {
                RefuseCode::UnknownWorkspace => (Duration::from_secs(1), true, None),
                RefuseCode::QuotaExceeded => (
                    after(60),
                    false,
                    Some((RelayState::QuotaFull, format!("quota full: {message}"))),
                ),
                RefuseCode::RateLimited => (
                    after(30),
                    false,
                    Some((RelayState::RateLimited, message.clone())),
                ),
                _ => (
                    after(60),
                    false,
                    Some((RelayState::Refused, format!("refused: {message}"))),
                ),
            }
        }
        SessionError::NotMember { .. } | SessionError::UnexpectedRole { .. } => (
            Duration::from_secs(600),
            false,
            Some((RelayState::Refused, e.to_string())),
        ),
        _ => (Duration::from_secs(2), false, None),
    }
}

/// Sends one control request and reads the answer.
pub(crate) async fn control(
    net: &NetHandle,
    relay: DeviceId,
    req: Request,
) -> Result<Response, String> {
    let work = async {
        let mut s = net
            .open_stream(relay, weft_net::RELAY_CONTROL_PROTOCOL)
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(&weft_sync::prefixed(&req.encode()))
            .await
            .map_err(|e| e.to_string())?;
        s.flush().await.map_err(|e| e.to_string())?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.map_err(|e| e.to_string())?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_CONTROL_FRAME {
            return Err(format!("the relay answered with {len} bytes"));
        }
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.map_err(|e| e.to_string())?;
        let _ = s.close().await;
        Response::decode(&body).map_err(|e| e.to_string())
    };
    match tokio::time::timeout(CONTROL_TIMEOUT, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the relay did not answer within {} s",
            CONTROL_TIMEOUT.as_secs()
        )),
    }
}

/// The relay state machine of the core: which relays to keep connected, when to
/// register, forget or ask for a circuit slot, and how their answers are recorded.
impl Core {
    /// The relay's connection came up (at `addr`): move it along.
    pub(super) fn relay_connected(&mut self, peer: DeviceId, addr: Multiaddr) {
        if let Some(l) = self.relays.get_mut(&peer) {
            l.connected = true;
            let me = weft_net::peer_of(&peer);
            l.connected_addr = Some(addr.with_p2p(me).unwrap_or_else(|a| a));
        }
        self.relay_next(peer);
    }

    /// The relay's last connection closed: its circuit slot went with it.
    pub(super) fn relay_disconnected(&mut self, peer: DeviceId) {
        if let Some(l) = self.relays.get_mut(&peer) {
            l.connected = false;
            l.reserved = false;
        }
    }

    /// A sync stream to `peer` could not be opened: a relay is tried again soon.
    pub(super) fn relay_open_failed(&mut self, peer: DeviceId) {
        let now = self.now();
        if let Some(l) = self.relays.get_mut(&peer) {
            l.retry_at_ms = now + 2_000;
        }
    }

    /// The relay holds exactly what this device holds.
    pub(super) fn relay_in_sync(&mut self, peer: DeviceId, first: bool) {
        if first {
            tracing::info!(%peer, "in sync with the relay");
        }
        if let Some(l) = self.relays.get_mut(&peer) {
            l.rec.last_sync_ms = Some(now_ms());
            l.set_status(RelayState::Ok, String::new(), now_ms());
            l.dirty = true;
        }
        self.persist_relays();
        self.emit(NodeEvent::Synced { peer });
    }

    /// The session with a relay ended with `e`. A relay is never blocked: its
    /// refusals say when to come back, and what to show.
    pub(super) fn relay_session_failed(&mut self, peer: DeviceId, e: &SessionError) {
        let now = self.now();
        if let Some(l) = self.relays.get_mut(&peer) {
            let (wait, reregister, status) = after_session_error(e);
            l.retry_at_ms = now + wait.as_millis() as u64;
            if reregister {
                l.registered = false;
            }
            match status {
                Some((state, s)) => {
                    tracing::warn!(%peer, "relay: {s}");
                    l.set_status(state, s, now_ms());
                }
                None => tracing::debug!(%peer, "relay session ended: {e}"),
            }
        }
        self.persist_relays();
        self.emit(NodeEvent::SessionEnded {
            peer,
            error: Some(e.to_string()),
        });
    }

    /// Reads the relay table: starts keeping new relays connected, drops
    /// removed ones, and moves each one along (`relay_next`).
    pub(super) fn refresh_relays(&mut self) {
        let rows = match self.ws.relays() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("reading the relay table: {e}");
                return;
            }
        };
        let mut seen = HashSet::new();
        let mut forget: HashSet<DeviceId> = HashSet::new();
        for rec in rows {
            let addr: weft_net::Multiaddr = match rec.addr.parse() {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("ignoring the relay address {}: {e}", rec.addr);
                    continue;
                }
            };
            let Some(peer) = relay_peer(&addr) else {
                tracing::warn!("ignoring the relay address {}: no /p2p/ peer id", rec.addr);
                continue;
            };
            if rec.forget {
                forget.insert(peer);
            }
            seen.insert(peer);
            match self.relays.get_mut(&peer) {
                // Another address of a relay already known (this run or
                // this pass): dial it too.
                Some(l) if !l.addrs.contains(&addr) => {
                    l.addrs.push(addr.clone());
                    // The new row shows the relay's state, and if the
                    // session is in sync right now, says so (that is what
                    // `weft relay add` waits for).
                    l.dirty = true;
                    let in_sync = self
                        .by_peer
                        .get(&peer)
                        .and_then(|k| self.conns.get(k))
                        .is_some_and(|c| {
                            c.session.is_open()
                                && self
                                    .ws
                                    .version_vector()
                                    .is_ok_and(|v| *c.session.remote_has() == v)
                        });
                    if in_sync {
                        l.rec.last_sync_ms = Some(now_ms());
                    }
                    let net = self.net.clone();
                    self.rt.spawn(async move {
                        let _ = net.keep(Some(peer), vec![addr]).await;
                    });
                }
                Some(_) => {}
                None => {
                    tracing::info!(%peer, "using the relay {addr}");
                    let net = self.net.clone();
                    let a = addr.clone();
                    self.rt.spawn(async move {
                        let _ = net.keep(Some(peer), vec![a]).await;
                    });
                    self.relays.insert(peer, RelayLink::new(addr, rec));
                }
            }
        }
        self.relays.retain(|p, _| seen.contains(p));
        for (p, l) in self.relays.iter_mut() {
            l.rec.forget = forget.contains(p);
        }
        self.persist_relays();
        let peers: Vec<DeviceId> = self.relays.keys().copied().collect();
        for p in peers {
            self.relay_next(p);
        }
        self.reach_members_through_relays();
    }

    /// The next step for a connected relay: forget, register, reserve a
    /// circuit slot, open the sync session.
    pub(super) fn relay_next(&mut self, peer: DeviceId) {
        let now = self.now();
        let has_session = self.by_peer.contains_key(&peer);
        let opening = self.opening.contains(&peer);
        let Some(l) = self.relays.get_mut(&peer) else {
            return;
        };
        if !l.connected || l.busy || now < l.retry_at_ms {
            return;
        }
        use weft_sync::relay::RequestKind;
        let kind = if l.rec.forget {
            Some(RequestKind::Forget)
        } else if !l.registered {
            Some(RequestKind::Register)
        } else {
            None
        };
        if let Some(kind) = kind {
            l.busy = true;
            let req = self.ws.relay_request(kind, peer);
            let net = self.net.clone();
            let core = self.node.core.clone();
            self.rt.spawn(async move {
                let result = control(&net, peer, req).await;
                let _ = core.send(CoreMsg::RelayReply { peer, kind, result }).await;
            });
            return;
        }
        if !l.reserved {
            l.reserved = true;
            let base = l
                .connected_addr
                .clone()
                .unwrap_or_else(|| l.addrs[0].clone());
            let circuit = base.with(weft_net::Protocol::P2pCircuit);
            let net = self.net.clone();
            self.rt.spawn(async move {
                if let Err(e) = net.listen_on(circuit).await {
                    tracing::debug!("reserving a circuit slot: {e}");
                }
            });
        }
        if !has_session && !opening {
            self.opening.insert(peer);
            self.node.open(peer);
        }
    }

    pub(super) fn relay_reply(
        &mut self,
        peer: DeviceId,
        kind: weft_sync::relay::RequestKind,
        result: Result<weft_sync::relay::Response, String>,
    ) {
        use weft_sync::relay::{RequestKind, Response};
        let now = self.now();
        let Some(l) = self.relays.get_mut(&peer) else {
            return;
        };
        l.busy = false;
        // A relay that no longer knows the workspace (another device forgot
        // it first) has nothing left to delete: the forget is done.
        let result = match (kind, result) {
            (
                RequestKind::Forget,
                Ok(Response::Error {
                    code: weft_sync::relay::ControlError::UnknownWorkspace,
                    ..
                }),
            ) => Ok(Response::Ok(weft_sync::relay::Usage::default())),
            (_, r) => r,
        };
        match (kind, result) {
            (RequestKind::Forget, Ok(Response::Ok(u))) => {
                tracing::info!(%peer, changes = u.changes, bytes = u.bytes, "the relay deleted this workspace");
                let addrs: Vec<String> = l.addrs.iter().map(|a| a.to_string()).collect();
                self.relays.remove(&peer);
                if let Some(k) = self.by_peer.get(&peer).copied() {
                    self.remove(k);
                }
                for addr in addrs {
                    if let Err(e) = self.ws.remove_relay(&addr) {
                        tracing::warn!("removing the relay {addr}: {e}");
                    }
                }
                // The connection is no longer wanted; it idles out.
                self.emit(NodeEvent::RelayForgotten {
                    relay: peer,
                    changes: u.changes,
                    bytes: u.bytes,
                });
                return;
            }
            (_, Ok(Response::Ok(u))) => {
                l.registered = true;
                l.rec.registered_ms = Some(now_ms());
                l.rec.used_bytes = i64::try_from(u.bytes).ok();
                l.rec.quota_bytes = i64::try_from(u.quota).ok();
                l.set_status(RelayState::Ok, String::new(), now_ms());
                l.dirty = true;
            }
            (_, Ok(Response::Error { code, message })) => {
                tracing::warn!(%peer, ?code, "the relay refused: {message}");
                l.set_status(RelayState::Refused, format!("refused: {message}"), now_ms());
                l.retry_at_ms = now + 60_000;
            }
            (_, Err(e)) => {
                tracing::debug!(%peer, "relay control: {e}");
                l.set_status(
                    RelayState::Unreachable,
                    format!("unreachable: {e}"),
                    now_ms(),
                );
                l.retry_at_ms = now + 5_000;
            }
        }
        self.persist_relays();
        self.relay_next(peer);
    }

    /// Asks the network to reach every known member that is not connected
    /// through each relay's circuit (and hole-punch from there).
    pub(super) fn reach_members_through_relays(&mut self) {
        let relays: Vec<(DeviceId, weft_net::Multiaddr)> = self
            .relays
            .iter()
            .filter(|(_, l)| l.registered)
            .map(|(p, l)| {
                (
                    *p,
                    l.connected_addr
                        .clone()
                        .unwrap_or_else(|| l.addrs[0].clone()),
                )
            })
            .collect();
        if relays.is_empty() {
            return;
        }
        // Members: the devices met before, and every author of a change
        // held (a change that verified and decrypted proves its author
        // holds the workspace key), so two devices that only ever met
        // through the relay still find each other.
        let me = self.ws.device_id();
        let mut members: HashSet<DeviceId> = self.records.keys().copied().collect();
        if let Ok(v) = self.ws.version_vector() {
            members.extend(v.iter().map(|(a, _)| *a));
        }
        members.remove(&me);
        for m in members {
            for (r, addr) in &relays {
                if !self.circuits.insert((m, *r)) {
                    continue;
                }
                let circuit = addr
                    .clone()
                    .with(weft_net::Protocol::P2pCircuit)
                    .with(weft_net::Protocol::P2p(weft_net::peer_of(&m)));
                let net = self.net.clone();
                self.rt.spawn(async move {
                    let _ = net.keep(Some(m), vec![circuit]).await;
                });
            }
        }
    }

    /// Saves the relays whose state changed.
    pub(super) fn persist_relays(&mut self) {
        let mut saved = Vec::new();
        for (peer, l) in self.relays.iter_mut().filter(|(_, l)| l.dirty) {
            // Every row of this relay shows its state.
            let mut ok = true;
            for a in &l.addrs {
                let mut rec = l.rec.clone();
                rec.addr = a.to_string();
                if let Err(e) = self.ws.update_relay(&rec) {
                    tracing::warn!("saving the relay table: {e}");
                    ok = false;
                }
            }
            if ok {
                l.dirty = false;
                saved.push(*peer);
            }
        }
        for relay in saved {
            self.emit(NodeEvent::RelayUpdated { relay });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_retry_time_is_obeyed_within_reason() {
        let refused = |code, retry_after_s| SessionError::Refused {
            peer: DeviceId::from_public_key([7; 32]),
            code,
            message: "rate limited: this relay accepts 4096 KiB/s per device".into(),
            retry_after_s,
        };
        let (wait, again, status) =
            after_session_error(&refused(RefuseCode::RateLimited, Some(31)));
        assert_eq!(wait, Duration::from_secs(31));
        assert!(!again);
        assert_eq!(status.map(|s| s.0), Some(RelayState::RateLimited));
        // No typed time (an older relay): the default, not a number read from prose.
        let (wait, ..) = after_session_error(&refused(RefuseCode::RateLimited, None));
        assert_eq!(wait, Duration::from_secs(30));
        // A relay cannot park a device for days.
        let (wait, ..) = after_session_error(&refused(RefuseCode::QuotaExceeded, Some(u32::MAX)));
        assert_eq!(wait, Duration::from_secs(3600));
    }
}
