//! Bytes typed by hand in the teaching page (`decode_exchange`): what the
//! client sent and what the server answered, split where the first two
//! bytes say, decoded as one conversation.
#![no_main]

use ferry_core::{Limits, decode_exchange};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_be_bytes(*head)).min(rest.len());
    let (to_server, to_client) = rest.split_at(split);
    let connection = decode_exchange(to_server, to_client, &Limits::default());
    // Every message lies within the bytes given.
    for m in &connection.messages {
        let len = match m.direction {
            ferry_core::Direction::ToServer => to_server.len(),
            ferry_core::Direction::ToClient => to_client.len(),
        } as u64;
        assert!(m.offset <= len, "{m:?}");
    }
});
