//! Fixtures for tests against the real `ferry` binary on 127.0.0.1.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod capture;
pub mod faults;
pub mod metrics;
pub mod proxy;
pub mod pty;
pub mod s3;

use ferry_core::{
    ClientEvent, ClientSession, Credentials, Limits, Mask, Name, Output, Request, SessionError,
    Timestamp,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_ferry");

/// A `ferry serve` process on a free port, over a temporary root, killed on
/// drop. `outside` is a folder next to the root that must stay untouched.
///
/// With `FERRY_TEST_STORE=s3`, the root's files and users are copied into a
/// bucket of SeaweedFS and the server serves them from there
/// (`--store`).
/// With `FERRY_TEST_VIA=cache` in the environment, a `ferry cache` with the
/// same front options is started in front of the server and `addr` is the
/// cache's: the server suite then runs against the cache, which clients
/// must not be able to tell from a server.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub tmp: tempfile::TempDir,
    /// The cache in front, with its own folder (outside `tmp`, which tests
    /// snapshot).
    pub front: Option<(Cache, tempfile::TempDir)>,
    /// The bucket prefix served, with `FERRY_TEST_STORE=s3`.
    pub bucket: Option<String>,
}

impl Server {
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    pub fn public(&self) -> PathBuf {
        self.root().join("public")
    }

    pub fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// The server's log, and the cache's in front of it if there is one.
    pub fn log(&self) -> String {
        let server = self.server_log();
        match &self.front {
            Some((cache, _)) => cache.log() + &server,
            None => server,
        }
    }

    /// The server's own log (not a cache's in front of it).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("server.log")).unwrap_or_default()
    }

    /// What the server stores at `rel` (`public/a.txt`,
    /// `private/alice/b`), wherever it keeps files.
    pub fn stored(&self, rel: &str) -> Option<Vec<u8>> {
        stored_in(self.bucket.as_deref(), &self.root(), rel)
    }

    /// Puts a file at `rel` behind the server's back, wherever it keeps
    /// files.
    pub fn put(&self, rel: &str, bytes: &[u8]) {
        match &self.bucket {
            Some(store) => s3::put(store, rel, bytes),
            None => std::fs::write(self.root().join(rel), bytes).unwrap(),
        }
    }

    /// Waits (bounded) until the logs hold `count` lines containing `text`.
    pub fn wait_log(&self, text: &str, count: usize) -> String {
        wait_for(|| self.log(), text, count)
    }

    /// Starts a server; `prepare` fills the root before it starts.
    pub fn start(extra: &[&str], prepare: impl FnOnce(&Path)) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("public")).unwrap();
        std::fs::create_dir_all(tmp.path().join("outside")).unwrap();
        std::fs::write(tmp.path().join("outside/secret.txt"), b"outside secret").unwrap();
        std::fs::write(tmp.path().join("secret"), b"top secret").unwrap();
        prepare(&root);
        let via_cache = std::env::var("FERRY_TEST_VIA").as_deref() == Ok("cache");
        let mut command = Command::new(BIN);
        let mut bucket = None;
        if std::env::var("FERRY_TEST_STORE").as_deref() == Ok("s3") {
            // The same files and users, in a bucket of SeaweedFS.
            let store = s3::fresh_store();
            s3::mirror(&root, &store);
            s3::with_env(&mut command).args(["serve", "0", "--store", &store]);
            bucket = Some(store);
        } else {
            command.args(["serve", "0", "--root"]).arg(&root);
        }
        command.args(extra);
        if via_cache {
            // The cache in front stands for many clients, as documented.
            command.args(["--trust", "127.0.0.1"]);
        }
        let (child, mut addr) = listening(command, &tmp.path().join("server.log"));
        let front = via_cache.then(|| {
            let dir = tempfile::tempdir().unwrap();
            // The origin alone decides whether public files are replaced.
            let front: Vec<&str> = extra
                .iter()
                .copied()
                .filter(|a| *a != "--public-overwrite")
                .collect();
            let cache = Cache::start(&addr.to_string(), &dir.path().join("cache"), &front);
            addr = cache.addr;
            (cache, dir)
        });
        Server {
            child,
            addr,
            tmp,
            front,
            bucket,
        }
    }
}

/// What a server stores at `rel`: in `bucket` (a `--store`), or under `root`.
pub fn stored_in(bucket: Option<&str>, root: &Path, rel: &str) -> Option<Vec<u8>> {
    match bucket {
        Some(store) => s3::get(store, rel),
        None => std::fs::read(root.join(rel)).ok(),
    }
}

/// Starts a `ferry serve` or `ferry cache` command that listens on a free
/// port, logging to `log`; returns it and its loopback address.
pub fn listening(mut command: Command, log: &Path) -> (Child, SocketAddr) {
    let log = std::fs::File::create(log).unwrap();
    let mut child = command
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    // Keep draining what else the server prints.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let port: u16 = first
        .split("on port ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// A `ferry cache` process on a free port, killed on drop.
pub struct Cache {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    log: PathBuf,
}

impl Cache {
    /// Starts a cache of `origin` keeping its copies in `dir`; its log goes
    /// beside `dir`.
    pub fn start(origin: &str, dir: &Path, extra: &[&str]) -> Cache {
        let log = dir.with_extension("log");
        let mut command = Command::new(BIN);
        command
            .args(["cache", "0", "--origin", origin, "--dir"])
            .arg(dir)
            .args(extra);
        let (child, addr) = listening(command, &log);
        Cache {
            child,
            addr,
            dir: dir.to_owned(),
            log,
        }
    }

    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until the log has `count` lines containing `text`.
    pub fn wait_log(&self, text: &str, count: usize) -> String {
        wait_for(|| self.log(), text, count)
    }
}

/// Waits (at most 10 s) until `log()` holds `text` `count` times; the log.
pub fn wait_for(log: impl Fn() -> String, text: &str, count: usize) -> String {
    for _ in 0..1000 {
        let log = log();
        if log.matches(text).count() >= count {
            return log;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    log()
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds a user to a root with the real `ferry user add`.
pub fn add_user(root: &Path, name: &str, pass: &str) {
    let status = Command::new(BIN)
        .args(["user", "add", name, "--root"])
        .arg(root)
        .env("FERRY_PASSWORD", pass)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// What one request gave.
#[derive(Debug, Default)]
pub struct Outcome {
    pub events: Vec<ClientEvent>,
    pub bodies: Vec<Vec<u8>>,
    pub error: Option<SessionError>,
}

impl Outcome {
    /// Every body byte received (a 0-byte file has no body at all).
    pub fn body(&self) -> Vec<u8> {
        assert!(self.bodies.len() <= 1, "{:?}", self.events);
        self.bodies.concat()
    }
}

pub fn name(s: &str) -> Name {
    Name::parse(s.as_bytes(), &Limits::default()).unwrap()
}

pub fn mask(s: &str) -> Mask {
    Mask::new(s, &Limits::default()).unwrap()
}

/// Runs one request over a blocking socket with the core's client session.
pub fn request(
    addr: SocketAddr,
    auth: Option<(&str, &str)>,
    req: Request,
    upload: &[u8],
) -> Outcome {
    let auth = auth.map(|(u, p)| Credentials::new(u, p, &Limits::default()).unwrap());
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut s = ClientSession::new(Limits::default(), Timestamp::from_micros(0), auth, req);
    let mut out = Outcome::default();
    let mut buf = vec![0; 64 * 1024];
    let (mut start, mut end) = (0, 0);
    let mut receiving = 0u64;
    let now = Timestamp::from_micros(0);
    loop {
        while let Some(output) = s.poll_output() {
            match output {
                Output::Transmit(bytes) => {
                    if stream.write_all(&bytes).is_err() {
                        break;
                    }
                }
                Output::SendBody { len } => {
                    for chunk in upload[..len as usize].chunks(256 * 1024) {
                        if stream.write_all(chunk).is_err() {
                            break;
                        }
                        s.handle_body(now, chunk.len() as u64).unwrap();
                    }
                }
                Output::ReceiveBody { len } => {
                    out.bodies.push(Vec::new());
                    receiving = len;
                }
                Output::Event(event) => {
                    if event == ClientEvent::UploadAccepted {
                        s.send_upload(upload.len() as u32).unwrap();
                    }
                    out.events.push(event);
                }
                Output::Close => {
                    out.error = s.error().cloned();
                    return out;
                }
            }
        }
        if receiving > 0 && start < end {
            let n = (end - start).min(receiving as usize);
            receiving -= n as u64;
            out.bodies
                .last_mut()
                .unwrap()
                .extend_from_slice(&buf[start..start + n]);
            start += n;
            s.handle_body(now, n as u64).unwrap();
            continue;
        }
        if receiving == 0 && start < end {
            match s.handle_input(now, &buf[start..end]) {
                Ok(n) => start += n,
                Err(_) => start = end,
            }
            continue;
        }
        start = 0;
        end = 0;
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => s.handle_eof(now),
            Ok(n) => end = n,
        }
    }
}

/// Sends raw bytes, half-closes, and returns everything the server sent.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    reply
}

/// Deterministic bytes of any length.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32) as u8
        })
        .collect()
}

/// Every path below `dir` with its contents (symlinks as their targets).
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
                out.push((path, b"<dir>".to_vec()));
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.push((path, target.to_string_lossy().as_bytes().to_vec()));
            } else if meta.is_file() {
                let content = std::fs::read(&path).unwrap();
                out.push((path, content));
            } else {
                out.push((path, b"<special>".to_vec()));
            }
        }
    }
    out.sort();
    out
}
