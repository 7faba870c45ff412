//! Decoding one connection: both directions, with the decoders the server
//! and the client use, turned into explained messages.
//!
//! The client's request decides how the server's bytes are read, exactly as
//! in a `ClientSession`; bodies are summarized, not parsed. Where bytes are
//! missing or malformed, decoding of that direction stops at that point and
//! says why: nothing after it is guessed.
//!
//! [`cursor`] reads one direction; each operation's exchange has a module
//! of its own ([`auth`], [`download`], [`list`], [`upload`], [`resume`],
//! [`mget`]); [`what`] names what is expected and what was found.

mod auth;
mod cursor;
mod download;
mod list;
mod mget;
mod resume;
mod upload;
mod what;
mod words;

pub(crate) use words::error_text;

use cursor::{Cursor, Out, Read};
use what::{Kind, What};

use crate::limits::Limits;
use crate::message::{ClientMessage, Expect, Reply, Request, Status};
use crate::name::escape;
use crate::trace::reassembly::Stream;
use crate::trace::text::{plain, say};
use crate::trace::transcript::{Anomaly, Direction, Message};

/// Both directions of one conversation as they are decoded, and what
/// decoding says.
struct Talk<'a> {
    /// The client's bytes.
    c: Cursor<'a>,
    /// The server's bytes.
    s: Cursor<'a>,
    out: Out,
    limits: &'a Limits,
}

impl Talk<'_> {
    /// The client's next message (a login or a request).
    fn request(&mut self) -> Option<Read<ClientMessage>> {
        let limits = self.limits;
        self.c.read(&mut self.out, What::Request, |r| {
            ClientMessage::read(r, limits, true)
        })
    }

    /// The server's next message, read as `expect`.
    fn reply(&mut self, what: What, expect: Expect) -> Option<Read<Reply>> {
        let limits = self.limits;
        self.s
            .read(&mut self.out, what, |r| Reply::read(r, expect, limits))
    }
}

/// Decodes one connection's two streams; `decrypted`: they were opened
/// from TLS records (which changes what a password lesson says).
pub(crate) fn decode(
    to_server: &Stream,
    to_client: &Stream,
    limits: &Limits,
    decrypted: bool,
) -> (Vec<Message>, Vec<Anomaly>) {
    let mut talk = Talk {
        c: Cursor::new(to_server, Direction::ToServer),
        s: Cursor::new(to_client, Direction::ToClient),
        out: Out {
            messages: Vec::new(),
            anomalies: Vec::new(),
            decrypted,
        },
        limits,
    };
    run(&mut talk);
    talk.c.trailing(&mut talk.out);
    talk.s.trailing(&mut talk.out);
    (talk.out.messages, talk.out.anomalies)
}

/// The client's first message and what follows it: a login first, then
/// the request it was for.
fn run(t: &mut Talk<'_>) {
    let Some(first) = t.request() else {
        return refusal(t);
    };
    let first = match first.value {
        ClientMessage::Auth(credentials) => {
            let Some(next) = auth::login(t, &credentials, first.at) else {
                return;
            };
            next
        }
        ClientMessage::Request(request) => Read {
            value: request,
            at: first.at,
        },
    };
    request(t, first);
}

/// After a request that broke the protocol: the server's status 1, if any
/// (not when the capture began mid-connection: the client's bytes were
/// never a request, so the server's are no answer to one).
fn refusal(t: &mut Talk<'_>) {
    if !t.c.failed || t.c.mid_stream() {
        return;
    }
    if let Some(Read {
        value: Reply::Status(status),
        at,
    }) = t.reply(What::Refusal, Expect::Status)
    {
        let summary = match status {
            Status::Error => say("refusal.error", &[]),
            Status::Ok => say("refusal.ok", &[]),
        };
        t.s.push(&mut t.out, None, Kind::Reply, summary, at);
    }
}

/// A request, and the server's answer read as that request's.
fn request(t: &mut Talk<'_>, read: Read<Request>) {
    let request = read.value;
    let op = request.op();
    // Op names and file names read the same in every language.
    let summary = match &request {
        Request::Download { name } => plain(format!("DOWNLOAD \"{name}\"")),
        Request::List => plain("LIST"),
        Request::Upload { name } => plain(format!("UPLOAD \"{name}\"")),
        Request::Resume { name, position, .. } => say(
            "resume.summary",
            &[("name", &plain(name)), ("position", &plain(position))],
        ),
        Request::MGet { mask } => plain(format!("MGET \"{}\"", escape(mask.as_str().as_bytes()))),
    };
    let start = read.at.start;
    t.c.push(&mut t.out, Some(op), Kind::Request, summary, read.at);
    match request {
        Request::Download { .. } => download::answer(t, op),
        Request::List => list::answer(t, op),
        Request::Upload { .. } => upload::answer(t, op),
        Request::Resume { position, md5, .. } => resume::answer(t, op, start, position, md5),
        Request::MGet { .. } => mget::answer(t, op),
    }
}
