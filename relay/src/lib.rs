//! weft-relay: an always-on blind member of every workspace registered on
//! it, and a libp2p circuit relay v2 server.
//!
//! A device registers its workspace over `/weft/relay/1` (the relay keeps
//! the workspace id and the relay verifier, nothing more), then syncs over
//! `/weft/sync/1` like with any peer: the relay checks each change's
//! signature and stores it sealed; it has no key to open one.
//!
//! Shape: the swarm's event loop (`net.rs`) and per-stream tasks
//! (`conn.rs`) on tokio; sessions and storage on shard threads
//! (`shard.rs`), one store connection each, workspaces hashed to shards;
//! with PostgreSQL a listener thread turns other nodes' commits into
//! wake-ups (`watermark.rs`). `/health` and `/metrics` in `http.rs`.

pub mod budget;
pub mod config;
mod conn;
pub mod guard;
mod http;
pub mod limits;
pub mod metrics;
mod net;
pub mod ratelimit;
mod shard;
pub mod store;
pub mod watermark;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt;
use libp2p::{Multiaddr, identity};
use tokio::sync::{mpsc, oneshot};
use weft_core::{DeviceId, WorkspaceId};

pub use crate::config::Config;
use crate::metrics::Metrics;
use crate::net::{NetCmd, NetLimits};
use crate::shard::{Shard, ShardConfig, ShardMsg};
use crate::store::RelayStore;

/// Messages queued per shard before senders wait.
const SHARD_QUEUE: usize = 4096;
/// How often sessions are ticked (keepalives, handshake timeouts).
const TICK: Duration = Duration::from_millis(250);
/// How long a hole in the row ids is waited for (see `watermark.rs`).
const HOLE_HOLD_MS: u64 = 2_000;
/// Rows the listener reads at once.
const FEED_PAGE: usize = 10_000;

/// Bytes one session may have queued for writing before the shard stops
/// producing for it (until its writer drains).
pub(crate) const QUEUE_BYTES: usize = 2 << 20;

/// What a shard reserves of the memory budget while it produces one
/// session's frames: the queue's bound plus one frame past it.
pub(crate) const PUMP_HEADROOM: usize = QUEUE_BYTES + weft_sync::MAX_FRAME_LEN;

/// The smallest memory budget a relay with `shards` shards runs with: each
/// shard producing for one session at once, and two streams each reading a
/// largest frame.
pub fn min_memory_budget(shards: usize) -> u64 {
    ((shards + 2) * PUMP_HEADROOM) as u64
}

/// The shard that owns a workspace's sessions.
fn shard_index(ws: &WorkspaceId, shards: usize) -> usize {
    let mut h = DefaultHasher::new();
    ws.hash(&mut h);
    (h.finish() % shards.max(1) as u64) as usize
}

/// The stores a relay runs on: one for `/metrics`, one per shard, and with
/// a shared database the listener's (with the feed head it starts from).
type Stores = (
    Box<dyn RelayStore>,
    Vec<Box<dyn RelayStore>>,
    Option<(OffRuntime, i64)>,
);

/// Opens every store (blocking: call off the async runtime).
fn open_stores(url: &str, shards: usize) -> anyhow::Result<Stores> {
    let open = |u: &str| store::open(u).with_context(|| format!("opening the database {u}"));
    let stats = open(url)?;
    let mut stores = Vec::with_capacity(shards);
    for _ in 0..shards {
        stores.push(open(url)?);
    }
    let feed = if stats.shared() {
        let feed = open(url)?;
        let head = feed.feed_head()?;
        Some((OffRuntime(Some(feed)), head))
    } else {
        None
    };
    Ok((stats, stores, feed))
}

/// A store that, if dropped where it was not handed on (a start-up that
/// failed after opening it, on the async runtime), is closed on a thread
/// of its own: a PostgreSQL client must not be dropped on a runtime thread.
struct OffRuntime(Option<Box<dyn RelayStore>>);

impl OffRuntime {
    fn take(mut self) -> Option<Box<dyn RelayStore>> {
        self.0.take()
    }
}

impl Drop for OffRuntime {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("weft-relay-close".into())
                .spawn(move || drop(store));
        }
    }
}

/// What the tasks and shards share.
pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) metrics: Arc<Metrics>,
    shards: Vec<mpsc::Sender<ShardMsg>>,
    pub(crate) draining: AtomicBool,
    stats: Arc<Mutex<Option<Box<dyn RelayStore>>>>,
    /// Every sync stream's writer, joined on shutdown.
    pub(crate) writers: weft_net::host::Writers,
    /// The one memory budget.
    pub(crate) budget: Arc<budget::Budget>,
    /// Per-device and per-source limits.
    pub(crate) guard: Arc<Mutex<guard::Guard>>,
    started: std::time::Instant,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Usually dropped on a runtime thread, where a PostgreSQL client
        // must not be (its drop blocks on a runtime of its own).
        let store = self.stats.lock().ok().and_then(|mut s| s.take());
        if let Some(store) = store {
            let _ = std::thread::Builder::new()
                .name("weft-relay-close".into())
                .spawn(move || drop(store));
        }
    }
}

impl Shared {
    /// Milliseconds since the relay started (the limits' clock).
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The limits, even if a holder panicked (they are counters: a panic
    /// mid-update leaves them usable).
    pub(crate) fn guard(&self) -> std::sync::MutexGuard<'_, guard::Guard> {
        self.guard.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn shard_of(&self, ws: &WorkspaceId) -> mpsc::Sender<ShardMsg> {
        self.shards[shard_index(ws, self.shards.len())].clone()
    }

    pub(crate) async fn totals(&self) -> Result<store::Totals, String> {
        let stats = self.stats.clone();
        tokio::task::spawn_blocking(move || {
            stats
                .lock()
                .map_err(|_| "poisoned".to_owned())?
                .as_ref()
                .ok_or_else(|| "closed".to_owned())?
                .totals()
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// A running relay.
pub struct Relay {
    shared: Arc<Shared>,
    net: mpsc::Sender<NetCmd>,
    peer: DeviceId,
    http: Option<std::net::SocketAddr>,
    /// Serves `/health` (503 "draining" during shutdown) until the end of
    /// `shutdown`, which releases the port.
    http_task: Option<tokio::task::JoinHandle<()>>,
    stop_listener: Arc<AtomicBool>,
}

/// Reads the relay's identity from `dir/identity.key`, creating it (mode
/// 0600) on first start: the peer id devices are configured with must
/// survive restarts.
fn identity(dir: &Path) -> anyhow::Result<identity::Keypair> {
    let path = dir.join("identity.key");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut seed = match std::fs::read(&path) {
        Ok(b) => <[u8; 32]>::try_from(b.as_slice()).map_err(|_| {
            anyhow::anyhow!(
                "{} is not a relay identity (expected 32 bytes, found {})",
                path.display(),
                b.len()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let tmp = dir.join("identity.key.tmp");
            {
                use std::io::Write as _;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create(true).truncate(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt as _;
                    opts.mode(0o600);
                }
                let mut f = opts
                    .open(&tmp)
                    .with_context(|| format!("writing {}", tmp.display()))?;
                f.write_all(&seed)?;
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &path)?;
            seed
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    identity::Keypair::ed25519_from_bytes(&mut seed)
        .map_err(|e| anyhow::anyhow!("{} is not an Ed25519 key: {e}", path.display()))
}

impl Relay {
    /// Opens the store, binds the listeners and starts serving. Call inside
    /// a tokio runtime.
    pub async fn start(cfg: Config) -> anyhow::Result<Self> {
        let key = identity(&cfg.data_dir)?;
        let peer_id = key.public().to_peer_id();
        let peer = weft_net::device_of(&peer_id)
            .ok_or_else(|| anyhow::anyhow!("the relay identity is not an Ed25519 key"))?;
        let url = cfg.database_url();
        let metrics = Arc::new(Metrics::default());
        let least = min_memory_budget(cfg.shards.max(1));
        anyhow::ensure!(
            cfg.memory_budget >= least,
            "the memory budget ({} bytes) is below the least this relay runs with ({least} bytes)",
            cfg.memory_budget
        );
        let budget = budget::Budget::new(usize::try_from(cfg.memory_budget).unwrap_or(usize::MAX));
        let guard = Arc::new(Mutex::new(guard::Guard::new(&cfg)));
        let started = std::time::Instant::now();
        // Stores first: a wrong database URL fails before anything listens.
        // The PostgreSQL client is synchronous (it runs a runtime of its
        // own), so connecting, and dropping a connection, must not happen
        // on this runtime's threads.
        let n = cfg.shards.max(1);
        let (stats, stores, feed) = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || open_stores(&url, n))
                .await
                .context("opening the database")??
        };
        let stats = Arc::new(Mutex::new(Some(stats)));
        let mut senders = Vec::with_capacity(n);
        let mut shards = Vec::with_capacity(n);
        for store in stores {
            let (tx, rx) = mpsc::channel(SHARD_QUEUE);
            senders.push(tx);
            let shard = Shard::new(
                store,
                ShardConfig {
                    local: peer,
                    quota_bytes: cfg.quota_bytes,
                    max_workspaces: cfg.max_workspaces,
                    epoch: started,
                },
                metrics.clone(),
                budget.clone(),
                guard.clone(),
            );
            shards.push((shard, rx));
        }
        let shared = Arc::new(Shared {
            cfg: cfg.clone(),
            metrics: metrics.clone(),
            shards: senders,
            draining: AtomicBool::new(false),
            stats,
            writers: weft_net::host::Writers::default(),
            budget,
            guard,
            started,
        });
        for (i, (shard, rx)) in shards.into_iter().enumerate() {
            std::thread::Builder::new()
                .name(format!("weft-relay-shard-{i}"))
                .spawn(move || shard.run(rx))
                .context("starting a shard thread")?;
        }
        let (http, http_task) = match cfg.http {
            Some(addr) => {
                let l = http::bind(addr)
                    .await
                    .with_context(|| format!("cannot serve /metrics on {addr}"))?;
                let bound = l.local_addr().ok();
                (bound, Some(tokio::spawn(http::serve(l, shared.clone()))))
            }
            None => (None, None),
        };
        let mut swarm = net::build(
            key,
            &NetLimits {
                max_connections: cfg.max_connections,
                max_reservations: cfg.max_reservations,
                max_circuits: cfg.max_circuits,
            },
            format!("weft-relay/{}", env!("CARGO_PKG_VERSION")),
        )?;
        for a in &cfg.listen {
            swarm
                .listen_on(a.clone())
                .with_context(|| format!("cannot listen on {a}"))?;
        }
        for a in &cfg.external {
            swarm.add_external_address(a.clone());
        }
        let mut control = swarm.behaviour().stream.new_control();
        let mut sync_in = control
            .accept(weft_net::SYNC_PROTOCOL)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut ctl_in = control
            .accept(weft_net::RELAY_CONTROL_PROTOCOL)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let (net_tx, net_rx) = mpsc::channel(16);
        tokio::spawn(net::run(
            swarm,
            net_rx,
            shared.clone(),
            cfg.external.is_empty(),
        ));
        let keys = Arc::new(AtomicU64::new(1));
        let s = shared.clone();
        tokio::spawn(async move {
            while let Some((pid, stream)) = sync_in.next().await {
                if s.draining.load(Ordering::Acquire) {
                    continue;
                }
                let Some(peer) = weft_net::device_of(&pid) else {
                    continue;
                };
                let key = keys.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(conn::sync_stream(key, peer, stream, s.clone()));
            }
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Some((pid, stream)) = ctl_in.next().await {
                if s.draining.load(Ordering::Acquire) {
                    continue;
                }
                let Some(peer) = weft_net::device_of(&pid) else {
                    continue;
                };
                tokio::spawn(conn::control_stream(peer, stream, s.clone()));
            }
        });
        let s = shared.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(TICK);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                t.tick().await;
                for sh in &s.shards {
                    let _ = sh.try_send(ShardMsg::Tick);
                }
                if s.shards.iter().all(|sh| sh.is_closed()) {
                    break;
                }
            }
        });
        if cfg.external.is_empty() && cfg.listen.iter().all(net::is_loopback) {
            tracing::warn!(
                "{}",
                metrics::circuit_warning(0, 0, false).unwrap_or_default()
            );
        } else {
            // Once the listeners have reported their addresses.
            let s = shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                let m = &s.metrics;
                if let Some(w) = metrics::circuit_warning(
                    m.external_addrs.load(Ordering::Relaxed),
                    m.public_external_addrs.load(Ordering::Relaxed),
                    !s.cfg.external.is_empty(),
                ) {
                    tracing::warn!("{w}");
                }
            });
        }
        let stop_listener = Arc::new(AtomicBool::new(false));
        if let Some((feed, head)) = feed
            && let Some(feed) = feed.take()
        {
            start_listener(&url, feed, head, shared.clone(), stop_listener.clone())?;
        }
        Ok(Self {
            shared,
            net: net_tx,
            peer,
            http,
            http_task,
            stop_listener,
        })
    }

    /// The relay's peer id.
    pub fn peer(&self) -> DeviceId {
        self.peer
    }

    /// The bound `/metrics` address, if serving.
    pub fn http_addr(&self) -> Option<std::net::SocketAddr> {
        self.http
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The addresses listened on, each with `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        let (tx, rx) = oneshot::channel();
        if self.net.send(NetCmd::Listening(tx)).await.is_err() {
            return Vec::new();
        }
        let me = weft_net::peer_of(&self.peer);
        rx.await
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.with_p2p(me).unwrap_or_else(|a| a))
            .collect()
    }

    /// Waits until the listeners are up (at most `timeout`), then returns
    /// the addresses. A listener on 0.0.0.0 reports each interface's
    /// address on its own, so the list counts as complete once it has not
    /// grown for 300 ms: printing on the first address left out the others
    /// (seen on a relay with two interfaces).
    pub async fn wait_listening(&self, timeout: Duration) -> Vec<Multiaddr> {
        const SETTLE: Duration = Duration::from_millis(300);
        let end = tokio::time::Instant::now() + timeout;
        let mut last: Vec<Multiaddr> = Vec::new();
        let mut since = tokio::time::Instant::now();
        loop {
            let a = self.listen_addrs().await;
            let now = tokio::time::Instant::now();
            if a != last {
                last = a;
                since = now;
            } else if !last.is_empty() && now - since >= SETTLE {
                return last;
            }
            if now >= end {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops accepting, lets every session send what it owes (every stored
    /// change is committed before it is acknowledged), closes the store
    /// connections and the network.
    pub async fn shutdown(self) {
        self.shared.draining.store(true, Ordering::Release);
        let (tx, rx) = oneshot::channel();
        if self.net.send(NetCmd::StopListening(tx)).await.is_ok() {
            let _ = rx.await;
        }
        self.stop_listener.store(true, Ordering::Release);
        let drain = async {
            for sh in &self.shared.shards {
                let (tx, rx) = oneshot::channel();
                if sh.send(ShardMsg::Drain(tx)).await.is_ok() {
                    let _ = rx.await;
                }
            }
        };
        if tokio::time::timeout(self.shared.cfg.drain_timeout, drain)
            .await
            .is_err()
        {
            tracing::warn!("the shards did not drain in time");
        }
        // The drained shards dropped every stream's link: each writer puts what
        // is queued (the last acknowledgements) on the wire and ends.
        let busy = self.shared.writers.join(Duration::from_secs(2)).await;
        if busy > 0 {
            tracing::warn!("{busy} stream writers did not finish in time");
        }
        let (tx, rx) = oneshot::channel();
        if self.net.send(NetCmd::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        if let Some(t) = &self.http_task {
            t.abort();
        }
    }
}

/// With a shared database: a thread that LISTENs, and on each wake-up (or
/// every second, in case a notification was lost across a reconnect) reads
/// the rows past its watermark and wakes the shards of their workspaces.
fn start_listener(
    url: &str,
    feed: Box<dyn RelayStore>,
    head: i64,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    use crate::store::postgres_listener;
    let url = url.to_owned();
    std::thread::Builder::new()
        .name("weft-relay-listen".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let mut mark = watermark::Watermark::new(head, HOLE_HOLD_MS);
            let mut listener = None;
            while !stop.load(Ordering::Acquire) {
                if listener.is_none() {
                    match postgres_listener(&url) {
                        Ok(l) => listener = Some(l),
                        Err(e) => {
                            tracing::warn!("listening for other relay nodes: {e}");
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                    }
                }
                let wait = if mark.waiting() {
                    Duration::from_millis(100)
                } else {
                    Duration::from_secs(1)
                };
                if let Some(l) = listener.as_mut()
                    && let Err(e) = l.wait(wait)
                {
                    tracing::warn!("the notification connection failed: {e}");
                    listener = None;
                }
                // Pages past the watermark: each starts after the last row
                // of the one before, so a hole held open under a full page
                // cannot make the pass read the same page forever (it did,
                // and wake-ups stopped for every workspace on the node).
                let mut after = mark.low();
                loop {
                    let rows = match feed.feed_after(after, FEED_PAGE) {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!("reading new rows: {e}");
                            break;
                        }
                    };
                    let now = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                    let fresh: std::collections::HashSet<i64> =
                        mark.observe(&ids, now).into_iter().collect();
                    let mut by_shard: std::collections::HashMap<usize, Vec<WorkspaceId>> =
                        std::collections::HashMap::new();
                    for r in rows.iter().filter(|r| fresh.contains(&r.id)) {
                        let i = shard_index(&r.workspace, shared.shards.len());
                        let list = by_shard.entry(i).or_default();
                        if !list.contains(&r.workspace) {
                            list.push(r.workspace);
                        }
                    }
                    for (i, list) in by_shard {
                        shared
                            .metrics
                            .remote_wakeups
                            .fetch_add(1, Ordering::Relaxed);
                        let _ = shared.shards[i].blocking_send(ShardMsg::Wake(list));
                    }
                    match rows.last() {
                        Some(last) if rows.len() >= FEED_PAGE => after = last.id.max(mark.low()),
                        _ => break,
                    }
                }
            }
        })
        .context("starting the database listener")?;
    Ok(())
}
