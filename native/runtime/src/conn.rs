//! One TCP connection's bytes: a read buffer allocated only when data first
//! arrives (so an idle connection costs no buffer), queued writes that leave
//! with the next body, `sendfile` for bodies, and a polite close.
//!
//! The socket joins the reactor ([`Socket`]) only when an operation would
//! block: a request that has already arrived and an answer that fits the
//! socket buffer cost no `epoll_ctl` at all.
//!
//! A connection may speak TLS ([`Conn::tls_server`], [`Conn::tls_client`]):
//! the same calls then move plaintext, and the ciphertext goes through
//! rustls (`crate::tls`).

use std::io;
use std::net::{Shutdown, TcpStream};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blocking::Progress;
pub use crate::blocking::{Sent, Source};
use crate::clock::{Waited, until};
use crate::socket::Registration;
pub use crate::socket::Socket;
use crate::tls::{TLS_CHUNK, Tls};

/// Read buffer size once a connection has sent data: requests are small.
const READ_BUF: usize = 4 * 1024;
/// Read buffer size while a body streams in.
const BODY_BUF: usize = 256 * 1024;

/// One TCP connection, the bytes read but not yet used, and the bytes to
/// send that have not been written yet.
#[derive(Debug)]
pub struct Conn {
    io: Socket,
    /// TLS around the bytes, if the connection speaks it (boxed: a plain
    /// connection stays small).
    tls: Option<Box<Tls>>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    /// Bytes of `out` already written (a flush cut short by a deadline
    /// resumes from here instead of sending them again).
    out_sent: usize,
    /// Most bytes one read takes (a paced client reads little and often).
    read_cap: usize,
    /// Socket calls since this connection last let its thread's other
    /// tasks run.
    calls: u32,
    /// Bytes it sent since then (plaintext, over TLS).
    sent: usize,
}

/// Socket calls a connection makes before it yields to the other
/// connections on its thread: a socket that is always ready never makes a
/// call wait, so without this one fast stream would starve the rest.
const CALLS_PER_TURN: u32 = 16;

/// Bytes a connection sends before it yields, and the most one `sendfile`
/// call sends: a loopback socket takes megabytes per call, so a turn
/// counted in calls alone let one bulk send hold its thread for tens of
/// milliseconds while new requests waited for their first byte (200
/// clients joining one cache fill: the last first byte 300 to 1,900 ms
/// after the first).
const BYTES_PER_TURN: usize = 128 * 1024;

impl Conn {
    /// Wraps an accepted or connected socket.
    pub fn new(io: Socket) -> Self {
        Conn {
            io,
            tls: None,
            buf: Vec::new(),
            start: 0,
            end: 0,
            out: Vec::new(),
            out_sent: 0,
            read_cap: usize::MAX,
            calls: 0,
            sent: 0,
        }
    }

    /// Wraps an accepted socket that speaks TLS with `config`; the
    /// handshake runs as the first bytes are read and written.
    pub fn tls_server(io: Socket, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let mut conn = Conn::new(io);
        conn.tls = Some(Tls::server(config)?);
        Ok(conn)
    }

    /// Wraps a connected socket that speaks TLS to the server `name`.
    pub fn tls_client(
        io: Socket,
        config: Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> io::Result<Self> {
        let mut conn = Conn::new(io);
        conn.tls = Some(Tls::client(config, name)?);
        Ok(conn)
    }

    /// Whether the connection speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Reads at most `bytes` at a time: a client that paces what it takes
    /// (`--limit-rate`) then reads often enough for the peer to see
    /// progress, instead of a large read followed by a long pause.
    pub fn cap_reads(&mut self, bytes: usize) {
        self.read_cap = bytes.max(1);
    }

    /// Makes `bytes` (read elsewhere) the first pending bytes; over TLS,
    /// the first ciphertext (a TLS error in it is met at the next read).
    pub fn put_back(&mut self, bytes: &[u8]) {
        if let Some(tls) = &mut self.tls {
            // Only buffered here: rustls takes a first flight whole.
            let _ = tls.put_back(bytes);
            return;
        }
        if !bytes.is_empty() {
            self.buf = vec![0; READ_BUF.max(bytes.len())];
            self.buf[..bytes.len()].copy_from_slice(bytes);
            self.start = 0;
            self.end = bytes.len();
        }
    }

    /// Queues bytes to send; they leave with the next body (in the same
    /// segment where possible) or at [`Conn::flush`].
    pub fn queue(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Writes the queued bytes. With `more`, tells the kernel more data
    /// follows at once (`MSG_MORE`), so a header and the start of its body
    /// share a segment instead of leaving as two packets.
    pub async fn flush(&mut self, more: bool) -> io::Result<()> {
        if let Some(tls) = &mut self.tls {
            tls.write_plain(&self.out[self.out_sent..])?;
            self.out.clear();
            self.out_sent = 0;
            // Written at once even before a body (`more`): a body that is
            // slow to come (a fill still on its way) must not hold back
            // the header it follows.
            let _ = more;
            return self.write_tls().await;
        }
        let flags = if more {
            rustix::net::SendFlags::MORE
        } else {
            rustix::net::SendFlags::empty()
        };
        while self.out_sent < self.out.len() {
            self.take_turn().await;
            let rest = &self.out[self.out_sent..];
            let n = self
                .io
                .write_with(|s| rustix::net::send(s, rest, flags).map_err(io::Error::from))
                .await?;
            self.out_sent += n;
            self.sent += n;
        }
        self.out.clear();
        self.out_sent = 0;
        Ok(())
    }

    /// Writes the ciphertext rustls holds (records, a handshake flight, an
    /// alert), waiting for the socket as needed.
    async fn write_tls(&mut self) -> io::Result<()> {
        if self.tls.is_none() {
            return Ok(());
        }
        loop {
            self.take_turn().await;
            let Some(tls) = &mut self.tls else {
                return Ok(());
            };
            if tls.write_now(self.io.get_ref()?)? {
                return Ok(());
            }
            self.io.reactor()?.writable().await?;
        }
    }

    /// Counts a socket call, and every [`CALLS_PER_TURN`] calls or
    /// [`BYTES_PER_TURN`] bytes sent lets the other tasks of this thread run.
    async fn take_turn(&mut self) {
        self.calls += 1;
        if self.calls >= CALLS_PER_TURN || self.sent >= BYTES_PER_TURN {
            self.calls = 0;
            self.sent = 0;
            crate::turns::next_turn().await;
        }
    }

    /// Makes room to receive a large body in big reads.
    pub fn grow_for_body(&mut self) {
        if self.buf.len() < BODY_BUF {
            self.buf.resize(BODY_BUF, 0);
        }
    }

    /// Bytes read but not yet used.
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` pending bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Sets a connection aside for later (one kept open between
    /// requests): gives back its read buffer if nothing is pending, so it
    /// costs none until bytes arrive again, and its next use starts a
    /// fresh turn.
    pub fn set_aside(&mut self) {
        if self.start == self.end {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
        self.calls = 0;
        self.sent = 0;
    }

    /// Whether bytes queued by [`Conn::queue`] are still to be written.
    pub fn has_output(&self) -> bool {
        self.out_sent < self.out.len()
    }

    /// Reads more bytes; `Ok(0)` is the end of the stream. Waits for the
    /// socket to be readable before allocating the buffer.
    pub async fn fill(&mut self) -> io::Result<usize> {
        if self.tls.is_some() {
            return self.fill_tls().await;
        }
        if self.buf.is_empty() {
            // Usually the request is already there: try at once.
            let mut buf = vec![0; READ_BUF];
            match std::io::Read::read(&mut self.io.get_ref()?, &mut buf) {
                Ok(n) => {
                    self.buf = buf;
                    self.end = n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Idle: wait without holding a buffer.
                    drop(buf);
                    self.io.readable()?.await?;
                    self.buf = vec![0; READ_BUF];
                }
                Err(e) => return Err(e),
            }
        }
        let room = self.make_room();
        self.take_turn().await;
        let buf = &mut self.buf[self.end..self.end + room];
        let n = self
            .io
            .read_with(|mut s| std::io::Read::read(&mut s, buf))
            .await?;
        self.end += n;
        Ok(n)
    }

    /// Room at the end of the buffer for the next read (at most the read
    /// cap), made by moving the pending bytes down or growing it.
    fn make_room(&mut self) -> usize {
        if self.end == self.buf.len() {
            if self.start == 0 {
                // Never let a full buffer turn a read into a false "end of stream".
                self.buf.resize(self.buf.len() * 2, 0);
            } else {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
        }
        (self.buf.len() - self.end).min(self.read_cap)
    }

    /// [`Conn::fill`] over TLS: plaintext already decrypted, or else the
    /// next ciphertext from the socket (answering the handshake first).
    async fn fill_tls(&mut self) -> io::Result<usize> {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BUF];
        }
        loop {
            let room = self.make_room();
            let Some(tls) = &mut self.tls else {
                return Err(io::Error::other("not a TLS connection"));
            };
            if let Some(n) = tls.read_plain(&mut self.buf[self.end..self.end + room])? {
                self.end += n;
                return Ok(n);
            }
            // A handshake flight or an alert leaves before more is read. A
            // peer that stopped reading may still have answered (an early
            // refusal of an upload): its bytes are read all the same.
            if let Err(e) = self.write_tls().await
                && !matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                )
            {
                return Err(e);
            }
            self.take_turn().await;
            let Some(tls) = &mut self.tls else {
                return Err(io::Error::other("not a TLS connection"));
            };
            let got = self
                .io
                .read_with(|mut s| tls.session.read_tls(&mut s))
                .await?;
            let processed = tls.process();
            if processed.is_err() {
                // The alert that says why, if the socket takes it.
                let _ = self.write_tls().await;
            }
            processed?;
            if got == 0 {
                // The peer closed: what it sent before is still read, then
                // the end of the stream.
                let room = self.make_room();
                let Some(tls) = &mut self.tls else {
                    return Ok(0);
                };
                let n = tls.read_plain(&mut self.buf[self.end..self.end + room])?;
                let n = n.unwrap_or(0);
                self.end += n;
                return Ok(n);
            }
        }
    }

    /// Reads whatever has already arrived, without waiting: `Ok(None)` if
    /// nothing has, `Ok(Some(0))` at the end of the stream.
    pub fn try_fill(&mut self) -> io::Result<Option<usize>> {
        if self.buf.is_empty() {
            self.buf = vec![0; READ_BUF];
        }
        if self.end == self.buf.len() {
            return Ok(Some(self.end - self.start));
        }
        if let Some(tls) = &mut self.tls {
            let mut socket = self.io.get_ref()?;
            match tls.session.read_tls(&mut socket) {
                Ok(_) => tls.process()?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let got = tls.read_plain(&mut self.buf[self.end..])?;
            self.end += got.unwrap_or(0);
            return Ok(got);
        }
        match std::io::Read::read(&mut self.io.get_ref()?, &mut self.buf[self.end..]) {
            Ok(n) => {
                self.end += n;
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends up to `len` bytes of `file` from `*offset` with `sendfile`,
    /// advancing the offset; returns the count (0 means the file ended).
    pub async fn send_file(
        &mut self,
        file: &std::fs::File,
        offset: &mut u64,
        len: u64,
    ) -> io::Result<usize> {
        if self.tls.is_some() {
            return self.send_file_tls(file, offset, len).await;
        }
        let count = len.min(BYTES_PER_TURN as u64) as usize;
        self.take_turn().await;
        let n = self
            .io
            .write_with(|socket| {
                rustix::fs::sendfile(socket, file, Some(offset), count).map_err(io::Error::from)
            })
            .await?;
        self.sent += n;
        Ok(n)
    }

    /// [`Conn::send_file`] over TLS: a chunk of the file read into full
    /// records, written before the next.
    async fn send_file_tls(
        &mut self,
        file: &std::fs::File,
        offset: &mut u64,
        len: u64,
    ) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return Err(io::Error::other("not a TLS connection"));
        };
        let count = len.min(TLS_CHUNK as u64) as usize;
        tls.scratch.resize(count, 0);
        let n = file.read_at(&mut tls.scratch[..count], *offset)?;
        if n > 0 {
            let Tls { session, scratch } = &mut **tls;
            std::io::Write::write_all(&mut session.writer(), &scratch[..n])?;
            *offset += n as u64;
            self.sent += n;
            self.write_tls().await?;
        }
        Ok(n)
    }

    /// Sends `len` bytes of `source` on a blocking-pool thread that loops
    /// `sendfile` (a file) or reads and `send`s (a stream) and `poll(2)`s,
    /// as an event loop of its own would: for large bodies this avoids a
    /// wakeup through the reactor and the executor every time the socket
    /// buffer fills. Gives up after `idle` without progress. The count it
    /// returns is right even for a transfer cut short.
    pub async fn send_blocking(&mut self, mut source: Source, len: u64, idle: Duration) -> Sent {
        // The thread gets its own descriptor for the same socket.
        let stream = match self.io.get_ref().and_then(|s| s.try_clone()) {
            Ok(stream) => stream,
            Err(e) => return Progress::new(idle).end(Some(e)),
        };
        if let Some(mut tls) = self.tls.take() {
            // The TLS state goes to the thread and comes back with it.
            let (tls, sent) = smol::unblock(move || {
                let mut out = Progress::new(idle);
                let failure = out.encrypt(&stream, &mut tls, &mut source, len).err();
                (tls, out.end(failure))
            })
            .await;
            self.tls = Some(tls);
            return sent;
        }
        smol::unblock(move || {
            let socket = &stream;
            // Full segments only while a large body streams (nginx's
            // tcp_nopush): Nagle on and the socket corked. Uncorking and
            // restoring NODELAY below push the last partial segment.
            let _ = rustix::net::sockopt::set_tcp_nodelay(socket, false);
            let _ = rustix::net::sockopt::set_tcp_cork(socket, true);
            let mut out = Progress::new(idle);
            let failure = match &mut source {
                Source::File(file, offset) => out.sendfile(socket, file, *offset, len),
                Source::Reader(reader) => out.copy(socket, reader.as_mut(), len),
            }
            .err();
            let _ = rustix::net::sockopt::set_tcp_cork(socket, false);
            let _ = rustix::net::sockopt::set_tcp_nodelay(socket, true);
            out.end(failure)
        })
        .await
    }

    /// Gives up the socket (out of the reactor) and the bytes read but not
    /// yet used, to hand the connection over as it stands.
    pub fn into_parts(mut self) -> io::Result<(TcpStream, Vec<u8>)> {
        if self.tls.is_some() {
            return Err(io::Error::other(
                "a TLS connection cannot be handed over as plain TCP",
            ));
        }
        let pending = self.pending().to_vec();
        let stream = match std::mem::replace(&mut self.io.0, Registration::Lost) {
            Registration::Plain(stream) => stream,
            Registration::Registered(io) => io.into_inner()?,
            Registration::Lost => return Err(io::Error::other("the socket was lost")),
        };
        Ok((stream, pending))
    }

    /// Ends TLS with a close_notify alert, so the peer can tell the end of
    /// the answer from a cut (waiting at most `within` for the socket);
    /// nothing over plain TCP.
    pub async fn close_notify(&mut self, within: Duration) {
        if let Some(tls) = &mut self.tls {
            tls.session.send_close_notify();
            let _ = until(Some(Instant::now() + within), self.write_tls()).await;
        }
    }

    /// Closes politely: stops writing (the peer sees the end of the
    /// response), then reads and drops what the peer still sends for up to
    /// `linger`, so unread request bytes do not turn the close into a reset
    /// that could destroy the response in flight. Returns how many bytes
    /// were dropped that way.
    pub async fn close(mut self, linger: Duration) -> usize {
        self.close_notify(linger).await;
        if let Ok(stream) = self.io.get_ref() {
            let _ = stream.shutdown(Shutdown::Write);
        }
        let deadline = Instant::now() + linger;
        let mut drained = 0usize;
        while drained < 1 << 20 {
            self.start = 0;
            self.end = 0;
            match until(Some(deadline), self.fill()).await {
                Waited::Done(Ok(n)) if n > 0 => drained += n,
                _ => break,
            }
        }
        drained
    }
}
