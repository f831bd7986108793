//! What the relay holds per device and per source address across all
//! their streams and connections: byte and frame buckets, control and
//! registration rates, open streams and connections. One lock, taken
//! briefly by stream tasks, the swarm loop and shards. Pure: time is an
//! argument.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use weft_core::DeviceId;

use crate::config::Config;
use crate::limits::{Buckets, Counts};
use crate::ratelimit::Bucket;

/// The relay's per-device and per-source state.
#[derive(Debug)]
pub struct Guard {
    device_bytes: Buckets<DeviceId>,
    source_bytes: Buckets<IpAddr>,
    device_frames: Buckets<DeviceId>,
    source_frames: Buckets<IpAddr>,
    control: Buckets<IpAddr>,
    register_source: Buckets<IpAddr>,
    register_all: Bucket,
    /// 0 in the config turns a rate off.
    limit_control: bool,
    limit_register_source: bool,
    limit_register_all: bool,
    /// Sync streams open per source.
    pub streams: Counts<IpAddr>,
    /// Connections open per source.
    pub connections: Counts<IpAddr>,
    /// Where each connected peer connects from (its last connection's).
    sources: HashMap<DeviceId, IpAddr>,
}

/// A rate of `per` per `secs` seconds as a bucket refilling per second
/// (at least 1 per hour: buckets count in whole tokens per second, so the
/// rate is scaled by 3,600 and each request takes 3,600).
fn hourly(per_hour: u64) -> (u64, u64) {
    (per_hour, per_hour.max(1) * 3600)
}

/// Tokens one request takes from an [`hourly`] bucket.
const PER_HOUR: u64 = 3600;

impl Guard {
    /// Limits from the config.
    pub fn new(cfg: &Config) -> Self {
        let (src_rate, src_burst) = hourly(cfg.registrations_per_hour_per_source);
        let (all_rate, all_burst) = hourly(cfg.registrations_per_hour);
        let per_min = cfg.control_per_minute.max(1);
        Self {
            device_bytes: Buckets::new(cfg.rate_bytes, cfg.burst_bytes),
            source_bytes: Buckets::new(cfg.source_rate_bytes, cfg.source_burst_bytes),
            device_frames: Buckets::new(cfg.frame_rate, cfg.frame_rate.saturating_mul(10)),
            source_frames: Buckets::new(
                cfg.source_frame_rate,
                cfg.source_frame_rate.saturating_mul(10),
            ),
            // 60 tokens a request, refilling per_min a second: per_min a minute.
            control: Buckets::new(per_min, per_min * 60),
            register_source: Buckets::new(src_rate, src_burst),
            register_all: Bucket::new(all_rate, all_burst, 0),
            limit_control: cfg.control_per_minute > 0,
            limit_register_source: cfg.registrations_per_hour_per_source > 0,
            limit_register_all: cfg.registrations_per_hour > 0,
            streams: Counts::new(cfg.max_streams_per_source),
            connections: Counts::new(cfg.max_connections_per_source),
            sources: HashMap::new(),
        }
    }

    /// Records where a peer connects from.
    pub fn connected(&mut self, peer: DeviceId, ip: IpAddr) {
        self.sources.insert(peer, ip);
    }

    /// The peer has no connection left.
    pub fn disconnected(&mut self, peer: &DeviceId) {
        self.sources.remove(peer);
    }

    /// Where a peer connects from (unspecified if unknown).
    pub fn source_of(&self, peer: &DeviceId) -> IpAddr {
        self.sources
            .get(peer)
            .copied()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// `bytes` and `frames` from a device at a source: how long (ms) to
    /// stop reading so both stay within their rates (0: no wait).
    pub fn take(
        &mut self,
        peer: &DeviceId,
        source: &IpAddr,
        bytes: u64,
        frames: u64,
        now_ms: u64,
    ) -> u64 {
        let mut wait = self.device_bytes.take(peer, bytes, now_ms);
        wait = wait.max(self.source_bytes.take(source, bytes, now_ms));
        if frames > 0 {
            wait = wait.max(self.device_frames.take(peer, frames, now_ms));
            wait = wait.max(self.source_frames.take(source, frames, now_ms));
        }
        wait
    }

    /// One control request from `source`: allowed?
    pub fn control(&mut self, source: &IpAddr, now_ms: u64) -> bool {
        !self.limit_control || self.control.try_take(source, 60, now_ms)
    }

    /// One new registration from `source`: allowed by both the source's
    /// and the relay's hourly rate?
    pub fn register(&mut self, source: &IpAddr, now_ms: u64) -> bool {
        if self.limit_register_all && !self.register_all.try_take(PER_HOUR, now_ms) {
            return false;
        }
        if self.limit_register_source && !self.register_source.try_take(source, PER_HOUR, now_ms) {
            // Not this source's turn: give the relay's token back.
            if self.limit_register_all {
                self.register_all.give(PER_HOUR);
            }
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let mut c = Config::with_data_dir(std::path::PathBuf::from("/nonexistent"));
        c.registrations_per_hour_per_source = 3;
        c.registrations_per_hour = 5;
        c.control_per_minute = 2;
        c.rate_bytes = 1000;
        c.burst_bytes = 1000;
        c.source_rate_bytes = 1500;
        c.source_burst_bytes = 1500;
        c
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    #[test]
    fn registrations_are_limited_per_source_and_in_all() {
        let mut g = Guard::new(&cfg());
        assert!((0..3).all(|_| g.register(&ip(1), 0)));
        assert!(!g.register(&ip(1), 0), "the source's fourth in the hour");
        assert!(g.register(&ip(2), 0));
        assert!(g.register(&ip(3), 0));
        assert!(!g.register(&ip(4), 0), "the relay's sixth in the hour");
        // An hour later the source may register again.
        assert!(g.register(&ip(1), 3_600_000));
    }

    #[test]
    fn control_requests_per_minute() {
        let mut g = Guard::new(&cfg());
        assert!(g.control(&ip(1), 0));
        assert!(g.control(&ip(1), 0));
        assert!(!g.control(&ip(1), 0));
        assert!(g.control(&ip(1), 30_000), "half a minute refills one");
    }

    #[test]
    fn a_source_is_limited_over_all_its_devices() {
        let mut g = Guard::new(&cfg());
        let (a, b) = (
            DeviceId::from_public_key([1; 32]),
            DeviceId::from_public_key([2; 32]),
        );
        // Each device within its own burst, the source over its own.
        assert_eq!(g.take(&a, &ip(1), 1000, 1, 0), 0);
        assert!(g.take(&b, &ip(1), 1000, 1, 0) > 0);
        // A new stream of the same device shares its bucket.
        assert!(g.take(&a, &ip(9), 1000, 1, 0) > 0);
    }
}
