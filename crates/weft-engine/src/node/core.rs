//! The core thread: owns the Workspace and every session, and is the only
//! place either is touched. Its loop takes one message at a time; nothing
//! in it awaits the network.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot};
use weft_core::{DeviceId, VersionVector};
use weft_net::{NetEvent, NetHandle, Via};
use weft_store::{PeerRecord, RelayState};
use weft_sync::{Event, Limits, Role, Session, SessionError, prefixed};

use super::lock::NodeLock;
use super::relays::{self, RelayLink};
use super::{NodeEvent, NodeHandle, REFUSED_FOR, SessionInfo};
use crate::workspace::now_ms;
use crate::{EngineError, Workspace};

/// Peer rows are written at most this often (and on shutdown).
const PERSIST_EVERY_MS: u64 = 1_000;

pub(crate) enum CoreMsg {
    Attach {
        key: u64,
        peer: DeviceId,
        tx: mpsc::Sender<Vec<u8>>,
        wake: Arc<AtomicBool>,
        /// Set once the peer proved membership (the reader's size bound).
        authenticated: Arc<AtomicBool>,
        /// Dropping it stops the reader.
        stop_reader: oneshot::Sender<()>,
    },
    Frame {
        key: u64,
        body: Vec<u8>,
    },
    Detach {
        key: u64,
        reason: String,
    },
    Writable {
        key: u64,
    },
    OpenFailed {
        peer: DeviceId,
    },
    /// A relay control request finished.
    RelayReply {
        peer: DeviceId,
        kind: weft_sync::relay::RequestKind,
        result: Result<weft_sync::relay::Response, String>,
    },
    Tick,
    Net(NetEvent),
    Call(Box<dyn FnOnce(&mut Workspace) + Send>),
    Sessions(oneshot::Sender<Vec<SessionInfo>>),
    Shutdown(oneshot::Sender<Result<(), EngineError>>),
}

struct Conn {
    /// Dropped with the Conn: tells the stream's reader to stop, so a
    /// session that ended (timeout, replacement) holds no buffers.
    _stop_reader: oneshot::Sender<()>,
    peer: DeviceId,
    session: Session,
    tx: mpsc::Sender<Vec<u8>>,
    wake: Arc<AtomicBool>,
    /// Set once the peer proved membership, for the reader's size bound
    /// (the core itself asks `session.is_open()`).
    authenticated_flag: Arc<AtomicBool>,
    announced_sync: bool,
}

/// What is known of a peer beyond its stored row.
#[derive(Default)]
struct Live {
    via: Option<Via>,
    addr: Option<String>,
    name: Option<String>,
    listen: Vec<String>,
    member: bool,
    dirty: bool,
}

pub(crate) struct Core {
    ws: Workspace,
    lock: NodeLock,
    net: NetHandle,
    rt: tokio::runtime::Handle,
    node: NodeHandle,
    events: broadcast::Sender<NodeEvent>,
    conns: HashMap<u64, Conn>,
    by_peer: HashMap<DeviceId, u64>,
    opening: HashSet<DeviceId>,
    records: HashMap<DeviceId, PeerRecord>,
    live: HashMap<DeviceId, Live>,
    refused_logged: HashSet<DeviceId>,
    data_version: i64,
    started: Instant,
    last_persist_ms: u64,
    /// The configured relays, by peer id.
    relays: HashMap<DeviceId, RelayLink>,
    /// (member, relay) pairs already asked to be reached through a circuit.
    circuits: HashSet<(DeviceId, DeviceId)>,
}

/// Is `e` the other side not being a member of this workspace (as opposed
/// to a broken link or a bug)?
fn is_refusal(e: &SessionError) -> bool {
    matches!(
        e,
        SessionError::NotMember { .. }
            | SessionError::WrongWorkspace { .. }
            | SessionError::UnexpectedRole { .. }
            | SessionError::Refused { .. }
    )
}

/// The name in an identify agent string `weft/<version> (<name>)`.
fn agent_name(agent: &str) -> Option<String> {
    let rest = agent.strip_prefix("weft/")?;
    let open = rest.find('(')?;
    let close = rest.rfind(')')?;
    (close > open).then(|| rest[open + 1..close].trim().to_owned())
}

/// An address worth dialling again: not loopback, not unspecified.
fn dialable(addr: &weft_net::Multiaddr) -> bool {
    use weft_net::Protocol;
    addr.iter().all(|p| match p {
        Protocol::Ip4(ip) => !ip.is_loopback() && !ip.is_unspecified(),
        Protocol::Ip6(ip) => !ip.is_loopback() && !ip.is_unspecified(),
        _ => true,
    })
}

fn total(v: &VersionVector) -> u64 {
    // Saturating: the seqs come from a peer's `have`.
    v.iter().fold(0u64, |t, (_, s)| t.saturating_add(*s))
}

impl Core {
    pub(crate) fn new(
        ws: Workspace,
        lock: NodeLock,
        net: NetHandle,
        rt: tokio::runtime::Handle,
        node: NodeHandle,
        events: broadcast::Sender<NodeEvent>,
    ) -> Result<Self, EngineError> {
        let records = ws.peers()?.into_iter().map(|p| (p.device, p)).collect();
        let data_version = ws.store.data_version()?;
        Ok(Self {
            ws,
            lock,
            net,
            rt,
            node,
            events,
            conns: HashMap::new(),
            by_peer: HashMap::new(),
            opening: HashSet::new(),
            records,
            live: HashMap::new(),
            refused_logged: HashSet::new(),
            data_version,
            started: Instant::now(),
            last_persist_ms: 0,
            relays: HashMap::new(),
            circuits: HashSet::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn emit(&self, ev: NodeEvent) {
        // No subscriber is fine: events are for whoever listens.
        let _ = self.events.send(ev);
    }

    pub(crate) fn run(mut self, mut rx: mpsc::Receiver<CoreMsg>) {
        // Spawning network work (`NodeHandle::open`) from this thread.
        let rt = self.rt.clone();
        let _in_runtime = rt.enter();
        self.refresh_relays();
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                CoreMsg::Shutdown(reply) => {
                    let r = self.shutdown();
                    let _ = reply.send(r);
                    return;
                }
                msg => self.handle(msg),
            }
        }
        // Every sender is gone without a shutdown: still close cleanly.
        if let Err(e) = self.shutdown() {
            tracing::warn!("closing the workspace: {e}");
        }
    }

    fn handle(&mut self, msg: CoreMsg) {
        match msg {
            CoreMsg::Attach {
                key,
                peer,
                tx,
                wake,
                authenticated,
                stop_reader,
            } => self.attach(key, peer, tx, wake, authenticated, stop_reader),
            CoreMsg::Frame { key, body } => {
                let now = self.now();
                let Some(c) = self.conns.get_mut(&key) else {
                    return;
                };
                let r = c.session.handle_frame(&body, now, &self.ws.sync_log());
                // Before anything is sent back: our `have` is what lets the
                // peer start streaming, and its reader must not cut it off.
                if c.session.is_open() {
                    c.authenticated_flag.store(true, Ordering::Release);
                }
                match r {
                    Ok(()) => self.pump(key),
                    Err(e) => self.fail(key, e),
                }
            }
            CoreMsg::Detach { key, reason } => {
                if let Some(c) = self.remove(key) {
                    tracing::debug!(peer = %c.peer, "sync stream closed: {reason}");
                    self.emit(NodeEvent::SessionEnded {
                        peer: c.peer,
                        error: None,
                    });
                }
            }
            CoreMsg::Writable { key } => self.pump(key),
            CoreMsg::OpenFailed { peer } => {
                self.opening.remove(&peer);
                if let Some(l) = self.relays.get_mut(&peer) {
                    l.retry_at_ms = self.started.elapsed().as_millis() as u64 + 2_000;
                }
            }
            CoreMsg::RelayReply { peer, kind, result } => self.relay_reply(peer, kind, result),
            CoreMsg::Tick => self.tick(),
            CoreMsg::Net(ev) => self.on_net(ev),
            CoreMsg::Call(job) => {
                job(&mut self.ws);
                self.local_change();
            }
            CoreMsg::Sessions(reply) => {
                let ours = self.ws.version_vector().unwrap_or_default();
                let list = self
                    .conns
                    .values()
                    .map(|c| SessionInfo {
                        peer: c.peer,
                        name: self.display_name(c.peer),
                        authenticated: c.session.is_open(),
                        in_sync: c.session.is_open() && *c.session.remote_has() == ours,
                        stats: c.session.stats().clone(),
                    })
                    .collect();
                let _ = reply.send(list);
            }
            CoreMsg::Shutdown(_) => {}
        }
    }

    fn attach(
        &mut self,
        key: u64,
        peer: DeviceId,
        tx: mpsc::Sender<Vec<u8>>,
        wake: Arc<AtomicBool>,
        authenticated_flag: Arc<AtomicBool>,
        stop_reader: oneshot::Sender<()>,
    ) {
        self.opening.remove(&peer);
        // A newer stream replaces an older one to the same peer: after a
        // reconnect the old one may linger until its connection times out.
        if let Some(old) = self.by_peer.get(&peer).copied() {
            self.remove(old);
        }
        let mut nonce = [0u8; 32];
        if let Err(e) = getrandom::fill(&mut nonce) {
            tracing::error!("no randomness for a session nonce: {e}");
            return;
        }
        let now = self.now();
        // A configured relay is held to being one: a device answering at a
        // relay's address would otherwise be trusted as a peer device.
        let role = if self.relays.contains_key(&peer) {
            Role::Relay
        } else {
            Role::Device
        };
        let session = self
            .ws
            .sync_session(peer, role, Limits::default(), nonce, now);
        self.conns.insert(
            key,
            Conn {
                _stop_reader: stop_reader,
                peer,
                session,
                tx,
                wake,
                authenticated_flag,
                announced_sync: false,
            },
        );
        self.by_peer.insert(peer, key);
        self.pump(key);
    }

    fn remove(&mut self, key: u64) -> Option<Conn> {
        let c = self.conns.remove(&key)?;
        if self.by_peer.get(&c.peer) == Some(&key) {
            self.by_peer.remove(&c.peer);
        }
        Some(c)
    }

    /// Sends what the session has to send while the peer's queue has room,
    /// then handles the session's events.
    fn pump(&mut self, key: u64) {
        // Events first: a `changes` frame queued its Store event and an
        // acknowledgement, and the acknowledgement must be read from the log
        // *after* those changes are stored, or it does not cover them and
        // the sender waits for the next keepalive to learn that we have them.
        self.drain_events(key);
        loop {
            let now = self.now();
            let Some(c) = self.conns.get_mut(&key) else {
                return;
            };
            let permit = match c.tx.try_reserve() {
                Ok(p) => p,
                Err(mpsc::error::TrySendError::Full(())) => {
                    c.wake.store(true, Ordering::Release);
                    // The writer may have emptied the queue between the
                    // failed reserve and the flag, and be parked without
                    // seeing it: try once more before waiting for it.
                    match c.tx.try_reserve() {
                        Ok(p) => {
                            c.wake.store(false, Ordering::Release);
                            p
                        }
                        Err(_) => break,
                    }
                }
                Err(mpsc::error::TrySendError::Closed(())) => {
                    // The writer is gone; its reader reports the detach.
                    return;
                }
            };
            match c.session.poll_transmit(now, &self.ws.sync_log()) {
                Ok(Some(body)) => {
                    permit.send(prefixed(&body));
                }
                Ok(None) => {
                    drop(permit);
                    if !self.drain_events(key) {
                        break;
                    }
                    // Storing changes queued an acknowledgement: send it.
                }
                Err(e) => {
                    drop(permit);
                    self.fail(key, e);
                    return;
                }
            }
        }
        self.drain_events(key);
    }

    /// Handles the session's pending events; true if any of them may have
    /// given the session more to send.
    fn drain_events(&mut self, key: u64) -> bool {
        let mut more = false;
        loop {
            let Some(c) = self.conns.get_mut(&key) else {
                return false;
            };
            let Some(ev) = c.session.poll_event() else {
                return more;
            };
            let peer = c.peer;
            match ev {
                Event::Authenticated { .. } => {
                    self.authenticated(peer);
                    more = true;
                }
                Event::Store(list) => {
                    match self.ws.ingest(list) {
                        Ok(out) => {
                            for (author, seq, why) in &out.refused {
                                tracing::warn!(%peer, "refused change {seq} of {author}: {why}");
                            }
                            if out.stored > 0 {
                                self.emit(NodeEvent::DocsChanged { docs: out.docs });
                                // Pass them on to every other peer, and tell
                                // this session too: that is how it learns
                                // that both sides now hold the same (InSync).
                                for other in self.conns.values_mut() {
                                    other.session.notify_local_change();
                                }
                                let others: Vec<u64> =
                                    self.conns.keys().copied().filter(|k| *k != key).collect();
                                for k in others {
                                    self.pump(k);
                                }
                                self.progress();
                            }
                        }
                        Err(e) => {
                            // Nothing was acknowledged: the peer sends again
                            // on the next session.
                            tracing::error!(%peer, "storing changes: {e}");
                            if let Some(c) = self.remove(key) {
                                self.emit(NodeEvent::SessionEnded {
                                    peer: c.peer,
                                    error: Some(e.to_string()),
                                });
                            }
                            return false;
                        }
                    }
                    more = true;
                }
                Event::Rejected {
                    change,
                    code,
                    detail,
                    ..
                } => {
                    tracing::warn!(%peer, ?change, ?code, "rejected a change: {detail}");
                }
                Event::RemoteHas(_) if self.relays.contains_key(&peer) => self.progress(),
                Event::RemoteHas(v) => {
                    let rec = self.record(peer);
                    rec.vector = v;
                    rec.last_seen_ms = now_ms();
                    self.live.entry(peer).or_default().dirty = true;
                    self.progress();
                }
                Event::PeerRejected(list) => {
                    tracing::warn!(%peer, "the peer refused {} of our changes", list.len());
                }
                Event::InSync if self.relays.contains_key(&peer) => {
                    let first = !c.announced_sync;
                    c.announced_sync = true;
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
                Event::InSync => {
                    let first = !c.announced_sync;
                    c.announced_sync = true;
                    let name = self.display_name(peer);
                    if first {
                        tracing::info!(%peer, "in sync with {name}");
                    } else {
                        tracing::debug!(%peer, "in sync with {name}");
                    }
                    let rec = self.record(peer);
                    rec.last_sync_ms = Some(now_ms());
                    self.live.entry(peer).or_default().dirty = true;
                    // Saved now, not on the next periodic write: this is
                    // what `weft status DOC` reads to say who has the latest.
                    self.persist();
                    self.emit(NodeEvent::Synced { peer });
                }
                _ => {}
            }
        }
    }

    fn progress(&self) {
        let Ok(mut known) = self.ws.version_vector() else {
            return;
        };
        let held = total(&known);
        for c in self.conns.values() {
            known.merge(c.session.remote_has());
        }
        self.emit(NodeEvent::Progress {
            held,
            known: total(&known),
        });
    }

    fn display_name(&self, peer: DeviceId) -> String {
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

    fn record(&mut self, peer: DeviceId) -> &mut PeerRecord {
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

    fn authenticated(&mut self, peer: DeviceId) {
        if self.relays.contains_key(&peer) {
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
    fn keep(&self, peer: DeviceId) {
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

    fn fail(&mut self, key: u64, e: SessionError) {
        // Send the refusal frame the session queued, then let go.
        let now = self.now();
        if let Some(c) = self.conns.get_mut(&key) {
            while let Ok(permit) = c.tx.try_reserve() {
                match c.session.poll_transmit(now, &self.ws.sync_log()) {
                    Ok(Some(body)) => {
                        permit.send(prefixed(&body));
                    }
                    _ => break,
                }
            }
        }
        let Some(c) = self.remove(key) else {
            return;
        };
        let peer = c.peer;
        if let Some(l) = self.relays.get_mut(&peer) {
            // A relay is never blocked: its refusals say when to come back.
            let (wait, reregister, status) = relays::after_session_error(&e);
            l.retry_at_ms = self.started.elapsed().as_millis() as u64 + wait.as_millis() as u64;
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
            self.persist_relays();
            self.emit(NodeEvent::SessionEnded {
                peer,
                error: Some(e.to_string()),
            });
            return;
        }
        if is_refusal(&e) {
            // Once per peer per run: mDNS rediscovers a stranger every
            // query interval, and a log line each time would be a loop.
            if self.refused_logged.insert(peer) {
                tracing::warn!(%peer, "refused: {e}");
            } else {
                tracing::debug!(%peer, "refused again: {e}");
            }
            let net = self.net.clone();
            self.rt.spawn(async move {
                let _ = net.block(peer, REFUSED_FOR).await;
            });
            self.emit(NodeEvent::Refused {
                peer,
                reason: e.to_string(),
            });
        } else {
            tracing::warn!(%peer, "sync session ended: {e}");
            self.emit(NodeEvent::SessionEnded {
                peer,
                error: Some(e.to_string()),
            });
        }
    }

    fn tick(&mut self) {
        let now = self.now();
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            let Some(c) = self.conns.get_mut(&key) else {
                continue;
            };
            match c.session.handle_tick(now) {
                Ok(()) => self.pump(key),
                Err(e) => self.fail(key, e),
            }
        }
        match self.ws.store.data_version() {
            Ok(v) if v != self.data_version => {
                self.data_version = v;
                // Another process wrote to the file: what it changed is
                // merged into the open documents (the app shows it) and
                // offered to peers.
                match self.ws.catch_up() {
                    Ok(docs) if !docs.is_empty() => self.emit(NodeEvent::DocsChanged { docs }),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("reading what another process wrote: {e}"),
                }
                self.local_change();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("polling the database: {e}"),
        }
        if now.saturating_sub(self.last_persist_ms) >= PERSIST_EVERY_MS {
            self.last_persist_ms = now;
            self.persist();
            self.refresh_relays();
            self.reopen_missing();
        }
    }

    /// Opens a session to every connected Weft device that has none: the
    /// first open failed, or the session ended while the connection stayed
    /// up. Only this side's own streams (see `on_net`), and only to peers
    /// that identified as Weft, so other libp2p nodes are not pestered.
    fn reopen_missing(&mut self) {
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

    /// The log grew locally (an edit here or in another process): offer it
    /// to every peer.
    fn local_change(&mut self) {
        if let Ok(v) = self.ws.store.data_version() {
            self.data_version = v;
        }
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            if let Some(c) = self.conns.get_mut(&key) {
                c.session.notify_local_change();
            }
            self.pump(key);
        }
    }

    fn on_net(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Listening(addr) => {
                let peer = weft_net::peer_of(&self.ws.device_id());
                let full = addr.clone().with_p2p(peer).unwrap_or(addr);
                self.lock.add_addr(full.to_string());
                self.emit(NodeEvent::Listening(full));
            }
            NetEvent::Connected { peer, addr, .. } if self.relays.contains_key(&peer) => {
                if let Some(l) = self.relays.get_mut(&peer) {
                    l.connected = true;
                    let me = weft_net::peer_of(&peer);
                    l.connected_addr = Some(addr.with_p2p(me).unwrap_or_else(|a| a));
                }
                self.relay_next(peer);
            }
            NetEvent::Disconnected { peer } if self.relays.contains_key(&peer) => {
                if let Some(l) = self.relays.get_mut(&peer) {
                    l.connected = false;
                    l.reserved = false;
                }
            }
            NetEvent::Connected { peer, addr, via } => {
                // Over a relay's circuit there is no session (see below), so
                // no proof; but the circuit was dialled only to members
                // (`reach_members_through_relays`), by the peer id Noise
                // authenticated, so it counts as one for `weft peers`.
                let known_member = via == Via::Relayed
                    && (self.records.contains_key(&peer)
                        || self.ws.version_vector().is_ok_and(|v| v.get(&peer) > 0));
                let live = self.live.entry(peer).or_default();
                live.via = Some(via);
                live.addr = Some(addr.to_string());
                live.dirty = true;
                if known_member {
                    live.member = true;
                }
                self.emit(NodeEvent::PeerConnected { peer, via });
                // One stream per pair: the device with the lower id opens
                // it, so two devices that dial each other at once still end
                // up with one session.
                // Not over a relayed circuit: it carries 128 KiB for two
                // minutes, enough to hole-punch, not to sync; the relay
                // itself carries the changes meanwhile.
                if self.ws.device_id() < peer
                    && via != Via::Relayed
                    && !self.by_peer.contains_key(&peer)
                    && self.opening.insert(peer)
                {
                    self.node.open(peer);
                }
            }
            NetEvent::Disconnected { peer } => {
                if let Some(l) = self.live.get_mut(&peer) {
                    l.via = None;
                    l.dirty = true;
                    // Only members are worth remembering: a stranger's entry
                    // would otherwise stay for as long as the node runs.
                    if !l.member {
                        self.live.remove(&peer);
                    }
                }
                self.emit(NodeEvent::PeerDisconnected { peer });
            }
            NetEvent::Identified {
                peer,
                agent,
                listen_addrs,
            } => {
                let live = self.live.entry(peer).or_default();
                live.name = agent_name(&agent);
                live.listen = listen_addrs
                    .iter()
                    .filter(|a| dialable(a))
                    .map(|a| a.to_string())
                    .collect();
                live.dirty = true;
                let member = live.member;
                if member {
                    self.keep(peer);
                }
            }
            NetEvent::Discovered { .. } | NetEvent::DialFailed { .. } => {}
            _ => {}
        }
    }

    /// Writes the rows of members whose state changed.
    fn persist(&mut self) {
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

    /// Reads the relay table: starts keeping new relays connected, drops
    /// removed ones, and moves each one along (`relay_next`).
    fn refresh_relays(&mut self) {
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
            let Some(peer) = relays::relay_peer(&addr) else {
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
    fn relay_next(&mut self, peer: DeviceId) {
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
                let result = relays::control(&net, peer, req).await;
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

    fn relay_reply(
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
    fn reach_members_through_relays(&mut self) {
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
    fn persist_relays(&mut self) {
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

    fn shutdown(mut self) -> Result<(), EngineError> {
        // Acknowledgements owed are sent; nothing unacknowledged is lost,
        // since every acknowledged change is already committed.
        let keys: Vec<u64> = self.conns.keys().copied().collect();
        for key in keys {
            self.pump(key);
        }
        for l in self.live.values_mut() {
            l.dirty = l.member;
            l.via = None;
        }
        self.persist();
        self.persist_relays();
        self.conns.clear();
        self.ws.close()
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
