//! The commands that run the network: `weft daemon`, `weft sync` and
//! `weft join`. Each builds one tokio runtime (the CLI's other commands need
//! none) and runs a weft-engine node on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use weft_engine::config::ConfigFile;
use weft_engine::node::{self, Multiaddr, NodeConfig, NodeEvent, NodeHandle};
use weft_engine::{KeyBackend, Workspace};

use crate::context::{
    Global, Verbosity, fail, failure, home, init_logging, open, passphrase, runtime,
};
use crate::output::{self, clean, say};

/// Network options (they override `weft.toml` in the workspace home).
#[derive(Debug, Args)]
pub struct NetArgs {
    /// TCP and QUIC port (default 4466; 0 for any free port).
    #[arg(long, env = "WEFT_PORT")]
    pub port: Option<u16>,
    /// Do not find or announce devices on the LAN by mDNS.
    #[arg(long)]
    pub no_mdns: bool,
    /// The name other devices see (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// Also connect to this address (repeatable), e.g.
    /// /ip4/192.168.1.20/tcp/4466.
    #[arg(long = "peer", value_name = "MULTIADDR")]
    pub peers: Vec<String>,
}

impl NetArgs {
    /// A node that is there only to reach relays: any port, no mDNS.
    pub fn relay_only() -> Self {
        NetArgs {
            port: Some(0),
            no_mdns: true,
            device_name: None,
            peers: Vec::new(),
        }
    }
}

/// `weft daemon`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft daemon\n  \
    RUST_LOG=debug weft daemon --port 4466 --peer /ip4/192.168.1.20/tcp/4466")]
pub struct DaemonArgs {
    #[command(flatten)]
    net: NetArgs,
}

/// `weft sync`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft sync --once\n  \
    weft sync --once --timeout 30 --json\n  \
    weft sync            (stays on, like weft daemon)")]
pub struct SyncArgs {
    /// Sync once and exit, instead of staying on like `weft daemon`.
    #[arg(long)]
    once: bool,
    /// With --once: give up after this many seconds [default: 10].
    #[arg(long, value_name = "SECONDS", requires = "once")]
    timeout: Option<u64>,
    /// With --once: print the summary as JSON.
    #[arg(long, requires = "once")]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
}

/// `weft join`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft join weft1-…\n  \
    weft --home ~/weft2 join weft1-… --passphrase --timeout 300")]
pub struct JoinArgs {
    /// The invite code (weft1-...).
    code: String,
    /// Keep the keys in a passphrase-protected file instead of the OS
    /// keyring (WEFT_PASSPHRASE or a prompt).
    #[arg(long)]
    passphrase: bool,
    /// Give up pulling after this many seconds (the device stays joined).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
    /// Print JSON: {"workspace", "name", "device", "home", "sync"}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: NetArgs,
}

fn parse_addr(a: &str, source: &str) -> Result<Multiaddr> {
    a.parse().map_err(|_| {
        failure(
            weft_core::ErrorCode::InvalidAddress,
            format!("{source}: `{a}` is not a multiaddr (e.g. /ip4/192.168.1.20/tcp/4466)"),
        )
    })
}

/// Flags over the config file over defaults.
pub(crate) fn node_config(home: &Path, args: &NetArgs) -> Result<NodeConfig> {
    let mut cfg = ConfigFile::read(home)?.node_config(home)?;
    if let Some(port) = args.port {
        cfg.port = port;
    }
    if args.no_mdns {
        cfg.mdns = false;
    }
    if let Some(name) = &args.device_name {
        cfg.device_name = name.clone();
    }
    for a in &args.peers {
        cfg.peers.push(parse_addr(a, "--peer")?);
    }
    Ok(cfg)
}

/// SIGTERM or SIGINT (Ctrl-C), registered when made: a signal that comes
/// before anyone waits is kept, not left to the default action (death).
struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn register() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(&mut self) -> Result<&'static str> {
        #[cfg(unix)]
        {
            // Both are cancel-safe: a signal is either taken or still pending.
            tokio::select! {
                _ = self.term.recv() => Ok("SIGTERM"),
                _ = self.int.recv() => Ok("SIGINT"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .context("listening for Ctrl-C")?;
            Ok("Ctrl-C")
        }
    }
}

/// What every command that runs a node needs: logging, the home, its
/// network configuration (checked before the workspace is opened, so a bad
/// `weft.toml` costs no passphrase prompt), the workspace and a runtime.
fn prepare(
    g: &Global,
    args: &NetArgs,
    verbosity: Verbosity,
) -> Result<(
    std::path::PathBuf,
    NodeConfig,
    Workspace,
    tokio::runtime::Runtime,
)> {
    init_logging(g, verbosity);
    let home = home(g)?;
    let cfg = node_config(&home, args)?;
    let ws = open(g)?;
    Ok((home, cfg, ws, runtime()?))
}

/// `weft daemon`.
pub fn daemon(g: &Global, a: DaemonArgs) -> Result<()> {
    run_daemon(g, &a.net)
}

/// `weft sync`: a bounded round with `--once`, else the daemon.
pub fn sync(g: &Global, a: SyncArgs) -> Result<()> {
    if a.once {
        sync_once(
            g,
            &a.net,
            Duration::from_secs(a.timeout.unwrap_or(10)),
            a.json,
        )
    } else {
        run_daemon(g, &a.net)
    }
}

fn run_daemon(g: &Global, args: &NetArgs) -> Result<()> {
    let (home, cfg, ws, rt) = prepare(g, args, Verbosity::Service)?;
    rt.block_on(async move {
        let mut stop = StopSignal::register()?;
        let node = node::start(ws, cfg)?;
        tracing::info!(
            "weft daemon for {} as device {}",
            home.display(),
            node.device()
        );
        let sig = stop.wait().await?;
        tracing::info!("{sig}: stopping");
        node.shutdown().await.context("stopping")?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// What one bounded sync round achieved.
struct Round {
    peers: BTreeMap<String, String>,
    refused: BTreeSet<String>,
    received: u64,
    sent: u64,
    complete: bool,
}

/// Runs a node until every member it found is in sync and `settle` has
/// passed, or `timeout` runs out.
async fn sync_round(
    node: &NodeHandle,
    timeout: Duration,
    settle: Duration,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<Round> {
    let mut events = node.subscribe();
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let mut refused = BTreeSet::new();
    let mut check = tokio::time::interval(Duration::from_millis(100));
    let complete = loop {
        // All branches are cancel-safe: a broadcast receive, a sleep to a
        // fixed deadline and an interval tick.
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(NodeEvent::Progress { held, known }) => on_progress(held, known),
                Ok(NodeEvent::Refused { peer, reason }) => {
                    refused.insert(format!("{peer}: {reason}"));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break false,
            },
            _ = tokio::time::sleep_until(deadline) => break false,
            _ = check.tick() => {
                if start.elapsed() < settle {
                    continue;
                }
                let sessions = node.sessions().await?;
                let members: Vec<_> = sessions.iter().filter(|s| s.authenticated).collect();
                if !members.is_empty() && members.iter().all(|s| s.in_sync) {
                    break true;
                }
            }
        }
    };
    let sessions = node.sessions().await?;
    let mut peers = BTreeMap::new();
    let (mut received, mut sent) = (0, 0);
    for s in sessions.iter().filter(|s| s.authenticated) {
        peers.insert(s.peer.to_string(), s.name.clone());
        received += s.stats.changes_in;
        sent += s.stats.changes_out;
    }
    Ok(Round {
        peers,
        refused,
        received,
        sent,
        complete,
    })
}

/// A round as `--json` prints it.
#[derive(Serialize)]
struct RoundJson<'a> {
    complete: bool,
    devices: Vec<DeviceJson<'a>>,
    received: u64,
    sent: u64,
    refused: &'a BTreeSet<String>,
}

#[derive(Serialize)]
struct DeviceJson<'a> {
    device: &'a str,
    name: &'a str,
}

impl Round {
    fn to_json(&self) -> RoundJson<'_> {
        RoundJson {
            complete: self.complete,
            devices: self
                .peers
                .iter()
                .map(|(device, name)| DeviceJson { device, name })
                .collect(),
            received: self.received,
            sent: self.sent,
            refused: &self.refused,
        }
    }
}

fn summary(r: &Round) -> String {
    let names: Vec<String> = r
        .peers
        .iter()
        .map(|(id, name)| {
            format!(
                "{} ({})",
                clean(name, false),
                &id[id.len().saturating_sub(8)..]
            )
        })
        .collect();
    format!(
        "synced with {} device{}: {}; {} change{} received, {} sent",
        r.peers.len(),
        if r.peers.len() == 1 { "" } else { "s" },
        names.join(", "),
        r.received,
        if r.received == 1 { "" } else { "s" },
        r.sent
    )
}

/// `weft sync --once`.
pub(crate) fn sync_once(g: &Global, args: &NetArgs, timeout: Duration, json: bool) -> Result<()> {
    let (_, cfg, ws, rt) = prepare(g, args, Verbosity::Command)?;
    rt.block_on(async move {
        let node = match node::start(ws, cfg) {
            Ok(n) => n,
            // A daemon already syncs this workspace, continuously: there is
            // nothing for a one-off round to add.
            Err(e @ node::NodeError::Busy { .. }) => {
                say!("{e}");
                if json {
                    output::json(&serde_json::json!({"complete": true, "running_node": true}))?;
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        // Long enough for mDNS to answer and a second device to connect.
        let settle = Duration::from_millis(1500).min(timeout);
        let bar = output::progress("syncing changes", json);
        let round = sync_round(&node, timeout, settle, |held, known| {
            output::tick(&bar, held, known)
        })
        .await;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        node.shutdown().await?;
        let round = round?;
        if round.peers.is_empty() {
            if !round.refused.is_empty() {
                fail!(
                    Refused,
                    "every device found refused this one ({})",
                    clean(&round.refused.iter().cloned().collect::<Vec<_>>().join("; "), false)
                );
            }
            fail!(
                Timeout,
                "found no device of this workspace within {} s (run `weft daemon` on another device on this network, or add one with `weft peer add MULTIADDR`)",
                timeout.as_secs()
            );
        }
        if !round.complete {
            fail!(
                Timeout,
                "timed out after {} s before every device was in sync; {}",
                timeout.as_secs(),
                summary(&round)
            );
        }
        if json {
            // The refusals are in the report.
            return output::json(&round.to_json());
        }
        for r in &round.refused {
            say!("warning: refused {}", clean(r, false));
        }
        say!("{}", summary(&round));
        Ok(())
    })
}

/// `weft join CODE`.
pub fn join(g: &Global, a: JoinArgs) -> Result<()> {
    let timeout = Duration::from_secs(a.timeout);
    // The code is checked before anything is created: a mistyped one
    // changes nothing.
    let invite = crate::invite::read_invite(&a.code)?;
    let home = home(g)?;
    if Workspace::exists(&home) {
        fail!(
            AlreadyExists,
            "{} already holds a workspace; join into another directory with --home DIR",
            home.display()
        );
    }
    let cfg = node_config(&home, &a.net)?;
    let keys = if a.passphrase {
        KeyBackend::Passphrase(passphrase(true)?)
    } else {
        KeyBackend::OsKeyring
    };
    let name = invite.name.clone();
    let workspace = invite.workspace;
    // The invite's peers are stored, so this node and every later one dial them.
    let (ws, joined) = Workspace::join_invite(&home, invite, keys)?;
    for addr in &joined.bad_peers {
        say!(
            "warning: ignoring the invite's address {}: not a multiaddr",
            clean(addr, false)
        );
    }
    for addr in &joined.bad_relays {
        say!(
            "warning: ignoring the invite's relay address {}",
            clean(addr, false)
        );
    }
    let device = ws.device_id();
    say!(
        "Joined workspace \"{}\" in {} as device {device}",
        clean(&name, false),
        home.display(),
    );
    init_logging(g, Verbosity::Command);
    let rt = runtime()?;
    let round = rt.block_on(async move {
        let node = node::start(ws, cfg)?;
        let bar = output::progress("pulling changes", a.json);
        let round = sync_round(
            &node,
            timeout,
            Duration::from_millis(1500),
            |held, known| output::tick(&bar, held, known),
        )
        .await;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        node.shutdown().await?;
        round
    })?;
    if a.json {
        return output::json(&serde_json::json!({
            "workspace": workspace.to_string(),
            "name": name,
            "device": device.to_string(),
            "home": home,
            "sync": round.to_json(),
        }));
    }
    if round.peers.is_empty() {
        // The device is a member now (its keys are stored); it pulls as soon as it
        // meets another device. Not an error: the join itself succeeded.
        say!(
            "No device of this workspace was reachable within {} s; nothing was pulled yet. `weft sync --once` or `weft daemon` pulls once one is online.",
            timeout.as_secs()
        );
    } else {
        say!("{}", summary(&round));
    }
    Ok(())
}
