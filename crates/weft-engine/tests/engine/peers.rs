//! Which devices hold a document's latest changes, from the peers table.

use weft_core::{DeviceId, VersionVector};
use weft_engine::{EngineError, PeerRecord};

use crate::{new_workspace, reopen};

fn peer(byte: u8, name: &str, last_seen_ms: i64, vector: VersionVector) -> PeerRecord {
    PeerRecord {
        device: DeviceId::from_public_key([byte; 32]),
        name: name.to_owned(),
        addrs: vec!["/ip4/192.168.1.9/tcp/4001".to_owned()],
        connection: "lan".to_owned(),
        last_seen_ms,
        last_sync_ms: Some(last_seen_ms),
        vector,
    }
}

#[test]
fn a_peer_is_latest_only_if_it_acknowledged_the_docs_last_change() {
    let (_dir, mut ws) = new_workspace();
    let me = ws.device_id();
    let a = ws.create_note("A", &[], "one\n").unwrap();
    let b = ws.create_note("B", &[], "x\n").unwrap();
    // A's last change is now this device's newest.
    ws.edit_note(&a, "two\n").unwrap();
    let full = ws.version_vector().unwrap();
    let head = full.get(&me);
    let mut behind = full.clone();
    behind.set(me, head - 1);
    // A later change to B only: holding `full` is still the latest of A.
    ws.edit_note(&b, "y\n").unwrap();

    ws.record_peer(&peer(1, "has A", 300, full)).unwrap();
    ws.record_peer(&peer(2, "lacks A's edit", 200, behind))
        .unwrap();
    let mut never = peer(3, "", 100, VersionVector::new());
    never.last_sync_ms = None;
    ws.record_peer(&never).unwrap();

    let summary = |doc| {
        ws.doc_holders(doc)
            .unwrap()
            .into_iter()
            .map(|h| (h.name, h.this_device, h.latest))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(&a),
        vec![
            (String::new(), true, true),
            ("has A".to_owned(), false, true),
            ("lacks A's edit".to_owned(), false, false),
            (String::new(), false, false),
        ]
    );
    assert_eq!(
        summary(&b),
        vec![
            (String::new(), true, true),
            ("has A".to_owned(), false, false),
            ("lacks A's edit".to_owned(), false, false),
            (String::new(), false, false),
        ]
    );
    let holders = ws.doc_holders(&a).unwrap();
    assert_eq!(holders[0].device, me);
    assert_eq!(holders[0].last_sync_ms, None);
    assert_eq!(holders[1].last_sync_ms, Some(300));
    assert_eq!(holders[3].last_sync_ms, None);

    // A peer that catches up becomes latest.
    let caught_up = peer(2, "lacks A's edit", 400, ws.version_vector().unwrap());
    ws.record_peer(&caught_up).unwrap();
    for doc in [&a, &b] {
        let holders = ws.doc_holders(doc).unwrap();
        // Now the most recently seen, so listed right after this device.
        assert_eq!(holders[1].device, caught_up.device);
        assert!(holders[1].latest);
    }
}

#[test]
fn holders_of_an_unknown_document_are_an_error() {
    let (_dir, ws) = new_workspace();
    let err = ws.doc_holders(&weft_engine::DocId::random()).unwrap_err();
    assert!(matches!(err, EngineError::UnknownDoc { .. }), "{err}");
}

#[test]
fn peers_and_hand_added_addresses_persist() {
    let (dir, ws) = new_workspace();
    assert!(ws.peers().unwrap().is_empty());
    assert!(ws.peer_addrs().unwrap().is_empty());
    let p = peer(7, "phone", 50, VersionVector::new());
    ws.record_peer(&p).unwrap();
    assert!(ws.add_peer_addr("/ip4/203.0.113.1/tcp/4001").unwrap());
    assert!(!ws.add_peer_addr("/ip4/203.0.113.1/tcp/4001").unwrap());
    ws.close().unwrap();
    let ws = reopen(&dir);
    assert_eq!(ws.peers().unwrap(), vec![p]);
    assert_eq!(ws.peer_addrs().unwrap(), vec!["/ip4/203.0.113.1/tcp/4001"]);
    assert!(ws.remove_peer_addr("/ip4/203.0.113.1/tcp/4001").unwrap());
    assert!(!ws.remove_peer_addr("/ip4/203.0.113.1/tcp/4001").unwrap());
    assert!(ws.peer_addrs().unwrap().is_empty());
}

#[test]
fn an_empty_note_is_held_by_holding_the_index() {
    let (_dir, mut ws) = new_workspace();
    // No content: the note commits no change of its own, only its entry in
    // the index.
    let empty = ws.create_note("Empty", &[], "").unwrap();
    ws.record_peer(&peer(1, "synced", 200, ws.version_vector().unwrap()))
        .unwrap();
    let mut never = peer(2, "never", 100, VersionVector::new());
    never.last_sync_ms = None;
    ws.record_peer(&never).unwrap();
    let latest: Vec<bool> = ws
        .doc_holders(&empty)
        .unwrap()
        .iter()
        .map(|h| h.latest)
        .collect();
    assert_eq!(latest, vec![true, true, false]);
}
