//! The example captures in docs/captures, recorded from real runs by
//! scripts/make-captures.sh: decoded message by message and checked against
//! the MD5s of the files the run served.

use std::collections::HashMap;

use ferry_core::{
    AnomalyKind, Direction, KeyLog, Layer, Message, Op, TraceOptions, Transcript, decode_capture,
};

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
    assert_eq!(l.len(), 9, "{l:#?}");
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
    // MGET lists first (to skip what is already here), then streams.
    assert_eq!(l[4][0], "LIST");
    assert_eq!(
        l[5][..2],
        ["MGET \"docs/*.txt\"", "status 0: 2 files follow"]
    );
    assert_eq!(
        l[6],
        [
            "DOWNLOAD \"missing.txt\"",
            "status 1: no such file, or refused"
        ]
    );
    assert_eq!(
        l[7][..3],
        [
            "AUTH as \"alice\" (password in the clear)",
            "login status 0 (ok)",
            "DOWNLOAD \"notes.txt\""
        ]
    );
    assert_eq!(
        l[8],
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

const TLS_TOUR: &[u8] = include_bytes!("../../docs/captures/tls-tour.pcap");
const TLS_KEYS: &[u8] = include_bytes!("../../docs/captures/tls-tour.keys");

fn with_keys(keys: &[u8]) -> TraceOptions {
    let mut options = TraceOptions::default();
    options.keylog = KeyLog::parse(keys).unwrap();
    options
}

#[test]
fn the_tls_tour_shows_its_handshake_and_nothing_else_without_keys() {
    let t = decode(TLS_TOUR);
    assert_eq!(t.connections.len(), 9);
    for c in &t.connections {
        let tls = c.tls.as_ref().expect("a TLS conversation");
        assert_eq!(tls.version.as_deref(), Some("TLS 1.3"));
        assert!(tls.cipher_suite.as_deref().unwrap().starts_with("TLS_"));
        assert_eq!(tls.server_name.as_deref(), Some("localhost"));
        assert_eq!(tls.alpn, ["ferry"]);
        assert_eq!(tls.records_opened, 0);
        // Every message is a record; none is a ferry message.
        assert!(
            c.messages
                .iter()
                .all(|m| m.layer == Layer::Tls && m.op.is_none())
        );
        assert!(
            c.messages[0]
                .summary
                .starts_with("TLS ClientHello: offers TLS 1.3"),
            "{}",
            c.messages[0].summary
        );
        assert!(
            c.messages
                .iter()
                .any(|m| m.summary.starts_with("TLS ServerHello: TLS 1.3, TLS_"))
        );
        let lesson: Vec<_> = c
            .anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::Encrypted)
            .collect();
        assert_eq!(lesson.len(), 1);
        assert!(
            lesson[0].en.contains("ferry decode --keylog FILE opens it"),
            "{}",
            lesson[0].en
        );
        // Records fit end to end: each direction's records cover its stream.
        for (dir, total) in [
            (Direction::ToServer, c.bytes_to_server),
            (Direction::ToClient, c.bytes_to_client),
        ] {
            let mut at = 0;
            for m in c.messages.iter().filter(|m| m.direction == dir) {
                assert_eq!(m.offset, at);
                at += m.len;
            }
            assert_eq!(at, total);
        }
    }
    let json = serde_json::to_string(&t).unwrap();
    for secret in [
        "alice",
        "secret",
        "uploaded by the client",
        "alice private notes",
    ] {
        let hidden = json.replace("extended_master_secret", "");
        assert!(
            !hidden.contains(secret),
            "{secret} shows without the key log"
        );
    }
}

#[test]
fn the_tls_tour_opened_with_its_key_log_shows_the_plain_tours_messages() {
    let plain = decode(include_bytes!("../../docs/captures/tour.pcap"));
    let t = decode_capture(TLS_TOUR, &with_keys(TLS_KEYS)).unwrap();
    assert_eq!(t.connections.len(), plain.connections.len());
    for (c, p) in t.connections.iter().zip(&plain.connections) {
        assert!(c.tls.as_ref().unwrap().records_opened > 0);
        let inside: Vec<&Message> = c
            .messages
            .iter()
            .filter(|m| m.layer == Layer::Decrypted)
            .collect();
        assert_eq!(inside.len(), p.messages.len(), "{:#?}", c.messages);
        for (m, q) in inside.iter().zip(&p.messages) {
            // Same message, same bytes: the decrypted streams are the plain ones.
            assert_eq!(
                (m.direction, m.op, &m.kind, m.offset, m.len),
                (q.direction, q.op, &q.kind, q.offset, q.len)
            );
            if m.op != Some(Op::Auth) || m.direction == Direction::ToClient {
                assert_eq!(m.summary, q.summary);
            }
            let fields = |m: &Message| -> Vec<_> {
                m.fields
                    .iter()
                    .map(|f| (f.name, f.offset, f.len, f.hex.clone(), f.value.clone()))
                    .collect()
            };
            assert_eq!(fields(m), fields(q));
            assert_eq!(m.payload, q.payload);
            assert_eq!(m.listing, q.listing);
            // Tied to the records that carried it, and so to frames.
            assert!(!m.records.is_empty() && !m.frames.is_empty());
            for r in &m.records {
                let record = c.messages.iter().find(|x| {
                    x.layer == Layer::Tls && x.offset == *r && x.direction == m.direction
                });
                let record = record.expect("a record message at that offset");
                assert!(record.summary.contains("decrypted"), "{}", record.summary);
                assert!(record.frames.iter().any(|f| m.frames.contains(f)));
            }
        }
    }
    // The passwords are pointed out as protected, not as in the clear.
    let kinds: Vec<AnomalyKind> = t
        .connections
        .iter()
        .flat_map(|c| &c.anomalies)
        .map(|a| a.kind)
        .collect();
    assert!(!kinds.contains(&AnomalyKind::ClearTextPassword));
    let protected = t
        .connections
        .iter()
        .flat_map(|c| &c.anomalies)
        .filter(|a| a.en.contains("crossed the network encrypted by TLS"))
        .count();
    assert_eq!(protected, 2);
}

#[test]
fn a_key_log_of_another_run_or_a_changed_byte_opens_nothing_and_says_why() {
    // Secrets of other conversations: the lesson says so.
    let other = "CLIENT_TRAFFIC_SECRET_0 0000000000000000000000000000000000000000000000000000000000000000 \
        1111111111111111111111111111111111111111111111111111111111111111\n";
    let t = decode_capture(TLS_TOUR, &with_keys(other.as_bytes())).unwrap();
    for c in &t.connections {
        assert!(
            c.anomalies
                .iter()
                .any(|a| a.en.contains("no secrets for this conversation"))
        );
        assert!(c.messages.iter().all(|m| m.layer == Layer::Tls));
    }
    // Right secrets, wrong values: each direction stops at its first record.
    let mut wrong = String::new();
    for line in std::str::from_utf8(TLS_KEYS).unwrap().lines() {
        let (head, secret) = line.rsplit_once(' ').unwrap();
        let flipped: String = secret
            .chars()
            .map(|c| {
                if c == '0' {
                    '1'
                } else if c == '1' {
                    '0'
                } else {
                    c
                }
            })
            .collect();
        wrong += &format!("{head} {flipped}\n");
    }
    let t = decode_capture(TLS_TOUR, &with_keys(wrong.as_bytes())).unwrap();
    let c = &t.connections[0];
    let failed: Vec<_> = c
        .anomalies
        .iter()
        .filter(|a| a.en.contains("does not open with the key log's secrets"))
        .collect();
    assert_eq!(failed.len(), 2, "{:#?}", c.anomalies);
    assert_eq!(c.tls.as_ref().unwrap().records_opened, 0);
}

#[test]
fn a_key_log_with_only_application_secrets_still_opens_the_ferry_messages() {
    let only: String = std::str::from_utf8(TLS_KEYS)
        .unwrap()
        .lines()
        .filter(|l| l.contains("TRAFFIC_SECRET_0"))
        .map(|l| format!("{l}\n"))
        .collect();
    let all = decode_capture(TLS_TOUR, &with_keys(TLS_KEYS)).unwrap();
    let some = decode_capture(TLS_TOUR, &with_keys(only.as_bytes())).unwrap();
    for (a, b) in all.connections.iter().zip(&some.connections) {
        let inside = |c: &ferry_core::Connection| -> Vec<String> {
            c.messages
                .iter()
                .filter(|m| m.layer == Layer::Decrypted)
                .map(|m| m.summary.clone())
                .collect()
        };
        assert_eq!(inside(b), inside(a));
        assert!(!inside(b).is_empty());
        // The handshake's records stay sealed: fewer records opened.
        let opened = |c: &ferry_core::Connection| c.tls.as_ref().unwrap().records_opened;
        assert!(opened(b) < opened(a), "{} < {}", opened(b), opened(a));
    }
}

#[test]
fn the_tls_tour_split_anywhere_by_the_capture_never_panics() {
    // Cut the capture at many points: a record cut by the end, keys or not.
    let options = with_keys(TLS_KEYS);
    for cut in (24..TLS_TOUR.len()).step_by(97) {
        if let Ok(t) = decode_capture(&TLS_TOUR[..cut], &options) {
            assert!(t.connections.len() <= 9);
        }
    }
}

/// `pcap` rewritten by Wireshark's editcap (Debian's wireshark-common,
/// which scripts/setup.sh installs with tshark) as `format`.
fn editcap(pcap: &[u8], format: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "ferry-editcap-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (from, to) = (
        std::env::temp_dir().join(format!("{name}.in")),
        std::env::temp_dir().join(format!("{name}.out")),
    );
    std::fs::write(&from, pcap).unwrap();
    let out = std::process::Command::new("editcap")
        .args(["-F", format])
        .arg(&from)
        .arg(&to)
        .output()
        .expect("editcap (scripts/setup.sh installs tshark, which brings it)");
    let written = std::fs::read(&to);
    let _ = (std::fs::remove_file(&from), std::fs::remove_file(&to));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    written.unwrap()
}

#[test]
fn every_form_wiresharks_editcap_writes_decodes_the_same() {
    for pcap in [
        &include_bytes!("../../docs/captures/tour.pcap")[..],
        include_bytes!("../../docs/captures/resume.pcap"),
        include_bytes!("../../docs/captures/errors.pcap"),
    ] {
        let mut want = decode(pcap);
        for (format, read_as) in [
            ("pcap", "pcap"),
            ("nsecpcap", "pcap"),
            ("modpcap", "pcap"),
            ("pcapng", "pcapng"),
        ] {
            let bytes = editcap(pcap, format);
            let got = decode(&bytes);
            assert_eq!(got.format, read_as, "{format}");
            want.format = got.format.clone();
            assert_eq!(
                serde_json::to_string(&got).unwrap(),
                serde_json::to_string(&want).unwrap(),
                "{format}"
            );
        }
        assert_eq!(want.format, "pcapng");
    }
}

/// Every sentence a transcript says, with the words the decoder gave it.
fn sentences(t: &Transcript) -> Vec<(&ferry_core::Said, &str, &str)> {
    let mut all: Vec<(&ferry_core::Said, &str, &str)> = t
        .notes
        .iter()
        .map(|a| (&a.sentence, a.en.as_str(), a.pt.as_str()))
        .collect();
    for c in &t.connections {
        for a in &c.anomalies {
            all.push((&a.sentence, &a.en, &a.pt));
        }
        for m in &c.messages {
            all.push((&m.sentence, &m.summary, &m.summary_pt));
            for f in &m.fields {
                all.push((&f.sentence, &f.en, &f.pt));
            }
        }
    }
    all
}

#[test]
fn every_sentence_is_carried_as_a_key_and_arguments_that_a_front_end_can_say() {
    let tls = decode_capture(TLS_TOUR, &with_keys(TLS_KEYS)).unwrap();
    let plain_tls = decode(TLS_TOUR);
    let others: Vec<Transcript> = [
        &include_bytes!("../../docs/captures/tour.pcap")[..],
        include_bytes!("../../docs/captures/resume.pcap"),
        include_bytes!("../../docs/captures/errors.pcap"),
    ]
    .iter()
    .map(|pcap| decode(pcap))
    .collect();
    let mut checked = 0;
    for t in others.iter().chain([&tls, &plain_tls]) {
        for (sentence, en, pt) in sentences(t) {
            assert_eq!(ferry_core::words(sentence, false), en, "{sentence:?}");
            assert_eq!(ferry_core::words(sentence, true), pt, "{sentence:?}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} sentences");
    // In JSON, a sentence is its key and arguments, values typed.
    let t = &others[0];
    let json = serde_json::to_value(&t.connections[1].messages).unwrap();
    let sizes: Vec<&serde_json::Value> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sentence"]["key"] == "download.ok")
        .map(|m| &m["sentence"]["args"]["size"])
        .collect();
    assert_eq!(sizes.len(), 1, "{json:#}");
    assert_eq!(sizes[0]["key"], "bytes");
    assert!(sizes[0]["args"]["n"].is_u64());
}

/// A little-endian pcapng (as editcap writes it on this machine) in
/// big-endian byte order: every block's header and fixed fields, and every
/// option's code and length, swapped; packet bytes and option values (text,
/// single bytes) as they are.
fn big_endian_pcapng(le: &[u8]) -> Vec<u8> {
    let u32_at = |at: usize| u32::from_le_bytes(le[at..at + 4].try_into().unwrap());
    let u16_at = |at: usize| u16::from_le_bytes(le[at..at + 2].try_into().unwrap());
    let mut out = Vec::with_capacity(le.len());
    let mut at = 0;
    while at + 12 <= le.len() {
        let (kind, len) = (u32_at(at), u32_at(at + 4) as usize);
        let body = at + 8;
        let end = at + len - 4;
        out.extend(kind.to_be_bytes());
        out.extend((len as u32).to_be_bytes());
        // The fixed fields of each block, then where its options start.
        let options = match kind {
            0x0A0D_0D0A => {
                out.extend(u32_at(body).to_be_bytes()); // byte-order magic
                out.extend(u16_at(body + 4).to_be_bytes());
                out.extend(u16_at(body + 6).to_be_bytes());
                let section = u64::from_le_bytes(le[body + 8..body + 16].try_into().unwrap());
                out.extend(section.to_be_bytes());
                body + 16
            }
            1 => {
                out.extend(u16_at(body).to_be_bytes());
                out.extend(u16_at(body + 2).to_be_bytes());
                out.extend(u32_at(body + 4).to_be_bytes());
                body + 8
            }
            6 => {
                for field in 0..5 {
                    out.extend(u32_at(body + 4 * field).to_be_bytes());
                }
                let caplen = u32_at(body + 12) as usize;
                let data = body + 20;
                let padded = caplen.div_ceil(4) * 4;
                out.extend(&le[data..data + padded]);
                data + padded
            }
            _ => {
                // Blocks the decoder skips: kept as they are.
                out.extend(&le[body..end]);
                end
            }
        };
        let mut o = options;
        while o + 4 <= end {
            let (code, olen) = (u16_at(o), u16_at(o + 2) as usize);
            out.extend(code.to_be_bytes());
            out.extend((olen as u16).to_be_bytes());
            let value = olen.div_ceil(4) * 4;
            out.extend(&le[o + 4..(o + 4 + value).min(end)]);
            o += 4 + value;
        }
        out.extend((len as u32).to_be_bytes());
        at += len;
    }
    out
}

#[test]
fn pcapng_in_either_byte_order_decodes_the_same() {
    for pcap in [
        &include_bytes!("../../docs/captures/tour.pcap")[..],
        include_bytes!("../../docs/captures/resume.pcap"),
        include_bytes!("../../docs/captures/errors.pcap"),
    ] {
        let little = editcap(pcap, "pcapng");
        let big = big_endian_pcapng(&little);
        assert_eq!(big.len(), little.len());
        assert_eq!(&big[8..12], [0x1A, 0x2B, 0x3C, 0x4D], "big-endian magic");
        let want = serde_json::to_string(&decode(&little)).unwrap();
        assert!(decode(&little).connections.len() > 1);
        for bytes in [gzipped(&big), big] {
            assert_eq!(serde_json::to_string(&decode(&bytes)).unwrap(), want);
        }
    }
}
