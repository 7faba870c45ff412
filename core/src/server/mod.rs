//! The server role: one [`ServerSession`] per TCP connection.
//!
//! # How the machine works
//!
//! A connection carries one operation, optionally preceded by AUTH. The
//! session reads the client's message, emits it as a [`ServerEvent`] and waits
//! for the caller's answer, because only the caller can look at files. Each
//! event has its answers:
//!
//! | event | answer |
//! |---|---|
//! | `Auth` | [`answer_auth`](ServerSession::answer_auth) |
//! | `Download` | [`send_file`](ServerSession::send_file) or [`refuse`](ServerSession::refuse) |
//! | `List` | [`send_listing`](ServerSession::send_listing) or `refuse` |
//! | `Upload` | [`accept_upload`](ServerSession::accept_upload) or `refuse` |
//! | `UploadSize` | [`receive_body`](ServerSession::receive_body) or `refuse` (the early final status) |
//! | `UploadComplete` | [`finish_upload`](ServerSession::finish_upload) |
//! | `Resume` | [`answer_resume`](ServerSession::answer_resume) or `refuse` |
//! | `MGet` | [`start_mget`](ServerSession::start_mget) or `refuse` |
//! | `NextEntry` | [`mget_entry`](ServerSession::mget_entry) |
//!
//! While an answer is pending `handle_input` takes no bytes, so whatever the
//! client sent next stays with the caller until the session can use it.
//! Answers queue the status bytes and, for files, `SendBody`; the caller moves
//! the payload itself and reports it with `handle_body`. After the last byte
//! of the response the session queues `Close`.
//!
//! Every refusal carries its reason ([`Refusal`], from
//! [`ServerSession::refusal`]): the protocol's own rules (4 GiB, the listing
//! and op 50 caps) are checked here, never by the caller.
//!
//! Anything wrong from the peer (a decode error, the end of the stream in the
//! middle of a message, a stall past the timeout) ends the session the same
//! way: status 1 if the client is still waiting for a status, then `Close`.
//! Bytes after a complete request are counted and ignored.

use std::collections::VecDeque;

use crate::decode::Assembler;
use crate::error::{ApiMisuse, SessionError};
use crate::limits::Limits;
use crate::message::{
    ClientMessage, MGetEntry, Op, Reply, Request, ResumeOutcome, Status, read_upload_size,
};
use crate::name::Name;
use crate::output::Output;
use crate::session::forward_session;
use crate::time::Timestamp;

mod event;

pub use event::{Refusal, ResumeAnswer, ServerEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Auth,
    Download,
    List,
    Upload,
    UploadSize(u32),
    UploadComplete,
    Resume(u32),
    MGet,
    NextEntry(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Finish,
    MGetNext(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the first message (AUTH allowed) or, after AUTH, the request.
    ReadRequest { auth_done: bool },
    /// An event is out; waiting for the caller's answer.
    Await(Pending),
    /// Upload accepted: reading the `u32` size.
    ReadUploadSize,
    /// Upload body bytes are flowing to the caller's file.
    ReceiveBody { remaining: u64 },
    /// A file body is flowing to the peer.
    SendBody { remaining: u64, then: Then },
    /// The response is complete (or the session failed); `Close` is queued.
    Finished,
}

/// The server side of one connection.
///
/// Call order: feed the client's bytes with [`handle_input`](Self::handle_input)
/// (keeping what it did not take), drain [`poll_output`](Self::poll_output)
/// after every call, answer each event, move bodies and report them with
/// [`handle_body`](Self::handle_body), and call
/// [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) passes. Call
/// [`handle_eof`](Self::handle_eof) once the client has closed and every
/// byte it sent has been offered.
#[derive(Debug)]
pub struct ServerSession {
    limits: Limits,
    state: State,
    input: Assembler,
    outputs: VecDeque<Output<ServerEvent>>,
    last_progress: Timestamp,
    eof: bool,
    op: Option<Op>,
    user: Option<String>,
    extra: u64,
    error: Option<SessionError>,
    refusal: Option<Refusal>,
    /// Whether the client ever sent a byte.
    heard: bool,
    /// When the request message began to count against the request
    /// timeout: at accept, and again at the first byte after a login.
    request_since: Option<Timestamp>,
}

forward_session!(ServerSession, ServerEvent);

impl ServerSession {
    /// A session for a connection accepted at `now`.
    pub fn new(limits: Limits, now: Timestamp) -> Self {
        Self {
            limits,
            state: State::ReadRequest { auth_done: false },
            input: Assembler::default(),
            outputs: VecDeque::new(),
            last_progress: now,
            eof: false,
            op: None,
            user: None,
            extra: 0,
            error: None,
            refusal: None,
            heard: false,
            request_since: Some(now),
        }
    }

    // ----- getters -----

    /// The operation requested, once its message has been read.
    pub fn op(&self) -> Option<Op> {
        self.op
    }

    /// The user whose AUTH was accepted, if any: the request acts in that
    /// user's private folder.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Bytes received after the complete request, ignored.
    pub fn extra_bytes(&self) -> u64 {
        self.extra
    }

    /// Why the session failed, if it did.
    pub fn error(&self) -> Option<&SessionError> {
        self.error.as_ref()
    }

    /// Why the request was answered with status 1, if it was.
    pub fn refusal(&self) -> Option<&Refusal> {
        self.refusal.as_ref()
    }

    /// Whether the session has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    // ----- inputs -----

    /// Offers bytes from the client; returns how many were used.
    ///
    /// Stops early while an event waits for an answer and where a body
    /// begins: keep the rest and offer it again after draining the outputs.
    /// A protocol error ends the session (status 1 and `Close` are queued)
    /// and is returned.
    pub fn handle_input(&mut self, now: Timestamp, data: &[u8]) -> Result<usize, SessionError> {
        self.heard |= !data.is_empty();
        if self.request_since.is_none() && matches!(self.state, State::ReadRequest { .. }) {
            self.request_since = Some(now);
        }
        let mut used = 0;
        while let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
            let limits = &self.limits;
            let fed = match self.state {
                State::ReadRequest { auth_done } => self
                    .input
                    .feed(rest, |r| ClientMessage::read(r, limits, !auth_done))
                    .map(|(n, msg)| (n, msg.map(|m| Ok(m.value)))),
                State::ReadUploadSize => self
                    .input
                    .feed(rest, read_upload_size)
                    .map(|(n, size)| (n, size.map(|s| Err(s.value)))),
                State::Await(_) | State::ReceiveBody { .. } => break,
                State::SendBody { .. } | State::Finished => {
                    // After a complete request: ignored, but counted.
                    if self.error.is_none() {
                        self.extra += rest.len() as u64;
                    }
                    self.input.skip(rest.len() as u64);
                    used = data.len();
                    break;
                }
            };
            match fed {
                Ok((n, message)) => {
                    used += n;
                    match message {
                        Some(Ok(message)) => self.on_message(message),
                        Some(Err(size)) => {
                            self.wait(Pending::UploadSize(size), ServerEvent::UploadSize { size })
                        }
                        None => {}
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

    /// The client closed its side and every byte it sent has been offered.
    pub fn handle_eof(&mut self, _now: Timestamp) {
        self.eof = true;
        self.check_eof();
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
            let whole = matches!(self.state, State::ReadRequest { .. })
                && self.request_deadline().is_some_and(|d| now >= d);
            self.fail(if whole {
                SessionError::RequestTimeout
            } else {
                SessionError::Timeout
            });
        }
    }

    /// Reports `len` payload bytes moved for the current `SendBody` or
    /// `ReceiveBody` (in as many calls as convenient).
    pub fn handle_body(&mut self, now: Timestamp, len: u64) -> Result<(), ApiMisuse> {
        let (remaining, receiving) = match &mut self.state {
            State::SendBody { remaining, .. } => (remaining, false),
            State::ReceiveBody { remaining } => (remaining, true),
            _ => return Err(ApiMisuse("handle_body without a body under way")),
        };
        if len > *remaining {
            return Err(ApiMisuse("handle_body past the end of the body"));
        }
        *remaining -= len;
        let done = *remaining == 0;
        if receiving {
            self.input.skip(len);
        }
        if len > 0 {
            self.last_progress = now;
        }
        if done {
            match self.state {
                State::SendBody { then, .. } => self.then(then),
                _ => self.wait(Pending::UploadComplete, ServerEvent::UploadComplete),
            }
        }
        Ok(())
    }

    // ----- answers -----

    /// Answers `Auth`: accepted (the request that follows acts in the
    /// user's private folder) or denied (status 1, close).
    pub fn answer_auth(&mut self, accepted: bool) -> Result<(), ApiMisuse> {
        self.take(Pending::Auth)?;
        if accepted {
            self.reply(Reply::Status(Status::Ok));
            self.state = State::ReadRequest { auth_done: true };
            // The password check does not count: the request after the
            // login gets the whole request timeout, from its first byte.
            self.request_since = None;
            self.check_eof();
        } else {
            self.user = None;
            self.refuse_now(Refusal::LoginDenied);
        }
        Ok(())
    }

    /// Answers `Download`: the file exists with `size` bytes. A file of
    /// 4 GiB or more cannot be framed and is answered with status 1.
    pub fn send_file(&mut self, size: u64) -> Result<(), ApiMisuse> {
        self.take(Pending::Download)?;
        match u32::try_from(size) {
            Ok(size) => {
                self.reply(Reply::Download { size });
                self.send_body(size.into(), Then::Finish);
            }
            Err(_) => self.refuse_now(Refusal::TooLarge { size }),
        }
        Ok(())
    }

    /// Answers `List` with op 20's JSON (see `encode_listing`). A listing
    /// over `max_listing_len` is answered with status 1.
    pub fn send_listing(&mut self, json: Vec<u8>) -> Result<(), ApiMisuse> {
        self.take(Pending::List)?;
        if json.len() > self.limits.max_listing_len as usize {
            self.refuse_now(Refusal::ListingTooLong {
                len: json.len() as u64,
                limit: self.limits.max_listing_len.into(),
            });
        } else {
            self.reply(Reply::Listing(json));
            self.finish();
        }
        Ok(())
    }

    /// Answers `Upload`: the client may send the size.
    pub fn accept_upload(&mut self) -> Result<(), ApiMisuse> {
        self.take(Pending::Upload)?;
        self.reply(Reply::Status(Status::Ok));
        self.state = State::ReadUploadSize;
        self.check_eof();
        Ok(())
    }

    /// Answers `UploadSize`: receive the body (see `Output::ReceiveBody`).
    pub fn receive_body(&mut self) -> Result<(), ApiMisuse> {
        let Some(Pending::UploadSize(size)) = self.pending() else {
            return Err(ApiMisuse("receive_body without an UploadSize event"));
        };
        if size == 0 {
            self.wait(Pending::UploadComplete, ServerEvent::UploadComplete);
        } else {
            self.outputs
                .push_back(Output::ReceiveBody { len: size.into() });
            self.state = State::ReceiveBody {
                remaining: size.into(),
            };
            self.check_eof();
        }
        Ok(())
    }

    /// Answers `UploadComplete`: whether the file was stored.
    pub fn finish_upload(&mut self, stored: bool) -> Result<(), ApiMisuse> {
        self.take(Pending::UploadComplete)?;
        if stored {
            self.reply(Reply::Status(Status::Ok));
            self.finish();
        } else {
            self.refuse_now(Refusal::NotStored);
        }
        Ok(())
    }

    /// Answers `Resume`. A file of 4 GiB or more is answered with status 1;
    /// a position past the end with result 20.
    pub fn answer_resume(&mut self, answer: ResumeAnswer) -> Result<(), ApiMisuse> {
        let Some(Pending::Resume(position)) = self.pending() else {
            return Err(ApiMisuse("answer_resume without a Resume event"));
        };
        let outcome = match answer {
            ResumeAnswer::Send { file_size } if file_size > u32::MAX.into() => {
                self.refuse_now(Refusal::TooLarge { size: file_size });
                return Ok(());
            }
            ResumeAnswer::Send { file_size } => match (file_size as u32).checked_sub(position) {
                Some(remaining) => ResumeOutcome::Ok { remaining },
                None => ResumeOutcome::Mismatch,
            },
            ResumeAnswer::NoSuchFile => ResumeOutcome::NoSuchFile,
            ResumeAnswer::Mismatch => ResumeOutcome::Mismatch,
        };
        self.reply(Reply::Resume(outcome));
        match outcome {
            ResumeOutcome::Ok { remaining } => self.send_body(remaining.into(), Then::Finish),
            _ => self.finish(),
        }
        Ok(())
    }

    /// Answers `MGet` with the sizes of the matched files, in the order
    /// their entries will be given (one `NextEntry` event each). More than
    /// `max_mget_entries` files, or more than `max_mget_bytes` in the files
    /// under 4 GiB (the ones that will be sent), is answered with status 1.
    pub fn start_mget(&mut self, sizes: impl IntoIterator<Item = u64>) -> Result<(), ApiMisuse> {
        self.take(Pending::MGet)?;
        let (count, bytes) = sizes.into_iter().fold((0u64, 0u64), |(n, b), size| {
            let sent = if size <= u32::MAX.into() { size } else { 0 };
            (n + 1, b.saturating_add(sent))
        });
        match u32::try_from(count) {
            Ok(count)
                if count <= self.limits.max_mget_entries && bytes <= self.limits.max_mget_bytes =>
            {
                self.reply(Reply::MGetStart { count });
                self.then(Then::MGetNext(count));
            }
            _ => self.refuse_now(Refusal::TooManyMatches { count, bytes }),
        }
        Ok(())
    }

    /// Answers `NextEntry`: `Some(size)` sends the file, `None` reports it as
    /// matched but unreadable (entry status 10). A file of 4 GiB or more is
    /// reported with status 10.
    pub fn mget_entry(&mut self, name: &Name, size: Option<u64>) -> Result<(), ApiMisuse> {
        let Some(Pending::NextEntry(left)) = self.pending() else {
            return Err(ApiMisuse("mget_entry without a NextEntry event"));
        };
        let size = size.and_then(|s| u32::try_from(s).ok());
        self.reply(Reply::MGetEntry(MGetEntry {
            name: Ok(name.clone()),
            size,
        }));
        let then = Then::MGetNext(left - 1);
        match size {
            Some(size) => self.send_body(size.into(), then),
            None => self.then(then),
        }
        Ok(())
    }

    /// Refuses the pending request: status 1, then close. For `UploadSize`
    /// this is the early final status (the body is never read). An op 50
    /// stream under way cannot be refused: [`abort`](Self::abort) it.
    pub fn refuse(&mut self) -> Result<(), ApiMisuse> {
        match self.pending() {
            None => Err(ApiMisuse("refuse without a pending event")),
            Some(Pending::NextEntry(_)) => Err(ApiMisuse("refuse in the middle of op 50")),
            Some(_) => {
                self.refuse_now(Refusal::Store);
                Ok(())
            }
        }
    }

    /// Gives up without another byte (for example when a file shrank under a
    /// body being sent, which must never be sent truncated as if whole).
    pub fn abort(&mut self) {
        if self.state != State::Finished {
            self.state = State::Finished;
            self.outputs.push_back(Output::Close);
        }
    }

    // ----- outputs -----

    /// The next thing to do, in order.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output<ServerEvent>> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    /// `None` while the caller holds the next move (an answer is pending) or
    /// the session is finished.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let idle = self.last_progress.saturating_add(self.limits.timeout_us);
        match self.state {
            State::Await(_) | State::Finished => None,
            State::ReadRequest { .. } => {
                Some(self.request_deadline().map_or(idle, |d| d.min(idle)))
            }
            _ => Some(idle),
        }
    }

    /// When the request message must be complete, while one is being read.
    fn request_deadline(&self) -> Option<Timestamp> {
        self.request_since
            .map(|since| since.saturating_add(self.limits.request_timeout_us))
    }

    // ----- internals -----

    fn on_message(&mut self, message: ClientMessage) {
        match message {
            ClientMessage::Auth(credentials) => {
                self.user = Some(credentials.user().to_owned());
                self.wait(Pending::Auth, ServerEvent::Auth(credentials));
            }
            ClientMessage::Request(request) => {
                self.op = Some(request.op());
                let (pending, event) = match request {
                    Request::Download { name } => {
                        (Pending::Download, ServerEvent::Download { name })
                    }
                    Request::List => (Pending::List, ServerEvent::List),
                    Request::Upload { name } => (Pending::Upload, ServerEvent::Upload { name }),
                    Request::Resume {
                        name,
                        position,
                        md5,
                    } => (
                        Pending::Resume(position),
                        ServerEvent::Resume {
                            name,
                            position,
                            md5,
                        },
                    ),
                    Request::MGet { mask } => (Pending::MGet, ServerEvent::MGet { mask }),
                };
                self.wait(pending, event);
            }
        }
    }

    fn wait(&mut self, pending: Pending, event: ServerEvent) {
        self.state = State::Await(pending);
        self.outputs.push_back(Output::Event(event));
    }

    fn pending(&self) -> Option<Pending> {
        match self.state {
            State::Await(p) => Some(p),
            _ => None,
        }
    }

    fn take(&mut self, expected: Pending) -> Result<(), ApiMisuse> {
        if self.pending() == Some(expected) {
            Ok(())
        } else {
            Err(ApiMisuse("answer does not match the pending event"))
        }
    }

    fn reply(&mut self, reply: Reply) {
        let mut bytes = Vec::new();
        reply.encode(&mut bytes);
        self.outputs.push_back(Output::Transmit(bytes));
    }

    fn send_body(&mut self, len: u64, then: Then) {
        if len == 0 {
            self.then(then);
        } else {
            self.outputs.push_back(Output::SendBody { len });
            self.state = State::SendBody {
                remaining: len,
                then,
            };
        }
    }

    fn then(&mut self, then: Then) {
        match then {
            Then::MGetNext(left) if left > 0 => {
                self.wait(Pending::NextEntry(left), ServerEvent::NextEntry)
            }
            _ => self.finish(),
        }
    }

    fn finish(&mut self) {
        self.state = State::Finished;
        self.outputs.push_back(Output::Close);
    }

    fn refuse_now(&mut self, why: Refusal) {
        self.refusal = Some(why);
        self.reply(Reply::Status(Status::Error));
        self.finish();
    }

    /// Ends the session for a peer error or a timeout, answering status 1 if
    /// the client is still waiting for one.
    fn fail(&mut self, error: SessionError) -> SessionError {
        // A message cut short by the failure is given up: bytes that still
        // arrive are only counted.
        self.input.abandon();
        match self.state {
            State::Finished => {}
            // Mid-stream: a status byte would be read as body or entry.
            State::SendBody { .. } | State::Await(Pending::NextEntry(_)) => self.abort(),
            _ => {
                self.reply(Reply::Status(Status::Error));
                self.finish();
            }
        }
        self.error = Some(error.clone());
        error
    }

    /// A stream that ended where more bytes are needed is truncated.
    fn check_eof(&mut self) {
        let needs_input = matches!(
            self.state,
            State::ReadRequest { .. } | State::ReadUploadSize | State::ReceiveBody { .. }
        );
        if self.eof && !self.heard && needs_input {
            // Connected and closed without a byte (a health probe, a port
            // scan): nothing to answer, nothing wrong.
            self.finish();
        } else if self.eof && needs_input {
            self.fail(SessionError::Peer(self.input.truncated()));
        }
    }

    /// Whether the client closed without sending a single byte (the
    /// session then closed without a reply).
    pub fn silent(&self) -> bool {
        !self.heard && self.eof
    }
}
