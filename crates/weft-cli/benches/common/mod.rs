//! What the `weft` benches share.

use std::time::Duration;

/// A small xorshift: the benches need no cryptographic randomness, and a
/// fixed or printed seed makes a run repeatable.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    #[allow(dead_code)] // the soak's; the scale bench has no use for it
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo))
    }
}
