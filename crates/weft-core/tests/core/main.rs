//! Integration tests of weft-core (one test binary for the crate).

// clippy.toml allows unwrap in #[test] functions only; the helpers these
// tests share are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod note;
