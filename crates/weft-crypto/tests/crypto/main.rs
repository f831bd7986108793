//! Integration tests of weft-crypto's public API: sealing (property tests),
//! invite codes, the passphrase key file, and the real OS keyring (gated on
//! `WEFT_TEST_KEYRING=1`, which `make test` sets inside a D-Bus session with
//! an unlocked gnome-keyring).

// Test helpers outside #[test] fns unwrap too; a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod invite;
mod keyring_real;
mod passphrase;
mod sealing;
