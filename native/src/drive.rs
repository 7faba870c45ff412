//! The one drive loop: moves a session's bytes over a TCP connection,
//! whichever its role, and hands its events and bodies to a [`Handler`].
//!
//! Sessions decide; this module only moves bytes. [`drive`] drains the
//! session's outputs in order, answers events through the handler, sends
//! bodies with `sendfile` and receives them into the handler, and races
//! every wait against the session's deadline (computed in one place,
//! [`within`]). A [`Conn`] (`crate::conn`) owns the socket and the
//! buffers. The server and the client use this loop; the cache will run it
//! twice, a server session downstream and a client session upstream.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use ferry_core::{Output, Session, Timestamp};
use ferry_storage::OpenFile;
use futures_lite::future;

use crate::conn::{Conn, Source};
use crate::growing::Growing;
use crate::window::{Read, WindowReader};

/// Bytes a window's reader copies out per send.
const WINDOW_READ: usize = 64 * 1024;

/// What a role does with its session's events and bodies.
pub trait Handler<S: Session> {
    /// Why the handler stopped the exchange (the server never does).
    type Error;

    /// Answers an event, perhaps after waiting (a store lookup, a login).
    fn answer(
        &mut self,
        session: &mut S,
        event: S::Event,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// The source of the body `SendBody` announced; `None` aborts the session.
    fn body(&mut self) -> Option<Body> {
        None
    }

    /// Payload bytes received for `ReceiveBody`, in order.
    fn received(&mut self, data: &[u8]) -> Result<(), Self::Error>;

    /// Waits until the handler can take more of a body being received:
    /// bytes are read from the peer no faster than they go on. Keeps its
    /// own deadlines (the session's do not run while it waits).
    fn ready(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        async { Ok(()) }
    }

    /// Payload bytes of a body sent.
    fn sent(&mut self, _bytes: u64) {}

    /// The body's source ended before its announced size, for the reason
    /// given; the session has been aborted (a body is never sent short as
    /// if whole).
    fn short_body(&mut self, _why: &str) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Where the bytes of a body this side sends come from.
#[derive(Debug)]
pub enum Body {
    /// A regular file, sent with `sendfile` from `offset`.
    File {
        /// The open file.
        open: OpenFile,
        /// Where the body starts in the file.
        offset: u64,
    },
    /// A file still being written (a cache fill), sent as its bytes land.
    Growing {
        /// The file and its progress.
        source: Arc<Growing>,
        /// Where the body starts in the file.
        offset: u64,
    },
    /// Bytes passed on through a bounded window of memory (a file a cache
    /// will not keep, an upload on its way to the origin).
    Window {
        /// This body's place in the window.
        reader: WindowReader,
        /// Where the body starts.
        offset: u64,
    },
    /// Bytes read as they arrive (an object store's answer), `size` in all,
    /// copied to the socket on a thread of the blocking pool.
    Stream {
        /// The bytes.
        source: Stream,
        /// How many there are.
        size: u64,
    },
    /// An object elsewhere (an object store's), fetched from `offset` only
    /// when its bytes are sent: a RESUME reads just the rest.
    Remote {
        /// The object, one version of it.
        source: Arc<dyn Fetch>,
        /// Where the body starts in the object.
        offset: u64,
    },
}

/// A blocking source of bytes, read once, in order.
pub struct Stream(pub Box<dyn io::Read + Send>);

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

/// An object kept elsewhere, one version of it.
pub trait Fetch: std::fmt::Debug + Send + Sync + ferry_storage::ReadAt {
    /// Its size.
    fn size(&self) -> u64;
    /// Which version it is, for remembered prefix digests.
    fn version(&self) -> ferry_storage::FileId;
    /// Starts reading its bytes from `from` to the end. Blocks: run it on
    /// the blocking pool.
    fn fetch(&self, from: u64) -> io::Result<Stream>;
}

impl Body {
    /// The body source's full size (not counting the offset).
    pub fn size(&self) -> u64 {
        match self {
            Body::File { open, .. } => open.size,
            Body::Growing { source, .. } => source.size,
            Body::Window { reader, .. } => reader.window().size,
            Body::Stream { size, .. } => *size,
            Body::Remote { source, .. } => source.size(),
        }
    }

    /// Starts the body at `offset` instead (op 40 sends the rest of a file).
    pub fn starting_at(self, offset: u64) -> Body {
        match self {
            Body::File { open, .. } => Body::File { open, offset },
            Body::Growing { source, .. } => Body::Growing { source, offset },
            Body::Window { reader, .. } => Body::Window { reader, offset },
            Body::Remote { source, .. } => Body::Remote { source, offset },
            // Read once from where it stands: only ever sent whole.
            stream @ Body::Stream { .. } => stream,
        }
    }
}

/// How one role sends its bodies.
#[derive(Debug, Clone, Copy)]
pub struct Sending {
    /// Bodies at least this large are sent by a blocking-pool thread that
    /// loops `sendfile` and `poll` (the server's large downloads).
    pub blocking_from: Option<u64>,
    /// Largest single `sendfile` call of the asynchronous path.
    pub chunk: u64,
    /// Between chunks, offer the session what the peer has already sent:
    /// the client stops an upload the server refused early.
    pub watch_peer: bool,
    /// The operation timeout, for the waits the session no longer times:
    /// the blocking-pool sender without progress, the last answer's flush.
    pub idle: Duration,
}

/// Why [`drive`] stopped before the session closed.
#[derive(Debug)]
pub enum Stop<E> {
    /// The socket failed.
    Io(io::Error),
    /// The handler gave up.
    Handler(E),
}

/// Drives `session` over `conn` until it closes. Protocol trouble (a bad
/// message, a timeout) ends the session normally and is read from it;
/// only a failed socket or a handler's error stops the loop early.
pub async fn drive<S: Session, H: Handler<S>>(
    conn: &mut Conn,
    session: &mut S,
    handler: &mut H,
    clock: Clock,
    sending: Sending,
) -> Result<(), Stop<H::Error>> {
    let mut receiving = 0u64;
    let mut eof = false;
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                // Sent with the next body, or before the next wait.
                Output::Transmit(bytes) => conn.queue(&bytes),
                Output::SendBody { len } => {
                    Box::pin(send_body(conn, session, handler, len, clock, sending)).await?
                }
                Output::ReceiveBody { len } => {
                    receiving = len;
                    conn.grow_for_body();
                }
                // Boxed: the answers' state is large and short-lived, and
                // must not weigh on every idle connection.
                Output::Event(event) => {
                    Box::pin(handler.answer(session, event))
                        .await
                        .map_err(Stop::Handler)?;
                    // The answer's own time does not count against the peer.
                    session.handle_answered(clock.now());
                }
                Output::Close => {
                    // Bytes after the message that arrived with it: counted.
                    offer(conn, session, clock);
                    // The session no longer keeps time: the last answer (a
                    // listing, say) gets the operation timeout of its own.
                    let by = Instant::now() + sending.idle;
                    return match until(Some(by), conn.flush(false)).await {
                        Waited::Done(result) => result.map_err(Stop::Io),
                        Waited::Deadline => Err(Stop::Io(io::ErrorKind::TimedOut.into())),
                    };
                }
            }
        }
        if receiving > 0 {
            let pending = conn.pending();
            if !pending.is_empty() {
                let n = pending.len().min(receiving.min(usize::MAX as u64) as usize);
                handler.received(&pending[..n]).map_err(Stop::Handler)?;
                conn.consume(n);
                receiving -= n as u64;
                misuse(session.handle_body(clock.now(), n as u64));
                continue;
            }
            if !eof {
                // Read no more than the handler can pass on; the wait is
                // not the peer's, so its time does not count against it.
                handler.ready().await.map_err(Stop::Handler)?;
                session.handle_answered(clock.now());
            }
        } else if offer(conn, session, clock) > 0 {
            continue;
        }
        if eof {
            // Nothing more will come and the session still waits: give up.
            session.abort();
            continue;
        }
        match within(session, clock, conn.flush(false)).await {
            Some(result) => result.map_err(Stop::Io)?,
            None => continue,
        }
        if session.is_finished() {
            continue;
        }
        match within(session, clock, conn.fill()).await {
            Some(Ok(0)) => {
                eof = true;
                session.handle_eof(clock.now());
            }
            Some(Ok(_)) | None => {}
            Some(Err(e)) => return Err(Stop::Io(e)),
        }
    }
}

/// Offers the bytes read but not yet used to the session; returns how many
/// it took.
fn offer<S: Session>(conn: &mut Conn, session: &mut S, clock: Clock) -> usize {
    let pending = conn.pending();
    if pending.is_empty() {
        return 0;
    }
    let used = session
        .handle_input(clock.now(), pending)
        .unwrap_or(pending.len());
    conn.consume(used);
    used
}

/// Runs `op` until it finishes or the session's deadline passes; then tells
/// the session (`handle_timeout`) and returns `None`.
async fn within<S: Session, T>(
    session: &mut S,
    clock: Clock,
    op: impl Future<Output = T>,
) -> Option<T> {
    let deadline = session.poll_timeout().map(|t| clock.instant(t));
    match until(deadline, op).await {
        Waited::Done(value) => Some(value),
        Waited::Deadline => {
            session.handle_timeout(clock.now());
            None
        }
    }
}

/// Sends the body `SendBody` announced, `len` bytes from the handler's source.
async fn send_body<S: Session, H: Handler<S>>(
    conn: &mut Conn,
    session: &mut S,
    handler: &mut H,
    len: u64,
    clock: Clock,
    sending: Sending,
) -> Result<(), Stop<H::Error>> {
    let Some(mut body) = handler.body() else {
        session.abort();
        return Ok(());
    };
    if let Body::Remote { source, offset } = body {
        // Fetched now, from the offset: just the bytes to send.
        let size = source.size();
        match smol::unblock(move || source.fetch(offset)).await {
            Ok(source) => body = Body::Stream { source, size },
            Err(e) => {
                session.abort();
                let why = format!("the store failed: {e}");
                return handler.short_body(&why).map_err(Stop::Handler);
            }
        }
    }
    // The header leaves with the first bytes of the body.
    match within(session, clock, conn.flush(true)).await {
        Some(result) => result.map_err(Stop::Io)?,
        None => return Ok(()),
    }
    let body = match body {
        Body::File { open, offset } if sending.blocking_from.is_some_and(|from| len >= from) => {
            let source = Source::File(open.file, offset);
            return send_blocking(conn, session, handler, source, len, clock, sending).await;
        }
        Body::Stream { source, .. } => {
            let source = Source::Reader(source.0);
            return send_blocking(conn, session, handler, source, len, clock, sending).await;
        }
        other => other,
    };
    match body {
        Body::File { open, mut offset } => {
            let end = offset + len;
            send_range(
                conn,
                session,
                handler,
                &open.file,
                &mut offset,
                end,
                clock,
                sending,
            )
            .await
        }
        // Sent above, or turned into a stream.
        Body::Remote { .. } | Body::Stream { .. } => {
            session.abort();
            handler.short_body("internal").map_err(Stop::Handler)
        }
        Body::Window { reader, offset } => {
            send_window(conn, session, handler, reader, offset, len, clock, sending).await
        }
        Body::Growing { source, mut offset } => {
            let end = offset + len;
            while offset < end && !session.is_finished() {
                match within(session, clock, source.past(offset)).await {
                    None => return Ok(()),
                    Some(None) => {
                        // The writer gave up: end short, never as if whole.
                        session.abort();
                        let why = source.cut_reason();
                        return handler.short_body(&why).map_err(Stop::Handler);
                    }
                    Some(Some(written)) => {
                        let until = written.min(end);
                        send_range(
                            conn,
                            session,
                            handler,
                            &source.file,
                            &mut offset,
                            until,
                            clock,
                            sending,
                        )
                        .await?;
                    }
                }
            }
            Ok(())
        }
    }
}

/// Sends `len` bytes of `source` from a thread of the blocking pool
/// ([`Conn::send_blocking`]), then tells the session and the handler.
async fn send_blocking<S: Session, H: Handler<S>>(
    conn: &mut Conn,
    session: &mut S,
    handler: &mut H,
    source: Source,
    len: u64,
    clock: Clock,
    sending: Sending,
) -> Result<(), Stop<H::Error>> {
    let (sent, moved, failure) = conn.send_blocking(source, len, sending.idle).await;
    // Counted whatever happened (a cut transfer logs what it sent), as of
    // when the last byte left.
    handler.sent(sent);
    misuse(session.handle_body(clock.at(moved), sent));
    match failure {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => {
            // No progress for the whole timeout: the deadline has passed.
            session.handle_timeout(clock.now());
            return Ok(());
        }
        Some(e) => return Err(Stop::Io(e)),
        None => {}
    }
    if sent < len {
        session.abort();
        let why = format!("the source ended after {sent} of {len} bytes");
        handler.short_body(&why).map_err(Stop::Handler)?;
    }
    Ok(())
}

/// Sends `len` bytes of a window from `offset`, copied out as they come;
/// a reader the window detached goes on from its own fetch of the source.
#[allow(clippy::too_many_arguments)]
async fn send_window<S: Session, H: Handler<S>>(
    conn: &mut Conn,
    session: &mut S,
    handler: &mut H,
    reader: WindowReader,
    mut offset: u64,
    len: u64,
    clock: Clock,
    sending: Sending,
) -> Result<(), Stop<H::Error>> {
    let end = offset + len;
    let mut buf = vec![0u8; WINDOW_READ];
    while offset < end && !session.is_finished() {
        let want = (end - offset).min(buf.len() as u64) as usize;
        match within(session, clock, reader.read(offset, &mut buf[..want])).await {
            None => return Ok(()),
            Some(Read::Bytes(n)) => {
                conn.queue(&buf[..n]);
                match within(session, clock, conn.flush(false)).await {
                    None => return Ok(()),
                    Some(result) => result.map_err(Stop::Io)?,
                }
                offset += n as u64;
                handler.sent(n as u64);
                misuse(session.handle_body(clock.now(), n as u64));
            }
            Some(Read::Detached { from, md5 }) => {
                log::info!(
                    "a reader at byte {offset} fell behind a passing file's window: \
                     going on from its own fetch from byte {from}"
                );
                let window = reader.window().clone();
                drop(reader);
                let fetched = smol::unblock(move || match window.refetch() {
                    Some(refetch) => refetch.resume(from, md5, offset),
                    None => Err(io::Error::other("nothing else to fetch it from")),
                })
                .await;
                let stream = match fetched {
                    Ok(stream) => stream,
                    Err(e) => {
                        session.abort();
                        let why =
                            format!("fell behind, and the source could not be fetched again: {e}");
                        return handler.short_body(&why).map_err(Stop::Handler);
                    }
                };
                let source = Source::Reader(stream.0);
                return send_blocking(conn, session, handler, source, end - offset, clock, sending)
                    .await;
            }
            Some(Read::Cut(why)) => {
                session.abort();
                return handler.short_body(&why).map_err(Stop::Handler);
            }
        }
    }
    Ok(())
}

/// Sends `file` from `offset` up to `end` with `sendfile`, in chunks.
#[allow(clippy::too_many_arguments)]
async fn send_range<S: Session, H: Handler<S>>(
    conn: &mut Conn,
    session: &mut S,
    handler: &mut H,
    file: &std::fs::File,
    offset: &mut u64,
    end: u64,
    clock: Clock,
    sending: Sending,
) -> Result<(), Stop<H::Error>> {
    while *offset < end && !session.is_finished() {
        let chunk = (end - *offset).min(sending.chunk);
        match within(session, clock, conn.send_file(file, offset, chunk)).await {
            None => return Ok(()),
            Some(Ok(0)) => {
                // The file shrank under us: never send it short as if whole.
                session.abort();
                return handler
                    .short_body("the file shrank while being sent")
                    .map_err(Stop::Handler);
            }
            Some(Ok(n)) => {
                handler.sent(n as u64);
                misuse(session.handle_body(clock.now(), n as u64));
            }
            Some(Err(e)) if sending.watch_peer => {
                // The peer may have answered (refused) and closed: read it.
                read_early_answer(conn, session, clock).await;
                return if session.is_finished() {
                    Ok(())
                } else {
                    Err(Stop::Io(e))
                };
            }
            Some(Err(e)) => return Err(Stop::Io(e)),
        }
        // An early answer may already be here.
        if sending.watch_peer && *offset < end && matches!(conn.try_fill(), Ok(Some(_))) {
            offer(conn, session, clock);
        }
    }
    Ok(())
}

/// After a failed send, reads for a moment what the peer sent before it
/// closed (an early final status), so it is not lost to the error.
async fn read_early_answer<S: Session>(conn: &mut Conn, session: &mut S, clock: Clock) {
    let by = Instant::now() + Duration::from_secs(1);
    while !session.is_finished() {
        match until(Some(by), conn.fill()).await {
            Waited::Done(Ok(n)) if n > 0 => {
                offer(conn, session, clock);
            }
            _ => return,
        }
    }
}

/// The clock a session sees: microseconds since the connection began.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Clock(Instant::now())
    }

    /// The current time as a session timestamp.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.elapsed().as_micros() as u64)
    }

    /// The session timestamp of an instant (the start, if before it).
    pub fn at(&self, instant: Instant) -> Timestamp {
        Timestamp::from_micros(instant.saturating_duration_since(self.0).as_micros() as u64)
    }

    /// The instant a session timestamp stands for.
    pub fn instant(&self, at: Timestamp) -> Instant {
        self.0 + Duration::from_micros(at.as_micros())
    }
}

/// How a wait ended.
#[derive(Debug)]
pub enum Waited<T> {
    /// The operation finished.
    Done(T),
    /// The deadline passed first.
    Deadline,
}

/// Runs `op` until it finishes or `deadline` passes (never, if `None`).
pub async fn until<T>(deadline: Option<Instant>, op: impl Future<Output = T>) -> Waited<T> {
    let op = async { Waited::Done(op.await) };
    match deadline {
        None => op.await,
        Some(at) => {
            future::or(op, async {
                Timer::at(at).await;
                Waited::Deadline
            })
            .await
        }
    }
}

/// Reports a session call made out of order: a bug in this crate's drive
/// loops, never something a peer can cause (so it is logged, not fatal).
pub fn misuse(result: Result<(), ferry_core::ApiMisuse>) {
    if let Err(e) = result {
        log::error!("{e}");
        debug_assert!(false, "{e}");
    }
}
