//! `weft relay add|ls|forget`. The relay table is the interface: these
//! commands write a row (or a pending forget), and the node (a running
//! daemon, or one started here for the purpose) does the networking and
//! records the outcome in the row, which they wait for.

use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};
use weft_engine::node::{self, Multiaddr, NodeEvent, NodeHandle};
use weft_engine::{RelayRecord, RelayState, RelayStatus, Workspace};

use crate::context::{Global, Verbosity, fail, home, init_logging, open, runtime};
use crate::net::NetArgs;
use crate::output::{self, clean, say};

/// `weft relay`: with no subcommand, the list.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft relay add /dns4/relay.example.org/tcp/4467/p2p/12D3KooW…\n  \
    weft relay ls --json\n  \
    weft relay forget /dns4/relay.example.org/tcp/4467/p2p/12D3KooW…")]
pub struct RelayArgs {
    #[command(subcommand)]
    cmd: Option<RelayCommand>,
    /// Print JSON (the list).
    #[arg(long)]
    json: bool,
}

/// `weft relay add|ls|forget`.
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Sync through this relay from now on: registers the workspace there
    /// (the relay learns its id and a public verifier, nothing it could
    /// read with) and pushes what this device holds.
    Add {
        /// The address weft-relay printed, ending in /p2p/<relay id>.
        multiaddr: String,
        /// Give up waiting for the relay after this many seconds (it stays
        /// added; a running node keeps trying).
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        timeout: u64,
        /// Print JSON: the relay's row, as `weft relay ls --json` lists it.
        #[arg(long)]
        json: bool,
    },
    /// The relays, whether they are in sync, their usage and problems.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete this workspace from the relay (every change it stores) and
    /// stop using it on this device. Another device that still has the
    /// relay registers the workspace there again and uploads what it
    /// holds: run this on every device that uses the relay.
    #[command(alias = "rm")]
    Forget {
        /// The relay's address, as `weft relay ls` lists it.
        multiaddr: String,
        /// Give up after this many seconds (the request stays pending; a
        /// running node completes it).
        #[arg(long, value_name = "SECONDS", default_value_t = 20)]
        timeout: u64,
    },
}

/// `weft relay …`.
pub fn run(g: &Global, a: RelayArgs) -> Result<()> {
    match a.cmd {
        None => list(&open(g)?, a.json),
        Some(RelayCommand::Ls { json }) => list(&open(g)?, json || a.json),
        Some(RelayCommand::Add {
            multiaddr,
            timeout,
            json,
        }) => add(g, &multiaddr, Duration::from_secs(timeout), json),
        Some(RelayCommand::Forget { multiaddr, timeout }) => {
            forget(g, &multiaddr, Duration::from_secs(timeout))
        }
    }
}

/// Checks a relay address (see [`weft_engine::parse_relay_addr`]).
fn parse_relay(addr: &str) -> Result<Multiaddr> {
    Ok(weft_engine::parse_relay_addr(addr)?)
}

/// Where the row is read from while waiting, and how a change to it is noticed.
enum Watch {
    /// A daemon runs the node: read the shared file, and notice its commits by
    /// SQLite's `data_version` (another process gives no events to wait on).
    Db { ws: Box<Workspace>, version: i64 },
    /// This command runs the node: it says when it saved a relay's row.
    Node {
        node: NodeHandle,
        events: tokio::sync::broadcast::Receiver<NodeEvent>,
    },
}

impl Watch {
    fn db(ws: Workspace) -> Result<Self> {
        let version = ws.data_version()?;
        Ok(Watch::Db {
            ws: Box::new(ws),
            version,
        })
    }

    async fn row(&self, addr: &str) -> Result<Option<RelayRecord>> {
        match self {
            Watch::Db { ws, .. } => Ok(ws.relay(addr)?),
            Watch::Node { node, .. } => {
                let a = addr.to_owned();
                Ok(node.call(move |ws| ws.relay(&a)).await??)
            }
        }
    }

    /// Returns once the relay table may have changed.
    async fn changed(&mut self) -> Result<()> {
        match self {
            Watch::Node { events, .. } => loop {
                use tokio::sync::broadcast::error::RecvError;
                match events.recv().await {
                    Ok(NodeEvent::RelayUpdated { .. } | NodeEvent::RelayForgotten { .. })
                    | Err(RecvError::Lagged(_)) => return Ok(()),
                    Ok(_) => {}
                    Err(RecvError::Closed) => {
                        fail!(Network, "the node stopped before the relay answered")
                    }
                }
            },
            Watch::Db { ws, version } => loop {
                // The node's own pace for noticing another process's commits.
                tokio::time::sleep(weft_engine::node::TICK).await;
                let v = ws.data_version()?;
                if v != *version {
                    *version = v;
                    return Ok(());
                }
            },
        }
    }

    /// Reads the row until `done` says what it means, or `timeout` passes (`None`).
    async fn until<T>(
        &mut self,
        addr: &str,
        timeout: Duration,
        mut done: impl FnMut(Option<&RelayRecord>) -> Option<T>,
    ) -> Result<Option<T>> {
        let end = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(t) = done(self.row(addr).await?.as_ref()) {
                return Ok(Some(t));
            }
            tokio::select! {
                r = self.changed() => r?,
                _ = tokio::time::sleep_until(end) => return Ok(None),
            }
        }
    }
}

/// Runs `wait` against the row, with a node started here if no daemon
/// runs one (mDNS off: it is here for the relay).
fn with_node<T>(
    g: &Global,
    ws: Workspace,
    wait: impl AsyncFnOnce(&mut Watch) -> Result<T>,
) -> Result<T> {
    init_logging(g, Verbosity::Command);
    let rt = runtime()?;
    rt.block_on(async move {
        if node::running_node(ws.home()).is_some() {
            return wait(&mut Watch::db(ws)?).await;
        }
        let cfg = crate::net::node_config(&home(g)?, &NetArgs::relay_only())?;
        let node = match node::start(ws, cfg) {
            Ok(n) => n,
            // A daemon started meanwhile: it will do it.
            Err(node::NodeError::Busy { .. }) => {
                return wait(&mut Watch::db(open(g)?)?).await;
            }
            Err(e) => return Err(e.into()),
        };
        // Subscribed before the first read of the row, so no update is missed.
        let mut watch = Watch::Node {
            events: node.subscribe(),
            node: node.clone(),
        };
        let r = wait(&mut watch).await;
        node.shutdown().await?;
        r
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `weft relay add`.
fn add(g: &Global, addr: &str, timeout: Duration, json: bool) -> Result<()> {
    let m = parse_relay(addr)?;
    let addr = m.to_string();
    let ws = open(g)?;
    let new = ws.add_relay(&addr)?;
    let started = now_ms();
    let outcome = with_node(g, ws, async |w: &mut Watch| {
        let fresh = |t: Option<i64>| t.is_some_and(|t| t >= started);
        let seen = w
            .until(&addr, timeout, |row| {
                let row = row?;
                if fresh(row.last_sync_ms) {
                    return Some(Ok(row.clone()));
                }
                match row.state {
                    RelayState::Refused if fresh(row.status_ms) => Some(Err(row.status.clone())),
                    // Registered, but the relay turned the changes away (its
                    // quota, its rate limit): added, with the problem shown.
                    RelayState::QuotaFull | RelayState::RateLimited
                        if row.registered_ms.is_some() && fresh(row.status_ms) =>
                    {
                        Some(Ok(row.clone()))
                    }
                    _ => None,
                }
            })
            .await?;
        Ok(seen.unwrap_or_else(|| Err(String::new())))
    })?;
    match outcome {
        Ok(row) => {
            let s = RelayStatus::from(row);
            if json {
                return output::json(&s);
            }
            say!(
                "{} relay {}",
                if new { "Added" } else { "Already using" },
                output::relay_line(&s)
            );
            Ok(())
        }
        Err(status) if status.is_empty() => {
            let ws = open(g)?;
            let row = ws.relay(&addr)?;
            if json {
                return output::json(&row.map(RelayStatus::from));
            }
            let why = row
                .map(|r| r.status)
                .filter(|s| !s.is_empty())
                .map(|s| format!(" ({})", clean(&s, false)))
                .unwrap_or_default();
            say!(
                "Added relay {addr}, but it was not reachable within {} s{why}. `weft daemon` keeps trying; `weft relay ls` shows how it is doing.",
                timeout.as_secs()
            );
            Ok(())
        }
        Err(status) => {
            // The relay said no (full, another key): it is of no use, so
            // adding it changed nothing.
            if new {
                open(g)?.remove_relay(&addr)?;
            }
            fail!(Refused, "the relay {addr} {}", clean(&status, false))
        }
    }
}

/// `weft relay ls`.
fn list(ws: &Workspace, json: bool) -> Result<()> {
    let relays: Vec<RelayStatus> = ws.relays()?.into_iter().map(RelayStatus::from).collect();
    if json {
        return output::json(&relays);
    }
    if relays.is_empty() {
        say!("No relay: `weft relay add MULTIADDR` adds the address weft-relay printed.");
    }
    for r in &relays {
        println!("{}", output::relay_line(r));
    }
    Ok(())
}

/// `weft relay forget`.
fn forget(g: &Global, addr: &str, timeout: Duration) -> Result<()> {
    let ws = open(g)?;
    let addr = parse_relay(addr)
        .map(|m| m.to_string())
        .unwrap_or_else(|_| addr.to_owned());
    if !ws.request_relay_forget(&addr)? {
        let known: Vec<String> = ws.relays()?.into_iter().map(|r| r.addr).collect();
        let addr = clean(&addr, false);
        if known.is_empty() {
            fail!(
                UnknownAddress,
                "{addr} is not a relay of this workspace (it has none)"
            );
        }
        fail!(
            UnknownAddress,
            "{addr} is not a relay of this workspace; its relays are:\n  {}",
            known.join("\n  ")
        );
    }
    let done = with_node(g, ws, async |w: &mut Watch| {
        // The node removes the row once the relay confirmed.
        Ok(w.until(&addr, timeout, |row| row.is_none().then_some(()))
            .await?
            .is_some())
    })?;
    if !done {
        let why = open(g)?
            .relay(&addr)?
            .map(|r| r.status)
            .filter(|s| !s.is_empty())
            .map(|s| format!(" ({})", clean(&s, false)))
            .unwrap_or_default();
        fail!(
            Timeout,
            "the relay {addr} did not confirm within {} s{why}; the request stays pending and `weft daemon` completes it",
            timeout.as_secs()
        );
    }
    say!("The relay {addr} deleted this workspace; this device no longer uses it.");
    Ok(())
}
