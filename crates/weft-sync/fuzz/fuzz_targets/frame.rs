//! Frame bodies and the stream splitter on hostile bytes (src/lib.rs says
//! what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    weft_sync_fuzz::check_frame(data);
});
