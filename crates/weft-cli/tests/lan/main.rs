//! Real-network tests of `weft daemon`, `weft invite`/`join` and `weft sync`:
//! devices in Linux network namespaces on a private bridge, discovering each
//! other by mDNS, over real TCP/QUIC sockets.
//!
//! They need root and iproute2 (CI has both) and fail without them unless
//! `WEFT_SKIP_NETNS=1`. nextest runs them one at a time (the `serial` group in
//! .config/nextest.toml): they build namespaces and start daemons, and on two
//! cores parallel runs would time each other out.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod converge;
mod host;
mod netns;
mod relay;
mod scenarios;
mod selftest;
