//! `ferry cache` between real clients and a real origin on 127.0.0.1, with a
//! counting, pacing, cutting proxy between the cache and the origin.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::proxy::Proxy;
use common::{BIN, Cache, Server, data, name, request};
use ferry_core::Request;

/// An origin with `files` in its public folder, a proxy in front of it and
/// a cache in front of the proxy.
struct Setup {
    origin: Server,
    proxy: Proxy,
    cache: Cache,
    tmp: tempfile::TempDir,
}

impl Setup {
    fn new(files: &[(&str, &[u8])], extra: &[&str]) -> Setup {
        Setup::with_origin(files, &[], extra)
    }

    /// An origin whose public files clients without a login may replace
    /// (the cache uploads without a login).
    fn overwriting(files: &[(&str, &[u8])], extra: &[&str]) -> Setup {
        Setup::with_origin(files, &["--public-overwrite"], extra)
    }

    fn with_origin(files: &[(&str, &[u8])], origin: &[&str], extra: &[&str]) -> Setup {
        let origin = Server::start(origin, |root| {
            for (name, bytes) in files {
                let path = root.join("public").join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
        });
        let proxy = Proxy::start(origin.addr);
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::start(&proxy.address(), &tmp.path().join("cache"), extra);
        Setup {
            origin,
            proxy,
            cache,
            tmp,
        }
    }

    fn origin_file(&self, name: &str) -> PathBuf {
        self.origin.public().join(name)
    }

    /// Restarts the cache on the same folder (after killing it).
    fn restart_cache(&mut self, extra: &[&str]) {
        let _ = self.cache.child.kill();
        let _ = self.cache.child.wait();
        self.cache = Cache::start(&self.proxy.address(), &self.cache.dir.clone(), extra);
    }
}

/// Downloads `file` from `addr` with the core's client session.
fn download(addr: SocketAddr, file: &str) -> Vec<u8> {
    let out = request(addr, None, Request::Download { name: name(file) }, &[]);
    assert_eq!(out.error, None, "{:?}", out.events);
    out.body()
}

/// The real client, in a folder of its own.
fn ferry(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn download_frame(file: &str) -> Vec<u8> {
    let mut bytes = vec![10];
    bytes.extend((file.len() as u32).to_be_bytes());
    bytes.extend(file.as_bytes());
    bytes
}

#[test]
fn a_miss_fills_the_cache_and_a_hit_moves_no_file_bytes_from_the_origin() {
    let big = data(3 << 20, 1);
    let s = Setup::new(&[("big.bin", &big), ("a.txt", b"alpha")], &[]);
    assert!(download(s.cache.addr, "big.bin") == big);
    let after_miss = s.proxy.down_bytes();
    assert!(
        (big.len() as u64..big.len() as u64 + 64).contains(&after_miss),
        "one fetch: {after_miss}"
    );
    // --fresh-for 0: every hit asks the origin with op 40, which sends no file bytes.
    assert!(download(s.cache.addr, "big.bin") == big);
    assert!(download(s.cache.addr, "big.bin") == big);
    let moved = s.proxy.down_bytes() - after_miss;
    assert!(moved <= 2 * 8, "two revalidations moved {moved} bytes");
    assert_eq!(s.proxy.connections(), 3);
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha");
    let log = s.cache.wait_log("DOWNLOAD", 4);
    assert_eq!(log.matches("MISS").count(), 2, "{log}");
    assert_eq!(log.matches("REVALIDATED").count(), 2, "{log}");
}

#[test]
fn a_fresh_entry_is_served_without_asking_the_origin() {
    let s = Setup::new(&[("a.txt", b"alpha")], &["--fresh-for", "60"]);
    for _ in 0..3 {
        assert_eq!(download(s.cache.addr, "a.txt"), b"alpha");
    }
    assert_eq!(s.proxy.connections(), 1);
    let log = s.cache.wait_log("HIT", 2);
    assert_eq!(log.matches("HIT").count(), 2, "{log}");
}

#[test]
fn two_hundred_cold_clients_share_one_origin_fetch_and_stream_as_it_arrives() {
    const CLIENTS: usize = 200;
    let file = Arc::new(data(8 << 20, 2));
    let s = Setup::new(&[("cold.bin", &file)], &[]);
    // The origin's bytes stop after 1 MiB until every client has had its
    // first byte: an order, whatever the machine's load.
    s.proxy.hold_after(1 << 20);
    let start = Arc::new(Barrier::new(CLIENTS));
    let (first_bytes, got_first) = std::sync::mpsc::channel();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (file, start, addr) = (file.clone(), start.clone(), s.cache.addr);
            let first_bytes = first_bytes.clone();
            std::thread::spawn(move || {
                start.wait();
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                stream.write_all(&download_frame("cold.bin")).unwrap();
                let mut header = [0u8; 5];
                stream.read_exact(&mut header).unwrap();
                assert_eq!(header, [0, 0, 0x80, 0, 0], "status 0, size 8 MiB");
                let mut at = 0;
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = stream.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    if at == 0 {
                        first_bytes.send(()).unwrap();
                    }
                    assert!(buf[..n] == file[at..at + n], "byte-exact at {at}");
                    at += n;
                }
                assert_eq!(at, file.len());
            })
        })
        .collect();
    for i in 0..CLIENTS {
        got_first
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("only {i} clients had bytes while the origin was held"));
    }
    // Every client had bytes while the origin was held at 1 MiB of 8.
    s.proxy.release();
    for client in clients {
        client.join().unwrap();
    }
    assert_eq!(s.proxy.connections(), 1, "exactly one origin fetch");
    assert!(s.proxy.down_bytes() < (8 << 20) + 64);
    let log = s.cache.wait_log("DOWNLOAD", CLIENTS);
    assert_eq!(log.matches("MISS").count(), 1);
    assert_eq!(log.matches("COALESCED").count(), CLIENTS - 1);
}

#[test]
fn a_changed_file_is_fetched_again_and_an_appended_one_only_for_the_rest() {
    let s = Setup::new(
        &[("log.txt", &data(100_000, 3)), ("doc.txt", b"version 1")],
        &[],
    );
    assert_eq!(download(s.cache.addr, "doc.txt"), b"version 1");
    std::fs::write(s.origin_file("doc.txt"), b"version 2").unwrap();
    assert_eq!(download(s.cache.addr, "doc.txt"), b"version 2");
    assert_eq!(download(s.cache.addr, "doc.txt"), b"version 2");

    assert!(download(s.cache.addr, "log.txt") == data(100_000, 3));
    let before = s.proxy.down_bytes();
    let mut grown = data(100_000, 3);
    grown.extend(data(5_000, 4));
    std::fs::write(s.origin_file("log.txt"), &grown).unwrap();
    assert!(download(s.cache.addr, "log.txt") == grown);
    let moved = s.proxy.down_bytes() - before;
    assert!(
        (5_000..5_000 + 16).contains(&moved),
        "only the appended bytes came from the origin: {moved}"
    );
    assert!(download(s.cache.addr, "log.txt") == grown);
}

#[test]
fn a_fill_the_origin_cuts_is_never_served_whole_and_resumes_from_its_prefix() {
    let big = data(6 << 20, 5);
    let s = Setup::new(&[("big.bin", &big)], &[]);
    s.proxy.pace(2 << 20);
    let dir = tempfile::tempdir().unwrap();
    let client = {
        let (dir, addr) = (dir.path().to_owned(), s.cache.address());
        std::thread::spawn(move || ferry(&dir, &["get", &addr, "big.bin"]))
    };
    // Cut the origin's connection one to two seconds into the fill.
    std::thread::sleep(Duration::from_millis(1200));
    s.proxy.cut();
    let cut = client.join().unwrap();
    assert_eq!(cut.status.code(), Some(8), "{}", stderr(&cut));
    assert!(
        !dir.path().join("big.bin").exists(),
        "nothing looks complete"
    );
    let part = std::fs::read(dir.path().join("big.bin.part")).unwrap();
    assert!(!part.is_empty() && part.len() < big.len());
    assert!(part[..] == big[..part.len()]);
    // The cache keeps what it received as a prefix (never as an entry).
    let mut prefix = 0;
    for _ in 0..200 {
        prefix = walk(&s.cache.dir.join("prefixes"));
        if prefix > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        prefix >= part.len() as u64 && prefix < big.len() as u64,
        "{prefix}"
    );
    let log = s.cache.wait_log("aborted", 1);
    assert!(
        log.contains("DOWNLOAD \"big.bin\" aborted: origin connection lost after"),
        "the log says what happened: {log}"
    );
    assert_eq!(walk(&s.cache.dir.join("entries")), 0);
    // The next request resumes the fill from that prefix.
    let origin_before = s.proxy.down_bytes();
    s.proxy.pace(0);
    let out = ferry(dir.path(), &["get", &s.cache.address(), "big.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::read(dir.path().join("big.bin")).unwrap() == big);
    let moved = s.proxy.down_bytes() - origin_before;
    let rest = big.len() as u64 - prefix;
    assert!(
        (rest..rest + 16).contains(&moved),
        "the second fill fetched only the {rest} missing bytes: {moved}"
    );
    assert!(download(s.cache.addr, "big.bin") == big);
}

#[test]
fn with_the_origin_down_a_cached_file_is_served_stale_and_others_refused() {
    let s = Setup::new(&[("a.txt", b"alpha"), ("b.txt", b"beta")], &[]);
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha");
    let listed = request(s.cache.addr, None, Request::List, &[]);
    assert_eq!(listed.error, None);
    let Setup {
        origin,
        proxy,
        cache,
        tmp: _tmp,
    } = s;
    drop(origin);
    assert_eq!(download(cache.addr, "a.txt"), b"alpha");
    let refused = request(
        cache.addr,
        None,
        Request::Download {
            name: name("b.txt"),
        },
        &[],
    );
    assert_eq!(refused.events, [ferry_core::ClientEvent::Refused]);
    let stale_list = request(cache.addr, None, Request::List, &[]);
    assert_eq!(stale_list.events, listed.events, "the last listing");
    let log = cache.wait_log("STALE", 2);
    assert!(log.contains("DOWNLOAD \"a.txt\" STALE"), "{log}");
    assert!(log.contains("LIST STALE"), "{log}");
    drop(proxy);
}

#[test]
fn a_file_larger_than_the_cache_passes_through_uncached() {
    let big = data(3 << 20, 11);
    let s = Setup::new(&[("big.bin", &big)], &["--max-size", "2MiB"]);
    for _ in 0..2 {
        assert!(download(s.cache.addr, "big.bin") == big);
    }
    assert_eq!(
        s.proxy.down_bytes() / big.len() as u64,
        2,
        "each download came from the origin"
    );
    let log = s.cache.wait_log("PASS", 2);
    assert_eq!(log.matches("DOWNLOAD \"big.bin\" PASS").count(), 2, "{log}");
    // The fill's file goes once its task ends, just after the last byte.
    let mut held = u64::MAX;
    for _ in 0..200 {
        held = walk(&s.cache.dir);
        if held == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(held, 0, "nothing kept on the cache's disk");
}

#[test]
fn eviction_keeps_the_size_and_spares_a_copy_being_read() {
    let (a, b, c) = (data(2 << 20, 6), data(2 << 20, 7), data(2 << 20, 8));
    let s = Setup::new(
        &[("a.bin", &a), ("b.bin", &b), ("c.bin", &c)],
        &["--max-size", "5MiB"],
    );
    assert!(download(s.cache.addr, "a.bin") == a);
    // A slow reader of a, holding it open while b and c push it out.
    let mut slow = TcpStream::connect(s.cache.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(&download_frame("a.bin")).unwrap();
    let mut first = vec![0u8; 5 + 1000];
    slow.read_exact(&mut first).unwrap();
    assert!(download(s.cache.addr, "b.bin") == b);
    assert!(download(s.cache.addr, "c.bin") == c);
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).unwrap();
    assert!(
        [&first[5..], &rest[..]].concat() == a,
        "the evicted copy was read whole"
    );
    // c becomes an entry just after its last byte is sent, and a's folder
    // is removed just after: wait for both.
    let mut names = Vec::new();
    for _ in 0..300 {
        names = entry_names(&s.cache.dir);
        if names.contains(&"c.bin".to_owned()) && walk(&s.cache.dir.join("entries")) <= 4 << 20 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    names.sort();
    assert_eq!(
        names,
        ["b.bin", "c.bin"],
        "a, least recently used, went first"
    );
    assert_eq!(
        walk(&s.cache.dir.join("entries")),
        4 << 20,
        "within --max-size"
    );
    // a was evicted: it is fetched again.
    assert!(download(s.cache.addr, "a.bin") == a);
    let log = s.cache.wait_log("MISS", 4);
    assert_eq!(log.matches("MISS").count(), 4, "{log}");
}

/// The names of the cache's entries, from their meta files.
fn entry_names(cache: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(cache.join("entries")).unwrap() {
        let meta = std::fs::read_to_string(entry.unwrap().path().join("meta")).unwrap_or_default();
        if let Some(name) = meta.lines().find_map(|l| l.strip_prefix("name ")) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Bytes of the data files below `dir`.
/// Bytes of the `data` files below `dir`; what the cache moves or removes
/// meanwhile is skipped.
fn walk(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        total += if path.is_dir() {
            walk(&path)
        } else if path.ends_with("data") {
            std::fs::metadata(&path).map_or(0, |m| m.len())
        } else {
            0
        };
    }
    total
}

#[test]
fn a_restart_keeps_whole_entries_and_never_serves_a_partial_fill() {
    let big = data(6 << 20, 9);
    let mut s = Setup::new(&[("a.txt", b"alpha"), ("big.bin", &big)], &[]);
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha");
    // Kill the cache in the middle of a paced fill.
    s.proxy.pace(2 << 20);
    let addr = s.cache.addr;
    let reader = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&download_frame("big.bin")).unwrap();
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        got
    });
    std::thread::sleep(Duration::from_millis(800));
    s.restart_cache(&[]);
    let got = reader.join().unwrap();
    assert!(got.len() < 5 + big.len(), "the cut client got a short body");
    // The origin is gone: the whole entry is served, the partial never.
    s.proxy.retarget("127.0.0.1:1".parse().unwrap());
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha");
    let out = request(
        s.cache.addr,
        None,
        Request::Download {
            name: name("big.bin"),
        },
        &[],
    );
    assert_eq!(out.events, [ferry_core::ClientEvent::Refused]);
    // Back again: the fill completes.
    s.proxy.retarget(s.origin.addr);
    s.proxy.pace(0);
    assert!(download(s.cache.addr, "big.bin") == big);
}

#[test]
fn an_upload_through_the_cache_reaches_the_origin_and_replaces_the_copy() {
    let s = Setup::overwriting(&[("doc.txt", b"old text")], &["--fresh-for", "60"]);
    assert_eq!(download(s.cache.addr, "doc.txt"), b"old text");
    let out = request(
        s.cache.addr,
        None,
        Request::Upload {
            name: name("doc.txt"),
        },
        b"new text, longer",
    );
    assert!(
        out.events
            .contains(&ferry_core::ClientEvent::UploadDone { stored: true }),
        "{:?}",
        out.events
    );
    assert_eq!(
        std::fs::read(s.origin_file("doc.txt")).unwrap(),
        b"new text, longer"
    );
    // Even with --fresh-for 60, the old copy is gone.
    assert_eq!(download(s.cache.addr, "doc.txt"), b"new text, longer");
}

#[test]
fn two_tiers_of_caches_are_byte_exact() {
    let big = data(3 << 20, 10);
    let s = Setup::new(&[("big.bin", &big), ("x/y.txt", b"why")], &[]);
    let tmp = tempfile::tempdir().unwrap();
    let edge = Cache::start(&s.cache.address(), &tmp.path().join("edge"), &[]);
    for _ in 0..2 {
        assert!(download(edge.addr, "big.bin") == big);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = ferry(dir.path(), &["mget", &edge.address(), "**/*.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.path().join("x/y.txt")).unwrap(), b"why");
    assert!(s.proxy.down_bytes() < big.len() as u64 + 1000);
}

#[test]
fn private_requests_pass_through_to_the_origin_and_never_reach_the_cache_disk() {
    let origin = Server::start(&[], |root| {
        common::add_user(root, "alice", "wonderland");
        std::fs::write(root.join("private/alice/mine.txt"), b"alice's secret").unwrap();
        std::fs::write(root.join("public/open.txt"), b"for all").unwrap();
    });
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::start(&origin.addr.to_string(), &tmp.path().join("cache"), &[]);
    let alice = Some(("alice", "wonderland"));
    let mine = request(
        cache.addr,
        alice,
        Request::Download {
            name: name("mine.txt"),
        },
        &[],
    );
    assert_eq!(mine.body(), b"alice's secret");
    let listed = request(cache.addr, alice, Request::List, &[]);
    assert!(format!("{:?}", listed.events).contains("mine.txt"));
    let up = request(
        cache.addr,
        alice,
        Request::Upload {
            name: name("new.txt"),
        },
        b"uploaded privately",
    );
    assert!(
        up.events
            .contains(&ferry_core::ClientEvent::UploadDone { stored: true })
    );
    assert_eq!(
        std::fs::read(origin.root().join("private/alice/new.txt")).unwrap(),
        b"uploaded privately"
    );
    let denied = request(cache.addr, Some(("alice", "wrong")), Request::List, &[]);
    assert_eq!(denied.events, [ferry_core::ClientEvent::AuthDenied]);
    // A public client never sees it, and no private byte is on the cache's disk.
    let public = request(
        cache.addr,
        None,
        Request::Download {
            name: name("mine.txt"),
        },
        &[],
    );
    assert_eq!(public.events, [ferry_core::ClientEvent::Refused]);
    assert_eq!(download(cache.addr, "open.txt"), b"for all");
    for (path, content) in common::snapshot(tmp.path()) {
        for secret in [&b"alice's secret"[..], b"uploaded privately", b"wonderland"] {
            assert!(
                !content.windows(secret.len()).any(|w| w == secret),
                "{} holds private bytes",
                path.display()
            );
        }
    }
    let log = cache.wait_log("PASS", 4);
    assert!(log.contains("AUTH user=alice PASS login relayed"), "{log}");
    assert!(log.contains("login denied by the origin"), "{log}");
}

/// A hand-written origin: answers LIST with `listing` (whatever its names)
/// and op 40 from position 0 with `files`; with `refuse`, answers status 1
/// to everything. Serves connections until the test ends.
fn fake_origin(
    listing: Vec<ferry_core::ListEntry>,
    files: Vec<(&'static str, Vec<u8>)>,
    refuse: bool,
) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let json = ferry_core::encode_listing(&listing);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut op = [0u8; 1];
            if stream.read_exact(&mut op).is_err() {
                continue;
            }
            let mut answer = Vec::new();
            match op[0] {
                _ if refuse => answer.push(1),
                20 => {
                    answer.push(0);
                    answer.extend((json.len() as u32).to_be_bytes());
                    answer.extend(&json);
                }
                40 => {
                    let mut len = [0u8; 4];
                    let _ = stream.read_exact(&mut len);
                    let mut name = vec![0; u32::from_be_bytes(len) as usize];
                    let mut rest = [0u8; 20];
                    let _ = stream.read_exact(&mut name);
                    let _ = stream.read_exact(&mut rest);
                    match files.iter().find(|(n, _)| n.as_bytes() == name) {
                        Some((_, bytes)) => {
                            answer.extend([0, 0]);
                            answer.extend((bytes.len() as u32).to_be_bytes());
                            answer.extend(bytes);
                        }
                        None => answer.extend([0, 10]),
                    }
                }
                _ => answer.push(1),
            }
            let _ = stream.write_all(&answer);
        }
    });
    addr
}

/// Waits (bounded) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("never happened: {what}");
}

#[test]
fn clients_that_hang_up_after_the_header_move_a_window_not_the_file() {
    const FILE: usize = 48 << 20;
    let big = data(FILE, 21);
    let names = ["p0.bin", "p1.bin", "p2.bin", "p3.bin"];
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &big[..])).collect();
    let s = Setup::new(&files, &["--max-size", "10MiB", "--pass-window", "1MiB"]);
    for file in names {
        let mut stream = TcpStream::connect(s.cache.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(&download_frame(file)).unwrap();
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).unwrap();
        assert_eq!(header, [0, 3, 0, 0, 0], "status 0, size 48 MiB");
        // Hangs up after 15 bytes sent and 5 received.
    }
    let log = s.cache.wait_log("every reader left", names.len());
    assert_eq!(
        log.matches("every reader left").count(),
        names.len(),
        "{log}"
    );
    let moved = s.proxy.down_bytes();
    eprintln!(
        "{} requests abandoned after the header: {moved} bytes from the origin",
        names.len()
    );
    // The window (1 MiB) and the sockets' buffers, not the file (48 MiB).
    assert!(
        moved < names.len() as u64 * (6 << 20),
        "{moved} bytes fetched for {} abandoned requests",
        names.len()
    );
    assert_eq!(walk(&s.cache.dir), 0, "nothing on the cache's disk");
}

/// Two kept fills at once, the second begun while the first is in flight;
/// returns the cache's log and the most bytes its folder held meanwhile.
fn two_fills_at_once(extra: &[&str]) -> (String, u64) {
    let (k1, k2) = (data(6 << 20, 22), data(6 << 20, 23));
    let s = Setup::new(&[("k1.bin", &k1), ("k2.bin", &k2)], extra);
    // 12 MiB at 8 MiB/s: both fills are in flight together.
    s.proxy.pace(8 << 20);
    let first = {
        let addr = s.cache.addr;
        std::thread::spawn(move || download(addr, "k1.bin"))
    };
    // The first fill has reserved its size once its folder exists.
    eventually("the first fill begins", || {
        std::fs::read_dir(s.cache.dir.join("fills")).is_ok_and(|mut d| d.next().is_some())
    });
    let second = {
        let addr = s.cache.addr;
        std::thread::spawn(move || download(addr, "k2.bin"))
    };
    let mut peak = 0;
    while !(first.is_finished() && second.is_finished()) {
        peak = peak.max(walk(&s.cache.dir));
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(first.join().unwrap() == k1, "byte-exact");
    assert!(second.join().unwrap() == k2, "byte-exact");
    (s.cache.wait_log("DOWNLOAD", 2), peak)
}

#[test]
fn a_kept_fill_counts_against_max_size_from_its_start() {
    let (log, peak) = two_fills_at_once(&["--max-size", "10MiB"]);
    assert!(log.contains("DOWNLOAD \"k1.bin\" MISS"), "{log}");
    assert!(log.contains("DOWNLOAD \"k2.bin\" PASS"), "{log}");
    assert!(log.contains("fills in flight hold"), "{log}");
    assert!(peak <= 10 << 20, "the folder held {peak} bytes");
}

#[test]
fn one_address_fills_at_most_max_fills_per_address_at_once() {
    let (log, _) = two_fills_at_once(&["--max-fills-per-address", "1"]);
    assert!(log.contains("DOWNLOAD \"k1.bin\" MISS"), "{log}");
    assert!(log.contains("DOWNLOAD \"k2.bin\" PASS"), "{log}");
    assert!(log.contains("already has 1 fills in flight"), "{log}");
}

#[test]
fn a_reader_that_falls_behind_a_passing_file_goes_on_from_its_own_fetch() {
    let big = data(24 << 20, 24);
    let s = Setup::new(
        &[("big.bin", &big)],
        &["--max-size", "2MiB", "--pass-window", "1MiB"],
    );
    // Both readers join the window before its bytes flow.
    s.proxy.hold_after(256 << 10);
    let open = || {
        let mut stream = TcpStream::connect(s.cache.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(&download_frame("big.bin")).unwrap();
        let mut header = [0u8; 5];
        stream.read_exact(&mut header).unwrap();
        assert_eq!(header, [0, 1, 0x80, 0, 0], "status 0, size 24 MiB");
        stream
    };
    let (mut slow, fast) = (open(), open());
    s.proxy.release();
    let fast = {
        let big = big.clone();
        std::thread::spawn(move || {
            let mut fast = fast;
            let mut got = Vec::new();
            fast.read_to_end(&mut got).unwrap();
            assert!(got == big, "the fast reader's bytes are exact");
        })
    };
    // The slow reader takes 3 MiB, then nothing until the other is done.
    let mut got = vec![0u8; 3 << 20];
    slow.read_exact(&mut got).unwrap();
    fast.join().unwrap();
    slow.read_to_end(&mut got).unwrap();
    assert!(got == big, "the slow reader's bytes are exact too");
    assert_eq!(
        s.proxy.connections(),
        2,
        "one fetch for both, and one of its own for the reader left behind"
    );
    let log = s.cache.wait_log("fell behind", 1);
    let number_after = |text: &str| -> u64 {
        log.split(text)
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no detach logged: {log}"))
    };
    let (at, from) = (
        number_after("a reader at byte "),
        number_after("its own fetch from byte "),
    );
    // Where it stood when the other ran a window ahead depends on the
    // scheduler; where it goes on from does not.
    // (It learns of it at its next read, at most one 64 KiB read later.)
    assert!(
        from % (1 << 20) == 0 && from <= at && at - from < (1 << 20) + (64 << 10),
        "it went on from the last checkpoint before what it had: {from}, at {at}"
    );
    let moved = s.proxy.down_bytes();
    assert!(
        moved <= 2 * big.len() as u64 - from + 64,
        "its own fetch began at the checkpoint, not at the start: {moved}"
    );
    assert_eq!(walk(&s.cache.dir), 0);
}

#[test]
fn a_resume_of_a_file_the_cache_will_not_keep_is_answered_by_the_origin() {
    let big = data(20 << 20, 25);
    let s = Setup::new(&[("big.bin", &big)], &["--max-size", "2MiB"]);
    let resume = |position: u32, md5: [u8; 16]| {
        request(
            s.cache.addr,
            None,
            Request::Resume {
                name: name("big.bin"),
                position,
                md5,
            },
            &[],
        )
    };
    for _ in 0..3 {
        let out = resume(big.len() as u32 - 1, [0; 16]);
        assert_eq!(
            out.events,
            [ferry_core::ClientEvent::Resume(
                ferry_core::ResumeOutcome::Mismatch
            )]
        );
    }
    assert!(
        s.proxy.down_bytes() < 64,
        "three mismatches moved {} bytes from the origin",
        s.proxy.down_bytes()
    );
    let half = big.len() / 2;
    let md5: [u8; 16] = <md5::Md5 as md5::Digest>::digest(&big[..half]).into();
    let out = resume(half as u32, md5);
    assert!(out.body() == big[half..], "the rest, byte-exact");
    let moved = s.proxy.down_bytes();
    assert!(
        (big.len() - half) as u64 <= moved && moved < (big.len() - half) as u64 + 64,
        "only the rest came from the origin: {moved}"
    );
    let log = s.cache.wait_log("RESUME", 4);
    assert_eq!(log.matches("RESUME \"big.bin\" PASS").count(), 1, "{log}");
    assert_eq!(walk(&s.cache.dir), 0);
}

#[test]
fn a_fill_racing_an_upload_never_leaves_the_old_bytes_as_an_entry() {
    const TRIALS: usize = 40;
    let names: Vec<String> = (0..TRIALS).map(|i| format!("r{i}.txt")).collect();
    let old = data(256 << 10, 26);
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &old[..])).collect();
    let s = Setup::overwriting(&files, &["--fresh-for", "600"]);
    for (i, file) in names.iter().enumerate() {
        let new = format!("new bytes of {file}").into_bytes();
        let fetch = {
            let (addr, file) = (s.cache.addr, file.clone());
            std::thread::spawn(move || download(addr, &file))
        };
        std::thread::sleep(Duration::from_millis((i % 4) as u64 * 20));
        let up = request(
            s.cache.addr,
            None,
            Request::Upload { name: name(file) },
            &new,
        );
        assert!(
            up.events
                .contains(&ferry_core::ClientEvent::UploadDone { stored: true }),
            "{:?}",
            up.events
        );
        let fetched = fetch.join().unwrap();
        assert!(fetched == old || fetched == new, "one version or the other");
        assert_eq!(
            download(s.cache.addr, file),
            new,
            "trial {i}: after the upload was answered, only its bytes are served"
        );
    }
}

#[test]
fn uploads_through_the_cache_are_read_no_faster_than_the_origin_takes_them() {
    let s = Setup::new(&[], &["--upload-buffer", "1MiB"]);
    s.proxy.pace_up(2 << 20);
    let body = data(40 << 20, 27);
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let client = {
        let (addr, body, sent) = (s.cache.addr, body.clone(), sent.clone());
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let mut head = vec![30];
            head.extend(7u32.to_be_bytes());
            head.extend(b"big.bin");
            stream.write_all(&head).unwrap();
            let mut status = [0u8; 1];
            stream.read_exact(&mut status).unwrap();
            assert_eq!(status, [0], "accepted");
            stream
                .write_all(&(body.len() as u32).to_be_bytes())
                .unwrap();
            for chunk in body.chunks(64 << 10) {
                stream.write_all(chunk).unwrap();
                sent.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::SeqCst);
            }
            stream.read_exact(&mut status).unwrap();
            status[0]
        })
    };
    eventually("the origin gets 4 MiB", || s.proxy.up_bytes() > 4 << 20);
    let ahead = sent.load(std::sync::atomic::Ordering::SeqCst) as i64 - s.proxy.up_bytes() as i64;
    eprintln!("the client is {ahead} bytes ahead of the origin");
    // The buffer (1 MiB) and the sockets' buffers, not the whole upload.
    assert!(
        ahead < 16 << 20,
        "the cache took {ahead} bytes the origin had not"
    );
    s.proxy.pace_up(0);
    assert_eq!(client.join().unwrap(), 0, "stored");
    assert!(
        std::fs::read(s.origin_file("big.bin")).unwrap() == body,
        "byte-exact"
    );
    assert_eq!(walk(&s.cache.dir), 0, "nothing spooled on the cache's disk");
}

#[test]
fn an_origin_that_refuses_is_treated_as_down_within_max_stale() {
    let mut s = Setup::new(&[("a.txt", b"alpha")], &[]);
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha");
    let listed = request(s.cache.addr, None, Request::List, &[]);
    // The origin now answers status 1 to everything (its store is down).
    s.proxy.retarget(fake_origin(Vec::new(), Vec::new(), true));
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha", "the copy, stale");
    let stale_list = request(s.cache.addr, None, Request::List, &[]);
    assert_eq!(stale_list.events, listed.events, "the last listing");
    let log = s.cache.wait_log("STALE", 2);
    assert!(log.contains("DOWNLOAD \"a.txt\" STALE"), "{log}");
    assert!(log.contains("the origin refused it (status 1)"), "{log}");
    assert!(
        s.cache.dir.join("entries").read_dir().unwrap().count() == 1,
        "kept"
    );
    // Past --max-stale the origin's answer is passed on.
    s.restart_cache(&["--max-stale", "0.5"]);
    std::thread::sleep(Duration::from_millis(700));
    let refused = request(
        s.cache.addr,
        None,
        Request::Download {
            name: name("a.txt"),
        },
        &[],
    );
    assert_eq!(refused.events, [ferry_core::ClientEvent::Refused]);
}

#[test]
fn the_origins_listing_is_held_to_the_servers_rules() {
    let entry = |name: &str, size| ferry_core::ListEntry {
        name: name.to_owned(),
        size,
    };
    let listing = vec![
        entry("b.txt", 1),
        entry("../up.txt", 2),
        entry("a\u{1b}b", 2),
        entry("a.txt", 5),
    ];
    let origin = fake_origin(
        listing,
        vec![("a.txt", b"alpha".to_vec()), ("b.txt", b"b".to_vec())],
        false,
    );
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::start(&origin.to_string(), &tmp.path().join("cache"), &[]);
    let listed = request(cache.addr, None, Request::List, &[]);
    assert_eq!(
        listed.events,
        [ferry_core::ClientEvent::Listing(vec![
            entry("a.txt", 5),
            entry("b.txt", 1)
        ])],
        "bad names dropped, the rest sorted"
    );
    let got = request(
        cache.addr,
        None,
        Request::MGet {
            mask: common::mask("*"),
        },
        &[],
    );
    assert_eq!(got.error, None, "{:?}", got.events);
    assert_eq!(
        got.events[0],
        ferry_core::ClientEvent::MGetStart { count: 2 }
    );
    assert_eq!(got.bodies, [b"alpha".to_vec(), b"b".to_vec()]);
    let log = cache.wait_log("MGET", 1);
    assert_eq!(
        log.matches("breaks the protocol's name rules").count(),
        4,
        "twice per listing: {log}"
    );
    assert!(log.contains("MGET \"*\" ok, 2 files"), "{log}");
}

#[test]
fn a_stale_listing_is_corrected_by_what_the_cache_learnt_since() {
    let s = Setup::new(&[("a.txt", b"alpha"), ("b.txt", b"bravo")], &[]);
    let listed = request(s.cache.addr, None, Request::List, &[]);
    assert_eq!(listed.error, None);
    std::fs::write(s.origin_file("a.txt"), b"alpha, longer").unwrap();
    assert_eq!(download(s.cache.addr, "a.txt"), b"alpha, longer");
    std::fs::remove_file(s.origin_file("b.txt")).unwrap();
    let gone = request(
        s.cache.addr,
        None,
        Request::Download {
            name: name("b.txt"),
        },
        &[],
    );
    assert_eq!(gone.events, [ferry_core::ClientEvent::Refused]);
    // The origin goes down: the listing is the last one, corrected.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    s.proxy.retarget(closed);
    let stale = request(s.cache.addr, None, Request::List, &[]);
    assert_eq!(
        stale.events,
        [ferry_core::ClientEvent::Listing(vec![
            ferry_core::ListEntry {
                name: "a.txt".into(),
                size: 13
            }
        ])]
    );
    assert!(s.cache.wait_log("LIST STALE", 1).contains("LIST STALE"));
}

#[test]
fn an_mget_the_origin_cuts_is_logged_as_aborted_with_its_count() {
    let (a, b) = (data(3 << 20, 28), data(3 << 20, 29));
    let s = Setup::new(&[("a.bin", &a), ("b.bin", &b)], &[]);
    s.proxy.hold_after(1 << 20);
    let client = {
        let addr = s.cache.addr;
        std::thread::spawn(move || {
            request(
                addr,
                None,
                Request::MGet {
                    mask: common::mask("*"),
                },
                &[],
            )
        })
    };
    eventually("the first file streams", || s.proxy.down_bytes() >= 1 << 20);
    s.proxy.cut();
    s.proxy.release();
    let out = client.join().unwrap();
    assert!(out.error.is_some(), "cut short: {:?}", out.events);
    let log = s.cache.wait_log("MGET", 1);
    assert!(
        log.contains("MGET \"*\" aborted after 0 of 2 files: origin connection lost after"),
        "{log}"
    );
}
