//! The relay's libp2p swarm: TCP and QUIC, Noise, Yamux, identify, ping,
//! the circuit relay v2 *server*, connection limits, and the `/weft/sync/1`
//! and `/weft/relay/1` streams. No mDNS, no relay client, no DCUtR: the
//! relay is the fixed point others find.

use std::time::Duration;

use futures::StreamExt;
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, identity, noise, ping, relay, tcp, yamux};
use tokio::sync::{mpsc, oneshot};

/// Identify's protocol version, as devices announce it.
const IDENTIFY_PROTOCOL: &str = "/weft/id/1";

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    limits: connection_limits::Behaviour,
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    pub(crate) stream: libp2p_stream::Behaviour,
}

pub(crate) enum NetCmd {
    /// Stop accepting: close every listener.
    StopListening(oneshot::Sender<()>),
    /// Close every connection and end the loop.
    Shutdown(oneshot::Sender<()>),
    Listening(oneshot::Sender<Vec<Multiaddr>>),
}

/// Limits on what the swarm holds.
#[derive(Debug, Clone)]
pub(crate) struct NetLimits {
    pub(crate) max_connections: u32,
    pub(crate) max_reservations: usize,
    pub(crate) max_circuits: usize,
}

pub(crate) fn build(
    key: identity::Keypair,
    limits: &NetLimits,
    agent: String,
) -> anyhow::Result<Swarm<Behaviour>> {
    // Circuits keep libp2p's default bounds (2 minutes, 128 KiB): they are
    // for devices to find each other and hole-punch, while bulk sync goes
    // device to relay on a direct connection.
    let relay_cfg = relay::Config {
        max_reservations: limits.max_reservations,
        max_reservations_per_peer: 4,
        max_circuits: limits.max_circuits,
        max_circuits_per_peer: 8,
        ..Default::default()
    };
    let max_conns = limits.max_connections;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_quic()
        .with_behaviour(|key| {
            let local = key.public().to_peer_id();
            Behaviour {
                limits: connection_limits::Behaviour::new(
                    ConnectionLimits::default()
                        .with_max_established_per_peer(Some(4))
                        .with_max_pending_incoming(Some(256))
                        .with_max_established(Some(max_conns)),
                ),
                relay: relay::Behaviour::new(local, relay_cfg),
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL.to_owned(), key.public())
                        .with_agent_version(agent),
                ),
                ping: ping::Behaviour::new(ping::Config::new()),
                stream: libp2p_stream::Behaviour::new(),
            }
        })?
        // Devices keep their relay connection open with sessions; an idle
        // one (no stream) is closed after a while.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}

/// A globally routable IP or a DNS name (a hostname is the operator's
/// choice of public address).
fn is_public(a: &Multiaddr) -> bool {
    use libp2p::multiaddr::Protocol;
    a.iter().any(|p| match p {
        Protocol::Ip4(ip) => {
            !(ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xC0) == 64)
        }
        Protocol::Ip6(ip) => {
            !(ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80)
        }
        Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_) => true,
        _ => false,
    })
}

/// The IP a connection comes from.
fn ip_of(a: &Multiaddr) -> Option<std::net::IpAddr> {
    a.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => Some(std::net::IpAddr::V4(ip)),
        libp2p::multiaddr::Protocol::Ip6(ip) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    })
}

pub(crate) fn is_loopback(a: &Multiaddr) -> bool {
    a.iter().any(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => ip.is_loopback(),
        libp2p::multiaddr::Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

/// Owns the swarm until shut down.
pub(crate) async fn run(
    mut swarm: Swarm<Behaviour>,
    mut cmds: mpsc::Receiver<NetCmd>,
    shared: std::sync::Arc<crate::Shared>,
    announce_listen: bool,
) {
    use std::sync::atomic::Ordering;
    let metrics = shared.metrics.clone();
    // The connections counted against their source's cap, by id.
    let mut counted: std::collections::HashMap<libp2p::swarm::ConnectionId, std::net::IpAddr> =
        std::collections::HashMap::new();
    let mut listeners = Vec::new();
    let mut listening: Vec<Multiaddr> = Vec::new();
    loop {
        let ext: Vec<&Multiaddr> = swarm.external_addresses().collect();
        let public = ext.iter().filter(|a| is_public(a)).count();
        metrics
            .external_addrs
            .store(ext.len() as i64, Ordering::Relaxed);
        metrics
            .public_external_addrs
            .store(public as i64, Ordering::Relaxed);
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::NewListenAddr { listener_id, address } => {
                    let me = *swarm.local_peer_id();
                    tracing::info!("listening on {address}/p2p/{me}");
                    if !listeners.contains(&listener_id) {
                        listeners.push(listener_id);
                    }
                    // libp2p's relay server grants reservations only with a
                    // confirmed external address. A relay is run where it
                    // is reachable at the addresses it listens on (a VPS,
                    // a LAN host); behind a port forward `--external` names
                    // the public one instead.
                    if announce_listen && !is_loopback(&address) {
                        swarm.add_external_address(address.clone());
                    }
                    listening.push(address);
                }
                SwarmEvent::ExpiredListenAddr { address, .. } => {
                    listening.retain(|a| *a != address);
                }
                SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, num_established, .. } => {
                    if num_established.get() == 1 {
                        metrics.connected_peers.fetch_add(1, Ordering::Relaxed);
                    }
                    let ip = ip_of(endpoint.get_remote_address());
                    let mut g = shared.guard();
                    if let Some(ip) = ip {
                        if g.connections.open(&ip) {
                            counted.insert(connection_id, ip);
                            if let Some(d) = weft_net::device_of(&peer_id) {
                                g.connected(d, ip);
                            }
                        } else {
                            drop(g);
                            metrics.reject(crate::metrics::Rejection::SourceConnections);
                            tracing::debug!(%peer_id, %ip, "over the connections allowed per source");
                            swarm.close_connection(connection_id);
                        }
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                    if num_established == 0 {
                        metrics.connected_peers.fetch_sub(1, Ordering::Relaxed);
                    }
                    let mut g = shared.guard();
                    if let Some(ip) = counted.remove(&connection_id) {
                        g.connections.close(&ip);
                    }
                    if num_established == 0
                        && let Some(d) = weft_net::device_of(&peer_id)
                    {
                        g.disconnected(&d);
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Relay(ev)) => {
                    tracing::debug!("circuit relay: {ev:?}");
                }
                SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                    // The address a device is seen at is what it can be
                    // reached by (for DCUtR); identify tells it so.
                    tracing::trace!(%peer_id, agent = %info.agent_version, "identified");
                }
                _ => {}
            },
            cmd = cmds.recv() => match cmd {
                Some(NetCmd::StopListening(done)) => {
                    for id in listeners.drain(..) {
                        swarm.remove_listener(id);
                    }
                    listening.clear();
                    let _ = done.send(());
                }
                Some(NetCmd::Listening(reply)) => {
                    let _ = reply.send(listening.clone());
                }
                Some(NetCmd::Shutdown(done)) => {
                    let peers: Vec<PeerId> = swarm.connected_peers().copied().collect();
                    for p in peers {
                        let _ = swarm.disconnect_peer_id(p);
                    }
                    let _ = done.send(());
                    break;
                }
                None => break,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses() {
        let p = |s: &str| is_public(&s.parse().expect("multiaddr"));
        assert!(p("/ip4/203.0.113.5/tcp/4467"));
        assert!(p("/dns4/relay.example.org/tcp/4467"));
        assert!(!p("/ip4/127.0.0.1/tcp/4467"));
        assert!(!p("/ip4/192.168.1.20/tcp/4467"));
        assert!(!p("/ip4/10.0.0.2/udp/4467/quic-v1"));
        assert!(!p("/ip4/100.64.3.1/tcp/4467"));
        assert!(!p("/ip6/fd00::1/tcp/4467"));
    }
}
