//! The properties the fuzz targets check. The stable-Rust regression tests
//! (`crates/weft-sync/tests/sync/fuzz_regressions.rs`) include this file, so
//! every committed corpus or crash input runs through the same checks in
//! `cargo nextest run -p weft-sync`, without nightly or libFuzzer.
//!
//! A check panics when a property is broken. Parse errors are expected
//! outcomes: the properties are that hostile bytes never panic, and that
//! whatever parses re-encodes to the bytes it came from.

use std::borrow::Cow;

use weft_crypto::{ChangeHeader, HEADER_LEN, SealedChange, SealedSnapshot, SnapshotHeader};
use weft_sync::{Frame, FrameReader, MAX_FRAME_LEN, WireError};

/// Length of a version-1 hello body: type, magic, two versions, features,
/// role, workspace id, nonce. A hello may be longer (later versions append
/// fields, which version 1 ignores), so only this prefix is canonical.
const HELLO_LEN: usize = 1 + 4 + 2 + 2 + 8 + 1 + 16 + 32;

/// Entry width of an encoded version vector: device key and big-endian seq.
const VV_ENTRY_LEN: usize = 40;

/// What [`check_frame`] made of one input, for the tests that assert the
/// corpus covers every frame type.
#[derive(Debug, Default)]
pub struct FrameOutcome {
    /// The frame the whole input decoded to, if any.
    pub frame: Option<&'static str>,
    /// The frames found when the input is read as a length-prefixed stream.
    pub stream_frames: Vec<&'static str>,
}

/// The `frame` target: the input as one frame body, and as a byte stream
/// fed to a [`FrameReader`] whole and in two pieces.
pub fn check_frame(data: &[u8]) -> FrameOutcome {
    let frame = check_frame_body(data).map(|f| f.name());
    let stream_frames = check_stream(data)
        .iter()
        .filter_map(|body| check_frame_body(body).map(|f| f.name()))
        .collect();
    FrameOutcome {
        frame,
        stream_frames,
    }
}

/// Decodes one frame body; if it parses, re-encoding must give back the
/// same frame and the canonical form of the input. A batch's changes are
/// checked as sealed changes, as the receiving session parses them.
pub fn check_frame_body(body: &[u8]) -> Option<Frame> {
    let frame = Frame::decode(body).ok()?;
    let encoded = frame.encode();
    assert_eq!(
        Frame::decode(&encoded).as_ref(),
        Ok(&frame),
        "a decoded {} frame decodes differently after re-encoding",
        frame.name()
    );
    assert_eq!(
        encoded,
        canonical(body, &frame).as_ref(),
        "a decoded {} frame re-encodes to other bytes",
        frame.name()
    );
    let prefixed = frame.encode_prefixed();
    let len = u32::try_from(encoded.len()).unwrap_or(u32::MAX);
    assert_eq!(prefixed.get(..4), Some(&len.to_be_bytes()[..]));
    assert_eq!(prefixed.get(4..), Some(&encoded[..]));
    if let Frame::Changes(changes) = &frame {
        for change in changes {
            check_sealed(change);
        }
    }
    Some(frame)
}

/// The bytes a decoded frame must re-encode to. Two inputs decode without
/// being canonical, both by design: a hello ignores what follows its
/// version-1 fields, and a `have` (or `have-delta`) entry with seq 0 means "nothing of this
/// author", the same as no entry, so the decoded vector drops it.
fn canonical<'a>(body: &'a [u8], frame: &Frame) -> Cow<'a, [u8]> {
    match frame {
        Frame::Hello(_) => Cow::Borrowed(body.get(..HELLO_LEN).unwrap_or(body)),
        Frame::Have(_) | Frame::HaveDelta(_) => {
            let (ty, entries) = body.split_at(1);
            let mut out = ty.to_vec();
            for entry in entries.chunks(VV_ENTRY_LEN) {
                if entry.get(32..) != Some(&[0u8; 8][..]) {
                    out.extend_from_slice(entry);
                }
            }
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(body),
    }
}

/// What a [`FrameReader`] made of a stream.
#[derive(Debug, PartialEq)]
struct Split {
    frames: Vec<Vec<u8>>,
    error: Option<WireError>,
    buffered: usize,
}

/// Feeds the stream to a reader whole and cut in two (where the input's
/// last byte says, so the fuzzer steers the cut), and checks that both give
/// the same frames, the same error and the same leftover, and that the
/// frames are exactly the stream's prefix. Returns the frame bodies.
pub fn check_stream(stream: &[u8]) -> Vec<Vec<u8>> {
    let whole = split_stream(&[stream]);
    let cut = stream
        .last()
        .map_or(0, |&b| usize::from(b) * stream.len() / 255);
    let (a, b) = stream.split_at(cut);
    let halves = split_stream(&[a, b]);
    assert_eq!(
        whole, halves,
        "reading the stream in two pieces cut at byte {cut} differs from reading it whole"
    );

    let mut rebuilt = Vec::new();
    for body in &whole.frames {
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        rebuilt.extend_from_slice(&len.to_be_bytes());
        rebuilt.extend_from_slice(body);
    }
    assert_eq!(
        stream.get(..rebuilt.len()),
        Some(&rebuilt[..]),
        "the frames read are not the stream's own bytes"
    );
    let rest = &stream[rebuilt.len()..];
    assert_eq!(
        whole.buffered,
        rest.len(),
        "the reader lost or invented bytes"
    );
    let announced = rest
        .first_chunk::<4>()
        .map(|p| u32::from_be_bytes(*p) as usize);
    match &whole.error {
        None => assert!(
            announced.is_none_or(|len| rest.len() < 4 + len && len <= MAX_FRAME_LEN),
            "the reader waits for more bytes although a whole frame is buffered"
        ),
        Some(WireError::TooLarge { len, .. }) => assert!(
            announced == Some(*len) && *len > MAX_FRAME_LEN,
            "the reader refused a frame of {len} bytes that is within the limit"
        ),
        Some(other) => panic!("the reader failed with {other:?}, not a length error"),
    }
    whole.frames
}

fn split_stream(chunks: &[&[u8]]) -> Split {
    let mut reader = FrameReader::new();
    let mut frames = Vec::new();
    let mut error = None;
    for chunk in chunks {
        reader.extend(chunk);
        // After an error the stream is unusable: keep buffering (so both
        // readings end with the same leftover) but read nothing more.
        while error.is_none() {
            match reader.next_frame() {
                Ok(Some(body)) => frames.push(body),
                Ok(None) => break,
                Err(e) => error = Some(e),
            }
        }
    }
    Split {
        frames,
        error,
        buffered: reader.buffered(),
    }
}

/// What [`check_sealed`] made of one input: for each of change and
/// snapshot, `None` if it did not parse, else whether its signature verified.
#[derive(Debug, Default)]
pub struct SealedOutcome {
    /// The input as a sealed change.
    pub change: Option<bool>,
    /// The input as a sealed snapshot.
    pub snapshot: Option<bool>,
}

/// The `sealed_change` target: the input as a sealed change, a sealed
/// snapshot and either header. Whatever parses must serialize back to the
/// input byte for byte (the formats have one encoding and refuse trailing
/// bytes), and verifying it must return, not panic.
pub fn check_sealed(data: &[u8]) -> SealedOutcome {
    if let Ok(h) = ChangeHeader::decode(data) {
        assert_eq!(
            &h.encode()[..],
            data,
            "a change header re-encodes differently"
        );
    }
    if let Ok(h) = SnapshotHeader::decode(data) {
        assert_eq!(h.encode(), data, "a snapshot header re-encodes differently");
    }
    let change = SealedChange::from_bytes(data).ok().map(|c| {
        assert_eq!(
            c.to_bytes(),
            data,
            "a sealed change re-serializes differently"
        );
        assert_eq!(
            data.get(..HEADER_LEN),
            Some(&c.header().encode()[..]),
            "a sealed change's header is not its first {HEADER_LEN} bytes"
        );
        let verified = c.verify().is_ok();
        let (header, nonce, ciphertext, signature) = c.clone().into_parts();
        assert_eq!(
            SealedChange::from_parts(header, nonce, ciphertext, signature),
            c
        );
        verified
    });
    let snapshot = SealedSnapshot::from_bytes(data).ok().map(|s| {
        assert_eq!(
            s.to_bytes(),
            data,
            "a sealed snapshot re-serializes differently"
        );
        let header = s.header().encode();
        assert_eq!(
            data.get(..header.len()),
            Some(&header[..]),
            "a sealed snapshot's header is not its first bytes"
        );
        let verified = s.verify().is_ok();
        let (header, nonce, ciphertext, signature) = s.clone().into_parts();
        assert_eq!(
            SealedSnapshot::from_parts(header, nonce, ciphertext, signature),
            s
        );
        verified
    });
    SealedOutcome { change, snapshot }
}
