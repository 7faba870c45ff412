//! The capture decoder (pcap and pcapng, every layer) on arbitrary bytes.
#![no_main]

use ferry_core::{TraceOptions, decode_capture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Streams cut at 1 MiB: a packet header may claim gigabytes on the wire,
    // and zero-filling the default 256 MiB would be all the fuzzer did.
    let mut options = TraceOptions::default();
    options.max_stream_len = 1 << 20;
    let _ = decode_capture(data, &options);
});
