//! One loop that feeds a session in memory, for tests and fuzz targets
//! (enabled by the `testing` feature): the same contract every frontend
//! follows, as the native drive loop and the crate example do. Drain
//! outputs in order, answer events through an [`App`], move bodies outside
//! the session and report them, offer bytes and keep what the session did
//! not take.

use std::collections::VecDeque;

use crate::{Output, Session, SessionError, Timestamp};

/// What one side did, for comparing runs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Every byte written to the peer, bodies included.
    pub sent: Vec<u8>,
    /// Events and lifecycle marks, in order.
    pub log: Vec<String>,
    /// Bodies received, one per ReceiveBody.
    pub bodies: Vec<Vec<u8>>,
    /// Whether the session closed.
    pub closed: bool,
    /// The session's error, if any.
    pub error: Option<SessionError>,
}

/// What a test application does for one role.
pub trait App<S: Session> {
    /// Answers an event.
    fn answer(&mut self, s: &mut S, event: S::Event);
    /// The next `len` payload bytes to send for `SendBody`.
    fn body_out(&mut self, len: u64) -> Vec<u8>;
    /// Payload bytes received.
    fn body_in(&mut self, _data: &[u8]) {}
}

/// Drives one session of either role for its application.
#[derive(Debug)]
pub struct Driver<S, A> {
    /// The session driven.
    pub session: S,
    /// What answers its events.
    pub app: A,
    /// What it did.
    pub t: Transcript,
    /// The time it sees.
    pub now: Timestamp,
    /// Payload still to send for the current `SendBody`.
    sending: VecDeque<u8>,
    /// Payload still to receive for the current `ReceiveBody`.
    receiving: u64,
}

impl<S: Session, A: App<S>> Driver<S, A>
where
    S::Event: std::fmt::Debug,
{
    /// A driver of `session` for `app`, at time zero.
    pub fn with(session: S, app: A) -> Self {
        Self {
            session,
            app,
            t: Transcript::default(),
            now: Timestamp::from_micros(0),
            sending: VecDeque::new(),
            receiving: 0,
        }
    }

    /// Offers `inbox`, removing what was used, and writes to `outbox`, until
    /// nothing more can happen or one slice of a body has been sent (so the
    /// peer can run: an early refusal may be on its way).
    pub fn pump(&mut self, inbox: &mut Vec<u8>, outbox: &mut Vec<u8>) {
        loop {
            let mut progress = false;
            while let Some(output) = self.session.poll_output() {
                progress = true;
                match output {
                    Output::Transmit(bytes) => {
                        outbox.extend(&bytes);
                        self.t.sent.extend(bytes);
                    }
                    Output::SendBody { len } => self.sending = self.app.body_out(len).into(),
                    Output::ReceiveBody { len } => {
                        self.t.log.push(format!("receive body {len}"));
                        self.t.bodies.push(Vec::new());
                        self.receiving = len;
                    }
                    Output::Event(event) => {
                        self.t.log.push(format!("{event:?}"));
                        self.app.answer(&mut self.session, event);
                    }
                    Output::Close => {
                        self.t.closed = true;
                        self.t.log.push("close".into());
                        self.sending.clear();
                    }
                }
            }
            if self.receiving > 0 {
                let n = (self.receiving as usize).min(inbox.len());
                if n > 0 {
                    let chunk: Vec<u8> = inbox.drain(..n).collect();
                    self.app.body_in(&chunk);
                    if let Some(body) = self.t.bodies.last_mut() {
                        body.extend(chunk);
                    }
                    self.receiving -= n as u64;
                    misused(self.session.handle_body(self.now, n as u64));
                    continue;
                }
            } else if !inbox.is_empty() {
                match self.session.handle_input(self.now, inbox) {
                    Ok(n) => {
                        progress |= n > 0;
                        inbox.drain(..n);
                    }
                    Err(e) => {
                        self.t.log.push(format!("error {e:?}"));
                        self.t.error = Some(e);
                        progress = true;
                    }
                }
            }
            if self.session.is_finished() {
                self.sending.clear();
            }
            if !self.sending.is_empty() {
                // In slices, reported one by one: partial progress must work.
                let n = self.sending.len().min(4096);
                let chunk: Vec<u8> = self.sending.drain(..n).collect();
                outbox.extend(&chunk);
                self.t.sent.extend(&chunk);
                misused(self.session.handle_body(self.now, n as u64));
                return;
            }
            if !progress {
                return;
            }
        }
    }

    /// Pumps until the body being sent, if any, has gone out.
    pub fn pump_all(&mut self, inbox: &mut Vec<u8>, outbox: &mut Vec<u8>) {
        self.pump(inbox, outbox);
        while !self.sending.is_empty() {
            self.pump(inbox, outbox);
        }
    }

    /// The peer closed: offer what is left, then the end.
    pub fn eof(&mut self, inbox: &mut Vec<u8>, outbox: &mut Vec<u8>) {
        self.pump_all(inbox, outbox);
        self.session.handle_eof(self.now);
        self.pump_all(inbox, outbox);
        if self.t.error.is_none() {
            self.t.error = self.session.error().cloned();
        }
    }

    /// Offers `data` in pieces of `chunk` bytes (at least one), a
    /// millisecond apart, pumping after each, then the end of the stream;
    /// returns every byte the session wrote.
    pub fn feed(&mut self, data: &[u8], chunk: usize) -> Vec<u8> {
        let (mut inbox, mut outbox) = (Vec::new(), Vec::new());
        self.pump_all(&mut inbox, &mut outbox);
        for piece in data.chunks(chunk.max(1)) {
            self.now = Timestamp::from_micros(self.now.as_micros() + 1000);
            inbox.extend_from_slice(piece);
            self.pump_all(&mut inbox, &mut outbox);
        }
        self.eof(&mut inbox, &mut outbox);
        outbox
    }
}

/// A session call this driver made out of order: a bug in the driver, never
/// in what was fed to it.
fn misused(result: Result<(), crate::ApiMisuse>) {
    if let Err(e) = result {
        panic!("the test driver misused the session: {e}");
    }
}

/// Decodes two streams given whole as one TLS conversation (records,
/// hellos, and with `keylog`'s secrets the ferry messages inside), as a
/// capture's TLS conversation is decoded: for fuzz targets.
pub fn decode_tls(to_server: &[u8], to_client: &[u8], keylog: &crate::KeyLog) -> crate::Connection {
    crate::trace::decode_tls_exchange(to_server, to_client, keylog, &crate::Limits::default())
}
