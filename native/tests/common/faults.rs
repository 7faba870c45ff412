//! An HTTP proxy in front of the object store that misbehaves on purpose:
//! it answers chosen requests with an error status, cuts a response in the
//! middle of its body, stalls one, or sends one after an interim answer
//! with a chunked body. Every connection carries one request
//! (the proxy asks the store to close after its answer), so each request's
//! head is seen, and every request line and its `Range` and `If-Match`
//! headers are recorded.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to the next requests that match.
#[derive(Debug, Clone)]
enum Fault {
    /// Answer with this status, no body.
    Status(u16),
    /// Pass the answer on, but close after this many bytes of it.
    Cut(usize),
    /// Pass this many bytes of the answer on, then nothing (the
    /// connection stays open) until the proxy is dropped.
    Stall(usize),
    /// Pass the answer on after an interim `100 Continue`, its body in
    /// chunks of unannounced length (as a proxy in front of a store may).
    Reframe,
}

#[derive(Debug)]
struct Rule {
    method: String,
    path_has: String,
    times: usize,
    fault: Fault,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Vec<Rule>,
    /// `METHOD PATH [range=..] [if-match=..]`, one per request seen.
    seen: Vec<String>,
    stalled: Vec<TcpStream>,
}

/// The proxy: `endpoint()` stands for the store.
#[derive(Debug)]
pub struct Faults {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl Faults {
    /// Starts a proxy to the store at `target` on a free loopback port.
    pub fn start(target: SocketAddr) -> Faults {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = Arc::downgrade(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Some(shared) = state.upgrade() else {
                    return;
                };
                let Ok(client) = client else { continue };
                std::thread::spawn(move || serve(client, target, &shared));
            }
        });
        Faults { addr, shared }
    }

    /// The URL to give as `--s3-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `times` requests `METHOD` whose path holds `path_has` are
    /// answered `status`.
    pub fn answer(&self, method: &str, path_has: &str, times: usize, status: u16) {
        self.add(method, path_has, times, Fault::Status(status));
    }

    /// The next `times` such answers are cut after `bytes` (head included).
    pub fn cut(&self, method: &str, path_has: &str, times: usize, bytes: usize) {
        self.add(method, path_has, times, Fault::Cut(bytes));
    }

    /// The next `times` such answers come after a `100 Continue`, their
    /// bodies chunked, of unannounced length.
    pub fn reframe(&self, method: &str, path_has: &str, times: usize) {
        self.add(method, path_has, times, Fault::Reframe);
    }

    /// The next such answer stops after `bytes` and the connection stays
    /// open, silent.
    pub fn stall(&self, method: &str, path_has: &str, bytes: usize) {
        self.add(method, path_has, 1, Fault::Stall(bytes));
    }

    /// The requests `METHOD` seen so far whose path holds `path_has`.
    pub fn seen(&self, method: &str, path_has: &str) -> Vec<String> {
        let shared = self.shared.lock().unwrap();
        let start = format!("{method} ");
        let wanted = |r: &&String| {
            r.starts_with(&start) && r.split(' ').nth(1).is_some_and(|p| p.contains(path_has))
        };
        shared.seen.iter().filter(wanted).cloned().collect()
    }

    fn add(&self, method: &str, path_has: &str, times: usize, fault: Fault) {
        self.shared.lock().unwrap().rules.push(Rule {
            method: method.to_owned(),
            path_has: path_has.to_owned(),
            times,
            fault,
        });
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        for stalled in self.shared.lock().unwrap().stalled.drain(..) {
            let _ = stalled.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it sees that the proxy is gone.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// One connection: its request's head, then the fault or the store.
fn serve(mut client: TcpStream, target: SocketAddr, shared: &Mutex<Shared>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default().to_owned();
    let (method, path) = {
        let mut words = line.split(' ');
        (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        )
    };
    let mut record = format!("{method} {path}");
    let mut kept = Vec::new();
    for header in lines.filter(|l| !l.is_empty()) {
        let lower = header.to_ascii_lowercase();
        if lower.starts_with("range:") || lower.starts_with("if-match:") {
            record.push_str(&format!(" {}", lower.replace(": ", "=")));
        }
        if !lower.starts_with("connection:") {
            kept.push(header);
        }
    }
    let fault = {
        let mut shared = shared.lock().unwrap();
        shared.seen.push(record);
        let rule = shared
            .rules
            .iter_mut()
            .find(|r| r.times > 0 && r.method == method && path.contains(&r.path_has));
        rule.map(|r| {
            r.times -= 1;
            r.fault.clone()
        })
    };
    if let Some(Fault::Status(status)) = fault {
        let answer =
            format!("HTTP/1.1 {status} Fault\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = client.write_all(answer.as_bytes());
        let _ = client.shutdown(Shutdown::Write);
        // Read what the client still sends, so the close is not a reset.
        let _ = std::io::copy(&mut client.take(64 << 20), &mut std::io::sink());
        return;
    }
    let Ok(mut store) = TcpStream::connect(target) else {
        return;
    };
    let forwarded = format!(
        "{line}\r\n{}\r\nConnection: close\r\n\r\n",
        kept.join("\r\n")
    );
    if store.write_all(forwarded.as_bytes()).is_err() {
        return;
    }
    // The request's body, if any, as it comes.
    if let (Ok(mut from), Ok(mut to)) = (client.try_clone(), store.try_clone()) {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        });
    }
    if let Some(Fault::Reframe) = fault {
        let mut answer = Vec::new();
        let _ = store.read_to_end(&mut answer);
        let _ = client.write_all(&reframed(&answer));
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let limit = match fault {
        Some(Fault::Cut(bytes) | Fault::Stall(bytes)) => bytes,
        _ => usize::MAX,
    };
    // The store's answer is read before it is cut: what it did, it did.
    let mut passed = 0;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match store.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n.min(limit - passed),
        };
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
        passed += n;
        if passed == limit {
            break;
        }
    }
    match fault {
        Some(Fault::Stall(_)) if passed == limit => {
            // Silent, open, until the proxy is dropped.
            shared.lock().unwrap().stalled.push(client);
        }
        _ => {
            let _ = client.shutdown(Shutdown::Both);
        }
    }
}

/// `answer` after a `100 Continue`, with its body in chunks of 1,000 bytes
/// and `Transfer-Encoding: chunked` instead of its length.
fn reframed(answer: &[u8]) -> Vec<u8> {
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |at| at + 4);
    let (head, body) = answer.split_at(at);
    let head = String::from_utf8_lossy(head);
    let mut out = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            out.extend_from_slice(format!("{line}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
    for chunk in body.chunks(1000) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}
