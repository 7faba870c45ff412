//! The `ferry` command line: startup errors, exit codes, users, shutdown.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Server, add_user, data, name, request};
use ferry_core::{ClientEvent, Request};

fn ferry(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn help_lists_the_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, _) = ferry(&["--help"], tmp.path());
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit codes:") && out.contains("serve") && out.contains("user"),
        "{out}"
    );
    let (code, out, _) = ferry(&["serve", "--help"], tmp.path());
    assert_eq!(code, 0);
    for flag in ["--root", "--timeout", "--max-connections", "[PORT]"] {
        assert!(out.contains(flag), "{flag} missing from {out}");
    }
}

#[test]
fn a_missing_root_is_one_clear_sentence_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = ferry(&["serve", "0", "--root", "nowhere"], tmp.path());
    assert_eq!(code, 2);
    assert!(
        err.contains("the root folder nowhere does not exist"),
        "{err}"
    );
    assert!(err.contains("leave out --root"), "says what to do: {err}");
}

#[test]
fn cache_options_are_checked_at_startup() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, _) = ferry(&["cache", "--help"], tmp.path());
    assert_eq!(code, 0);
    for flag in [
        "[PORT]",
        "--origin",
        "--dir",
        "--max-size",
        "--fresh-for",
        "--timeout",
        "--grace",
    ] {
        assert!(out.contains(flag), "{flag} missing from {out}");
    }
    let cases: [(&[&str], &str); 6] = [
        (&["--origin", "localhost"], "has no port"),
        (
            &[
                "--origin",
                "127.0.0.1:1",
                "--bind",
                "127.0.0.1",
                "--bind",
                "127.0.0.1",
            ],
            "--bind 127.0.0.1 is given twice",
        ),
        (
            &[
                "--origin",
                "127.0.0.1:1",
                "--bind",
                "127.0.0.1",
                "--bind",
                "0.0.0.0",
            ],
            "--bind 0.0.0.0 already covers 127.0.0.1 (every IPv4 address)",
        ),
        (
            &["--origin", "127.0.0.1:1", "--max-size", "lots"],
            "is not a size",
        ),
        (
            &["--origin", "127.0.0.1:1", "--max-size", "2XB"],
            "unknown unit",
        ),
        (
            &["--origin", "127.0.0.1:1", "--fresh-for=-1"],
            "--fresh-for must be",
        ),
    ];
    for (args, says) in cases {
        let mut all = vec!["cache", "0", "--dir", "c"];
        all.extend(args);
        let (code, _, err) = ferry(&all, tmp.path());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn man_and_completions_stop_quietly_when_their_reader_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [&["man"][..], &["completions", "bash"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Gone before anything is written, as `ferry man | head` soon is.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {said}");
        assert!(said.is_empty(), "{args:?}: {said}");
    }
}

#[test]
fn a_port_in_use_is_one_clear_sentence_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("[::]:0")
        .or_else(|_| TcpListener::bind("0.0.0.0:0"))
        .unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    std::fs::create_dir(tmp.path().join("root")).unwrap();
    let (code, _, err) = ferry(&["serve", &port, "--root", "root"], tmp.path());
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("cannot listen on port {port}")) && err.contains("pick another port"),
        "{err}"
    );
}

#[test]
fn an_unreadable_users_file_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("root")).unwrap();
    std::fs::write(tmp.path().join("root/users"), "this line has no colon\n").unwrap();
    let (code, _, err) = ferry(&["serve", "0", "--root", "root"], tmp.path());
    assert_eq!(code, 2);
    assert!(err.contains("users:1: expected `name:hash`"), "{err}");
}

#[test]
fn without_root_a_demo_folder_is_made_and_served() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "0"])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let port: u16 = first
        .split("on port ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let got = request(
        ([127, 0, 0, 1], port).into(),
        None,
        Request::Download {
            name: name("hello.txt"),
        },
        &[],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        got.body(),
        std::fs::read(tmp.path().join("ferry-demo/public/hello.txt")).unwrap()
    );
    assert!(tmp.path().join("ferry-demo/private").is_dir());
}

#[test]
fn user_commands_manage_hashed_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir(&root).unwrap();
    add_user(&root, "dora", "explorer");
    let run = |args: &[&str], pass: &str| {
        Command::new(BIN)
            .args(args)
            .arg("--root")
            .arg(&root)
            .env("FERRY_PASSWORD", pass)
            .output()
            .unwrap()
    };
    let out = run(&["user", "list"], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dora\n");
    let out = run(&["user", "add", "dora"], "again");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let out = run(&["user", "add", "../evil"], "x");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be a user name"));
    let before = std::fs::read_to_string(root.join("users")).unwrap();
    assert!(run(&["user", "passwd", "dora"], "newpass").status.success());
    let after = std::fs::read_to_string(root.join("users")).unwrap();
    assert_ne!(before, after);
    assert!(!after.contains("newpass") && after.starts_with("dora:$argon2id$"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(root.join("users"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(run(&["user", "del", "dora"], "").status.success());
    assert_eq!(
        String::from_utf8_lossy(&run(&["user", "list"], "").stdout),
        ""
    );
    assert!(
        root.join("private/dora").is_dir(),
        "the private folder is kept"
    );
}

#[test]
fn sigterm_lets_a_transfer_in_flight_finish_then_exits_0() {
    let server = Server::start(&["--grace", "20"], |root| {
        std::fs::write(root.join("public/big.bin"), data(32 << 20, 9)).unwrap();
    });
    let expected = std::fs::read(server.public().join("big.bin")).unwrap();
    // A slow reader: the download is in flight when SIGTERM arrives.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    std::io::Write::write_all(&mut stream, &[10, 0, 0, 0, 7]).unwrap();
    std::io::Write::write_all(&mut stream, b"big.bin").unwrap();
    let mut head = [0; 5];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0);
    std::thread::sleep(Duration::from_millis(300));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(server.child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // New connections are no longer accepted.
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "still accepting after SIGTERM"
    );
    let mut body = Vec::new();
    stream.read_to_end(&mut body).unwrap();
    assert!(
        body == expected,
        "the transfer in flight was cut: {} of {} bytes",
        body.len(),
        expected.len()
    );
    let mut server = server;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        server.log().contains("stopping: waiting up to"),
        "{}",
        server.log()
    );
    let _ = ClientEvent::Refused;
}

#[test]
fn stale_temporaries_are_removed_at_start_in_every_folder() {
    let server = Server::start(&[], |root| {
        std::fs::create_dir_all(root.join("private/bob/deep")).unwrap();
        std::fs::write(root.join("public/.ferry-upload-1-1"), b"stale").unwrap();
        std::fs::write(root.join("private/bob/deep/.ferry-upload-2-2"), b"stale").unwrap();
        std::fs::write(root.join("private/bob/keep.txt"), b"kept").unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(!server.public().join(".ferry-upload-1-1").exists());
    assert!(
        !server
            .root()
            .join("private/bob/deep/.ferry-upload-2-2")
            .exists()
    );
    assert!(server.root().join("private/bob/keep.txt").exists());
    assert!(
        server.log().contains("removed 2 unfinished upload(s)"),
        "{}",
        server.log()
    );
}

#[test]
fn a_second_signal_during_the_grace_period_stops_at_once() {
    let server = Server::start(&["--grace", "30"], |root| {
        std::fs::write(root.join("public/big.bin"), data(32 << 20, 9)).unwrap();
    });
    // A reader that never reads: the server would wait the whole grace.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    std::io::Write::write_all(&mut stream, &[10, 0, 0, 0, 7]).unwrap();
    std::io::Write::write_all(&mut stream, b"big.bin").unwrap();
    let mut head = [0; 5];
    stream.read_exact(&mut head).unwrap();
    let pid = rustix::process::Pid::from_raw(server.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut server = server;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the grace period is on"
    );
    let started = Instant::now();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still waiting for the grace"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert!(
        server.log().contains("stopping at once"),
        "{}",
        server.log()
    );
}

#[test]
fn bind_listens_only_where_asked_and_read_only_refuses_uploads() {
    let server = Server::start(&["--bind", "127.0.0.1", "--read-only"], |root| {
        std::fs::write(root.join("public/a.txt"), b"alpha").unwrap();
    });
    let other = std::net::SocketAddr::from(([127, 0, 0, 2], server.addr.port()));
    assert!(
        std::net::TcpStream::connect(other).is_err(),
        "127.0.0.2 is not bound"
    );
    let got = request(
        server.addr,
        None,
        Request::Download {
            name: name("a.txt"),
        },
        &[],
    );
    assert_eq!(got.body(), b"alpha");
    let up = request(
        server.addr,
        None,
        Request::Upload {
            name: name("new.txt"),
        },
        b"data",
    );
    assert_eq!(up.events, [ClientEvent::Refused]);
    assert!(!server.public().join("new.txt").exists());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        server.log().contains("read-only (--read-only)"),
        "{}",
        server.log()
    );
}

#[test]
fn a_root_that_is_a_file_and_a_missing_root_for_user_list_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("afile"), b"x").unwrap();
    let (code, _, err) = ferry(&["serve", "0", "--root", "afile"], tmp.path());
    assert_eq!(code, 2);
    assert!(err.contains("afile is not a folder"), "{err}");
    let (code, _, err) = ferry(&["user", "list", "--root", "nowhere"], tmp.path());
    assert_eq!(code, 1);
    assert!(
        err.contains("the root folder nowhere does not exist"),
        "{err}"
    );
}

#[test]
fn completions_and_the_manual_come_from_the_same_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = ferry(&["completions", shell], tmp.path());
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["serve", "cache", "mget", "limit-rate", "no-clobber"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    // The bash script is valid bash.
    let (_, script, _) = ferry(&["completions", "bash"], tmp.path());
    std::fs::write(tmp.path().join("ferry.bash"), script).unwrap();
    let checked = Command::new("bash")
        .args(["-n", "ferry.bash"])
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(checked.success());
    let (code, man, _) = ferry(&["man"], tmp.path());
    assert_eq!(code, 0);
    assert!(man.contains(".TH ferry 1"), "{man}");
    for word in ["serve", "cache", "completions", "Exit codes"] {
        assert!(man.contains(word), "the manual lacks {word}");
    }
    let (code, _, err) = ferry(&["completions", "tcsh"], tmp.path());
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_second_server_on_the_same_root_refuses_before_touching_anything() {
    let server = Server::start(&[], |_| {});
    // An upload in flight of the first server, as a second one would see it.
    let temp = server.public().join(".ferry-upload-1-1");
    std::fs::write(&temp, b"in flight").unwrap();
    let root = server.root();
    // The same port, as an operator would start it: without the root lock
    // it removed the "unfinished upload" first, then failed on the port.
    let port = server.addr.port().to_string();
    let (code, _, err) = ferry(
        &["serve", &port, "--root", root.to_str().unwrap()],
        server.tmp.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another ferry serve uses this root"), "{err}");
    assert!(
        err.contains(&format!("process {}", server.child.id())),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&temp).unwrap(),
        b"in flight",
        "nothing was removed"
    );
}

#[test]
fn a_stop_during_an_upload_leaves_no_temporary() {
    let server = Server::start(&["--grace", "1"], |_| {});
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    std::io::Write::write_all(&mut stream, &[30, 0, 0, 0, 11]).unwrap();
    std::io::Write::write_all(&mut stream, b"dir/new.bin").unwrap();
    let mut status = [9u8];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(status, [0]);
    std::io::Write::write_all(&mut stream, &(1u32 << 20).to_be_bytes()).unwrap();
    std::io::Write::write_all(&mut stream, &data(100_000, 3)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = rustix::process::Pid::from_raw(server.child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let mut server = server;
    let started = Instant::now();
    while server.child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<_> = common::snapshot(&server.public())
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains(".ferry-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!server.public().join("dir/new.bin").exists());
    drop(stream);
}
