//! The peers bookkeeping: what this device last saw of other devices, the
//! hand-added addresses, and per-document vectors.

use weft_core::{DeviceId, DocId, VersionVector};
use weft_crypto::DeviceKey;
use weft_store::{PeerRecord, Store, StoreError, StoreRead};

use crate::{fixture, seal};

fn peer(byte: u8, last_seen_ms: i64) -> PeerRecord {
    let mut vector = VersionVector::new();
    vector.set(DeviceId::from_public_key([byte; 32]), 7);
    vector.set(DeviceId::from_public_key([0xee; 32]), u64::MAX >> 1);
    PeerRecord {
        device: DeviceId::from_public_key([byte; 32]),
        name: format!("laptop {byte}"),
        addrs: vec![
            "/ip4/192.168.1.20/tcp/4001".to_owned(),
            "/ip4/192.168.1.20/udp/4001/quic-v1".to_owned(),
        ],
        connection: "lan".to_owned(),
        last_seen_ms,
        last_sync_ms: Some(last_seen_ms - 5),
        vector,
    }
}

#[test]
fn a_peer_record_round_trips_and_survives_reopening() {
    let (f, store) = fixture();
    let p = peer(1, 1_000);
    assert_eq!(store.peer(&p.device).unwrap(), None);
    store.upsert_peer(&p).unwrap();
    assert_eq!(store.peer(&p.device).unwrap().as_ref(), Some(&p));
    // Nothing optional set: no addresses, never synced, empty vector.
    let bare = PeerRecord {
        addrs: Vec::new(),
        last_sync_ms: None,
        vector: VersionVector::new(),
        name: String::new(),
        ..peer(2, 3)
    };
    store.upsert_peer(&bare).unwrap();
    drop(store);
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.peer(&p.device).unwrap(), Some(p));
    assert_eq!(store.peer(&bare.device).unwrap(), Some(bare));
    assert_eq!(
        store.peer(&DeviceId::from_public_key([9; 32])).unwrap(),
        None
    );
}

#[test]
fn upsert_replaces_the_whole_row() {
    let (_f, store) = fixture();
    let first = peer(1, 1_000);
    store.upsert_peer(&first).unwrap();
    let mut vector = VersionVector::new();
    vector.set(first.device, 8);
    let second = PeerRecord {
        name: "renamed".to_owned(),
        addrs: vec!["/dns4/relay.example.org/tcp/443".to_owned()],
        connection: "relayed".to_owned(),
        last_seen_ms: 2_000,
        last_sync_ms: None,
        vector,
        ..first.clone()
    };
    store.upsert_peer(&second).unwrap();
    assert_eq!(store.peers().unwrap(), vec![second.clone()]);
    assert_eq!(store.peer(&first.device).unwrap(), Some(second));
}

#[test]
fn peers_list_most_recently_seen_first() {
    let (_f, store) = fixture();
    assert!(store.peers().unwrap().is_empty());
    for (byte, seen) in [(1, 500), (2, 900), (3, 100), (4, 900)] {
        store.upsert_peer(&peer(byte, seen)).unwrap();
    }
    let order: Vec<u8> = store
        .peers()
        .unwrap()
        .iter()
        .map(|p| p.device.public_key()[0])
        .collect();
    // 2 and 4 tie on time and come in device order.
    assert_eq!(order, vec![2, 4, 1, 3]);
}

#[test]
fn an_address_with_a_line_break_is_refused() {
    let (_f, store) = fixture();
    let mut p = peer(1, 1);
    p.addrs
        .push("/ip4/1.2.3.4/tcp/1\n/ip4/5.6.7.8/tcp/2".to_owned());
    let err = store.upsert_peer(&p).unwrap_err();
    assert!(matches!(err, StoreError::BadPeerAddr { .. }), "{err}");
    assert!(store.peers().unwrap().is_empty(), "nothing stored");
}

#[test]
fn a_corrupt_peer_row_is_an_error_naming_it() {
    let (f, store) = fixture();
    store.upsert_peer(&peer(1, 1)).unwrap();
    drop(store);
    {
        // A vector cut mid-entry, written behind the store's back.
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute("UPDATE peers SET vector = x'0102'", [])
            .unwrap();
    }
    let store = Store::open(&f.path).unwrap();
    let err = store.peers().unwrap_err();
    assert!(
        matches!(&err, StoreError::CorruptPeer { device, detail, .. }
            if device == &"01".repeat(32) && detail.contains("vector")),
        "{err}"
    );
    assert!(store.peer(&DeviceId::from_public_key([1; 32])).is_err());
}

#[test]
fn hand_added_addresses_are_idempotent() {
    let (f, store) = fixture();
    let a = "/ip4/203.0.113.7/tcp/4001";
    let b = "/dns/home.example.org/udp/4001/quic-v1";
    assert!(store.peer_addrs().unwrap().is_empty());
    assert!(store.add_peer_addr(a, 10).unwrap());
    assert!(!store.add_peer_addr(a, 20).unwrap(), "already there");
    assert!(store.add_peer_addr(b, 15).unwrap());
    assert_eq!(store.peer_addrs().unwrap(), vec![a, b], "oldest first");
    drop(store);
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.peer_addrs().unwrap(), vec![a, b]);
    assert!(store.remove_peer_addr(a).unwrap());
    assert!(!store.remove_peer_addr(a).unwrap(), "already gone");
    assert!(!store.remove_peer_addr("/ip4/1.1.1.1/tcp/1").unwrap());
    assert_eq!(store.peer_addrs().unwrap(), vec![b]);
}

#[test]
fn doc_vector_is_each_authors_last_change_to_that_doc() {
    let (f, mut store) = fixture();
    let other = DeviceKey::generate();
    let (doc, elsewhere) = (DocId::random(), DocId::random());
    store
        .write(|tx| -> Result<(), StoreError> {
            // Mine: 1, 2 on doc, 3 elsewhere. Other's: 1 on doc, 2, 3
            // elsewhere, 4 on doc.
            tx.append(&seal(&f, &f.dev, doc, 1, b"a"), 0)?;
            tx.append(&seal(&f, &other, doc, 1, b"b"), 0)?;
            tx.append(&seal(&f, &f.dev, doc, 2, b"c"), 0)?;
            tx.append(&seal(&f, &other, elsewhere, 2, b"d"), 0)?;
            tx.append(&seal(&f, &f.dev, elsewhere, 3, b"e"), 0)?;
            tx.append(&seal(&f, &other, elsewhere, 3, b"f"), 0)?;
            tx.append(&seal(&f, &other, doc, 4, b"g"), 0)?;
            Ok(())
        })
        .unwrap();
    let vv = store.doc_vector(&doc).unwrap();
    assert_eq!(vv.get(&f.dev.device_id()), 2);
    assert_eq!(vv.get(&other.device_id()), 4);
    assert_eq!(vv.len(), 2);
    let vv = store.doc_vector(&elsewhere).unwrap();
    assert_eq!(
        (vv.get(&f.dev.device_id()), vv.get(&other.device_id())),
        (3, 3)
    );
    assert!(store.doc_vector(&DocId::random()).unwrap().is_empty());
    // The whole log's vector covers each document's.
    assert!(store.version_vector().unwrap().includes(&vv));
}

#[test]
fn a_version_2_database_gains_the_peer_tables_and_keeps_its_data() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            for s in 1..=3 {
                tx.append(&seal(&f, &f.dev, doc, s, b"x"), 0)?;
            }
            Ok(())
        })
        .unwrap();
    let before = store.version_vector().unwrap();
    drop(store);
    {
        // What a database written before migration 3 looks like.
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute_batch(
            "DROP TABLE peers; DROP TABLE peer_addrs; DROP TABLE relays; DROP TABLE set_aside; DROP TABLE read_models; DROP TABLE snapshots; ALTER TABLE docs ADD COLUMN snapshot BLOB; ALTER TABLE docs ADD COLUMN snapshot_vector BLOB; ALTER TABLE docs ADD COLUMN snapshot_upto INTEGER NOT NULL DEFAULT 0; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let mut store = Store::open(&f.path).unwrap();
    assert_eq!(store.version_vector().unwrap(), before);
    assert_eq!(store.changes_of_doc(&doc, 0).unwrap().len(), 3);
    assert_eq!(store.workspace(), f.ws);
    assert!(store.peers().unwrap().is_empty());
    assert!(store.add_peer_addr("/ip4/10.0.0.1/tcp/4001", 1).unwrap());
    store.upsert_peer(&peer(1, 1)).unwrap();
    store
        .write(|tx| tx.append(&seal(&f, &f.dev, doc, 4, b"x"), 0))
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 8);
    drop(conn);
    // And it reopens as it is, without migrating again.
    let store = Store::open(&f.path).unwrap();
    assert_eq!(store.peers().unwrap().len(), 1);
    assert_eq!(store.peer_addrs().unwrap().len(), 1);
    assert_eq!(store.doc_vector(&doc).unwrap().get(&f.dev.device_id()), 4);
}

#[test]
fn doc_vector_reads_only_that_documents_rows() {
    let (f, store) = fixture();
    drop(store);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let mut stmt = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT author, MAX(seq), id FROM changes WHERE doc = x'00' \
             GROUP BY author",
        )
        .unwrap();
    let plan: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let plan = plan.join("; ");
    assert!(plan.contains("changes_by_doc (doc=?)"), "{plan}");
}
