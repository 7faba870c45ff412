//! Mixed load for `scripts/soak.sh`: every op, logins, and uploads checked
//! byte for byte by downloading them again, for a given time, printing every
//! 10 s what the server's process holds (RSS, descriptors) and the p99
//! latency.
//!
//! ```text
//! ferry-soak ADDR SECONDS PID USER PASSWORD [-c CLIENTS]
//! ```
//!
//! Exits 1 if any transfer came back different (a checksum mismatch) or
//! any request failed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::{
    ClientEvent, ClientSession, Credentials, Limits, Mask, Name, Output, Request, ResumeOutcome,
    Timestamp,
};
use md5::{Digest, Md5};

/// Files uploaded first and then read by everyone.
const SEEDS: usize = 8;

#[derive(Default)]
struct Stats {
    ops: AtomicU64,
    failures: AtomicU64,
    mismatches: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

/// What one request gave: events and body bytes, or why it failed.
struct Answer {
    events: Vec<ClientEvent>,
    body: Vec<u8>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: ferry-soak ADDR SECONDS PID USER PASSWORD [-c CLIENTS]");
        std::process::exit(2)
    };
    if args.len() < 5 {
        usage();
    }
    let addr: SocketAddr = args[0].parse().unwrap_or_else(|_| usage());
    let seconds: u64 = args[1].parse().unwrap_or_else(|_| usage());
    let pid: u32 = args[2].parse().unwrap_or_else(|_| usage());
    let (user, pass) = (args[3].clone(), args[4].clone());
    let clients: usize = args
        .iter()
        .position(|a| a == "-c")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);

    let seeds: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..SEEDS)
            .map(|i| content(i as u64, 1 << (10 + i)))
            .collect(),
    );
    for (i, seed) in seeds.iter().enumerate() {
        let up = drive(
            addr,
            None,
            Request::Upload {
                name: name(&format!("soak/seed-{i}.bin")),
            },
            seed,
        )
        .expect("the seed files could not be uploaded");
        assert!(
            up.events
                .contains(&ClientEvent::UploadDone { stored: true }),
            "seed {i}"
        );
    }
    let stats = Arc::new(Stats::default());
    let until = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|t| {
            let (stats, seeds, user, pass) =
                (stats.clone(), seeds.clone(), user.clone(), pass.clone());
            std::thread::spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                let mut i = 0u64;
                while Instant::now() < until {
                    i += 1;
                    let started = Instant::now();
                    let ok = one_op(addr, &mut rng, t, i, &seeds, &user, &pass, &stats);
                    stats.latencies.lock().unwrap().push(started.elapsed());
                    stats.ops.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        stats.failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while Instant::now() < until {
        std::thread::sleep(
            Duration::from_secs(10).min(until.saturating_duration_since(Instant::now())),
        );
        let mut lat = std::mem::take(&mut *stats.latencies.lock().unwrap());
        lat.sort();
        let p99 = lat.get(lat.len() * 99 / 100).copied().unwrap_or_default();
        println!(
            "t={:>5.0}s ops={} failures={} mismatches={} p99_ms={:.1} rss_kib={} fds={}",
            started.elapsed().as_secs_f64(),
            stats.ops.load(Ordering::Relaxed),
            stats.failures.load(Ordering::Relaxed),
            stats.mismatches.load(Ordering::Relaxed),
            p99.as_secs_f64() * 1000.0,
            rss_kib(pid),
            fds(pid),
        );
    }
    for w in workers {
        let _ = w.join();
    }
    let (failures, mismatches) = (
        stats.failures.load(Ordering::Relaxed),
        stats.mismatches.load(Ordering::Relaxed),
    );
    println!(
        "done ops={} failures={failures} mismatches={mismatches}",
        stats.ops.load(Ordering::Relaxed)
    );
    if failures + mismatches > 0 {
        std::process::exit(1);
    }
}

/// Runs one random operation; false if it failed.
#[allow(clippy::too_many_arguments)]
fn one_op(
    addr: SocketAddr,
    rng: &mut u64,
    thread: usize,
    i: u64,
    seeds: &[Vec<u8>],
    user: &str,
    pass: &str,
    stats: &Stats,
) -> bool {
    let pick = next(rng);
    let seed = (pick >> 8) as usize % seeds.len();
    let seed_name = || name(&format!("soak/seed-{seed}.bin"));
    let check = |same: bool| {
        if !same {
            stats.mismatches.fetch_add(1, Ordering::Relaxed);
        }
        same
    };
    match pick % 6 {
        0 => {
            matches!(drive(addr, None, Request::List, &[]), Some(a) if matches!(a.events.last(), Some(ClientEvent::Listing(_))))
        }
        1 => match drive(addr, None, Request::Download { name: seed_name() }, &[]) {
            Some(a) => check(a.body == seeds[seed]),
            None => false,
        },
        2 => {
            // An upload, then the same name downloaded: the bytes must match.
            let body = content(next(rng), (next(rng) % (256 << 10)) as usize);
            let target = name(&format!("soak/t{thread}-{}.bin", i % 4));
            let stored = matches!(drive(addr, None, Request::Upload { name: target.clone() }, &body),
                Some(a) if a.events.contains(&ClientEvent::UploadDone { stored: true }));
            stored
                && match drive(addr, None, Request::Download { name: target }, &[]) {
                    Some(a) => check(a.body == body),
                    None => false,
                }
        }
        3 => {
            let file = &seeds[seed];
            let position = (next(rng) % (file.len() as u64 + 1)) as usize;
            let md5: [u8; 16] = Md5::digest(&file[..position]).into();
            let resume = Request::Resume {
                name: seed_name(),
                position: position as u32,
                md5,
            };
            match drive(addr, None, resume, &[]) {
                Some(a) => {
                    a.events.contains(&ClientEvent::Resume(ResumeOutcome::Ok {
                        remaining: (file.len() - position) as u32,
                    })) && check(a.body == file[position..])
                }
                None => false,
            }
        }
        4 => {
            let Ok(mask) = Mask::new("soak/seed-*", &Limits::default()) else {
                return false;
            };
            match drive(addr, None, Request::MGet { mask }, &[]) {
                Some(a) => check(a.body.len() == seeds.iter().map(Vec::len).sum::<usize>()),
                None => false,
            }
        }
        _ => {
            let auth = Credentials::new(user, pass, &Limits::default()).ok();
            matches!(drive(addr, auth, Request::List, &[]), Some(a) if a.events.first() == Some(&ClientEvent::AuthAccepted))
        }
    }
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len).map(|_| next(&mut s) as u8).collect()
}

fn name(text: &str) -> Name {
    Name::parse(text.as_bytes(), &Limits::default()).expect("a valid name")
}

/// One request over a blocking socket with the core's client session.
fn drive(
    addr: SocketAddr,
    auth: Option<Credentials>,
    req: Request,
    upload: &[u8],
) -> Option<Answer> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let now = Timestamp::from_micros(0);
    let mut s = ClientSession::new(Limits::default(), now, auth, req);
    let mut answer = Answer {
        events: Vec::new(),
        body: Vec::new(),
    };
    let mut buf = vec![0; 64 * 1024];
    let (mut start, mut end, mut receiving) = (0, 0, 0u64);
    loop {
        while let Some(output) = s.poll_output() {
            match output {
                Output::Transmit(bytes) => stream.write_all(&bytes).ok()?,
                Output::SendBody { len } => {
                    stream.write_all(&upload[..len as usize]).ok()?;
                    s.handle_body(now, len).ok()?;
                }
                Output::ReceiveBody { len } => receiving = len,
                Output::Event(event) => {
                    if event == ClientEvent::UploadAccepted {
                        s.send_upload(upload.len() as u32).ok()?;
                    }
                    answer.events.push(event);
                }
                Output::Close => return s.error().is_none().then_some(answer),
            }
        }
        if start < end {
            if receiving > 0 {
                let n = (end - start).min(receiving as usize);
                answer.body.extend_from_slice(&buf[start..start + n]);
                receiving -= n as u64;
                start += n;
                s.handle_body(now, n as u64).ok()?;
            } else {
                start += s.handle_input(now, &buf[start..end]).unwrap_or(end - start);
            }
            continue;
        }
        start = 0;
        end = match stream.read(&mut buf) {
            Ok(0) | Err(_) => {
                s.handle_eof(now);
                0
            }
            Ok(n) => n,
        };
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}
