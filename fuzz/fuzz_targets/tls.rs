//! A TLS conversation's two streams (split where the first two bytes say):
//! the record layer, the hellos and the key schedule, with a key log naming
//! the conversation's own client random so the openers are built and tried.
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
    // The random sits at bytes 11..43 of a ClientHello record.
    let mut keylog = KeyLog::default();
    if let Some(random) = to_server.get(11..43) {
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let secret = "07".repeat(32);
        let text: String = [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
        ]
        .iter()
        .map(|label| format!("{label} {hex} {secret}\n"))
        .collect();
        keylog = KeyLog::parse(text.as_bytes()).expect("a well-formed key log");
    }
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
