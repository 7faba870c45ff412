//! The example captures in docs/captures, recorded from real runs by
//! scripts/make-captures.sh: decoded message by message and checked against
//! the MD5s of the files the run served.

use std::collections::HashMap;

use ferry_core::{AnomalyKind, Direction, Op, TraceOptions, Transcript, decode_capture};

fn md5s() -> HashMap<&'static str, &'static str> {
    include_str!("../../docs/captures/files.md5")
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(sum, name)| (name, sum))
        .collect()
}

fn decode(bytes: &[u8]) -> Transcript {
    decode_capture(bytes, &TraceOptions::default()).unwrap()
}

/// (op, summaries in order) of each connection.
fn ladder(t: &Transcript) -> Vec<Vec<String>> {
    t.connections
        .iter()
        .map(|c| c.messages.iter().map(|m| m.summary.clone()).collect())
        .collect()
}

fn body_md5s(t: &Transcript) -> Vec<String> {
    t.connections
        .iter()
        .flat_map(|c| &c.messages)
        .filter_map(|m| m.payload.as_ref())
        .map(|p| p.md5.clone().expect("every body fully captured"))
        .collect()
}

#[test]
fn the_tour_shows_every_op() {
    let t = decode(include_bytes!("../../docs/captures/tour.pcap"));
    let sums = md5s();
    let l = ladder(&t);
    assert_eq!(l.len(), 8, "{l:#?}");
    assert_eq!(l[0][0], "LIST");
    assert!(
        l[0][1].starts_with("status 0: listing of 4 files"),
        "{}",
        l[0][1]
    );
    assert_eq!(
        l[1],
        [
            "DOWNLOAD \"hello.txt\"",
            "status 0: the file follows, 18 bytes",
            "download: 18 bytes of file data"
        ]
    );
    assert_eq!(l[2][0], "DOWNLOAD \"docs/numbers.txt\"");
    assert_eq!(l[3][..2], ["UPLOAD \"upload.txt\"", "status 0 (ok)"]);
    assert_eq!(l[3][4], "status 0 (ok): stored");
    assert_eq!(
        l[4][..2],
        ["MGET \"docs/*.txt\"", "status 0: 2 files follow"]
    );
    assert_eq!(
        l[5],
        [
            "DOWNLOAD \"missing.txt\"",
            "status 1: no such file, or refused"
        ]
    );
    assert_eq!(
        l[6][..3],
        [
            "AUTH as \"alice\" (password in the clear)",
            "login status 0 (ok)",
            "DOWNLOAD \"notes.txt\""
        ]
    );
    assert_eq!(
        l[7],
        [
            "AUTH as \"alice\" (password in the clear)",
            "login status 1 (error or refused)"
        ]
    );
    // Every body is byte-exact: its MD5 is the MD5 of the file.
    let expected: Vec<&str> = [
        "hello.txt",
        "docs/numbers.txt",
        "upload.txt",
        "docs/numbers.txt",
        "docs/ops.txt",
        "notes.txt",
    ]
    .iter()
    .map(|f| sums[f])
    .collect();
    assert_eq!(body_md5s(&t), expected);
    // The upload's body travels client to server.
    let upload_body = t.connections[3]
        .messages
        .iter()
        .find(|m| m.kind == "body")
        .unwrap();
    assert_eq!(upload_body.direction, Direction::ToServer);
    assert_eq!(upload_body.op, Some(Op::Upload));
    // Passwords in the clear are pointed out, twice.
    let clear = t
        .connections
        .iter()
        .flat_map(|c| &c.anomalies)
        .filter(|a| a.kind == AnomalyKind::ClearTextPassword)
        .count();
    assert_eq!(clear, 2);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
}

#[test]
fn the_resume_continues_from_the_part_held() {
    let t = decode(include_bytes!("../../docs/captures/resume.pcap"));
    let l = ladder(&t);
    // A download cut by Ctrl-C (the client resets the connection), then
    // a RESUME from the part it kept.
    assert_eq!(l.len(), 2);
    assert_eq!(l[0][0], "DOWNLOAD \"sample.txt\"");
    assert!(
        t.connections[0]
            .anomalies
            .iter()
            .any(|a| a.en.contains("RST from")),
        "{:?}",
        t.connections[0].anomalies
    );
    assert!(
        l[1][0].starts_with("RESUME \"sample.txt\" from byte "),
        "{}",
        l[1][0]
    );
    assert!(l[1][1].starts_with("status 0, result 0: "), "{}", l[1][1]);
    let resume = &t.connections[1];
    let body = resume.messages[2].payload.as_ref().unwrap();
    assert_eq!(body.size, body.captured);
    let md5_field = resume.messages[0]
        .fields
        .iter()
        .find(|f| f.name == ferry_core::Field::Md5)
        .unwrap();
    assert_eq!(md5_field.len, 16);
    // The part held plus the rest is the whole file.
    let position: u64 = resume.messages[0]
        .fields
        .iter()
        .find(|f| f.name == ferry_core::Field::Position)
        .unwrap()
        .value
        .parse()
        .unwrap();
    let whole = t.connections[0].messages[2].payload.as_ref().unwrap().size;
    assert_eq!(position + body.size, whole);
}

#[test]
fn the_errors_show_the_bad_request_and_the_refusal() {
    let t = decode(include_bytes!("../../docs/captures/errors.pcap"));
    let l = ladder(&t);
    assert_eq!(l[0][0], "the request breaks the protocol: unknown op 99");
    assert_eq!(
        l[1][0],
        "the request breaks the protocol: the name has a '.' or '..' component"
    );
    for conn in &l {
        assert_eq!(
            conn[1],
            "status 1: refused (the request broke the protocol); the server closes"
        );
    }
    let name = &t.connections[1].messages[0].fields[2];
    assert_eq!(name.value, "\"../etc/passwd\"");
    let kinds: Vec<_> = t
        .connections
        .iter()
        .flat_map(|c| c.anomalies.iter().map(|a| a.kind))
        .collect();
    assert_eq!(kinds, [AnomalyKind::UnknownOp, AnomalyKind::BadMessage]);
}

#[test]
fn the_example_captures_stay_small() {
    for (name, len) in [
        (
            "tour",
            include_bytes!("../../docs/captures/tour.pcap").len(),
        ),
        (
            "resume",
            include_bytes!("../../docs/captures/resume.pcap").len(),
        ),
        (
            "errors",
            include_bytes!("../../docs/captures/errors.pcap").len(),
        ),
    ] {
        assert!(len < 200 * 1024, "{name}.pcap is {len} bytes");
    }
}
