//! Reconnect delays: exponential with full jitter (AWS's "Exponential
//! Backoff and Jitter"), so devices that lost the same network at once do
//! not all redial at the same instant. Pure: the random draw is an argument.

use std::time::Duration;

/// The first retry waits up to this long.
pub const BASE: Duration = Duration::from_millis(500);
/// No retry waits longer than this.
pub const CAP: Duration = Duration::from_secs(60);

/// The delay before retry number `attempt` (0 for the first retry), for a
/// uniform draw `unit` in [0, 1): a value in [ceiling/2, ceiling) where the
/// ceiling doubles per attempt from [`BASE`] up to [`CAP`]. Half of the
/// ceiling is kept fixed ("equal jitter") so a retry is never immediate.
pub fn delay(attempt: u32, unit: f64) -> Duration {
    let ceiling = BASE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(CAP);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let half = ceiling / 2;
    half + half.mul_f64(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        assert_eq!(delay(0, 0.0), Duration::from_millis(250));
        assert_eq!(delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(delay(30, 0.0), CAP / 2);
        assert!(delay(30, 0.999_999) < CAP);
        assert!(delay(u32::MAX, 0.5) <= CAP);
    }

    #[test]
    fn jitter_stays_in_its_band() {
        for attempt in 0..20 {
            let lo = delay(attempt, 0.0);
            for i in 0..100 {
                let d = delay(attempt, f64::from(i) / 100.0);
                assert!(d >= lo && d <= lo * 2, "attempt {attempt}: {d:?}");
            }
        }
        // A bad draw is clamped, not propagated.
        assert_eq!(delay(2, f64::NAN), delay(2, 0.0));
        assert_eq!(delay(2, 7.0), delay(2, 1.0));
    }
}
