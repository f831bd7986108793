//! Checking the changes a session receives: each parses, belongs to the
//! workspace, carries a valid signature and (on a device) decrypts.
//! Each signature is checked on its own (never as an Ed25519 batch, whose
//! verdict on a crafted signature can differ; see
//! `SealedChange::verify_many`), and a large frame is spread over the
//! machine's cores.

use weft_core::{DeviceId, DocId, Seq, WorkspaceId};
use weft_crypto::{OpenError, SealedChange, Zeroizing};

use crate::types::{Credentials, VerifiedChange};
use crate::wire::RejectCode;

/// Why one received change was refused: its claimed (author, seq, doc) if
/// the header could be read, the code, and the verifier's message.
pub(crate) type Refusal = (Option<(DeviceId, Seq, DocId)>, RejectCode, String);

/// Below this many changes a batch is verified on the calling thread.
const PARALLEL_VERIFY_MIN: usize = 32;

/// Checks every change of a frame, in order, each as
/// [`SealedChange::verify`] would. Verification (one Ed25519 check each)
/// dominates the cost of receiving, so a large frame is split across the
/// machine's cores: scoped threads, joined before this returns, so the
/// session stays deterministic and does no I/O.
pub(crate) fn verify_all(
    list: &[Vec<u8>],
    workspace: &WorkspaceId,
    creds: &Credentials,
) -> Vec<Result<VerifiedChange, Refusal>> {
    // A panic in a verifier thread (not expected: parsing and verification
    // return errors) rejects that part rather than taking the session down.
    weft_core::parallel::map_parts(
        list,
        PARALLEL_VERIFY_MIN,
        |part| verify_part(part, workspace, creds),
        |_| Err((None, RejectCode::Malformed, "verifier panicked".into())),
    )
}

/// Checks received changes (each a change's bytes, as in a `changes`
/// frame) as a session does: the verified ones, or why each was refused.
/// For measuring and testing the receiving path outside a session.
pub fn verify_received(
    list: &[Vec<u8>],
    workspace: &WorkspaceId,
    creds: &Credentials,
) -> Vec<Result<VerifiedChange, RejectCode>> {
    verify_all(list, workspace, creds)
        .into_iter()
        .map(|r| r.map_err(|(_, code, _)| code))
        .collect()
}

/// Parses and checks a run of received changes: those that parse and are
/// of this workspace have their signatures checked, each alone.
fn verify_part(
    list: &[Vec<u8>],
    workspace: &WorkspaceId,
    creds: &Credentials,
) -> Vec<Result<VerifiedChange, Refusal>> {
    // Per received change, its refusal if it does not parse; the ones that
    // parse, in order, in `changes`.
    let mut refusals: Vec<Option<Refusal>> = Vec::with_capacity(list.len());
    let mut changes = Vec::with_capacity(list.len());
    for bytes in list {
        match parse(bytes, workspace) {
            Ok(c) => {
                changes.push(c);
                refusals.push(None);
            }
            Err(r) => refusals.push(Some(r)),
        }
    }
    // `open_many` verifies every signature before decrypting; a relay, with
    // no key, can only verify.
    let checked: Vec<Result<Option<Zeroizing<Vec<u8>>>, OpenError>> = match creds {
        Credentials::Member(k) => SealedChange::open_many(&changes, &k.data)
            .into_iter()
            .map(|r| r.map(Some))
            .collect(),
        Credentials::Relay(_) => SealedChange::verify_many(&changes)
            .into_iter()
            .map(|r| r.map(|()| None))
            .collect(),
    };
    let mut checked = changes.into_iter().zip(checked);
    refusals
        .into_iter()
        .map(|refused| match refused {
            Some(r) => Err(r),
            None => match checked.next() {
                Some((change, result)) => finish(change, result),
                // Not reached: every change that parsed has a result.
                None => Err((None, RejectCode::Malformed, "change not checked".into())),
            },
        })
        .collect()
}

/// Parses one received change and checks it is of this workspace.
fn parse(bytes: &[u8], workspace: &WorkspaceId) -> Result<SealedChange, Refusal> {
    let change = SealedChange::from_bytes(bytes)
        .map_err(|e| (None, RejectCode::Malformed, e.to_string()))?;
    let h = change.header();
    if h.workspace != *workspace {
        return Err((
            Some((h.author, h.seq, h.doc)),
            RejectCode::WrongWorkspace,
            format!("change is of workspace {}", h.workspace),
        ));
    }
    Ok(change)
}

/// A parsed change with the outcome of its signature check (and
/// decryption, on a device).
fn finish(
    change: SealedChange,
    result: Result<Option<Zeroizing<Vec<u8>>>, OpenError>,
) -> Result<VerifiedChange, Refusal> {
    match result {
        Ok(plaintext) => Ok(VerifiedChange { change, plaintext }),
        Err(e) => {
            let h = change.header();
            let code = match e {
                OpenError::Decrypt { .. } => RejectCode::BadCiphertext,
                _ => RejectCode::BadSignature,
            };
            Err((Some((h.author, h.seq, h.doc)), code, e.to_string()))
        }
    }
}
