//! The client commands against the real server and against hostile test
//! servers, on 127.0.0.1 with real folders: bytes, resumes, names, exit codes.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::proxy::Proxy;
use common::{BIN, Server, add_user, data, snapshot};

fn ferry(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("FERRY_USER")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that a command ended with exit code `want`, saying `text`.
fn ended_saying(out: &Output, want: i32, text: &str) {
    assert_eq!(code(out), want, "{}", stderr(out));
    assert!(stderr(out).contains(text), "{}", stderr(out));
}

fn server() -> Server {
    Server::start(&[], |root| {
        std::fs::write(root.join("public/a.txt"), b"alpha").unwrap();
        std::fs::write(root.join("public/big.bin"), data(3 << 20, 5)).unwrap();
        std::fs::create_dir_all(root.join("public/pics")).unwrap();
        std::fs::write(root.join("public/pics/1.jpg"), data(5000, 1)).unwrap();
        std::fs::write(root.join("public/pics/2.jpg"), data(7000, 2)).unwrap();
        std::fs::write(root.join("public/empty"), b"").unwrap();
        add_user(root, "alice", "wonderland");
        std::fs::write(root.join("private/alice/mine.txt"), b"alice only").unwrap();
    })
}

fn local() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn ls_prints_a_table_and_json() {
    let s = server();
    let dir = local();
    let out = ferry(dir.path(), &["ls", &s.addr.to_string()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    for line in [
        "5 B  a.txt",
        "3.00 MiB  big.bin",
        "4.88 KiB  pics/1.jpg",
        "0 B  empty",
    ] {
        assert!(table.contains(line), "{line:?} missing from\n{table}");
    }
    let out = ferry(dir.path(), &["ls", &s.addr.to_string(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json[0],
        serde_json::json!({"nome": "a.txt", "tamanho": "5"})
    );
    assert_eq!(json.as_array().unwrap().len(), 5);
}

#[test]
fn get_put_resume_and_mget_move_exact_bytes() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(
        dir.path(),
        &["get", &addr, "a.txt", "big.bin", "pics/2.jpg", "empty"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for f in ["a.txt", "big.bin", "pics/2.jpg", "empty"] {
        assert!(
            std::fs::read(dir.path().join(f)).unwrap()
                == std::fs::read(s.public().join(f)).unwrap(),
            "{f}"
        );
    }
    // --dir instead of the current folder.
    let other = local();
    let out = ferry(
        dir.path(),
        &[
            "get",
            &addr,
            "a.txt",
            "--dir",
            other.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(std::fs::read(other.path().join("a.txt")).unwrap(), b"alpha");
    // put, and put --as.
    std::fs::write(dir.path().join("up.bin"), data(2 << 20, 9)).unwrap();
    let out = ferry(dir.path(), &["put", &addr, "up.bin"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(std::fs::read(s.public().join("up.bin")).unwrap() == data(2 << 20, 9));
    let out = ferry(
        dir.path(),
        &["put", &addr, "a.txt", "--as", "renamed/b.txt"],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(
        std::fs::read(s.public().join("renamed/b.txt")).unwrap(),
        b"alpha"
    );
    // resume with nothing held: a full download through op 40.
    let fresh = local();
    let out = ferry(fresh.path(), &["resume", &addr, "big.bin"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        std::fs::read(fresh.path().join("big.bin")).unwrap()
            == std::fs::read(s.public().join("big.bin")).unwrap()
    );
    // mget with a mask that crosses folders.
    let out = ferry(fresh.path(), &["mget", &addr, "pics/*.jpg"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("received 2 of 2 files"));
    for f in ["pics/1.jpg", "pics/2.jpg"] {
        assert!(
            std::fs::read(fresh.path().join(f)).unwrap()
                == std::fs::read(s.public().join(f)).unwrap()
        );
    }
    // No partial file is left behind anywhere.
    for d in [dir.path(), fresh.path()] {
        assert!(
            snapshot(d)
                .iter()
                .all(|(p, _)| !p.to_string_lossy().ends_with(".part"))
        );
    }
}

#[test]
fn login_reaches_the_private_folder() {
    let s = server();
    let dir = local();
    let out = Command::new(BIN)
        .args(["get", &s.addr.to_string(), "mine.txt", "--user", "alice"])
        .current_dir(dir.path())
        .env("FERRY_PASSWORD", "wonderland")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("mine.txt")).unwrap(),
        b"alice only"
    );
}

#[test]
fn the_shell_runs_every_command_from_stdin() {
    let s = server();
    let dir = local();
    std::fs::write(dir.path().join("sent.txt"), b"from the shell").unwrap();
    let mut child = Command::new(BIN)
        .args(["shell", &s.addr.to_string()])
        .current_dir(dir.path())
        .env("FERRY_PASSWORD", "wonderland")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let script = "help\nLIST\ndownload a.txt\nUpload sent.txt\nmget pics/*\nresume big.bin\nLOGIN alice\nlist\nDOWNLOAD mine.txt\nquit\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(stdout.contains("LOGIN user"), "HELP shown: {stdout}");
    assert!(
        stdout.contains("a.txt") && stdout.contains("big.bin"),
        "LIST shown: {stdout}"
    );
    assert!(
        stdout.contains("logged in as alice: 1 file in your private folder"),
        "{stdout}"
    );
    assert!(stdout.contains("mine.txt"), "private LIST: {stdout}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"alpha");
    assert_eq!(
        std::fs::read(s.public().join("sent.txt")).unwrap(),
        b"from the shell"
    );
    assert!(std::fs::read(dir.path().join("pics/2.jpg")).unwrap() == data(7000, 2));
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == data(3 << 20, 5));
    assert_eq!(
        std::fs::read(dir.path().join("mine.txt")).unwrap(),
        b"alice only"
    );
}

#[test]
fn an_interrupted_download_resumes_with_op_40() {
    let s = server();
    let dir = local();
    let original = std::fs::read(s.public().join("big.bin")).unwrap();
    // What an interrupted run leaves: the first part in big.bin.part.
    std::fs::write(dir.path().join("big.bin.part"), &original[..1_234_567]).unwrap();
    let out = ferry(dir.path(), &["get", &s.addr.to_string(), "big.bin"]);
    ended_saying(&out, 0, "resuming big.bin from byte 1234567");
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == original);
    assert!(!dir.path().join("big.bin.part").exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        s.log().contains("RESUME \"big.bin\" ok from 1234567"),
        "{}",
        s.log()
    );
}

#[test]
fn a_second_download_of_the_same_file_is_refused_and_the_first_completes() {
    let s = server();
    let dir = local();
    let original = std::fs::read(s.public().join("big.bin")).unwrap();
    // 3 MiB at 2 MiB/s: the first download is surely still running when the
    // second starts.
    let proxy = Proxy::start(s.addr);
    proxy.pace(2 << 20);
    let first = Command::new(BIN)
        .args(["get", &proxy.address(), "big.bin"])
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let part = dir.path().join("big.bin.part");
    for _ in 0..500 {
        if std::fs::metadata(&part).is_ok_and(|m| m.len() > 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = ferry(dir.path(), &["get", &proxy.address(), "big.bin"]);
    let said = stderr(&second);
    assert_eq!(code(&second), 7, "{said}");
    assert!(
        said.contains(&format!("big.bin.part is in use by process {}", first.id())),
        "the holder is named: {said}"
    );
    assert!(said.contains("ferry get"), "{said}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap() == original,
        "the file is the server's, byte for byte"
    );
    assert!(!part.exists());
}

#[test]
fn a_corrupt_part_is_restarted_from_zero() {
    let s = server();
    let dir = local();
    std::fs::write(dir.path().join("big.bin.part"), vec![0xAA; 100_000]).unwrap();
    let out = ferry(dir.path(), &["get", &s.addr.to_string(), "big.bin"]);
    ended_saying(&out, 0, "does not match");
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap()
            == std::fs::read(s.public().join("big.bin")).unwrap()
    );
}

/// A test server that answers one connection with `reply` after reading
/// `request_len` bytes, then closes.
fn scripted(request_len: usize, reply: Vec<u8>) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    scripted_many(vec![(request_len, reply)])
}

/// A server that answers successive connections with scripted replies
/// (each after reading its request's length); returns the last request.
fn scripted_many(script: Vec<(usize, Vec<u8>)>) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let mut request = Vec::new();
        // Bounded: a client that stops early must not hang the test.
        listener.set_nonblocking(true).unwrap();
        for (request_len, reply) in script {
            let started = std::time::Instant::now();
            let mut stream = loop {
                match listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(_) if started.elapsed() < Duration::from_secs(10) => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(e) => panic!("the client never made its next connection: {e}"),
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            request = vec![0; request_len];
            let _ = stream.read_exact(&mut request);
            let _ = stream.write_all(&reply);
            std::thread::sleep(Duration::from_millis(100));
        }
        request
    });
    (addr, handle)
}

#[test]
fn a_server_dying_mid_download_leaves_a_part_that_resumes() {
    let s = server();
    let dir = local();
    let original = std::fs::read(s.public().join("big.bin")).unwrap();
    let mut reply = vec![0];
    reply.extend((original.len() as u32).to_be_bytes());
    reply.extend(&original[..400_000]);
    let (addr, handle) = scripted(1 + 4 + 7, reply);
    let out = ferry(dir.path(), &["get", &addr, "big.bin"]);
    handle.join().unwrap();
    ended_saying(&out, 8, "closed the connection in the middle");
    assert_eq!(
        std::fs::read(dir.path().join("big.bin.part"))
            .unwrap()
            .len(),
        400_000
    );
    assert!(
        stderr(&out).contains(
            "big.bin.part kept (390.62 KiB of 3.00 MiB); run the same command again to resume"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("big.bin").exists());
    // The real server finishes it.
    let out = ferry(dir.path(), &["get", &s.addr.to_string(), "big.bin"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == original);
}

fn entry(status: u8, name: &[u8], body: Option<&[u8]>) -> Vec<u8> {
    let mut out = vec![status];
    out.extend((name.len() as u32).to_be_bytes());
    out.extend(name);
    if let Some(body) = body {
        out.extend((body.len() as u32).to_be_bytes());
        out.extend(body);
    }
    out
}

#[test]
fn a_hostile_mget_server_cannot_write_outside_the_folder() {
    let top = local();
    let dir = top.path().join("client");
    std::fs::create_dir(&dir).unwrap();
    let evil_tmp = format!("/tmp/ferry-evil-{}", std::process::id());
    let mut reply = vec![0];
    reply.extend(7u32.to_be_bytes());
    reply.extend(entry(0, b"../x", Some(b"evil 1")));
    reply.extend(entry(0, evil_tmp.as_bytes(), Some(b"evil 2")));
    reply.extend(entry(0, b"a/../../x", Some(b"evil 3")));
    reply.extend(entry(0, b"..\\y", Some(b"evil 4")));
    // Over the 4,096-byte name limit: that entry alone is refused.
    let too_long = "n/".repeat(2104);
    reply.extend(entry(0, too_long.as_bytes(), Some(b"evil 5")));
    reply.extend(entry(0, b"good.txt", Some(b"good")));
    // The last entry announces 100 bytes and sends 10.
    let mut cut = entry(0, b"cut.txt", None);
    cut.extend(100u32.to_be_bytes());
    cut.extend([b'c'; 10]);
    reply.extend(cut);
    let before = snapshot(top.path());
    // mget lists first (a harmless listing), then streams with op 50.
    let json = br#"[{"nome":"good.txt","tamanho":"4"}]"#;
    let mut listing = vec![0];
    listing.extend((json.len() as u32).to_be_bytes());
    listing.extend(json);
    let (addr, handle) = scripted_many(vec![(1, listing), (1 + 4 + 1, reply)]);
    let out = ferry(&dir, &["mget", &addr, "*"]);
    handle.join().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 8, "{err}");
    assert!(err.contains("refused name \"../x\""), "{err}");
    assert!(err.contains("refused name \"a/../../x\""), "{err}");
    assert!(
        err.contains("the server closed the connection in the middle"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("good.txt")).unwrap(), b"good");
    assert!(
        !dir.join("cut.txt").exists(),
        "a truncated file is never presented as complete"
    );
    assert!(!Path::new(&evil_tmp).exists());
    // Outside the client folder, nothing changed.
    let after: Vec<_> = snapshot(top.path())
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&dir))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&dir))
        .collect();
    assert_eq!(after, before);
}

#[test]
fn an_early_refusal_of_an_upload_is_reported() {
    let dir = local();
    std::fs::write(dir.path().join("big.bin"), data(8 << 20, 3)).unwrap();
    // Accept, read the name and the size, then answer "not stored" at once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0; 1 + 4 + 7];
        stream.read_exact(&mut request).unwrap();
        stream.write_all(&[0]).unwrap();
        let mut size = [0; 4];
        stream.read_exact(&mut size).unwrap();
        stream.write_all(&[1]).unwrap();
        // Linger as the real server does, so the answer is not reset away.
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
        sink.len()
    });
    let out = ferry(dir.path(), &["put", &addr, "big.bin"]);
    let drained = handle.join().unwrap();
    ended_saying(&out, 5, "could not store");
    assert!(
        drained < 8 << 20,
        "the client kept sending the whole body: {drained}"
    );
}

#[test]
fn each_error_class_has_its_exit_code() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    // 2: bad command line.
    assert_eq!(
        code(&ferry(dir.path(), &["get", &addr, "../etc/passwd"])),
        2
    );
    assert_eq!(code(&ferry(dir.path(), &["ls", "no-port"])), 2);
    assert_eq!(code(&ferry(dir.path(), &["get"])), 2);
    // 3: nothing listens.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = ferry(dir.path(), &["ls", &format!("127.0.0.1:{port}")]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("is `ferry serve` running there?"));
    // 4: a server that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let out = ferry(dir.path(), &["ls", &silent_addr, "--timeout", "1"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    drop(silent);
    // 5: not found.
    let out = ferry(dir.path(), &["get", &addr, "missing.txt"]);
    assert_eq!(code(&out), 5);
    assert!(
        !dir.path().join("missing.txt.part").exists(),
        "no empty .part is left"
    );
    // 6: login denied.
    let out = Command::new(BIN)
        .args(["ls", &addr, "--user", "alice"])
        .env("FERRY_PASSWORD", "nope")
        .output()
        .unwrap();
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    // 7: a local file that is not there, or too large for the protocol
    // (a sparse 5 GiB file: nothing on disk).
    let out = ferry(dir.path(), &["put", &addr, "absent.bin"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    std::fs::File::create(dir.path().join("huge.bin"))
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let out = ferry(dir.path(), &["put", &addr, "huge.bin"]);
    ended_saying(&out, 7, "under 4 GiB");
    assert!(!s.public().join("huge.bin").exists());
    // 8: a server that breaks the protocol.
    let (bad_addr, handle) = scripted(1, vec![7]);
    let out = ferry(dir.path(), &["ls", &bad_addr]);
    handle.join().unwrap();
    ended_saying(&out, 8, "undefined value 7");
    // The codes are documented in --help.
    let help = String::from_utf8_lossy(&ferry(dir.path(), &["--help"]).stdout).into_owned();
    for line in [
        "3  cannot connect",
        "4  timed out",
        "5  not found",
        "6  login denied",
        "7  a local file",
        "8  the server broke",
    ] {
        assert!(help.contains(line), "{line}");
    }
    let _ = TcpStream::connect(&addr);
}

#[test]
fn host_may_be_a_name_an_ipv4_or_a_bracketed_ipv6_address() {
    let s = server();
    let dir = local();
    let port = s.addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let out = ferry(dir.path(), &["get", &host, "a.txt"]);
        assert_eq!(code(&out), 0, "{host}: {}", stderr(&out));
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).unwrap(),
            b"alpha",
            "{host}"
        );
        std::fs::remove_file(dir.path().join("a.txt")).unwrap();
    }
}

fn wait_log(s: &Server, text: &str, count: usize) -> String {
    for _ in 0..200 {
        if s.log().matches(text).count() >= count {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    s.log()
}

#[test]
fn a_complete_local_file_is_checked_not_fetched_again() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Up to date: op 40 at its end, nothing sent.
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    ended_saying(&out, 0, "a.txt is up to date");
    let log = wait_log(&s, "RESUME \"a.txt\"", 1);
    assert!(log.contains("RESUME \"a.txt\" ok from 5 0 bytes"), "{log}");
    // Grown: only the tail moves, then the file is whole.
    std::fs::write(s.public().join("a.txt"), b"alpha beta").unwrap();
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    ended_saying(&out, 0, "a.txt grew on the server");
    assert_eq!(
        std::fs::read(dir.path().join("a.txt")).unwrap(),
        b"alpha beta"
    );
    let log = wait_log(&s, "RESUME \"a.txt\"", 2);
    assert!(log.contains("RESUME \"a.txt\" ok from 5 5 bytes"), "{log}");
    // Changed (same size): downloaded again, replaced, and said so.
    std::fs::write(s.public().join("a.txt"), b"ALPHA BETA").unwrap();
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    ended_saying(&out, 0, "a.txt changed on the server");
    assert!(stderr(&out).contains("replaced a.txt"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("a.txt")).unwrap(),
        b"ALPHA BETA"
    );
    assert!(!dir.path().join("a.txt.part").exists());
    // --no-clobber keeps a different local file untouched.
    std::fs::write(dir.path().join("a.txt"), b"mine").unwrap();
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "--no-clobber"]);
    ended_saying(&out, 0, "--no-clobber");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"mine");
}

#[test]
fn verify_checks_the_finished_file_with_the_server() {
    let s = server();
    let dir = local();
    let out = ferry(
        dir.path(),
        &["get", &s.addr.to_string(), "big.bin", "--verify", "-v"],
    );
    ended_saying(&out, 0, "verified: MD5");
    let size = std::fs::metadata(s.public().join("big.bin")).unwrap().len();
    let log = wait_log(&s, "RESUME \"big.bin\"", 1);
    assert!(
        log.contains(&format!("RESUME \"big.bin\" ok from {size} 0 bytes")),
        "{log}"
    );
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap()
            == std::fs::read(s.public().join("big.bin")).unwrap()
    );
}

#[test]
fn output_goes_to_a_named_file_or_to_standard_output() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let original = std::fs::read(s.public().join("big.bin")).unwrap();
    let out = ferry(
        dir.path(),
        &["get", &addr, "big.bin", "-o", "new/sub/copy.bin"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(std::fs::read(dir.path().join("new/sub/copy.bin")).unwrap() == original);
    assert!(!dir.path().join("big.bin").exists());
    let out = ferry(dir.path(), &["get", &addr, "big.bin", "-o", "-"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout == original, "standard output holds the file");
    assert!(!dir.path().join("big.bin").exists() && !dir.path().join("big.bin.part").exists());
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "big.bin", "-o", "x"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn quiet_says_nothing_and_verbose_says_more() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "-q"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stderr(&out), "", "nothing on success with -q");
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "-v"]);
    assert_eq!(code(&out), 0);
    assert!(stderr(&out).contains("MD5 "), "{}", stderr(&out));
    let out = ferry(dir.path(), &["get", &addr, "missing.txt", "-q"]);
    assert_eq!(code(&out), 5);
    assert!(
        stderr(&out).contains("missing.txt"),
        "errors still show: {}",
        stderr(&out)
    );
}

#[test]
fn limit_rate_paces_downloads_and_uploads() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    // 3 MiB at 2 MiB/s takes at least 1.5 s however fast the machine.
    let started = std::time::Instant::now();
    let out = ferry(dir.path(), &["get", &addr, "big.bin", "--limit-rate", "2M"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let out = ferry(
        dir.path(),
        &[
            "put",
            &addr,
            "big.bin",
            "--as",
            "again.bin",
            "--limit-rate",
            "2M",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    assert!(
        std::fs::read(s.public().join("again.bin")).unwrap()
            == std::fs::read(s.public().join("big.bin")).unwrap()
    );
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "--limit-rate", "fast"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn mget_checks_files_already_here_and_says_when_nothing_matches() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(dir.path(), &["mget", &addr, "pics/*.jpg", "--dir", "fresh"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The folder now holds the matches: a second mget checks each with op 40.
    let before = s.log().matches("MGET").count();
    let out = ferry(dir.path(), &["mget", &addr, "pics/*.jpg", "--dir", "fresh"]);
    ended_saying(&out, 0, "2 files match; 2 already here");
    let log = wait_log(&s, "RESUME \"pics/", 2);
    assert!(
        log.contains("RESUME \"pics/1.jpg\" ok from 5000 0 bytes"),
        "{log}"
    );
    assert!(
        log.contains("RESUME \"pics/2.jpg\" ok from 7000 0 bytes"),
        "{log}"
    );
    assert_eq!(log.matches("MGET").count(), before, "no second stream");
    for (file, len, seed) in [("1.jpg", 5000, 1), ("2.jpg", 7000, 2)] {
        assert_eq!(
            std::fs::read(dir.path().join("fresh/pics").join(file)).unwrap(),
            data(len, seed)
        );
    }
    let out = ferry(dir.path(), &["mget", &addr, "*.nothing"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no file on the server matches \"*.nothing\""),
        "{}",
        stderr(&out)
    );
    // A mask the shell expanded (every word a local file), and a mask
    // given to get.
    std::fs::write(dir.path().join("a.jpg"), b"local").unwrap();
    std::fs::write(dir.path().join("b.jpg"), b"local").unwrap();
    let out = ferry(dir.path(), &["mget", &addr, "a.jpg", "b.jpg"]);
    ended_saying(&out, 2, "quote it");
    let out = ferry(dir.path(), &["get", &addr, "*.txt"]);
    ended_saying(&out, 5, "ferry mget");
}

#[test]
fn malformed_addresses_are_usage_errors_with_the_form_to_type() {
    let dir = local();
    for (addr, says) in [
        ("::1", "[::1]:20000"),
        ("[::1]", "has no port"),
        ("localhost:abc", "from 1 to 65535"),
        ("localhost:99999", "from 1 to 65535"),
    ] {
        let out = ferry(dir.path(), &["ls", addr]);
        assert_eq!(code(&out), 2, "{addr}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{addr}: {}", stderr(&out));
    }
}

#[test]
fn names_in_messages_are_escaped_as_people_write_them_and_shortened() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(dir.path(), &["get", &addr, "a\nb"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("\"a\\nb\""), "{}", stderr(&out));
    let long = "n".repeat(250);
    let out = ferry(dir.path(), &["get", &addr, &long]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains('…'), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains(&long),
        "a long name is cut: {}",
        stderr(&out)
    );
}

/// Runs the shell with `script` on a pipe: its exit code, stdout, stderr.
fn shell_script(dir: &Path, args: &[&str], script: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("shell")
        .args(args)
        .current_dir(dir)
        .env("FERRY_PASSWORD", "wonderland")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(script.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        code(&out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

#[test]
fn a_shell_script_stops_at_its_first_failure_with_its_exit_code() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let (code, _, err) = shell_script(dir.path(), &[&addr], "get missing.txt\nget a.txt\n");
    assert_eq!(code, 5, "{err}");
    assert_eq!(err.matches("missing.txt").count(), 1, "said once: {err}");
    assert!(err.contains("or the server could not do it"), "{err}");
    assert!(!dir.path().join("a.txt").exists(), "the script stopped");
    // A local file changed here: kept, unless `get -f`.
    std::fs::write(dir.path().join("a.txt"), b"mine").unwrap();
    let (code, _, err) = shell_script(dir.path(), &[&addr], "get a.txt\n");
    assert_eq!(code, 7, "{err}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"mine");
    let (code, _, err) = shell_script(dir.path(), &[&addr], "get -f a.txt\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"alpha");
    std::fs::remove_file(dir.path().join("a.txt")).unwrap();
    let (code, _, err) = shell_script(dir.path(), &[&addr], "donwload a.txt\nget a.txt\n");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown command donwload; did you mean DOWNLOAD?"),
        "{err}"
    );
    // A wrong password stops before any command; a bad address at once.
    let (code, _, err) = shell_script(dir.path(), &[&addr, "--user", "nobody"], "ls\n");
    assert_eq!(code, 6, "{err}");
    let (code, _, err) = shell_script(dir.path(), &["::1"], "ls\n");
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_shell_takes_ftp_words_quotes_and_several_names() {
    let s = server();
    std::fs::write(s.public().join("with space.txt"), b"spaced").unwrap();
    let dir = local();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/note.txt"), b"a note").unwrap();
    let script = "lpwd\nget a.txt 'with space.txt' pics/1.jpg\nput -r sub\nlcd sub\nlpwd\nget a.txt\nls\nbye\n";
    let (code, stdout, err) = shell_script(dir.path(), &[&s.addr.to_string()], script);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"alpha");
    assert_eq!(
        std::fs::read(dir.path().join("with space.txt")).unwrap(),
        b"spaced"
    );
    assert_eq!(
        std::fs::read(dir.path().join("pics/1.jpg")).unwrap(),
        data(5000, 1)
    );
    assert_eq!(
        std::fs::read(dir.path().join("sub/a.txt")).unwrap(),
        b"alpha"
    );
    // LPWD shows the whole path, before an LCD as after it.
    let whole = dir.path().canonicalize().unwrap();
    let shown: Vec<&str> = stdout.lines().filter(|l| l.starts_with('/')).collect();
    assert_eq!(
        shown,
        [
            whole.display().to_string(),
            whole.join("sub").display().to_string()
        ],
        "{stdout}"
    );
    assert_eq!(s.stored("public/sub/note.txt").unwrap(), b"a note");
    assert!(stdout.contains("with space.txt"), "{stdout}");
}

#[test]
fn on_a_terminal_the_shell_completes_keeps_history_and_survives_ctrl_c() {
    let s = server();
    let dir = local();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let env = [("XDG_STATE_HOME", state_dir.as_str()), ("RUST_LOG", "warn")];
    let addr = s.addr.to_string();
    // Paced so that a download is surely in flight when Ctrl-C comes.
    let proxy = Proxy::start(s.addr);
    proxy.pace(1 << 20);
    let mut shell = common::pty::Pty::spawn(BIN, &["shell", &proxy.address()], dir.path(), &env);
    shell.expect("ferry> ");
    // Tab completes a command and then a remote name.
    shell.send("downl\t");
    shell.expect("download");
    shell.send("a.t\t\r");
    shell.expect("received a.txt");
    shell.expect("ferry> ");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"alpha");
    // Ctrl-C at the prompt clears the line and leaves the shell running.
    shell.send("half a line\x03");
    shell.expect("ferry> ");
    // Ctrl-C during a transfer cancels it and keeps the partial file.
    shell.send("get big.bin\r");
    for _ in 0..500 {
        if std::fs::metadata(dir.path().join("big.bin.part")).is_ok_and(|m| m.len() > 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    shell.send("\x03");
    shell.expect("cancelled (Ctrl-C)");
    shell.expect("ferry> ");
    let part = std::fs::read(dir.path().join("big.bin.part")).unwrap();
    assert!(!part.is_empty() && part.len() < 3 << 20, "{}", part.len());
    assert!(part[..] == data(3 << 20, 5)[..part.len()]);
    assert!(!dir.path().join("big.bin").exists());
    // LCD completes local folders, level by level.
    std::fs::create_dir_all(dir.path().join("labs/week-1")).unwrap();
    shell.send("lcd la\t");
    shell.expect("lcd labs/");
    shell.send("we\t\r");
    shell.expect("local folder: ");
    shell.expect("labs/week-1\r\n");
    shell.expect("ferry> ");
    shell.send("quit\r");
    assert_eq!(shell.wait(), Some(0));
    drop(shell);
    // The history is kept for the next run: Up brings back the last line.
    let history = std::fs::read_to_string(state.path().join("ferry/history")).unwrap();
    assert!(history.contains("get big.bin"), "{history}");
    proxy.pace(0);
    let mut shell = common::pty::Pty::spawn(BIN, &["shell", &addr], dir.path(), &env);
    shell.expect("ferry> ");
    shell.send("\x1b[A");
    shell.expect("quit");
    shell.send("\x15get big.bin\r");
    shell.expect("resuming big.bin");
    shell.expect("received big.bin");
    shell.send("bye\r");
    assert_eq!(shell.wait(), Some(0));
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == data(3 << 20, 5));
}

#[test]
fn a_local_file_changed_here_is_never_replaced_without_force() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let a = dir.path().join("a.txt");
    // What ferry writes carries the MD5 it wrote.
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut attr = [0u8; 64];
    let n = rustix::fs::getxattr(&a, "user.ferry.md5", &mut attr).unwrap();
    assert_eq!(
        &attr[..n],
        b"2c1743a391305fbf367df8e4f069f9f9",
        "md5 of \"alpha\""
    );
    // Edited here, changed there: kept, exit 7, and the way out named.
    std::fs::write(&a, b"my notes").unwrap();
    std::fs::write(s.public().join("a.txt"), b"ALPHA").unwrap();
    for args in [&["get", &addr, "a.txt"][..], &["resume", &addr, "a.txt"]] {
        let out = ferry(dir.path(), args);
        assert_eq!(code(&out), 7, "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains("\"a.txt\" was changed here since ferry wrote it")
                && said.contains("--force")
                && said.contains("-o OTHER"),
            "{said}"
        );
        assert_eq!(std::fs::read(&a).unwrap(), b"my notes");
    }
    // Kept both: -o writes beside it.
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "-o", "a-server.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("a-server.txt")).unwrap(),
        b"ALPHA"
    );
    assert_eq!(std::fs::read(&a).unwrap(), b"my notes");
    // --force replaces it, saying the change was here; what ferry wrote
    // and nobody touched is then updated as before, the change the server's.
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "--force"]);
    ended_saying(&out, 0, "a.txt was changed here");
    assert_eq!(std::fs::read(&a).unwrap(), b"ALPHA");
    std::fs::write(s.public().join("a.txt"), b"omega").unwrap();
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    ended_saying(&out, 0, "a.txt changed on the server");
    assert_eq!(std::fs::read(&a).unwrap(), b"omega");
}

#[test]
fn a_local_file_ferry_has_no_record_of_is_kept_until_forced() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    // Made here (or downloaded by a ferry that kept no records).
    std::fs::write(dir.path().join("a.txt"), b"older").unwrap();
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    ended_saying(&out, 7, "is not one ferry wrote");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"older");
    // Forced: replaced, and the message does not guess which side changed.
    let out = ferry(dir.path(), &["get", &addr, "a.txt", "--force"]);
    ended_saying(&out, 0, "a.txt is not one ferry wrote (forced");
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"alpha");
    // A part left beside it would replace it too: also refused.
    std::fs::write(dir.path().join("big.bin"), b"mine").unwrap();
    std::fs::write(dir.path().join("big.bin.part"), data(1000, 5)).unwrap();
    let out = ferry(dir.path(), &["get", &addr, "big.bin"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.path().join("big.bin")).unwrap(), b"mine");
    // A file equal to the server's is up to date, record or not.
    std::fs::write(dir.path().join("a.txt"), b"alpha").unwrap();
    let out = ferry(dir.path(), &["get", &addr, "a.txt"]);
    ended_saying(&out, 0, "up to date");
    let out = ferry(dir.path(), &["get", &addr, "big.bin", "-f"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == data(3 << 20, 5));
}

#[test]
fn output_to_a_device_or_a_fifo_is_written_straight_there() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(dir.path(), &["get", &addr, "big.bin", "-o", "/dev/null"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!Path::new("/dev/null.part").exists());
    let fifo = dir.path().join("pipe");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = ferry(dir.path(), &["get", &addr, "big.bin", "-o", "pipe"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        reader.join().unwrap() == data(3 << 20, 5),
        "the FIFO's reader got every byte"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing beside the FIFO"
    );
}

#[test]
fn mget_takes_several_masks_and_fetches_each_file_once() {
    let s = server();
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(
        dir.path(),
        &["mget", &addr, "pics/1.*", "*.txt", "pics/*.jpg"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"alpha");
    assert_eq!(
        std::fs::read(dir.path().join("pics/1.jpg")).unwrap(),
        data(5000, 1)
    );
    assert_eq!(
        std::fs::read(dir.path().join("pics/2.jpg")).unwrap(),
        data(7000, 2)
    );
    assert!(!dir.path().join("big.bin").exists());
    let log = wait_log(&s, "pics/2.jpg", 1);
    assert_eq!(
        log.matches("\"pics/1.jpg\"").count(),
        1,
        "fetched once: {log}"
    );
}

#[test]
fn mget_asks_with_op_50_when_the_server_cannot_list() {
    // A listing limit the folder is past: LIST answers status 1.
    let s = Server::start(&["--max-listing-size", "64"], |root| {
        for i in 0..8 {
            std::fs::write(root.join(format!("public/target.{i}")), format!("file {i}")).unwrap();
        }
        std::fs::write(root.join("public/other.txt"), b"other").unwrap();
    });
    let dir = local();
    let addr = s.addr.to_string();
    let out = ferry(dir.path(), &["ls", &addr]);
    assert_eq!(code(&out), 5, "the listing is refused: {}", stderr(&out));
    let log = s.wait_log("over --max-listing-size", 1);
    assert!(log.contains("bytes, over --max-listing-size 64B"), "{log}");
    let out = ferry(dir.path(), &["mget", &addr, "target.*", "target.[0-3]"]);
    ended_saying(&out, 0, "op 50");
    for i in 0..8 {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(format!("target.{i}"))).unwrap(),
            format!("file {i}")
        );
    }
    assert!(!dir.path().join("other.txt").exists());
    // A file changed here is kept on this path too.
    std::fs::write(dir.path().join("target.5"), b"edited").unwrap();
    let out = ferry(dir.path(), &["mget", &addr, "target.*"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("target.5")).unwrap(),
        b"edited"
    );
}

#[test]
fn put_r_sends_every_file_of_a_folder_and_goes_on_past_refusals() {
    let s = Server::start(&[], |root| {
        std::fs::create_dir_all(root.join("public/course")).unwrap();
        std::fs::write(root.join("public/course/taken.txt"), b"teacher's").unwrap();
    });
    let dir = local();
    let addr = s.addr.to_string();
    let course = dir.path().join("course");
    std::fs::create_dir_all(course.join("labs/week 1")).unwrap();
    std::fs::write(course.join("notes.txt"), b"notes").unwrap();
    std::fs::write(course.join("labs/week 1/lab.bin"), data(70_000, 9)).unwrap();
    std::fs::write(course.join("taken.txt"), b"mine").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", course.join("passwd")).unwrap();
    // Without -r: told to add it.
    let out = ferry(dir.path(), &["put", &addr, "course"]);
    ended_saying(&out, 2, "add -r");
    let out = ferry(dir.path(), &["put", &addr, "-r", "course/"]);
    assert_eq!(
        code(&out),
        5,
        "the refusal decides the exit code: {}",
        stderr(&out)
    );
    let said = stderr(&out);
    assert!(
        said.contains("course/passwd is a symbolic link: skipped"),
        "{said}"
    );
    assert!(
        said.contains("\"course/taken.txt\": the name may already exist"),
        "{said}"
    );
    assert!(said.contains("sent 2 of 3 files from course/"), "{said}");
    assert_eq!(s.stored("public/course/notes.txt").unwrap(), b"notes");
    assert!(s.stored("public/course/labs/week 1/lab.bin").unwrap() == data(70_000, 9));
    assert_eq!(s.stored("public/course/taken.txt").unwrap(), b"teacher's");
    assert_eq!(s.stored("public/course/passwd"), None);
    // --as puts the folder's files under another name.
    let out = ferry(
        dir.path(),
        &["put", &addr, "-r", "course/labs", "--as", "2026"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(s.stored("public/2026/week 1/lab.bin").unwrap() == data(70_000, 9));
}

/// Starts `ferry get ADDR NAME` in `dir` and waits (bounded) until its
/// partial file holds bytes; the process and the partial file's path.
fn get_under_way(dir: &Path, addr: &str, name: &str) -> (std::process::Child, std::path::PathBuf) {
    let child = Command::new(BIN)
        .args(["get", addr, name])
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let part = dir.join(format!("{name}.part"));
    for _ in 0..1000 {
        if std::fs::metadata(&part).is_ok_and(|m| m.len() > 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, part)
}

#[test]
fn an_interrupted_get_says_the_same_command_resumes_it() {
    let s = server();
    let dir = local();
    let proxy = Proxy::start(s.addr);
    proxy.pace(1 << 20);
    let (child, part) = get_under_way(dir.path(), &proxy.address(), "big.bin");
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    ended_saying(&out, 130, "the same command resumes it");
    let held = std::fs::metadata(&part).unwrap().len();
    assert!(held > 0 && held < 3 << 20, "{held}");
    proxy.pace(0);
    let out = ferry(dir.path(), &["get", &proxy.address(), "big.bin"]);
    ended_saying(&out, 0, "resuming big.bin");
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == data(3 << 20, 5));
}

#[test]
fn limit_rate_counts_from_the_first_byte_not_from_the_start() {
    let s = server();
    let dir = local();
    let whole = data(3 << 20, 5);
    std::fs::write(dir.path().join("big.bin.part"), &whole[..2 << 20]).unwrap();
    // The answer to the RESUME waits a second: that second is no credit.
    let proxy = Proxy::start(s.addr);
    proxy.hold_after(0);
    let started = std::time::Instant::now();
    let child = Command::new(BIN)
        .args([
            "get",
            &proxy.address(),
            "big.bin",
            "--limit-rate",
            "1M",
            "-q",
        ])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    proxy.release();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == whole);
    // The second held, then about a second for the last MiB at 1M/s.
    assert!(
        started.elapsed() >= Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_local_file_edited_during_the_download_is_kept() {
    let s = server();
    let dir = local();
    let out = ferry(dir.path(), &["get", &s.addr.to_string(), "big.bin"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(s.public().join("big.bin"), data(3 << 20, 8)).unwrap();
    // The new version comes slowly; the local copy is edited meanwhile.
    let proxy = Proxy::start(s.addr);
    proxy.pace(2 << 20);
    let (child, _) = get_under_way(dir.path(), &proxy.address(), "big.bin");
    std::fs::write(dir.path().join("big.bin"), b"edited while it came").unwrap();
    let out = child.wait_with_output().unwrap();
    ended_saying(&out, 7, "changed here during the download");
    assert_eq!(
        std::fs::read(dir.path().join("big.bin")).unwrap(),
        b"edited while it came"
    );
}

#[test]
fn put_sends_names_in_nfc() {
    let s = server();
    let dir = local();
    // A name decomposed, as macOS stores it.
    std::fs::write(dir.path().join("cafe\u{301}.txt"), b"menu").unwrap();
    let out = ferry(dir.path(), &["put", &s.addr.to_string(), "cafe\u{301}.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(s.stored("public/caf\u{e9}.txt").unwrap(), b"menu");
    assert_eq!(s.stored("public/cafe\u{301}.txt"), None);
}
