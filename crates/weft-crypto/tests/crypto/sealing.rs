//! Property tests of sealed changes and snapshots: what a relay or a
//! corrupted disk can do to the bytes must never yield plaintext.

use proptest::prelude::*;
use weft_core::{ChangeKind, DeviceId, DocId, DocKind, WorkspaceId};
use weft_crypto::{
    ChangeHeader, DeviceKey, OpenError, SealError, SealedChange, SealedSnapshot, SnapshotHeader,
    WorkspaceKey,
};

/// Device keys are deterministic from a seed, so proptest can shrink them.
fn device(seed: u8) -> DeviceKey {
    DeviceKey::from_seed([seed; 32])
}

fn doc_kind() -> impl Strategy<Value = DocKind> {
    prop_oneof![
        Just(DocKind::Note),
        Just(DocKind::Record),
        Just(DocKind::Index)
    ]
}

#[derive(Debug, Clone)]
struct Case {
    workspace: [u8; 16],
    doc: [u8; 16],
    device_seed: u8,
    seq: u64,
    kind: DocKind,
    payload: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u8>(),
        any::<u64>(),
        doc_kind(),
        prop::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(|(workspace, doc, device_seed, seq, kind, payload)| Case {
            workspace,
            doc,
            device_seed,
            seq,
            kind,
            payload,
        })
}

impl Case {
    fn header(&self) -> ChangeHeader {
        ChangeHeader {
            workspace: WorkspaceId::from_bytes(self.workspace),
            doc: DocId::from_bytes(self.doc),
            author: device(self.device_seed).device_id(),
            seq: self.seq,
            kind: ChangeKind::Update(self.kind),
        }
    }
    fn snapshot_header(&self) -> SnapshotHeader {
        SnapshotHeader {
            workspace: WorkspaceId::from_bytes(self.workspace),
            doc: DocId::from_bytes(self.doc),
            kind: self.kind,
            author: device(self.device_seed).device_id(),
            // Not a real vector encoding; the sealing layer treats it as opaque.
            vector: self
                .seq
                .to_be_bytes()
                .repeat(usize::from(self.device_seed % 4)),
        }
    }
    fn data_key(&self) -> weft_crypto::DataKey {
        WorkspaceKey::from_bytes([7; 32])
            .derive(&WorkspaceId::from_bytes(self.workspace))
            .data
    }
}

/// Outcome of parsing and opening bytes: the plaintext or nothing.
fn open_change_bytes(bytes: &[u8], key: &weft_crypto::DataKey) -> Option<Vec<u8>> {
    let c = SealedChange::from_bytes(bytes).ok()?;
    c.open(key).ok().map(|p| p.to_vec())
}

fn open_snapshot_bytes(bytes: &[u8], key: &weft_crypto::DataKey) -> Option<Vec<u8>> {
    let s = SealedSnapshot::from_bytes(bytes).ok()?;
    s.open(key).ok().map(|p| p.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn change_round_trips_through_bytes_and_parts(c in case()) {
        let key = c.data_key();
        let sealed = SealedChange::seal(c.header(), &c.payload, &key, &device(c.device_seed)).unwrap();
        prop_assert_eq!(&*sealed.open(&key).unwrap(), &c.payload[..]);
        prop_assert!(sealed.verify().is_ok());
        // The ciphertext is not the plaintext (for payloads long enough to tell).
        if c.payload.len() >= 8 {
            prop_assert!(!sealed.ciphertext().windows(c.payload.len()).any(|w| w == &c.payload[..]));
        }

        let bytes = sealed.to_bytes();
        let back = SealedChange::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &sealed);
        prop_assert_eq!(&*back.open(&key).unwrap(), &c.payload[..]);

        let (h, n, ct, sig) = back.into_parts();
        let rebuilt = SealedChange::from_parts(h, n, ct, sig);
        prop_assert_eq!(&*rebuilt.open(&key).unwrap(), &c.payload[..]);
    }

    #[test]
    fn flipping_any_byte_of_a_change_makes_it_unopenable(
        c in case(), pos in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let key = c.data_key();
        let sealed = SealedChange::seal(c.header(), &c.payload, &key, &device(c.device_seed)).unwrap();
        let mut bytes = sealed.to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert_eq!(open_change_bytes(&bytes, &key), None, "flipped byte {} of {}", i, bytes.len());
    }

    #[test]
    fn a_body_moved_under_another_header_is_rejected(
        c in case(), which in 0u8..4, other_seed in any::<u8>(), delta in 1u64..1000,
    ) {
        let key = c.data_key();
        let sealed = SealedChange::seal(c.header(), &c.payload, &key, &device(c.device_seed)).unwrap();
        let mut h = c.header();
        match which {
            0 => h.doc = DocId::from_bytes(c.doc.map(|b| b ^ 0x5a)),
            1 => h.seq = c.seq.wrapping_add(delta),
            2 => {
                let seed = if other_seed == c.device_seed { other_seed.wrapping_add(1) } else { other_seed };
                h.author = device(seed).device_id();
            }
            _ => {
                let k = [DocKind::Note, DocKind::Record, DocKind::Index]
                    .into_iter().find(|k| *k != c.kind).unwrap();
                h.kind = ChangeKind::Update(k);
            }
        }
        let moved = SealedChange::from_parts(h, *sealed.nonce(), sealed.ciphertext().to_vec(), *sealed.signature());
        let err = moved.open(&key).unwrap_err();
        prop_assert!(matches!(err, OpenError::BadSignature { .. }), "{}", err);
        prop_assert!(moved.verify().is_err());
    }

    #[test]
    fn a_member_re_signing_a_moved_body_still_cannot_get_it_opened(c in case(), delta in 1u64..1000) {
        // A device that holds the workspace key (so it can sign valid
        // changes of its own) takes another device's body and re-signs it
        // under a new header. The signature is now valid; the AAD is not.
        let key = c.data_key();
        let victim = device(c.device_seed);
        let thief = device(c.device_seed.wrapping_add(1));
        let sealed = SealedChange::seal(c.header(), &c.payload, &key, &victim).unwrap();
        let mut h = c.header();
        h.author = thief.device_id();
        h.seq = c.seq.wrapping_add(delta);
        let mut msg = b"weft/v1/change".to_vec();
        msg.extend_from_slice(&h.encode());
        msg.extend_from_slice(sealed.nonce());
        msg.extend_from_slice(sealed.ciphertext());
        let forged = SealedChange::from_parts(h, *sealed.nonce(), sealed.ciphertext().to_vec(), thief.sign(&msg));
        prop_assert!(forged.verify().is_ok(), "the re-signature itself is valid");
        let err = forged.open(&key).unwrap_err();
        prop_assert!(matches!(err, OpenError::Decrypt { .. }), "{}", err);
    }

    #[test]
    fn a_wrong_data_key_fails_to_open(c in case(), other in any::<[u8; 32]>()) {
        prop_assume!(other != [7; 32]);
        let key = c.data_key();
        let sealed = SealedChange::seal(c.header(), &c.payload, &key, &device(c.device_seed)).unwrap();
        let wrong = WorkspaceKey::from_bytes(other).derive(&WorkspaceId::from_bytes(c.workspace)).data;
        let err = sealed.open(&wrong).unwrap_err();
        prop_assert!(matches!(err, OpenError::Decrypt { .. }), "{}", err);
        // Signature checks need no key, so verify still passes.
        prop_assert!(sealed.verify().is_ok());
    }

    #[test]
    fn change_from_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = SealedChange::from_bytes(&bytes);
        let _ = ChangeHeader::decode(&bytes);
    }

    #[test]
    fn change_from_bytes_never_panics_on_mangled_valid_input(
        c in case(), cut in any::<prop::sample::Index>(), junk in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let key = c.data_key();
        let sealed = SealedChange::seal(c.header(), &c.payload, &key, &device(c.device_seed)).unwrap();
        let bytes = sealed.to_bytes();
        let truncated = &bytes[..cut.index(bytes.len())];
        prop_assert!(SealedChange::from_bytes(truncated).is_err());
        let mut extended = bytes.clone();
        extended.extend_from_slice(&junk);
        let parsed = SealedChange::from_bytes(&extended);
        prop_assert_eq!(parsed.is_ok(), junk.is_empty());
    }

    #[test]
    fn snapshot_round_trips_and_rejects_tampering(
        c in case(), pos in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let key = c.data_key();
        let dev = device(c.device_seed);
        let sealed = SealedSnapshot::seal(c.snapshot_header(), &c.payload, &key, &dev).unwrap();
        prop_assert_eq!(&*sealed.open(&key).unwrap(), &c.payload[..]);
        let bytes = sealed.to_bytes();
        let back = SealedSnapshot::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &sealed);
        prop_assert_eq!(open_snapshot_bytes(&bytes, &key), Some(c.payload.clone()));

        let mut flipped = bytes.clone();
        let i = pos.index(flipped.len());
        flipped[i] ^= 1 << bit;
        prop_assert_eq!(open_snapshot_bytes(&flipped, &key), None, "flipped byte {}", i);
    }

    #[test]
    fn snapshot_moved_under_another_header_or_key_fails(c in case(), which in 0u8..4, extra in any::<u8>()) {
        let key = c.data_key();
        let dev = device(c.device_seed);
        let sealed = SealedSnapshot::seal(c.snapshot_header(), &c.payload, &key, &dev).unwrap();
        let mut h = c.snapshot_header();
        match which {
            0 => h.doc = DocId::from_bytes(c.doc.map(|b| b ^ 1)),
            1 => h.vector.push(extra),
            2 => h.author = device(c.device_seed.wrapping_add(1)).device_id(),
            _ => h.kind = [DocKind::Note, DocKind::Record, DocKind::Index]
                .into_iter().find(|k| *k != c.kind).unwrap(),
        }
        let moved = SealedSnapshot::from_parts(h, *sealed.nonce(), sealed.ciphertext().to_vec(), *sealed.signature());
        let err = moved.open(&key).unwrap_err();
        prop_assert!(matches!(err, OpenError::BadSignature { .. }), "{}", err);

        let wrong = WorkspaceKey::from_bytes([8; 32]).derive(&WorkspaceId::from_bytes(c.workspace)).data;
        let err = sealed.open(&wrong).unwrap_err();
        prop_assert!(matches!(err, OpenError::Decrypt { .. }), "{}", err);
    }

    #[test]
    fn snapshot_from_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = SealedSnapshot::from_bytes(&bytes);
        let _ = SnapshotHeader::decode(&bytes);
    }
}

#[test]
fn a_change_body_cannot_pass_as_a_snapshot_even_when_re_signed() {
    // The snapshot AAD starts with a domain string, so even a member who
    // re-signs a change's ciphertext as a snapshot cannot get it decrypted.
    let ws = WorkspaceId::from_bytes([3; 16]);
    let key = WorkspaceKey::from_bytes([7; 32]).derive(&ws).data;
    let dev = device(1);
    let change = SealedChange::seal(
        ChangeHeader {
            workspace: ws,
            doc: DocId::from_bytes([4; 16]),
            author: dev.device_id(),
            seq: 1,
            kind: ChangeKind::Update(DocKind::Note),
        },
        b"secret text",
        &key,
        &dev,
    )
    .unwrap();
    let sh = SnapshotHeader {
        workspace: ws,
        doc: DocId::from_bytes([4; 16]),
        kind: DocKind::Note,
        author: dev.device_id(),
        vector: Vec::new(),
    };
    let mut msg = b"weft/v1/snapshot".to_vec();
    msg.extend_from_slice(&sh.encode());
    msg.extend_from_slice(change.nonce());
    msg.extend_from_slice(change.ciphertext());
    let snap = SealedSnapshot::from_parts(
        sh,
        *change.nonce(),
        change.ciphertext().to_vec(),
        dev.sign(&msg),
    );
    assert!(snap.verify().is_ok());
    assert!(matches!(snap.open(&key), Err(OpenError::Decrypt { .. })));
}

#[test]
fn oversized_plaintext_is_refused_when_sealing() {
    let ws = WorkspaceId::from_bytes([3; 16]);
    let key = WorkspaceKey::from_bytes([7; 32]).derive(&ws).data;
    let dev = device(1);
    let big = vec![0u8; SealedChange::MAX_PLAINTEXT_LEN + 1];
    let h = ChangeHeader {
        workspace: ws,
        doc: DocId::from_bytes([4; 16]),
        author: dev.device_id(),
        seq: 1,
        kind: ChangeKind::Update(DocKind::Record),
    };
    let err = SealedChange::seal(h, &big, &key, &dev).unwrap_err();
    assert!(matches!(err, SealError::TooLarge { .. }), "{err}");
    // The parser's limit sits exactly at the largest ciphertext seal can
    // produce (checked on parts, without paying for 16 MiB of debug-build AES).
    let at_limit = SealedChange::from_parts(
        h,
        [0; 12],
        vec![0; weft_crypto::MAX_CIPHERTEXT_LEN],
        [0; 64],
    );
    assert!(SealedChange::from_bytes(&at_limit.to_bytes()).is_ok());
    let over = SealedChange::from_parts(
        h,
        [0; 12],
        vec![0; weft_crypto::MAX_CIPHERTEXT_LEN + 1],
        [0; 64],
    );
    assert!(matches!(
        SealedChange::from_bytes(&over.to_bytes()),
        Err(weft_crypto::ParseError::TooLarge { .. })
    ));
    assert!(matches!(over.verify(), Err(OpenError::TooLarge { .. })));
    assert_eq!(
        SealedChange::MAX_PLAINTEXT_LEN + weft_crypto::TAG_LEN,
        weft_crypto::MAX_CIPHERTEXT_LEN
    );
}

#[test]
fn nonces_are_fresh_per_seal() {
    let ws = WorkspaceId::from_bytes([3; 16]);
    let key = WorkspaceKey::from_bytes([7; 32]).derive(&ws).data;
    let dev = device(1);
    let h = ChangeHeader {
        workspace: ws,
        doc: DocId::from_bytes([4; 16]),
        author: dev.device_id(),
        seq: 1,
        kind: ChangeKind::Update(DocKind::Record),
    };
    let a = SealedChange::seal(h, b"same", &key, &dev).unwrap();
    let b = SealedChange::seal(h, b"same", &key, &dev).unwrap();
    assert_ne!(a.nonce(), b.nonce());
    assert_ne!(a.ciphertext(), b.ciphertext());
}

#[test]
fn a_malformed_author_key_is_a_bad_signature_not_a_panic() {
    let ws = WorkspaceId::from_bytes([3; 16]);
    let key = WorkspaceKey::from_bytes([7; 32]).derive(&ws).data;
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    let h = ChangeHeader {
        workspace: ws,
        doc: DocId::from_bytes([4; 16]),
        author: DeviceId::from_public_key(not_a_point),
        seq: 1,
        kind: ChangeKind::Update(DocKind::Record),
    };
    let c = SealedChange::from_parts(h, [0; 12], vec![0; 16], [0; 64]);
    let err = c.open(&key).unwrap_err();
    assert!(matches!(err, OpenError::BadSignature { .. }), "{err}");
    assert!(
        err.to_string().contains("not a valid Ed25519 public key"),
        "{err}"
    );
}

#[test]
fn checking_many_refuses_exactly_the_forged_changes() {
    let ws = WorkspaceId::from_bytes([3; 16]);
    let keys = WorkspaceKey::from_bytes([7; 32]).derive(&ws);
    let (a, b) = (device(1), device(2));
    let seal = |dev: &DeviceKey, seq: u64| {
        let h = ChangeHeader {
            workspace: ws,
            doc: DocId::from_bytes([4; 16]),
            author: dev.device_id(),
            seq,
            kind: ChangeKind::Update(DocKind::Record),
        };
        SealedChange::seal(h, format!("body {seq}").as_bytes(), &keys.data, dev).unwrap()
    };
    let mut batch: Vec<SealedChange> = (1..=40)
        .map(|seq| seal(if seq % 3 == 0 { &b } else { &a }, seq))
        .collect();
    // All good: every one verifies and opens.
    assert!(SealedChange::verify_many(&batch).iter().all(Result::is_ok));
    let opened = SealedChange::open_many(&batch, &keys.data);
    for (seq, plain) in (1..=40).zip(&opened) {
        assert_eq!(
            plain.as_ref().unwrap().as_slice(),
            format!("body {seq}").as_bytes()
        );
    }
    // One forged (a flipped signature bit) and one re-signed by another
    // device under a's name, among good ones: exactly those two refused,
    // with the error checking each alone gives.
    let (h, nonce, ct, mut sig) = batch[16].clone().into_parts();
    sig[5] ^= 1;
    batch[16] = SealedChange::from_parts(h, nonce, ct, sig);
    let other = seal(&b, 29);
    let (_, nonce, ct, sig) = other.into_parts();
    let (h, ..) = batch[28].clone().into_parts();
    batch[28] = SealedChange::from_parts(h, nonce, ct, sig);
    let verified = SealedChange::verify_many(&batch);
    let opened = SealedChange::open_many(&batch, &keys.data);
    for (i, (v, o)) in verified.iter().zip(&opened).enumerate() {
        if i == 16 || i == 28 {
            assert_eq!(v.as_ref().unwrap_err(), &batch[i].verify().unwrap_err());
            assert!(matches!(o, Err(OpenError::BadSignature { .. })), "{i}");
        } else {
            assert!(v.is_ok(), "{i}: {v:?}");
            assert!(o.is_ok(), "{i}");
        }
    }
    // A change that verifies but does not decrypt is refused as such.
    let wrong = WorkspaceKey::from_bytes([8; 32]).derive(&ws);
    let opened = SealedChange::open_many(&batch[..3], &wrong.data);
    assert!(
        opened
            .iter()
            .all(|o| matches!(o, Err(OpenError::Decrypt { .. })))
    );
}
