//! Whole-object GETs on the connection's own thread, for a plain-HTTP
//! endpoint: HTTP/1.1 over connections kept open between requests and
//! read through the reactor, so a small object costs neither a hand-off to
//! a blocking-pool thread nor a new connection. A large object's body is
//! then read by a blocking-pool thread straight from the socket. Ranges,
//! HEAD, PUT, LIST and `https://` endpoints go through the agent.

use std::io::{self, Read};
use std::net::TcpStream;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_io::Timer;
use ferry_runtime::conn::Conn;
use ferry_runtime::stream::Reader;
use ferry_runtime::upstream::Unopened;
use ferry_runtime::{Waited, until};
use rustix::pipe::{SpliceFlags, splice};
use rusty_s3::S3Action;

use super::error::{ERROR_BODY_MAX, busy, status_error};
use super::{Object, S3, S3Error, SIGNED_FOR};

/// Connections kept open for later GETs, at most.
const KEPT_MAX: usize = 64;
/// Most bytes of an answer's status line and headers.
const HEAD_MAX: usize = 64 * 1024;
/// Most headers an answer may have.
const HEADERS_MAX: usize = 64;

/// How long a connection is kept unused: stores close idle ones after a
/// while (often 5 to 60 s), and one closed meanwhile is no use.
const KEPT_FOR: Duration = Duration::from_secs(30);

/// Connections to a plain-HTTP endpoint, kept open between GETs.
#[derive(Debug)]
pub(super) struct Kept {
    /// `HOST:PORT`, to connect to.
    authority: String,
    /// The connections, and since when each was unused (newest last).
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl Kept {
    /// Connections to the bucket's endpoint, if it speaks plain HTTP.
    pub(super) fn for_bucket(bucket: &rusty_s3::Bucket) -> Option<Kept> {
        let endpoint = bucket.base_url();
        if endpoint.scheme() != "http" {
            return None;
        }
        let authority = format!(
            "{}:{}",
            endpoint.host_str()?,
            endpoint.port_or_known_default()?
        );
        Some(Kept {
            authority,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// A kept connection the store has not closed meanwhile, if any.
    fn take(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((mut conn, since)) = idle.pop() {
            // Nothing may be waiting on an idle connection: bytes or the
            // end of the stream mean the store is done with it.
            if since.elapsed() < KEPT_FOR && matches!(conn.try_fill(), Ok(None)) {
                conn.set_aside();
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for a later GET, if there is room and it holds
    /// nothing more (bytes past an answer's end are not the next one's).
    fn keep(&self, mut conn: Conn) {
        if !conn.pending().is_empty() {
            return;
        }
        conn.set_aside();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(_, since)| since.elapsed() < KEPT_FOR);
        if idle.len() < KEPT_MAX {
            idle.push((conn, Instant::now()));
        }
    }

    /// A new connection, within `within`.
    async fn connect(&self, within: Duration) -> io::Result<Conn> {
        match ferry_runtime::upstream::open(&self.authority, Instant::now() + within).await {
            Ok(socket) => Ok(Conn::new(socket)),
            Err(e @ Unopened::TimedOut(_)) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{e} (after {within:?})"),
            )),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                e.to_string(),
            )),
        }
    }
}

/// An object read by [`S3::get_whole`].
pub enum Whole {
    /// All of its bytes (it was no larger than asked).
    Bytes(Vec<u8>),
    /// A larger object, its body as it arrives: a blocking reader, for the
    /// blocking pool.
    Streaming(Object),
}

/// An answer's status line and headers, as far as a GET needs them.
struct Head {
    status: u16,
    /// `Content-Length`, if given.
    len: Option<u64>,
    etag: String,
    /// Whether the connection may carry another request after this answer.
    reusable: bool,
}

/// What one try came to.
enum Tried {
    /// An answer, the connection it came on (the body next in it).
    Answer(Head, Conn),
    /// No answer: the connection failed, or what came was not HTTP.
    Failed(io::Error),
}

impl S3 {
    /// Reads the object `key` whole: its bytes if it holds at most
    /// `inline_max`, else its body as it arrives. `Ok(None)`: no such
    /// object. Tried again as [`S3::get`] is. From a plain-HTTP endpoint,
    /// on this thread over a kept connection; else through the agent on
    /// the blocking pool.
    pub async fn get_whole(
        self: &Arc<Self>,
        key: &str,
        inline_max: u64,
    ) -> Result<Option<Whole>, S3Error> {
        match &self.kept {
            Some(kept) => self.get_kept(kept, key, inline_max).await,
            None => {
                let (s3, key) = (self.clone(), key.to_owned());
                smol::unblock(move || s3.read_whole(&key, inline_max)).await
            }
        }
    }

    async fn get_kept(
        self: &Arc<Self>,
        kept: &Kept,
        key: &str,
        inline_max: u64,
    ) -> Result<Option<Whole>, S3Error> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let named = format!("GET {}", self.shown_key(key));
        let deadline = Instant::now() + self.timeout;
        let mut tries = 0;
        loop {
            tries += 1;
            let started = Instant::now();
            let (why, error) = match self.try_get(kept, request.as_bytes()).await {
                Tried::Answer(head, conn) => {
                    self.metrics
                        .tried(&named, Some(head.status), started.elapsed());
                    match busy(head.status) {
                        None => return self.answered(kept, key, head, conn, inline_max).await,
                        Some(why) => (why, self.error_answer(kept, head, conn).await),
                    }
                }
                Tried::Failed(e) => {
                    self.metrics.tried(&named, None, started.elapsed());
                    let error = S3Error::Unreachable(e.to_string());
                    // A store that stalled is not asked again: the
                    // timeout is spent.
                    if e.kind() == io::ErrorKind::TimedOut {
                        return Err(error);
                    }
                    (e.to_string(), error)
                }
            };
            let pause = self.again(&named, true, tries, deadline, why, error)?;
            Timer::after(pause).await;
        }
    }

    /// Sends `request` on a kept connection (a fresh one if the kept one
    /// turns out closed before any answer) and reads the answer's head.
    async fn try_get(&self, kept: &Kept, request: &[u8]) -> Tried {
        let mut reused = kept.take();
        loop {
            let fresh = reused.is_none();
            let mut conn = match reused.take() {
                Some(conn) => conn,
                None => match kept
                    .connect(self.timeout.min(Duration::from_secs(10)))
                    .await
                {
                    Ok(conn) => conn,
                    Err(e) => return Tried::Failed(e),
                },
            };
            conn.queue(request);
            let sent = self.within(conn.flush(false)).await;
            let head = match sent {
                Ok(()) => self.read_head(&mut conn).await,
                Err(e) => Err(e),
            };
            match head {
                Ok(head) => return Tried::Answer(head, conn),
                // The store closed a kept connection as it was reused:
                // nothing was answered, so the request goes again at once.
                Err(e) if !fresh && broken(&e) => continue,
                Err(e) => return Tried::Failed(e),
            }
        }
    }

    /// Reads an answer's status line and headers; the body stays pending.
    async fn read_head(&self, conn: &mut Conn) -> io::Result<Head> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
            let mut answer = httparse::Response::new(&mut headers);
            let parsed = answer
                .parse(conn.pending())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if let httparse::Status::Complete(used) = parsed {
                let status = answer.code.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    // An interim answer (100 Continue): the real one follows.
                    conn.consume(used);
                    continue;
                }
                let header = |name: &str| {
                    answer
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                        .map(str::trim)
                };
                let closes = header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
                // A transfer coding overrides any length (RFC 9112, 6.3).
                let chunked = header("transfer-encoding").is_some();
                let head = Head {
                    status,
                    len: header("content-length")
                        .and_then(|l| l.parse().ok())
                        .filter(|_| !chunked),
                    etag: header("etag").unwrap_or_default().to_owned(),
                    reusable: answer.version == Some(1) && !closes && !chunked,
                };
                conn.consume(used);
                return Ok(head);
            }
            if conn.pending().len() >= HEAD_MAX {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("an answer whose head is longer than {HEAD_MAX} bytes"),
                ));
            }
            if self.within(conn.fill()).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the object store closed the connection before answering",
                ));
            }
        }
    }

    /// A GET's answer other than a failure worth another try.
    async fn answered(
        self: &Arc<Self>,
        kept: &Kept,
        key: &str,
        head: Head,
        mut conn: Conn,
        inline_max: u64,
    ) -> Result<Option<Whole>, S3Error> {
        match head.status {
            200 => {}
            404 => {
                self.error_answer(kept, head, conn).await;
                return Ok(None);
            }
            _ => return Err(self.error_answer(kept, head, conn).await),
        }
        let Some(len) = head.len else {
            // A body of unannounced length (chunked, from a proxy in
            // front of the store): read again through the agent, which
            // decodes it.
            let (s3, key) = (self.clone(), key.to_owned());
            return smol::unblock(move || s3.read_whole(&key, inline_max)).await;
        };
        if len <= inline_max {
            let bytes = self.read_body(&mut conn, len).await.map_err(|e| {
                S3Error::Unreachable(format!("{} of {len} bytes: {e}", self.shown_key(key)))
            })?;
            if head.reusable {
                kept.keep(conn);
            }
            return Ok(Some(Whole::Bytes(bytes)));
        }
        // A large body: read from the socket by a blocking-pool thread, the
        // bytes already here first; a cut goes on from where it stopped.
        let unreachable = |e: io::Error| S3Error::Unreachable(e.to_string());
        let (stream, pending) = conn.into_parts().map_err(unreachable)?;
        stream.set_nonblocking(false).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(self.timeout))
            .map_err(unreachable)?;
        let body = SocketBody {
            first: io::Cursor::new(pending),
            socket: stream,
            left: len,
        };
        let object = Object {
            len,
            size: len,
            etag: head.etag,
            body: Box::new(body),
        };
        Ok(Some(Whole::Streaming(self.continuing(key, 0, object))))
    }

    /// Reads `len` bytes of body.
    async fn read_body(&self, conn: &mut Conn, len: u64) -> io::Result<Vec<u8>> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        let mut bytes = Vec::with_capacity(len);
        while bytes.len() < len {
            if conn.pending().is_empty() && self.within(conn.fill()).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the store ended the answer after {} bytes", bytes.len()),
                ));
            }
            let take = conn.pending().len().min(len - bytes.len());
            bytes.extend_from_slice(&conn.pending()[..take]);
            conn.consume(take);
        }
        Ok(bytes)
    }

    /// The error an answer says, its body read for S3's code and message
    /// (the connection kept if the whole answer was read).
    async fn error_answer(&self, kept: &Kept, head: Head, mut conn: Conn) -> S3Error {
        let body = match head.len {
            Some(len) if len <= ERROR_BODY_MAX => self.read_body(&mut conn, len).await.ok(),
            _ => None,
        };
        if head.reusable && body.is_some() {
            kept.keep(conn);
        }
        status_error(
            head.status,
            &String::from_utf8_lossy(&body.unwrap_or_default()),
        )
    }

    /// Runs `op` within the timeout: a store that stalls is cut.
    async fn within<T>(&self, op: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        match until(Some(Instant::now() + self.timeout), op).await {
            Waited::Done(result) => result,
            Waited::Deadline => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer from the object store in {:?}", self.timeout),
            )),
        }
    }
}

/// A large object's body, straight from its connection (blocking, with
/// the timeout for each read): the bytes that came with the head first,
/// then the socket's, which can be spliced on without copying them here.
struct SocketBody {
    first: io::Cursor<Vec<u8>>,
    socket: TcpStream,
    /// Bytes of the body not read yet.
    left: u64,
}

impl SocketBody {
    /// Whether the bytes that came with the head are all read.
    fn past_first(&self) -> bool {
        self.first.position() >= self.first.get_ref().len() as u64
    }
}

impl Read for SocketBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = if self.past_first() {
            match self.socket.read(&mut buf[..want]) {
                // The read timeout passed with nothing to read.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(silent()),
                read => read?,
            }
        } else {
            self.first.read(&mut buf[..want])?
        };
        self.left -= n as u64;
        Ok(n)
    }
}

impl Reader for SocketBody {
    fn splices(&self) -> bool {
        true
    }

    fn splice_into(&mut self, pipe: BorrowedFd<'_>, max: usize) -> Option<io::Result<usize>> {
        if !self.past_first() {
            return None;
        }
        let want = max.min(self.left.min(usize::MAX as u64) as usize);
        let flags = SpliceFlags::MOVE | SpliceFlags::MORE;
        let moved = match splice(&self.socket, None, pipe, None, want, flags) {
            Ok(n) => {
                self.left -= n as u64;
                Ok(n)
            }
            // The read timeout passed with nothing to move.
            Err(rustix::io::Errno::AGAIN) => Err(silent()),
            Err(e) => Err(e.into()),
        };
        Some(moved)
    }
}

/// A body's store that sent nothing for the whole timeout.
fn silent() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the object store sent nothing for the whole timeout",
    )
}

/// Whether a connection broke (closed, reset), as opposed to answering
/// something that is not HTTP or not answering in time.
fn broken(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        e.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    )
}
