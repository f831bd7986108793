//! Checking the changes a session receives: each parses, belongs to the
//! workspace, carries a valid signature and (on a device) decrypts. Large
//! batches are spread over the machine's cores.

use weft_core::{DeviceId, DocId, Seq, WorkspaceId};
use weft_crypto::{OpenError, SealedChange};

use crate::types::{Credentials, VerifiedChange};
use crate::wire::RejectCode;

/// Why one received change was refused: its claimed (author, seq, doc) if
/// the header could be read, the code, and the verifier's message.
pub(crate) type Refusal = (Option<(DeviceId, Seq, DocId)>, RejectCode, String);

/// Below this many changes a batch is verified on the calling thread.
const PARALLEL_VERIFY_MIN: usize = 32;

/// Checks every change of a batch, in order. Verification (one Ed25519
/// check each) dominates the cost of receiving, so a large batch is split
/// across the machine's cores; the result is the same as checking one by
/// one, so the session stays deterministic.
pub(crate) fn verify_all(
    list: &[Vec<u8>],
    workspace: &WorkspaceId,
    creds: &Credentials,
) -> Vec<Result<VerifiedChange, Refusal>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get().min(8))
        .unwrap_or(1);
    if threads < 2 || list.len() < PARALLEL_VERIFY_MIN {
        return list.iter().map(|b| verify(b, workspace, creds)).collect();
    }
    let chunk = list.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = list
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|b| verify(b, workspace, creds))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(list.chunks(chunk))
            .flat_map(|(h, part)| {
                // A panic in a verifier thread (not expected: parsing and
                // verification return errors) rejects that part rather than
                // taking the session down.
                h.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|_| Err((None, RejectCode::Malformed, "verifier panicked".into())))
                        .collect()
                })
            })
            .collect()
    })
}

/// Parses and checks one received change.
fn verify(
    bytes: &[u8],
    workspace: &WorkspaceId,
    creds: &Credentials,
) -> Result<VerifiedChange, Refusal> {
    let change = SealedChange::from_bytes(bytes)
        .map_err(|e| (None, RejectCode::Malformed, e.to_string()))?;
    let h = change.header();
    let who = Some((h.author, h.seq, h.doc));
    if h.workspace != *workspace {
        return Err((
            who,
            RejectCode::WrongWorkspace,
            format!("change is of workspace {}", h.workspace),
        ));
    }
    let bad = |e: OpenError| {
        let code = match e {
            OpenError::Decrypt { .. } => RejectCode::BadCiphertext,
            _ => RejectCode::BadSignature,
        };
        (who, code, e.to_string())
    };
    // `open` verifies the signature before decrypting; a relay, with no
    // key, can only verify.
    let plaintext = match creds {
        Credentials::Member(k) => Some(change.open(&k.data).map_err(bad)?),
        Credentials::Relay(_) => {
            change.verify().map_err(bad)?;
            None
        }
    };
    Ok(VerifiedChange { change, plaintext })
}
