//! Sealed changes, sealed snapshots and their headers on hostile bytes
//! (src/lib.rs says what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weft_sync_fuzz::check_sealed(data);
});
