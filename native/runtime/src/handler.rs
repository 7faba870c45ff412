//! What a role plugs into the drive loop: the [`Handler`] of its session's
//! events and bodies, how it sends bodies ([`Sending`]), and how the loop
//! ends ([`Ended`], [`Stop`]).

use std::io;
use std::time::Duration;

use ferry_core::Session;

use crate::body::Body;

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

    /// Payload bytes received for `ReceiveBody`, in order (required, so
    /// that no role drops a body by forgetting it).
    fn received(&mut self, data: &[u8]) -> Result<(), Self::Error>;

    /// Whether the last answer handed the connection over to something
    /// else: the loop then returns [`Ended::HandedOver`] at once, leaving
    /// the bytes read but not yet used in the connection (a cache passes a
    /// login on to its origin as it stands).
    fn handing_over(&self) -> bool {
        false
    }

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

/// How [`drive`](crate::drive()) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Ended {
    /// The session closed: its outcome is read from it.
    Closed,
    /// The handler took the connection over mid-session
    /// ([`Handler::handing_over`]).
    HandedOver,
}

/// Why [`drive`](crate::drive()) stopped before the session closed.
#[derive(Debug)]
pub enum Stop<E> {
    /// The socket failed.
    Io(io::Error),
    /// The handler gave up.
    Handler(E),
}

/// Reports a session call made out of order: a bug in this crate's drive
/// loops, never something a peer can cause (so it is logged, not fatal).
pub fn misuse(result: Result<(), ferry_core::ApiMisuse>) {
    if let Err(e) = result {
        log::error!("{e}");
        debug_assert!(false, "{e}");
    }
}
