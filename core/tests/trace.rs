//! Capture decoding on hand-built captures: pcap and pcapng, IPv4 and IPv6,
//! several link types, and every kind of damage a real capture shows.

mod common;

use common::capture::{Conv, Link, S_ISN};
use common::{hex, md5};
use ferry_core::{AnomalyKind, Direction, TcpRole, TraceOptions, Transcript, decode_capture};
use proptest::prelude::*;

fn decode(bytes: &[u8]) -> Transcript {
    decode_capture(bytes, &TraceOptions::default()).expect("a capture")
}

/// The messages without their times: what segmentation must not change.
fn shape(t: &Transcript) -> Vec<String> {
    t.connections
        .iter()
        .flat_map(|c| c.messages.iter())
        .map(|m| {
            let fields: Vec<String> = m
                .fields
                .iter()
                .map(|f| format!("{}@{}+{}={}", f.name.as_str(), f.offset, f.len, f.value))
                .collect();
            format!(
                "{:?} {} [{}] {:?} {:?}",
                m.direction,
                m.summary,
                fields.join(" "),
                m.payload.as_ref().map(|p| &p.md5),
                m.offset
            )
        })
        .collect()
}

fn kinds(t: &Transcript) -> Vec<AnomalyKind> {
    t.connections
        .iter()
        .flat_map(|c| c.anomalies.iter().map(|a| a.kind))
        .collect()
}

fn download(body: &[u8], mss: usize, v6: bool) -> Conv {
    let mut c = Conv::new(v6);
    c.send(true, &hex("0a 00000005 612e747874"), mss);
    let mut reply = vec![0];
    reply.extend((body.len() as u32).to_be_bytes());
    reply.extend(body);
    c.send(false, &reply, mss);
    c
}

fn hexmd5(bytes: &[u8]) -> String {
    md5(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_download_reads_the_same_from_pcap_and_pcapng() {
    let body: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let conv = download(&body, 1460, false);
    let a = decode(&conv.pcap(Link::Ethernet));
    let b = decode(&conv.pcapng(Link::Ethernet));
    assert_eq!((a.format.as_str(), b.format.as_str()), ("pcap", "pcapng"));
    assert_eq!(shape(&a), shape(&b));
    let c = &a.connections[0];
    assert_eq!(
        (c.client.as_str(), c.server.as_str()),
        ("10.0.0.1:40000", "10.0.0.2:20000")
    );
    let summaries: Vec<&str> = c.messages.iter().map(|m| m.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "DOWNLOAD \"a.txt\"",
            "status 0: the file follows, 5000 bytes",
            "download: 5000 bytes of file data"
        ]
    );
    let payload = c.messages[2].payload.as_ref().unwrap();
    assert_eq!((payload.size, payload.captured), (5000, 5000));
    assert_eq!(payload.md5.as_deref(), Some(hexmd5(&body).as_str()));
    assert!(c.anomalies.is_empty(), "{:?}", c.anomalies);
    // Fields point at the right bytes, with both languages.
    let name = &c.messages[0].fields[2];
    assert_eq!(
        (
            name.offset,
            name.len,
            name.hex.as_str(),
            name.value.as_str()
        ),
        (5, 5, "612e747874", "\"a.txt\"")
    );
    assert!(name.en.contains("File name") && name.pt.contains("Nome do arquivo"));
    // Times come from the capture.
    assert!(c.messages[0].time_us.unwrap() < c.messages[1].time_us.unwrap());
}

#[test]
fn ipv6_and_every_link_type_decode_alike() {
    let body = b"over IPv6 and odd links".to_vec();
    let reference = shape(&decode(&download(&body, 8, false).pcap(Link::Ethernet)));
    for v6 in [false, true] {
        for link in [Link::Ethernet, Link::RawIp, Link::Sll2, Link::Null] {
            let t = decode(&download(&body, 8, v6).pcapng(link));
            assert_eq!(shape(&t), reference, "v6={v6} link={}", link.code());
            if v6 {
                assert_eq!(t.connections[0].server, "[fd00::2]:20000");
            }
        }
    }
}

#[test]
fn any_segmentation_gives_the_same_transcript() {
    let body: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let reference = shape(&decode(&download(&body, 1460, false).pcap(Link::Ethernet)));
    for mss in [1, 2, 3, 7, 100, 4096] {
        assert_eq!(
            shape(&decode(&download(&body, mss, false).pcap(Link::Ethernet))),
            reference,
            "mss {mss}"
        );
    }
}

#[test]
fn out_of_order_segments_are_put_back_in_order() {
    let body: Vec<u8> = (0..4000u32).map(|i| (i % 13) as u8).collect();
    let reference = shape(&decode(&download(&body, 500, false).pcap(Link::Ethernet)));
    let mut conv = download(&body, 500, false);
    let n = conv.segs.len();
    conv.segs.swap(n - 2, n - 4);
    conv.segs.swap(n - 5, n - 6);
    let t = decode(&conv.pcap(Link::Ethernet));
    assert_eq!(shape(&t), reference);
    assert!(
        kinds(&t).contains(&AnomalyKind::OutOfOrder),
        "{:?}",
        kinds(&t)
    );
}

#[test]
fn retransmissions_are_counted_not_repeated() {
    let body: Vec<u8> = (0..4000u32).map(|i| (i % 17) as u8).collect();
    let reference = shape(&decode(&download(&body, 500, false).pcap(Link::Ethernet)));
    let mut conv = download(&body, 500, false);
    let again = conv.segs[5].clone();
    conv.segs.insert(7, again);
    let t = decode(&conv.pcap(Link::Ethernet));
    assert_eq!(shape(&t), reference);
    let c = &t.connections[0];
    assert!(
        c.anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::Retransmission
                && a.en.starts_with("server to client (1, frames 8): ")),
        "{:?}",
        c.anomalies
    );
    // The segment itself says what it is; the first copy does not.
    assert_eq!(c.segments[7].role, Some(TcpRole::Retransmission));
    assert_eq!(c.segments[5].role, None);
}

#[test]
fn a_gap_is_shown_never_guessed_and_decoding_resumes_after_the_body() {
    // MGET with two entries; a segment of the first body is lost.
    let mut c = Conv::new(false);
    c.send(true, &hex("32 00000001 2a"), 100);
    let first: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    let mut reply = hex("00 00000002");
    reply.extend(hex("00 00000001 61"));
    reply.extend((first.len() as u32).to_be_bytes());
    reply.extend(&first);
    reply.extend(hex("00 00000001 62 00000003 787978"));
    c.send(false, &reply, 500);
    let lost = c
        .segs
        .iter()
        .position(|s| !s.from_client && s.seq == S_ISN + 1 + 1000)
        .expect("segment");
    c.segs.remove(lost);
    let t = decode(&c.pcap(Link::Ethernet));
    let conn = &t.connections[0];
    let bodies: Vec<_> = conn
        .messages
        .iter()
        .filter_map(|m| m.payload.as_ref())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        (bodies[0].size, bodies[0].captured, bodies[0].md5.is_none()),
        (2000, 1500, true)
    );
    assert_eq!(
        bodies[1].md5.as_deref(),
        Some(hexmd5(b"xyx").as_str()),
        "decoding resumed after the gap"
    );
    assert!(
        conn.anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::Gap && a.en.contains("500 of its 2000 bytes")),
        "{:?}",
        conn.anomalies
    );
}

#[test]
fn a_gap_inside_a_header_stops_that_direction() {
    let mut c = Conv::new(false);
    c.send(true, &hex("0a 00000005 612e747874"), 2);
    c.segs.remove(4); // part of the name
    let t = decode(&c.pcap(Link::Ethernet));
    let conn = &t.connections[0];
    // The op was captured: shown, the rest of the request marked missing.
    let [request] = &conn.messages[..] else {
        panic!("{:?}", conn.messages)
    };
    assert!(request.summary.contains("partly captured"), "{request:?}");
    let names: Vec<_> = request.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["op"]);
    let gap = conn
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Gap)
        .expect("gap");
    assert_eq!(
        (gap.direction, gap.offset),
        (Some(Direction::ToServer), Some(4))
    );
}

#[test]
fn a_truncated_final_message_is_reported() {
    let mut c = Conv::new(false);
    c.send(true, &hex("0a 00000005 612e747874"), 100);
    c.send(false, &hex("00 00000064 6162"), 100); // 100 bytes announced, 2 sent
    let t = decode(&c.pcap(Link::Ethernet));
    let conn = &t.connections[0];
    let body = conn.messages.last().unwrap().payload.as_ref().unwrap();
    assert_eq!((body.size, body.captured, body.md5.clone()), (100, 2, None));
    assert!(
        conn.anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::Truncated && a.en.contains("100 bytes announced")),
        "{:?}",
        conn.anomalies
    );

    // The server closed: said so. No FIN or RST captured: the capture ended
    // first, and nothing is blamed on the server.
    assert!(
        conn.anomalies
            .iter()
            .any(|a| a.en.contains("the capture ends before the connection does"))
    );
    c.fin(false);
    let t = decode(&c.pcap(Link::Ethernet));
    let said: Vec<_> = t.connections[0]
        .anomalies
        .iter()
        .map(|a| a.en.clone())
        .collect();
    assert!(
        said.iter()
            .any(|a| a.contains("100 bytes announced, the connection closed after 2 bytes")),
        "{said:?}"
    );
    assert!(!said.iter().any(|a| a.contains("capture ends")), "{said:?}");

    let mut c = Conv::new(false);
    c.send(true, &hex("28 00000005 612e"), 100); // cut inside the name
    let t = decode(&c.pcap(Link::Ethernet));
    let a = &t.connections[0].anomalies[0];
    assert_eq!((a.kind, a.offset), (AnomalyKind::Truncated, Some(7)));
}

#[test]
fn bytes_cut_by_the_snap_length_are_gaps() {
    let body: Vec<u8> = vec![b'z'; 3000];
    let mut conv = download(&body, 1000, false);
    // The reply is 5 + 3000 bytes in 1000-byte segments: cut a full one.
    let full = conv.segs.len() - 2;
    assert_eq!(conv.segs[full].payload.len(), 1000);
    conv.segs[full].cut = 400;
    let t = decode(&conv.pcap(Link::Ethernet));
    assert!(
        t.notes
            .iter()
            .any(|n| n.kind == AnomalyKind::Gap && n.en.contains("snap length"))
    );
    let body = t.connections[0]
        .messages
        .last()
        .unwrap()
        .payload
        .clone()
        .unwrap();
    assert_eq!((body.size, body.captured), (3000, 2600));
}

#[test]
fn a_listing_cut_by_the_snap_length_keeps_its_status_and_length() {
    let json = br#"[{"name":"a.txt","size":5},{"name":"b.txt","size":7}]"#;
    let mut reply = vec![0u8];
    reply.extend((json.len() as u32).to_be_bytes());
    reply.extend(json);
    let mut c = Conv::new(false);
    c.send(true, &[20], 100);
    c.send(false, &reply, 1000);
    let last = c.segs.len() - 1;
    c.segs[last].cut = 20;
    let t = decode(&c.pcap(Link::Ethernet));
    let conn = &t.connections[0];
    let reply = conn.messages.last().unwrap();
    assert!(
        reply.summary.contains("partly captured"),
        "{:?}",
        conn.messages
    );
    let names: Vec<_> = reply.fields.iter().map(|f| f.name.as_str()).collect();
    // (`len`: the field's name in docs/protocol.md.)
    assert_eq!(names, ["status", "len"], "{:?}", reply.fields);
    assert!(conn.anomalies.iter().any(|a| a.kind == AnomalyKind::Gap));
}

#[test]
fn lessons_and_violations_are_pointed_out() {
    let mut c = Conv::new(false);
    c.send(
        true,
        &hex("3c 00000005 616c696365 00000006 736563726574"),
        100,
    );
    c.send(false, &hex("00"), 100);
    c.send(
        true,
        &hex("28 00000001 61 00000000 0cc175b9c0f1b6a831c399e269772661 ffff"),
        100,
    );
    c.send(false, &hex("00 14"), 100);
    let t = decode(&c.pcap(Link::Ethernet));
    let k = kinds(&t);
    for expected in [
        AnomalyKind::ClearTextPassword,
        AnomalyKind::Md5CannotMatch,
        AnomalyKind::TrailingBytes,
    ] {
        assert!(k.contains(&expected), "{expected:?} missing from {k:?}");
    }
    let auth = &t.connections[0].messages[0];
    let pass = auth
        .fields
        .iter()
        .find(|f| f.name == ferry_core::Field::Pass)
        .unwrap();
    assert_eq!(pass.value, "\"secret\"");
    assert!(pass.en.contains("in the clear") && pass.pt.contains("texto claro"));

    let mut c = Conv::new(false);
    c.send(true, &hex("63 0000"), 100);
    c.send(false, &hex("01"), 100);
    let t = decode(&c.pcap(Link::Ethernet));
    let a = &t.connections[0].anomalies;
    assert!(
        a.iter()
            .any(|a| a.kind == AnomalyKind::UnknownOp && a.offset == Some(0)),
        "{a:?}"
    );
}

#[test]
fn conversations_are_found_by_port_or_by_content() {
    let mut http = Conv::new(false);
    http.server_port = 8080;
    http.send(true, b"GET / HTTP/1.0\r\n\r\n", 100);
    let t = decode(&http.pcap(Link::Ethernet));
    assert!(t.connections.is_empty());
    // Not silently: the connection is named, with the way to decode it.
    let said: Vec<_> = t.notes.iter().map(|n| n.en.clone()).collect();
    assert!(
        said.iter().any(|n| n.contains(
            "1 TCP connection(s) not decoded: 10.0.0.1:40000 → 10.0.0.2:8080: port 8080"
        ) && n.contains("try --port 8080")),
        "{said:?}"
    );
    // A capture started mid-connection: no SYN, bytes from the middle.
    let mut late = Conv::new(false);
    late.server_port = 9999;
    late.send(false, &hex("6162636465"), 100);
    late.segs.drain(..2);
    let t = decode(&late.pcap(Link::Ethernet));
    assert!(t.connections.is_empty());
    assert!(
        t.notes.iter().any(|n| n
            .en
            .contains("started before the capture (no SYN captured)")
            && n.en.contains("try --port 9999")),
        "{:?}",
        t.notes
    );
    let mut other = Conv::new(false);
    other.server_port = 9999;
    other.send(true, &hex("14"), 100);
    other.send(false, &hex("00 00000002 5b5d"), 100);
    let t = decode(&other.pcap(Link::Ethernet));
    assert_eq!(
        t.connections[0].messages[1].summary,
        "status 0: listing of 0 files"
    );
    let mut only = TraceOptions::default();
    only.ports = vec![9999];
    let t = decode_capture(&download(b"x", 10, false).pcap(Link::Ethernet), &only).unwrap();
    assert_eq!(
        t.connections.len(),
        1,
        "a ferry first byte still counts on other ports"
    );
}

#[test]
fn a_capture_cut_mid_record_keeps_what_it_has() {
    let bytes = download(b"hello", 100, false).pcap(Link::Ethernet);
    let t = decode(&bytes[..bytes.len() - 3]);
    assert!(t.notes.iter().any(|n| n.kind == AnomalyKind::CutShort));
    assert_eq!(t.connections[0].messages[0].summary, "DOWNLOAD \"a.txt\"");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = decode_capture(&bytes, &TraceOptions::default());
    }

    #[test]
    fn arbitrary_records_after_a_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let mut bytes = download(b"x", 10, false).pcap(Link::Ethernet)[..24].to_vec();
        bytes.extend(tail);
        let _ = decode_capture(&bytes, &TraceOptions::default());
    }

    #[test]
    fn dropped_duplicated_and_shuffled_segments_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        ops in proptest::collection::vec((0usize..64, 0u8..3), 0..12),
    ) {
        let mut conv = download(&body, 97, false);
        for (i, op) in ops {
            let n = conv.segs.len();
            if n < 2 { break; }
            let i = 2 + i % (n - 2).max(1);
            if i >= n { continue; }
            match op {
                0 => { conv.segs.remove(i); }
                1 => { let s = conv.segs[i].clone(); conv.segs.push(s); }
                _ => { let j = n - 1; conv.segs.swap(i, j); }
            }
        }
        let t = decode(&conv.pcapng(Link::Ethernet));
        // Whatever was lost, a body is never reported complete with a wrong MD5.
        for m in t.connections.iter().flat_map(|c| &c.messages) {
            if let Some(md5) = m.payload.as_ref().and_then(|p| p.md5.as_ref()) {
                prop_assert_eq!(md5, &hexmd5(&body));
            }
        }
    }
}

#[test]
fn each_message_lists_exactly_the_frames_that_carried_it() {
    // A download whose header and body arrive in 7-byte segments: the
    // header's 5 bytes and the body's share frames at their boundary.
    let body: Vec<u8> = (0..40u8).collect();
    let t = decode(&download(&body, 7, false).pcap(Link::Ethernet));
    let c = &t.connections[0];
    let frames_with_data = |dir: Direction| -> Vec<(u64, u64, u64)> {
        c.segments
            .iter()
            .filter(|s| s.direction == dir && s.len > 0)
            .map(|s| (s.frame, s.offset.unwrap(), s.len))
            .collect()
    };
    for m in &c.messages {
        let expected: Vec<u64> = frames_with_data(m.direction)
            .into_iter()
            .filter(|&(_, at, len)| at < m.offset + m.len.max(1) && at + len > m.offset)
            .map(|(frame, _, _)| frame)
            .collect();
        assert_eq!(m.frames, expected, "{}", m.summary);
    }
    // The reply header (5 bytes) ends inside the body's first segment.
    let header = &c.messages[1];
    let first_body = &c.messages[2];
    assert_eq!(header.frames.last(), first_body.frames.first());
    // Handshake first, with the flags Wireshark shows.
    let flags: Vec<&str> = c
        .segments
        .iter()
        .take(2)
        .map(|s| s.flags.as_str())
        .collect();
    assert_eq!(flags, ["SYN", "SYN, ACK"]);
}

#[test]
fn a_segment_far_past_the_decoding_limit_is_not_placed() {
    let mut conv = download(b"abc", 100, false);
    // A data segment 300 MiB into the server's stream.
    let far = S_ISN.wrapping_add(1 + (300 << 20));
    conv.push(false, far, false, true, vec![1, 2, 3]);
    let mut options = TraceOptions::default();
    options.max_stream_len = 1 << 20;
    let t = decode_capture(&conv.pcap(Link::Ethernet), &options).expect("a capture");
    let c = &t.connections[0];
    let last = c.segments.last().unwrap();
    assert_eq!((last.offset, last.len), (None, 0));
    assert!(c.segments.iter().all(|s| s.len <= 1 << 20));
    assert!(kinds(&t).contains(&AnomalyKind::Capped), "{:?}", kinds(&t));
}

#[test]
fn bytes_after_the_exchange_are_named_by_who_sent_them() {
    let mut conv = download(b"abc", 100, false);
    conv.send(false, b"xyz", 100);
    conv.send(true, b"!", 100);
    let t = decode(&conv.pcap(Link::Ethernet));
    let notes: Vec<(Option<Direction>, &str)> = t.connections[0]
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::TrailingBytes)
        .map(|a| (a.direction, a.en.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            (
                Some(Direction::ToServer),
                "after the end of the exchange: 1 byte more from the client, which a server ignores"
            ),
            (
                Some(Direction::ToClient),
                "after the end of the exchange: 3 bytes more from the server, which a client ignores"
            ),
        ]
    );
}

#[test]
fn a_capture_begun_mid_download_says_why_the_servers_bytes_are_not_decoded() {
    let mut conv = Conv::new(false);
    conv.send(false, &[7u8; 3000], 1000);
    conv.segs.drain(..2); // no SYN captured either way
    let t = decode(&conv.pcap(Link::Ethernet));
    let c = &t.connections[0];
    let trailing: Vec<&str> = c
        .anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::TrailingBytes)
        .map(|a| a.en.as_str())
        .collect();
    assert_eq!(
        trailing,
        [
            "not decoded: 3000 bytes from the server; the capture began in the middle of this connection, so what it holds does not start at a message"
        ]
    );
    assert!(c.anomalies.iter().any(|a| a.kind == AnomalyKind::MidStream));
}

#[test]
fn tcp_lessons_name_each_segment_and_their_frames() {
    let body: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
    let mut reply = vec![0];
    reply.extend((body.len() as u32).to_be_bytes());
    reply.extend(&body);
    let mut c = Conv::new(false); // frames 1, 2
    c.ack(true, 65535); // 3: the handshake's last step
    c.send(true, &hex("0a 00000005 612e747874"), 100); // 4
    c.ack(false, 65535); // 5
    c.send(false, &reply[..500], 500); // 6
    c.ack(true, 65535); // 7
    let base = c.s_next;
    c.push(
        false,
        base.wrapping_add(500),
        false,
        true,
        reply[1000..1500].to_vec(),
    ); // 8: B is missing
    c.ack(true, 65535); // 9: the same byte acknowledged again
    c.push(false, base, false, true, reply[500..1000].to_vec()); // 10: B, late
    c.s_next = base.wrapping_add(1000);
    c.ack(true, 0); // 11: the client's buffer is full
    c.push(false, c.s_next.wrapping_sub(1), false, true, vec![]); // 12: is it open?
    c.ack(true, 65535); // 13: room again
    c.send(false, &reply[1500..], 1000); // 14
    c.ack(true, 65535); // 15
    c.fin(false).fin(true); // 16, 17
    let t = decode(&c.pcap(Link::Ethernet));
    let conn = &t.connections[0];
    let roles: Vec<(u64, Option<TcpRole>)> =
        conn.segments.iter().map(|s| (s.frame, s.role)).collect();
    use TcpRole::*;
    assert_eq!(
        roles,
        [
            (1, None),
            (2, None),
            (3, Some(Ack)),
            (4, None),
            (5, Some(Ack)),
            (6, None),
            (7, Some(Ack)),
            (8, None),
            (9, Some(DuplicateAck)),
            (10, Some(OutOfOrder)),
            (11, Some(ZeroWindow)),
            (12, Some(Probe)),
            (13, Some(WindowUpdate)),
            (14, None),
            (15, Some(Ack)),
            (16, None),
            (17, None),
        ]
    );
    assert_eq!(conn.segments[10].window, 0);
    // The body is whole, whatever TCP went through.
    let payload = conn
        .messages
        .iter()
        .find_map(|m| m.payload.as_ref())
        .unwrap();
    assert_eq!(payload.md5.as_deref(), Some(hexmd5(&body).as_str()));
    let said: Vec<(AnomalyKind, &str)> = conn
        .anomalies
        .iter()
        .map(|a| (a.kind, a.en.split(':').next().unwrap_or_default()))
        .collect();
    for expected in [
        (AnomalyKind::OutOfOrder, "server to client (1, frames 10)"),
        (AnomalyKind::DuplicateAck, "client to server (1, frames 9)"),
        (AnomalyKind::ZeroWindow, "client to server (1, frames 11)"),
        (AnomalyKind::WindowUpdate, "client to server (1, frames 13)"),
        (AnomalyKind::WindowProbe, "server to client (1, frames 12)"),
    ] {
        assert!(said.contains(&expected), "{expected:?} not in {said:#?}");
    }
    // Each in both languages.
    let zero = conn
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::ZeroWindow)
        .unwrap();
    // Each finding is carried as a key and arguments that say the same.
    for a in &conn.anomalies {
        assert_eq!(ferry_core::words(&a.sentence, false), a.en);
        assert_eq!(ferry_core::words(&a.sentence, true), a.pt);
    }
    assert!(
        zero.pt
            .starts_with("no sentido cliente → servidor (1, quadros 11): janela zero"),
        "{}",
        zero.pt
    );
}
