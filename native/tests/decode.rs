//! `ferry decode` on captures recorded just now: scripts/make-captures.sh
//! runs the real server and client under tcpdump on the loopback interface,
//! and the transcript must match what was sent, byte for byte (by MD5).

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::BIN;
use md5::{Digest, Md5};
use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn record() -> (tempfile::TempDir, u16) {
    let out = tempfile::tempdir().unwrap();
    let port = free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/make-captures.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(out.path())
        .env("FERRY", BIN)
        .env("PORT", port.to_string())
        .env("TLS_PORT", free_port().to_string())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "make-captures.sh failed (it needs root and tcpdump: scripts/setup.sh installs it)"
    );
    (out, port)
}

fn decode(path: &std::path::Path, port: u16) -> Value {
    decode_with(path, port, &[])
}

fn decode_with(path: &std::path::Path, port: u16, options: &[&std::ffi::OsStr]) -> Value {
    let out = Command::new(BIN)
        .arg("decode")
        .arg(path)
        .args(["--json", "--port", &port.to_string()])
        .args(options)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn real_captures_decode_message_by_message() {
    let (dir, port) = record();
    let sums: HashMap<String, String> = std::fs::read_to_string(dir.path().join("files.md5"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once("  ")
                .map(|(s, n)| (n.to_owned(), s.to_owned()))
        })
        .collect();

    let tour = decode(&dir.path().join("tour.pcap"), port);
    // The same capture gzip-compressed (found by content, whatever its name).
    let status = Command::new("gzip")
        .args(["-k", "-S", ".compressed"])
        .arg(dir.path().join("tour.pcap"))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(decode(&dir.path().join("tour.pcap.compressed"), port), tour);
    let conns = tour["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 9, "{tour:#}");
    let ops: Vec<&str> = conns
        .iter()
        .map(|c| c["messages"][0]["op"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        ops,
        [
            "LIST", "DOWNLOAD", "DOWNLOAD", "UPLOAD", "LIST", "MGET", "DOWNLOAD", "AUTH", "AUTH"
        ]
    );
    for c in conns {
        assert_eq!(c["server"], format!("127.0.0.1:{port}"));
    }
    // Names and statuses, field by field.
    let first = &conns[1]["messages"];
    assert_eq!(first[0]["fields"][2]["value"], "\"hello.txt\"");
    assert_eq!(first[1]["fields"][0]["value"], "0");
    assert_eq!(
        conns[6]["messages"][1]["fields"][0]["value"], "1",
        "missing.txt: status 1"
    );
    // Every payload's MD5 is the MD5 of the file sent.
    let payload_md5s: Vec<String> = conns
        .iter()
        .flat_map(|c| c["messages"].as_array().unwrap())
        .filter_map(|m| m["payload"]["md5"].as_str().map(str::to_owned))
        .collect();
    let expected: Vec<String> = [
        "hello.txt",
        "docs/numbers.txt",
        "upload.txt",
        "docs/numbers.txt",
        "docs/ops.txt",
        "notes.txt",
    ]
    .iter()
    .map(|f| sums[*f].clone())
    .collect();
    assert_eq!(payload_md5s, expected);
    // The password in the clear is pointed out.
    assert!(
        conns[7]["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "clear_text_password")
    );

    let resume = decode(&dir.path().join("resume.pcap"), port);
    // A paced download cut by Ctrl-C, then resumed from the part kept.
    let msgs = resume["connections"][1]["messages"].as_array().unwrap();
    let summary = msgs[0]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("RESUME \"sample.txt\" from byte "),
        "{summary}"
    );
    assert_eq!(msgs[2]["payload"]["captured"], msgs[2]["payload"]["size"]);

    let errors = decode(&dir.path().join("errors.pcap"), port);
    let kinds: Vec<&str> = errors["connections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["anomalies"].as_array().unwrap())
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["unknown_op", "bad_message"]);

    // The tour again over TLS (on a port not given: found by its ALPN id).
    let tls_tour = dir.path().join("tls-tour.pcap");
    let sealed = decode(&tls_tour, port);
    let sealed_text = sealed.to_string().replace("extended_master_secret", "");
    for hidden in ["alice", "secret", "hello.txt", "uploaded by the client"] {
        assert!(
            !sealed_text.contains(hidden),
            "{hidden} shows without the key log"
        );
    }
    // With the client's key log, every message of the plain tour is inside,
    // field for field.
    let keys = dir.path().join("tls-tour.keys");
    let opened = decode_with(&tls_tour, port, &["--keylog".as_ref(), keys.as_os_str()]);
    let opened = opened["connections"].as_array().unwrap();
    assert_eq!(opened.len(), conns.len());
    let fields = |m: &Value| -> Vec<(Value, Value)> {
        m["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].clone(), f["value"].clone()))
            .collect()
    };
    for (c, plain) in opened.iter().zip(conns) {
        let inside: Vec<&Value> = c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["layer"] == "decrypted")
            .collect();
        let plain = plain["messages"].as_array().unwrap();
        assert_eq!(inside.len(), plain.len(), "{c:#}");
        for (m, p) in inside.iter().zip(plain) {
            assert_eq!(fields(m), fields(p));
            assert_eq!(m["payload"], p["payload"]);
        }
    }

    // The readable ladder shows the same conversation.
    let out = Command::new(BIN)
        .arg("decode")
        .arg(dir.path().join("tour.pcap"))
        .args(["--port", &port.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("client ──▶ server") && text.contains("DOWNLOAD \"hello.txt\""),
        "{text}"
    );
    let out = Command::new(BIN)
        .arg("decode")
        .arg(dir.path().join("tour.pcap"))
        .args(["--pt", "--port", &port.to_string()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Código da operação"));
}

#[test]
fn portuguese_writes_numbers_and_times_its_own_way() {
    let tour = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/captures/tour.pcap");
    let words = |lang: &[&str]| {
        let out = Command::new(BIN)
            .args(["decode", tour])
            .args(lang)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let (en, pt) = (words(&[]), words(&["--pt"]));
    // The tour's hello.txt: 6393 bytes, and a LIST of one byte.
    assert!(en.contains("the file follows, 6393 bytes"), "{en}");
    assert!(pt.contains("o arquivo vem a seguir, 6.393 bytes"), "{pt}");
    assert!(
        en.contains("; 1 byte from the client, 166 bytes from the server"),
        "{en}"
    );
    assert!(
        pt.contains("; 1 byte do cliente, 166 bytes do servidor"),
        "{pt}"
    );
    assert!(en.contains("  2           0.000017  client"), "{en}");
    assert!(pt.contains("  2           0,000017  cliente"), "{pt}");
    assert!(!en.contains(" 1 bytes") && !pt.contains(" 1 bytes"));
    // JSON values stay numbers, whatever the language.
    assert!(words(&["--pt", "--json"]).contains("\"size\": 6393"));
}

#[test]
fn a_file_that_is_not_a_capture_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.pcap"), b"hello").unwrap();
    let out = Command::new(BIN)
        .arg("decode")
        .arg(dir.path().join("x.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));
    let out = Command::new(BIN)
        .arg("decode")
        .arg(dir.path().join("missing.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    // A key log that is not one: named, with its line, before any decoding.
    let tour = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/captures/tls-tour.pcap"
    );
    std::fs::write(dir.path().join("keys.txt"), "# keys\nGET / HTTP/1.1\n").unwrap();
    let out = Command::new(BIN)
        .args(["decode", tour, "--keylog"])
        .arg(dir.path().join("keys.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("keys.txt: line 2 is not a key-log line"),
        "{stderr}"
    );
}

/// Frame numbers, TCP flags and data lengths as tcpdump reads a capture:
/// one line per packet, so the line number is the frame number.
fn tcpdump_frames(path: &std::path::Path) -> Vec<(u64, String, u64)> {
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(path)
        .output()
        .expect("tcpdump is missing: scripts/setup.sh installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let flags = line
                .split("Flags [")
                .nth(1)
                .and_then(|rest| rest.split(']').next())
                .unwrap_or_default();
            // tcpdump's letters in our (Wireshark's) words and order.
            let words: Vec<&str> = [
                ('F', "FIN"),
                ('S', "SYN"),
                ('R', "RST"),
                ('P', "PSH"),
                ('.', "ACK"),
            ]
            .iter()
            .filter(|(c, _)| flags.contains(*c))
            .map(|(_, w)| *w)
            .collect();
            let len = line
                .rsplit("length ")
                .next()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            (i as u64 + 1, words.join(", "), len)
        })
        .collect()
}

#[test]
fn frames_flags_and_lengths_match_tcpdump_on_every_committed_capture() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/captures");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pcap") {
            continue;
        }
        let transcript = decode(&path, 20000);
        let expected = tcpdump_frames(&path);
        assert_eq!(transcript["packets"], expected.len() as u64, "{path:?}");
        for connection in transcript["connections"].as_array().unwrap() {
            for segment in connection["segments"].as_array().unwrap() {
                let frame = segment["frame"].as_u64().unwrap();
                let (_, flags, len) = &expected[frame as usize - 1];
                assert_eq!(segment["flags"], flags.as_str(), "{path:?} frame {frame}");
                assert_eq!(segment["len"], *len, "{path:?} frame {frame}");
                checked += 1;
            }
            // Each message's frames carry data in its direction.
            for message in connection["messages"].as_array().unwrap() {
                let frames = message["frames"].as_array().unwrap();
                assert!(
                    !frames.is_empty() || message["len"] == 0,
                    "{path:?}: {message}"
                );
                for frame in frames {
                    let (_, _, len) = &expected[frame.as_u64().unwrap() as usize - 1];
                    assert!(*len > 0, "{path:?}: frame {frame} carries no data");
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} segments checked");
}

/// The frames Wireshark's own TCP analysis (tshark) flags with `field`.
fn tshark_frames(capture: &std::path::Path, port: u16, field: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(capture)
        .args(["-d", &format!("tcp.port=={port},echo"), "-Y", field])
        .args(["-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[test]
fn a_paced_download_shows_the_tcp_lessons_wireshark_finds() {
    // A client reading at 500 KB/s fills its receive buffer: it advertises
    // a zero window, then window updates as it reads.
    let file = common::data(1_500_000, 7);
    let server = common::Server::start(&[], |root| {
        std::fs::write(root.join("public/paced.bin"), &file).unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let got = dir.path().join("paced.bin");
    let capture = common::capture::captured(&[server.addr.port()], || {
        let out = Command::new(BIN)
            .args([
                "get",
                &server.addr.to_string(),
                "paced.bin",
                "--limit-rate",
                "500K",
                "-o",
            ])
            .arg(&got)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    assert_eq!(std::fs::read(&got).unwrap(), file);
    let path = dir.path().join("paced.pcap");
    std::fs::write(&path, capture).unwrap();
    let port = server.addr.port();
    let t = decode(&path, port);
    let c = &t["connections"][0];
    let ours = |role: &str| -> Vec<u64> {
        c["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["role"] == role)
            .map(|s| s["frame"].as_u64().unwrap())
            .collect()
    };
    let zero = ours("zero_window");
    assert!(!zero.is_empty(), "no zero window in a paced download");
    assert_eq!(zero, tshark_frames(&path, port, "tcp.analysis.zero_window"));
    let updates = ours("window_update");
    assert!(!updates.is_empty());
    assert_eq!(
        updates,
        tshark_frames(&path, port, "tcp.analysis.window_update")
    );
    // On loopback these two are usually empty on both sides: they guard
    // against the decoder seeing what Wireshark does not.
    assert_eq!(
        ours("duplicate_ack"),
        tshark_frames(&path, port, "tcp.analysis.duplicate_ack")
    );
    assert_eq!(
        ours("retransmission"),
        tshark_frames(&path, port, "tcp.analysis.retransmission")
    );
    // The body is whole, and the lesson names the frames.
    let body = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "body")
        .unwrap();
    assert_eq!(body["payload"]["md5"], format!("{:x}", Md5::digest(&file)));
    let lesson = c["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "zero_window")
        .unwrap();
    let first = zero[0].to_string();
    assert!(
        lesson["en"]
            .as_str()
            .unwrap()
            .contains(&format!("frames {first}")),
        "{lesson}"
    );
    // The terminal shows every window update, runs of them as one line
    // that says how many.
    let out = Command::new(BIN)
        .arg("decode")
        .arg(&path)
        .args(["--port", &port.to_string()])
        .output()
        .unwrap();
    let ladder = String::from_utf8(out.stdout).unwrap();
    let shown: usize = ladder
        .lines()
        .filter(|l| l.contains("window update: room again"))
        .map(|l| {
            match l
                .split(" (")
                .last()
                .and_then(|t| t.strip_suffix(" such segments)"))
            {
                Some(n) => n.parse().unwrap(),
                None => 1,
            }
        })
        .sum();
    assert_eq!(shown, updates.len(), "{ladder}");
}
