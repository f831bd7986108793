//! Two sessions over an in-memory link: authentication, catch-up, live
//! push, flow control, rejection of bad changes and bad frames.

use proptest::prelude::*;
use weft_core::{DocId, VersionVector, WorkspaceId};
use weft_crypto::{DeviceKey, SealedChange, WorkspaceKey};
use weft_sync::{
    Credentials, Frame, Hello, Limits, MAX_FRAME_LEN, RefuseCode, RejectCode, Role, Session,
    SessionError,
};

use crate::{Fixture, MemLog, Peer, config, run_reliable};

fn device(n: u8) -> DeviceKey {
    DeviceKey::from_seed([n; 32])
}

/// Two member devices of `f`'s workspace, with `na` and `nb` changes each.
fn pair(f: &Fixture, na: u64, nb: u64) -> (Peer, Peer, DeviceKey, DeviceKey) {
    pair_with(f, na, nb, Limits::default())
}

fn pair_with(f: &Fixture, na: u64, nb: u64, limits: Limits) -> (Peer, Peer, DeviceKey, DeviceKey) {
    let (ka, kb) = (device(1), device(2));
    let (la, lb) = (MemLog::default(), MemLog::default());
    let doc = DocId::from_bytes([1; 16]);
    for s in 1..=na {
        la.append(f.seal(&ka, doc, s, format!("a{s}").as_bytes()));
    }
    for s in 1..=nb {
        lb.append(f.seal(&kb, doc, s, format!("b{s}").as_bytes()));
    }
    let cfg = |local, remote| weft_sync::SessionConfig {
        limits: limits.clone(),
        ..config(f.workspace, local, remote, Role::Device)
    };
    let a = Session::new(
        cfg(ka.device_id(), kb.device_id()),
        Credentials::Member(f.keys()),
        [0xa; 32],
        0,
    );
    let b = Session::new(
        cfg(kb.device_id(), ka.device_id()),
        Credentials::Member(f.keys()),
        [0xb; 32],
        0,
    );
    (Peer::new(a, la), Peer::new(b, lb), ka, kb)
}

fn decoded(frames: &[Vec<u8>]) -> Vec<Frame> {
    frames.iter().map(|f| Frame::decode(f).unwrap()).collect()
}

fn vector(log: &MemLog) -> VersionVector {
    weft_sync::Log::vector(log).unwrap()
}

#[test]
fn two_devices_swap_what_they_lack_and_report_in_sync() {
    let f = Fixture::new();
    let (mut a, mut b, _, _) = pair(&f, 300, 120);
    run_reliable(&mut a, &mut b);
    assert!(
        a.error.is_none() && b.error.is_none(),
        "{:?} {:?}",
        a.error,
        b.error
    );
    assert_eq!(a.log.len(), 420);
    assert_eq!(a.log.ids(), b.log.ids());
    assert!(a.in_sync && b.in_sync);
    assert_eq!(a.session.remote_has(), &vector(&b.log));
    assert_eq!(b.session.remote_has(), &vector(&a.log));
}

#[test]
fn after_the_first_have_an_acknowledgement_names_only_the_authors_that_moved() {
    let f = Fixture::new();
    let (mut a, mut b, ka, _) = pair(&f, 1, 0);
    // B's log holds changes of 300 other devices.
    let doc = DocId::from_bytes([3; 16]);
    for n in 0..300u16 {
        let k = DeviceKey::from_seed([
            (n % 250) as u8 + 3,
            (n / 250) as u8 + 1,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
        ]);
        b.log.append(f.seal(&k, doc, 1, b"x"));
    }
    run_reliable(&mut a, &mut b);
    assert_eq!(a.log.len(), 301);
    // A live change: B acknowledges it with one author, not 302.
    a.log.append(f.seal(&ka, doc, 2, b"live"));
    a.session.notify_local_change();
    let (_, from_b) = run_reliable(&mut a, &mut b);
    let acks: Vec<Frame> = decoded(&from_b)
        .into_iter()
        .filter(|f| matches!(f, Frame::Have(_) | Frame::HaveDelta(_)))
        .collect();
    assert!(!acks.is_empty());
    for ack in &acks {
        let Frame::HaveDelta(vv) = ack else {
            panic!("a full have after the first: {ack:?}");
        };
        assert!(vv.len() <= 1, "{vv:?}");
    }
    assert_eq!(a.session.remote_has(), &vector(&b.log));
    assert!(a.in_sync && b.in_sync);
}

#[test]
fn live_changes_are_pushed_after_catch_up() {
    let f = Fixture::new();
    let (mut a, mut b, ka, _) = pair(&f, 2, 0);
    run_reliable(&mut a, &mut b);
    assert_eq!(b.log.len(), 2);
    a.log
        .append(f.seal(&ka, DocId::from_bytes([2; 16]), 3, b"live"));
    a.session.notify_local_change();
    run_reliable(&mut a, &mut b);
    assert_eq!(b.log.len(), 3);
    assert_eq!(a.session.remote_has(), &vector(&a.log));
}

#[test]
fn a_non_member_is_refused_before_any_data_moves() {
    let f = Fixture::new();
    let (mut a, _, ka, kb) = pair(&f, 50, 0);
    let outsider = Fixture {
        workspace: f.workspace,
        key: WorkspaceKey::from_bytes([1; 32]),
    };
    let mut b = Peer::new(
        Session::new(
            config(f.workspace, kb.device_id(), ka.device_id(), Role::Device),
            Credentials::Member(outsider.keys()),
            [0xb; 32],
            0,
        ),
        MemLog::default(),
    );
    let (from_a, from_b) = run_reliable(&mut a, &mut b);
    let from_a = decoded(&from_a);
    assert!(
        !from_a
            .iter()
            .any(|f| matches!(f, Frame::Changes(_) | Frame::Have(_))),
        "data reached a non-member: {:?}",
        from_a.iter().map(Frame::name).collect::<Vec<_>>()
    );
    assert!(matches!(a.error, Some(SessionError::NotMember { .. })));
    assert!(from_a.iter().any(|f| matches!(
        f,
        Frame::Refuse {
            code: RefuseCode::NotMember,
            ..
        }
    )));
    // The outsider is told why (it also fails the member's proof itself,
    // since the keys differ both ways).
    let told = from_a.iter().find_map(|f| match f {
        Frame::Refuse { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(told.unwrap().contains("membership proof"));
    assert!(matches!(
        b.error,
        Some(SessionError::NotMember { .. } | SessionError::Refused { .. })
    ));
    assert!(
        decoded(&from_b)
            .iter()
            .all(|f| !matches!(f, Frame::Changes(_)))
    );
    assert_eq!(b.log.len(), 0);
}

#[test]
fn another_workspace_is_refused_by_name() {
    let f = Fixture::new();
    let (mut a, _, ka, kb) = pair(&f, 1, 0);
    let other = Fixture {
        workspace: WorkspaceId::from_bytes([8; 16]),
        key: WorkspaceKey::from_bytes([42; 32]),
    };
    let mut b = Peer::new(
        Session::new(
            config(
                other.workspace,
                kb.device_id(),
                ka.device_id(),
                Role::Device,
            ),
            Credentials::Member(other.keys()),
            [0xb; 32],
            0,
        ),
        MemLog::default(),
    );
    run_reliable(&mut a, &mut b);
    let msg = a.error.as_ref().unwrap().to_string();
    assert!(msg.contains(&other.workspace.to_hex()), "{msg}");
    assert_eq!(b.log.len(), 0);
}

#[test]
fn incompatible_versions_fail_naming_both() {
    let f = Fixture::new();
    let (mut a, _, _, _) = pair(&f, 1, 0);
    let hello = Frame::Hello(Hello {
        min_version: 7,
        max_version: 9,
        features: 0,
        role: Role::Device,
        workspace: f.workspace,
        nonce: [3; 32],
    });
    a.drain(0);
    let out = a.receive(&hello.encode(), 0);
    let msg = a.error.as_ref().unwrap().to_string();
    assert!(msg.contains("7..=9") && msg.contains("1..=1"), "{msg}");
    assert!(matches!(
        decoded(&out).last(),
        Some(Frame::Refuse {
            code: RefuseCode::Version,
            ..
        })
    ));
}

#[test]
fn relay_authenticates_devices_it_cannot_decrypt_for() {
    let f = Fixture::new();
    let kd = device(1);
    let relay_id = device(9).device_id();
    let log = MemLog::default();
    for s in 1..=10 {
        log.append(f.seal(&kd, DocId::from_bytes([1; 16]), s, b"x"));
    }
    let mut dev = Peer::new(
        Session::new(
            config(f.workspace, kd.device_id(), relay_id, Role::Relay),
            Credentials::Member(f.keys()),
            [1; 32],
            0,
        ),
        log,
    );
    let verifier = f.keys().relay_auth.verifier();
    let mut relay = Peer::new(
        Session::new(
            config(f.workspace, relay_id, kd.device_id(), Role::Device),
            Credentials::Relay(verifier),
            [2; 32],
            0,
        ),
        MemLog::default(),
    );
    run_reliable(&mut dev, &mut relay);
    assert!(dev.error.is_none() && relay.error.is_none());
    assert_eq!(relay.log.len(), 10);

    // A device with the wrong relay-auth key gets nothing from the relay.
    let wrong = Fixture {
        workspace: f.workspace,
        key: WorkspaceKey::from_bytes([5; 32]),
    };
    let mut intruder = Peer::new(
        Session::new(
            config(f.workspace, device(3).device_id(), relay_id, Role::Relay),
            Credentials::Member(wrong.keys()),
            [3; 32],
            0,
        ),
        MemLog::default(),
    );
    let mut relay2 = Peer::new(
        Session::new(
            config(f.workspace, relay_id, device(3).device_id(), Role::Device),
            Credentials::Relay(verifier),
            [4; 32],
            0,
        ),
        std::mem::take(&mut relay.log),
    );
    let (_, from_relay) = run_reliable(&mut intruder, &mut relay2);
    assert!(matches!(relay2.error, Some(SessionError::NotMember { .. })));
    assert!(
        decoded(&from_relay)
            .iter()
            .all(|f| !matches!(f, Frame::Changes(_)))
    );
    assert_eq!(intruder.log.len(), 0);
}

#[test]
fn a_device_that_expected_a_relay_refuses_a_device() {
    let f = Fixture::new();
    let (ka, kb) = (device(1), device(2));
    let mut a = Peer::new(
        Session::new(
            config(f.workspace, ka.device_id(), kb.device_id(), Role::Relay),
            Credentials::Member(f.keys()),
            [1; 32],
            0,
        ),
        MemLog::default(),
    );
    let (_, mut b, _, _) = pair(&f, 0, 3);
    run_reliable(&mut a, &mut b);
    assert!(matches!(a.error, Some(SessionError::UnexpectedRole { .. })));
    assert_eq!(a.log.len(), 0);
}

#[test]
fn a_tampered_change_is_rejected_without_losing_its_batch() {
    let f = Fixture::new();
    let (mut a, mut b, _, _) = pair(&f, 0, 0);
    let kc = device(3);
    let doc = DocId::from_bytes([1; 16]);
    // Complete the handshake first.
    run_reliable(&mut a, &mut b);
    let good1 = f.seal(&kc, doc, 1, b"one").to_bytes();
    let good2 = f.seal(&device(4), doc, 1, b"other author").to_bytes();
    let mut flipped = f.seal(&kc, doc, 2, b"two").to_bytes();
    let last = flipped.len() - 70;
    flipped[last] ^= 1;
    let batch = Frame::Changes(vec![good1, flipped, b"junk".to_vec(), good2]).encode();
    let out = b.receive(&batch, 0);
    assert!(b.error.is_none(), "{:?}", b.error);
    assert_eq!(b.log.len(), 2, "the good changes of the batch are kept");
    assert_eq!(
        b.events
            .iter()
            .filter(|e| e.starts_with("rejected"))
            .count(),
        2
    );
    let frames = decoded(&out);
    let rejected = frames.iter().find_map(|f| match f {
        Frame::Reject(r) => Some(r.clone()),
        _ => None,
    });
    let rejected = rejected.expect("the sender is told");
    assert_eq!(rejected.len(), 1, "the unparseable one names no author");
    assert_eq!(rejected[0].author, kc.device_id());
    assert_eq!(rejected[0].seq, 2);
    assert_eq!(rejected[0].code, RejectCode::BadSignature);
}

#[test]
fn a_forged_change_in_a_large_batch_is_refused_alone() {
    // Large enough to be checked on several threads.
    let f = Fixture::new();
    let (mut a, mut b, _, _) = pair(&f, 0, 0);
    run_reliable(&mut a, &mut b);
    let (kc, kd, ke) = (device(3), device(4), device(5));
    let doc = DocId::from_bytes([1; 16]);
    let mut list: Vec<Vec<u8>> = (1..=100)
        .map(|seq| f.seal(&kc, doc, seq, b"good").to_bytes())
        .collect();
    // d's only change, forged by e: its signature is e's.
    let forged = f.seal(&ke, doc, 1, b"forged");
    let (_, nonce, ct, sig) = forged.into_parts();
    let (h, ..) = f.seal(&kd, doc, 1, b"forged").into_parts();
    list.insert(57, SealedChange::from_parts(h, nonce, ct, sig).to_bytes());
    list.extend((1..=100).map(|seq| f.seal(&ke, doc, seq, b"good").to_bytes()));
    let out = b.receive(&Frame::Changes(list).encode(), 0);
    assert!(b.error.is_none(), "{:?}", b.error);
    assert_eq!(b.log.len(), 200, "every good change is kept");
    assert!(
        b.log
            .ids()
            .iter()
            .all(|(author, _)| *author != kd.device_id())
    );
    let rejected = decoded(&out)
        .iter()
        .find_map(|f| match f {
            Frame::Reject(r) => Some(r.clone()),
            _ => None,
        })
        .expect("the sender is told");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].author, kd.device_id());
    assert_eq!(rejected[0].seq, 1);
    assert_eq!(rejected[0].code, RejectCode::BadSignature);
}

#[test]
fn malformed_and_oversized_frames_end_the_session_with_an_error() {
    let f = Fixture::new();
    for bad in [
        vec![],
        vec![0x99],
        vec![0x06, 0xff, 0xff],
        vec![0x05, 1, 2, 3],
        vec![0u8; MAX_FRAME_LEN + 1],
    ] {
        let (mut a, mut b, _, _) = pair(&f, 1, 0);
        run_reliable(&mut a, &mut b);
        let out = b.receive(&bad, 0);
        assert!(
            matches!(b.error, Some(SessionError::Wire { .. })),
            "{:?}",
            b.error
        );
        assert!(b.session.is_closed());
        assert!(matches!(
            decoded(&out).last(),
            Some(Frame::Refuse {
                code: RefuseCode::Protocol,
                ..
            })
        ));
    }
}

#[test]
fn the_window_bounds_unacknowledged_bytes() {
    let f = Fixture::new();
    let (mut a, mut b, _, _) = pair(&f, 2000, 0);
    let limits = Limits {
        window_bytes: 64 * 1024,
        batch_bytes: 16 * 1024,
        ..Limits::default()
    };
    a.session = Session::new(
        weft_sync::SessionConfig {
            limits: limits.clone(),
            ..config(
                f.workspace,
                device(1).device_id(),
                device(2).device_id(),
                Role::Device,
            )
        },
        Credentials::Member(f.keys()),
        [0xa; 32],
        0,
    );
    // Handshake, then hold back every acknowledgement from b: a must stop
    // at its window instead of sending the whole log.
    let mut to_b = a.drain(0);
    let mut to_a = b.drain(0);
    let mut sent_bytes = 0usize;
    let mut first_have_passed = false;
    for _ in 0..50 {
        let mut next_a = Vec::new();
        for fr in to_a.drain(..) {
            next_a.extend(a.receive(&fr, 0));
        }
        let mut next_b = Vec::new();
        for fr in to_b.drain(..) {
            if let Ok(Frame::Changes(list)) = Frame::decode(&fr) {
                sent_bytes += list.iter().map(Vec::len).sum::<usize>();
            }
            next_b.extend(b.receive(&fr, 0));
        }
        to_b = next_a;
        // Let b's first `have` through (a needs to know where b stands),
        // then drop every acknowledgement.
        to_a = next_b
            .into_iter()
            .filter(|fr| {
                let have = matches!(Frame::decode(fr), Ok(Frame::Have(_) | Frame::HaveDelta(_)));
                if have && !first_have_passed {
                    first_have_passed = true;
                    return true;
                }
                !have
            })
            .collect();
    }
    assert!(sent_bytes > 0);
    assert!(
        sent_bytes <= limits.window_bytes + 2048,
        "sent {sent_bytes} unacknowledged bytes"
    );
    assert!(b.log.len() < 2000);
    // Acknowledgements (b's keepalive, a's rewind) resume the flow.
    a.session.handle_tick(60_000).unwrap();
    b.session.handle_tick(60_000).unwrap();
    run_reliable(&mut a, &mut b);
    assert_eq!(b.log.len(), 2000);
}

/// A link that loses, duplicates and reorders frames.
fn lossy_round(rng: &mut u64, queue: &mut Vec<Vec<u8>>, frames: Vec<Vec<u8>>, loss: u64) {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    for f in frames {
        let r = next() % 100;
        if r < loss {
            continue;
        }
        if r < 2 * loss {
            queue.push(f.clone());
        }
        let at = (next() as usize) % (queue.len() + 1);
        queue.insert(at, f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn sessions_converge_over_a_lossy_reordering_link(
        seed in 1u64..u64::MAX, na in 0u64..150, nb in 0u64..150, loss in 0u64..30,
    ) {
        let f = Fixture::new();
        let limits = Limits {
            retransmit_ms: 300,
            keepalive_ms: 500,
            handshake_timeout_ms: 1_000_000,
            batch_changes: 16,
            ..Limits::default()
        };
        let (mut a, mut b, _, _) = pair_with(&f, na, nb, limits);
        let mut rng = seed;
        let (mut qa, mut qb) = (Vec::new(), Vec::new());
        let mut now = 0;
        lossy_round(&mut rng, &mut qb, a.drain(now), loss);
        lossy_round(&mut rng, &mut qa, b.drain(now), loss);
        for _ in 0..4000 {
            if a.log.len() as u64 == na + nb && b.log.len() as u64 == na + nb {
                break;
            }
            now += 100;
            for p in [&mut a, &mut b] {
                p.session.handle_tick(now).unwrap();
            }
            let (ta, tb) = (a.drain(now), b.drain(now));
            lossy_round(&mut rng, &mut qb, ta, loss);
            lossy_round(&mut rng, &mut qa, tb, loss);
            let take = |q: &mut Vec<Vec<u8>>| q.drain(..q.len().min(4)).collect::<Vec<_>>();
            for fr in take(&mut qb) {
                let out = b.receive(&fr, now);
                lossy_round(&mut rng, &mut qa, out, loss);
            }
            for fr in take(&mut qa) {
                let out = a.receive(&fr, now);
                lossy_round(&mut rng, &mut qb, out, loss);
            }
            prop_assert!(a.error.is_none() && b.error.is_none(), "{:?} {:?}", a.error, b.error);
        }
        prop_assert_eq!(a.log.ids(), b.log.ids());
        prop_assert_eq!(a.log.len() as u64, na + nb);
    }
}
