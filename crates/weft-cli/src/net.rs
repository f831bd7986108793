//! The commands that run the network: `weft daemon`, `weft sync` and
//! `weft join`. Each builds one tokio runtime here (the CLI's other
//! commands need none) and runs a weft-engine node on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use weft_engine::node::{self, Multiaddr, NodeConfig, NodeEvent, NodeHandle};
use weft_engine::{KeyBackend, Workspace};

use crate::cli::{Global, NetArgs};
use crate::commands::{home, open, passphrase};

use weft_engine::config::ConfigFile;

fn parse_addr(a: &str, source: &str) -> Result<Multiaddr> {
    a.parse().with_context(|| {
        format!("{source}: `{a}` is not a multiaddr (e.g. /ip4/192.168.1.20/tcp/4466)")
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

/// Logs to stderr, filtered by RUST_LOG (default: Weft's own info lines
/// and libp2p's warnings), the way systemd's journal wants it.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,weft=info,weft_engine=info,weft_net=info")
    });
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour for a person at a terminal, plain text for journald.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("weft-net")
        .build()
        .context("starting the async runtime")
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
) -> Result<(
    std::path::PathBuf,
    NodeConfig,
    Workspace,
    tokio::runtime::Runtime,
)> {
    init_logging();
    let home = home(g)?;
    let cfg = node_config(&home, args)?;
    let ws = open(g)?;
    Ok((home, cfg, ws, runtime()?))
}

/// `weft daemon` (and `weft sync` without `--once`).
pub fn daemon(g: &Global, args: &NetArgs) -> Result<()> {
    let (home, cfg, ws, rt) = prepare(g, args)?;
    rt.block_on(async move {
        let mut stop = StopSignal::register()?;
        let node = node::start(ws, cfg).context("starting the network")?;
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

fn summary(r: &Round) -> String {
    let names: Vec<String> = r
        .peers
        .iter()
        .map(|(id, name)| format!("{name} ({})", &id[id.len().saturating_sub(8)..]))
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
pub fn sync_once(g: &Global, args: &NetArgs, timeout: Duration) -> Result<()> {
    let (_, cfg, ws, rt) = prepare(g, args)?;
    rt.block_on(async move {
        let node = match node::start(ws, cfg) {
            Ok(n) => n,
            // A daemon already syncs this workspace, continuously: there is
            // nothing for a one-off round to add.
            Err(e @ node::NodeError::Busy { .. }) => {
                println!("{e}");
                return Ok(());
            }
            Err(e) => return Err(e).context("starting the network"),
        };
        // Long enough for mDNS to answer and a second device to connect.
        let settle = Duration::from_millis(1500).min(timeout);
        let round = sync_round(&node, timeout, settle, |_, _| {}).await;
        node.shutdown().await.context("stopping")?;
        let round = round?;
        for r in &round.refused {
            eprintln!("refused {r}");
        }
        if round.peers.is_empty() {
            bail!(
                "found no device of this workspace within {} s (run `weft daemon` on another device on this network, or add one with `weft peer add MULTIADDR`)",
                timeout.as_secs()
            );
        }
        if !round.complete {
            bail!(
                "timed out after {} s before every device was in sync; {}",
                timeout.as_secs(),
                summary(&round)
            );
        }
        println!("{}", summary(&round));
        Ok(())
    })
}

/// `weft join CODE`.
pub fn join(
    g: &Global,
    code: &str,
    use_pass: bool,
    args: &NetArgs,
    timeout: Duration,
) -> Result<()> {
    // The code is checked before anything is created: a mistyped one
    // changes nothing.
    let invite = crate::invite::read_invite(code)?;
    let home = home(g)?;
    if Workspace::exists(&home) {
        bail!(
            "{} already holds a workspace; join into another directory with --home DIR",
            home.display()
        );
    }
    let cfg = node_config(&home, args)?;
    let keys = if use_pass {
        KeyBackend::Passphrase(passphrase(true)?)
    } else {
        KeyBackend::OsKeyring
    };
    let name = invite.name.clone();
    // The invite's peers are stored, so this node and every later one dial them.
    let (ws, joined) = Workspace::join_invite(&home, invite, keys)?;
    for a in &joined.bad_peers {
        eprintln!("warning: ignoring the invite's address {a}: not a multiaddr");
    }
    for a in &joined.bad_relays {
        eprintln!("warning: ignoring the invite's relay address {a}");
    }
    println!(
        "Joined workspace \"{name}\" in {} as device {}",
        home.display(),
        ws.device_id()
    );
    init_logging();
    let rt = runtime()?;
    rt.block_on(async move {
        let node = node::start(ws, cfg).context("starting the network")?;
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} pulling changes {pos}/{len} [{bar:30}] {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let round = sync_round(&node, timeout, Duration::from_millis(1500), |held, known| {
            bar.set_length(known);
            bar.set_position(held);
        })
        .await;
        bar.finish_and_clear();
        node.shutdown().await.context("stopping")?;
        let round = round?;
        if round.peers.is_empty() {
            // The device is a member now (its keys are stored); it pulls
            // as soon as it meets another device. Not an error: the join
            // itself succeeded.
            println!(
                "No device of this workspace was reachable within {} s; nothing was pulled yet. `weft sync --once` or `weft daemon` pulls once one is online.",
                timeout.as_secs()
            );
        } else {
            println!("{}", summary(&round));
        }
        Ok(())
    })
}
