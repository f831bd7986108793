//! Scenario tests of the `weft` binary: a real workspace in a temp home, the
//! real SQLite file, and the real OS keyring when `WEFT_TEST_KEYRING=1`
//! (`make test` runs them under a Secret Service); otherwise, and in the
//! tests about it, a passphrase key file.

// Test and benchmark code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod disk_full;
mod doctor;
mod durability;
mod errors;
mod exit_codes;
mod harness;
mod hostile;
mod invite;
mod net;
mod peers;
mod permissions;
mod relay;
mod scenarios;
