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

/// The committed `pcap` (little-endian, microseconds) rewritten in another
/// legacy form: big-endian if `big`, nanosecond times if `nanos`, the
/// modified pcap's 24-byte record headers if `modified`.
fn rewritten(pcap: &[u8], big: bool, nanos: bool, modified: bool) -> Vec<u8> {
    let le = |at: usize| u32::from_le_bytes(pcap[at..at + 4].try_into().unwrap());
    assert_eq!(le(0), 0xa1b2_c3d4, "a little-endian microsecond pcap");
    let word = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let half = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let magic = match (nanos, modified) {
        (true, _) => 0xa1b2_3c4d,
        (false, true) => 0xa1b2_cd34,
        (false, false) => 0xa1b2_c3d4,
    };
    let mut out = Vec::new();
    out.extend(word(magic));
    out.extend(half(2));
    out.extend(half(4));
    for at in [8, 12, 16, 20] {
        out.extend(word(le(at)));
    }
    let mut at = 24;
    while at < pcap.len() {
        let (sec, usec, caplen, len) = (le(at), le(at + 4), le(at + 8), le(at + 12));
        out.extend(word(sec));
        out.extend(word(if nanos { usec * 1000 } else { usec }));
        out.extend(word(caplen));
        out.extend(word(len));
        if modified {
            out.extend([0, 0, 0, 1, 0, 8, 0, 0]);
        }
        out.extend(&pcap[at + 16..at + 16 + caplen as usize]);
        at += 16 + caplen as usize;
    }
    out
}

/// `bytes` compressed by Debian's gzip.
fn gzipped(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gzip = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip (Debian's) is installed");
    let mut input = gzip.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&bytes));
    let out = gzip.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn every_legacy_form_in_both_byte_orders_and_gzip_decodes_the_same() {
    for pcap in [
        &include_bytes!("../../docs/captures/tour.pcap")[..],
        include_bytes!("../../docs/captures/resume.pcap"),
        include_bytes!("../../docs/captures/errors.pcap"),
    ] {
        let want = serde_json::to_string(&decode(pcap)).unwrap();
        assert!(decode(pcap).connections.len() > 1);
        for big in [false, true] {
            for (nanos, modified) in [(false, false), (true, false), (false, true)] {
                let form = rewritten(pcap, big, nanos, modified);
                for bytes in [gzipped(&form), form] {
                    let got = serde_json::to_string(&decode(&bytes)).unwrap();
                    assert!(
                        got == want,
                        "big-endian {big}, nanoseconds {nanos}, modified {modified}, {} bytes",
                        bytes.len()
                    );
                }
            }
        }
        let gz = gzipped(pcap);
        assert_eq!(serde_json::to_string(&decode(&gz)).unwrap(), want);
    }
}

#[test]
fn a_gzip_file_that_is_no_capture_or_broken_says_so() {
    use ferry_core::CaptureError;
    let options = TraceOptions::default();
    assert_eq!(
        decode_capture(&gzipped(b"hello, not a capture"), &options).unwrap_err(),
        CaptureError::NotACapture
    );
    let mut broken = gzipped(include_bytes!("../../docs/captures/tour.pcap"));
    broken.truncate(broken.len() / 2);
    assert!(matches!(
        decode_capture(&broken, &options),
        Err(CaptureError::BadGzip(_))
    ));
}
