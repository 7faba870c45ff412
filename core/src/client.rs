//! The client role: one [`ClientSession`] per connection, for one request.
//!
//! The session is built with the request (and credentials, if any); its
//! first outputs are the bytes to send. AUTH is sent alone and the request
//! only after status 0, so a denied AUTH is always read before the server
//! closes. Replies come back as [`ClientEvent`]s; a body announced by a reply
//! is handed over with `Output::ReceiveBody` and bypasses the session, as
//! on the server. Uploads wait for [`ClientSession::send_upload`] after
//! `UploadAccepted`, and a final status that arrives while the body is still
//! being sent (the server's early refusal) ends the session at once.

use std::collections::VecDeque;

use crate::decode::Assembler;
use crate::error::{ApiMisuse, DecodeError, DecodeErrorKind, SessionError};
use crate::field::Field;
use crate::limits::Limits;
use crate::message::{
    Credentials, Expect, ListEntry, MGetEntry, Op, Reply, Request, ResumeOutcome, Status,
    parse_listing,
};
use crate::output::Output;
use crate::session::forward_session;
use crate::time::Timestamp;
use crate::wire::put_u32;

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// AUTH accepted; the request has been queued.
    AuthAccepted,
    /// AUTH denied; the session ends.
    AuthDenied,
    /// Status 1: the request was refused (not found, bad name, error).
    Refused,
    /// Op 10: the file follows (`ReceiveBody`).
    File {
        /// Its size.
        size: u32,
    },
    /// Op 20: the listing.
    Listing(Vec<ListEntry>),
    /// Op 30: the server accepts; call [`ClientSession::send_upload`].
    UploadAccepted,
    /// Op 30: the final status; `stored: false` may arrive before the whole
    /// body was sent (stop sending then).
    UploadDone {
        /// Whether the server stored the file.
        stored: bool,
    },
    /// Op 40: the result; with `Ok` the remaining bytes follow.
    Resume(ResumeOutcome),
    /// Op 50: `count` entries follow.
    MGetStart {
        /// Entries announced.
        count: u32,
    },
    /// Op 50: one entry; a body follows (`ReceiveBody`) when it has a size,
    /// whether or not its name is acceptable.
    MGetEntry(MGetEntry),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ReadAuth,
    ReadReply(Op),
    AwaitUploadSize,
    SendUpload { remaining: u64 },
    ReadUploadFinal,
    ReceiveBody { remaining: u64, left: u32 },
    ReadEntry { left: u32 },
    Finished,
}

/// The client side of one connection.
///
/// Call order: drain [`poll_output`](Self::poll_output) (the request bytes
/// come first), then offer the server's bytes with
/// [`handle_input`](Self::handle_input) (keeping what it did not take), move
/// bodies and report them with [`handle_body`](Self::handle_body), and call
/// [`handle_eof`](Self::handle_eof) once the server has closed and every
/// byte it sent has been offered.
#[derive(Debug)]
pub struct ClientSession {
    limits: Limits,
    state: State,
    request: Option<Request>,
    input: Assembler,
    outputs: VecDeque<Output<ClientEvent>>,
    last_progress: Timestamp,
    extra: u64,
    error: Option<SessionError>,
}

forward_session!(ClientSession, ClientEvent);

impl ClientSession {
    /// A session that will send `request`, after AUTH if `auth` is given.
    pub fn new(
        limits: Limits,
        now: Timestamp,
        auth: Option<Credentials>,
        request: Request,
    ) -> Self {
        let mut session = Self {
            limits,
            state: State::ReadAuth,
            request: None,
            input: Assembler::default(),
            outputs: VecDeque::new(),
            last_progress: now,
            extra: 0,
            error: None,
        };
        match auth {
            Some(credentials) => {
                let mut bytes = Vec::new();
                credentials.encode(&mut bytes);
                session.outputs.push_back(Output::Transmit(bytes));
                session.request = Some(request);
            }
            None => session.send_request(request),
        }
        session
    }

    // ----- getters -----

    /// Bytes the server sent after its complete response (a protocol
    /// violation the caller may want to mention).
    pub fn extra_bytes(&self) -> u64 {
        self.extra
    }

    /// Why the session failed, if it did.
    pub fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    /// Whether the session has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    // ----- inputs -----

    /// Offers bytes from the server; returns how many were used. Stops where
    /// a body begins and while `UploadAccepted` waits for `send_upload`.
    pub fn handle_input(&mut self, now: Timestamp, data: &[u8]) -> Result<usize, SessionError> {
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            let expect = match self.state {
                State::ReadAuth | State::SendUpload { .. } | State::ReadUploadFinal => {
                    Expect::Status
                }
                State::ReadReply(op) => match op {
                    Op::Download => Expect::Download,
                    Op::List => Expect::Listing,
                    Op::Resume => Expect::Resume,
                    Op::MGet => Expect::MGetStart,
                    Op::Upload | Op::Auth => Expect::Status,
                },
                State::ReadEntry { .. } => Expect::MGetEntry,
                State::AwaitUploadSize | State::ReceiveBody { .. } => break,
                State::Finished => {
                    if self.error.is_none() {
                        self.extra += rest.len() as u64;
                    }
                    self.input.skip(rest.len() as u64);
                    used = data.len();
                    break;
                }
            };
            let limits = &self.limits;
            match self.input.feed(rest, |r| Reply::read(r, expect, limits)) {
                Ok((n, reply)) => {
                    used += n;
                    if let Some(reply) = reply
                        && let Err(e) = self.on_reply(reply.value, reply.start)
                    {
                        self.last_progress = now;
                        return Err(self.fail(SessionError::Peer(e)));
                    }
                }
                Err(e) => {
                    self.last_progress = now;
                    return Err(self.fail(SessionError::Peer(e)));
                }
            }
        }
        if used > 0 {
            self.last_progress = now;
        }
        Ok(used)
    }

    /// The server closed and every byte it sent has been offered.
    pub fn handle_eof(&mut self, _now: Timestamp) {
        if self.state != State::Finished {
            self.fail(SessionError::Peer(self.input.truncated()));
        }
    }

    /// Reports that the caller answered an event at `now`: the time the
    /// answer took does not count against the peer.
    pub fn handle_answered(&mut self, now: Timestamp) {
        if now > self.last_progress {
            self.last_progress = now;
        }
    }

    /// Checks the timeout; early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.fail(SessionError::Timeout);
        }
    }

    /// Reports `len` payload bytes moved for the current body (sent for an
    /// upload, received otherwise).
    pub fn handle_body(&mut self, now: Timestamp, len: u64) -> Result<(), ApiMisuse> {
        let remaining = match &mut self.state {
            State::SendUpload { remaining } | State::ReceiveBody { remaining, .. } => remaining,
            _ => return Err(ApiMisuse("handle_body without a body under way")),
        };
        if len > *remaining {
            return Err(ApiMisuse("handle_body past the end of the body"));
        }
        *remaining -= len;
        let done = *remaining == 0;
        if len > 0 {
            self.last_progress = now;
        }
        match self.state {
            State::ReceiveBody { left, .. } => {
                self.input.skip(len);
                if done {
                    self.next_entry(left);
                }
            }
            _ if done => self.state = State::ReadUploadFinal,
            _ => {}
        }
        Ok(())
    }

    /// After `UploadAccepted`: sends the size; then move the body
    /// (`Output::SendBody`).
    pub fn send_upload(&mut self, size: u32) -> Result<(), ApiMisuse> {
        if self.state != State::AwaitUploadSize {
            return Err(ApiMisuse("send_upload before UploadAccepted"));
        }
        let mut bytes = Vec::new();
        put_u32(&mut bytes, size);
        self.outputs.push_back(Output::Transmit(bytes));
        if size == 0 {
            self.state = State::ReadUploadFinal;
        } else {
            self.outputs
                .push_back(Output::SendBody { len: size.into() });
            self.state = State::SendUpload {
                remaining: size.into(),
            };
        }
        Ok(())
    }

    /// Gives up without another byte (for example when the file being
    /// uploaded shrank): the session ends and `Close` is queued.
    pub fn abort(&mut self) {
        if self.state != State::Finished {
            self.finish();
        }
    }

    // ----- outputs -----

    /// The next thing to do, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<ClientEvent>> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, or
    /// `None` while the caller holds the next move or the session is over.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match self.state {
            State::AwaitUploadSize | State::Finished => None,
            _ => Some(self.last_progress.saturating_add(self.limits.timeout_us)),
        }
    }

    // ----- internals -----

    fn send_request(&mut self, request: Request) {
        let mut bytes = Vec::new();
        request.encode(&mut bytes);
        self.outputs.push_back(Output::Transmit(bytes));
        self.state = State::ReadReply(request.op());
    }

    fn event(&mut self, event: ClientEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    fn on_reply(&mut self, reply: Reply, start: u64) -> Result<(), DecodeError> {
        match (self.state, reply) {
            (State::ReadAuth, Reply::Status(Status::Ok)) => {
                self.event(ClientEvent::AuthAccepted);
                if let Some(request) = self.request.take() {
                    self.send_request(request);
                }
            }
            (State::ReadAuth, Reply::Status(Status::Error)) => {
                self.event(ClientEvent::AuthDenied);
                self.finish();
            }
            (State::ReadReply(_), Reply::Status(Status::Error)) => {
                self.event(ClientEvent::Refused);
                self.finish();
            }
            (State::ReadReply(Op::Upload), Reply::Status(Status::Ok)) => {
                self.event(ClientEvent::UploadAccepted);
                self.state = State::AwaitUploadSize;
            }
            (State::ReadReply(_), Reply::Download { size }) => {
                self.event(ClientEvent::File { size });
                self.receive(size, 0);
            }
            (State::ReadReply(_), Reply::Listing(json)) => {
                // The JSON starts after the status byte and the u32 length.
                let entries = parse_listing(&json).map_err(|kind| DecodeError {
                    offset: start + 5,
                    kind,
                })?;
                self.event(ClientEvent::Listing(entries));
                self.finish();
            }
            (State::ReadReply(_), Reply::Resume(outcome)) => {
                self.event(ClientEvent::Resume(outcome));
                match outcome {
                    ResumeOutcome::Ok { remaining } => self.receive(remaining, 0),
                    _ => self.finish(),
                }
            }
            (State::ReadReply(_), Reply::MGetStart { count }) => {
                self.event(ClientEvent::MGetStart { count });
                self.next_entry(count);
            }
            (State::SendUpload { .. }, Reply::Status(Status::Ok)) => {
                // "Stored" before the whole body was sent cannot be true.
                return Err(DecodeError {
                    offset: start,
                    kind: DecodeErrorKind::BadValue {
                        field: Field::Status,
                        value: 0,
                    },
                });
            }
            (State::SendUpload { .. } | State::ReadUploadFinal, Reply::Status(status)) => {
                self.event(ClientEvent::UploadDone {
                    stored: status == Status::Ok,
                });
                self.finish();
            }
            (State::ReadEntry { left }, Reply::MGetEntry(entry)) => {
                let size = entry.size;
                self.event(ClientEvent::MGetEntry(entry));
                match size {
                    Some(size) => self.receive(size, left - 1),
                    None => self.next_entry(left - 1),
                }
            }
            // Reply::read only yields what `expect` asked for, so nothing
            // else can arrive; if it did, it would be the peer's fault.
            (_, _) => {
                return Err(DecodeError {
                    offset: start,
                    kind: DecodeErrorKind::BadValue {
                        field: Field::Status,
                        value: 0,
                    },
                });
            }
        }
        Ok(())
    }

    fn receive(&mut self, size: u32, left: u32) {
        if size == 0 {
            self.next_entry(left);
        } else {
            self.outputs
                .push_back(Output::ReceiveBody { len: size.into() });
            self.state = State::ReceiveBody {
                remaining: size.into(),
                left,
            };
        }
    }

    fn next_entry(&mut self, left: u32) {
        if left > 0 {
            self.state = State::ReadEntry { left };
        } else {
            self.finish();
        }
    }

    fn finish(&mut self) {
        self.state = State::Finished;
        self.outputs.push_back(Output::Close);
    }

    fn fail(&mut self, error: SessionError) -> SessionError {
        self.input.abandon();
        if self.state != State::Finished {
            self.finish();
        }
        self.error = Some(error.clone());
        error
    }
}
