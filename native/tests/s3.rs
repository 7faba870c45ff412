//! `ferry serve --store s3://...` against SeaweedFS (a real distributed
//! object store with an S3 gateway; every request signed): every op byte for
//! byte, bytewise listing order, two servers on one bucket with a cache in
//! front, users in the bucket, the store going away mid-download, and
//! startup errors.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use common::faults::Faults;
use common::metrics::{get, metrics_addr, promtool, scrape};
use common::s3::{fresh_store, weed, with_env};
use common::{BIN, data, listening, mask, name, request};
use ferry_core::{ClientEvent, Request, ResumeOutcome};
use md5::{Digest, Md5};

/// A `ferry serve` on a bucket prefix, killed on drop.
struct S3Server {
    child: Child,
    addr: SocketAddr,
    _log: tempfile::TempDir,
}

impl S3Server {
    /// Waits (bounded) until the server's log holds `text`; the log.
    fn wait_log(&self, text: &str) -> String {
        let path = self._log.path().join("server.log");
        common::wait_for(
            || std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            1,
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(store: &str, extra: &[&str]) -> S3Server {
    let log = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    with_env(&mut command)
        .args(["serve", "0", "--bind", "127.0.0.1", "--store", store])
        .args(extra);
    let (child, addr) = listening(command, &log.path().join("server.log"));
    S3Server {
        child,
        addr,
        _log: log,
    }
}

fn upload(addr: SocketAddr, auth: Option<(&str, &str)>, file: &str, bytes: &[u8]) {
    let got = request(addr, auth, Request::Upload { name: name(file) }, bytes);
    assert!(
        matches!(
            got.events.last(),
            Some(ClientEvent::UploadDone { stored: true })
        ),
        "{file}: {got:?}"
    );
}

fn download(addr: SocketAddr, auth: Option<(&str, &str)>, file: &str) -> Option<Vec<u8>> {
    let got = request(addr, auth, Request::Download { name: name(file) }, &[]);
    // After a login's answer, the file's.
    got.events
        .iter()
        .any(|e| matches!(e, ClientEvent::File { .. }))
        .then(|| got.body())
}

fn listing(addr: SocketAddr, auth: Option<(&str, &str)>) -> Vec<(String, u64)> {
    let got = request(addr, auth, Request::List, &[]);
    match &got.events[..] {
        [ClientEvent::Listing(entries)] => {
            entries.iter().map(|e| (e.name.clone(), e.size)).collect()
        }
        other => panic!("{other:?}"),
    }
}

fn add_user(store: &str, user: &str, pass: &str) {
    let out = with_env(&mut Command::new(BIN))
        .args(["user", "add", user, "--store", store])
        .env("FERRY_PASSWORD", pass)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.starts_with(&format!("added user {user} in s3://")),
        "{said}"
    );
}

#[test]
fn every_op_round_trips_byte_for_byte() {
    let store = fresh_store();
    let server = serve(&store, &[]);
    let sizes = [0usize, 1, 1023, 1024, 1025, 5 << 20];
    for (i, size) in sizes.iter().enumerate() {
        upload(
            server.addr,
            None,
            &format!("size-{size}"),
            &data(*size, i as u8),
        );
    }
    for (i, size) in sizes.iter().enumerate() {
        let got = download(server.addr, None, &format!("size-{size}")).unwrap();
        assert!(got == data(*size, i as u8), "size {size} differs");
    }
    assert_eq!(download(server.addr, None, "missing.txt"), None);
    // RESUME: from the middle with the right MD5, the wrong one, past the end.
    let whole = data(5 << 20, 5);
    for position in [0u32, 1, 3 << 20, 5 << 20] {
        let md5: [u8; 16] = Md5::digest(&whole[..position as usize]).into();
        let got = request(
            server.addr,
            None,
            Request::Resume {
                name: name("size-5242880"),
                position,
                md5,
            },
            &[],
        );
        assert_eq!(
            got.events.first(),
            Some(&ClientEvent::Resume(ResumeOutcome::Ok {
                remaining: (5 << 20) - position
            })),
            "{got:?}"
        );
        assert!(
            got.body() == whole[position as usize..],
            "resume from {position}"
        );
    }
    let wrong = request(
        server.addr,
        None,
        Request::Resume {
            name: name("size-5242880"),
            position: 10,
            md5: [7; 16],
        },
        &[],
    );
    assert_eq!(
        wrong.events.first(),
        Some(&ClientEvent::Resume(ResumeOutcome::Mismatch))
    );
    let missing = request(
        server.addr,
        None,
        Request::Resume {
            name: name("nope"),
            position: 0,
            md5: ferry_core::EMPTY_MD5,
        },
        &[],
    );
    assert_eq!(
        missing.events.first(),
        Some(&ClientEvent::Resume(ResumeOutcome::NoSuchFile))
    );
    // MGET: list + GETs, each body whole.
    let got = request(
        server.addr,
        None,
        Request::MGet {
            mask: mask("size-10*"),
        },
        &[],
    );
    assert_eq!(got.bodies.len(), 3, "{:?}", got.events);
    for (body, (size, seed)) in got.bodies.iter().zip([(1023, 2), (1024, 3), (1025, 4)]) {
        assert!(*body == data(size, seed), "MGET's {size}-byte file differs");
    }
}

#[test]
fn listings_are_in_bytewise_order_whatever_the_store_does() {
    let store = fresh_store();
    let server = serve(&store, &[]);
    for file in ["a.txt", "a/y.txt", "a-z.txt", "b"] {
        upload(server.addr, None, file, file.as_bytes());
    }
    let names: Vec<String> = listing(server.addr, None)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["a-z.txt", "a.txt", "a/y.txt", "b"]);
}

#[test]
fn two_servers_on_one_bucket_share_files_and_users_with_a_cache_in_front() {
    let store = fresh_store();
    let (one, two) = (serve(&store, &[]), serve(&store, &[]));
    let bytes = data(300_000, 9);
    upload(one.addr, None, "shared.bin", &bytes);
    assert!(download(two.addr, None, "shared.bin").unwrap() == bytes);
    // A user added now logs in on a server already running.
    add_user(&store, "alice", "wonderland");
    upload(
        two.addr,
        Some(("alice", "wonderland")),
        "mine.txt",
        b"private",
    );
    assert_eq!(
        download(one.addr, Some(("alice", "wonderland")), "mine.txt").unwrap(),
        b"private"
    );
    assert_eq!(
        download(one.addr, None, "mine.txt"),
        None,
        "private files stay private"
    );
    let denied = request(one.addr, Some(("alice", "wrong")), Request::List, &[]);
    assert_eq!(denied.events.first(), Some(&ClientEvent::AuthDenied));
    // A cache in front of each server serves the same bytes.
    for origin in [&one, &two] {
        let dir = tempfile::tempdir().unwrap();
        let cache = common::Cache::start(&origin.addr.to_string(), &dir.path().join("cache"), &[]);
        assert!(download(cache.addr, None, "shared.bin").unwrap() == bytes);
    }
}

#[test]
fn users_added_at_once_through_two_admins_are_all_kept() {
    let store = fresh_store();
    let admins: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || add_user(&store, &format!("user{i}"), "pass"))
        })
        .collect();
    for admin in admins {
        admin.join().unwrap();
    }
    let out = with_env(&mut Command::new(BIN))
        .args(["user", "list", "--store", &store])
        .output()
        .unwrap();
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        (0..6).map(|i| format!("user{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn an_upload_cut_short_leaves_nothing_in_the_bucket() {
    use std::io::{Read, Write};
    let store = fresh_store();
    let server = serve(&store, &[]);
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(&[30, 0, 0, 0, 3]).unwrap();
    stream.write_all(b"cut").unwrap();
    let mut status = [9u8];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(status, [0]);
    stream.write_all(&100_000u32.to_be_bytes()).unwrap();
    stream.write_all(&data(40_000, 1)).unwrap();
    drop(stream);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(listing(server.addr, None), []);
    assert_eq!(download(server.addr, None, "cut"), None);
    // The server is not stuck on it: the same name uploads whole at once.
    upload(server.addr, None, "cut", b"whole");
    assert_eq!(download(server.addr, None, "cut").unwrap(), b"whole");
}

#[test]
fn the_store_going_away_mid_download_is_a_short_transfer_for_that_client_only() {
    let store = fresh_store();
    // The server reaches the store through a proxy that can be cut.
    let store_addr = weed()
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = common::proxy::Proxy::start(store_addr);
    let endpoint = format!("http://{}", proxy.addr);
    let server = serve(&store, &["--s3-endpoint", &endpoint]);
    let bytes = data(8 << 20, 4);
    upload(server.addr, None, "big.bin", &bytes);
    proxy.pace(200_000);
    let reader = std::thread::spawn({
        let addr = server.addr;
        move || {
            request(
                addr,
                None,
                Request::Download {
                    name: name("big.bin"),
                },
                &[],
            )
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    // Gone for good: the connections cut, and nothing listening any more.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.retarget(gone.local_addr().unwrap());
    drop(gone);
    proxy.cut();
    let got = reader.join().unwrap();
    assert_eq!(
        got.events.first(),
        Some(&ClientEvent::File { size: 8 << 20 }),
        "{got:?}"
    );
    let len = got.body().len();
    assert!(
        0 < len && len < bytes.len(),
        "a short transfer of {len} bytes"
    );
    assert!(got.error.is_some(), "{got:?}");
    // The server keeps serving: with the store reachable again, whole files.
    proxy.retarget(store_addr);
    proxy.pace(0);
    assert!(download(server.addr, None, "big.bin").unwrap() == bytes);
}

#[test]
fn wrong_credentials_a_missing_bucket_or_no_store_fail_at_startup() {
    let store = fresh_store();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(BIN);
        with_env(&mut command)
            .args(["serve", "0", "--bind", "127.0.0.1"])
            .args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--store", &store], &[("AWS_SECRET_ACCESS_KEY", "wrong")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("access denied; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    let (code, err) = run(&["--store", "s3://no-such-bucket-here"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no such bucket"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (code, err) = run(
        &[
            "--store",
            &store,
            "--s3-endpoint",
            &format!("http://{closed}"),
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot reach the object store"), "{err}");
    let (code, err) = run(&["--store", "files/x"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("write s3://BUCKET"), "{err}");
}

#[test]
fn a_first_resume_far_into_a_large_object_hashes_it_in_ranges() {
    let store = fresh_store();
    let server = serve(&store, &[]);
    let whole = data(20 << 20, 6);
    upload(server.addr, None, "large.bin", &whole);
    // Past two checkpoint intervals: three ranged GETs, then the rest.
    for position in [17 << 20, (17 << 20) + 12_345, 8 << 20] {
        let md5: [u8; 16] = Md5::digest(&whole[..position as usize]).into();
        let got = request(
            server.addr,
            None,
            Request::Resume {
                name: name("large.bin"),
                position,
                md5,
            },
            &[],
        );
        assert_eq!(
            got.events.first(),
            Some(&ClientEvent::Resume(ResumeOutcome::Ok {
                remaining: (20 << 20) - position
            })),
            "{got:?}"
        );
        assert!(got.body() == whole[position as usize..], "from {position}");
    }
}

/// The store's address, for proxies in front of it.
fn store_addr() -> SocketAddr {
    weed()
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

#[test]
fn requests_the_store_answers_503_are_tried_again_up_to_three_times() {
    let store = fresh_store();
    let faults = Faults::start(store_addr());
    let server = serve(
        &store,
        &[
            "--s3-endpoint",
            &faults.endpoint(),
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let at = metrics_addr(|| server.wait_log("metrics on http://"));
    assert_eq!(get(at, "/healthz"), (200, "ok\n".into()));
    upload(server.addr, None, "a.txt", b"alpha");
    // Twice 503, then the answer: the client sees nothing of it.
    faults.answer("GET", "/public/a.txt", 2, 503);
    let before = scrape(at);
    assert_eq!(download(server.addr, None, "a.txt").unwrap(), b"alpha");
    let gets = faults.seen("GET", "/public/a.txt?");
    assert_eq!(gets.len(), 3, "{gets:?}");
    // The metrics count each try: two 503s, two retries, then the 200.
    let after = scrape(at);
    let grew = |key: &str| after.get(key).unwrap_or(&0.0) - before.get(key).unwrap_or(&0.0);
    assert_eq!(
        grew("ferry_s3_requests_total{method=\"GET\",status=\"503\"}"),
        2.0
    );
    assert_eq!(
        grew("ferry_s3_requests_total{method=\"GET\",status=\"200\"}"),
        1.0
    );
    assert_eq!(grew("ferry_s3_retries_total"), 2.0);
    assert_eq!(
        grew("ferry_s3_request_duration_seconds_count{method=\"GET\"}"),
        3.0
    );
    let put = "ferry_s3_requests_total{method=\"PUT\",status=\"200\"}";
    assert!(after.get(put).copied().unwrap_or(0.0) >= 1.0, "{after:?}");
    assert_eq!(promtool(&get(at, "/metrics").1), "");
    // Three times: refused, and the log names the request.
    faults.answer("GET", "/public/a.txt", 3, 503);
    assert_eq!(download(server.addr, None, "a.txt"), None);
    let log = server.wait_log("after 3 tries");
    assert!(log.contains("GET public/a.txt: 503 after 3 tries"), "{log}");
    // A PUT whose body streams from the client is not tried again.
    faults.answer("PUT", "/public/b.txt", 1, 503);
    let got = request(
        server.addr,
        None,
        Request::Upload {
            name: name("b.txt"),
        },
        b"beta",
    );
    assert_eq!(
        got.events.last(),
        Some(&ClientEvent::UploadDone { stored: false })
    );
    assert_eq!(faults.seen("PUT", "/public/b.txt?").len(), 1);
}

#[test]
fn a_get_cut_in_the_middle_goes_on_from_where_it_stopped() {
    let store = fresh_store();
    let faults = Faults::start(store_addr());
    let server = serve(&store, &["--s3-endpoint", &faults.endpoint()]);
    let bytes = data(8 << 20, 6);
    upload(server.addr, None, "big.bin", &bytes);
    faults.cut("GET", "/public/big.bin", 1, 3 << 20);
    assert!(download(server.addr, None, "big.bin").unwrap() == bytes);
    let gets = faults.seen("GET", "/public/big.bin?");
    assert_eq!(gets.len(), 2, "{gets:?}");
    // The second asks for the rest of the same version only.
    let from: u64 = gets[1]
        .split("range=bytes=")
        .nth(1)
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no range: {gets:?}"));
    assert!(from > 2 << 20 && from < 3 << 20, "{from}");
    assert!(gets[1].contains("if-match="), "{gets:?}");
}

#[test]
fn a_store_that_stalls_is_cut_by_the_timeout_and_the_rest_asked_again() {
    let store = fresh_store();
    let faults = Faults::start(store_addr());
    let server = serve(
        &store,
        &["--s3-endpoint", &faults.endpoint(), "--timeout", "2"],
    );
    let bytes = data(4 << 20, 7);
    upload(server.addr, None, "big.bin", &bytes);
    faults.stall("GET", "/public/big.bin", 1 << 20);
    let started = std::time::Instant::now();
    assert!(download(server.addr, None, "big.bin").unwrap() == bytes);
    // Cut after --timeout, not after the HTTP client's own 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let gets = faults.seen("GET", "/public/big.bin?");
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(
        gets[1].contains("range=bytes=") && gets[1].contains("if-match="),
        "{gets:?}"
    );
}

#[test]
fn a_users_change_whose_answer_was_lost_is_not_reported_as_a_lost_race() {
    let store = fresh_store();
    let faults = Faults::start(store_addr());
    // The store writes the users file, but its answer never arrives: the
    // PUT is tried again, finds the file changed, and reads it to see.
    faults.cut("PUT", "/users", 1, 0);
    let out = with_env(&mut Command::new(BIN))
        .args(["user", "add", "ana", "--store", &store])
        .args(["--s3-endpoint", &faults.endpoint()])
        .env("FERRY_PASSWORD", "secret")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.starts_with("added user ana"), "{said}");
    assert_eq!(faults.seen("PUT", "/users").len(), 2);
    let server = serve(&store, &[]);
    let got = request(server.addr, Some(("ana", "secret")), Request::List, &[]);
    assert!(
        matches!(got.events.last(), Some(ClientEvent::Listing(_))),
        "{got:?}"
    );
}

#[test]
fn downloads_reuse_one_connection_to_the_store_and_replace_it_once_closed() {
    let store = fresh_store();
    let proxy = common::proxy::Proxy::start(store_addr());
    let endpoint = format!("http://{}", proxy.address());
    let server = serve(&store, &["--s3-endpoint", &endpoint]);
    let small = data(3000, 8);
    let large = data(300_000, 9);
    upload(server.addr, None, "small.bin", &small);
    upload(server.addr, None, "large.bin", &large);
    let before = proxy.connections();
    for _ in 0..20 {
        assert!(download(server.addr, None, "small.bin").unwrap() == small);
    }
    // Twenty GETs, one after another, on one connection kept open.
    assert_eq!(proxy.connections() - before, 1);
    // The store closes it: the next GET opens another, and the client
    // sees nothing of it.
    proxy.cut();
    assert!(download(server.addr, None, "small.bin").unwrap() == small);
    assert_eq!(proxy.connections() - before, 2);
    // A large object's body is read from the socket on another thread:
    // its connection is not kept, and the next GET opens another.
    assert!(download(server.addr, None, "large.bin").unwrap() == large);
    assert_eq!(proxy.connections() - before, 2);
    assert!(download(server.addr, None, "small.bin").unwrap() == small);
    assert_eq!(proxy.connections() - before, 3);
    // No such object: an answer on the kept connection too.
    assert_eq!(download(server.addr, None, "missing.bin"), None);
    assert!(download(server.addr, None, "small.bin").unwrap() == small);
    assert_eq!(proxy.connections() - before, 3);
}

#[test]
fn an_interim_answer_and_a_chunked_body_are_read_right() {
    let store = fresh_store();
    let faults = Faults::start(store_addr());
    let server = serve(&store, &["--s3-endpoint", &faults.endpoint()]);
    let small = data(3000, 10);
    let large = data(300_000, 11);
    upload(server.addr, None, "small.bin", &small);
    upload(server.addr, None, "large.bin", &large);
    faults.reframe("GET", "/public/small.bin", 1);
    faults.reframe("GET", "/public/large.bin", 1);
    assert!(download(server.addr, None, "small.bin").unwrap() == small);
    assert!(download(server.addr, None, "large.bin").unwrap() == large);
    // The 100 Continue is passed over; a body of unannounced length is
    // asked again through the HTTP client that decodes chunks.
    for name in ["small.bin", "large.bin"] {
        let gets = faults.seen("GET", &format!("/public/{name}?"));
        assert_eq!(gets.len(), 2, "{gets:?}");
    }
}

#[test]
fn the_store_over_https_is_trusted_through_s3_ca() {
    let store = fresh_store();
    let weed = common::s3::weed();
    let ca = weed.https_cert.to_str().unwrap().to_owned();
    let over_https = [
        "--s3-endpoint",
        weed.https_endpoint.as_str(),
        "--s3-ca",
        &ca,
    ];
    let server = serve(&store, &over_https);
    let body = common::data(300_000, 5);
    upload(server.addr, None, "over-https.bin", &body);
    assert_eq!(
        download(server.addr, None, "over-https.bin"),
        Some(body.clone())
    );
    // Stored for real: read back over plain HTTP, bypassing ferry.
    assert_eq!(common::s3::get(&store, "public/over-https.bin"), Some(body));
    // Without the CA, the self-signed gateway is not trusted: a clear
    // refusal at start-up.
    let out = with_env(&mut Command::new(BIN))
        .args(["serve", "0", "--bind", "127.0.0.1", "--store", &store])
        .args(["--s3-endpoint", &weed.https_endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("cannot reach the object store"), "{said}");
}
