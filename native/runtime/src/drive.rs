//! The one drive loop: moves a session's bytes over a TCP connection,
//! whichever its role, and hands its events and bodies to a [`Handler`].
//!
//! Sessions decide; this module only moves bytes. [`drive`] drains the
//! session's outputs in order, answers events through the handler, has
//! bodies sent (`crate::send`) and receives them into the handler, and
//! races every wait against the session's deadline (computed in one place,
//! [`within`]). A [`Conn`] owns the socket and the buffers. The server,
//! the client and both sides of a cache use this loop.

use std::io;
use std::time::Instant;

use ferry_core::{Output, Session};

use crate::clock::{Clock, Waited, until};
use crate::conn::Conn;
use crate::handler::{Ended, Handler, Sending, Stop, misuse};
use crate::send::Sender;
use crate::step::{offer, within};

/// Drives `session` over `conn` until it closes. Protocol trouble (a bad
/// message, a timeout) ends the session normally and is read from it;
/// only a failed socket or a handler's error stops the loop early, and a
/// handler taking the connection over ends it at once.
pub async fn drive<S: Session, H: Handler<S>>(
    conn: &mut Conn,
    session: &mut S,
    handler: &mut H,
    clock: Clock,
    sending: Sending,
) -> Result<Ended, Stop<H::Error>> {
    let mut receiving = 0u64;
    let mut eof = false;
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                // Sent with the next body, or before the next wait.
                Output::Transmit(bytes) => conn.queue(&bytes),
                Output::SendBody { len } => {
                    let mut sender = Sender::new(conn, session, handler, clock, sending);
                    Box::pin(sender.body(len)).await?
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
                    if handler.handing_over() {
                        return Ok(Ended::HandedOver);
                    }
                    // The answer's own time does not count against the peer.
                    session.handle_answered(clock.now());
                }
                Output::Close => {
                    // Bytes after the message that arrived with it: counted.
                    offer(conn, session, clock);
                    // The session no longer keeps time: the last answer (a
                    // listing, say) gets the operation timeout of its own.
                    let by = Instant::now() + sending.idle;
                    // With nothing of its own left to say, a peer gone after
                    // its final answer is the end, not a failure: over TLS
                    // the flush may still hold records of a body the peer
                    // refused (plain TCP has nothing left to write).
                    let quiet = !conn.has_output();
                    return match until(Some(by), conn.flush(false)).await {
                        Waited::Done(Err(e)) if quiet && gone(&e) => Ok(Ended::Closed),
                        Waited::Done(result) => result.map(|()| Ended::Closed).map_err(Stop::Io),
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

/// The peer closed its end (a broken pipe, a reset).
fn gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}
