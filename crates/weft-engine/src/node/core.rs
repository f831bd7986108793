//! The core thread: owns the Workspace and every session, and is the only
//! place either is touched. Its loop takes one message at a time; nothing
//! in it awaits the network.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot};
use weft_core::{DeviceId, VersionVector};
use weft_net::host::{Link, Transmit};
use weft_net::{NetEvent, NetHandle, Via};
use weft_store::PeerRecord;
use weft_sync::{Event, Limits, Role, Session, SessionError};

use super::lock::NodeLock;
use super::peers::{agent_name, dialable};
use super::relays::RelayLink;
use super::{NodeEvent, NodeHandle, REFUSED_FOR, SessionInfo};
use crate::workspace::now_ms;
use crate::{EngineError, Workspace};

/// Peer rows are written at most this often (and on shutdown).
const PERSIST_EVERY_MS: u64 = 1_000;

pub(crate) enum CoreMsg {
    Attach {
        key: u64,
        peer: DeviceId,
        /// The owner's end of the stream.
        link: Link,
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

/// Which kind of peer a session is with, fixed when its stream attaches: the
/// core hands a relay's events to the relay state machine (`relays.rs`) and a
/// device's to the device bookkeeping (`peers.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PeerKind {
    /// Another device of the workspace.
    Device,
    /// A configured relay.
    Relay,
}

pub(super) struct Conn {
    pub(super) peer: DeviceId,
    pub(super) kind: PeerKind,
    pub(super) session: Session,
    /// The stream. Dropped with the Conn: its reader stops, so a session that
    /// ended (timeout, replacement) holds no buffers, and its writer sends what
    /// is queued and closes it.
    pub(super) link: Link,
    pub(super) announced_sync: bool,
}

/// What is known of a peer beyond its stored row.
#[derive(Default)]
pub(super) struct Live {
    pub(super) via: Option<Via>,
    pub(super) addr: Option<String>,
    pub(super) name: Option<String>,
    pub(super) listen: Vec<String>,
    pub(super) member: bool,
    pub(super) dirty: bool,
}

pub(crate) struct Core {
    pub(super) ws: Workspace,
    pub(super) lock: NodeLock,
    pub(super) net: NetHandle,
    pub(super) rt: tokio::runtime::Handle,
    pub(super) node: NodeHandle,
    pub(super) events: broadcast::Sender<NodeEvent>,
    pub(super) conns: HashMap<u64, Conn>,
    pub(super) by_peer: HashMap<DeviceId, u64>,
    pub(super) opening: HashSet<DeviceId>,
    pub(super) records: HashMap<DeviceId, PeerRecord>,
    pub(super) live: HashMap<DeviceId, Live>,
    pub(super) refused_logged: HashSet<DeviceId>,
    pub(super) data_version: i64,
    pub(super) started: Instant,
    pub(super) last_persist_ms: u64,
    /// The configured relays, by peer id.
    pub(super) relays: HashMap<DeviceId, RelayLink>,
    /// (member, relay) pairs already asked to be reached through a circuit.
    pub(super) circuits: HashSet<(DeviceId, DeviceId)>,
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

    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn emit(&self, ev: NodeEvent) {
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
            CoreMsg::Attach { key, peer, link } => self.attach(key, peer, link),
            CoreMsg::Frame { key, body } => {
                let now = self.now();
                let Some(c) = self.conns.get_mut(&key) else {
                    return;
                };
                let r = c.session.handle_frame(&body, now, &self.ws.sync_log());
                // Before anything is sent back: our `have` is what lets the
                // peer start streaming, and its reader must not cut it off.
                if c.session.is_open() {
                    c.link.set_authenticated();
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
                self.relay_open_failed(peer);
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

    fn attach(&mut self, key: u64, peer: DeviceId, link: Link) {
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
        let (kind, role) = if self.relays.contains_key(&peer) {
            (PeerKind::Relay, Role::Relay)
        } else {
            (PeerKind::Device, Role::Device)
        };
        let session = self
            .ws
            .sync_session(peer, role, Limits::default(), nonce, now);
        self.conns.insert(
            key,
            Conn {
                peer,
                kind,
                session,
                link,
                announced_sync: false,
            },
        );
        self.by_peer.insert(peer, key);
        self.pump(key);
    }

    pub(super) fn remove(&mut self, key: u64) -> Option<Conn> {
        let c = self.conns.remove(&key)?;
        if self.by_peer.get(&c.peer) == Some(&key) {
            self.by_peer.remove(&c.peer);
        }
        Some(c)
    }

    /// Sends what the session has to send while the peer's queue has room,
    /// then handles the session's events.
    pub(super) fn pump(&mut self, key: u64) {
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
            match c.link.transmit(&mut c.session, now, &self.ws.sync_log()) {
                // Storing changes may have queued an acknowledgement: send it.
                Transmit::Idle => {
                    if !self.drain_events(key) {
                        break;
                    }
                }
                Transmit::Full => break,
                Transmit::Closed => return,
                Transmit::Failed(e) => {
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
            let (peer, kind) = (c.peer, c.kind);
            match ev {
                Event::Authenticated { .. } => {
                    self.authenticated(peer, kind);
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
                Event::RemoteHas(_) if kind == PeerKind::Relay => self.progress(),
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
                Event::InSync if kind == PeerKind::Relay => {
                    let first = !c.announced_sync;
                    c.announced_sync = true;
                    self.relay_in_sync(peer, first);
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

    pub(super) fn fail(&mut self, key: u64, e: SessionError) {
        // Send the refusal frame the session queued, then let go.
        let now = self.now();
        if let Some(c) = self.conns.get_mut(&key) {
            c.link.flush(&mut c.session, now, &self.ws.sync_log());
        }
        let Some(c) = self.remove(key) else {
            return;
        };
        let peer = c.peer;
        if c.kind == PeerKind::Relay {
            self.relay_session_failed(peer, &e);
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

    /// The log grew locally (an edit here or in another process): offer it
    /// to every peer.
    fn local_change(&mut self) {
        // `data_version` is not taken here: this connection's own commits do not
        // change it, so reading it now could only swallow another process's
        // commit made since the last tick, which would then never be merged into
        // the open documents nor reported (seen when a `weft` command wrote
        // while a call on the node was returning).
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
                self.relay_connected(peer, addr);
            }
            NetEvent::Disconnected { peer } if self.relays.contains_key(&peer) => {
                self.relay_disconnected(peer);
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
