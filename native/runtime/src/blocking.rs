//! The blocking sender of large bodies: a thread of the blocking pool that
//! loops `sendfile` (or `splice`s from another socket, reads and `send`s,
//! or encrypts and writes) on the non-blocking socket and `poll(2)`s, as an
//! event loop of its own would.

use std::io::{self, Read};
use std::net::TcpStream;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use crate::stream::Reader;
use crate::tls::{TLS_CHUNK, Tls};

/// Largest single `sendfile` call.
pub(crate) const SENDFILE_CHUNK: usize = 1 << 30;
/// Bytes read from a stream per `send`.
const COPY_BUF: usize = 256 * 1024;
/// Bytes a pipe between two sockets is asked to hold: spliced per call.
/// Each pipe counts in its user's budget (`pipe-user-pages-soft`, 64 MiB
/// by default) for as long as it is open.
const PIPE_SIZE: usize = 256 * 1024;
/// A smaller pipe (a budget used up: the kernel then gives 8 KiB) is not
/// used: reads and sends of [`COPY_BUF`] move more per call.
const PIPE_MIN: usize = 64 * 1024;

/// What [`Conn::send_blocking`](crate::conn::Conn::send_blocking) sends from.
pub enum Source {
    /// A file, from an offset (with `sendfile`).
    File(std::fs::File, u64),
    /// Bytes read as they arrive (or spliced, from a socket of the source's
    /// own).
    Reader(Box<dyn Reader>),
}

/// A blocking sender's progress on a non-blocking socket.
pub(crate) struct Progress {
    pub(crate) sent: u64,
    /// When the last byte left.
    pub(crate) moved: Instant,
    /// How long the socket may accept nothing.
    pub(crate) idle: Duration,
    /// Why the source stopped early, if it failed (the body then ends
    /// short; the connection goes on).
    pub(crate) source_failed: Option<io::Error>,
}

/// What a blocking send came to.
#[derive(Debug)]
pub struct Sent {
    /// Bytes sent: fewer than asked if the source ended early or the
    /// socket failed.
    pub bytes: u64,
    /// When the last of them left.
    pub moved: Instant,
    /// What stopped the send on the socket's side, if anything did.
    pub failure: Option<io::Error>,
    /// Why the source ended early, if it failed.
    pub source_failed: Option<io::Error>,
}

impl Progress {
    /// Nothing sent yet; `idle`: how long the socket may accept nothing.
    pub(crate) fn new(idle: Duration) -> Self {
        Progress {
            sent: 0,
            moved: Instant::now(),
            idle,
            source_failed: None,
        }
    }

    /// What the send came to, stopped by `failure` if it was.
    pub(crate) fn end(self, failure: Option<io::Error>) -> Sent {
        Sent {
            bytes: self.sent,
            moved: self.moved,
            failure,
            source_failed: self.source_failed,
        }
    }

    /// Waits until the socket takes bytes again, within the idle timeout
    /// counted from the last byte that left.
    fn wait_writable(&self, socket: &TcpStream) -> io::Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let wait = self.idle.saturating_sub(self.moved.elapsed());
        if wait.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let mut fds = [PollFd::new(socket, PollFlags::OUT)];
        let timeout = Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: wait.subsec_nanos() as i64,
        };
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends `len` bytes of `file` from `offset` with `sendfile`.
    pub(crate) fn sendfile(
        &mut self,
        socket: &TcpStream,
        file: &std::fs::File,
        mut offset: u64,
        len: u64,
    ) -> io::Result<()> {
        while self.sent < len {
            let count = (len - self.sent).min(SENDFILE_CHUNK as u64) as usize;
            let sent = self.push(socket, || {
                rustix::fs::sendfile(socket, file, Some(&mut offset), count)
            })?;
            if sent == 0 {
                break;
            }
        }
        Ok(())
    }

    /// One write to the non-blocking `socket`, made by `write`: waits while
    /// the socket is full, and counts what left. `Ok(0)`: nothing did.
    fn push(
        &mut self,
        socket: &TcpStream,
        mut write: impl FnMut() -> rustix::io::Result<usize>,
    ) -> io::Result<usize> {
        loop {
            match write() {
                Ok(n) => {
                    self.sent += n as u64;
                    if n > 0 {
                        self.moved = Instant::now();
                    }
                    return Ok(n);
                }
                Err(rustix::io::Errno::AGAIN) => self.wait_writable(socket)?,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends `len` bytes of `reader` as they come: moved from its socket to
    /// this one through a pipe, inside the kernel, while it can; else read
    /// here and sent.
    pub(crate) fn copy(
        &mut self,
        socket: &TcpStream,
        reader: &mut dyn Reader,
        len: u64,
    ) -> io::Result<()> {
        // Only for a source that can splice: a pipe costs its size in the
        // user's pipe budget from the start.
        let pipe = reader.splices().then(Pipe::new).flatten();
        let mut buf = Vec::new();
        while self.sent < len {
            let left = len - self.sent;
            if let Some(pipe) = &pipe {
                let want = left.min(pipe.size as u64) as usize;
                let moved = reader.splice_into(pipe.write.as_fd(), want);
                match moved {
                    Some(Ok(0)) => break,
                    Some(Ok(n)) => {
                        self.drain(socket, pipe, n)?;
                        continue;
                    }
                    Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // The source failing ends the body short, not the connection.
                    Some(Err(e)) => {
                        self.source_failed = Some(e);
                        break;
                    }
                    None => {}
                }
            }
            buf.resize(COPY_BUF, 0);
            let want = left.min(COPY_BUF as u64) as usize;
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The source failing ends the body short, not the connection.
                Err(e) => {
                    self.source_failed = Some(e);
                    break;
                }
            };
            let mut at = 0;
            while at < n {
                let flags = rustix::net::SendFlags::NOSIGNAL;
                match self.push(socket, || rustix::net::send(socket, &buf[at..n], flags))? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    k => at += k,
                }
            }
        }
        Ok(())
    }

    /// Moves the `n` bytes in `pipe` to `socket`.
    fn drain(&mut self, socket: &TcpStream, pipe: &Pipe, n: usize) -> io::Result<()> {
        use rustix::pipe::{SpliceFlags, splice};
        let flags = SpliceFlags::MOVE | SpliceFlags::MORE | SpliceFlags::NONBLOCK;
        let mut left = n;
        while left > 0 {
            match self.push(socket, || {
                splice(&pipe.read, None, socket, None, left, flags)
            })? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                k => left -= k,
            }
        }
        Ok(())
    }
}

/// A pipe that bytes pass through from one socket to another.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// What it holds at most.
    size: usize,
}

impl Pipe {
    /// A pipe of [`PIPE_SIZE`] (`None` if the system will not make one at
    /// least [`PIPE_MIN`] large: the bytes are then read and sent).
    fn new() -> Option<Pipe> {
        use rustix::pipe::{PipeFlags, fcntl_getpipe_size, fcntl_setpipe_size, pipe_with};
        let (read, write) = pipe_with(PipeFlags::CLOEXEC).ok()?;
        let _ = fcntl_setpipe_size(&write, PIPE_SIZE);
        let size = fcntl_getpipe_size(&write).ok()?;
        (size >= PIPE_MIN).then_some(Pipe { read, write, size })
    }
}

impl Progress {
    /// Sends `len` bytes of `source` through `tls`: read in chunks, each
    /// encrypted into full records and written out before the next.
    pub(crate) fn encrypt(
        &mut self,
        socket: &TcpStream,
        tls: &mut Tls,
        source: &mut Source,
        len: u64,
    ) -> io::Result<()> {
        let mut done = 0u64;
        while done < len {
            let want = (len - done).min(TLS_CHUNK as u64) as usize;
            tls.scratch.resize(want, 0);
            let n = match source {
                Source::File(file, offset) => file.read_at(&mut tls.scratch, *offset + done)?,
                Source::Reader(reader) => match reader.read(&mut tls.scratch) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // The source failing ends the body short, not the connection.
                    Err(e) => {
                        self.source_failed = Some(e);
                        0
                    }
                },
            };
            if n == 0 {
                break;
            }
            let Tls { session, scratch } = tls;
            std::io::Write::write_all(&mut session.writer(), &scratch[..n])?;
            // Every write that moves bytes restarts the idle timeout, as
            // on the plain path: a slow reader is not cut while it reads.
            while session.wants_write() {
                let mut out = socket;
                match session.write_tls(&mut out) {
                    Ok(_) => self.moved = Instant::now(),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.wait_writable(socket)?
                    }
                    Err(e) => return Err(e),
                }
            }
            done += n as u64;
            self.sent = done;
            self.moved = Instant::now();
        }
        Ok(())
    }
}
