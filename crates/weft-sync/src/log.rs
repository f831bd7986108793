//! The local change log as a session reads it, and the one rule by which every
//! log (a device's store, a relay's SQLite and PostgreSQL stores) limits a read
//! by bytes.

use weft_core::{DeviceId, Seq, VersionVector};
use weft_crypto::SealedChange;

/// Why the local log could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading the local change log: {source}")]
pub struct LogError {
    /// The store's error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The local change log, as the session needs to see it.
///
/// Invariant the implementation keeps: for every author it holds exactly
/// the changes 1..=vector[author] (the store refuses a gap), so the vector
/// is both "what I hold" and "where my copy of each author ends".
pub trait Log {
    /// What this side holds durably.
    fn vector(&self) -> Result<VersionVector, LogError>;
    /// Changes of `author` with seq greater than `after`, in seq order: at
    /// most `max_count`, within `max_bytes` of serialized change by the rule
    /// of [`ByteBudget`] (at least one, if any exists).
    fn changes_after(
        &self,
        author: &DeviceId,
        after: Seq,
        max_count: usize,
        max_bytes: usize,
    ) -> Result<Vec<SealedChange>, LogError>;
}

/// The byte limit of one [`Log::changes_after`] read: changes are taken in seq
/// order while fewer than `max` bytes (of serialized change) have been taken, so the
/// change that reaches the limit is included, and at least one is always taken (a
/// change larger than the limit must still be deliverable).
#[derive(Debug, Clone, Copy)]
pub struct ByteBudget {
    max: usize,
    used: usize,
    taken: usize,
}

impl ByteBudget {
    /// A budget of `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            used: 0,
            taken: 0,
        }
    }

    /// Whether to read the next change (checked before reading it, so a change
    /// that would not be returned is never read).
    pub fn wants_more(&self) -> bool {
        self.used < self.max || self.taken == 0
    }

    /// Counts a change of `len` serialized bytes as taken.
    pub fn take(&mut self, len: usize) {
        self.used = self.used.saturating_add(len);
        self.taken += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes changes of these sizes while the budget wants more.
    fn taken(max: usize, sizes: &[usize]) -> usize {
        let mut b = ByteBudget::new(max);
        let mut n = 0;
        for &len in sizes {
            if !b.wants_more() {
                break;
            }
            b.take(len);
            n += 1;
        }
        n
    }

    #[test]
    fn the_change_that_reaches_the_limit_is_the_last() {
        assert_eq!(taken(100, &[40, 40, 40, 40]), 3);
        assert_eq!(taken(80, &[40, 40, 40]), 2);
        // At least one, however large.
        assert_eq!(taken(10, &[1000, 1]), 1);
        assert_eq!(taken(0, &[5, 5]), 1);
        assert_eq!(taken(100, &[]), 0);
    }
}
