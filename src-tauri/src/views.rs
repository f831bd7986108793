//! The shapes the UI receives, built from what the engine returns. Their TypeScript is
//! generated (`ts_rs::TS`, into ui/src/generated/ipc.ts, see `bindings.rs`), so the UI
//! cannot drift from them. Only reshaping here: what the CLI prints from the same facts,
//! the engine computes.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use ts_rs::TS;
use weft_engine::node::Protocol;
use weft_engine::{Invite, PeerRecord, Shown, Version};

use crate::session::{Open, UiError};

/// A record's content.
#[derive(Debug, Serialize, TS)]
pub struct RecordView {
    /// The winning values.
    #[ts(type = "Record<string, unknown>")]
    pub json: serde_json::Value,
    /// Fields with concurrent values.
    pub conflicts: Vec<weft_engine::ConflictView>,
}

/// A document as it was at one version.
#[derive(Debug, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preview {
    /// A note, as Markdown.
    Note {
        /// The Markdown.
        markdown: String,
    },
    /// A record.
    Record {
        /// Its values.
        #[ts(type = "Record<string, unknown>")]
        json: serde_json::Value,
        /// Its concurrent values.
        conflicts: Vec<weft_engine::ConflictView>,
    },
}

impl From<Shown> for Preview {
    fn from(s: Shown) -> Self {
        match s {
            Shown::Note { markdown } => Preview::Note { markdown },
            Shown::Record { json, conflicts } => Preview::Record { json, conflicts },
        }
    }
}

/// One version of a document (newest last), with its device's name.
#[derive(Debug, Serialize, TS)]
pub struct VersionView {
    /// 1-based; what `preview_version` and `restore_version` take.
    number: usize,
    /// RFC 3339, UTC, the author's clock.
    time: String,
    #[ts(type = "number")]
    time_ms: i64,
    device: String,
    /// The device's name as it announced it; empty when unknown.
    device_name: String,
    this_device: bool,
    summary: String,
}

/// Device id → the name it announced.
pub fn device_names(peers: &[PeerRecord]) -> HashMap<String, String> {
    peers
        .iter()
        .map(|p| (p.device.to_string(), p.name.clone()))
        .collect()
}

impl VersionView {
    /// `v` with its device's name from `names`.
    pub fn new(v: Version, names: &HashMap<String, String>) -> Self {
        let device = v.device.to_string();
        VersionView {
            number: v.number,
            time: v.time,
            time_ms: v.time_ms,
            device_name: names.get(&device).cloned().unwrap_or_default(),
            device,
            this_device: v.this_device,
            summary: v.summary,
        }
    }
}

/// How a device is reached right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// On this network (found by mDNS).
    Lan,
    /// Dialled by address.
    Direct,
    /// Through a relay's circuit.
    Relayed,
    /// Direct after a hole punch.
    HolePunched,
    /// Not connected.
    Offline,
}

impl Via {
    /// The connection as the peer table spells it (weft-net's classification).
    fn of(connection: &str) -> Via {
        match connection {
            "lan" => Via::Lan,
            "direct" => Via::Direct,
            "relayed" => Via::Relayed,
            "hole-punched" => Via::HolePunched,
            _ => Via::Offline,
        }
    }
}

/// One device in the devices panel.
#[derive(Debug, Serialize, TS)]
pub struct Device {
    id: String,
    name: String,
    via: Via,
    /// The device is the relay (`weft-relay`), not a member's device.
    relay: bool,
    /// ms since the Unix epoch; null if never fully in sync.
    #[ts(type = "number | null")]
    last_sync_ms: Option<i64>,
    /// Holds exactly what this device holds.
    in_sync: bool,
}

/// One relay.
#[derive(Debug, Serialize, TS)]
pub struct RelayView {
    addr: String,
    /// "in sync", "quota full: …", "not reached yet".
    status: String,
}

/// The status indicator's three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Connected to at least one device and nothing outstanding.
    Synced,
    /// Changes on their way (`pending`).
    Syncing,
    /// No device connected.
    Offline,
}

/// The status indicator and the devices panel.
#[derive(Debug, Serialize, TS)]
pub struct SyncStatus {
    state: SyncState,
    /// Changes known to exist that this device does not hold yet.
    #[ts(type = "number")]
    pending: u64,
    devices: Vec<Device>,
    relays: Vec<RelayView>,
    /// This device's own listen addresses (for a manual `weft peer add`).
    addresses: Vec<String>,
}

fn relay_peer(addr: &str) -> Option<String> {
    let m: weft_engine::node::Multiaddr = addr.parse().ok()?;
    match m.iter().last() {
        Some(Protocol::P2p(p)) => Some(p.to_string()),
        _ => None,
    }
}

/// What the relay row says: its problem, else when it was last in sync.
fn relay_status(r: &weft_engine::RelayRecord) -> String {
    if !r.status.is_empty() {
        return r.status.clone();
    }
    match r.last_sync_ms {
        Some(_) => "in sync".to_owned(),
        None => "not reached yet".to_owned(),
    }
}

/// Devices from the peer table (kept current by the node), in-sync flags from the
/// live sessions, progress from the node's events.
pub async fn sync_status(o: &Open) -> Result<SyncStatus, UiError> {
    let (peers, relays) = o.call(|ws| Ok((ws.peers()?, ws.relays()?))).await?;
    let sessions = o.node.sessions().await?;
    let connected: HashSet<String> = o
        .node
        .connected()
        .await?
        .into_iter()
        .map(|c| c.peer.to_string())
        .collect();
    let in_sync: HashSet<String> = sessions
        .iter()
        .filter(|s| s.in_sync)
        .map(|s| s.peer.to_string())
        .collect();
    let relay_ids: HashSet<String> = relays.iter().filter_map(|r| relay_peer(&r.addr)).collect();
    let devices: Vec<Device> = peers
        .iter()
        .map(|p| {
            let id = p.device.to_string();
            let online = connected.contains(&id);
            Device {
                name: p.name.clone(),
                via: if online {
                    Via::of(&p.connection)
                } else {
                    Via::Offline
                },
                relay: relay_ids.contains(&id),
                last_sync_ms: p.last_sync_ms,
                in_sync: in_sync.contains(&id),
                id,
            }
        })
        .collect();
    let progress = o.progress();
    let pending = progress.known.saturating_sub(progress.held);
    let state = if connected.is_empty() {
        SyncState::Offline
    } else if pending > 0 {
        SyncState::Syncing
    } else {
        SyncState::Synced
    };
    let addresses = o
        .node
        .listen_addrs()
        .await?
        .into_iter()
        .map(|a| a.to_string())
        .collect();
    Ok(SyncStatus {
        state,
        pending,
        devices,
        relays: relays
            .iter()
            .map(|r| RelayView {
                addr: r.addr.clone(),
                status: relay_status(r),
            })
            .collect(),
        addresses,
    })
}

/// An invite as the pairing dialog shows it (the dialog draws its QR code).
#[derive(Debug, Serialize, TS)]
pub struct InviteView {
    code: String,
    name: String,
}

impl InviteView {
    /// The invite's code and its workspace's name.
    pub fn new(invite: &Invite) -> Self {
        // The code goes to the UI as a plain string: a wiped copy here would protect
        // nothing.
        InviteView {
            code: invite.encode(),
            name: invite.name.clone(),
        }
    }
}

/// The settings dialog.
#[derive(Debug, Serialize, TS)]
pub struct SettingsView {
    /// The name other devices see.
    pub device_name: String,
    /// The workspace home.
    pub home: String,
    /// The relays' addresses.
    pub relays: Vec<String>,
}
