//! The one place the libp2p behaviour is composed, and the swarm built.

use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{Swarm, dcutr, identify, identity, mdns, noise, ping, relay, tcp, yamux};

use crate::{NetConfig, NetError};

/// Identify's protocol version: peers that say something else are not Weft.
pub(crate) const IDENTIFY_PROTOCOL: &str = "/weft/id/1";

/// Connections a device keeps at once. A person's devices are a handful;
/// these bound what strangers on the network can make a device hold
/// (every connection costs buffers and a pre-proof session).
const MAX_PER_PEER: u32 = 4;
const MAX_PENDING_INCOMING: u32 = 32;
const MAX_ESTABLISHED_INCOMING: u32 = 128;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// Refuses connections past the limits above (first, so it decides
    /// before the others set anything up).
    pub(crate) limits: connection_limits::Behaviour,
    /// Circuit relay v2 client: reach and be reached through a relay.
    pub(crate) relay: relay::client::Behaviour,
    /// Hole punching over a relayed connection.
    pub(crate) dcutr: dcutr::Behaviour,
    pub(crate) identify: identify::Behaviour,
    /// Liveness: a dead connection is noticed within a few pings.
    pub(crate) ping: ping::Behaviour,
    /// Off with `--no-mdns`.
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// The sync protocol's streams.
    pub(crate) stream: libp2p_stream::Behaviour,
}

pub(crate) fn build(cfg: &NetConfig) -> Result<Swarm<Behaviour>, NetError> {
    let mut seed = cfg.device_seed;
    let key = identity::Keypair::ed25519_from_bytes(&mut seed)
        .map_err(|e| NetError::Identity(e.to_string()))?;
    let build = |e: &dyn std::fmt::Display| NetError::Build(e.to_string());
    let mdns_cfg = mdns::Config {
        query_interval: cfg.mdns_query_interval,
        ..Default::default()
    };
    let want_mdns = cfg.mdns;
    let agent = cfg.agent.clone();
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            // Nagle off: a sync frame is a whole keystroke's change, and
            // waiting 40 ms to coalesce it is the latency we are removing.
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| build(&e))?
        .with_quic()
        .with_dns()
        .map_err(|e| build(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| build(&e))?
        .with_behaviour(|key, relay| {
            let local = key.public().to_peer_id();
            let mdns = if want_mdns {
                Some(mdns::tokio::Behaviour::new(mdns_cfg, local)?)
            } else {
                None
            };
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(
                    ConnectionLimits::default()
                        .with_max_established_per_peer(Some(MAX_PER_PEER))
                        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                        .with_max_established_incoming(Some(MAX_ESTABLISHED_INCOMING)),
                ),
                relay,
                dcutr: dcutr::Behaviour::new(local),
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL.to_owned(), key.public())
                        .with_agent_version(agent),
                ),
                ping: ping::Behaviour::new(ping::Config::new()),
                mdns: Toggle::from(mdns),
                stream: libp2p_stream::Behaviour::new(),
            })
        })
        .map_err(|e| build(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(cfg.idle_timeout))
        .build();
    Ok(swarm)
}
