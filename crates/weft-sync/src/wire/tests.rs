//! The frame codec against hostile and truncated input.
use super::*;

#[test]
fn a_prefixed_frame_carries_its_length() {
    assert_eq!(prefixed(&[9, 9]), vec![0, 0, 0, 2, 9, 9]);
    assert_eq!(prefixed(&[]), vec![0, 0, 0, 0]);
}

fn device(n: u8) -> DeviceId {
    weft_crypto::DeviceKey::from_seed([n; 32]).device_id()
}

fn samples() -> Vec<Frame> {
    let mut vv = VersionVector::new();
    vv.set(device(1), 7);
    vv.set(device(2), 1 << 40);
    vec![
        Frame::Hello(Hello {
            min_version: 1,
            max_version: 3,
            features: 0xdead_beef,
            role: Role::Relay,
            workspace: WorkspaceId::from_bytes([9; 16]),
            nonce: [4; 32],
        }),
        Frame::MemberProof([1; 32]),
        Frame::RelayProof([2; 64]),
        Frame::Refuse {
            code: RefuseCode::NotMember,
            message: "no".into(),
            retry_after_s: None,
        },
        Frame::Refuse {
            code: RefuseCode::Other(200),
            message: String::new(),
            retry_after_s: None,
        },
        Frame::Refuse {
            code: RefuseCode::RateLimited,
            message: "rate limited".into(),
            retry_after_s: Some(31),
        },
        Frame::Have(vv),
        Frame::Have(VersionVector::new()),
        Frame::HaveDelta(VersionVector::new()),
        Frame::Changes(vec![vec![1, 2, 3], vec![], vec![0; 1000]]),
        Frame::Reject(vec![Rejection {
            author: device(3),
            seq: 5,
            code: RejectCode::BadSignature,
        }]),
    ]
}

#[test]
fn every_frame_round_trips() {
    for f in samples() {
        assert_eq!(Frame::decode(&f.encode()).as_ref(), Ok(&f), "{}", f.name());
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for f in samples() {
        let bytes = f.encode();
        for cut in 0..bytes.len() {
            let r = Frame::decode(&bytes[..cut]);
            // A hello may legitimately end anywhere after its fixed
            // fields; nothing else may decode from a prefix.
            // A `have` cut at an entry boundary is a shorter vector.
            if matches!(f, Frame::Have(_) | Frame::HaveDelta(_)) && cut > 0 && (cut - 1) % 40 == 0 {
                continue;
            }
            // A refuse cut where its optional retry-after starts is a
            // refuse without one.
            if let Frame::Refuse {
                retry_after_s: Some(_),
                ..
            } = &f
                && cut == bytes.len() - 4
            {
                continue;
            }
            if let Ok(g) = r {
                panic!("{} cut at {cut} decoded as {}", f.name(), g.name());
            }
        }
    }
}

#[test]
fn trailing_bytes_are_refused_except_after_a_hello() {
    for f in samples() {
        let mut bytes = f.encode();
        bytes.push(0);
        let r = Frame::decode(&bytes);
        match f {
            Frame::Hello(_) => assert_eq!(r, Ok(f)),
            // An extra byte at the end of a `have` breaks its 40-byte
            // granularity; elsewhere it is a trailing byte.
            Frame::Have(_) | Frame::HaveDelta(_) => {
                assert!(matches!(r, Err(WireError::BadVector { .. })))
            }
            // After a refuse's message comes its optional u32 retry-after: one
            // byte is a truncated one.
            Frame::Refuse {
                retry_after_s: None,
                ..
            } => assert!(matches!(r, Err(WireError::Truncated { .. })), "{r:?}"),
            _ => assert!(matches!(r, Err(WireError::Trailing { .. })), "{r:?}"),
        }
    }
}

#[test]
fn hello_from_another_protocol_is_named() {
    let mut bytes = samples()[0].encode();
    bytes[1] = b'X';
    assert_eq!(Frame::decode(&bytes), Err(WireError::BadMagic));
}

#[test]
fn unsorted_vectors_are_refused() {
    let mut vv = VersionVector::new();
    vv.set(device(1), 1);
    vv.set(device(2), 1);
    let mut bytes = Frame::Have(vv).encode();
    let (a, b) = bytes[1..].split_at_mut(40);
    a.swap_with_slice(b);
    assert!(matches!(
        Frame::decode(&bytes),
        Err(WireError::UnsortedVector { .. })
    ));
}

#[test]
fn reader_splits_a_stream_fed_byte_by_byte() {
    let frames = samples();
    let stream: Vec<u8> = frames.iter().flat_map(|f| f.encode_prefixed()).collect();
    let mut r = FrameReader::new();
    let mut out = Vec::new();
    for b in stream {
        r.extend(&[b]);
        while let Some(body) = r.next_frame().unwrap() {
            out.push(Frame::decode(&body).unwrap());
        }
    }
    assert_eq!(out, frames);
    assert_eq!(r.buffered(), 0);
}

#[test]
fn reader_refuses_an_oversized_prefix_before_buffering() {
    let mut r = FrameReader::new();
    r.extend(&((MAX_FRAME_LEN as u32) + 1).to_be_bytes());
    assert!(matches!(r.next_frame(), Err(WireError::TooLarge { .. })));
}

#[test]
fn batches_over_the_limit_are_refused() {
    let f = Frame::Changes(vec![vec![]; MAX_BATCH_CHANGES + 1]);
    assert!(matches!(
        Frame::decode(&f.encode()),
        Err(WireError::TooManyChanges { .. })
    ));
}

#[test]
fn reader_consumes_a_burst_of_small_frames_in_order_and_keeps_its_buffer_small() {
    // 100,000 empty `have`s arriving in 64 KiB reads, frames split across
    // reads: every one comes out, in order, and the buffer never holds
    // more than the unread bytes of about one read.
    let one = Frame::Have(VersionVector::new()).encode_prefixed();
    let stream: Vec<u8> = (0..100_000).flat_map(|_| one.clone()).collect();
    let mut r = FrameReader::new();
    let mut n = 0usize;
    for chunk in stream.chunks(64 * 1024 + 3) {
        r.extend(chunk);
        while let Some(body) = r.next_frame().expect("frame") {
            assert_eq!(body, one[4..]);
            n += 1;
        }
        assert!(r.buffered() < one.len());
        assert!(r.allocated() <= 4 * (64 * 1024 + 3), "{}", r.allocated());
    }
    assert_eq!(n, 100_000);
    assert_eq!(r.buffered(), 0);
}
