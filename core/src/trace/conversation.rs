//! Decoding one connection: both directions, with the decoders the server
//! and the client use, turned into explained messages.
//!
//! The client's request decides how the server's bytes are read, exactly as
//! in a `ClientSession`; bodies are summarized, not parsed. Where bytes are
//! missing or malformed, decoding of that direction stops at that point and
//! says why: nothing after it is guessed.

use md5::{Digest, Md5};

use super::explain::{Context, view};
use super::reassembly::Stream;
use super::text::{self, Both, count, plain, say};
use super::transcript::{Anomaly, AnomalyKind, Direction, FieldView, Layer, Message, Payload};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::limits::Limits;
use crate::message::EMPTY_MD5;
use crate::message::{
    ClientMessage, Expect, MGetEntry, Op, Reply, Request, ResumeOutcome, Status, parse_listing,
    read_upload_size,
};
use crate::name::{NameError, escape, hex};
use crate::wire::Reader;

struct Cursor<'a> {
    stream: &'a Stream,
    offset: u64,
    dir: Direction,
    stopped: bool,
    /// A message broke the protocol (as opposed to the stream ending).
    failed: bool,
}

struct Out {
    messages: Vec<Message>,
    anomalies: Vec<Anomaly>,
    /// The streams were decrypted from TLS records.
    decrypted: bool,
}

impl Out {
    fn note(&mut self, kind: AnomalyKind, dir: Direction, offset: u64, (en, pt): Both) {
        self.anomalies
            .push(Anomaly::new(kind, Some(dir), Some(offset), en, pt));
    }
}

impl<'a> Cursor<'a> {
    fn new(stream: &'a Stream, dir: Direction) -> Self {
        Cursor {
            stream,
            offset: 0,
            dir,
            stopped: false,
            failed: false,
        }
    }

    /// Decodes one message at the cursor, or records why it cannot. A
    /// message that breaks the protocol is still shown, with the fields read
    /// before the problem.
    fn decode<T>(
        &mut self,
        out: &mut Out,
        what_key: &'static str,
        parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Option<(T, Vec<FieldView>, u64, u64)> {
        if self.stopped {
            return None;
        }
        let bytes = self.stream.contiguous(self.offset);
        let start = self.offset;
        let mut reader = Reader::new(bytes, 0);
        let result = parse(&mut reader);
        let consumed = reader.consumed() as u64;
        let fields: Vec<FieldView> = reader
            .into_spans()
            .iter()
            .map(|span| {
                self.field(
                    span.field,
                    start + span.offset,
                    span.len,
                    context_of(what_key),
                )
            })
            .collect();
        let what = say(what_key, &[]);
        match result {
            Ok(value) => {
                self.offset += consumed;
                Some((value, fields, start, consumed))
            }
            Err(e) if e.kind == DecodeErrorKind::Truncated => {
                self.stopped = true;
                let end = start + bytes.len() as u64;
                let gap = self.stream.next_gap(start).filter(|&(g, _)| g <= end);
                // Cut by a gap (the snap length, a lost packet): the fields
                // captured before it are still shown, the message marked.
                if gap.is_some() && !fields.is_empty() {
                    let len = fields
                        .iter()
                        .map(|f| f.offset + f.len)
                        .max()
                        .unwrap_or(start)
                        - start;
                    let kind = match self.dir {
                        Direction::ToServer => "request",
                        Direction::ToClient => "reply",
                    };
                    let summary = say("partial.summary", &[("what", &what)]);
                    out.messages
                        .push(self.message(None, kind, summary, fields, start, len));
                }
                match gap {
                    Some((gap_start, gap_end)) => out.note(
                        AnomalyKind::Gap,
                        self.dir,
                        gap_start,
                        say(
                            "gap.inside",
                            &[
                                ("n", &text::bytes(gap_end - gap_start)),
                                ("at", &count(gap_start)),
                                ("what", &what),
                            ],
                        ),
                    ),
                    _ if bytes.is_empty() => out.note(
                        AnomalyKind::Truncated,
                        self.dir,
                        start,
                        say("truncated.before", &[("what", &what)]),
                    ),
                    _ => out.note(
                        AnomalyKind::Truncated,
                        self.dir,
                        end,
                        say(
                            "truncated.middle",
                            &[("what", &what), ("n", &plain(bytes.len()))],
                        ),
                    ),
                }
                None
            }
            Err(e) => {
                self.stopped = true;
                self.failed = true;
                let at = start + e.offset;
                let kind = if matches!(e.kind, DecodeErrorKind::UnknownOp(_)) {
                    AnomalyKind::UnknownOp
                } else {
                    AnomalyKind::BadMessage
                };
                let op = bytes
                    .first()
                    .and_then(|&b| Op::from_byte(b))
                    .filter(|_| self.dir == Direction::ToServer);
                let len = fields
                    .iter()
                    .map(|f| f.offset + f.len)
                    .max()
                    .unwrap_or(start)
                    .saturating_sub(start)
                    .max(1);
                let error = error_text(&e.kind);
                out.messages.push(self.message(
                    op,
                    "malformed",
                    say("broken.summary", &[("what", &what), ("error", &error)]),
                    fields,
                    start,
                    len,
                ));
                out.note(
                    kind,
                    self.dir,
                    at,
                    say(
                        "broken.note",
                        &[("at", &plain(at)), ("what", &what), ("error", &error)],
                    ),
                );
                None
            }
        }
    }

    fn field(
        &self,
        name: crate::field::Field,
        offset: u64,
        len: u64,
        context: Context,
    ) -> FieldView {
        view(&self.stream.bytes, name, offset, len, context)
    }

    /// Summarizes a body of `size` bytes at the cursor.
    fn body(&mut self, out: &mut Out, size: u64, op: Op, label: Both) -> Option<Message> {
        if self.stopped {
            return None;
        }
        let start = self.offset;
        let end = start + size;
        let have_end = end.min(self.stream.len());
        let captured = have_end.saturating_sub(start) - self.stream.missing_in(start, have_end);
        // The bytes captured from the body's start (all of it when whole).
        let bytes = self.stream.get(start, size);
        let md5 = (captured == size).then(|| hex(&Md5::digest(bytes)));
        if end > self.stream.len() {
            out.note(
                AnomalyKind::Truncated,
                self.dir,
                self.stream.len(),
                say(
                    match self.stream.closed {
                        true => "body.truncated",
                        false => "body.capture_ends",
                    },
                    &[
                        ("label", &label),
                        ("size", &text::bytes(size)),
                        ("n", &text::bytes(self.stream.len() - start)),
                    ],
                ),
            );
            self.stopped = true;
        }
        if captured < have_end - start {
            out.note(
                AnomalyKind::Gap,
                self.dir,
                start,
                say(
                    "body.gap",
                    &[
                        ("label", &label),
                        ("n", &count(size - captured)),
                        ("size", &text::bytes(size)),
                    ],
                ),
            );
        }
        let mut field = self.field(
            crate::field::Field::Body,
            start,
            have_end - start,
            Context::Download,
        );
        field.value = format!("{size} bytes");
        self.offset = end;
        let (summary, summary_pt) = say(
            "body.summary",
            &[("label", &label), ("size", &text::bytes(size))],
        );
        Some(Message {
            direction: self.dir,
            time_us: self.stream.time_of(start),
            offset: start,
            len: size,
            frames: Vec::new(),
            op: Some(op),
            kind: "body".into(),
            summary,
            summary_pt,
            fields: vec![field],
            listing: None,
            layer: Layer::Ferry,
            records: Vec::new(),
            payload: Some(Payload {
                size,
                captured,
                md5,
                preview: preview(bytes),
            }),
        })
    }

    fn message(
        &self,
        op: Option<Op>,
        kind: &str,
        (summary, summary_pt): Both,
        fields: Vec<FieldView>,
        start: u64,
        len: u64,
    ) -> Message {
        Message {
            direction: self.dir,
            time_us: self.stream.time_of(start),
            offset: start,
            len,
            frames: Vec::new(),
            op,
            kind: kind.into(),
            summary,
            summary_pt,
            fields,
            listing: None,
            layer: Layer::Ferry,
            records: Vec::new(),
            payload: None,
        }
    }

    /// Reports bytes left after the exchange, named by who sent them (and
    /// why none were read, when the capture began mid-connection).
    fn trailing(&self, out: &mut Out) {
        if !self.stopped && self.offset < self.stream.len() {
            let extra = self.stream.len() - self.offset;
            let key = match (self.stream.started_mid_stream && self.offset == 0, self.dir) {
                (true, Direction::ToServer) => "trailing.mid_stream.to_server",
                (true, Direction::ToClient) => "trailing.mid_stream.to_client",
                (false, Direction::ToServer) => "trailing.to_server",
                (false, Direction::ToClient) => "trailing.to_client",
            };
            out.note(
                AnomalyKind::TrailingBytes,
                self.dir,
                self.offset,
                say(key, &[("n", &text::bytes(extra))]),
            );
        }
    }
}

fn context_of(what: &str) -> Context {
    match what {
        "what.login_reply" => Context::Auth,
        "what.download_reply" => Context::Download,
        "what.listing" => Context::List,
        "what.upload_reply" => Context::UploadFirst,
        "what.final_status" => Context::UploadFinal,
        "what.resume_reply" => Context::Resume,
        "what.mget_reply" => Context::MGet,
        "what.entry" => Context::Entry,
        "what.refusal" => Context::Refusal,
        _ => Context::Download,
    }
}

/// Why bytes break the protocol, in both languages.
pub(crate) fn error_text(kind: &DecodeErrorKind) -> Both {
    let field = |f: &crate::field::Field| plain(f.as_str());
    match kind {
        DecodeErrorKind::UnknownOp(op) => say("error.unknown_op", &[("op", &plain(op))]),
        DecodeErrorKind::Truncated => say("error.truncated", &[]),
        DecodeErrorKind::TooLong {
            field: f,
            len,
            limit,
        } => say(
            "error.too_long",
            &[
                ("field", &field(f)),
                ("len", &text::bytes(*len)),
                ("limit", &count(*limit)),
            ],
        ),
        DecodeErrorKind::BadUtf8 { field: f } => say("error.bad_utf8", &[("field", &field(f))]),
        DecodeErrorKind::Empty { field: f } => say("error.empty", &[("field", &field(f))]),
        DecodeErrorKind::BadName(e) => name_error(e),
        DecodeErrorKind::BadValue { field: f, value } => say(
            "error.bad_value",
            &[("field", &field(f)), ("value", &plain(value))],
        ),
        DecodeErrorKind::BadListing(reason) => {
            say("error.bad_listing", &[("reason", &plain(reason))])
        }
        DecodeErrorKind::TrailingBytes => say("error.trailing", &[]),
    }
}

/// Why a name is refused, in both languages.
fn name_error(e: &NameError) -> Both {
    let code = |c: &u32| plain(format!("{c:04X}"));
    match e {
        NameError::Empty => say("name.empty", &[]),
        NameError::TooLong { len, limit } => say(
            "name.too_long",
            &[
                ("len", &text::bytes(*len as u64)),
                ("limit", &count(*limit as u64)),
            ],
        ),
        NameError::ComponentTooLong { len, limit } => say(
            "name.component_too_long",
            &[
                ("len", &text::bytes(*len as u64)),
                ("limit", &count(*limit as u64)),
            ],
        ),
        NameError::NotUtf8 => say("name.bad_utf8", &[]),
        NameError::Absolute => say("name.absolute", &[]),
        NameError::EmptyComponent => say("name.empty_component", &[]),
        NameError::DotComponent => say("name.dot", &[]),
        NameError::Slash => say("name.slash", &[]),
        NameError::Backslash => say("name.backslash", &[]),
        NameError::Control(c) => say("name.control", &[("code", &code(c))]),
        NameError::Bidi(c) => say("name.bidi", &[("code", &code(c))]),
        NameError::Invisible(c) => say("name.invisible", &[("code", &code(c))]),
        NameError::LooksLike { code: c, like } => say(
            "name.looks_like",
            &[("code", &code(c)), ("like", &plain(like))],
        ),
        NameError::Reserved => say(
            "name.reserved",
            &[("prefix", &plain(crate::name::RESERVED_PREFIX))],
        ),
    }
}

fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(48)];
    let printable = head
        .iter()
        .filter(|b| b.is_ascii_graphic() || **b == b' ' || **b == b'\n')
        .count();
    if !head.is_empty() && printable * 10 >= head.len() * 9 {
        escape(head)
    } else {
        let digits = hex(head);
        let pairs: Vec<&str> = (0..head.len()).map(|i| &digits[2 * i..2 * i + 2]).collect();
        pairs.join(" ")
    }
}

fn status_word(status: Status) -> Both {
    match status {
        Status::Ok => say("word.ok", &[]),
        Status::Error => say("word.error", &[]),
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
    let mut out = Out {
        messages: Vec::new(),
        anomalies: Vec::new(),
        decrypted,
    };
    let mut c = Cursor::new(to_server, Direction::ToServer);
    let mut s = Cursor::new(to_client, Direction::ToClient);
    run(&mut c, &mut s, &mut out, limits);
    c.trailing(&mut out);
    s.trailing(&mut out);
    (out.messages, out.anomalies)
}

fn run(c: &mut Cursor<'_>, s: &mut Cursor<'_>, out: &mut Out, limits: &Limits) {
    let Some((mut first, fields, start, len)) = c.decode(out, "what.request", |r| {
        ClientMessage::read(r, limits, true)
    }) else {
        refusal(c, s, out, limits);
        return;
    };
    if let ClientMessage::Auth(credentials) = &first {
        let user = plain(escape(credentials.user().as_bytes()));
        let (summary, kind, lesson) = match out.decrypted {
            false => ("auth.summary", AnomalyKind::ClearTextPassword, "auth.clear"),
            true => ("auth.summary.tls", AnomalyKind::Encrypted, "auth.protected"),
        };
        out.messages.push(c.message(
            Some(Op::Auth),
            "request",
            say(summary, &[("user", &user)]),
            fields,
            start,
            len,
        ));
        out.note(
            kind,
            Direction::ToServer,
            start,
            say(lesson, &[("user", &user)]),
        );
        let Some((reply, fields, start, len)) = s.decode(out, "what.login_reply", |b| {
            Reply::read(b, Expect::Status, limits)
        }) else {
            return;
        };
        let Reply::Status(status) = reply else { return };
        out.messages.push(s.message(
            Some(Op::Auth),
            "reply",
            say("auth.reply", &[("status", &status_word(status))]),
            fields,
            start,
            len,
        ));
        if status == Status::Error {
            return;
        }
        let Some((next, fields, start, len)) = c.decode(out, "what.request", |r| {
            ClientMessage::read(r, limits, true)
        }) else {
            refusal(c, s, out, limits);
            return;
        };
        if let ClientMessage::Auth(_) = next {
            out.messages.push(c.message(
                Some(Op::Auth),
                "request",
                say("auth.second", &[]),
                fields,
                start,
                len,
            ));
            out.note(
                AnomalyKind::UnknownOp,
                Direction::ToServer,
                start,
                say("auth.second.note", &[]),
            );
            if let Some((_, fields, start, len)) = s.decode(out, "what.reply", |b| {
                Reply::read(b, Expect::Status, limits)
            }) {
                out.messages.push(s.message(
                    Some(Op::Auth),
                    "reply",
                    say("reply.refused", &[]),
                    fields,
                    start,
                    len,
                ));
            }
            return;
        }
        first = next;
        request(c, s, out, limits, first, fields, start, len);
    } else {
        request(c, s, out, limits, first, fields, start, len);
    }
}

/// After a request that broke the protocol: the server's status 1, if any.
fn refusal(c: &Cursor<'_>, s: &mut Cursor<'_>, out: &mut Out, limits: &Limits) {
    if !c.failed {
        return;
    }
    if let Some((Reply::Status(status), fields, start, len)) = s.decode(out, "what.refusal", |r| {
        Reply::read(r, Expect::Status, limits)
    }) {
        let summary = match status {
            Status::Error => say("refusal.error", &[]),
            Status::Ok => say("refusal.ok", &[]),
        };
        out.messages
            .push(s.message(None, "reply", summary, fields, start, len));
    }
}

#[allow(clippy::too_many_arguments)]
fn request(
    c: &mut Cursor<'_>,
    s: &mut Cursor<'_>,
    out: &mut Out,
    limits: &Limits,
    message: ClientMessage,
    fields: Vec<FieldView>,
    start: u64,
    len: u64,
) {
    let ClientMessage::Request(request) = message else {
        return;
    };
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
    out.messages
        .push(c.message(Some(op), "request", summary, fields, start, len));
    let reply = |s: &mut Cursor<'_>, out: &mut Out, what: &'static str, expect: Expect| {
        s.decode(out, what, |r| Reply::read(r, expect, limits))
    };
    match request {
        Request::Download { .. } => {
            let Some((r, fields, start, len)) =
                reply(s, out, "what.download_reply", Expect::Download)
            else {
                return;
            };
            match r {
                Reply::Download { size } => {
                    out.messages.push(s.message(
                        Some(op),
                        "reply",
                        say("download.ok", &[("size", &text::bytes(size.into()))]),
                        fields,
                        start,
                        len,
                    ));
                    if let Some(body) = s.body(out, size.into(), op, say("label.download", &[])) {
                        out.messages.push(body);
                    }
                }
                _ => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    say("download.error", &[]),
                    fields,
                    start,
                    len,
                )),
            }
        }
        Request::List => {
            let Some((r, fields, start, len)) = reply(s, out, "what.listing", Expect::Listing)
            else {
                return;
            };
            let mut listing = None;
            let summary = match &r {
                Reply::Listing(json) => match parse_listing(json) {
                    Ok(entries) => {
                        let summary = say("list.ok", &[("n", &plain(entries.len()))]);
                        listing = Some(entries);
                        summary
                    }
                    Err(e) => {
                        out.note(
                            AnomalyKind::BadMessage,
                            Direction::ToClient,
                            start + 5,
                            error_text(&e),
                        );
                        say("list.invalid.summary", &[])
                    }
                },
                _ => say("list.error", &[]),
            };
            let mut message = s.message(Some(op), "reply", summary, fields, start, len);
            message.listing = listing;
            out.messages.push(message);
        }
        Request::Upload { .. } => {
            let Some((r, fields, start, len)) = reply(s, out, "what.upload_reply", Expect::Status)
            else {
                return;
            };
            let Reply::Status(status) = r else { return };
            out.messages.push(s.message(
                Some(op),
                "reply",
                say("reply.status", &[("status", &status_word(status))]),
                fields,
                start,
                len,
            ));
            if status == Status::Error {
                return;
            }
            let Some((size, fields, start, len)) =
                c.decode(out, "what.upload_size", read_upload_size)
            else {
                return;
            };
            out.messages.push(c.message(
                Some(op),
                "upload size",
                say("upload.size", &[("size", &text::bytes(size.into()))]),
                fields,
                start,
                len,
            ));
            if let Some(body) = c.body(out, size.into(), op, say("label.upload", &[])) {
                out.messages.push(body);
            }
            if let Some((Reply::Status(status), fields, start, len)) =
                reply(s, out, "what.final_status", Expect::Status)
            {
                let word = status_word(status);
                let summary = if status == Status::Ok {
                    say("upload.stored", &[("status", &word)])
                } else {
                    say("upload.not_stored", &[("status", &word)])
                };
                out.messages
                    .push(s.message(Some(op), "final status", summary, fields, start, len));
            }
        }
        Request::Resume { position, md5, .. } => {
            if position == 0 && md5 != EMPTY_MD5 {
                out.note(
                    AnomalyKind::Md5CannotMatch,
                    Direction::ToServer,
                    start,
                    say("resume.cannot_match", &[]),
                );
            }
            let Some((r, fields, start, len)) = reply(s, out, "what.resume_reply", Expect::Resume)
            else {
                return;
            };
            match r {
                Reply::Resume(ResumeOutcome::Ok { remaining }) => {
                    out.messages.push(s.message(
                        Some(op),
                        "reply",
                        say("resume.ok", &[("n", &text::bytes(remaining.into()))]),
                        fields,
                        start,
                        len,
                    ));
                    if let Some(body) = s.body(out, remaining.into(), op, say("label.resumed", &[]))
                    {
                        out.messages.push(body);
                    }
                }
                Reply::Resume(ResumeOutcome::NoSuchFile) => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    say("resume.none", &[]),
                    fields,
                    start,
                    len,
                )),
                Reply::Resume(ResumeOutcome::Mismatch) => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    say("resume.mismatch", &[]),
                    fields,
                    start,
                    len,
                )),
                _ => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    say("resume.refused", &[]),
                    fields,
                    start,
                    len,
                )),
            }
        }
        Request::MGet { .. } => {
            let Some((r, fields, start, len)) = reply(s, out, "what.mget_reply", Expect::MGetStart)
            else {
                return;
            };
            let Reply::MGetStart { count } = r else {
                out.messages.push(s.message(
                    Some(op),
                    "reply",
                    say("mget.error", &[]),
                    fields,
                    start,
                    len,
                ));
                return;
            };
            out.messages.push(s.message(
                Some(op),
                "reply",
                say("mget.ok", &[("count", &plain(count))]),
                fields,
                start,
                len,
            ));
            for k in 1..=count {
                let Some((Reply::MGetEntry(MGetEntry { name, size }), fields, start, len)) =
                    reply(s, out, "what.entry", Expect::MGetEntry)
                else {
                    return;
                };
                let shown = match &name {
                    Ok(n) => plain(format!("\"{n}\"")),
                    Err(bad) => {
                        out.note(
                            AnomalyKind::BadMessage,
                            Direction::ToClient,
                            start,
                            say(
                                "entry.refused.note",
                                &[("k", &plain(k)), ("reason", &name_error(&bad.error))],
                            ),
                        );
                        say("entry.refused.name", &[("name", &plain(escape(&bad.raw)))])
                    }
                };
                match size {
                    Some(size) => {
                        out.messages.push(s.message(
                            Some(op),
                            "entry",
                            say(
                                "entry.file",
                                &[
                                    ("k", &text::count(k.into())),
                                    ("count", &text::count(count.into())),
                                    ("name", &shown),
                                    ("size", &text::bytes(size.into())),
                                ],
                            ),
                            fields,
                            start,
                            len,
                        ));
                        if let Some(body) = s.body(
                            out,
                            size.into(),
                            op,
                            say("label.entry", &[("k", &plain(k)), ("count", &plain(count))]),
                        ) {
                            out.messages.push(body);
                        }
                    }
                    None => out.messages.push(s.message(
                        Some(op),
                        "entry",
                        say(
                            "entry.skipped",
                            &[("k", &plain(k)), ("count", &plain(count)), ("name", &shown)],
                        ),
                        fields,
                        start,
                        len,
                    )),
                }
            }
        }
    }
}
