//! Counters for `/metrics` (Prometheus text format), shared by every task
//! and shard through atomics.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::store::Totals;

/// Why the relay turned something away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A failed relay-auth proof (sync or control).
    Proof,
    /// A workspace the relay does not know.
    UnknownWorkspace,
    /// A frame over the size bounds, or bytes that are not the protocol.
    Malformed,
    /// A batch over the workspace's quota.
    Quota,
    /// A peer over its rate limit for too long.
    RateLimited,
    /// A change that failed verification (signature, workspace).
    InvalidChange,
    /// A registration refused (relay full).
    Registration,
    /// A registration of a forgotten (workspace, key) pair.
    Forgotten,
    /// An authenticated stream silent past the idle timeout.
    Idle,
    /// A frame that started and did not finish within the frame timeout.
    SlowFrame,
    /// Work refused because the memory budget had no room.
    Memory,
    /// A stream over the per-source stream cap.
    SourceStreams,
    /// A connection over the per-source connection cap.
    SourceConnections,
    /// A control request over the per-source control rate.
    ControlRate,
    /// A new registration over the per-source or overall registration rate.
    RegistrationRate,
}

impl Rejection {
    const ALL: [Rejection; 15] = [
        Rejection::Proof,
        Rejection::UnknownWorkspace,
        Rejection::Malformed,
        Rejection::Quota,
        Rejection::RateLimited,
        Rejection::InvalidChange,
        Rejection::Registration,
        Rejection::Forgotten,
        Rejection::Idle,
        Rejection::SlowFrame,
        Rejection::Memory,
        Rejection::SourceStreams,
        Rejection::SourceConnections,
        Rejection::ControlRate,
        Rejection::RegistrationRate,
    ];
    fn label(self) -> &'static str {
        match self {
            Rejection::Proof => "proof",
            Rejection::UnknownWorkspace => "unknown_workspace",
            Rejection::Malformed => "malformed",
            Rejection::Quota => "quota",
            Rejection::RateLimited => "rate_limited",
            Rejection::InvalidChange => "invalid_change",
            Rejection::Registration => "registration",
            Rejection::Forgotten => "forgotten",
            Rejection::Idle => "idle",
            Rejection::SlowFrame => "slow_frame",
            Rejection::Memory => "memory",
            Rejection::SourceStreams => "source_streams",
            Rejection::SourceConnections => "source_connections",
            Rejection::ControlRate => "control_rate",
            Rejection::RegistrationRate => "registration_rate",
        }
    }
    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Whether the relay can grant circuit relay slots, for `/health` and
/// the start-up warning: libp2p's relay server grants a reservation only
/// once the swarm has an external address. `None`: it can.
pub fn circuit_warning(external: i64, public: i64, given: bool) -> Option<&'static str> {
    if external <= 0 {
        Some(
            "no external address: this relay listens only on loopback and no --external was given, so it grants no circuit slots (devices cannot reach each other through it; sync still works). Listen on a reachable address, or pass --external with the public address of a port forward.",
        )
    } else if public <= 0 && !given {
        Some(
            "only private external addresses: behind a port forward or NAT, devices outside this network get no working circuit slot unless --external names the public address.",
        )
    } else {
        None
    }
}

/// The relay's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Peers with at least one connection.
    pub connected_peers: AtomicI64,
    /// Sync sessions open (proved or not).
    pub sessions: AtomicI64,
    /// Changes stored from devices.
    pub changes_in: AtomicU64,
    /// Changes sent to devices.
    pub changes_out: AtomicU64,
    /// Bytes of sealed changes stored.
    pub bytes_in: AtomicU64,
    /// Bytes of sealed changes sent.
    pub bytes_out: AtomicU64,
    /// Times a peer's stream was paused by its rate limit.
    pub throttled: AtomicU64,
    /// Wake-ups from other relay nodes' commits (PostgreSQL).
    pub remote_wakeups: AtomicU64,
    /// Times a session waited to produce frames for lack of memory.
    pub memory_waits: AtomicU64,
    /// External addresses the swarm holds (circuit slots need one).
    pub external_addrs: AtomicI64,
    /// Of those, ones on a globally routable IP (or a DNS name).
    pub public_external_addrs: AtomicI64,
    rejections: [AtomicU64; 15],
}

impl Metrics {
    /// Counts one rejection.
    pub fn reject(&self, why: Rejection) {
        self.rejections[why.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Rejections of one kind so far.
    pub fn rejections(&self, why: Rejection) -> u64 {
        self.rejections[why.index()].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition, with the store's totals and the
    /// memory budget (used, peak, cap).
    pub fn render(
        &self,
        totals: Option<Totals>,
        draining: bool,
        memory: (usize, usize, usize),
    ) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let g = |a: &AtomicI64| a.load(Ordering::Relaxed).max(0).to_string();
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        metric(
            "weft_relay_connected_peers",
            "gauge",
            "Peers with a live libp2p connection.",
            g(&self.connected_peers),
        );
        metric(
            "weft_relay_sessions",
            "gauge",
            "Open sync sessions.",
            g(&self.sessions),
        );
        metric(
            "weft_relay_changes_in_total",
            "counter",
            "Sealed changes stored from devices.",
            c(&self.changes_in),
        );
        metric(
            "weft_relay_changes_out_total",
            "counter",
            "Sealed changes sent to devices.",
            c(&self.changes_out),
        );
        metric(
            "weft_relay_bytes_in_total",
            "counter",
            "Bytes of sealed changes stored.",
            c(&self.bytes_in),
        );
        metric(
            "weft_relay_bytes_out_total",
            "counter",
            "Bytes of sealed changes sent.",
            c(&self.bytes_out),
        );
        metric(
            "weft_relay_throttled_total",
            "counter",
            "Times a peer's stream was paused by its rate limit.",
            c(&self.throttled),
        );
        metric(
            "weft_relay_remote_wakeups_total",
            "counter",
            "Wake-ups caused by other relay nodes' commits.",
            c(&self.remote_wakeups),
        );
        metric(
            "weft_relay_external_addresses",
            "gauge",
            "External addresses announced; 0 means no circuit slot is ever granted.",
            g(&self.external_addrs),
        );
        metric(
            "weft_relay_memory_waits_total",
            "counter",
            "Times a session waited to send for lack of room in the memory budget.",
            c(&self.memory_waits),
        );
        metric(
            "weft_relay_memory_used_bytes",
            "gauge",
            "Bytes of the memory budget taken (buffered frames, reorder buffers, queued writes).",
            memory.0.to_string(),
        );
        metric(
            "weft_relay_memory_peak_bytes",
            "gauge",
            "The most of the memory budget ever taken at once.",
            memory.1.to_string(),
        );
        metric(
            "weft_relay_memory_budget_bytes",
            "gauge",
            "The memory budget.",
            memory.2.to_string(),
        );
        metric(
            "weft_relay_draining",
            "gauge",
            "1 while the relay shuts down.",
            u8::from(draining).to_string(),
        );
        if let Some(t) = totals {
            metric(
                "weft_relay_workspaces",
                "gauge",
                "Registered workspaces.",
                t.workspaces.to_string(),
            );
            metric(
                "weft_relay_stored_changes",
                "gauge",
                "Sealed changes stored, over every workspace.",
                t.changes.to_string(),
            );
            metric(
                "weft_relay_stored_bytes",
                "gauge",
                "Bytes of sealed changes stored, over every workspace.",
                t.bytes.to_string(),
            );
        }
        let _ = writeln!(
            out,
            "# HELP weft_relay_rejections_total Things the relay turned away, by reason.\n# TYPE weft_relay_rejections_total counter"
        );
        for r in Rejection::ALL {
            let _ = writeln!(
                out,
                "weft_relay_rejections_total{{reason=\"{}\"}} {}",
                r.label(),
                self.rejections(r)
            );
        }
        out
    }
}
