//! Weft's libp2p layer: one swarm (TCP and QUIC, Noise, Yamux, identify,
//! ping, mDNS, circuit relay client, DCUtR) composed in [`behaviour`], an
//! event loop that owns it ([`event_loop`]), and a cloneable [`NetHandle`]
//! the node talks to it through, over bounded channels with oneshot replies
//! (the shape of rust-libp2p's file-sharing example).
//!
//! The sync protocol itself is not here: this crate opens and accepts
//! streams on [`SYNC_PROTOCOL`] and hands them to the engine, which runs a
//! `weft_sync::Session` over each. Membership is proved inside that
//! protocol, so this layer treats every peer as a stranger; what it knows of
//! trust is only "the engine said this peer failed its proof" ([`NetHandle::block`]).

pub mod backoff;
mod behaviour;
mod event_loop;
pub mod host;
mod ids;

use std::time::Duration;

pub use libp2p::multiaddr::Protocol;
pub use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol};
use tokio::sync::mpsc;
use tokio::sync::oneshot;

pub use ids::{device_of, peer_of};
use weft_core::DeviceId;

/// The stream protocol id of the weft sync protocol (docs/protocol.md).
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/weft/sync/1");

/// The stream protocol id of the relay control protocol: register a
/// workspace on a relay, ask its usage, forget it (docs/protocol.md).
pub const RELAY_CONTROL_PROTOCOL: StreamProtocol = StreamProtocol::new("/weft/relay/1");

/// The TCP and UDP (QUIC) port a relay listens on unless told otherwise.
pub const RELAY_PORT: u16 = 4467;

/// The TCP and UDP (QUIC) port a device listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4466;

/// How to run the network.
#[derive(Clone)]
pub struct NetConfig {
    /// The device key's 32-byte Ed25519 seed: the libp2p identity, so the
    /// PeerId is the device id.
    pub device_seed: [u8; 32],
    /// Addresses to listen on (`/ip4/0.0.0.0/tcp/4466`, `.../udp/4466/quic-v1`).
    pub listen: Vec<Multiaddr>,
    /// Find peers on the local network by mDNS.
    pub mdns: bool,
    /// How often mDNS asks the network (libp2p's default is 5 minutes; a
    /// device that just joined the LAN wants to be found sooner).
    pub mdns_query_interval: Duration,
    /// The identify agent string: `weft/<version> (<device name>)`.
    pub agent: String,
    /// Close a connection with no open stream after this long.
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetConfig")
            .field("device_seed", &"[redacted]")
            .field("listen", &self.listen)
            .field("mdns", &self.mdns)
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

impl NetConfig {
    /// Listening on `port` for TCP and QUIC on every IPv4 interface.
    pub fn on_port(device_seed: [u8; 32], port: u16, agent: String) -> Self {
        Self {
            device_seed,
            listen: listen_addrs(port),
            mdns: true,
            mdns_query_interval: Duration::from_secs(30),
            agent,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The TCP and QUIC listen addresses for `port` on every IPv4 interface.
pub fn listen_addrs(port: u16) -> Vec<Multiaddr> {
    use libp2p::multiaddr::Protocol;
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    vec![
        Multiaddr::empty()
            .with(Protocol::Ip4(any))
            .with(Protocol::Tcp(port)),
        Multiaddr::empty()
            .with(Protocol::Ip4(any))
            .with(Protocol::Udp(port))
            .with(Protocol::QuicV1),
    ]
}

/// How a peer is connected, for `weft peers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Via {
    /// Directly, to an address on a private network (the LAN).
    Lan,
    /// Directly, to a public address.
    Direct,
    /// Through a circuit relay.
    Relayed,
    /// Directly, after DCUtR hole punching upgraded a relayed connection.
    HolePunched,
}

impl Via {
    /// The word `weft peers` prints and the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Lan => "lan",
            Via::Direct => "direct",
            Via::Relayed => "relayed",
            Via::HolePunched => "hole-punched",
        }
    }
}

/// What the network reports to the node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NetEvent {
    /// A listener is up on this address.
    Listening(Multiaddr),
    /// mDNS found a peer (it is dialled, unless blocked).
    Discovered {
        /// The peer.
        peer: DeviceId,
        /// Where.
        addrs: Vec<Multiaddr>,
    },
    /// The first connection to a peer is up, or a better one replaced it.
    Connected {
        /// The peer.
        peer: DeviceId,
        /// Its address on this connection.
        addr: Multiaddr,
        /// How.
        via: Via,
    },
    /// The last connection to a peer closed.
    Disconnected {
        /// The peer.
        peer: DeviceId,
    },
    /// The peer told us about itself (identify).
    Identified {
        /// The peer.
        peer: DeviceId,
        /// Its agent string (`weft/<version> (<name>)` for a Weft device).
        agent: String,
        /// The addresses it listens on.
        listen_addrs: Vec<Multiaddr>,
    },
    /// A dial failed.
    DialFailed {
        /// The peer, if known.
        peer: Option<DeviceId>,
        /// Why, as libp2p says it.
        error: String,
    },
}

/// Why the network could not start or a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The device seed is not a valid Ed25519 key.
    #[error("the device key is not a valid Ed25519 key: {0}")]
    Identity(String),
    /// The swarm could not be built.
    #[error("building the libp2p swarm: {0}")]
    Build(String),
    /// Listening on an address failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why (e.g. the port is taken).
        reason: String,
    },
    /// The address cannot be dialled.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A sync stream could not be opened.
    #[error("cannot open a sync stream to {peer}: {reason}")]
    OpenStream {
        /// The peer.
        peer: DeviceId,
        /// Why.
        reason: String,
    },
    /// The network has shut down.
    #[error("the network has shut down")]
    Shutdown,
}

/// A peer with a live connection.
#[derive(Debug, Clone)]
pub struct ConnectedPeer {
    /// The peer.
    pub peer: DeviceId,
    /// Its address on the connection in use.
    pub addr: Multiaddr,
    /// How.
    pub via: Via,
}

pub(crate) enum Command {
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Keep {
        peer: Option<PeerId>,
        addrs: Vec<Multiaddr>,
    },
    Block {
        peer: PeerId,
        for_: Duration,
    },
    Listening(oneshot::Sender<Vec<Multiaddr>>),
    ListenOn {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Connected(oneshot::Sender<Vec<ConnectedPeer>>),
    Shutdown(oneshot::Sender<()>),
}

/// The node's handle on the network. Cheap to clone; every call is a
/// message to the event loop over a bounded channel.
#[derive(Clone)]
pub struct NetHandle {
    local: DeviceId,
    commands: mpsc::Sender<Command>,
    control: libp2p_stream::Control,
}

impl std::fmt::Debug for NetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHandle")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// Inbound sync streams, as `(peer, stream)`.
pub type Incoming = libp2p_stream::IncomingStreams;

/// A started network: the handle, its events and the inbound sync streams.
pub struct Network {
    /// Commands.
    pub handle: NetHandle,
    /// Events, in order. Drain it: the event loop waits when it is full.
    pub events: mpsc::Receiver<NetEvent>,
    /// Inbound streams on [`SYNC_PROTOCOL`].
    pub incoming: Incoming,
}

/// Builds the swarm, starts listening and spawns the event loop on the
/// current tokio runtime. Fails if no listen address could be bound.
pub fn start(cfg: NetConfig) -> Result<Network, NetError> {
    event_loop::start(cfg)
}

impl NetHandle {
    /// This device's id.
    pub fn local(&self) -> DeviceId {
        self.local
    }

    async fn send(&self, cmd: Command) -> Result<(), NetError> {
        self.commands
            .send(cmd)
            .await
            .map_err(|_| NetError::Shutdown)
    }

    /// Dials an address once (it may include `/p2p/<peer id>`).
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Dial { addr, reply }).await?;
        rx.await.map_err(|_| NetError::Shutdown)?
    }

    /// Keeps a connection to this peer or address: dialled now, and again
    /// with jittered exponential backoff whenever it drops.
    pub async fn keep(
        &self,
        peer: Option<DeviceId>,
        addrs: Vec<Multiaddr>,
    ) -> Result<(), NetError> {
        let peer = peer.map(|d| peer_of(&d));
        self.send(Command::Keep { peer, addrs }).await
    }

    /// Disconnects a peer and neither dials nor accepts it for `for_` (it
    /// failed the membership proof: redialling it would only repeat that).
    pub async fn block(&self, peer: DeviceId, for_: Duration) -> Result<(), NetError> {
        self.send(Command::Block {
            peer: peer_of(&peer),
            for_,
        })
        .await
    }

    /// The addresses this device listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Listening(reply)).await?;
        rx.await.map_err(|_| NetError::Shutdown)
    }

    /// Listens on one more address: `<relay addr>/p2p-circuit` reserves a
    /// slot on a circuit relay, so other devices can reach this one through
    /// it (and try hole punching).
    pub async fn listen_on(&self, addr: Multiaddr) -> Result<(), NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::ListenOn { addr, reply }).await?;
        rx.await.map_err(|_| NetError::Shutdown)?
    }

    /// Opens a stream on `protocol` (the relay control protocol).
    pub async fn open_stream(
        &self,
        peer: DeviceId,
        protocol: StreamProtocol,
    ) -> Result<Stream, NetError> {
        let mut control = self.control.clone();
        control
            .open_stream(peer_of(&peer), protocol)
            .await
            .map_err(|e| NetError::OpenStream {
                peer,
                reason: e.to_string(),
            })
    }

    /// The peers with a live connection.
    pub async fn connected(&self) -> Result<Vec<ConnectedPeer>, NetError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Connected(reply)).await?;
        rx.await.map_err(|_| NetError::Shutdown)
    }

    /// Opens a sync stream to a connected (or dialable) peer.
    pub async fn open_sync_stream(&self, peer: DeviceId) -> Result<Stream, NetError> {
        let mut control = self.control.clone();
        control
            .open_stream(peer_of(&peer), SYNC_PROTOCOL)
            .await
            .map_err(|e| NetError::OpenStream {
                peer,
                reason: e.to_string(),
            })
    }

    /// Closes every connection and stops the event loop.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Shutdown(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl weft_core::Coded for NetError {
    fn code(&self) -> weft_core::ErrorCode {
        match self {
            NetError::Identity(_) => weft_core::ErrorCode::Corrupt,
            _ => weft_core::ErrorCode::Network,
        }
    }
}
