//! The capture decoder (pcap and pcapng, every layer) on arbitrary bytes.
#![no_main]

use ferry_core::{TraceOptions, decode_capture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Default options: a packet header may claim gigabytes on the wire, and
    // a stream costs only the bytes captured.
    let _ = decode_capture(data, &TraceOptions::default());
});
