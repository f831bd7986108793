//! `weft relay add|ls|forget`. The relay table is the interface: these
//! commands write a row (or a pending forget), and the node (a running
//! daemon, or one started here for the purpose) does the networking and
//! records the outcome in the row, which they wait for.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use weft_engine::node::{self, Multiaddr, NodeHandle};
use weft_engine::{RelayRecord, RelayStatus, Workspace};

use crate::cli::{Global, NetArgs};
use crate::commands::{home, open};
use crate::output;

/// Checks a relay address (see [`weft_engine::parse_relay_addr`]).
fn parse_relay(addr: &str) -> Result<Multiaddr> {
    Ok(weft_engine::parse_relay_addr(addr)?)
}

/// Where the row is read from while waiting.
enum Reader {
    /// A daemon runs the node: read the shared file.
    Db(Box<Workspace>),
    /// This command runs the node.
    Node(NodeHandle),
}

impl Reader {
    async fn row(&self, addr: &str) -> Result<Option<RelayRecord>> {
        match self {
            Reader::Db(ws) => Ok(ws.relay(addr)?),
            Reader::Node(n) => {
                let a = addr.to_owned();
                Ok(n.call(move |ws| ws.relay(&a)).await??)
            }
        }
    }
}

/// Runs `wait` against the row, with a node started here if no daemon
/// runs one (mDNS off: it is here for the relay).
fn with_node<T>(
    g: &Global,
    ws: Workspace,
    wait: impl AsyncFnOnce(&Reader) -> Result<T>,
) -> Result<T> {
    crate::net::init_logging();
    let rt = crate::net::runtime()?;
    rt.block_on(async move {
        if node::running_node(ws.home()).is_some() {
            return wait(&Reader::Db(Box::new(ws))).await;
        }
        let args = NetArgs {
            port: Some(0),
            no_mdns: true,
            device_name: None,
            peers: Vec::new(),
        };
        let cfg = crate::net::node_config(&home(g)?, &args)?;
        let node = match node::start(ws, cfg) {
            Ok(n) => n,
            // A daemon started meanwhile: it will do it.
            Err(node::NodeError::Busy { .. }) => {
                return wait(&Reader::Db(Box::new(open(g)?))).await;
            }
            Err(e) => return Err(e).context("starting the network"),
        };
        let r = wait(&Reader::Node(node.clone())).await;
        node.shutdown().await.context("stopping")?;
        r
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `weft relay add`.
pub fn add(g: &Global, addr: &str, timeout: Duration) -> Result<()> {
    let m = parse_relay(addr)?;
    let addr = m.to_string();
    let ws = open(g)?;
    let new = ws.add_relay(&addr)?;
    let started = now_ms();
    let outcome = with_node(g, ws, async |r: &Reader| {
        let end = Instant::now() + timeout;
        loop {
            let row = r.row(&addr).await?;
            if let Some(row) = &row {
                let fresh = |t: Option<i64>| t.is_some_and(|t| t >= started);
                if fresh(row.last_sync_ms) {
                    return Ok(Ok(row.clone()));
                }
                if row.status.starts_with("refused") && fresh(row.status_ms) {
                    return Ok(Err(row.status.clone()));
                }
                // Registered, but the relay turned the changes away (its
                // quota, its rate limit): added, with the problem shown.
                if row.registered_ms.is_some()
                    && fresh(row.status_ms)
                    && !row.status.is_empty()
                    && !row.status.starts_with("unreachable")
                {
                    return Ok(Ok(row.clone()));
                }
            }
            if Instant::now() >= end {
                return Ok(Err(String::new()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })?;
    match outcome {
        Ok(row) => {
            let s = RelayStatus::from(row);
            println!(
                "{} relay {}",
                if new { "Added" } else { "Already using" },
                output::relay_line(&s)
            );
            Ok(())
        }
        Err(status) if status.is_empty() => {
            let ws = open(g)?;
            let why = ws
                .relay(&addr)?
                .map(|r| r.status)
                .filter(|s| !s.is_empty())
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            println!(
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
            bail!("the relay {addr} {status}")
        }
    }
}

/// `weft relay ls`.
pub fn list(ws: &Workspace, json: bool) -> Result<()> {
    let relays: Vec<RelayStatus> = ws.relays()?.into_iter().map(RelayStatus::from).collect();
    if json {
        return output::json(&relays);
    }
    if relays.is_empty() {
        println!("No relay: `weft relay add MULTIADDR` adds the address weft-relay printed.");
    }
    for r in &relays {
        println!("{}", output::relay_line(r));
    }
    Ok(())
}

/// `weft relay forget`.
pub fn forget(g: &Global, addr: &str, timeout: Duration) -> Result<()> {
    let ws = open(g)?;
    let addr = parse_relay(addr)
        .map(|m| m.to_string())
        .unwrap_or_else(|_| addr.to_owned());
    if !ws.request_relay_forget(&addr)? {
        let known: Vec<String> = ws.relays()?.into_iter().map(|r| r.addr).collect();
        if known.is_empty() {
            bail!("{addr} is not a relay of this workspace (it has none)");
        }
        bail!(
            "{addr} is not a relay of this workspace; its relays are:\n  {}",
            known.join("\n  ")
        );
    }
    let done = with_node(g, ws, async |r: &Reader| {
        let end = Instant::now() + timeout;
        loop {
            if r.row(&addr).await?.is_none() {
                return Ok(true);
            }
            if Instant::now() >= end {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })?;
    if !done {
        let why = open(g)?
            .relay(&addr)?
            .map(|r| r.status)
            .filter(|s| !s.is_empty())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        bail!(
            "the relay {addr} did not confirm within {} s{why}; the request stays pending and `weft daemon` completes it",
            timeout.as_secs()
        );
    }
    println!("The relay {addr} deleted this workspace; this device no longer uses it.");
    Ok(())
}
