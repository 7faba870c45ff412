//! A TLS conversation's two streams (split where the first two bytes say):
//! the record layer, the hellos, and with the committed TLS tour's key log
//! (the seeds are its conversations) the records opened and decoded.
#![no_main]

use ferry_core::testing::decode_tls;
use ferry_core::{Direction, KeyLog, Layer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_be_bytes(*head)).min(rest.len());
    let (to_server, to_client) = rest.split_at(split);
    // The TLS tour's own key log: seeds from its streams open, so their
    // mutations reach the key schedule, the openers, the handshake scan
    // and the ferry decoder inside; other inputs reach the sealed paths.
    let keylog = KeyLog::parse(include_bytes!("../../docs/captures/tls-tour.keys"))
        .expect("the committed key log");
    let connection = decode_tls(to_server, to_client, &keylog);
    // Records lie within the bytes given, end to end from 0.
    for dir in [Direction::ToServer, Direction::ToClient] {
        let len = match dir {
            Direction::ToServer => to_server.len(),
            Direction::ToClient => to_client.len(),
        } as u64;
        let mut at = 0;
        for m in connection.messages.iter().filter(|m| m.direction == dir && m.layer == Layer::Tls) {
            assert_eq!(m.offset, at, "{m:?}");
            at += m.len;
        }
        assert!(at <= len.max(5) + 16_640, "{at} of {len}");
    }
});
