//! The shapes the UI receives, built from what the engine returns. Their TypeScript is
//! generated (`ts_rs::TS`, into ui/src/generated/ipc.ts, see `bindings.rs`), so the UI
//! cannot drift from them. Only reshaping here: what the CLI prints from the same facts,
//! the engine computes.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use ts_rs::TS;
use weft_core::DocKind;
use weft_engine::node::Protocol;
use weft_engine::{DocSummary, Invite, PeerRecord, Shown, Version};

use crate::session::{Open, UiError};

/// Every document (trash included) and folder, as the window lists them at start and
/// after each change: by columns rather than an object per document, and only what the
/// tree and the lists show. With 100,000 documents the objects were 27 MB of JSON, whose
/// parse alone was a good part of the window's first paint; this is about a quarter.
#[derive(Debug, Serialize, TS)]
pub struct DocTable {
    /// Every folder path, empty folders too; a document names its folder by index here.
    pub folders: Vec<Vec<String>>,
    /// The ids, 32 hex digits each, end to end.
    pub ids: String,
    /// One letter per document: `n` a note, `r` a record.
    pub kinds: String,
    pub titles: Vec<String>,
    /// Per document, the index of its folder in `folders`.
    pub folder: Vec<u32>,
    /// The indexes of the documents in the trash.
    pub deleted: Vec<u32>,
    /// Per document, when it last changed (ms since the Unix epoch).
    #[ts(type = "number[]")]
    pub updated_ms: Vec<i64>,
}

impl DocTable {
    /// `docs` by columns; `folders` (every folder path) first in the folder table, then
    /// any folder of a document that is not among them.
    pub fn new(docs: Vec<DocSummary>, folders: Vec<Vec<String>>) -> Self {
        let mut at: HashMap<Vec<String>, u32> = HashMap::with_capacity(folders.len());
        let mut table = DocTable {
            folders: Vec::with_capacity(folders.len()),
            ids: String::with_capacity(docs.len() * 32),
            kinds: String::with_capacity(docs.len()),
            titles: Vec::with_capacity(docs.len()),
            folder: Vec::with_capacity(docs.len()),
            deleted: Vec::new(),
            updated_ms: Vec::with_capacity(docs.len()),
        };
        let mut index_of = |table: &mut DocTable, path: Vec<String>| -> u32 {
            *at.entry(path).or_insert_with_key(|path| {
                table.folders.push(path.clone());
                (table.folders.len() - 1) as u32
            })
        };
        for path in folders {
            index_of(&mut table, path);
        }
        for (i, d) in docs.into_iter().enumerate() {
            let folder = index_of(&mut table, d.folder);
            table.ids.push_str(&d.id.to_hex());
            table
                .kinds
                .push(if d.kind == DocKind::Record { 'r' } else { 'n' });
            table.titles.push(d.title);
            table.folder.push(folder);
            if d.deleted {
                table.deleted.push(i as u32);
            }
            table.updated_ms.push(d.updated_ms);
        }
        table
    }
}

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

#[cfg(test)]
mod tests {
    use weft_core::{DocId, DocKind};
    use weft_engine::DocSummary;

    use super::DocTable;

    fn doc(title: &str, folder: &[&str], kind: DocKind, deleted: bool, ms: i64) -> DocSummary {
        DocSummary {
            id: DocId::random(),
            kind,
            title: title.into(),
            folder: folder.iter().map(|s| s.to_string()).collect(),
            path: String::new(),
            deleted,
            created: String::new(),
            updated: String::new(),
            updated_ms: ms,
        }
    }

    #[test]
    fn a_doc_table_holds_each_document_by_columns() {
        let docs = vec![
            doc("Plan", &["Work", "Q4"], DocKind::Note, false, 10),
            doc("Books", &[], DocKind::Record, true, 20),
            doc("Lost", &["Gone"], DocKind::Note, false, 30),
        ];
        let ids: Vec<String> = docs.iter().map(|d| d.id.to_hex()).collect();
        let folders = vec![
            vec![],
            vec!["Empty".to_string()],
            vec!["Work".into(), "Q4".into()],
        ];
        let t = DocTable::new(docs, folders);
        assert_eq!(t.ids, ids.concat());
        assert_eq!(t.kinds, "nrn");
        assert_eq!(t.titles, ["Plan", "Books", "Lost"]);
        assert_eq!(t.deleted, [1]);
        assert_eq!(t.updated_ms, [10, 20, 30]);
        // The listed folders keep their order; a document's folder missing from them
        // is added after.
        let path = |i: u32| t.folders[i as usize].join("/");
        assert_eq!(path(t.folder[0]), "Work/Q4");
        assert_eq!(path(t.folder[1]), "");
        assert_eq!(path(t.folder[2]), "Gone");
        assert_eq!(t.folders.len(), 4);
        assert_eq!(t.folders[1], ["Empty"]);
    }
}
