//! Every message of every op: encoded bytes equal the hand-written vectors
//! of docs/protocol.md, and decoding those bytes gives the message back.

mod common;

use common::hex;
use ferry_core::{
    BadName, ClientMessage, Credentials, DecodeErrorKind, Expect, Field, Limits, ListEntry,
    MGetEntry, Mask, Name, Reply, Request, ResumeOutcome, Status, decode_upload_size,
    encode_listing, parse_listing,
};

const DOC: &str = include_str!("../../docs/protocol.md");

fn limits() -> Limits {
    Limits::default()
}

fn name(s: &str) -> Name {
    Name::parse(s.as_bytes(), &limits()).unwrap()
}

/// The vector must appear in docs/protocol.md exactly as written here.
fn from_doc(vector: &str) -> Vec<u8> {
    assert!(
        DOC.contains(vector),
        "docs/protocol.md does not show the vector {vector:?}"
    );
    hex(vector)
}

macro_rules! client_vector {
    ($($test:ident: $hex:literal => $msg:expr;)*) => {$(
        #[test]
        fn $test() {
            let bytes = from_doc($hex);
            let msg: ClientMessage = $msg;
            let mut encoded = Vec::new();
            msg.encode(&mut encoded);
            assert_eq!(encoded, bytes, "encoding");
            let decoded = ClientMessage::decode(&bytes, &limits(), false).unwrap();
            assert_eq!(decoded.value, msg, "decoding");
            assert_eq!(decoded.len, bytes.len());
            // Spans tile the message exactly, in order.
            let mut at = 0;
            for span in &decoded.spans {
                assert_eq!(span.offset, at);
                at += span.len;
            }
            assert_eq!(at, bytes.len() as u64);
            // One byte more is trailing; one byte less is truncated.
            let mut longer = bytes.clone();
            longer.push(0);
            let err = ClientMessage::decode(&longer, &limits(), false).unwrap_err();
            assert_eq!((err.offset, err.kind), (bytes.len() as u64, DecodeErrorKind::TrailingBytes));
            assert_eq!(ClientMessage::decode(&longer, &limits(), true).unwrap().value, msg);
            let err = ClientMessage::decode(&bytes[..bytes.len() - 1], &limits(), false).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::Truncated);
        }
    )*};
}

macro_rules! reply_vector {
    ($($test:ident: $expect:expr, $hex:literal => $reply:expr;)*) => {$(
        #[test]
        fn $test() {
            let bytes = from_doc($hex);
            let reply: Reply = $reply;
            let mut encoded = Vec::new();
            reply.encode(&mut encoded);
            assert_eq!(encoded, bytes, "encoding");
            let decoded = Reply::decode(&bytes, $expect, &limits(), false).unwrap();
            assert_eq!(decoded.value, reply, "decoding");
            let mut longer = bytes.clone();
            longer.push(7);
            let err = Reply::decode(&longer, $expect, &limits(), false).unwrap_err();
            assert_eq!((err.offset, err.kind), (bytes.len() as u64, DecodeErrorKind::TrailingBytes));
            if bytes.len() > 1 {
                let err = Reply::decode(&bytes[..bytes.len() - 1], $expect, &limits(), false).unwrap_err();
                assert_eq!(err.kind, DecodeErrorKind::Truncated);
            }
        }
    )*};
}

client_vector! {
    download_request: "0a 00000005 612e747874" => ClientMessage::Request(Request::Download { name: name("a.txt") });
    list_request: "14" => ClientMessage::Request(Request::List);
    upload_request: "1e 00000005 612e747874" => ClientMessage::Request(Request::Upload { name: name("a.txt") });
    resume_request: "28 00000005 612e747874 00000001 0cc175b9c0f1b6a831c399e269772661" =>
        ClientMessage::Request(Request::Resume {
            name: name("a.txt"),
            position: 1,
            md5: hex("0cc175b9c0f1b6a831c399e269772661").try_into().unwrap(),
        });
    mget_request: "32 00000005 2a2e747874" =>
        ClientMessage::Request(Request::MGet { mask: Mask::new("*.txt", &limits()).unwrap() });
    auth_request: "3c 00000005 616c696365 00000006 736563726574" =>
        ClientMessage::Auth(Credentials::new("alice", "secret", &limits()).unwrap());
}

reply_vector! {
    download_found: Expect::Download, "00 00000003" => Reply::Download { size: 3 };
    download_not_found: Expect::Download, "01" => Reply::Status(Status::Error);
    list_ok: Expect::Listing,
        "00 00000020 5b7b226e6f6d65223a22612e747874222c2274616d616e686f223a2233227d5d" =>
        Reply::Listing(br#"[{"nome":"a.txt","tamanho":"3"}]"#.to_vec());
    upload_accepted: Expect::Status, "00" => Reply::Status(Status::Ok);
    auth_denied: Expect::Status, "01" => Reply::Status(Status::Error);
    resume_ok: Expect::Resume, "00 00 00000002" => Reply::Resume(ResumeOutcome::Ok { remaining: 2 });
    resume_no_file: Expect::Resume, "00 0a" => Reply::Resume(ResumeOutcome::NoSuchFile);
    resume_mismatch: Expect::Resume, "00 14" => Reply::Resume(ResumeOutcome::Mismatch);
    mget_start: Expect::MGetStart, "00 00000002" => Reply::MGetStart { count: 2 };
    mget_entry_file: Expect::MGetEntry, "00 00000005 612e747874 00000003" =>
        Reply::MGetEntry(MGetEntry { name: Ok(name("a.txt")), size: Some(3) });
    mget_entry_skipped: Expect::MGetEntry, "0a 00000005 622e747874" =>
        Reply::MGetEntry(MGetEntry { name: Ok(name("b.txt")), size: None });
}

#[test]
fn upload_size_vector() {
    let bytes = from_doc("00000003 616263");
    let decoded = decode_upload_size(&bytes, true).unwrap();
    assert_eq!((decoded.value, decoded.len), (3, 4));
    assert_eq!(
        decode_upload_size(&bytes, false).unwrap_err().kind,
        DecodeErrorKind::TrailingBytes
    );
}

#[test]
fn empty_md5_is_documented() {
    assert_eq!(
        from_doc("d41d8cd98f00b204e9800998ecf8427e"),
        common::md5(b"")
    );
    assert_eq!(hex("0cc175b9c0f1b6a831c399e269772661"), common::md5(b"a"));
}

#[test]
fn resume_request_fields_follow_the_diagram() {
    let bytes = hex("28 00000005 612e747874 00000001 0cc175b9c0f1b6a831c399e269772661");
    let decoded = ClientMessage::decode(&bytes, &limits(), false).unwrap();
    let layout: Vec<(Field, u64, u64)> = decoded
        .spans
        .iter()
        .map(|s| (s.field, s.offset, s.len))
        .collect();
    assert_eq!(
        layout,
        [
            (Field::Op, 0, 1),
            (Field::NameLen, 1, 4),
            (Field::Name, 5, 5),
            (Field::Position, 10, 4),
            (Field::Md5, 14, 16)
        ]
    );
}

#[test]
fn listing_json_matches_the_seed_and_accepts_numbers() {
    let json = encode_listing(&[
        ListEntry {
            name: "a.txt".into(),
            size: 3,
        },
        ListEntry {
            name: "docs/b.pdf".into(),
            size: 12345,
        },
    ]);
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(DOC.contains(&text), "docs/protocol.md shows {text}");
    assert_eq!(parse_listing(&json).unwrap()[1].size, 12345);
    let numeric = parse_listing(br#"[{"nome":"x","tamanho":5000000000}]"#).unwrap();
    assert_eq!(
        numeric,
        [ListEntry {
            name: "x".into(),
            size: 5_000_000_000
        }]
    );
    assert!(matches!(
        parse_listing(br#"[{"nome":"x"}]"#),
        Err(DecodeErrorKind::BadListing(_))
    ));
    assert!(matches!(
        parse_listing(br#"[{"nome":"x","tamanho":"-1"}]"#),
        Err(DecodeErrorKind::BadListing(_))
    ));
}

#[test]
fn hostile_mget_entry_names_decode_as_bad_names() {
    // A server may send anything; the client keeps it as a BadName.
    let mut bytes = vec![0];
    bytes.extend(3u32.to_be_bytes());
    bytes.extend(b"../");
    bytes.extend(1u32.to_be_bytes());
    let decoded = Reply::decode(&bytes, Expect::MGetEntry, &limits(), false).unwrap();
    let Reply::MGetEntry(MGetEntry {
        name: Err(BadName { raw, error }),
        size: Some(1),
    }) = decoded.value
    else {
        panic!("expected a bad name, got {:?}", decoded.value)
    };
    assert_eq!(raw, b"../");
    assert_eq!(error, ferry_core::NameError::DotComponent);
}

// ----- malformed input, one documented typed error each -----

fn client_error(bytes: &[u8]) -> (u64, DecodeErrorKind) {
    let e = ClientMessage::decode(bytes, &limits(), false).unwrap_err();
    (e.offset, e.kind)
}

fn too_long(field: Field, len: u64, limit: u64) -> DecodeErrorKind {
    DecodeErrorKind::TooLong { field, len, limit }
}

#[test]
fn unknown_ops() {
    for op in [0u8, 1, 11, 21, 61, 0xff] {
        assert_eq!(client_error(&[op]), (0, DecodeErrorKind::UnknownOp(op)));
    }
}

#[test]
fn every_length_field_is_checked_when_read() {
    let max = "ffffffff";
    assert_eq!(
        client_error(&hex(&format!("0a {max}"))),
        (1, too_long(Field::Name, 0xffff_ffff, 4096))
    );
    assert_eq!(
        client_error(&hex(&format!("1e {max}"))),
        (1, too_long(Field::Name, 0xffff_ffff, 4096))
    );
    assert_eq!(
        client_error(&hex(&format!("28 {max}"))),
        (1, too_long(Field::Name, 0xffff_ffff, 4096))
    );
    assert_eq!(
        client_error(&hex(&format!("32 {max}"))),
        (1, too_long(Field::Mask, 0xffff_ffff, 1024))
    );
    assert_eq!(
        client_error(&hex(&format!("3c {max}"))),
        (1, too_long(Field::User, 0xffff_ffff, 64))
    );
    assert_eq!(
        client_error(&hex(&format!("3c 00000001 61 {max}"))),
        (6, too_long(Field::Pass, 0xffff_ffff, 1024))
    );
    let e = Reply::decode(
        &hex(&format!("00 {max}")),
        Expect::Listing,
        &limits(),
        false,
    )
    .unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (1, too_long(Field::Listing, 0xffff_ffff, 16 << 20))
    );
    let e = Reply::decode(
        &hex(&format!("00 {max}")),
        Expect::MGetEntry,
        &limits(),
        false,
    )
    .unwrap_err();
    // An entry name may be read past the name rules, up to its own cap
    // (then refused on its own): the answer's cap is 64 KiB.
    assert_eq!(
        (e.offset, e.kind),
        (1, too_long(Field::Name, 0xffff_ffff, 64 << 10))
    );
}

#[test]
fn truncation_at_every_point_is_truncated() {
    let full = hex("28 00000005 612e747874 00000001 0cc175b9c0f1b6a831c399e269772661");
    for end in 0..full.len() {
        assert_eq!(
            client_error(&full[..end]),
            (end as u64, DecodeErrorKind::Truncated),
            "cut at {end}"
        );
    }
}

#[test]
fn invalid_utf8_in_every_text_field() {
    assert_eq!(
        client_error(&hex("0a 00000001 ff")),
        (5, DecodeErrorKind::BadUtf8 { field: Field::Name })
    );
    assert_eq!(
        client_error(&hex("32 00000001 ff")),
        (5, DecodeErrorKind::BadUtf8 { field: Field::Mask })
    );
    assert_eq!(
        client_error(&hex("3c 00000001 ff 00000000")),
        (5, DecodeErrorKind::BadUtf8 { field: Field::User })
    );
    assert_eq!(
        client_error(&hex("3c 00000001 61 00000001 ff")),
        (10, DecodeErrorKind::BadUtf8 { field: Field::Pass })
    );
}

#[test]
fn bad_names_and_empty_mask_are_refused_after_the_whole_request() {
    // The name is checked only once position and MD5 have arrived, so a
    // refusal never leaves request bytes unread.
    let short = hex("28 00000002 2e2e 00000000");
    assert_eq!(client_error(&short), (11, DecodeErrorKind::Truncated));
    let mut full = short.clone();
    full.extend([0; 16]);
    assert_eq!(
        client_error(&full),
        (
            5,
            DecodeErrorKind::BadName(ferry_core::NameError::DotComponent)
        )
    );
    assert_eq!(
        client_error(&hex("32 00000000")),
        (1, DecodeErrorKind::Empty { field: Field::Mask })
    );
    assert_eq!(
        client_error(&hex("3c 00000007 2e2e2f6576696c 00000000")),
        (5, DecodeErrorKind::BadName(ferry_core::NameError::Slash)),
        "a user name \"../evil\" never reaches the server's folder logic"
    );
    assert_eq!(
        client_error(&hex("3c 00000002 2e2e 00000000")),
        (
            5,
            DecodeErrorKind::BadName(ferry_core::NameError::DotComponent)
        )
    );
}

#[test]
fn undefined_status_result_and_entry_status_bytes() {
    let bad = |hex_text: &str, expect| {
        let e = Reply::decode(&hex(hex_text), expect, &limits(), false).unwrap_err();
        (e.offset, e.kind)
    };
    assert_eq!(
        bad("02", Expect::Status),
        (
            0,
            DecodeErrorKind::BadValue {
                field: Field::Status,
                value: 2
            }
        )
    );
    assert_eq!(
        bad("00 05", Expect::Resume),
        (
            1,
            DecodeErrorKind::BadValue {
                field: Field::ResumeResult,
                value: 5
            }
        )
    );
    assert_eq!(
        bad("01", Expect::MGetEntry),
        (
            0,
            DecodeErrorKind::BadValue {
                field: Field::EntryStatus,
                value: 1
            }
        )
    );
}
