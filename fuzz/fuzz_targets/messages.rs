//! Every decoder on arbitrary bytes: client messages, every kind of reply,
//! the upload size, the LIST JSON. Errors are fine; panics are bugs.
#![no_main]

use ferry_core::{ClientMessage, Expect, Limits, Reply, decode_upload_size, parse_listing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    for trailing in [false, true] {
        let _ = ClientMessage::decode(data, &limits, trailing);
        let _ = decode_upload_size(data, trailing);
        for expect in [
            Expect::Status,
            Expect::Download,
            Expect::Listing,
            Expect::Resume,
            Expect::MGetStart,
            Expect::MGetEntry,
        ] {
            let _ = Reply::decode(data, expect, &limits, trailing);
        }
    }
    let _ = parse_listing(data);
});
