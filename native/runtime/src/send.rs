//! How the drive loop sends a body: `sendfile` in chunks, a file still
//! being written as its bytes land, a window copied out as it fills, or a
//! blocking-pool thread for large files and streams.

use std::io;
use std::time::{Duration, Instant};

use ferry_core::Session;

use crate::body::Body;
use crate::clock::{Clock, Waited, until};
use crate::conn::{Conn, Source};
use crate::handler::{Handler, Sending, Stop, misuse};
use crate::step::{offer, within};
use crate::window::{Read, WindowReader};

/// Bytes a window's reader copies out per send.
const WINDOW_READ: usize = 64 * 1024;

/// One body being sent: the loop's connection, session and handler, lent
/// for the length of the body.
pub(crate) struct Sender<'a, S, H> {
    pub conn: &'a mut Conn,
    pub session: &'a mut S,
    pub handler: &'a mut H,
    pub clock: Clock,
    pub sending: Sending,
    /// Whether the body's first bytes have left.
    started: bool,
}

/// The most bytes of a body's first send from a file: a new answer's
/// first bytes leave soon, and its next sends take turns from the line
/// (`crate::turns`), so 200 answers started at once do not each send a
/// turn's worth before the last of them has sent anything.
const FIRST_SEND: u64 = 16 * 1024;

impl<'a, S: Session, H: Handler<S>> Sender<'a, S, H> {
    /// A sender of one body, none of it sent yet.
    pub(crate) fn new(
        conn: &'a mut Conn,
        session: &'a mut S,
        handler: &'a mut H,
        clock: Clock,
        sending: Sending,
    ) -> Self {
        Sender {
            conn,
            session,
            handler,
            clock,
            sending,
            started: false,
        }
    }

    /// Sends the body `SendBody` announced, `len` bytes from the handler's source.
    pub(crate) async fn body(&mut self, len: u64) -> Result<(), Stop<H::Error>> {
        let Some(mut body) = self.handler.body() else {
            self.session.abort();
            return Ok(());
        };
        if let Body::Remote { source, offset } = body {
            // Fetched now, from the offset: just the bytes to send.
            let size = source.size();
            match smol::unblock(move || source.fetch(offset)).await {
                Ok(source) => body = Body::Stream { source, size },
                Err(e) => {
                    self.session.abort();
                    let why = format!("the store failed: {e}");
                    return self.handler.short_body(&why).map_err(Stop::Handler);
                }
            }
        }
        // Bytes in memory leave with the header, in one write.
        if let Body::Bytes { bytes, offset } = body {
            return self.bytes(&bytes, offset, len).await;
        }
        // The header leaves with the first bytes of the body.
        match within(self.session, self.clock, self.conn.flush(true)).await {
            Some(result) => result.map_err(Stop::Io)?,
            None => return Ok(()),
        }
        let body = match body {
            Body::File { open, offset }
                if self.sending.blocking_from.is_some_and(|from| len >= from) =>
            {
                let source = Source::File(open.file, offset);
                return self.blocking(source, len).await;
            }
            Body::Stream { source, .. } => {
                let source = Source::Reader(source.0);
                return self.blocking(source, len).await;
            }
            other => other,
        };
        match body {
            Body::File { open, mut offset } => {
                let end = offset + len;
                self.range(&open.file, &mut offset, end).await
            }
            // Sent above, or turned into a stream.
            Body::Remote { .. } | Body::Stream { .. } | Body::Bytes { .. } => {
                self.session.abort();
                self.handler.short_body("internal").map_err(Stop::Handler)
            }
            Body::Window { reader, offset } => self.window(reader, offset, len).await,
            Body::Growing { source, mut offset } => {
                let (start, end) = (offset, offset + len);
                while offset < end && !self.session.is_finished() {
                    if offset > start {
                        // A writer's progress wakes every client it feeds
                        // at once: their next sends take turns from the
                        // line, behind new requests.
                        crate::turns::next_turn().await;
                    }
                    match within(self.session, self.clock, source.past(offset)).await {
                        None => return Ok(()),
                        Some(None) => {
                            // The writer gave up: end short, never as if whole.
                            self.session.abort();
                            let why = source.cut_reason();
                            return self.handler.short_body(&why).map_err(Stop::Handler);
                        }
                        Some(Some(written)) => {
                            let until = written.min(end);
                            self.range(&source.file, &mut offset, until).await?;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends `len` bytes of `source` from a thread of the blocking pool
    /// ([`Conn::send_blocking`]), then tells the session and the handler.
    async fn blocking(&mut self, source: Source, len: u64) -> Result<(), Stop<H::Error>> {
        let out = self
            .conn
            .send_blocking(source, len, self.sending.idle)
            .await;
        let sent = out.bytes;
        // Counted whatever happened (a cut transfer logs what it sent), as of
        // when the last byte left.
        self.handler.sent(sent);
        misuse(self.session.handle_body(self.clock.at(out.moved), sent));
        match out.failure {
            Some(e) if e.kind() == io::ErrorKind::TimedOut => {
                // No progress for the whole timeout: the deadline has passed.
                self.session.handle_timeout(self.clock.now());
                return Ok(());
            }
            Some(e) => return Err(Stop::Io(e)),
            None => {}
        }
        if sent < len {
            self.session.abort();
            let mut why = format!("the source ended after {sent} of {len} bytes");
            if let Some(e) = out.source_failed {
                why = format!("{why}: {e}");
            }
            self.handler.short_body(&why).map_err(Stop::Handler)?;
        }
        Ok(())
    }

    /// Sends `len` bytes of a window from `offset`, copied out as they come;
    /// a reader the window detached goes on from its own fetch of the source.
    async fn window(
        &mut self,
        reader: WindowReader,
        mut offset: u64,
        len: u64,
    ) -> Result<(), Stop<H::Error>> {
        let end = offset + len;
        let mut buf = vec![0u8; WINDOW_READ];
        while offset < end && !self.session.is_finished() {
            let want = (end - offset).min(buf.len() as u64) as usize;
            match within(
                self.session,
                self.clock,
                reader.read(offset, &mut buf[..want]),
            )
            .await
            {
                None => return Ok(()),
                Some(Read::Bytes(n)) => {
                    self.conn.queue(&buf[..n]);
                    match within(self.session, self.clock, self.conn.flush(false)).await {
                        None => return Ok(()),
                        Some(result) => result.map_err(Stop::Io)?,
                    }
                    offset += n as u64;
                    self.handler.sent(n as u64);
                    misuse(self.session.handle_body(self.clock.now(), n as u64));
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
                            self.session.abort();
                            let why = format!(
                                "fell behind, and the source could not be fetched again: {e}"
                            );
                            return self.handler.short_body(&why).map_err(Stop::Handler);
                        }
                    };
                    let source = Source::Reader(stream.0);
                    return self.blocking(source, end - offset).await;
                }
                Some(Read::Cut(why)) => {
                    self.session.abort();
                    return self.handler.short_body(&why).map_err(Stop::Handler);
                }
            }
        }
        Ok(())
    }

    /// Sends `len` bytes held in memory from `offset`, with the header
    /// still queued: what there is of them, the body ending short (never
    /// padded) if fewer are there.
    async fn bytes(&mut self, bytes: &[u8], offset: u64, len: u64) -> Result<(), Stop<H::Error>> {
        let from = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let to = usize::try_from(offset.saturating_add(len))
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        self.conn.queue(&bytes[from..to]);
        match within(self.session, self.clock, self.conn.flush(false)).await {
            None => return Ok(()),
            Some(result) => result.map_err(Stop::Io)?,
        }
        let sent = (to - from) as u64;
        self.handler.sent(sent);
        misuse(self.session.handle_body(self.clock.now(), sent));
        if sent < len {
            self.session.abort();
            let why = format!("only {sent} of {len} bytes were there");
            self.handler.short_body(&why).map_err(Stop::Handler)?;
        }
        Ok(())
    }

    /// Sends `file` from `offset` up to `end` with `sendfile`, in chunks.
    async fn range(
        &mut self,
        file: &std::fs::File,
        offset: &mut u64,
        end: u64,
    ) -> Result<(), Stop<H::Error>> {
        while *offset < end && !self.session.is_finished() {
            let most = if self.started {
                self.sending.chunk
            } else {
                FIRST_SEND.min(self.sending.chunk)
            };
            let chunk = (end - *offset).min(most);
            match within(
                self.session,
                self.clock,
                self.conn.send_file(file, offset, chunk),
            )
            .await
            {
                None => return Ok(()),
                Some(Ok(0)) => {
                    // The file shrank under us: never send it short as if whole.
                    self.session.abort();
                    return self
                        .handler
                        .short_body("the file shrank while being sent")
                        .map_err(Stop::Handler);
                }
                Some(Ok(n)) => {
                    self.handler.sent(n as u64);
                    misuse(self.session.handle_body(self.clock.now(), n as u64));
                    if !self.started {
                        // The first bytes are out: the rest takes turns.
                        self.started = true;
                        if *offset < end {
                            crate::turns::next_turn().await;
                        }
                    }
                }
                Some(Err(e)) if self.sending.watch_peer => {
                    // The peer may have answered (refused) and closed: read it.
                    self.read_early_answer().await;
                    return if self.session.is_finished() {
                        Ok(())
                    } else {
                        Err(Stop::Io(e))
                    };
                }
                Some(Err(e)) => return Err(Stop::Io(e)),
            }
            // An early answer may already be here.
            if self.sending.watch_peer
                && *offset < end
                && matches!(self.conn.try_fill(), Ok(Some(_)))
            {
                offer(self.conn, self.session, self.clock);
            }
        }
        Ok(())
    }

    /// After a failed send, reads for a moment what the peer sent before it
    /// closed (an early final status), so it is not lost to the error.
    async fn read_early_answer(&mut self) {
        let by = Instant::now() + Duration::from_secs(1);
        while !self.session.is_finished() {
            match until(Some(by), self.conn.fill()).await {
                Waited::Done(Ok(n)) if n > 0 => {
                    offer(self.conn, self.session, self.clock);
                }
                _ => return,
            }
        }
    }
}
