//! Per-peer rate limits: a token bucket over bytes a peer sends. Pure:
//! time is an argument.
//!
//! A bucket holds up to `burst` tokens and refills at `rate` per second.
//! A peer within its rate never notices. One that sends faster is first
//! slowed (the relay stops reading its stream until the bucket refills:
//! TCP back-pressure, nothing lost), and one that stays over for a whole
//! `patience` is refused with "rate limited", so a flood holds a shard's
//! attention for at most that long.

/// A token bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last_ms: u64,
}

impl Bucket {
    /// Full, refilling at `rate` per second up to `burst`.
    pub fn new(rate: u64, burst: u64, now_ms: u64) -> Self {
        Self {
            rate: rate as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let dt = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.last_ms = now_ms.max(self.last_ms);
    }

    /// True when the bucket holds its whole burst (after the last refill).
    pub fn is_full(&self) -> bool {
        self.tokens >= self.burst
    }

    /// Gives back `n` tokens taken (up to the burst).
    pub fn give(&mut self, n: u64) {
        self.tokens = (self.tokens + n as f64).min(self.burst);
    }

    /// Takes `n` tokens only if the bucket holds them (a refused request
    /// costs nothing); true if taken.
    pub fn try_take(&mut self, n: u64, now_ms: u64) -> bool {
        self.refill(now_ms);
        if self.tokens >= n as f64 {
            self.tokens -= n as f64;
            true
        } else {
            false
        }
    }

    /// Takes `n` tokens; returns how long to wait (ms) before the bucket is
    /// back to zero debt (0: within the limit). The bucket may go into debt,
    /// which is what makes the next wait long enough.
    pub fn take(&mut self, n: u64, now_ms: u64) -> u64 {
        self.refill(now_ms);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 || self.rate <= 0.0 {
            return 0;
        }
        ((-self.tokens) / self.rate * 1000.0).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_burst_no_wait() {
        let mut b = Bucket::new(1000, 5000, 0);
        assert_eq!(b.take(5000, 0), 0);
    }

    #[test]
    fn over_the_rate_the_wait_is_the_debt_over_the_rate() {
        let mut b = Bucket::new(1000, 1000, 0);
        assert_eq!(b.take(1000, 0), 0);
        assert_eq!(b.take(500, 0), 500);
        // Half a second later the debt is paid.
        assert_eq!(b.take(0, 500), 0);
    }

    #[test]
    fn refill_is_capped_at_the_burst() {
        let mut b = Bucket::new(1000, 1000, 0);
        assert_eq!(b.take(1000, 0), 0);
        assert_eq!(b.take(1000, 60_000), 0);
        assert_eq!(b.take(1, 60_000), 1);
    }
}
