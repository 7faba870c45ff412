//! A TCP proxy for tests: it sits in front of a server, counts connections
//! and bytes in each direction, can pace either direction, hold what the
//! server sends past a count of bytes, and cut every connection at once (a
//! server that dies mid-transfer).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy; it stops accepting when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    target: Mutex<SocketAddr>,
    connections: AtomicU64,
    /// Bytes from the server to clients.
    down: AtomicU64,
    /// Bytes from clients to the server.
    up: AtomicU64,
    /// Server-to-client bytes per second; 0 for no pacing.
    rate: AtomicU64,
    /// Client-to-server bytes per second; 0 for no pacing.
    up_rate: AtomicU64,
    /// Server-to-client bytes passed on before the rest is held; `u64::MAX`: none held.
    hold_at: AtomicU64,
    stop: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

/// Bytes moved per pacing step; the pause after each step gives the rate.
const STEP: usize = 16 * 1024;

impl Proxy {
    /// Starts a proxy to `target` on a free loopback port.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            connections: AtomicU64::new(0),
            down: AtomicU64::new(0),
            up: AtomicU64::new(0),
            rate: AtomicU64::new(0),
            up_rate: AtomicU64::new(0),
            hold_at: AtomicU64::new(u64::MAX),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let target = *s.target.lock().unwrap();
                let Ok(server) = TcpStream::connect(target) else {
                    continue; // the client sees the connection close
                };
                s.connections.fetch_add(1, Ordering::SeqCst);
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut open = s.open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                let (s1, s2) = (s.clone(), s.clone());
                let (c2, v2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, &s1, false));
                std::thread::spawn(move || pump(v2, c2, &s2, true));
            }
        });
        Proxy { addr, shared }
    }

    /// The proxy's address as `HOST:PORT` text.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Points new connections at another server.
    pub fn retarget(&self, target: SocketAddr) {
        *self.shared.target.lock().unwrap() = target;
    }

    /// Paces what servers send to clients at `bytes_per_second` (0: no pacing).
    pub fn pace(&self, bytes_per_second: u64) {
        self.shared.rate.store(bytes_per_second, Ordering::SeqCst);
    }

    /// Paces what clients send to servers at `bytes_per_second` (0: no pacing).
    pub fn pace_up(&self, bytes_per_second: u64) {
        self.shared
            .up_rate
            .store(bytes_per_second, Ordering::SeqCst);
    }

    /// Holds what servers send once `bytes` have passed in all (0: from
    /// the first byte), until [`Proxy::release`].
    pub fn hold_after(&self, bytes: u64) {
        self.shared.hold_at.store(bytes, Ordering::SeqCst);
    }

    /// Lets held bytes go on.
    pub fn release(&self) {
        self.shared.hold_at.store(u64::MAX, Ordering::SeqCst);
    }

    /// Connections made through the proxy so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Bytes servers sent to clients so far.
    pub fn down_bytes(&self) -> u64 {
        self.shared.down.load(Ordering::SeqCst)
    }

    /// Bytes clients sent to servers so far.
    pub fn up_bytes(&self) -> u64 {
        self.shared.up.load(Ordering::SeqCst)
    }

    /// Cuts every open connection in both directions.
    pub fn cut(&self) {
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Copies `from` into `to` until either end closes; `down` marks the
/// server-to-client direction, which is counted there and paced.
fn pump(mut from: TcpStream, mut to: TcpStream, s: &Shared, down: bool) {
    let mut buf = vec![0; STEP];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Held (bounded: a test releases, or the proxy stops).
        while down && !s.stop.load(Ordering::SeqCst) {
            let hold_at = s.hold_at.load(Ordering::SeqCst);
            if s.down.load(Ordering::SeqCst) < hold_at {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Counted before it is passed on, so a reader who got the bytes
        // always sees them counted; taken back if they could not be.
        let counter = if down { &s.down } else { &s.up };
        counter.fetch_add(n as u64, Ordering::SeqCst);
        if to.write_all(&buf[..n]).is_err() {
            counter.fetch_sub(n as u64, Ordering::SeqCst);
            break;
        }
        let rate = if down { &s.rate } else { &s.up_rate }.load(Ordering::SeqCst);
        if rate > 0 {
            std::thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
