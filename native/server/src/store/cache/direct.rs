//! One op 40 to the origin on a connection of its own, its body read as it
//! arrives: how the cache passes on what it does not fill (a RESUME of a
//! file it does not hold whole, a file too large to keep when the in-flight
//! budget is spent, a reader that fell behind a passing file's window).
//!
//! Blocking (run it on the blocking pool): the body is then copied to the
//! client by the same thread, through one bounded buffer, so the origin is
//! read no faster than the client takes the bytes.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use ferry_core::{ClientEvent, ClientSession, Name, Output, Request, ResumeOutcome, Timestamp};

use ferry_runtime::Stream;
use ferry_runtime::upstream::Upstream;
use rustls::pki_types::ServerName;

/// What the origin answered.
pub(super) enum Answer {
    /// Result 0: `remaining` bytes follow, read from `body`.
    Send {
        /// Bytes that follow.
        remaining: u32,
        /// Them, as they arrive.
        body: Stream,
    },
    /// Result 20.
    Mismatch,
    /// Result 10.
    NoSuchFile,
    /// Status 1.
    Refused,
}

/// Asks `origin` for `name` from `position`, whose first bytes have the
/// MD5 `md5`, on a new connection.
pub(super) fn resume(
    origin: &Upstream,
    name: &Name,
    position: u32,
    md5: [u8; 16],
) -> io::Result<Answer> {
    let timeout = Duration::from_micros(origin.limits.timeout_us);
    let tcp = connect(&origin.addr, timeout)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let _ = tcp.set_nodelay(true);
    let mut socket: Box<dyn Duplex> = match &origin.tls {
        None => Box::new(tcp),
        Some(config) => {
            let host = ferry_runtime::upstream::host_of(&origin.addr);
            let name = ServerName::try_from(host.to_owned()).map_err(io::Error::other)?;
            let tls =
                rustls::ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
            Box::new(rustls::StreamOwned::new(tls, tcp))
        }
    };
    let start = Instant::now();
    let now = || Timestamp::from_micros(start.elapsed().as_micros() as u64);
    let request = Request::Resume {
        name: name.clone(),
        position,
        md5,
    };
    let mut session = ClientSession::new(origin.limits.clone(), now(), None, request);
    let mut buf = vec![0u8; 4096];
    let (mut start_at, mut end) = (0, 0);
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                Output::Transmit(bytes) => socket.write_all(&bytes)?,
                Output::Event(ClientEvent::Resume(ResumeOutcome::Ok { remaining })) => {
                    // What came with the header is the body's start.
                    buf.truncate(end);
                    buf.drain(..start_at);
                    let body = io::Cursor::new(buf).chain(socket).take(remaining.into());
                    return Ok(Answer::Send {
                        remaining,
                        body: Stream::reader(body),
                    });
                }
                Output::Event(ClientEvent::Resume(ResumeOutcome::Mismatch)) => {
                    return Ok(Answer::Mismatch);
                }
                Output::Event(ClientEvent::Resume(ResumeOutcome::NoSuchFile)) => {
                    return Ok(Answer::NoSuchFile);
                }
                Output::Event(ClientEvent::Refused) => return Ok(Answer::Refused),
                Output::Close => {
                    let why = session
                        .error()
                        .map_or_else(|| "it closed the connection".to_owned(), |e| e.to_string());
                    return Err(io::Error::other(format!("the origin: {why}")));
                }
                _ => {}
            }
        }
        if start_at == end {
            (start_at, end) = (0, socket.read(&mut buf)?);
            if end == 0 {
                session.handle_eof(now());
                continue;
            }
        }
        let used = session
            .handle_input(now(), &buf[start_at..end])
            .map_err(|e| io::Error::other(format!("the origin broke the protocol: {e}")))?;
        if used == 0 {
            return Err(io::Error::other("the origin's answer could not be read"));
        }
        start_at += used;
    }
}

/// A blocking connection to the origin, plain or TLS.
trait Duplex: Read + Write + Send {}

impl<T: Read + Write + Send> Duplex for T {}

/// Connects to `addr` (`HOST:PORT`), trying each address it resolves to.
fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for address in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(socket) => return Ok(socket),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other(format!("{addr} resolves to no address"))))
}
