//! `ferry serve` over real TCP on 127.0.0.1 with real files: every op,
//! hostile names, malformed frames, stalls, disconnects, load and AUTH.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Server, add_user, data, mask, name, raw, request, snapshot};
use ferry_core::{ClientEvent, Limits, Name, Request, ResumeOutcome};
use md5::{Digest, Md5};

const SIZES: [usize; 6] = [0, 1, 1023, 1024, 1025, 5 << 20];

fn md5(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

fn sized_server() -> Server {
    sized_server_with(&[])
}

fn sized_server_with(extra: &[&str]) -> Server {
    Server::start(extra, |root| {
        for (i, size) in SIZES.iter().enumerate() {
            std::fs::write(
                root.join(format!("public/size-{size}")),
                data(*size, i as u8),
            )
            .unwrap();
        }
        std::fs::create_dir_all(root.join("public/docs/deep")).unwrap();
        std::fs::write(root.join("public/docs/deep/note.txt"), b"deep note").unwrap();
    })
}

#[test]
fn download_every_size_byte_for_byte() {
    let server = sized_server();
    for size in SIZES {
        let file = format!("size-{size}");
        let expected = std::fs::read(server.public().join(&file)).unwrap();
        let got = request(
            server.addr,
            None,
            Request::Download { name: name(&file) },
            &[],
        );
        assert_eq!(got.events, [ClientEvent::File { size: size as u32 }]);
        assert!(got.body() == expected, "{file} differs");
        assert!(got.error.is_none());
    }
    let nested = request(
        server.addr,
        None,
        Request::Download {
            name: name("docs/deep/note.txt"),
        },
        &[],
    );
    assert_eq!(nested.body(), b"deep note");
    let missing = request(
        server.addr,
        None,
        Request::Download { name: name("nope") },
        &[],
    );
    assert_eq!(missing.events, [ClientEvent::Refused]);
}

/// Bodies of 8 MiB and more leave from a blocking-pool thread on its own
/// descriptor of the socket: op 10, op 40 and op 50 over that path.
#[test]
fn large_bodies_leave_whole_from_the_blocking_sender() {
    let big = data(12 << 20, 7);
    let server = Server::start(&[], |root| {
        std::fs::write(root.join("public/big.bin"), &big).unwrap();
    });
    let got = request(
        server.addr,
        None,
        Request::Download {
            name: name("big.bin"),
        },
        &[],
    );
    assert!(got.error.is_none(), "{:?}", got.error);
    assert!(got.body() == big, "download differs");
    let position = 3 << 20;
    let resume = Request::Resume {
        name: name("big.bin"),
        position: position as u32,
        md5: md5(&big[..position]),
    };
    let got = request(server.addr, None, resume, &[]);
    assert!(got.bodies.concat() == big[position..], "resume differs");
    let got = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("*.bin"),
        },
        &[],
    );
    assert!(got.bodies.concat() == big, "mget differs");
}

#[test]
fn upload_every_size_byte_for_byte_and_replace() {
    let server = sized_server();
    for (i, size) in SIZES.iter().enumerate() {
        let content = data(*size, 100 + i as u8);
        let target = format!("up/loaded-{size}.bin");
        let got = request(
            server.addr,
            None,
            Request::Upload {
                name: name(&target),
            },
            &content,
        );
        assert_eq!(
            got.events,
            [
                ClientEvent::UploadAccepted,
                ClientEvent::UploadDone { stored: true }
            ]
        );
        assert!(
            server.stored(&format!("public/{target}")).unwrap() == content,
            "{target}"
        );
    }
    // No temporary file is left anywhere.
    assert!(
        snapshot(&server.root())
            .iter()
            .all(|(p, _)| !p.to_string_lossy().contains(".ferry-"))
    );
}

/// Op 30 of `body` as `name`, without a login: the first and final status
/// bytes (the final one absent when the first refuses).
fn upload_status(addr: std::net::SocketAddr, target: &str, body: &[u8]) -> Vec<ClientEvent> {
    request(addr, None, Request::Upload { name: name(target) }, body).events
}

#[test]
fn uploads_without_a_login_add_files_but_never_replace_them() {
    let server = Server::start(&[], |root| {
        std::fs::write(root.join("public/welcome.txt"), b"course notes").unwrap();
    });
    // Refused at the first status: no body is sent, nothing changes.
    assert_eq!(
        upload_status(server.addr, "welcome.txt", b"HACKED"),
        [ClientEvent::Refused]
    );
    assert_eq!(
        server.stored("public/welcome.txt").unwrap(),
        b"course notes"
    );
    let log = server.wait_log("--public-overwrite allows it", 1);
    assert!(
        log.contains("\"welcome.txt\" refused: the file exists, and uploads without a login cannot replace files (ferry serve --public-overwrite allows it)"),
        "{log}"
    );
    // A new name is stored, once.
    let stored = [
        ClientEvent::UploadAccepted,
        ClientEvent::UploadDone { stored: true },
    ];
    assert_eq!(upload_status(server.addr, "mine.txt", b"first"), stored);
    assert_eq!(
        upload_status(server.addr, "mine.txt", b"second"),
        [ClientEvent::Refused]
    );
    assert_eq!(server.stored("public/mine.txt").unwrap(), b"first");
}

#[test]
fn public_overwrite_lets_uploads_without_a_login_replace_files() {
    let server = Server::start(&["--public-overwrite"], |root| {
        std::fs::write(root.join("public/welcome.txt"), b"course notes").unwrap();
    });
    assert_eq!(
        upload_status(server.addr, "welcome.txt", b"replaced"),
        [
            ClientEvent::UploadAccepted,
            ClientEvent::UploadDone { stored: true }
        ]
    );
    assert_eq!(server.stored("public/welcome.txt").unwrap(), b"replaced");
}

/// Sends op 30 for `target` on a fresh connection and reads the first
/// status; the body is sent later with [`finish_upload`].
fn begin_raw_upload(addr: std::net::SocketAddr, target: &str) -> (TcpStream, u8) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c.write_all(&frame(30, target.as_bytes(), &[])).unwrap();
    let mut first = [0u8; 1];
    c.read_exact(&mut first).unwrap();
    (c, first[0])
}

/// Sends the body of an upload begun with [`begin_raw_upload`]; the final status.
fn finish_upload(mut c: TcpStream, body: &[u8]) -> u8 {
    c.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    c.write_all(body).unwrap();
    let mut last = [0u8; 1];
    c.read_exact(&mut last).unwrap();
    last[0]
}

#[test]
fn of_two_new_uploads_of_one_name_the_first_to_finish_wins() {
    let server = Server::start(&[], |_| {});
    // Both are accepted: the name is new when each begins.
    let (first, a) = begin_raw_upload(server.addr, "race/new.txt");
    let (second, b) = begin_raw_upload(server.addr, "race/new.txt");
    assert_eq!((a, b), (0, 0));
    assert_eq!(
        finish_upload(second, b"second"),
        0,
        "the first to finish is stored"
    );
    assert_eq!(finish_upload(first, b"first"), 1, "the other is not stored");
    assert_eq!(server.stored("public/race/new.txt").unwrap(), b"second");
    let log = server.wait_log("stored meanwhile", 1);
    assert!(log.contains("the first upload to finish wins"), "{log}");
}

#[test]
fn a_name_is_never_given_a_second_spelling_and_unreachable_names_are_logged() {
    let server = Server::start(&[], |root| {
        std::fs::write(root.join("public/cafe\u{301}.txt"), b"decomposed").unwrap();
        std::fs::write(root.join("public/a\u{200b}.txt"), b"hidden").unwrap();
    });
    let log = server.wait_log("break the naming rules", 1);
    assert!(
        log.contains("1 name(s) in public/")
            && log.contains("  \"a\\u200b.txt\": name contains the invisible character U+200B"),
        "{log}"
    );
    assert_eq!(
        upload_status(server.addr, "caf\u{e9}.txt", b"composed"),
        [ClientEvent::Refused]
    );
    let log = server.wait_log("another Unicode spelling", 1);
    assert!(
        log.contains(
            "refused: \"cafe\u{301}.txt\" exists, the same name in another Unicode spelling"
        ),
        "{log}"
    );
    assert_eq!(
        server.stored("public/cafe\u{301}.txt").unwrap(),
        b"decomposed"
    );
    assert_eq!(server.stored("public/caf\u{e9}.txt"), None);
}

#[test]
fn a_name_is_never_both_a_file_and_a_folder() {
    let server = Server::start(&[], |root| {
        std::fs::write(root.join("public/x"), b"a file").unwrap();
        std::fs::create_dir(root.join("public/d")).unwrap();
        std::fs::write(root.join("public/d/y"), b"in a folder").unwrap();
    });
    for name in ["x/y", "d"] {
        assert_eq!(
            upload_status(server.addr, name, b"either"),
            [ClientEvent::Refused],
            "{name}"
        );
    }
    assert_eq!(server.stored("public/x").unwrap(), b"a file");
    assert_eq!(server.stored("public/d/y").unwrap(), b"in a folder");
}

#[test]
fn resume_every_size_from_several_points() {
    let server = sized_server();
    for size in SIZES {
        let file = format!("size-{size}");
        let content = std::fs::read(server.public().join(&file)).unwrap();
        for position in [0, size / 2, size] {
            let req = Request::Resume {
                name: name(&file),
                position: position as u32,
                md5: md5(&content[..position]),
            };
            let got = request(server.addr, None, req, &[]);
            let remaining = (size - position) as u32;
            assert_eq!(
                got.events,
                [ClientEvent::Resume(ResumeOutcome::Ok { remaining })],
                "{file}@{position}"
            );
            let body: Vec<u8> = got.bodies.concat();
            assert!(body == content[position..], "{file}@{position}");
        }
    }
    let wrong = Request::Resume {
        name: name("size-1024"),
        position: 10,
        md5: md5(b"not the prefix"),
    };
    assert_eq!(
        request(server.addr, None, wrong, &[]).events,
        [ClientEvent::Resume(ResumeOutcome::Mismatch)]
    );
    let past = Request::Resume {
        name: name("size-1"),
        position: 5,
        md5: md5(b""),
    };
    assert_eq!(
        request(server.addr, None, past, &[]).events,
        [ClientEvent::Resume(ResumeOutcome::Mismatch)]
    );
    let missing = Request::Resume {
        name: name("nope"),
        position: 0,
        md5: md5(b""),
    };
    assert_eq!(
        request(server.addr, None, missing, &[]).events,
        [ClientEvent::Resume(ResumeOutcome::NoSuchFile)]
    );
}

#[test]
fn resume_after_the_file_changed_in_place_is_a_mismatch() {
    let server = sized_server();
    let path = server.public().join("size-1025");
    let old = std::fs::read(&path).unwrap();
    let req = || Request::Resume {
        name: name("size-1025"),
        position: 1000,
        md5: md5(&old[..1000]),
    };
    assert_eq!(
        request(server.addr, None, req(), &[]).bodies.concat(),
        old[1000..]
    );
    // Same size, new content: the remembered digest must not be reused.
    let mut new = old.clone();
    new[0] ^= 0xff;
    std::thread::sleep(Duration::from_millis(10));
    server.put("public/size-1025", &new);
    assert_eq!(
        request(server.addr, None, req(), &[]).events,
        [ClientEvent::Resume(ResumeOutcome::Mismatch)]
    );
}

#[test]
fn list_and_mget_report_every_file() {
    let server = sized_server();
    let got = request(server.addr, None, Request::List, &[]);
    let [ClientEvent::Listing(entries)] = &got.events[..] else {
        panic!("{:?}", got.events)
    };
    let names: Vec<(&str, u64)> = entries.iter().map(|e| (e.name.as_str(), e.size)).collect();
    assert_eq!(
        names,
        [
            ("docs/deep/note.txt", 9),
            ("size-0", 0),
            ("size-1", 1),
            ("size-1023", 1023),
            ("size-1024", 1024),
            ("size-1025", 1025),
            ("size-5242880", 5 << 20)
        ]
    );
    let got = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("size-*"),
        },
        &[],
    );
    assert_eq!(got.events[0], ClientEvent::MGetStart { count: 6 });
    assert!(got.error.is_none(), "{:?}", got.error);
    // Entries come in listing order; size-0 has no body at all.
    let order = [
        "size-1",
        "size-1023",
        "size-1024",
        "size-1025",
        "size-5242880",
    ];
    assert_eq!(got.bodies.len(), order.len());
    for (body, file) in got.bodies.iter().zip(order) {
        assert!(
            *body == std::fs::read(server.public().join(file)).unwrap(),
            "{file}"
        );
    }
    let entry_names: Vec<String> = got
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::MGetEntry(entry) => Some(entry.name.as_ref().unwrap().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        entry_names,
        [
            "size-0",
            "size-1",
            "size-1023",
            "size-1024",
            "size-1025",
            "size-5242880"
        ]
    );
    let deep = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("**/*.txt"),
        },
        &[],
    );
    assert_eq!(deep.bodies, [b"deep note".to_vec()]);
    let none = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("*.jpg"),
        },
        &[],
    );
    assert_eq!(none.events, [ClientEvent::MGetStart { count: 0 }]);
    let bad = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("[oops"),
        },
        &[],
    );
    assert_eq!(bad.events, [ClientEvent::Refused]);
}

// ----- hostile names -----

fn hostile_names() -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = [
        "../etc/passwd",
        "a/../../x",
        "/etc/passwd",
        "..\\..\\win.ini",
        "a\\..\\..\\x",
        "%2e%2e/x",
        ".",
        "..",
        "",
        "/",
        "a//b",
        "C:\\x",
        "\\\\server\\share\\x",
        "evil",
        "evil/passwd",
        "evil/hostname",
        "rel",
        "linkdir/secret.txt",
        "linkdir/new.txt",
        "../outside/secret.txt",
        "../../secret",
        "../secret",
        "./size-1",
        "size-1/",
        "size-1/.",
        "size-1/..",
        ".ferry-upload-1-1",
        "docs/.ferry-x",
        "fifo",
        "docs",
        "a\x1b[2Jb",
        "evil\u{202e}txt.exe",
        "x\u{85}y",
        "new\nline",
        "tab\there",
        "a\u{200b}.txt",
        "wel\u{ad}come.txt",
        "etc\u{2215}passwd",
        "\u{2025}/x",
        "a\u{200f}b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    names.push(b"..\0/x".to_vec());
    names.push(b"a\0b".to_vec());
    names.push(b"\xff\xfe".to_vec());
    names.push(b"caf\xc3".to_vec());
    names.push(vec![b'a'; 256]);
    names.push(vec![b'b'; 4097]);
    names
}

fn hostile_server() -> Server {
    Server::start(&[], |root| {
        let public = root.join("public");
        std::fs::write(public.join("size-1"), b"1").unwrap();
        std::fs::create_dir_all(public.join("docs")).unwrap();
        let top = root.parent().unwrap();
        symlink("/etc", public.join("evil")).unwrap();
        symlink("../../secret", public.join("rel")).unwrap();
        symlink(top.join("outside"), public.join("linkdir")).unwrap();
        std::fs::write(public.join(".ferry-upload-1-1"), b"internal").unwrap();
        let fifo = public.join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap();
    })
}

fn frame(op: u8, name: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut bytes = vec![op];
    bytes.extend((name.len() as u32).to_be_bytes());
    bytes.extend(name);
    bytes.extend(tail);
    bytes
}

#[test]
fn hostile_names_are_refused_by_every_op_and_nothing_outside_changes() {
    let server = hostile_server();
    let before_outside = snapshot(server.tmp.path());
    let names = hostile_names();
    assert!(names.len() >= 30);
    let limits = Limits::default();
    let secrets: [&[u8]; 3] = [b"top secret", b"outside secret", b"root:"];
    for raw_name in &names {
        let shown = ferry_core::escape(&raw_name[..raw_name.len().min(40)]);
        let valid = Name::parse(raw_name, &limits).is_ok();
        if valid && server.bucket.is_some() {
            // In a bucket a valid name is just a key under the prefix: no
            // symlink, FIFO or folder stands behind it. The invalid ones
            // below are refused the same way by every store.
            continue;
        }
        // op 10: status 1.
        let reply = raw(server.addr, &frame(10, raw_name, &[]));
        assert_eq!(reply, [1], "DOWNLOAD {shown}");
        // op 30 with a body: first status 1, nothing stored.
        let mut body = 6u32.to_be_bytes().to_vec();
        body.extend(b"PWNED!");
        let reply = raw(server.addr, &frame(30, raw_name, &body));
        if raw_name == b"%2e%2e/x" {
            // A literal name like any other: stored inside the folder.
            assert_eq!(reply, [0, 0], "UPLOAD {shown}");
            assert_eq!(server.stored("public/%2e%2e/x").unwrap(), b"PWNED!");
        } else {
            assert_eq!(reply, [1], "UPLOAD {shown}");
        }
        // op 40: status 1 for a name that breaks the rules, result 10 for a
        // valid name that is not a regular file inside the folder.
        let mut tail = 0u32.to_be_bytes().to_vec();
        tail.extend(md5(b""));
        let reply = raw(server.addr, &frame(40, raw_name, &tail));
        let expected: &[u8] = match (valid, &raw_name[..]) {
            // Uploaded just above: a plain download from position 0.
            (true, b"%2e%2e/x") => b"\0\0\0\0\0\x06PWNED!",
            (true, _) => &[0, 10],
            (false, _) => &[1],
        };
        assert_eq!(reply, expected, "RESUME {shown}");
        // Nothing secret ever comes back.
        for secret in secrets {
            assert!(!reply.windows(secret.len()).any(|w| w == secret));
        }
    }
    // op 50 with hostile masks: no entry ever comes back.
    for m in [
        "../*",
        "/etc/*",
        "**/../*",
        "evil/*",
        "linkdir/*",
        "../../*",
        "rel",
        "**/secret*",
        "fifo",
        ".ferry-*",
    ] {
        let reply = raw(server.addr, &frame(50, m.as_bytes(), &[]));
        assert!(
            reply == [0, 0, 0, 0, 0] || reply == [1],
            "MGET {m}: {reply:?}"
        );
    }
    // The listing shows only regular files: the one there and the literal
    // `%2e%2e/x` uploaded above.
    let got = request(server.addr, None, Request::List, &[]);
    let [ClientEvent::Listing(entries)] = &got.events[..] else {
        panic!()
    };
    let expected: &[&str] = if server.bucket.is_some() {
        // In a bucket the valid names were skipped above; the internal
        // `.ferry-upload-1-1` copied into it is never listed.
        &["size-1"]
    } else {
        &["%2e%2e/x", "size-1"]
    };
    assert_eq!(
        entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        expected
    );
    // Nothing outside the root changed, and nothing new appeared inside but
    // the literal `%2e%2e/x`.
    let keep = |(p, _): &(std::path::PathBuf, Vec<u8>)| {
        !p.ends_with("server.log") && !p.to_string_lossy().contains("%2e%2e")
    };
    let after: Vec<_> = snapshot(server.tmp.path())
        .into_iter()
        .filter(keep)
        .collect();
    let before: Vec<_> = before_outside.into_iter().filter(keep).collect();
    assert_eq!(after, before);
}

// ----- malformed input -----

fn still_serving(server: &Server) {
    let got = request(
        server.addr,
        None,
        Request::Download {
            name: name("size-1"),
        },
        &[],
    );
    assert_eq!(got.body(), b"1", "the server stopped serving");
}

#[test]
fn malformed_frames_get_status_1_and_the_server_keeps_serving() {
    let server = hostile_server();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unknown op", vec![0x63]),
        ("zero op", vec![0, 1, 2, 3]),
        ("length 0xffffffff", vec![10, 0xff, 0xff, 0xff, 0xff]),
        ("mask length 0xffffffff", vec![50, 0xff, 0xff, 0xff, 0xff]),
        ("user length 0xffffffff", vec![60, 0xff, 0xff, 0xff, 0xff]),
        ("truncated name", vec![10, 0, 0, 0, 9, b'a']),
        ("truncated length", vec![40, 0, 0]),
        (
            "truncated md5",
            frame(40, b"size-1", &[0, 0, 0, 0, 1, 2, 3]),
        ),
        (
            "second auth",
            [
                frame(60, b"x", &[0, 0, 0, 0]),
                frame(60, b"x", &[0, 0, 0, 0]),
            ]
            .concat(),
        ),
        ("garbage", common::data(5000, 3)),
        (
            "a browser",
            b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let reply = raw(server.addr, &bytes);
        assert_eq!(reply, [1], "{what}");
        still_serving(&server);
    }
    // A connection that closes without a byte (a health probe) gets no
    // reply, and no line at the default log level.
    assert_eq!(raw(server.addr, &[]), b"");
    still_serving(&server);
    // Trailing bytes after a complete request are ignored, the request answered.
    let reply = raw(
        server.addr,
        &[frame(10, b"size-1", &[]), vec![0xde, 0xad]].concat(),
    );
    assert_eq!(reply, [0, 0, 0, 0, 1, b'1']);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        server.log().contains("(2 extra bytes ignored)"),
        "{}",
        server.log()
    );
    let log = server.log();
    assert!(log.contains("unknown op 99"), "{log}");
    assert!(
        log.contains("looks like HTTP (GET /index.html): this port speaks ferry's protocol"),
        "{log}"
    );
    assert!(
        log.contains("client closed the connection in the middle of its request (after 6 bytes)"),
        "{log}"
    );
    assert!(
        !log.contains("after 0 bytes"),
        "the empty connection is not logged: {log}"
    );
}

#[test]
fn a_stalled_client_is_cut_at_the_timeout() {
    let server = Server::start(&["--timeout", "1"], |root| {
        std::fs::write(root.join("public/f"), b"x").unwrap();
    });
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(&[10, 0, 0]).unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let waited = started.elapsed();
    assert_eq!(reply, [1], "status 1 then close");
    assert!(
        waited >= Duration::from_millis(900),
        "cut too early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "not cut: {waited:?}");
    // A client that never sends a byte gets the same answer, on time.
    let mut silent = TcpStream::connect(server.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    silent.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, [1]);
    assert!(
        started.elapsed() >= Duration::from_millis(900)
            && started.elapsed() < Duration::from_secs(10)
    );
    // A slow but moving client is not cut: one byte every 0.4 s.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    for byte in frame(10, b"f", &[]) {
        slow.write_all(&[byte]).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }
    let mut reply = Vec::new();
    slow.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, [0, 0, 0, 0, 1, b'x']);
}

#[test]
fn a_disconnect_mid_upload_leaves_nothing() {
    let server = hostile_server();
    let before = snapshot(&server.root());
    {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        stream.write_all(&frame(30, b"half/done.bin", &[])).unwrap();
        let mut status = [9];
        stream.read_exact(&mut status).unwrap();
        assert_eq!(status, [0]);
        stream.write_all(&(1u32 << 20).to_be_bytes()).unwrap();
        stream.write_all(&data(100_000, 1)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    } // dropped: the connection closes mid-body
    let deadline = Instant::now() + Duration::from_secs(10);
    // The server's own line: a cache in front logs its line first.
    while !server.server_log().contains("UPLOAD \"half/done.bin\"") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.server_log().contains(
            "UPLOAD \"half/done.bin\" client closed the connection during the upload (after 100000 of 1048576 bytes)"
        ),
        "{}",
        server.log()
    );
    let after: Vec<_> = snapshot(&server.root());
    let new: Vec<_> = after
        .iter()
        .filter(|entry| !before.contains(entry))
        .collect();
    // At most the parent folder may have been created; no file, no temporary.
    assert!(
        new.iter()
            .all(|(p, c)| c == b"<dir>" && p.ends_with("half")),
        "{new:?}"
    );
}

#[test]
fn upload_refused_early_when_larger_than_free_space() {
    let server = hostile_server();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(&frame(30, b"huge.bin", &[])).unwrap();
    let mut status = [9];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(status, [0]);
    // 4 GiB - 1 is more than a test machine's temporary folder should hold;
    // if it is not, the server simply waits for data, so only check a refusal
    // when one arrives.
    let free = rustix::fs::statvfs(server.public().as_path()).unwrap();
    if free.f_bavail * free.f_frsize < u64::from(u32::MAX) {
        stream.write_all(&u32::MAX.to_be_bytes()).unwrap();
        let mut final_status = [9];
        stream.read_exact(&mut final_status).unwrap();
        assert_eq!(final_status, [1], "early final status");
        assert!(!server.public().join("huge.bin").exists());
    }
}

// ----- load -----

#[test]
fn two_hundred_concurrent_clients_mixing_ops() {
    let server = sized_server();
    let addr = server.addr;
    let public = server.public();
    let (bucket, root) = (server.bucket.clone(), server.root());
    let threads: Vec<_> = (0..200)
        .map(|i| {
            let public = public.clone();
            let (bucket, root) = (bucket.clone(), root.clone());
            std::thread::spawn(move || match i % 5 {
                0 => {
                    let file = format!("size-{}", SIZES[i % SIZES.len()]);
                    let got = request(addr, None, Request::Download { name: name(&file) }, &[]);
                    assert!(
                        got.body() == std::fs::read(public.join(&file)).unwrap(),
                        "{file}"
                    );
                }
                1 => {
                    let got = request(addr, None, Request::List, &[]);
                    assert!(matches!(&got.events[..], [ClientEvent::Listing(e)] if e.len() >= 7));
                }
                2 => {
                    let content = data(10_000 + i, i as u8);
                    let target = format!("conc/u{i}.bin");
                    let got = request(
                        addr,
                        None,
                        Request::Upload {
                            name: name(&target),
                        },
                        &content,
                    );
                    assert_eq!(
                        got.events.last(),
                        Some(&ClientEvent::UploadDone { stored: true })
                    );
                    let stored =
                        common::stored_in(bucket.as_deref(), &root, &format!("public/{target}"));
                    assert!(stored.unwrap() == content);
                }
                3 => {
                    let content = std::fs::read(public.join("size-1025")).unwrap();
                    let req = Request::Resume {
                        name: name("size-1025"),
                        position: 500,
                        md5: md5(&content[..500]),
                    };
                    assert!(request(addr, None, req, &[]).bodies.concat() == content[500..]);
                }
                _ => {
                    let got = request(
                        addr,
                        None,
                        Request::MGet {
                            mask: mask("size-10*"),
                        },
                        &[],
                    );
                    assert_eq!(got.bodies.len(), 3);
                    assert!(got.bodies[2] == std::fs::read(public.join("size-1025")).unwrap());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client failed");
    }
}

#[test]
fn a_request_succeeds_while_500_idle_connections_are_open() {
    // All from one address: more than its default share, so said here.
    let server = sized_server_with(&["--max-connections-per-address", "1024"]);
    let idle: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let got = request(
        server.addr,
        None,
        Request::Download {
            name: name("size-1025"),
        },
        &[],
    );
    let file = std::fs::read(server.public().join("size-1025")).unwrap();
    assert!(got.body() == file);
    // The idle ones waited in the waiting room: each is served as soon
    // as its request arrives, the last parked as the first.
    for mut stream in [0, 250, 499].map(|i| idle[i].try_clone().unwrap()) {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        stream.write_all(&frame(10, b"size-1025", &[])).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        assert_eq!(reply[..5], [0, 0, 0, 4, 1]);
        assert!(reply[5..] == file);
    }
    drop(idle);
}

// ----- AUTH -----

#[test]
fn auth_opens_only_the_users_private_folder() {
    let server = Server::start(&[], |root| {
        std::fs::write(root.join("public/pub.txt"), b"public").unwrap();
        add_user(root, "alice", "wonderland");
        add_user(root, "bob", "builder");
        std::fs::write(root.join("private/alice/diary.txt"), b"alice's diary").unwrap();
        std::fs::write(root.join("private/bob/plans.txt"), b"bob's plans").unwrap();
    });
    let users = std::fs::read_to_string(server.root().join("users")).unwrap();
    assert!(
        users.contains("alice:$argon2id$") && !users.contains("wonderland"),
        "hashes only"
    );
    let alice = Some(("alice", "wonderland"));
    let got = request(
        server.addr,
        alice,
        Request::Download {
            name: name("diary.txt"),
        },
        &[],
    );
    assert_eq!(
        got.events,
        [ClientEvent::AuthAccepted, ClientEvent::File { size: 13 }]
    );
    assert_eq!(got.body(), b"alice's diary");
    // Not bob's file, not the public one, not by climbing.
    for n in ["plans.txt", "pub.txt"] {
        let got = request(server.addr, alice, Request::Download { name: name(n) }, &[]);
        assert_eq!(
            got.events,
            [ClientEvent::AuthAccepted, ClientEvent::Refused],
            "{n}"
        );
    }
    let mut climb = frame(60, b"alice", &[]);
    climb.extend(frame(0, b"wonderland", &[])[1..].iter());
    climb.extend(frame(10, b"../bob/plans.txt", &[]));
    assert_eq!(raw(server.addr, &climb), [0, 1]);
    // Her listing and uploads stay in her folder.
    let got = request(server.addr, alice, Request::List, &[]);
    assert!(
        matches!(&got.events[..], [ClientEvent::AuthAccepted, ClientEvent::Listing(e)] if e.len() == 1 && e[0].name == "diary.txt")
    );
    let got = request(
        server.addr,
        alice,
        Request::Upload {
            name: name("new.txt"),
        },
        b"hers",
    );
    assert_eq!(
        got.events.last(),
        Some(&ClientEvent::UploadDone { stored: true })
    );
    assert_eq!(server.stored("private/alice/new.txt").unwrap(), b"hers");
    assert_eq!(server.stored("public/new.txt"), None);
    // Wrong password, unknown user.
    for creds in [
        ("alice", "wrong"),
        ("mallory", "wonderland"),
        ("bob", "wonderland"),
    ] {
        let got = request(server.addr, Some(creds), Request::List, &[]);
        assert_eq!(got.events, [ClientEvent::AuthDenied], "{creds:?}");
    }
    // Anonymous clients see only the public folder.
    let got = request(server.addr, None, Request::List, &[]);
    assert!(
        matches!(&got.events[..], [ClientEvent::Listing(e)] if e.len() == 1 && e[0].name == "pub.txt")
    );
}

#[test]
fn repeated_failed_logins_are_slowed_down() {
    let server = Server::start(&[], |root| add_user(root, "carol", "right"));
    let mut waits = Vec::new();
    let mut starts = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        starts.push(started);
        let got = request(server.addr, Some(("carol", "wrong")), Request::List, &[]);
        assert_eq!(got.events, [ClientEvent::AuthDenied]);
        waits.push(started.elapsed());
    }
    // Each failure doubles the wait before the next check: the fifth check
    // comes at least 0.8 s after the fourth failure, which the server
    // recorded after the fourth attempt began (the wait counts from the
    // failure, not from the next connection).
    let fifth_answered = starts[4] + waits[4];
    assert!(
        fifth_answered - starts[3] >= Duration::from_millis(800),
        "{waits:?}"
    );
    assert!(waits[4] > waits[0], "{waits:?}");
}

#[test]
fn a_trusted_address_stands_for_many_clients_and_is_not_slowed_down() {
    let server = Server::start(&["--trust", "127.0.0.1"], |root| {
        add_user(root, "carol", "right")
    });
    let mut waits = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let got = request(server.addr, Some(("carol", "wrong")), Request::List, &[]);
        assert_eq!(got.events, [ClientEvent::AuthDenied]);
        waits.push(started.elapsed());
    }
    // Untrusted, the seventh check would wait 3.2 s more than the first.
    assert!(
        waits[6] < waits[0] + Duration::from_millis(1500),
        "{waits:?}"
    );
}

#[test]
fn a_reader_that_stalls_mid_body_is_cut_at_the_timeout() {
    // Large enough for the blocking sendfile loop.
    let server = Server::start(&["--timeout", "1"], |root| {
        std::fs::write(root.join("public/big.bin"), data(64 << 20, 4)).unwrap();
    });
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(&frame(10, b"big.bin", &[])).unwrap();
    let mut head = [0; 5];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0);
    // Read nothing more: the server must give up on its own.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server.log().contains("DOWNLOAD \"big.bin\" error") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.log();
    assert!(
        log.contains("DOWNLOAD \"big.bin\" error: timed out"),
        "{log}"
    );
    still_serving_f(&server);
}

fn still_serving_f(server: &Server) {
    server.put("public/f", b"x");
    let got = request(
        server.addr,
        None,
        Request::Download { name: name("f") },
        &[],
    );
    assert_eq!(got.body(), b"x");
}

#[test]
fn files_of_4_gib_or_more_are_refused_and_listed_with_their_true_size() {
    // A sparse file: 5 GiB on paper, nothing on disk.
    let server = Server::start(&[], |root| {
        let f = std::fs::File::create(root.join("public/huge.bin")).unwrap();
        f.set_len(5 << 30).unwrap();
        std::fs::write(root.join("public/small.bin"), b"ok").unwrap();
    });
    assert_eq!(
        raw(server.addr, &frame(10, b"huge.bin", &[])),
        [1],
        "op 10: status 1"
    );
    let mut tail = 0u32.to_be_bytes().to_vec();
    tail.extend(md5(b""));
    assert_eq!(
        raw(server.addr, &frame(40, b"huge.bin", &tail)),
        [1],
        "op 40: status 1"
    );
    let got = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("*.bin"),
        },
        &[],
    );
    let entries: Vec<(String, Option<u32>)> = got
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::MGetEntry(entry) => {
                Some((entry.name.as_ref().unwrap().to_string(), entry.size))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("huge.bin".to_owned(), None),
            ("small.bin".to_owned(), Some(2))
        ],
        "op 50: entry status 10"
    );
    assert_eq!(got.bodies, [b"ok".to_vec()]);
    let got = request(server.addr, None, Request::List, &[]);
    let [ClientEvent::Listing(list)] = &got.events[..] else {
        panic!("{:?}", got.events)
    };
    assert_eq!(list[0].size, 5 << 30, "LIST shows the true size");
}

/// A connection from a chosen loopback source address (127.0.0.2 is a
/// different client for the server).
fn connect_from(source: [u8; 4], to: std::net::SocketAddr) -> std::io::Result<TcpStream> {
    use rustix::net::{AddressFamily, SocketType};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None)?;
    rustix::net::bind(&fd, &std::net::SocketAddr::from((source, 0)))?;
    rustix::net::connect(&fd, &to)?;
    Ok(TcpStream::from(fd))
}

#[test]
fn a_request_that_trickles_in_is_cut_at_the_request_timeout() {
    let server = sized_server_with(&["--timeout", "5", "--request-timeout", "2"]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    // A DOWNLOAD of a 4,096-byte name, one byte a second: never idle for
    // the 5 s timeout, but never done either.
    let mut reply = Vec::new();
    for byte in [10u8, 0, 0, 16, 0]
        .into_iter()
        .chain(std::iter::repeat(b'a'))
        .take(8)
    {
        if stream.write_all(&[byte]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        let mut peek = [0u8; 1];
        stream.set_nonblocking(true).unwrap();
        let got = stream.read(&mut peek);
        stream.set_nonblocking(false).unwrap();
        match got {
            Ok(1) => {
                reply.push(peek[0]);
                break;
            }
            Ok(_) => break,
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(reply, [1], "status 1 at the request timeout");
    assert!(
        elapsed >= Duration::from_millis(1800) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    // The line comes after the lingering close.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("request timeout") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server
            .log()
            .contains("the request was not complete within the request timeout"),
        "{}",
        server.log()
    );
}

#[test]
fn one_address_cannot_take_every_slot() {
    let server = sized_server_with(&[
        "--max-connections",
        "40",
        "--max-connections-per-address",
        "10",
    ]);
    let held: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The eleventh from the same address is closed at once, without a word.
    let mut surplus = TcpStream::connect(server.addr).unwrap();
    surplus
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 8];
    let n = surplus.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed, not answered");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Another address is served at once.
    let started = Instant::now();
    let mut other = connect_from([127, 0, 0, 2], server.addr).unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    other.write_all(&frame(10, b"size-1", &[])).unwrap();
    let mut reply = Vec::new();
    other.read_to_end(&mut reply).unwrap();
    assert_eq!(reply.len(), 6, "{reply:?}");
    assert_eq!(reply[..5], [0, 0, 0, 0, 1], "status 0, one byte");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // A held connection closed frees its place.
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let got = request(
        server.addr,
        None,
        Request::Download {
            name: name("size-1"),
        },
        &[],
    );
    assert_eq!(got.error, None);
    assert_eq!(got.body().len(), 1);
}

#[test]
fn parallel_failed_logins_from_one_address_wait_their_turn() {
    let server = Server::start(&[], |root| add_user(root, "carol", "right"));
    let addr = server.addr;
    let started = Instant::now();
    // Six at once from one address: checked one after another, each after
    // the delay the earlier failures earned (0 + 0.1 + 0.2 + 0.4 + 0.8 +
    // 1.6 s), instead of all at once.
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let got = request(addr, Some(("carol", "wrong")), Request::List, &[]);
                assert_eq!(got.events, [ClientEvent::AuthDenied]);
                started.elapsed()
            })
        })
        .collect();
    // Meanwhile another address logs in at once.
    std::thread::sleep(Duration::from_millis(300));
    let other_started = Instant::now();
    let mut other = connect_from([127, 0, 0, 2], addr).unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut login = frame(60, b"carol", &[]);
    login.extend(5u32.to_be_bytes());
    login.extend(b"right");
    login.push(20);
    other.write_all(&login).unwrap();
    let mut status = [9u8; 2];
    other.read_exact(&mut status).unwrap();
    assert_eq!(status, [0, 0], "login accepted, listing follows");
    let other_took = other_started.elapsed();
    let last = attempts
        .into_iter()
        .map(|a| a.join().unwrap())
        .max()
        .unwrap();
    assert!(
        last >= Duration::from_millis(3000),
        "the six took only {last:?}"
    );
    assert!(
        other_took < Duration::from_millis(2500),
        "another address waited {other_took:?}"
    );
}

/// The server's resident memory, in bytes.
fn rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

#[test]
fn login_load_keeps_memory_bounded() {
    let server = Server::start(&[], |root| add_user(root, "carol", "right"));
    let addr = server.addr;
    // 80 logins from 8 addresses at once (each address is served in turn).
    let clients: Vec<_> = (1..=8u8)
        .map(|host| {
            std::thread::spawn(move || {
                for _ in 0..10 {
                    let mut stream = connect_from([127, 0, 0, host], addr).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(30)))
                        .unwrap();
                    let mut login = frame(60, b"carol", &[]);
                    login.extend(5u32.to_be_bytes());
                    login.extend(b"right");
                    login.push(20);
                    stream.write_all(&login).unwrap();
                    let mut reply = Vec::new();
                    stream.read_to_end(&mut reply).unwrap();
                    assert_eq!(reply[..2], [0, 0], "accepted, then the listing");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let after = rss(&server);
    eprintln!("RSS after 80 logins: {} MiB", after >> 20);
    // Two checking threads, each with one reused 19 MiB block.
    assert!(
        after < 100 << 20,
        "RSS {} MiB after the logins",
        after >> 20
    );
}

#[test]
fn a_slow_but_moving_reader_is_never_cut() {
    // 12 MiB takes the blocking sender, 4 MiB the asynchronous one.
    let server = Server::start(&["--timeout", "2"], |root| {
        std::fs::write(root.join("public/big.bin"), data(12 << 20, 7)).unwrap();
        std::fs::write(root.join("public/mid.bin"), data(4 << 20, 8)).unwrap();
    });
    let readers: Vec<_> = ["big.bin", "mid.bin"]
        .into_iter()
        .map(|file| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                stream.write_all(&frame(10, file.as_bytes(), &[])).unwrap();
                // Fast at first (the socket buffers grow large), then about
                // 80 KB/s for 7 s: far slower than the server sends, and too
                // slow to free the third of a large buffer that makes a
                // socket "writable" within the 2 s timeout, yet never still.
                let mut got = 0usize;
                let mut buf = vec![0u8; 16 * 1024];
                while got < 1 << 20 {
                    got += stream.read(&mut buf).unwrap();
                }
                std::thread::sleep(Duration::from_millis(500));
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(7) {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return (file, got, started.elapsed()),
                        Ok(n) => got += n,
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                (file, got, started.elapsed())
            })
        })
        .collect();
    for reader in readers {
        let (file, got, lasted) = reader.join().unwrap();
        assert!(
            lasted >= Duration::from_secs(7),
            "{file} was cut after {lasted:?} ({got} bytes)"
        );
        assert!(got > 100_000, "{file}: {got} bytes");
    }
}

#[test]
fn a_download_cut_by_the_client_logs_the_bytes_it_sent() {
    let server = Server::start(&[], |root| {
        std::fs::write(root.join("public/big.bin"), data(32 << 20, 9)).unwrap();
    });
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(&frame(10, b"big.bin", &[])).unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    while got < 10_000_000 {
        got += stream.read(&mut buf).unwrap();
    }
    drop(stream); // gone mid-body
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("DOWNLOAD \"big.bin\"") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("DOWNLOAD \"big.bin\""))
        .unwrap_or_default();
    let logged: u64 = line
        .split(" bytes")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        logged >= got as u64 - 5,
        "the line says {logged} bytes, the client got {got}: {line}"
    );
    assert!(logged < 32 << 20, "{line}");
}

#[test]
fn a_name_as_long_as_the_protocol_allows_is_stored_and_served() {
    let server = sized_server();
    // Exactly the protocol's 4,096 bytes: one more than a path the kernel
    // takes in one call.
    let mut long: String = (0..39).map(|i| format!("{i:0>100}/")).collect();
    long.push_str(&"z".repeat(4096 - long.len()));
    assert_eq!(long.len(), 4096);
    if server.bucket.is_some() {
        // An object store's keys hold at most 1,024 bytes: such a name is
        // refused before its body, never half stored.
        let reply = raw(server.addr, &frame(30, long.as_bytes(), &[]));
        assert_eq!(reply, [1]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !server.log().contains("keys hold at most 1024") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            server.log().contains("keys hold at most 1024"),
            "{}",
            server.log()
        );
        return;
    }
    let up = request(
        server.addr,
        None,
        Request::Upload { name: name(&long) },
        b"deep file",
    );
    assert_eq!(
        up.events.last(),
        Some(&ClientEvent::UploadDone { stored: true })
    );
    let down = request(
        server.addr,
        None,
        Request::Download { name: name(&long) },
        &[],
    );
    assert_eq!(down.body(), b"deep file");
    let resumed = request(
        server.addr,
        None,
        Request::Resume {
            name: name(&long),
            position: 5,
            md5: md5(b"deep "),
        },
        &[],
    );
    assert_eq!(resumed.body(), b"file");
}

#[test]
fn few_descriptors_refuse_connections_never_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("public")).unwrap();
    std::fs::write(root.join("public/a.txt"), b"alpha").unwrap();
    // 64 descriptors: room for 10 connections beside the reserve.
    let mut command = std::process::Command::new("sh");
    command
        .args([
            "-c",
            "ulimit -n 64 && exec \"$0\" serve 0 --root \"$1\"",
            common::BIN,
        ])
        .arg(&root);
    let (mut child, addr) = common::listening(command, &tmp.path().join("server.log"));
    let held: Vec<TcpStream> = (0..60)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A client from another address gets the file, not "no such file".
    for _ in 0..5 {
        let mut other = connect_from([127, 0, 0, 2], addr).unwrap();
        other
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        other.write_all(&frame(10, b"a.txt", &[])).unwrap();
        let mut reply = Vec::new();
        other.read_to_end(&mut reply).unwrap();
        assert_eq!(reply, [0, 0, 0, 0, 5, b'a', b'l', b'p', b'h', b'a']);
    }
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(tmp.path().join("server.log")).unwrap();
    assert!(
        log.contains("only 64 open files allowed: serving at most 10 connections"),
        "{log}"
    );
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn uploads_cannot_switch_list_off() {
    // A small listing limit: 64 KiB, so half of it is 32 KiB of names.
    let server = Server::start(&["--max-listing-size", "64KiB"], |_| {});
    let mut stored = 0;
    let mut refused = 0;
    for i in 0..60 {
        let long = format!("{i:04}-{}", "n".repeat(250));
        // About 770 bytes: a key of an object store holds 1 KiB.
        let long = [long.as_str(); 3].join("/");
        let got = request(
            server.addr,
            None,
            Request::Upload { name: name(&long) },
            b"",
        );
        match got.events.last() {
            Some(ClientEvent::UploadDone { stored: true }) => stored += 1,
            _ => refused += 1,
        }
    }
    assert!(
        stored > 10 && refused > 0,
        "{stored} stored, {refused} refused"
    );
    // LIST still answers, for everyone.
    let listed = request(server.addr, None, Request::List, &[]);
    assert_eq!(listed.error, None);
    match &listed.events[..] {
        [ClientEvent::Listing(entries)] => assert_eq!(entries.len(), stored),
        other => panic!("{other:?}"),
    }
    let log = server.wait_log("half of --max-listing-size", 1);
    assert!(
        log.contains("past half of --max-listing-size 64KiB (kept free so LIST works"),
        "the limit as it was set: {log}"
    );
}

#[test]
fn uploads_begun_together_cannot_pass_the_listing_budget_either() {
    let server = Server::start(&["--max-listing-size", "64KiB"], |_| {});
    const UPLOADS: usize = 70;
    let begun = Arc::new(Barrier::new(UPLOADS));
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|i| {
            let (addr, begun) = (server.addr, begun.clone());
            std::thread::spawn(move || {
                let long = format!("{i:04}-{}", "n".repeat(250));
                // About 770 bytes: a key of an object store holds 1 KiB.
                let long = [long.as_str(); 3].join("/");
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                stream.write_all(&frame(30, long.as_bytes(), &[])).unwrap();
                let mut status = [9u8];
                stream.read_exact(&mut status).unwrap();
                // Every upload has begun before any commits.
                begun.wait();
                if status[0] != 0 {
                    return false;
                }
                stream.write_all(&0u32.to_be_bytes()).unwrap();
                stream.read_exact(&mut status).unwrap();
                status[0] == 0
            })
        })
        .collect();
    let stored = uploads
        .into_iter()
        .map(|u| u.join().unwrap())
        .filter(|ok| *ok)
        .count();
    assert!(stored > 0 && stored < UPLOADS, "{stored} stored");
    let listed = request(server.addr, None, Request::List, &[]);
    assert_eq!(listed.error, None);
    match &listed.events[..] {
        [ClientEvent::Listing(entries)] => assert_eq!(entries.len(), stored),
        other => panic!("LIST failed: {other:?}"),
    }
}

/// Uploads `body` as `name` without a login from `source`: the status
/// after the name, and the final one if the upload was accepted.
fn upload_from(source: [u8; 4], to: std::net::SocketAddr, name: &str, body: &[u8]) -> (u8, u8) {
    let mut stream = connect_from(source, to).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(&frame(30, name.as_bytes(), &[])).unwrap();
    let mut status = [9u8];
    stream.read_exact(&mut status).unwrap();
    if status[0] != 0 {
        return (status[0], status[0]);
    }
    stream
        .write_all(&(body.len() as u32).to_be_bytes())
        .unwrap();
    // A refused size is answered before the body is sent.
    let _ = stream.write_all(body);
    let mut last = [9u8];
    stream.read_exact(&mut last).unwrap();
    (status[0], last[0])
}

#[test]
fn uploads_without_a_login_are_held_to_quotas_per_address_and_in_total() {
    let server = Server::start(
        &[
            "--quota-files",
            "3",
            "--quota-size",
            "10KiB",
            "--quota-total-files",
            "4",
        ],
        |root| add_user(root, "alice", "wonderland"),
    );
    let kib = data(1024, 7);
    for i in 0..3 {
        assert_eq!(
            upload_from([127, 0, 0, 1], server.addr, &format!("a{i}"), &kib),
            (0, 0)
        );
    }
    // The fourth file from that address is refused before its body.
    assert_eq!(upload_from([127, 0, 0, 1], server.addr, "a3", &kib), (1, 1));
    // Another address has its own share, in files and in bytes.
    let big = data(11 * 1024, 8);
    assert_eq!(
        upload_from([127, 0, 0, 2], server.addr, "big", &big),
        (0, 1)
    );
    // Through a cache the origin also counts the upload it was asked to
    // start, until the cache's connection for it closes: within moments.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut b0 = upload_from([127, 0, 0, 2], server.addr, "b0", &kib);
    while b0 != (0, 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        b0 = upload_from([127, 0, 0, 2], server.addr, "b0", &kib);
    }
    assert_eq!(b0, (0, 0));
    // Four files stored in all: the refused ones (a3, and big, whose bytes
    // were refused) do not count against everyone's allowance.
    assert_eq!(upload_from([127, 0, 0, 3], server.addr, "c0", &kib), (1, 1));
    // A logged-in user's uploads are not counted.
    let got = request(
        server.addr,
        Some(("alice", "wonderland")),
        Request::Upload { name: name("mine") },
        &kib,
    );
    assert!(
        matches!(
            got.events.last(),
            Some(ClientEvent::UploadDone { stored: true })
        ),
        "{got:?}"
    );
    let listed = request(server.addr, None, Request::List, &[]);
    let [ClientEvent::Listing(entries)] = &listed.events[..] else {
        panic!("{listed:?}")
    };
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a0", "a1", "a2", "b0"]);
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    for reason in ["--quota-files", "--quota-size", "--quota-total-files"] {
        assert!(log.contains(reason), "no {reason} refusal in:\n{log}");
    }
}

#[test]
fn first_resumes_of_big_files_from_one_address_do_not_hold_back_another() {
    const ATTACKS: usize = 8;
    const BIG: u64 = 64 << 20;
    let server = Server::start(&[], |root| {
        for i in 0..ATTACKS {
            // Sparse: cheap to make, as costly to hash as any other.
            let file = std::fs::File::create(root.join(format!("public/big-{i}"))).unwrap();
            file.set_len(BIG).unwrap();
        }
        std::fs::write(root.join("public/small"), b"0123456789").unwrap();
    });
    // Each attacker asks for the MD5 of almost all of a file never hashed
    // before, with a wrong digest: the costliest RESUME there is.
    let answered = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..ATTACKS)
        .map(|i| {
            let (addr, answered) = (server.addr, answered.clone());
            std::thread::spawn(move || {
                let tail = [&(BIG as u32 - 1).to_be_bytes()[..], &[0u8; 16]].concat();
                let mut stream = connect_from([127, 0, 0, 1], addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                stream
                    .write_all(&frame(40, format!("big-{i}").as_bytes(), &tail))
                    .unwrap();
                let mut answer = [9u8; 2];
                stream.read_exact(&mut answer).unwrap();
                answered.fetch_add(1, SeqCst);
                answer
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    // Another address resumes a small file: it gets a turn between the
    // attackers' steps instead of waiting for all of their hashing.
    let md5: [u8; 16] = Md5::digest(b"01234").into();
    let tail = [&5u32.to_be_bytes()[..], &md5].concat();
    let mut victim = connect_from([127, 0, 0, 2], server.addr).unwrap();
    victim
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    victim.write_all(&frame(40, b"small", &tail)).unwrap();
    let mut answer = [9u8; 2];
    victim.read_exact(&mut answer).unwrap();
    let before = answered.load(SeqCst);
    assert_eq!(answer, [0, 0], "the small resume is answered");
    let mut rest = Vec::new();
    victim.read_to_end(&mut rest).unwrap();
    assert!(rest.ends_with(b"56789"), "{rest:?}");
    for attacker in attackers {
        assert_eq!(
            attacker.join().unwrap(),
            [0, 20],
            "a wrong MD5 is result 20"
        );
    }
    assert!(
        before < ATTACKS / 2,
        "{before} of {ATTACKS} attackers were answered before the other address"
    );
}
