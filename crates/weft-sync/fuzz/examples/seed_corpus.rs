//! Writes the seed corpus: a valid encoding of every frame type, streams of
//! several frames, and real sealed changes and snapshots. Regenerate with
//!
//! ```sh
//! cargo run --manifest-path crates/weft-sync/fuzz/Cargo.toml --example seed_corpus
//! ```
//!
//! It replaces every file in `corpus/frame` and `corpus/sealed_change`.
//! Sealing draws a fresh random nonce, so the sealed seeds (and the batches
//! that carry them) differ from run to run; everything else is fixed.

use std::error::Error;
use std::fs;
use std::path::Path;

use sha1::{Digest, Sha1};
use weft_core::{ChangeKind, DocId, DocKind, VersionVector, WorkspaceId};
use weft_crypto::{
    ChangeHeader, DerivedKeys, DeviceKey, SealedChange, SealedSnapshot, SnapshotHeader,
    WorkspaceKey,
};
use weft_sync::wire::MAX_REFUSE_MESSAGE;
use weft_sync::{
    FEATURES, Frame, Hello, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, RefuseCode, RejectCode,
    Rejection, Role,
};

fn main() -> Result<(), Box<dyn Error>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let sealed = sealed_seeds()?;
    let frames = frame_seeds(&sealed.changes);
    let mut all_sealed = sealed
        .changes
        .iter()
        .map(|c| c.to_bytes())
        .collect::<Vec<_>>();
    all_sealed.extend(sealed.snapshots.iter().map(|s| s.to_bytes()));
    all_sealed.extend(sealed.headers);
    let nf = write_dir(&corpus.join("frame"), &frames)?;
    let ns = write_dir(&corpus.join("sealed_change"), &all_sealed)?;
    println!("wrote {nf} frame seeds and {ns} sealed_change seeds");
    Ok(())
}

/// Replaces the directory's files with the seeds, each named by the SHA-1
/// of its content.
fn write_dir(dir: &Path, seeds: &[Vec<u8>]) -> Result<usize, Box<dyn Error>> {
    fs::create_dir_all(dir)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
            fs::remove_file(entry.path())?;
        }
    }
    for seed in seeds {
        let name: String = Sha1::digest(seed)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        fs::write(dir.join(name), seed)?;
    }
    Ok(fs::read_dir(dir)?.count())
}

struct Sealed {
    changes: Vec<SealedChange>,
    snapshots: Vec<SealedSnapshot>,
    headers: Vec<Vec<u8>>,
}

fn workspace() -> (WorkspaceId, DerivedKeys) {
    let ws = WorkspaceId::from_bytes([7; 16]);
    let keys = WorkspaceKey::from_bytes([42; 32]).derive(&ws);
    (ws, keys)
}

fn sealed_seeds() -> Result<Sealed, Box<dyn Error>> {
    let (ws, keys) = workspace();
    let alice = DeviceKey::from_seed([1; 32]);
    let bob = DeviceKey::from_seed([2; 32]);
    let note = DocId::from_bytes([3; 16]);
    let record = DocId::from_bytes([4; 16]);
    let index = DocId::from_bytes([0; 16]);

    let mut changes = Vec::new();
    let mut headers = Vec::new();
    let cases: [(&DeviceKey, DocId, u64, DocKind, Vec<u8>); 5] = [
        (&alice, note, 1, DocKind::Note, Vec::new()),
        (&alice, note, 2, DocKind::Note, b"one line of text".to_vec()),
        (
            &bob,
            record,
            1,
            DocKind::Record,
            br#"{"read":true}"#.to_vec(),
        ),
        (&bob, index, 2, DocKind::Index, vec![0x5a; 300]),
        (
            &alice,
            note,
            u64::MAX,
            DocKind::Note,
            (0..=255).cycle().take(4096).collect(),
        ),
    ];
    for (dev, doc, seq, kind, body) in cases {
        let header = ChangeHeader {
            workspace: ws,
            doc,
            author: dev.device_id(),
            seq,
            kind: ChangeKind::Update(kind),
        };
        headers.push(header.encode().to_vec());
        changes.push(SealedChange::seal(header, &body, &keys.data, dev)?);
    }

    let mut vv = VersionVector::new();
    vv.set(alice.device_id(), 2);
    vv.set(bob.device_id(), 9);
    let mut snapshots = Vec::new();
    for (dev, doc, kind, vector, state) in [
        (
            &alice,
            note,
            DocKind::Note,
            VersionVector::new(),
            Vec::new(),
        ),
        (
            &alice,
            note,
            DocKind::Note,
            vv.clone(),
            b"loro state".to_vec(),
        ),
        (&bob, record, DocKind::Record, vv.clone(), vec![0xa5; 2048]),
        (&bob, index, DocKind::Index, vv, vec![1, 2, 3]),
    ] {
        let header = SnapshotHeader {
            workspace: ws,
            doc,
            kind,
            author: dev.device_id(),
            vector: vector.encode(),
        };
        headers.push(header.encode());
        snapshots.push(SealedSnapshot::seal(header, &state, &keys.data, dev)?);
    }
    Ok(Sealed {
        changes,
        snapshots,
        headers,
    })
}

fn frame_seeds(changes: &[SealedChange]) -> Vec<Vec<u8>> {
    let (ws, keys) = workspace();
    let alice = DeviceKey::from_seed([1; 32]).device_id();
    let bob = DeviceKey::from_seed([2; 32]).device_id();
    let hello = |role| {
        Frame::Hello(Hello {
            min_version: MIN_PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
            features: FEATURES,
            role,
            workspace: ws,
            nonce: [0x11; 32],
        })
    };
    let mut vv = VersionVector::new();
    vv.set(alice, 2);
    vv.set(bob, 1 << 40);
    let batch = Frame::Changes(changes.iter().map(|c| c.to_bytes()).collect());

    let frames = vec![
        hello(Role::Device),
        hello(Role::Relay),
        Frame::Hello(Hello {
            min_version: 1,
            max_version: 7,
            features: u64::MAX,
            role: Role::Device,
            workspace: WorkspaceId::from_bytes([0xff; 16]),
            nonce: [0; 32],
        }),
        Frame::MemberProof(keys.peer_auth.mac(b"transcript")),
        Frame::RelayProof(keys.relay_auth.sign_proof(b"transcript")),
        Frame::Refuse {
            code: RefuseCode::NotMember,
            message: "the membership proof did not verify".into(),
            retry_after_s: None,
        },
        Frame::Refuse {
            code: RefuseCode::Other(200),
            message: "Ünïcödé → ✓".into(),
            retry_after_s: Some(31),
        },
        Frame::Refuse {
            code: RefuseCode::Protocol,
            message: "x".repeat(MAX_REFUSE_MESSAGE),
            retry_after_s: None,
        },
        Frame::Have(VersionVector::new()),
        Frame::Have(vv.clone()),
        Frame::HaveDelta(vv.clone()),
        Frame::Changes(Vec::new()),
        Frame::Changes(vec![Vec::new(), vec![0xde, 0xad]]),
        batch.clone(),
        Frame::Reject(vec![
            Rejection {
                author: alice,
                seq: 3,
                code: RejectCode::BadSignature,
            },
            Rejection {
                author: bob,
                seq: u64::MAX,
                code: RejectCode::Other(99),
            },
        ]),
    ];
    let mut seeds: Vec<Vec<u8>> = frames.iter().map(Frame::encode).collect();

    // A version-2 hello with a field appended, which version 1 ignores.
    let mut future_hello = hello(Role::Device).encode();
    future_hello.extend_from_slice(&[0, 4, 1, 2, 3, 4]);
    seeds.push(future_hello);

    // A `have` with a seq-0 entry: accepted, and the same as no entry.
    let mut zero_entry = Frame::Have(VersionVector::new()).encode();
    zero_entry.extend_from_slice(alice.public_key());
    zero_entry.extend_from_slice(&0u64.to_be_bytes());
    seeds.push(zero_entry);

    // Streams for the reader: a whole session's opening, then the same cut
    // short in the middle of a frame.
    let session = [
        hello(Role::Device),
        Frame::MemberProof([0x22; 32]),
        Frame::Have(vv),
        batch,
    ];
    let stream: Vec<u8> = session.iter().flat_map(Frame::encode_prefixed).collect();
    seeds.push(stream[..stream.len() - 10].to_vec());
    seeds.push(stream);
    seeds
}
