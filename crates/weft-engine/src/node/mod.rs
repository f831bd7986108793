//! A running node: one open [`Workspace`], the libp2p network, and a sync
//! session per connected peer. Both shells use it: `weft daemon` and
//! `weft sync`/`weft join` in the CLI, and the desktop app.
//!
//! Threads: the Workspace (SQLite, Loro, Automerge: synchronous) lives on
//! one dedicated thread, the *core* (`core.rs`), which also owns every
//! [`weft_sync::Session`]. Network I/O runs on tokio: the swarm's event loop
//! (weft-net), and per stream a reader and a writer task (`conn.rs`). They
//! meet through bounded channels only: a reader waits when the core is
//! behind, and the core never waits for a writer: it sends a peer's next
//! frame only when that peer's queue has room, so one slow peer holds up
//! nobody else.
//!
//! Other processes on the same workspace (a `weft set` while the daemon
//! runs, the app) write the same SQLite file: every write is its own
//! `BEGIN IMMEDIATE` transaction with the seq allocated inside it, so they
//! never collide. The core notices their commits through SQLite's
//! `data_version` (polled every [`TICK`]) and offers the new changes to
//! its peers. This was chosen over one process owning the file behind a
//! local socket: the CLI keeps working with or without a daemon, and there
//! is no second protocol to version.

mod conn;
mod core;
mod lock;
mod peers;
mod relays;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use weft_core::{DeviceId, DocId};
pub use weft_net::{ConnectedPeer, DEFAULT_PORT, Multiaddr, Protocol, Via};
use weft_net::{NetConfig, NetError, NetHandle};

use self::core::{Core, CoreMsg};
use self::lock::NodeLock;
pub use self::lock::{LOCK_FILE, RunningNode, running_node};
use crate::{EngineError, Workspace};

/// How often sessions are ticked and `data_version` is polled.
pub const TICK: Duration = Duration::from_millis(25);
/// Messages queued for the core before senders wait.
const CORE_QUEUE: usize = 1024;
/// Events a slow subscriber may fall behind by before it misses some.
const EVENT_QUEUE: usize = 4096;
/// A peer that failed the membership proof is not dialled or accepted for
/// this long: retrying sooner would only repeat the refusal (and the log).
pub const REFUSED_FOR: Duration = Duration::from_secs(600);

/// How to run a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// TCP and QUIC port (0: any free port).
    pub port: u16,
    /// Find peers on the LAN by mDNS.
    pub mdns: bool,
    /// This device's name, shown to its peers.
    pub device_name: String,
    /// Addresses to stay connected to, besides those in the workspace's
    /// `peer_addrs` (`weft peer add`).
    pub peers: Vec<Multiaddr>,
    /// The most devices whose changes this workspace accepts
    /// ([`Workspace::set_max_authors`]).
    pub max_authors: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            port: weft_net::DEFAULT_PORT,
            mdns: true,
            device_name: "weft".into(),
            peers: Vec::new(),
            max_authors: crate::DEFAULT_MAX_AUTHORS,
        }
    }
}

/// What a node reports, to any number of subscribers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NodeEvent {
    /// Listening on this address (with `/p2p/<device id>`).
    Listening(Multiaddr),
    /// A peer connected (not yet proven a member).
    PeerConnected {
        /// The peer.
        peer: DeviceId,
        /// How.
        via: Via,
    },
    /// A peer's last connection closed.
    PeerDisconnected {
        /// The peer.
        peer: DeviceId,
    },
    /// A peer proved membership: changes flow.
    Authenticated {
        /// The peer.
        peer: DeviceId,
    },
    /// This device and the peer hold exactly the same changes.
    Synced {
        /// The peer.
        peer: DeviceId,
    },
    /// A peer was refused (not a member of this workspace, or another
    /// workspace's device).
    Refused {
        /// The peer.
        peer: DeviceId,
        /// Why.
        reason: String,
    },
    /// A session ended.
    SessionEnded {
        /// The peer.
        peer: DeviceId,
        /// Why, if it was an error.
        error: Option<String>,
    },
    /// Documents changed by changes from a peer.
    DocsChanged {
        /// Which.
        docs: Vec<DocId>,
    },
    /// What the node knows of a relay changed, and its row in the relays
    /// table is saved (`weft relay add` waits for this).
    RelayUpdated {
        /// The relay.
        relay: DeviceId,
    },
    /// A relay deleted this workspace (`weft relay forget`).
    RelayForgotten {
        /// The relay.
        relay: DeviceId,
        /// Changes it deleted.
        changes: u64,
        /// Bytes it deleted.
        bytes: u64,
    },
    /// Changes held, against changes known to exist (this device's and
    /// what its peers said they hold): a progress bar's two numbers.
    Progress {
        /// Changes this device holds.
        held: u64,
        /// Changes known to exist.
        known: u64,
    },
}

/// One live sync session, for status and summaries.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The peer.
    pub peer: DeviceId,
    /// Its name (or a short id).
    pub name: String,
    /// It proved membership.
    pub authenticated: bool,
    /// It has acknowledged holding exactly what this device holds.
    pub in_sync: bool,
    /// Counters.
    pub stats: weft_sync::Stats,
}

/// Why a node call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The network failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The workspace failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
    /// Another process already runs a node on this workspace.
    #[error(
        "another weft process{} already syncs the workspace in {}: one device runs one node (stop it first, or let it sync)",
        .pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        .home.display()
    )]
    Busy {
        /// The workspace home.
        home: std::path::PathBuf,
        /// The process holding it, if its lock file says.
        pid: Option<u32>,
    },
    /// The lock file could not be used.
    #[error("the node lock {path}: {reason}")]
    Lock {
        /// The lock file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

impl weft_core::Coded for NodeError {
    fn code(&self) -> weft_core::ErrorCode {
        match self {
            NodeError::Net(e) => e.code(),
            NodeError::Engine(e) => e.code(),
            NodeError::Stopped => weft_core::ErrorCode::Network,
            NodeError::Busy { .. } => weft_core::ErrorCode::Locked,
            NodeError::Lock { .. } => weft_core::ErrorCode::Io,
        }
    }
}

/// A handle on a running node. Cheap to clone.
#[derive(Clone)]
pub struct NodeHandle {
    device: DeviceId,
    core: mpsc::Sender<CoreMsg>,
    net: NetHandle,
    events: broadcast::Sender<NodeEvent>,
    keys: Arc<AtomicU64>,
    /// Every stream's writer task, so shutdown can wait until the last frames
    /// (acknowledgements, refusals) are on the wire.
    writers: Arc<weft_net::host::Writers>,
}

/// How long shutdown waits for the writers to put their last frames on the wire.
const WRITERS_DEADLINE: Duration = Duration::from_secs(2);

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl Workspace {
    /// The device key's seed, for the libp2p identity (the PeerId is the
    /// device id).
    fn device_seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(*self.secrets.device_key.expose_seed())
    }
}

/// Starts a node on `ws`: the network, listening and discovering, and the
/// core thread that owns the workspace from now on. Call inside a tokio
/// runtime. The workspace is closed (snapshots written) by
/// [`NodeHandle::shutdown`].
pub fn start(mut ws: Workspace, cfg: NodeConfig) -> Result<NodeHandle, NodeError> {
    let lock = NodeLock::acquire(ws.home())?;
    ws.set_max_authors(cfg.max_authors);
    // The node lives long and serves the file to other devices: its pages are checked
    // once at every start (quick_check, O(file size)); a short command relies on
    // SQLite reporting a damaged page it meets.
    ws.quick_check()?;
    let seed = ws.device_seed();
    let agent = format!(
        "weft/{} ({})",
        env!("CARGO_PKG_VERSION"),
        cfg.device_name.replace(['(', ')'], "")
    );
    let mut net_cfg = NetConfig::on_port(*seed, cfg.port, agent);
    net_cfg.mdns = cfg.mdns;
    let network = match weft_net::start(net_cfg.clone()) {
        Ok(n) => n,
        // The default port is taken (another device's daemon on this
        // machine, or the app and a daemon): any port still works on the
        // LAN, where mDNS announces it.
        Err(NetError::Listen { addr, reason }) if cfg.port == weft_net::DEFAULT_PORT => {
            tracing::warn!("cannot listen on {addr} ({reason}); using a free port instead");
            net_cfg.listen = weft_net::listen_addrs(0);
            weft_net::start(net_cfg)?
        }
        Err(e) => return Err(e.into()),
    };
    let device = network.handle.local();
    let (core_tx, core_rx) = mpsc::channel(CORE_QUEUE);
    let (events, _) = broadcast::channel(EVENT_QUEUE);
    let keys = Arc::new(AtomicU64::new(1));
    let mut manual: Vec<Multiaddr> = cfg.peers.clone();
    for a in ws.peer_addrs()? {
        match a.parse::<Multiaddr>() {
            Ok(m) => manual.push(m),
            Err(e) => tracing::warn!("ignoring the stored peer address {a}: {e}"),
        }
    }
    let handle = NodeHandle {
        device,
        core: core_tx.clone(),
        net: network.handle.clone(),
        events: events.clone(),
        keys: keys.clone(),
        writers: Arc::default(),
    };
    let core = Core::new(
        ws,
        lock,
        network.handle.clone(),
        tokio::runtime::Handle::current(),
        handle.clone(),
        events,
    )?;
    std::thread::Builder::new()
        .name("weft-core".into())
        .spawn(move || core.run(core_rx))
        .map_err(|e| NodeError::Net(NetError::Build(format!("starting the core thread: {e}"))))?;
    // Network events into the core, and inbound streams onto their tasks:
    // two tasks, because libp2p-stream drops an inbound stream when nobody
    // is waiting to take it, and the event forwarder waits whenever the
    // core's queue is full.
    let weft_net::Network {
        mut events,
        mut incoming,
        ..
    } = network;
    let h = handle.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if h.core.send(CoreMsg::Net(ev)).await.is_err() {
                break;
            }
        }
    });
    let h = handle.clone();
    tokio::spawn(async move {
        use futures::StreamExt;
        while let Some((peer_id, stream)) = incoming.next().await {
            match weft_net::device_of(&peer_id) {
                Some(peer) => h.attach(peer, stream),
                None => tracing::debug!(%peer_id, "a sync stream from a non-Ed25519 peer"),
            }
        }
    });
    // Ticker: drives timeouts, keepalives and `data_version` polling.
    let tick_tx = core_tx;
    tokio::spawn(async move {
        let mut t = tokio::time::interval(TICK);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            t.tick().await;
            match tick_tx.try_send(CoreMsg::Tick) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
    });
    for addr in manual {
        let net = handle.net.clone();
        tokio::spawn(async move {
            if let Err(e) = net.keep(None, vec![addr]).await {
                tracing::warn!("{e}");
            }
        });
    }
    Ok(handle)
}

impl NodeHandle {
    /// This device's id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Runs `f` on the workspace (on the core thread) and offers whatever
    /// it committed to every peer at once.
    pub async fn call<T, F>(&self, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Workspace) -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Box<dyn FnOnce(&mut Workspace) + Send> = Box::new(move |ws| {
            let _ = tx.send(f(ws));
        });
        self.core
            .send(CoreMsg::Call(job))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// The addresses this device listens on, each with `/p2p/<device id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        let peer = weft_net::peer_of(&self.device);
        Ok(self
            .net
            .listen_addrs()
            .await?
            .into_iter()
            .map(|a| a.with_p2p(peer).unwrap_or_else(|a| a))
            .collect())
    }

    /// The live sync sessions.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.core
            .send(CoreMsg::Sessions(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Peers with a live connection.
    pub async fn connected(&self) -> Result<Vec<ConnectedPeer>, NodeError> {
        Ok(self.net.connected().await?)
    }

    /// Stays connected to `addr` from now on (not stored; see
    /// [`Workspace::add_peer_addr`] for that).
    pub async fn keep(&self, addr: Multiaddr) -> Result<(), NodeError> {
        Ok(self.net.keep(None, vec![addr]).await?)
    }

    /// Opens a sync stream to `peer` and runs a session over it.
    pub(crate) fn open(&self, peer: DeviceId) {
        let h = self.clone();
        tokio::spawn(async move {
            match h.net.open_sync_stream(peer).await {
                Ok(stream) => h.attach(peer, stream),
                Err(e) => {
                    tracing::debug!(%peer, "{e}");
                    let _ = h.core.send(CoreMsg::OpenFailed { peer }).await;
                }
            }
        });
    }

    fn attach(&self, peer: DeviceId, stream: weft_net::Stream) {
        let key = self.keys.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(conn::run(
            key,
            peer,
            stream,
            self.core.clone(),
            self.writers.clone(),
        ));
    }

    /// Stops the node: every session sends what it owes (acknowledgements),
    /// the peer table is saved, the workspace is closed (snapshots written)
    /// and the network shut down. Every change acknowledged to a peer was
    /// already durable before its acknowledgement was sent.
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        let (tx, rx) = oneshot::channel();
        let sent = self.core.send(CoreMsg::Shutdown(tx)).await;
        let closed = match sent {
            Ok(()) => rx.await.map_err(|_| NodeError::Stopped)?,
            Err(_) => Ok(()),
        };
        // The core has dropped every outbound queue: each writer sends what is
        // queued and ends. Wait for them (a peer that stopped reading cannot hold
        // shutdown longer than the deadline), then close the network.
        let busy = self.writers.join(WRITERS_DEADLINE).await;
        if busy > 0 {
            tracing::debug!(
                "{busy} stream writers still busy after {} s; closed anyway",
                WRITERS_DEADLINE.as_secs()
            );
        }
        self.net.shutdown().await;
        Ok(closed?)
    }
}
