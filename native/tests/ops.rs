//! Running as a service, with the real tools: `/metrics` checked by
//! Debian's `promtool` and scraped by a real Prometheus, counters that move
//! by exactly what the test did, `/healthz` following the origin, JSON
//! logs, systemd's readiness protocol on a socket the test holds, and
//! SIGHUP reloading the TLS certificate under a transfer.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::metrics::{get, metrics_addr, promtool, scrape};
use common::{BIN, Cache, Server, data, raw};
use ferry_core::Request;
use md5::Digest;

/// How much each of `keys` grew between two scrapes.
fn grew(before: &HashMap<String, f64>, after: &HashMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

fn download(addr: SocketAddr, name: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    Request::Download {
        name: common::name(name),
    }
    .encode(&mut bytes);
    raw(addr, &bytes)
}

fn ferry(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("XDG_DATA_HOME", std::env::temp_dir().join("ferry-ops-test"))
        .output()
        .unwrap()
}

#[test]
fn each_counter_moves_by_exactly_what_was_done() {
    let file = data(10_000, 1);
    let server = Server::start(
        &[
            "--metrics",
            "127.0.0.1:0",
            "--max-connections-per-address",
            "2",
            "--request-timeout",
            "1",
            "--quota-files",
            "1",
        ],
        |root| std::fs::write(root.join("public/a.bin"), &file).unwrap(),
    );
    let at = metrics_addr(|| server.log());
    let before = scrape(at);
    for _ in 0..3 {
        assert_eq!(download(server.addr, "a.bin").len(), 5 + file.len());
    }
    assert_eq!(download(server.addr, "missing.bin"), [1]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("up.bin"), data(500, 2)).unwrap();
    let up_dir = dir.path().to_str().unwrap();
    let out = ferry(&["put", &server.addr.to_string(), "up.bin", "--dir", up_dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.wait_log("UPLOAD", 1);
    // A second new file from the same address is over --quota-files 1.
    std::fs::write(dir.path().join("more.bin"), data(100, 3)).unwrap();
    let out = ferry(&["put", &server.addr.to_string(), "more.bin", "--dir", up_dir]);
    assert!(!out.status.success());
    server.wait_log("UPLOAD", 2);
    let after = scrape(at);
    let quota = "ferry_requests_total{op=\"UPLOAD\",outcome=\"refused\",reason=\"quota\"}";
    assert_eq!(grew(&before, &after, quota), 1.0);
    let ok = "ferry_requests_total{op=\"DOWNLOAD\",outcome=\"ok\",reason=\"\"}";
    assert_eq!(grew(&before, &after, ok), 3.0);
    let missing = "ferry_requests_total{op=\"DOWNLOAD\",outcome=\"not_found\",reason=\"\"}";
    assert_eq!(grew(&before, &after, missing), 1.0);
    assert_eq!(
        grew(&before, &after, "ferry_sent_bytes_total{op=\"DOWNLOAD\"}"),
        30_000.0
    );
    let stored = "ferry_requests_total{op=\"UPLOAD\",outcome=\"ok\",reason=\"\"}";
    assert_eq!(grew(&before, &after, stored), 1.0);
    assert_eq!(
        grew(&before, &after, "ferry_received_bytes_total{op=\"UPLOAD\"}"),
        500.0
    );
    assert_eq!(
        grew(&before, &after, "ferry_connections_accepted_total"),
        6.0
    );
    let count = "ferry_request_duration_seconds_count{op=\"DOWNLOAD\"}";
    assert_eq!(grew(&before, &after, count), 4.0);
    // The slowest bucket holds every download; none took more than an hour.
    let hour = "ferry_request_duration_seconds_bucket{op=\"DOWNLOAD\",le=\"3600\"}";
    assert_eq!(grew(&before, &after, hour), 4.0);

    // A RESUME hashes the prefix it names, once, at one turn.
    let md5: [u8; 16] = md5::Md5::digest(&file[..4000]).into();
    let mut resume = Vec::new();
    Request::Resume {
        name: common::name("a.bin"),
        position: 4000,
        md5,
    }
    .encode(&mut resume);
    let answer = raw(server.addr, &resume);
    assert_eq!(
        answer.len(),
        1 + 1 + 4 + (file.len() - 4000),
        "status, result, remaining, rest"
    );
    server.wait_log("RESUME", 1);
    let resumed = scrape(at);
    assert_eq!(
        grew(&after, &resumed, "ferry_prefix_hashed_bytes_total"),
        4000.0
    );
    assert_eq!(grew(&after, &resumed, "ferry_prefix_turns_total"), 1.0);
    let ok = "ferry_requests_total{op=\"RESUME\",outcome=\"ok\",reason=\"\"}";
    assert_eq!(grew(&after, &resumed, ok), 1.0);

    // A third connection from the one address is refused at accept.
    let held = [
        TcpStream::connect(server.addr).unwrap(),
        TcpStream::connect(server.addr).unwrap(),
    ];
    let wait = Instant::now() + Duration::from_secs(10);
    while scrape(at)["ferry_connections_open"] < 2.0 && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(20));
    }
    let per_address = "ferry_connections_refused_total{reason=\"per_address\"}";
    let _ = raw(server.addr, &[20]);
    let refused = || scrape(at).get(per_address).copied().unwrap_or(0.0);
    while refused() < 1.0 && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(refused(), 1.0);
    drop(held);
    // Once they are closed, a request that never completes is cut at
    // --request-timeout.
    let wait = Instant::now() + Duration::from_secs(10);
    while scrape(at)["ferry_connections_open"] > 0.0 && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(&[10, 0]).unwrap();
    let timeout = "ferry_connections_refused_total{reason=\"request_timeout\"}";
    let wait = Instant::now() + Duration::from_secs(10);
    while scrape(at).get(timeout).copied().unwrap_or(0.0) < 1.0 && Instant::now() < wait {
        std::thread::sleep(Duration::from_millis(100));
    }
    let last = scrape(at);
    assert_eq!(last.get(timeout).copied(), Some(1.0));
    assert!(last["process_resident_memory_bytes"] > 1e6);
    assert!(last["process_open_fds"] >= 3.0);
    assert!(last["process_threads"] >= 1.0);
    // No label holds an address, a file name or a user name.
    let (_, text) = get(at, "/metrics");
    for private in ["127.0.0.1", "a.bin", "missing", "up.bin"] {
        assert!(!text.contains(private), "{private} in a label");
    }
    assert_eq!(promtool(&text), "");
    assert_eq!(get(at, "/healthz"), (200, "ok\n".into()));
    assert_eq!(get(at, "/other").0, 404);
}

#[test]
fn a_public_file_over_the_listing_budget_is_refused_with_its_reason() {
    // Twelve files take more than half of a 1 KiB listing: no new one fits.
    let server = Server::start(
        &["--metrics", "127.0.0.1:0", "--max-listing-size", "1KiB"],
        |root| {
            for i in 0..12 {
                std::fs::write(root.join(format!("public/file-number-{i:02}.txt")), b"x").unwrap();
            }
        },
    );
    let at = metrics_addr(|| server.log());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("new.txt"), b"new").unwrap();
    let up_dir = dir.path().to_str().unwrap();
    let out = ferry(&["put", &server.addr.to_string(), "new.txt", "--dir", up_dir]);
    assert!(!out.status.success());
    server.wait_log("half of --max-listing-size", 1);
    let budget =
        "ferry_requests_total{op=\"UPLOAD\",outcome=\"refused\",reason=\"listing_budget\"}";
    assert_eq!(scrape(at).get(budget).copied(), Some(1.0));
}

#[test]
fn metrics_on_a_public_address_must_be_asked_for() {
    let out = ferry(&["serve", "0", "--metrics", "0.0.0.0:9999"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("add --metrics-public"), "{stderr}");
}

/// A Prometheus of the test's own, scraping `target` every second.
struct Prometheus {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ferry\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus (Debian's prometheus package; scripts/setup.sh installs it)");
        Prometheus {
            child,
            addr,
            _dir: dir,
        }
    }

    /// A query's single value, once Prometheus has one (at most 60 s).
    fn value(&self, query: &str) -> Option<String> {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        let wait = Instant::now() + Duration::from_secs(60);
        while Instant::now() < wait {
            if let Ok(mut stream) = TcpStream::connect(self.addr) {
                let _ = write!(
                    stream,
                    "GET /api/v1/query?query={encoded} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"
                );
                let mut reply = String::new();
                let _ = stream.read_to_string(&mut reply);
                if let Some((_, body)) = reply.split_once("\r\n\r\n") {
                    let body = body
                        .trim_start_matches(|c: char| c.is_ascii_hexdigit() || c.is_whitespace());
                    let json = body.trim_end_matches(|c: char| c != '}');
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(json)
                        && let Some(value) = v["data"]["result"][0]["value"][1].as_str()
                    {
                        return Some(value.to_owned());
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        None
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_the_caches_hit_ratio() {
    let file = data(50_000, 3);
    let origin = Server::start(&[], |root| {
        std::fs::write(root.join("public/f.bin"), &file).unwrap();
        common::add_user(root, "alice", "wonderland");
        std::fs::write(root.join("private/alice/diary.txt"), b"dear diary").unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::start(
        &origin.addr.to_string(),
        &dir.path().join("cache"),
        &[
            "--metrics",
            "127.0.0.1:0",
            "--fresh-for",
            "600",
            "--log-format",
            "json",
        ],
    );
    let at = metrics_addr(|| cache.log());
    // One miss, then three hits.
    for _ in 0..4 {
        assert_eq!(download(cache.addr, "f.bin").len(), 5 + file.len());
    }
    cache.wait_log("HIT", 3);
    // A login through the cache is the origin's to check, and counted here.
    let out = Command::new(BIN)
        .args([
            "get",
            &cache.addr.to_string(),
            "diary.txt",
            "--user",
            "alice",
            "-o",
            "-",
        ])
        .env("FERRY_PASSWORD", "wonderland")
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.stdout,
        b"dear diary",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = cache.wait_log("login relayed", 1);
    // Its JSON line has the fields of every request's line.
    let line: serde_json::Value = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .find(|l: &serde_json::Value| l["op"] == "AUTH")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        (&line["user"], &line["result"], &line["tls"]),
        (&"alice".into(), &"ok".into(), &false.into()),
        "{line}"
    );
    let relayed = scrape(at);
    assert_eq!(
        relayed
            .get("ferry_logins_total{result=\"accepted\"}")
            .copied(),
        Some(1.0)
    );
    let auth = "ferry_requests_total{op=\"AUTH\",outcome=\"ok\",reason=\"\"}";
    assert_eq!(relayed.get(auth).copied(), Some(1.0));
    let (_, text) = get(at, "/metrics");
    assert_eq!(promtool(&text), "");
    let prometheus = Prometheus::start(at);
    let ratio = prometheus
        .value("ferry_cache_hits_total / (ferry_cache_hits_total + ferry_cache_misses_total)");
    assert_eq!(ratio.as_deref(), Some("0.75"));
    let origin_bytes = prometheus.value("ferry_cache_origin_bytes_total");
    assert_eq!(origin_bytes.as_deref(), Some("50000"));
}

#[test]
fn healthz_follows_the_origin_down_and_back() {
    let file = data(3_000, 6);
    let mut origin = Server::start(&[], |root| {
        std::fs::write(root.join("public/h.bin"), &file).unwrap()
    });
    let port = origin.addr.port();
    let root = origin.root();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::start(
        &origin.addr.to_string(),
        &dir.path().join("cache"),
        &["--metrics", "127.0.0.1:0"],
    );
    let at = metrics_addr(|| cache.log());
    assert_eq!(get(at, "/healthz").0, 200);
    assert_eq!(download(cache.addr, "h.bin").len(), 5 + file.len());
    // The origin stops: 503 within 10 s, with the reason.
    let _ = origin.child.kill();
    let _ = origin.child.wait();
    let until = |status: u16| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            let (now, body) = get(at, "/healthz");
            if now == status {
                return (start.elapsed(), body);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("/healthz never answered {status}");
    };
    let (took, why) = until(503);
    assert!(took < Duration::from_secs(10));
    assert!(why.contains("cannot be reached"), "{why}");
    // Meanwhile the copy held is served stale, and the reason counted.
    assert_eq!(download(cache.addr, "h.bin").len(), 5 + file.len());
    cache.wait_log("STALE", 1);
    let stale = scrape(at);
    let chosen = "ferry_cache_stale_chosen_total{reason=\"unreachable\"}";
    assert_eq!(stale.get(chosen).copied(), Some(1.0), "{stale:?}");
    let asked: f64 = stale
        .iter()
        .filter(|(k, _)| k.starts_with("ferry_cache_origin_request_duration_seconds_count"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(asked, 2.0, "the fill, then the failed revalidation");
    // Back on the same port: 200 again within 10 s.
    let mut back = Command::new(BIN);
    back.args(["serve", &port.to_string(), "--bind", "127.0.0.1", "--root"])
        .arg(&root);
    let log = dir.path().join("origin-again.log");
    back.env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = back.stdout(Stdio::null()).spawn().unwrap();
    let (took, body) = until(200);
    assert!(took < Duration::from_secs(10));
    assert_eq!(body, "ok\n");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn json_logs_carry_the_text_lines_values() {
    let file = data(4_321, 4);
    let server = Server::start(&["--log-format", "json"], |root| {
        std::fs::write(root.join("public/j.bin"), &file).unwrap()
    });
    assert_eq!(download(server.addr, "j.bin").len(), 5 + file.len());
    let log = server.wait_log("\"op\":\"DOWNLOAD\"", 1);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(!lines.is_empty(), "{log}");
    let line = lines.iter().find(|l| l["op"] == "DOWNLOAD").unwrap();
    assert_eq!(line["name"], "j.bin");
    assert_eq!(line["bytes"], 4321);
    assert_eq!(line["result"], "ok");
    assert_eq!(line["tls"], false);
    assert_eq!(line["level"], "INFO");
    let client = line["client"].as_str().unwrap();
    let message = line["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{client} DOWNLOAD \"j.bin\" ok 4321 bytes ")),
        "{message}"
    );
    let ms = line["duration_ms"].as_f64().unwrap();
    assert!(
        message.ends_with(&format!("{ms:.1} ms")),
        "{message} / {ms}"
    );
    // The shutdown's lines are JSON too.
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let log = server.wait_log("\"message\":\"stopped\"", 1);
    for line in log.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            value["time"].is_string() && value["level"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn systemd_hears_ready_once_listening_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::fs::create_dir_all(dir.path().join("root/public")).unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["serve", "0", "--bind", "127.0.0.1", "--root"])
        .arg(dir.path().join("root"))
        .args(["--metrics", "127.0.0.1:0"])
        .env("NOTIFY_SOCKET", &socket_path);
    let log = dir.path().join("server.log");
    let (mut child, addr) = common::listening(command, &log);
    let at = metrics_addr(|| std::fs::read_to_string(&log).unwrap_or_default());
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1 within 10 s");
    assert_eq!(&buf[..n], b"READY=1\n");
    // Ready means accepting.
    assert_eq!(raw(addr, &[20])[0], 0);
    assert_eq!(get(at, "/healthz").0, 200);
    // A connection still open keeps the server in its grace period.
    let held = TcpStream::connect(addr).unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let n = socket.recv(&mut buf).expect("STOPPING=1 within 10 s");
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    // Stopping: nothing new should be sent its way.
    let (status, why) = get(at, "/healthz");
    assert_eq!(status, 503);
    assert!(why.starts_with("stopping"), "{why}");
    drop(held);
    let _ = child.wait();
}

/// A self-signed server certificate (not a CA) for 127.0.0.1, with openssl.
fn certificate(dir: &Path, name: &str) -> (String, String) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let config = dir.join("openssl.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:FALSE\n\
         subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-extensions",
            "ext",
        ])
        .arg("-config")
        .arg(&config)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn sighup_reloads_the_certificate_and_a_transfer_under_way_completes() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a) = certificate(dir.path(), "first");
    let (cert_b, key_b) = certificate(dir.path(), "second");
    let (cert, key) = (
        dir.path().join("cert.pem").display().to_string(),
        dir.path().join("key.pem").display().to_string(),
    );
    std::fs::copy(&cert_a, &cert).unwrap();
    std::fs::copy(&key_a, &key).unwrap();
    let big = data(12 << 20, 5);
    let server = Server::start(
        &[
            "--tls-port",
            "0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-only",
            "--metrics",
            "127.0.0.1:0",
        ],
        |root| std::fs::write(root.join("public/big.bin"), &big).unwrap(),
    );
    let tls = format!("tls://{}", server.addr);
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("big.bin");
    // A download paced to last a few seconds, trusting the first certificate.
    let slow = Command::new(BIN)
        .args([
            "get",
            &tls,
            "big.bin",
            "--ca",
            &cert_a,
            "--limit-rate",
            "4MiB",
            "-o",
        ])
        .arg(&target)
        .env("XDG_DATA_HOME", out_dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Under way (past its handshake with the first certificate) before
    // anything is reloaded.
    let at = metrics_addr(|| server.log());
    let wait = Instant::now() + Duration::from_secs(10);
    while scrape(at)
        .get("ferry_connections_open")
        .copied()
        .unwrap_or(0.0)
        < 1.0
        && Instant::now() < wait
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // A broken file is refused, and the certificate in use stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    let hup = || {
        let status = Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    hup();
    server.wait_log("SIGHUP: kept the TLS certificate in use", 1);
    let ls = |ca: &str| ferry(&["ls", &tls, "--ca", ca]).status.code();
    assert_eq!(ls(&cert_a), Some(0));
    // The renewed pair: new connections are served with it.
    std::fs::copy(&cert_b, &cert).unwrap();
    std::fs::copy(&key_b, &key).unwrap();
    hup();
    server.wait_log("SIGHUP: reloaded the TLS certificate", 1);
    assert_eq!(ls(&cert_b), Some(0));
    assert_eq!(
        ls(&cert_a),
        Some(9),
        "the first certificate is no longer served"
    );
    // The download that began under the first one finishes, byte for byte.
    let out = slow.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&target).unwrap() == big);
}

#[test]
fn sighup_without_tls_is_not_a_stop() {
    let server = Server::start(&[], |_| {});
    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.wait_log("SIGHUP: nothing to reload", 1);
    assert_eq!(raw(server.addr, &[20])[0], 0, "still serving");
}

/// The signals are watched before the banner says where to connect: a
/// SIGHUP or SIGUSR1 sent the moment it shows (a supervisor's reload, a
/// request for the counters) is answered, never met by its default action,
/// which ends the process (half the servers ended so before).
#[test]
fn a_signal_sent_as_soon_as_the_banner_shows_is_answered() {
    use rustix::process::{Pid, Signal, kill_process};
    /// A server process, killed when dropped.
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("public")).unwrap();
        let mut command = Command::new(BIN);
        command
            .args(["serve", "0", "--bind", "127.0.0.1", "--root"])
            .arg(dir.path());
        let (child, addr) = common::listening(command, &dir.path().join("server.log"));
        // Stopped however the round ends.
        let child = Stopped(child);
        let signal = if round % 2 == 0 {
            Signal::HUP
        } else {
            Signal::USR1
        };
        kill_process(Pid::from_child(&child.0), signal).unwrap();
        let answer = TcpStream::connect(addr).map(|_| raw(addr, &[20]));
        drop(child);
        assert!(
            matches!(answer.as_deref(), Ok([0, ..])),
            "round {round}: after {signal:?}, no answer: {answer:?}"
        );
    }
}
