//! What must hold after healing.

use std::collections::BTreeMap;

use weft_core::VersionVector;
use weft_engine::{Shown, Workspace};
use weft_sync::Log;

use crate::world::{Node, World};

/// Every change any device committed: each device's own entry of its own
/// vector (a device's own changes are durable the moment it commits).
fn everything(w: &World) -> VersionVector {
    let mut all = VersionVector::new();
    for node in &w.nodes[..w.devices()] {
        if let Node::Device(d) = node
            && let Some(ws) = &d.ws
        {
            let own = ws.version_vector().expect("vector").get(&d.id);
            all.set(d.id, own);
        }
    }
    all
}

/// True when every device and the relay hold exactly every committed change.
pub fn converged(w: &World) -> bool {
    if !w.nodes.iter().all(Node::is_up) {
        return false;
    }
    let all = everything(w);
    w.vectors().iter().all(|v| *v == all)
}

/// Everything a user could see of a workspace.
#[derive(Debug, PartialEq)]
struct View {
    entries: Vec<(String, String, String, Vec<String>, bool)>,
    folders: Vec<Vec<String>>,
    contents: BTreeMap<String, String>,
}

fn view(ws: &mut Workspace) -> Result<View, String> {
    let mut list = ws.list(true).map_err(|e| e.to_string())?;
    list.sort_by_key(|d| d.id);
    let mut contents = BTreeMap::new();
    for d in list.iter().filter(|d| !d.deleted) {
        let shown = ws
            .show(&d.id, None)
            .map_err(|e| format!("show {}: {e}", d.title))?;
        let text = match shown {
            Shown::Note { markdown } => markdown,
            Shown::Record { json, conflicts } => {
                let c: Vec<_> = conflicts
                    .iter()
                    .map(|c| (c.pointer.clone(), c.values.clone()))
                    .collect();
                format!("{json} conflicts {c:?}")
            }
        };
        contents.insert(d.id.to_hex(), text);
    }
    Ok(View {
        entries: list
            .iter()
            .map(|d| {
                (
                    d.id.to_hex(),
                    format!("{:?}", d.kind),
                    d.title.clone(),
                    d.folder.clone(),
                    d.deleted,
                )
            })
            .collect(),
        folders: ws.folders(),
        contents,
    })
}

/// Every device shows identical documents, titles, folders and tombstones.
pub fn documents(w: &mut World) -> Result<(), String> {
    let mut first: Option<View> = None;
    for i in 0..w.devices() {
        let ws = w.device(i).ok_or("device down after healing")?;
        let v = view(ws)?;
        match &first {
            None => first = Some(v),
            Some(f) if *f == v => {}
            Some(f) => {
                return Err(format!(
                    "device {i} differs from device 0:\n  device 0: {f:?}\n  device {i}: {v:?}"
                ));
            }
        }
    }
    Ok(())
}

/// No device stored a change that differs from its author's own copy:
/// whatever a relay altered was rejected, not stored.
pub fn untampered(w: &World) -> Result<(), String> {
    let n = w.devices();
    let mut originals = Vec::new();
    for node in &w.nodes[..n] {
        let Node::Device(d) = node else { continue };
        let ws = d.ws.as_ref().ok_or("device down")?;
        let own = ws
            .sync_log()
            .changes_after(&d.id, 0, usize::MAX, usize::MAX)
            .map_err(|e| e.to_string())?;
        originals.push((d.id, own.iter().map(|c| c.to_bytes()).collect::<Vec<_>>()));
    }
    for (i, node) in w.nodes[..n].iter().enumerate() {
        let Node::Device(d) = node else { continue };
        let ws = d.ws.as_ref().ok_or("device down")?;
        for (author, theirs) in &originals {
            let held = ws
                .sync_log()
                .changes_after(author, 0, usize::MAX, usize::MAX)
                .map_err(|e| e.to_string())?;
            let held: Vec<_> = held.iter().map(|c| c.to_bytes()).collect();
            if held != *theirs {
                return Err(format!(
                    "device {i} holds {} changes of {author}, differing from the author's {}",
                    held.len(),
                    theirs.len()
                ));
            }
        }
    }
    Ok(())
}
