//! Configuration: flags, `WEFT_RELAY_*` environment variables and a TOML
//! file, in that order of precedence (a flag beats the environment, which
//! beats the file, which beats the default). No setting is required.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use libp2p::Multiaddr;
use serde::Deserialize;

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds `identity.key` and, by default, `relay.db`.
    pub data_dir: PathBuf,
    /// `sqlite:PATH`, a path, or `postgres://…`; `None`: `relay.db` in the
    /// data dir.
    pub database: Option<String>,
    /// Multiaddrs to listen on.
    pub listen: Vec<Multiaddr>,
    /// Addresses to announce besides the listen addresses (a public IP
    /// behind a port forward).
    pub external: Vec<Multiaddr>,
    /// Where `/health` and `/metrics` are served; `None`: not at all.
    pub http: Option<SocketAddr>,
    /// Bytes of sealed changes one workspace may store (0: no limit).
    pub quota_bytes: u64,
    /// Workspaces the relay accepts (0: no limit).
    pub max_workspaces: u64,
    /// Bytes per second one device may send, sustained.
    pub rate_bytes: u64,
    /// Bytes one device may send in a burst.
    pub burst_bytes: u64,
    /// How long a device may stay over its rate before it is refused.
    pub rate_patience: Duration,
    /// Connections held at once.
    pub max_connections: u32,
    /// Circuit relay reservations held at once.
    pub max_reservations: usize,
    /// Relayed circuits open at once.
    pub max_circuits: usize,
    /// Shard threads (sessions and storage).
    pub shards: usize,
    /// How long SIGTERM waits for sessions to drain.
    pub drain_timeout: Duration,
    /// Bytes per second one source address may send over all its devices,
    /// streams and connections, sustained.
    pub source_rate_bytes: u64,
    /// Bytes one source address may send in a burst.
    pub source_burst_bytes: u64,
    /// Frames per second one device may send (a burst of ten times this).
    pub frame_rate: u64,
    /// Frames per second one source address may send (a burst of ten times this).
    pub source_frame_rate: u64,
    /// Sync streams one source address may hold open (0: no limit).
    pub max_streams_per_source: usize,
    /// Connections one source address may hold open (0: no limit).
    pub max_connections_per_source: usize,
    /// An authenticated stream with nothing from the device for this long is closed.
    pub idle_timeout: Duration,
    /// A frame that has started must have arrived whole within this (time
    /// the relay itself paused the stream for a rate limit not counted).
    pub frame_timeout: Duration,
    /// Bytes the relay may hold for frames read and not yet handled, read
    /// buffers, reorder buffers and queued writes, all streams together.
    pub memory_budget: u64,
    /// Control requests (register, forget, usage) per minute per source address (0: no limit).
    pub control_per_minute: u64,
    /// New registrations per hour from one source address (0: no limit).
    pub registrations_per_hour_per_source: u64,
    /// New registrations per hour over every source (0: no limit).
    pub registrations_per_hour: u64,
}

impl Config {
    /// The database URL actually used.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(d) => d.clone(),
            None => format!("sqlite:{}", self.data_dir.join("relay.db").display()),
        }
    }

    /// Defaults with the data dir given (tests, and the base of `resolve`).
    pub fn with_data_dir(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database: None,
            listen: default_listen(weft_net::RELAY_PORT),
            external: Vec::new(),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 9466))),
            quota_bytes: 128 << 20,
            max_workspaces: 1_000,
            rate_bytes: 4 << 20,
            burst_bytes: 16 << 20,
            rate_patience: Duration::from_secs(30),
            max_connections: 8192,
            max_reservations: 4096,
            max_circuits: 512,
            shards: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            drain_timeout: Duration::from_secs(10),
            source_rate_bytes: 16 << 20,
            source_burst_bytes: 64 << 20,
            frame_rate: 500,
            source_frame_rate: 2_000,
            max_streams_per_source: 64,
            max_connections_per_source: 32,
            idle_timeout: Duration::from_secs(120),
            frame_timeout: Duration::from_secs(60),
            memory_budget: 256 << 20,
            control_per_minute: 60,
            registrations_per_hour_per_source: 10,
            registrations_per_hour: 200,
        }
    }
}

/// TCP and QUIC on every IPv4 interface at `port`.
pub fn default_listen(port: u16) -> Vec<Multiaddr> {
    weft_net::listen_addrs(port)
}

/// The keys a config file may hold (all optional; unknown keys are an
/// error that names the file).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`Config::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Config::database`].
    pub database: Option<String>,
    /// See [`Config::listen`].
    pub listen: Option<Vec<String>>,
    /// A port for the default listen addresses.
    pub port: Option<u16>,
    /// See [`Config::external`].
    pub external: Option<Vec<String>>,
    /// See [`Config::http`]; `""` turns it off.
    pub http: Option<String>,
    /// See [`Config::quota_bytes`].
    pub quota_bytes: Option<u64>,
    /// See [`Config::max_workspaces`].
    pub max_workspaces: Option<u64>,
    /// See [`Config::rate_bytes`].
    pub rate_bytes: Option<u64>,
    /// See [`Config::burst_bytes`].
    pub burst_bytes: Option<u64>,
    /// Seconds; see [`Config::rate_patience`].
    pub rate_patience_secs: Option<u64>,
    /// See [`Config::max_connections`].
    pub max_connections: Option<u32>,
    /// See [`Config::shards`].
    pub shards: Option<usize>,
    /// Seconds; see [`Config::drain_timeout`].
    pub drain_timeout_secs: Option<u64>,
    /// See [`Config::source_rate_bytes`].
    pub source_rate_bytes: Option<u64>,
    /// See [`Config::source_burst_bytes`].
    pub source_burst_bytes: Option<u64>,
    /// See [`Config::frame_rate`].
    pub frame_rate: Option<u64>,
    /// See [`Config::source_frame_rate`].
    pub source_frame_rate: Option<u64>,
    /// See [`Config::max_streams_per_source`].
    pub max_streams_per_source: Option<usize>,
    /// See [`Config::max_connections_per_source`].
    pub max_connections_per_source: Option<usize>,
    /// Seconds; see [`Config::idle_timeout`].
    pub idle_timeout_secs: Option<u64>,
    /// Seconds; see [`Config::frame_timeout`].
    pub frame_timeout_secs: Option<u64>,
    /// See [`Config::memory_budget`].
    pub memory_budget: Option<u64>,
    /// See [`Config::control_per_minute`].
    pub control_per_minute: Option<u64>,
    /// See [`Config::registrations_per_hour_per_source`].
    pub registrations_per_hour_per_source: Option<u64>,
    /// See [`Config::registrations_per_hour`].
    pub registrations_per_hour: Option<u64>,
}

impl FileConfig {
    /// Reads a config file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in the config file {}", path.display()))
    }
}

/// Parses a list of multiaddrs, naming the setting a bad one came from.
pub fn parse_addrs(what: &str, list: &[String]) -> anyhow::Result<Vec<Multiaddr>> {
    list.iter()
        .map(|a| {
            a.parse::<Multiaddr>().with_context(|| {
                format!("{what}: {a:?} is not a multiaddr (like /ip4/0.0.0.0/tcp/4467)")
            })
        })
        .collect()
}

/// Parses an HTTP bind address; empty or "off" is none.
pub fn parse_http(s: &str) -> anyhow::Result<Option<SocketAddr>> {
    if s.is_empty() || s == "off" {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .with_context(|| format!("--http: {s:?} is not an address like 127.0.0.1:9466"))
}
