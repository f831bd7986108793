//! The task that owns the Swarm. Everything else reaches it through
//! [`crate::NetHandle`]; it reports through a bounded event channel.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, dcutr, identify, mdns};
use tokio::sync::mpsc;

use crate::behaviour::{self, Behaviour, BehaviourEvent};
use crate::{
    Command, ConnectedPeer, NetConfig, NetError, NetEvent, NetHandle, Network, SYNC_PROTOCOL, Via,
    backoff, device_of,
};

/// Commands queued from handles before senders wait.
const COMMAND_QUEUE: usize = 64;
/// Events queued for the node before the loop waits for it to catch up.
const EVENT_QUEUE: usize = 256;
/// How often due redials are checked.
const REDIAL_TICK: Duration = Duration::from_millis(250);

pub(crate) fn start(cfg: NetConfig) -> Result<Network, NetError> {
    let mut swarm = behaviour::build(&cfg)?;
    let local = device_of(swarm.local_peer_id())
        .ok_or_else(|| NetError::Identity("the local peer id is not an Ed25519 key".into()))?;
    let mut bound = 0;
    let mut first_err = None;
    for addr in &cfg.listen {
        match swarm.listen_on(addr.clone()) {
            Ok(_) => bound += 1,
            Err(e) => {
                first_err.get_or_insert(NetError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }
    if let (0, Some(e)) = (bound, first_err) {
        return Err(e);
    }
    let mut control = swarm.behaviour().stream.new_control();
    let incoming = control
        .accept(SYNC_PROTOCOL)
        .map_err(|e| NetError::Build(e.to_string()))?;
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
    let lp = EventLoop {
        swarm,
        commands: cmd_rx,
        events: ev_tx,
        conns: HashMap::new(),
        punched: HashSet::new(),
        wanted: Vec::new(),
        blocked: HashMap::new(),
        listening: Vec::new(),
    };
    tokio::spawn(lp.run());
    Ok(Network {
        handle: NetHandle {
            local,
            commands: cmd_tx,
            control,
        },
        events: ev_rx,
        incoming,
    })
}

/// A peer or address to stay connected to.
struct Wanted {
    peer: Option<PeerId>,
    addrs: Vec<Multiaddr>,
    attempt: u32,
    /// When to dial next, if not connected; `None`: now.
    next: Option<Instant>,
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    /// Live connections per peer, with the remote address of each.
    conns: HashMap<PeerId, Vec<(ConnectionId, Multiaddr)>>,
    /// Connections DCUtR made.
    punched: HashSet<ConnectionId>,
    wanted: Vec<Wanted>,
    blocked: HashMap<PeerId, Instant>,
    listening: Vec<Multiaddr>,
}

/// How a connection to `addr` reaches the peer.
fn classify(addr: &Multiaddr) -> Via {
    let mut private = false;
    for p in addr.iter() {
        match p {
            Protocol::P2pCircuit => return Via::Relayed,
            Protocol::Ip4(ip) => {
                private = ip.is_private() || ip.is_loopback() || ip.is_link_local();
            }
            Protocol::Ip6(ip) => {
                let s0 = ip.segments()[0];
                private = ip.is_loopback() || (s0 & 0xfe00) == 0xfc00 || (s0 & 0xffc0) == 0xfe80;
            }
            _ => {}
        }
    }
    if private { Via::Lan } else { Via::Direct }
}

/// The peer id an address names with a trailing `/p2p/...`, if any.
fn addr_peer(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().last().and_then(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

impl EventLoop {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(REDIAL_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Every branch is cancel-safe: a swarm event, a command and a
            // tick are each taken whole or not at all.
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev).await,
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Shutdown(reply)) => {
                        self.disconnect_all();
                        let _ = reply.send(());
                        break;
                    }
                    // Every handle is gone: nobody can use the network.
                    None => {
                        self.disconnect_all();
                        break;
                    }
                    Some(c) => self.on_command(c),
                },
                _ = tick.tick() => self.redial_due(),
            }
        }
    }

    fn disconnect_all(&mut self) {
        let peers: Vec<PeerId> = self.conns.keys().copied().collect();
        for p in peers {
            let _ = self.swarm.disconnect_peer_id(p);
        }
    }

    fn via_of(&self, peer: &PeerId) -> Option<(Multiaddr, Via)> {
        let conns = self.conns.get(peer)?;
        conns
            .iter()
            .map(|(id, a)| {
                let via = if self.punched.contains(id) {
                    Via::HolePunched
                } else {
                    classify(a)
                };
                (a.clone(), via)
            })
            // A direct connection beats a relayed one.
            .min_by_key(|(_, v)| matches!(v, Via::Relayed))
    }

    // `&mut self`, not `&self`: a shared borrow held across the await
    // would need the loop to be Sync, which the Swarm is not.
    async fn emit(&mut self, ev: NetEvent) {
        // Waits if the node is behind: the loop must not drop a
        // connection event, and the node drains events promptly.
        let _ = self.events.send(ev).await;
    }

    fn is_blocked(&mut self, peer: &PeerId) -> bool {
        match self.blocked.get(peer) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                self.blocked.remove(peer);
                false
            }
            None => false,
        }
    }

    async fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!("listening on {address}/p2p/{}", self.swarm.local_peer_id());
                self.listening.push(address.clone());
                self.emit(NetEvent::Listening(address)).await;
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listening.retain(|a| *a != address);
            }
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!("a listener failed: {error}");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                if self.is_blocked(&peer_id) {
                    // Debug only: a stranger's retries would otherwise log a line
                    // each (the refusal itself was logged once).
                    tracing::debug!(peer = %peer_id, "closed a connection of a refused peer");
                    let _ = self.swarm.close_connection(connection_id);
                    return;
                }
                let addr = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } => address.clone(),
                    // An inbound circuit's send-back address is only the
                    // source's `/p2p/<id>`; the local address is the relay
                    // listener's, `…/p2p-circuit`, which is what says it
                    // is relayed.
                    ConnectedPoint::Listener { local_addr, .. }
                        if local_addr.iter().any(|p| p == Protocol::P2pCircuit) =>
                    {
                        local_addr.clone()
                    }
                    ConnectedPoint::Listener { send_back_addr, .. } => send_back_addr.clone(),
                };
                let before = self.via_of(&peer_id).map(|(_, v)| v);
                self.conns
                    .entry(peer_id)
                    .or_default()
                    .push((connection_id, addr.clone()));
                for w in &mut self.wanted {
                    let names_it = w.peer == Some(peer_id)
                        || (w.peer.is_none()
                            && matches!(&endpoint, ConnectedPoint::Dialer { address, .. } if w.addrs.contains(address)));
                    if names_it {
                        w.peer = Some(peer_id);
                        w.attempt = 0;
                    }
                }
                let Some((addr, via)) = self.via_of(&peer_id) else {
                    return;
                };
                if before != Some(via)
                    && let Some(peer) = device_of(&peer_id)
                {
                    tracing::debug!(%peer, %addr, via = via.as_str(), "connected");
                    self.emit(NetEvent::Connected { peer, addr, via }).await;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                self.punched.remove(&connection_id);
                let empty = match self.conns.get_mut(&peer_id) {
                    Some(list) => {
                        list.retain(|(id, _)| *id != connection_id);
                        list.is_empty()
                    }
                    None => false,
                };
                if empty {
                    self.conns.remove(&peer_id);
                    let now = Instant::now();
                    for w in &mut self.wanted {
                        if w.peer == Some(peer_id) {
                            w.next = Some(now + backoff::delay(w.attempt, rand::random()));
                        }
                    }
                    if let Some(peer) = device_of(&peer_id) {
                        tracing::debug!(%peer, "disconnected");
                        self.emit(NetEvent::Disconnected { peer }).await;
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, "dial failed: {error}");
                self.emit(NetEvent::DialFailed {
                    peer: peer_id.as_ref().and_then(device_of),
                    error: error.to_string(),
                })
                .await;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(list))) => {
                let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
                for (p, a) in list {
                    by_peer.entry(p).or_default().push(a);
                }
                for (peer_id, addrs) in by_peer {
                    let Some(peer) = device_of(&peer_id) else {
                        continue;
                    };
                    if self.is_blocked(&peer_id) {
                        continue;
                    }
                    if !self.swarm.is_connected(&peer_id) {
                        let opts = DialOpts::peer_id(peer_id)
                            .addresses(addrs.clone())
                            .condition(PeerCondition::DisconnectedAndNotDialing)
                            .build();
                        if let Err(e) = self.swarm.dial(opts) {
                            tracing::debug!(%peer, "dialling a discovered peer: {e}");
                        }
                    }
                    self.emit(NetEvent::Discovered { peer, addrs }).await;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if let Some(peer) = device_of(&peer_id) {
                    self.emit(NetEvent::Identified {
                        peer,
                        agent: info.agent_version,
                        listen_addrs: info.listen_addrs,
                    })
                    .await;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            })) => match result {
                Ok(conn) => {
                    self.punched.insert(conn);
                    if let (Some(peer), Some((addr, via))) =
                        (device_of(&remote_peer_id), self.via_of(&remote_peer_id))
                    {
                        tracing::info!(%peer, "hole punched");
                        self.emit(NetEvent::Connected { peer, addr, via }).await;
                    }
                }
                Err(e) => tracing::debug!(peer = %remote_peer_id, "hole punching failed: {e}"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Relay(ev)) => {
                tracing::debug!("relay: {ev:?}");
            }
            _ => {}
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Dial { addr, reply } => {
                let r = self.swarm.dial(addr.clone()).map_err(|e| NetError::Dial {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
                let _ = reply.send(r);
            }
            Command::Keep { peer, addrs } => {
                let peer = peer.or_else(|| addrs.iter().find_map(addr_peer));
                let existing = self.wanted.iter_mut().find(|w| match (peer, w.peer) {
                    (Some(p), Some(q)) => p == q,
                    _ => addrs.iter().any(|a| w.addrs.contains(a)),
                });
                match existing {
                    Some(w) => {
                        for a in addrs {
                            if !w.addrs.contains(&a) {
                                w.addrs.push(a);
                            }
                        }
                        w.peer = w.peer.or(peer);
                    }
                    None => self.wanted.push(Wanted {
                        peer,
                        addrs,
                        attempt: 0,
                        next: None,
                    }),
                }
                self.redial_due();
            }
            Command::Block { peer, for_ } => {
                self.blocked.insert(peer, Instant::now() + for_);
                self.wanted.retain(|w| w.peer != Some(peer));
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::Listening(reply) => {
                let _ = reply.send(self.listening.clone());
            }
            Command::ListenOn { addr, reply } => {
                let r =
                    self.swarm
                        .listen_on(addr.clone())
                        .map(|_| ())
                        .map_err(|e| NetError::Listen {
                            addr,
                            reason: e.to_string(),
                        });
                let _ = reply.send(r);
            }
            Command::Connected(reply) => {
                let list = self
                    .conns
                    .keys()
                    .filter_map(|p| {
                        let (addr, via) = self.via_of(p)?;
                        Some(ConnectedPeer {
                            peer: device_of(p)?,
                            addr,
                            via,
                        })
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Command::Shutdown(_) => {}
        }
    }

    /// Dials every wanted peer that is not connected and whose backoff has
    /// run out.
    fn redial_due(&mut self) {
        let now = Instant::now();
        // Forget blocks that ran out, so strangers seen once do not pile up.
        self.blocked.retain(|_, until| *until > now);
        for i in 0..self.wanted.len() {
            let (peer, next) = (self.wanted[i].peer, self.wanted[i].next);
            if let Some(p) = peer
                && (self.swarm.is_connected(&p) || self.is_blocked(&p))
            {
                continue;
            }
            if next.is_some_and(|t| t > now) {
                continue;
            }
            let w = &mut self.wanted[i];
            let delay = backoff::delay(w.attempt, rand::random());
            w.attempt = w.attempt.saturating_add(1);
            w.next = Some(now + delay);
            let opts = match w.peer {
                Some(p) => DialOpts::peer_id(p)
                    .addresses(w.addrs.clone())
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => match w.addrs.first() {
                    Some(a) => DialOpts::unknown_peer_id().address(a.clone()).build(),
                    None => continue,
                },
            };
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!("redial: {e}");
            }
        }
    }
}
