//! Load generator for `scripts/bench.sh`: the same client code against ferry
//! and against an HTTP server, so the comparison measures the servers.
//!
//! ```text
//! ferry-load download ferry|http ADDR NAME        one download to nowhere
//! ferry-load rps ferry|http ADDR NAME -c 50 -n 20000
//! ferry-load idle ADDR COUNT SECONDS             hold idle connections
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
        "usage: ferry-load download|rps ferry|http ADDR NAME [-c N] [-n N] | idle ADDR COUNT SECONDS"
    );
    std::process::exit(2);
}

fn request_bytes(proto: &str, name: &str) -> Vec<u8> {
    match proto {
        "ferry" => {
            let mut bytes = vec![10];
            bytes.extend((name.len() as u32).to_be_bytes());
            bytes.extend(name.as_bytes());
            bytes
        }
        "http" => format!("GET /{name} HTTP/1.0\r\nHost: bench\r\n\r\n").into_bytes(),
        _ => usage(),
    }
}

/// One request on a fresh connection; returns the bytes of the answer.
fn fetch(addr: SocketAddr, request: &[u8], buf: &mut [u8]) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.write_all(request)?;
    let mut total = 0u64;
    loop {
        match stream.read(buf)? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

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
            let request = request_bytes(proto, name);
            let mut buf = vec![0; 1 << 20];
            let started = Instant::now();
            let bytes = fetch(addr, &request, &mut buf).expect("download failed");
            let secs = started.elapsed().as_secs_f64();
            println!(
                "bytes={bytes} seconds={secs:.4} bytes_per_second={:.0}",
                bytes as f64 / secs
            );
        }
        "rps" => {
            let (proto, addr, name) = (arg(1), arg(2).parse().unwrap_or_else(|_| usage()), arg(3));
            let (concurrency, requests) = (flag("-c", 50), flag("-n", 20_000));
            let request = Arc::new(request_bytes(proto, name));
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
                    std::thread::spawn(move || {
                        let mut buf = vec![0; 64 * 1024];
                        let mut mine = Vec::new();
                        while next.fetch_add(1, Ordering::Relaxed) < requests {
                            let t = Instant::now();
                            match fetch(addr, &request, &mut buf) {
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
        "idle" => {
            let addr: SocketAddr = arg(1).parse().unwrap_or_else(|_| usage());
            let (count, seconds): (usize, u64) = (
                arg(2).parse().unwrap_or_else(|_| usage()),
                arg(3).parse().unwrap_or_else(|_| usage()),
            );
            let held: Vec<TcpStream> = (0..count)
                .map(|_| TcpStream::connect(addr).expect("connect"))
                .collect();
            println!("holding {} idle connections", held.len());
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_secs(seconds));
            drop(held);
        }
        _ => usage(),
    }
}
