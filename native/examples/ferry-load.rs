//! Load generator for `scripts/bench.sh`: the same client code against ferry
//! and against an HTTP server, so the comparison measures the servers.
//!
//! ```text
//! ferry-load download ferry|http ADDR NAME        one download to nowhere
//! ferry-load rps ferry|http ADDR NAME -c 50 -n 20000
//!     ferry+tls and https instead: the same over TLS (rustls, ALPN ferry or
//!     http/1.1), trusting FERRY_LOAD_CA (PEM); sessions are resumed
//! ferry-load idle [ferry+tls|https] ADDR COUNT SECONDS
//!     hold idle connections (over TLS: each past its handshake)
//! ferry-load cold ADDR NAME -c 200               N clients at once: first-byte times
//! ferry-load presign ENDPOINT BUCKET KEY             a signed GET's path and query
//!     (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), for `http`
//! ferry-load resume-attack ADDR BIG SMALL SECONDS -c 8
//!     -c attackers on 127.0.0.1 send RESUMEs of BIG near its end with a wrong
//!     MD5 while one client on 127.0.0.2 downloads and resumes SMALL: its
//!     latencies (p50, p99, max)
//! ```
//!
//! Each request uses its own connection (ferry's rule, HTTP/1.0 without
//! keep-alive), reads the whole answer and checks its length.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!(
        "usage: ferry-load download|rps ferry|http ADDR NAME [-c N] [-n N] | idle [ferry+tls|https] ADDR COUNT SECONDS | cold ADDR NAME [-c N] | resume-attack ADDR BIG SMALL SECONDS [-c N]"
    );
    std::process::exit(2);
}

fn request_bytes(proto: &str, name: &str, addr: SocketAddr) -> Vec<u8> {
    match proto {
        "ferry" | "ferry+tls" => {
            let mut bytes = vec![10];
            bytes.extend((name.len() as u32).to_be_bytes());
            bytes.extend(name.as_bytes());
            bytes
        }
        "http" | "https" => format!("GET /{name} HTTP/1.0\r\nHost: {addr}\r\n\r\n").into_bytes(),
        _ => usage(),
    }
}

/// The TLS client of `proto`, if it speaks TLS: one per run, so sessions
/// are resumed as a real client's would be.
fn tls_config(proto: &str) -> Option<Arc<rustls::ClientConfig>> {
    static CONFIGS: std::sync::OnceLock<[Arc<rustls::ClientConfig>; 2]> =
        std::sync::OnceLock::new();
    let index = match proto {
        "ferry+tls" => 0,
        "https" => 1,
        _ => return None,
    };
    let configs = CONFIGS.get_or_init(|| {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let ca = std::env::var("FERRY_LOAD_CA").expect("FERRY_LOAD_CA: the servers' CA (PEM)");
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&ca).expect("FERRY_LOAD_CA readable") {
            roots
                .add(cert.expect("a PEM certificate"))
                .expect("a usable CA");
        }
        [b"ferry".to_vec(), b"http/1.1".to_vec()].map(|alpn| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13])
                .expect("TLS 1.3")
                .with_root_certificates(roots.clone())
                .with_no_client_auth();
            config.alpn_protocols = vec![alpn];
            Arc::new(config)
        })
    });
    Some(configs[index].clone())
}

/// One request on a fresh connection; returns the bytes of the answer.
fn fetch(proto: &str, addr: SocketAddr, request: &[u8], buf: &mut [u8]) -> std::io::Result<u64> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut stream: Box<dyn ReadWrite> = match tls_config(proto) {
        None => Box::new(stream),
        Some(config) => {
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let tls = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
            Box::new(rustls::StreamOwned::new(tls, stream))
        }
    };
    stream.write_all(request)?;
    let mut total = 0u64;
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            // A TLS peer that closes without close_notify: the end.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(total),
            Err(e) => return Err(e),
        }
    }
}

/// A plain or TLS stream.
trait ReadWrite: Read + Write {}

impl<T: Read + Write> ReadWrite for T {}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_else(|| usage());
    let flag = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    match arg(0) {
        "download" => {
            let (proto, addr, name) = (arg(1), arg(2).parse().unwrap_or_else(|_| usage()), arg(3));
            let request = request_bytes(proto, name, addr);
            let mut buf = vec![0; 1 << 20];
            let started = Instant::now();
            let bytes = fetch(proto, addr, &request, &mut buf).expect("download failed");
            let secs = started.elapsed().as_secs_f64();
            println!(
                "bytes={bytes} seconds={secs:.4} bytes_per_second={:.0}",
                bytes as f64 / secs
            );
        }
        "rps" => {
            let (proto, addr, name) = (arg(1), arg(2).parse().unwrap_or_else(|_| usage()), arg(3));
            let (concurrency, requests) = (flag("-c", 50), flag("-n", 20_000));
            let request = Arc::new(request_bytes(proto, name, addr));
            let next = Arc::new(AtomicUsize::new(0));
            let latencies = Arc::new(Mutex::new(Vec::with_capacity(requests)));
            let sizes = Arc::new(Mutex::new(std::collections::BTreeMap::<u64, usize>::new()));
            let failures = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let workers: Vec<_> = (0..concurrency)
                .map(|_| {
                    let (request, next, latencies, sizes, failures) = (
                        request.clone(),
                        next.clone(),
                        latencies.clone(),
                        sizes.clone(),
                        failures.clone(),
                    );
                    let proto = proto.to_owned();
                    std::thread::spawn(move || {
                        let mut buf = vec![0; 64 * 1024];
                        let mut mine = Vec::new();
                        while next.fetch_add(1, Ordering::Relaxed) < requests {
                            let t = Instant::now();
                            match fetch(&proto, addr, &request, &mut buf) {
                                Ok(bytes) => {
                                    mine.push(t.elapsed());
                                    *sizes.lock().unwrap().entry(bytes).or_default() += 1;
                                }
                                Err(_) => {
                                    failures.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        latencies.lock().unwrap().extend(mine);
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
            let secs = started.elapsed().as_secs_f64();
            let mut l = latencies.lock().unwrap().clone();
            l.sort();
            let pct = |p: f64| {
                l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or_default()
            };
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "requests={} failures={} seconds={secs:.3} rps={:.0} p50_ms={:.3} p99_ms={:.3} answer_sizes={:?}",
                l.len(),
                failures.load(Ordering::Relaxed),
                l.len() as f64 / secs,
                ms(pct(0.50)),
                ms(pct(0.99)),
                sizes.lock().unwrap()
            );
        }
        "cold" => {
            let addr: SocketAddr = arg(1).parse().unwrap_or_else(|_| usage());
            let name = arg(2);
            let clients = flag("-c", 200);
            let request = Arc::new(request_bytes("ferry", name, addr));
            let start = Arc::new(std::sync::Barrier::new(clients));
            let began = Arc::new(Mutex::new(None::<Instant>));
            let workers: Vec<_> = (0..clients)
                .map(|_| {
                    let (request, start, began) = (request.clone(), start.clone(), began.clone());
                    std::thread::spawn(
                        move || -> std::io::Result<(Instant, Instant, u64, Instant)> {
                            let mut stream = TcpStream::connect(addr)?;
                            stream.set_nodelay(true)?;
                            start.wait();
                            began.lock().unwrap().get_or_insert_with(Instant::now);
                            stream.write_all(&request)?;
                            let sent = Instant::now();
                            let mut buf = vec![0; 256 * 1024];
                            let mut first = None;
                            let mut total = 0u64;
                            loop {
                                match stream.read(&mut buf)? {
                                    0 => break,
                                    n => {
                                        // The first byte after the 5-byte header.
                                        if first.is_none() && total + n as u64 > 5 {
                                            first = Some(Instant::now());
                                        }
                                        total += n as u64;
                                    }
                                }
                            }
                            Ok((
                                first.unwrap_or_else(Instant::now),
                                Instant::now(),
                                total,
                                sent,
                            ))
                        },
                    )
                })
                .collect();
            let results: Vec<_> = workers
                .into_iter()
                .filter_map(|w| w.join().ok()?.ok())
                .collect();
            let began = began.lock().unwrap().unwrap_or_else(Instant::now);
            let ms = |t: Instant| t.duration_since(began).as_secs_f64() * 1000.0;
            let mut firsts: Vec<f64> = results.iter().map(|r| ms(r.0)).collect();
            firsts.sort_by(f64::total_cmp);
            // When each request left: how long the clients themselves took
            // to send them (200 threads woken at once on a few cores).
            let mut sents: Vec<f64> = results.iter().map(|r| ms(r.3)).collect();
            sents.sort_by(f64::total_cmp);
            // Each client's wait: its first byte after its own request.
            let mut waits: Vec<f64> = results.iter().map(|r| ms(r.0) - ms(r.3)).collect();
            waits.sort_by(f64::total_cmp);
            let done = results.iter().map(|r| ms(r.1)).fold(0.0, f64::max);
            let sizes: std::collections::BTreeSet<u64> = results.iter().map(|r| r.2).collect();
            let at = |sorted: &[f64], p: f64| {
                sorted
                    .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0)
            };
            println!(
                "clients={} failures={} first_byte_min_ms={:.1} first_byte_p50_ms={:.1} first_byte_max_ms={:.1} sent_p50_ms={:.1} sent_max_ms={:.1} wait_p50_ms={:.1} wait_max_ms={:.1} all_done_ms={done:.1} answer_sizes={sizes:?}",
                results.len(),
                clients - results.len(),
                at(&firsts, 0.0),
                at(&firsts, 0.5),
                at(&firsts, 1.0),
                at(&sents, 0.5),
                at(&sents, 1.0),
                at(&waits, 0.5),
                at(&waits, 1.0),
            );
        }
        "presign" => {
            use rusty_s3::S3Action;
            let endpoint = arg(1).parse().unwrap_or_else(|_| usage());
            let bucket = rusty_s3::Bucket::new(
                endpoint,
                rusty_s3::UrlStyle::Path,
                arg(2).to_owned(),
                "us-east-1".to_owned(),
            )
            .expect("a bucket");
            let credentials = rusty_s3::Credentials::from_env().expect("AWS_* credentials");
            let url = bucket
                .get_object(Some(&credentials), arg(3))
                .sign(Duration::from_secs(3600));
            let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
            println!("{}{query}", url.path().trim_start_matches('/'));
        }
        "resume-attack" => {
            let addr: SocketAddr = arg(1).parse().unwrap_or_else(|_| usage());
            let (big, small) = (arg(2).to_owned(), arg(3));
            let seconds: u64 = arg(4).parse().unwrap_or_else(|_| usage());
            resume_attack(
                addr,
                &big,
                small,
                Duration::from_secs(seconds),
                flag("-c", 8),
            );
        }
        "idle" => {
            // Over TLS, the protocol comes first; plain takes none.
            let proto = arg(1);
            let tls = tls_config(proto);
            let at = if tls.is_some() { 2 } else { 1 };
            let addr: SocketAddr = arg(at).parse().unwrap_or_else(|_| usage());
            let (count, seconds): (usize, u64) = (
                arg(at + 1).parse().unwrap_or_else(|_| usage()),
                arg(at + 2).parse().unwrap_or_else(|_| usage()),
            );
            let held: Vec<Box<dyn ReadWrite>> = (0..count)
                .map(|_| idle(addr, tls.clone()).expect("connect"))
                .collect();
            println!("holding {} idle connections", held.len());
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_secs(seconds));
            drop(held);
        }
        _ => usage(),
    }
}

/// A connection held idle: over TLS, once its handshake is done (the
/// server then waits for a request, as after a plain connect).
fn idle(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> std::io::Result<Box<dyn ReadWrite>> {
    let mut stream = TcpStream::connect(addr)?;
    let Some(config) = tls else {
        return Ok(Box::new(stream));
    };
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let mut tls = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    while tls.is_handshaking() {
        tls.complete_io(&mut stream)?;
    }
    Ok(Box::new(rustls::StreamOwned::new(tls, stream)))
}

/// A connection from a chosen loopback address (the server counts
/// 127.0.0.1 and 127.0.0.2 as two clients).
fn connect_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    use rustix::net::{AddressFamily, SocketType};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None)?;
    rustix::net::bind(&fd, &SocketAddr::from((source, 0)))?;
    rustix::net::connect(&fd, &to)?;
    let stream = TcpStream::from(fd);
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// An op 40 request.
fn resume_request(name: &str, position: u32, md5: [u8; 16]) -> Vec<u8> {
    let mut bytes = vec![40];
    bytes.extend((name.len() as u32).to_be_bytes());
    bytes.extend(name.as_bytes());
    bytes.extend(position.to_be_bytes());
    bytes.extend(md5);
    bytes
}

/// One request from `source`, the whole answer read.
fn exchange(source: [u8; 4], addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = connect_from(source, addr)?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}

/// Attackers on 127.0.0.1 make the server hash near all of `big` again and
/// again (a different position each time, a wrong MD5), while a client on
/// 127.0.0.2 alternates a download and a resume of `small`, timing each.
fn resume_attack(addr: SocketAddr, big: &str, small: &str, length: Duration, attackers: usize) {
    use md5::Digest;
    let whole =
        exchange([127, 0, 0, 2], addr, &request_bytes("ferry", small, addr)).expect("download");
    assert!(
        whole.len() >= 5 && whole[0] == 0,
        "{small} cannot be downloaded"
    );
    let content = whole[5..].to_vec();
    let half = content.len() / 2;
    let md5: [u8; 16] = md5::Md5::digest(&content[..half]).into();
    let resume = resume_request(small, half as u32, md5);
    let size = {
        let answer =
            exchange([127, 0, 0, 1], addr, &request_bytes("ferry", big, addr)).expect("size");
        match answer[..] {
            [0, a, b, c, d, ..] => u32::from_be_bytes([a, b, c, d]),
            _ => panic!("{big} cannot be downloaded"),
        }
    };
    let stop = Instant::now() + length;
    let attacks = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..attackers)
        .map(|i| {
            let (big, attacks) = (big.to_owned(), attacks.clone());
            std::thread::spawn(move || {
                let mut seed = 0x9E37_79B9u32.wrapping_mul(i as u32 + 1);
                while Instant::now() < stop {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    // Within the last 1% of the file: near all of it hashed.
                    let position = size - seed % (size / 100).max(1);
                    if exchange(
                        [127, 0, 0, 1],
                        addr,
                        &resume_request(&big, position, [0; 16]),
                    )
                    .is_ok()
                    {
                        attacks.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut wrong = 0;
    let download = request_bytes("ferry", small, addr);
    while Instant::now() < stop {
        for request in [&download, &resume] {
            let started = Instant::now();
            match exchange([127, 0, 0, 2], addr, request) {
                Ok(answer)
                    if answer.ends_with(&content[content.len() - half.min(content.len())..]) =>
                {
                    latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                _ => wrong += 1,
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for worker in workers {
        let _ = worker.join();
    }
    latencies.sort_by(f64::total_cmp);
    if latencies.is_empty() {
        eprintln!("resume-attack: no request of the other client succeeded ({wrong} failed)");
        std::process::exit(1);
    }
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "attack_requests={} other_requests={} other_failures={wrong} other_p50_ms={:.1} other_p99_ms={:.1} other_max_ms={:.1}",
        attacks.load(Ordering::Relaxed),
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0),
    );
}
