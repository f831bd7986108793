//! The `catch_unwind` boundary around CRDT-library calls on foreign bytes.
//!
//! Loro and Automerge are well tested, but both have panicked on malformed
//! input in the past; bytes read from disk or the network are untrusted, so a
//! panic there must become an error for that one document, not a crash of the
//! whole app.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// A CRDT library panicked while reading bytes it was given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the {engine} library panicked while {what}: {message}")]
pub struct Panicked {
    /// "Loro" or "Automerge".
    pub engine: &'static str,
    /// What was being done ("importing an update", ...).
    pub what: &'static str,
    /// The panic message, if it was a string.
    pub message: String,
}

/// Runs `f`, turning a panic into [`Panicked`].
///
/// `AssertUnwindSafe` is sound here because callers drop the document that
/// was being mutated when an import panics: they never observe its
/// half-updated state.
pub fn guarded<T>(
    engine: &'static str,
    what: &'static str,
    f: impl FnOnce() -> T,
) -> Result<T, Panicked> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        let message = if let Some(s) = e.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = e.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        Panicked {
            engine,
            what,
            message,
        }
    })
}
