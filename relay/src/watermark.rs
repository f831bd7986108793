//! Which stored rows a relay node has already woken its subscribers for,
//! when several nodes write one PostgreSQL database. Pure: no I/O.
//!
//! Row ids come from a sequence, so they increase in insertion order, but
//! transactions commit in any order: after a wake-up a node may see row 12
//! while row 11 is still uncommitted. Advancing the watermark to 12 would
//! skip 11 for good. So the watermark moves only over ids it has seen
//! without a hole; a hole waits until it is filled, or for `hold_ms` (a
//! rolled-back transaction, e.g. a batch refused for quota, burns its ids
//! and never fills them). Reading past the watermark returns rows already
//! seen above a hole again; they are filtered here, so each row wakes its
//! workspace once.

use std::collections::BTreeSet;

/// The watermark and the rows seen above it.
#[derive(Debug, Clone)]
pub struct Watermark {
    /// Every id up to here was seen (or given up on).
    low: i64,
    /// Ids above `low` already seen.
    seen: BTreeSet<i64>,
    /// Since when the lowest hole has been waited for.
    hole_since_ms: Option<u64>,
    hold_ms: u64,
}

impl Watermark {
    /// Starts after `head` (rows up to it are old news).
    pub fn new(head: i64, hold_ms: u64) -> Self {
        Self {
            low: head,
            seen: BTreeSet::new(),
            hole_since_ms: None,
            hold_ms,
        }
    }

    /// Where the next read starts (exclusive).
    pub fn low(&self) -> i64 {
        self.low
    }

    /// Takes the ids a read returned (any order, possibly already seen);
    /// returns the ones that are new, in the order given.
    pub fn observe(&mut self, ids: &[i64], now_ms: u64) -> Vec<i64> {
        let mut fresh = Vec::new();
        for &id in ids {
            if id > self.low && self.seen.insert(id) {
                fresh.push(id);
            }
        }
        self.advance(now_ms);
        fresh
    }

    fn advance(&mut self, now_ms: u64) {
        loop {
            while self.seen.first() == Some(&(self.low + 1)) {
                self.seen.pop_first();
                self.low += 1;
                self.hole_since_ms = None;
            }
            if self.seen.is_empty() {
                self.hole_since_ms = None;
                return;
            }
            // A hole below the lowest seen id.
            match self.hole_since_ms {
                None => {
                    self.hole_since_ms = Some(now_ms);
                    return;
                }
                Some(t) if now_ms.saturating_sub(t) >= self.hold_ms => {
                    // Given up: the transaction that took it rolled back.
                    self.low += 1;
                    self.hole_since_ms = Some(now_ms);
                }
                Some(_) => return,
            }
        }
    }

    /// True while a hole is held open: read again soon even without a
    /// notification, to pick up the late commit.
    pub fn waiting(&self) -> bool {
        !self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_over_contiguous_ids() {
        let mut w = Watermark::new(10, 2_000);
        assert_eq!(w.observe(&[11, 12, 13], 0), vec![11, 12, 13]);
        assert_eq!(w.low(), 13);
        assert!(!w.waiting());
    }

    #[test]
    fn a_late_commit_below_a_seen_row_is_not_skipped() {
        let mut w = Watermark::new(10, 2_000);
        // 11 is not committed yet; 12 is.
        assert_eq!(w.observe(&[12], 0), vec![12]);
        assert_eq!(w.low(), 10, "the hole holds the watermark");
        assert!(w.waiting());
        // The next read (from the watermark) returns 12 again and now 11.
        assert_eq!(w.observe(&[11, 12], 500), vec![11]);
        assert_eq!(w.low(), 12);
        assert!(!w.waiting());
    }

    #[test]
    fn a_rolled_back_id_is_given_up_after_the_hold() {
        let mut w = Watermark::new(0, 2_000);
        assert_eq!(w.observe(&[2, 3], 0), vec![2, 3]);
        assert_eq!(w.low(), 0);
        assert_eq!(w.observe(&[2, 3], 1_999), Vec::<i64>::new());
        assert_eq!(w.low(), 0);
        assert_eq!(w.observe(&[2, 3, 4], 2_000), vec![4]);
        assert_eq!(w.low(), 4);
    }

    #[test]
    fn old_rows_are_not_news() {
        let mut w = Watermark::new(100, 2_000);
        assert!(w.observe(&[50, 100], 0).is_empty());
        assert_eq!(w.low(), 100);
    }
}
