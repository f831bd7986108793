//! `weft peer [ls|add|rm]` (`weft peers` lists too) and `weft status DOC`: this
//! device's bookkeeping of the others. Reading and writing the table only; the
//! daemon does the networking.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;
use weft_core::ErrorCode;
use weft_engine::{Holder, PeerRecord, Workspace};

use crate::context::{Global, fail, failure, open};
use crate::output::{self, clean, say};

/// `weft peer`: with no subcommand, the list.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    weft peer ls\n  \
    weft peer add /ip4/192.168.1.20/tcp/4466\n  \
    weft peer rm /ip4/192.168.1.20/tcp/4466")]
pub struct PeerArgs {
    #[command(subcommand)]
    cmd: Option<PeerCommand>,
    /// Print JSON (the list).
    #[arg(long)]
    json: bool,
}

/// `weft peer ls|add|rm`.
#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// The other devices seen: name, device id, connection, addresses, last
    /// sync; and the addresses added with `weft peer add`.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remember an address to dial, e.g. /ip4/192.168.1.20/tcp/4466 or
    /// /dns4/example.org/udp/4466/quic-v1.
    Add {
        /// The multiaddr.
        multiaddr: String,
    },
    /// Forget an address added with `weft peer add`.
    Rm {
        /// The multiaddr, as `weft peer ls` lists it.
        multiaddr: String,
    },
}

/// `weft peer …`.
pub fn run(g: &Global, a: PeerArgs) -> Result<()> {
    match a.cmd {
        None => list(&open(g)?, a.json),
        Some(PeerCommand::Ls { json }) => list(&open(g)?, json || a.json),
        Some(PeerCommand::Add { multiaddr }) => add(|| open(g), &multiaddr),
        Some(PeerCommand::Rm { multiaddr }) => remove(&open(g)?, &multiaddr),
    }
}

/// What `connection` says of a device no node is connected to.
const OFFLINE: &str = "offline";

/// One peer as `weft peers --json` prints it.
#[derive(Serialize)]
struct PeerJson<'a> {
    device: String,
    name: &'a str,
    addrs: &'a [String],
    connection: &'a str,
    /// Connected right now (to the node running on this workspace).
    online: bool,
    last_seen_ms: i64,
    last_sync_ms: Option<i64>,
    /// Changes the peer acknowledged holding, over all authors: a quick
    /// "how far along" without decoding the vector.
    vector_total: u64,
}

#[derive(Serialize)]
struct PeersJson<'a> {
    peers: Vec<PeerJson<'a>>,
    added: &'a [String],
}

/// `weft peers`.
pub fn list(ws: &Workspace, json: bool) -> Result<()> {
    let mut peers = ws.peers()?;
    // The node keeps `connection` current while it runs; with no node
    // running (or one that was killed), nobody is connected.
    if weft_engine::node::running_node(ws.home()).is_none() {
        for p in &mut peers {
            p.connection = OFFLINE.to_owned();
        }
    }
    let added = ws.peer_addrs()?;
    if json {
        let peers = peers
            .iter()
            .map(|p| PeerJson {
                device: p.device.to_string(),
                name: &p.name,
                addrs: &p.addrs,
                connection: &p.connection,
                online: p.connection != OFFLINE && !p.connection.is_empty(),
                last_seen_ms: p.last_seen_ms,
                last_sync_ms: p.last_sync_ms,
                vector_total: p.vector.iter().fold(0u64, |t, (_, s)| t.saturating_add(*s)),
            })
            .collect();
        return output::json(&PeersJson {
            peers,
            added: &added,
        });
    }
    if peers.is_empty() {
        say!(
            "No other device seen yet: `weft daemon` finds them on this network, \
             `weft peer add MULTIADDR` adds one by address."
        );
    } else {
        print_table(&peers, now_ms());
    }
    if !added.is_empty() {
        say!("\nAdded by hand (`weft peer rm MULTIADDR` forgets one):");
        for a in &added {
            println!("  {a}");
        }
    }
    Ok(())
}

fn print_table(peers: &[PeerRecord], now: i64) {
    let rows: Vec<[String; 4]> = peers
        .iter()
        .map(|p| {
            [
                display_name(&p.name, false),
                p.device.to_string(),
                if p.connection.is_empty() {
                    "-".to_owned()
                } else {
                    clean(&p.connection, false).into_owned()
                },
                p.last_sync_ms
                    .map_or_else(|| "never".to_owned(), |t| ago(now, t)),
            ]
        })
        .collect();
    let width = |i: usize, head: &str| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head.len()])
            .max()
            .unwrap_or(0)
    };
    let (wn, wd, wc) = (width(0, "NAME"), width(1, "DEVICE"), width(2, "CONNECTION"));
    let wa = peers
        .iter()
        .flat_map(|p| p.addrs.iter().map(|a| a.chars().count()))
        .chain(["ADDRESSES".len()])
        .max()
        .unwrap_or(0);
    if output::header() {
        println!(
            "{:<wn$}  {:<wd$}  {:<wc$}  {:<wa$}  LAST SYNC",
            "NAME", "DEVICE", "CONNECTION", "ADDRESSES"
        );
    }
    for (p, [name, device, conn, sync]) in peers.iter().zip(&rows) {
        let first = p.addrs.first().map_or("-", String::as_str);
        let first = clean(first, false);
        println!("{name:<wn$}  {device:<wd$}  {conn:<wc$}  {first:<wa$}  {sync}");
        // Further addresses under the first, so each stays copyable whole.
        for a in p.addrs.iter().skip(1) {
            println!("{:<wn$}  {:<wd$}  {:<wc$}  {}", "", "", "", clean(a, false));
        }
    }
}

fn display_name(name: &str, this_device: bool) -> String {
    if this_device {
        "this device".to_owned()
    } else if name.is_empty() {
        "(unnamed)".to_owned()
    } else {
        clean(name, false).into_owned()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// "12 s ago", "3 min ago", "5 h ago", "2 d ago". A time in the future
/// (another device's clock ahead of ours) reads as "just now".
fn ago(now_ms: i64, then_ms: i64) -> String {
    let s = now_ms.saturating_sub(then_ms) / 1000;
    match s {
        i64::MIN..=0 => "just now".to_owned(),
        1..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// `weft peer add`. The address is checked before the workspace is
/// opened, so a typo fails fast, without a passphrase prompt.
pub fn add(open: impl FnOnce() -> Result<Workspace>, addr: &str) -> Result<()> {
    let addr = canonical_multiaddr(addr)?;
    if open()?.add_peer_addr(&addr)? {
        say!("added {addr}");
    } else {
        say!("already known: {addr}");
    }
    Ok(())
}

/// `weft peer rm`.
pub fn remove(ws: &Workspace, addr: &str) -> Result<()> {
    // Stored addresses are canonical; an address that no longer parses
    // (stored by a future version, say) can still be removed as typed.
    let canonical = canonical_multiaddr(addr).unwrap_or_else(|_| addr.to_owned());
    if ws.remove_peer_addr(&canonical)? || ws.remove_peer_addr(addr)? {
        say!("removed {canonical}");
        Ok(())
    } else {
        fail!(
            UnknownAddress,
            "{} was not added by hand (see `weft peer ls`); nothing was changed",
            clean(addr, false)
        )
    }
}

/// Checks the syntax of a multiaddr the daemon will dial, without libp2p
/// (the CLI does not link it), and returns it in canonical form (addresses
/// and ports re-printed) so the same address typed twice is stored once.
/// Only the protocols Weft dials are accepted.
pub fn canonical_multiaddr(addr: &str) -> Result<String> {
    let bad = |why: String| {
        failure(
            ErrorCode::InvalidAddress,
            format!(
                "`{}` is not a valid multiaddr: {why} \
                 (expected e.g. /ip4/192.168.1.20/tcp/4001 or /dns4/example.org/udp/4001/quic-v1)",
                clean(addr, false)
            ),
        )
    };
    let Some(rest) = addr.strip_prefix('/') else {
        return Err(bad("it must start with `/`".to_owned()));
    };
    if rest.is_empty() {
        return Err(bad("it has no components".to_owned()));
    }
    let mut parts = rest.split('/');
    let mut out = String::with_capacity(addr.len());
    while let Some(proto) = parts.next() {
        if proto.is_empty() {
            return Err(bad(
                "it has an empty component (`//` or a trailing `/`)".to_owned()
            ));
        }
        out.push('/');
        out.push_str(proto);
        // `quic-v1` and `p2p-circuit` are markers; the rest carry a value.
        if matches!(proto, "quic-v1" | "p2p-circuit") {
            continue;
        }
        if !matches!(
            proto,
            "ip4" | "ip6" | "dns" | "dns4" | "dns6" | "tcp" | "udp" | "p2p"
        ) {
            return Err(bad(format!(
                "unknown protocol `{proto}` (known: ip4, ip6, dns, dns4, dns6, tcp, udp, \
                 quic-v1, p2p, p2p-circuit)"
            )));
        }
        let value = match parts.next() {
            Some(v) if !v.is_empty() => v,
            _ => return Err(bad(format!("`/{proto}` needs a value"))),
        };
        let value = match proto {
            "ip4" => value
                .parse::<Ipv4Addr>()
                .map_err(|_| bad(format!("`{value}` is not an IPv4 address")))?
                .to_string(),
            "ip6" => value
                .parse::<Ipv6Addr>()
                .map_err(|_| bad(format!("`{value}` is not an IPv6 address")))?
                .to_string(),
            "tcp" | "udp" => value
                .parse::<u16>()
                .map_err(|_| bad(format!("`{value}` is not a port (0 to 65535)")))?
                .to_string(),
            "dns" | "dns4" | "dns6" => {
                if !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
                {
                    return Err(bad(format!("`{value}` is not a host name")));
                }
                value.to_owned()
            }
            // "p2p": a peer id as libp2p prints it, base58btc.
            _ => {
                const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
                if !value.chars().all(|c| BASE58.contains(c)) {
                    return Err(bad(format!("`{value}` is not a peer id")));
                }
                value.to_owned()
            }
        };
        out.push('/');
        out.push_str(&value);
    }
    Ok(out)
}

#[derive(Serialize)]
struct DocStatusJson<'a> {
    doc: String,
    title: &'a str,
    devices: &'a [Holder],
    /// Changes of this document this build could not read, per device.
    unreadable: &'a [weft_engine::Unreadable],
}

/// `weft status DOC`.
pub fn doc_status(ws: &Workspace, query: &str, json: bool) -> Result<()> {
    let entry = ws.resolve(query, false)?;
    let holders = ws.doc_holders(&entry.doc)?;
    let unreadable = ws.unreadable(Some(&entry.doc))?;
    if json {
        return output::json(&DocStatusJson {
            doc: entry.doc.to_hex(),
            title: &entry.title,
            devices: &holders,
            unreadable: &unreadable,
        });
    }
    println!("\"{}\" ({})", clean(&entry.title, false), entry.doc);
    let now = now_ms();
    let names: Vec<String> = holders
        .iter()
        .map(|h| display_name(&h.name, h.this_device))
        .collect();
    let wn = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (h, name) in holders.iter().zip(&names) {
        let state = if h.latest {
            "has the latest changes".to_owned()
        } else {
            match h.last_sync_ms {
                Some(t) => format!("missing recent changes (last in sync {})", ago(now, t)),
                None => "never synced".to_owned(),
            }
        };
        println!("  {name:<wn$}  {}  {state}", h.device);
    }
    for u in &unreadable {
        println!("  {}", clean(&u.message, false));
    }
    if holders.len() == 1 {
        say!("No other device seen yet.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs_are_checked_and_made_canonical() {
        let ok = |a: &str| canonical_multiaddr(a).unwrap();
        assert_eq!(
            ok("/ip4/192.168.1.20/tcp/4001"),
            "/ip4/192.168.1.20/tcp/4001"
        );
        assert_eq!(ok("/ip4/10.0.0.1/tcp/04001"), "/ip4/10.0.0.1/tcp/4001");
        assert_eq!(ok("/ip6/0:0::1/udp/9/quic-v1"), "/ip6/::1/udp/9/quic-v1");
        assert_eq!(
            ok("/dns4/relay.example.org/tcp/443/p2p/12D3KooWabc/p2p-circuit/p2p/12D3KooWdef"),
            "/dns4/relay.example.org/tcp/443/p2p/12D3KooWabc/p2p-circuit/p2p/12D3KooWdef"
        );
        for (bad, why) in [
            ("ip4/1.2.3.4/tcp/1", "start with `/`"),
            ("/", "no components"),
            ("/ip4/1.2.3.4/tcp/1/", "empty component"),
            ("/ip4/1.2.3.4//tcp/1", "empty component"),
            ("/ip4/1.2.3.400/tcp/1", "`1.2.3.400` is not an IPv4 address"),
            ("/ip4/1.2.3.4/tcp/70000", "`70000` is not a port"),
            ("/ip4/1.2.3.4/tcp", "`/tcp` needs a value"),
            ("/ip4/1.2.3.4/sctp/5", "unknown protocol `sctp`"),
            ("/ip6/1.2.3.4", "not an IPv6 address"),
            ("/dns/a b", "not a host name"),
            ("/p2p/0OIl", "not a peer id"),
            // quic-v1 takes no value: "4001" is then read as a protocol.
            ("/ip4/1.2.3.4/udp/1/quic-v1/4001", "unknown protocol `4001`"),
        ] {
            let err = canonical_multiaddr(bad).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn times_read_as_a_person_would_say_them() {
        assert_eq!(ago(100_000, 88_000), "12 s ago");
        assert_eq!(ago(1_000_000, 1_000_000 - 3 * 60_000), "3 min ago");
        assert_eq!(ago(10 * 3_600_000, 5 * 3_600_000), "5 h ago");
        assert_eq!(ago(3 * 86_400_000, 0), "3 d ago");
        assert_eq!(ago(0, 5_000), "just now");
    }
}
