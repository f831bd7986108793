//! The relay's one memory budget: the bytes of frames read and not yet
//! handled, stream read buffers, sessions' reorder buffers and frames
//! queued for writing, over every stream. Work takes a [`Permit`] before it
//! holds memory and waits (or is refused) when there is none, so the sum
//! never passes the cap. No I/O: atomics only.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The budget: a cap and what is taken of it.
#[derive(Debug)]
pub struct Budget {
    cap: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl Budget {
    /// A budget of `cap` bytes.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Bytes taken now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The most ever taken at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    fn take(&self, n: usize) -> bool {
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            let Some(next) = cur.checked_add(n).filter(|&v| v <= self.cap) else {
                return false;
            };
            match self
                .used
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::AcqRel);
                    return true;
                }
                Err(now) => cur = now,
            }
        }
    }

    fn give(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }

    /// An empty permit (grown with [`Permit::resize`]).
    pub fn permit(self: &Arc<Self>) -> Permit {
        Permit {
            budget: self.clone(),
            held: 0,
        }
    }

    /// A permit of `n` bytes, if the budget has them.
    pub fn try_permit(self: &Arc<Self>, n: usize) -> Option<Permit> {
        self.take(n).then(|| Permit {
            budget: self.clone(),
            held: n,
        })
    }
}

/// Bytes taken from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Permit {
    budget: Arc<Budget>,
    held: usize,
}

impl Permit {
    /// Bytes held.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Holds exactly `n` bytes: shrinking always works, growing only if the
    /// budget has room (false, and nothing changed, if not).
    pub fn resize(&mut self, n: usize) -> bool {
        if n <= self.held {
            self.budget.give(self.held - n);
            self.held = n;
            return true;
        }
        if self.budget.take(n - self.held) {
            self.held = n;
            true
        } else {
            false
        }
    }

    /// Takes over what `other` holds (same budget).
    pub fn absorb(&mut self, mut other: Permit) {
        self.held += other.held;
        other.held = 0;
    }

    /// Splits `n` bytes (at most what is held) off into a permit of their own.
    pub fn split(&mut self, n: usize) -> Permit {
        let n = n.min(self.held);
        self.held -= n;
        Permit {
            budget: self.budget.clone(),
            held: n,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.budget.give(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_never_passed_and_drops_give_back() {
        let b = Budget::new(100);
        let p = b.try_permit(60).expect("room");
        assert!(b.try_permit(41).is_none(), "over the cap");
        let mut q = b.try_permit(40).expect("exactly full");
        assert_eq!(b.used(), 100);
        assert!(!q.resize(41));
        assert_eq!(q.held(), 40, "a failed grow changes nothing");
        drop(p);
        assert!(q.resize(90));
        assert!(q.resize(10));
        assert_eq!(b.used(), 10);
        assert_eq!(b.peak(), 100);
        drop(q);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn split_and_absorb_move_bytes_without_counting_twice() {
        let b = Budget::new(100);
        let mut p = b.try_permit(70).expect("room");
        let frame = p.split(30);
        assert_eq!((p.held(), frame.held(), b.used()), (40, 30, 70));
        let mut conn = b.permit();
        conn.absorb(frame);
        assert_eq!((conn.held(), b.used()), (30, 70));
        drop(conn);
        drop(p);
        assert_eq!(b.used(), 0);
    }
}
