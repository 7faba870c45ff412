//! Chunking invariance: the same bytes, split anywhere, give the same
//! events, the same answers and the same errors at the same offsets.
//!
//! Each conversation is fed whole, one byte at a time, split at every index,
//! and (for short ones) split at every pair of indices. Each whole run is
//! also checked against the bytes docs/protocol.md prescribes.

mod common;

use common::{NewClientDriver, ServerApp, Transcript, hex, md5, run_client, run_server};
use ferry_core::{Credentials, DecodeErrorKind, Limits, Mask, Name, Request, SessionError};

fn splits(bytes: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut runs: Vec<Vec<&[u8]>> = vec![vec![bytes], bytes.chunks(1).collect()];
    for i in 0..=bytes.len() {
        runs.push(vec![&bytes[..i], &bytes[i..]]);
    }
    if bytes.len() <= 64 {
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                runs.push(vec![&bytes[..i], &bytes[i..j], &bytes[j..]]);
            }
        }
    }
    runs
}

/// Runs a server over every split of `client_bytes`; all runs must agree.
fn server_invariant(app: &ServerApp, client_bytes: &[u8]) -> (Transcript, ServerApp, u64) {
    let whole = run_server(app.clone(), &[client_bytes]);
    for pieces in splits(client_bytes) {
        let run = run_server(app.clone(), &pieces);
        assert_eq!(
            run.0,
            whole.0,
            "split {:?}",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
        assert_eq!(run.1.files, whole.1.files);
        assert_eq!(run.1.private, whole.1.private);
        assert_eq!(run.2, whole.2, "extra byte count");
    }
    whole
}

fn client_invariant(
    request: Request,
    auth: Option<Credentials>,
    upload: &[u8],
    server_bytes: &[u8],
) -> Transcript {
    let whole = run_client(request.clone(), auth.clone(), upload, &[server_bytes]);
    for pieces in splits(server_bytes) {
        let run = run_client(request.clone(), auth.clone(), upload, &pieces);
        assert_eq!(
            run,
            whole,
            "split {:?}",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
    }
    whole
}

fn app() -> ServerApp {
    let mut app = ServerApp::with_files(&[
        ("a.txt", b"abc"),
        ("b.txt", b"0123456789"),
        ("docs/c.md", b""),
    ]);
    app.users.insert("alice".into(), "secret".into());
    app.private
        .entry("alice".into())
        .or_default()
        .insert("mine.txt".into(), b"private".to_vec());
    app.max_upload = Some(1000);
    app
}

fn name(s: &str) -> Name {
    Name::parse(s.as_bytes(), &Limits::default()).unwrap()
}

fn peer_error(t: &Transcript) -> (u64, DecodeErrorKind) {
    match &t.error {
        Some(SessionError::Peer(e)) => (e.offset, e.kind.clone()),
        other => panic!("expected a peer error, got {other:?}"),
    }
}

// ----- server side -----

#[test]
fn server_download() {
    let (t, _, _) = server_invariant(&app(), &hex("0a 00000005 612e747874"));
    assert_eq!(t.sent, hex("00 00000003 616263"));
    assert!(t.closed && t.error.is_none());
}

#[test]
fn server_download_missing() {
    let (t, _, _) = server_invariant(&app(), &hex("0a 00000005 7a2e747874"));
    assert_eq!(t.sent, hex("01"));
}

#[test]
fn server_list() {
    let (t, _, _) = server_invariant(&app(), &hex("14"));
    let json = br#"[{"nome":"a.txt","tamanho":"3"},{"nome":"b.txt","tamanho":"10"},{"nome":"docs/c.md","tamanho":"0"}]"#;
    let mut expected = hex("00");
    expected.extend((json.len() as u32).to_be_bytes());
    expected.extend(json);
    assert_eq!(t.sent, expected);
}

#[test]
fn server_upload() {
    let (t, app, _) = server_invariant(
        &app(),
        &hex("1e 00000005 6e2e747874 0000000b 68656c6c6f20776f726c64"),
    );
    assert_eq!(t.sent, hex("00 00"));
    assert_eq!(app.files["n.txt"], b"hello world");
    assert_eq!(t.bodies, [b"hello world".to_vec()]);
}

#[test]
fn server_upload_empty_file() {
    let (t, app, _) = server_invariant(&app(), &hex("1e 00000005 6e2e747874 00000000"));
    assert_eq!(t.sent, hex("00 00"));
    assert_eq!(app.files["n.txt"], b"");
}

#[test]
fn server_upload_early_refusal_reads_no_body() {
    // 2000 bytes announced, limit 1000: final status 1 right after the size.
    let mut bytes = hex("1e 00000005 6e2e747874 000007d0");
    bytes.extend([b'x'; 20]);
    let (t, app, extra) = server_invariant(&app(), &bytes);
    assert_eq!(t.sent, hex("00 01"));
    assert!(!app.files.contains_key("n.txt"));
    assert_eq!(extra, 20, "the unread body is counted, not stored");
}

#[test]
fn server_upload_refused_name() {
    let (t, _, _) = server_invariant(&app(), &hex("1e 00000008 726561646f6e6c79"));
    assert_eq!(t.sent, hex("01"));
}

#[test]
fn server_upload_truncated_body_stores_nothing() {
    let (t, app, _) = server_invariant(&app(), &hex("1e 00000005 6e2e747874 0000000b 68656c6c6f"));
    assert_eq!(
        t.sent,
        hex("00 01"),
        "final status 1 for the truncated body"
    );
    assert_eq!(peer_error(&t), (19, DecodeErrorKind::Truncated));
    assert!(!app.files.contains_key("n.txt"));
}

#[test]
fn server_resume_ok() {
    let mut bytes = hex("28 00000005 622e747874 00000004");
    bytes.extend(md5(b"0123"));
    let (t, _, _) = server_invariant(&app(), &bytes);
    assert_eq!(t.sent, [hex("00 00 00000006"), b"456789".to_vec()].concat());
}

#[test]
fn server_resume_plain_download_and_at_end() {
    let mut bytes = hex("28 00000005 612e747874 00000000");
    bytes.extend(md5(b""));
    assert_eq!(
        server_invariant(&app(), &bytes).0.sent,
        hex("00 00 00000003 616263")
    );
    let mut bytes = hex("28 00000005 612e747874 00000003");
    bytes.extend(md5(b"abc"));
    assert_eq!(
        server_invariant(&app(), &bytes).0.sent,
        hex("00 00 00000000")
    );
}

#[test]
fn server_resume_mismatch_and_missing_and_past_end() {
    let from_doc = hex("28 00000005 612e747874 00000001 0cc175b9c0f1b6a831c399e269772661");
    let (t, _, _) = server_invariant(&app(), &from_doc);
    assert_eq!(t.sent, hex("00 00 00000002 6263"));
    let mut wrong = hex("28 00000005 612e747874 00000001");
    wrong.extend(md5(b"z"));
    assert_eq!(server_invariant(&app(), &wrong).0.sent, hex("00 14"));
    let mut past = hex("28 00000005 612e747874 00000009");
    past.extend(md5(b"abc"));
    assert_eq!(server_invariant(&app(), &past).0.sent, hex("00 14"));
    let mut missing = hex("28 00000005 7a2e747874 00000000");
    missing.extend(md5(b""));
    assert_eq!(server_invariant(&app(), &missing).0.sent, hex("00 0a"));
}

#[test]
fn server_mget_with_a_vanished_file() {
    let mut app = app();
    app.vanished.insert("b.txt".into());
    let (t, _, _) = server_invariant(&app, &hex("32 00000005 2a2e747874"));
    assert_eq!(
        t.sent,
        hex("00 00000002  00 00000005 612e747874 00000003 616263  0a 00000005 622e747874")
    );
}

#[test]
fn server_mget_no_match() {
    let (t, _, _) = server_invariant(&app(), &hex("32 00000005 2a2e6a7067"));
    assert_eq!(t.sent, hex("00 00000000"));
}

#[test]
fn server_auth_then_private_download() {
    let mut bytes = hex("3c 00000005 616c696365 00000006 736563726574");
    bytes.extend(hex("0a 00000008 6d696e652e747874"));
    let (t, _, _) = server_invariant(&app(), &bytes);
    assert_eq!(
        t.sent,
        [hex("00 00 00000007"), b"private".to_vec()].concat()
    );
}

#[test]
fn server_auth_user_cannot_see_public_or_others() {
    let mut bytes = hex("3c 00000005 616c696365 00000006 736563726574");
    bytes.extend(hex("0a 00000005 612e747874"));
    assert_eq!(server_invariant(&app(), &bytes).0.sent, hex("00 01"));
}

#[test]
fn server_auth_denied_closes() {
    let mut bytes = hex("3c 00000005 616c696365 00000005 7772306e67");
    bytes.extend(hex("14"));
    let (t, _, extra) = server_invariant(&app(), &bytes);
    assert_eq!(t.sent, hex("01"));
    assert_eq!(extra, 1);
}

#[test]
fn server_second_auth_is_unknown_op() {
    let auth = hex("3c 00000005 616c696365 00000006 736563726574");
    let (t, _, _) = server_invariant(&app(), &[auth.clone(), auth.clone()].concat());
    assert_eq!(t.sent, hex("00 01"));
    assert_eq!(
        peer_error(&t),
        (auth.len() as u64, DecodeErrorKind::UnknownOp(60))
    );
}

#[test]
fn server_unknown_op() {
    let (t, _, _) = server_invariant(&app(), &hex("63 00000000"));
    assert_eq!(t.sent, hex("01"));
    assert_eq!(peer_error(&t), (0, DecodeErrorKind::UnknownOp(0x63)));
}

#[test]
fn server_oversized_length_fails_before_the_bytes() {
    let (t, _, _) = server_invariant(&app(), &hex("0a ffffffff 6162"));
    assert_eq!(t.sent, hex("01"));
    let (offset, kind) = peer_error(&t);
    assert_eq!(offset, 1);
    assert!(
        matches!(
            kind,
            DecodeErrorKind::TooLong {
                len: 0xffff_ffff,
                limit: 4096,
                ..
            }
        ),
        "{kind:?}"
    );
}

#[test]
fn server_truncated_request() {
    let (t, _, _) = server_invariant(&app(), &hex("0a 00000005 612e"));
    assert_eq!(t.sent, hex("01"));
    assert_eq!(peer_error(&t), (7, DecodeErrorKind::Truncated));
}

#[test]
fn server_empty_connection() {
    // A client that closes without a byte (a health probe) gets no reply
    // and is no error.
    let (t, _, _) = server_invariant(&app(), &[]);
    assert_eq!(t.sent, b"");
    assert!(t.closed && t.error.is_none(), "{t:?}");
}

#[test]
fn server_one_byte_then_close_is_truncated() {
    let (t, _, _) = server_invariant(&app(), &hex("0a"));
    assert_eq!(t.sent, hex("01"));
    assert_eq!(peer_error(&t), (1, DecodeErrorKind::Truncated));
}

#[test]
fn server_invalid_utf8_name() {
    let (t, _, _) = server_invariant(&app(), &hex("0a 00000002 c328"));
    assert_eq!(t.sent, hex("01"));
    assert_eq!(
        peer_error(&t),
        (
            5,
            DecodeErrorKind::BadUtf8 {
                field: ferry_core::Field::Name
            }
        )
    );
}

#[test]
fn server_trailing_bytes_are_ignored_and_counted() {
    let (t, _, extra) = server_invariant(&app(), &hex("0a 00000005 612e747874 deadbeef"));
    assert_eq!(t.sent, hex("00 00000003 616263"));
    assert_eq!(extra, 4);
    assert!(t.error.is_none());
}

// ----- client side -----

#[test]
fn client_download() {
    let t = client_invariant(
        Request::Download {
            name: name("a.txt"),
        },
        None,
        b"",
        &hex("00 00000003 616263"),
    );
    assert_eq!(t.sent, hex("0a 00000005 612e747874"));
    assert_eq!(t.bodies, [b"abc".to_vec()]);
    assert!(t.closed && t.error.is_none());
}

#[test]
fn client_download_refused() {
    let t = client_invariant(
        Request::Download {
            name: name("a.txt"),
        },
        None,
        b"",
        &hex("01"),
    );
    assert_eq!(t.log, ["Refused", "close"]);
}

#[test]
fn client_download_truncated_body() {
    let t = client_invariant(
        Request::Download {
            name: name("a.txt"),
        },
        None,
        b"",
        &hex("00 00000003 6162"),
    );
    assert_eq!(peer_error(&t), (7, DecodeErrorKind::Truncated));
    assert_eq!(t.bodies, [b"ab".to_vec()]);
}

#[test]
fn client_list() {
    let t = client_invariant(
        Request::List,
        None,
        b"",
        &hex("00 00000020 5b7b226e6f6d65223a22612e747874222c2274616d616e686f223a2233227d5d"),
    );
    assert_eq!(
        t.log[0],
        r#"Listing([ListEntry { name: "a.txt", size: 3 }])"#
    );
}

#[test]
fn client_list_bad_json() {
    let t = client_invariant(Request::List, None, b"", &hex("00 00000002 7b7d"));
    let (offset, kind) = peer_error(&t);
    assert_eq!(offset, 5);
    assert!(matches!(kind, DecodeErrorKind::BadListing(_)));
}

#[test]
fn client_upload() {
    // Two phases: the final status can only come after the body was sent.
    let request = Request::Upload {
        name: name("a.txt"),
    };
    let t = run_client(request, None, b"abc", &[&[0], &[0]]);
    assert_eq!(t.sent, hex("1e 00000005 612e747874 00000003 616263"));
    assert_eq!(
        t.log,
        ["UploadAccepted", "UploadDone { stored: true }", "close"]
    );
}

#[test]
fn client_upload_stored_before_the_body_is_a_protocol_error() {
    let body = [7u8; 5000];
    let request = Request::Upload {
        name: name("a.txt"),
    };
    let t = run_client(request, None, &body, &[&[0, 0]]);
    let bad = DecodeErrorKind::BadValue {
        field: ferry_core::Field::Status,
        value: 0,
    };
    assert_eq!(peer_error(&t), (1, bad));
    assert!(t.sent.len() < 10 + 5000, "stopped sending");
}

#[test]
fn client_upload_refused_at_once() {
    let t = client_invariant(
        Request::Upload {
            name: name("a.txt"),
        },
        None,
        b"abc",
        &hex("01"),
    );
    assert_eq!(
        t.sent,
        hex("1e 00000005 612e747874"),
        "no size or body after a refusal"
    );
    assert_eq!(t.log, ["Refused", "close"]);
}

#[test]
fn client_resume() {
    let mut request_md5 = [0; 16];
    request_md5.copy_from_slice(&md5(b"a"));
    let request = Request::Resume {
        name: name("a.txt"),
        position: 1,
        md5: request_md5,
    };
    let t = client_invariant(request.clone(), None, b"", &hex("00 00 00000002 6263"));
    assert_eq!(
        t.sent,
        hex("28 00000005 612e747874 00000001 0cc175b9c0f1b6a831c399e269772661")
    );
    assert_eq!(t.bodies, [b"bc".to_vec()]);
    let t = client_invariant(request.clone(), None, b"", &hex("00 14"));
    assert_eq!(t.log, ["Resume(Mismatch)", "close"]);
    let t = client_invariant(request, None, b"", &hex("00 63"));
    assert_eq!(
        peer_error(&t),
        (
            1,
            DecodeErrorKind::BadValue {
                field: ferry_core::Field::ResumeResult,
                value: 0x63
            }
        )
    );
}

#[test]
fn client_mget_keeps_going_past_hostile_names() {
    let mask = Mask::new("*", &Limits::default()).unwrap();
    let server = hex(
        "00 00000003  00 00000003 2e2e2f 00000002 6869  0a 00000005 612e747874  00 00000005 622e747874 00000001 7a",
    );
    let t = client_invariant(Request::MGet { mask }, None, b"", &server);
    assert_eq!(t.bodies, [b"hi".to_vec(), b"z".to_vec()]);
    assert!(t.log[1].contains("DotComponent"), "{:?}", t.log);
    assert!(t.error.is_none());
}

#[test]
fn client_auth_then_download() {
    let auth = Credentials::new("alice", "secret", &Limits::default()).unwrap();
    let t = client_invariant(
        Request::List,
        Some(auth.clone()),
        b"",
        &hex("00 00 00000002 5b5d"),
    );
    assert_eq!(
        t.sent,
        hex("3c 00000005 616c696365 00000006 736563726574 14")
    );
    assert_eq!(t.log, ["AuthAccepted", "Listing([])", "close"]);
    let t = client_invariant(Request::List, Some(auth), b"", &hex("01"));
    assert_eq!(
        t.sent,
        hex("3c 00000005 616c696365 00000006 736563726574"),
        "request never sent"
    );
    assert_eq!(t.log, ["AuthDenied", "close"]);
}

#[test]
fn client_bad_status_byte() {
    let t = client_invariant(Request::List, None, b"", &hex("07"));
    assert_eq!(
        peer_error(&t),
        (
            0,
            DecodeErrorKind::BadValue {
                field: ferry_core::Field::Status,
                value: 7
            }
        )
    );
}

#[test]
fn client_oversized_listing_length() {
    let t = client_invariant(Request::List, None, b"", &hex("00 ffffffff"));
    assert!(matches!(
        peer_error(&t),
        (1, DecodeErrorKind::TooLong { .. })
    ));
}

#[test]
fn client_counts_trailing_bytes() {
    let mut d = common::ClientDriver::new(Request::List, None, vec![], Default::default());
    let (mut inbox, mut outbox) = (hex("00 00000002 5b5d 0102"), Vec::new());
    d.eof(&mut inbox, &mut outbox);
    assert_eq!(d.session.extra_bytes(), 2);
    assert!(d.t.error.is_none());
}
