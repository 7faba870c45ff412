//! Decoding one connection: both directions, with the decoders the server
//! and the client use, turned into explained messages.
//!
//! The client's request decides how the server's bytes are read, exactly as
//! in a `ClientSession`; bodies are summarized, not parsed. Where bytes are
//! missing or malformed, decoding of that direction stops at that point and
//! says why: nothing after it is guessed.

use md5::{Digest, Md5};

use super::explain::{Context, describe};
use super::reassembly::Stream;
use super::transcript::{Anomaly, AnomalyKind, Direction, FieldView, Message, Payload};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::limits::Limits;
use crate::message::EMPTY_MD5;
use crate::message::{
    ClientMessage, Expect, MGetEntry, Op, Reply, Request, ResumeOutcome, Status, parse_listing,
    read_upload_size,
};
use crate::name::escape;
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
}

impl Out {
    fn note(&mut self, kind: AnomalyKind, dir: Direction, offset: u64, en: String, pt: String) {
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
        what: &str,
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
            .map(|span| self.field(span.field, start + span.offset, span.len, context_of(what)))
            .collect();
        match result {
            Ok(value) => {
                self.offset += consumed;
                Some((value, fields, start, consumed))
            }
            Err(e) if e.kind == DecodeErrorKind::Truncated => {
                self.stopped = true;
                let end = start + bytes.len() as u64;
                match self.stream.next_gap(start) {
                    Some((gap_start, gap_end)) if gap_start <= end => out.note(
                        AnomalyKind::Gap,
                        self.dir,
                        gap_start,
                        format!(
                            "{} bytes at offset {gap_start} were never captured, inside the {what}; this direction cannot be decoded past them",
                            gap_end - gap_start
                        ),
                        format!(
                            "{} bytes no offset {gap_start} nunca foram capturados, dentro de {what}; esta direção não pode ser decodificada além deles",
                            gap_end - gap_start
                        ),
                    ),
                    _ if bytes.is_empty() => out.note(
                        AnomalyKind::Truncated,
                        self.dir,
                        start,
                        format!("the stream ends before the {what}"),
                        format!("o fluxo termina antes de {what}"),
                    ),
                    _ => out.note(
                        AnomalyKind::Truncated,
                        self.dir,
                        end,
                        format!("the stream ends in the middle of the {what} (after {} of its bytes)", bytes.len()),
                        format!("o fluxo termina no meio de {what} (após {} dos seus bytes)", bytes.len()),
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
                out.messages.push(self.message(
                    op,
                    "malformed",
                    format!("the {what} breaks the protocol: {}", e.kind),
                    fields,
                    start,
                    len,
                ));
                out.note(
                    kind,
                    self.dir,
                    at,
                    format!("the {what} breaks the protocol at byte {at}: {}", e.kind),
                    format!("{what} viola o protocolo no byte {at}: {}", e.kind),
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
        let data = &self.stream.data;
        let raw =
            &data[(offset as usize).min(data.len())..((offset + len) as usize).min(data.len())];
        let (value, en, pt) = describe(name, raw, context);
        let shown = &raw[..raw.len().min(64)];
        let mut hex: String = shown.iter().map(|b| format!("{b:02x}")).collect();
        if raw.len() > 64 {
            hex.push('…');
        }
        FieldView {
            name,
            offset,
            len,
            hex,
            value,
            en,
            pt,
        }
    }

    /// Summarizes a body of `size` bytes at the cursor.
    fn body(&mut self, out: &mut Out, size: u64, op: Op, label: &str) -> Option<Message> {
        if self.stopped {
            return None;
        }
        let start = self.offset;
        let end = start + size;
        let have_end = end.min(self.stream.len());
        let captured = have_end.saturating_sub(start) - self.stream.missing_in(start, have_end);
        let bytes = &self.stream.data[start as usize..have_end as usize];
        let md5 = (captured == size).then(|| {
            Md5::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        });
        if end > self.stream.len() {
            out.note(
                AnomalyKind::Truncated,
                self.dir,
                self.stream.len(),
                format!(
                    "{label}: {size} bytes announced, the stream ends after {}",
                    self.stream.len() - start
                ),
                format!(
                    "{label}: {size} bytes anunciados, o fluxo termina após {}",
                    self.stream.len() - start
                ),
            );
            self.stopped = true;
        } else if captured < size {
            out.note(
                AnomalyKind::Gap,
                self.dir,
                start,
                format!("{label}: {} of its {size} bytes were never captured; its MD5 cannot be computed", size - captured),
                format!("{label}: {} dos seus {size} bytes nunca foram capturados; o MD5 não pode ser calculado", size - captured),
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
        Some(Message {
            direction: self.dir,
            time_us: self.stream.time_of(start),
            offset: start,
            len: size,
            op: Some(op),
            kind: "body".into(),
            summary: format!("{label}: {size} bytes of file data"),
            fields: vec![field],
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
        summary: String,
        fields: Vec<FieldView>,
        start: u64,
        len: u64,
    ) -> Message {
        Message {
            direction: self.dir,
            time_us: self.stream.time_of(start),
            offset: start,
            len,
            op,
            kind: kind.into(),
            summary,
            fields,
            payload: None,
        }
    }

    /// Reports bytes left after the exchange.
    fn trailing(&self, out: &mut Out) {
        if !self.stopped && self.offset < self.stream.len() {
            let extra = self.stream.len() - self.offset;
            out.note(
                AnomalyKind::TrailingBytes,
                self.dir,
                self.offset,
                format!("{extra} bytes follow the end of the exchange (a server ignores them)"),
                format!("{extra} bytes seguem o fim da troca (um servidor os ignora)"),
            );
        }
    }
}

fn context_of(what: &str) -> Context {
    match what {
        "login reply" => Context::Auth,
        "download reply" => Context::Download,
        "listing" => Context::List,
        "upload reply" => Context::UploadFirst,
        "final status" => Context::UploadFinal,
        "resume reply" => Context::Resume,
        "mget reply" => Context::MGet,
        "entry" => Context::Entry,
        "refusal" => Context::Refusal,
        _ => Context::Download,
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
        head.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Ok => "0 (ok)",
        Status::Error => "1 (error / refused)",
    }
}

/// Decodes one connection's two streams.
pub(crate) fn decode(
    to_server: &Stream,
    to_client: &Stream,
    limits: &Limits,
) -> (Vec<Message>, Vec<Anomaly>) {
    let mut out = Out {
        messages: Vec::new(),
        anomalies: Vec::new(),
    };
    let mut c = Cursor::new(to_server, Direction::ToServer);
    let mut s = Cursor::new(to_client, Direction::ToClient);
    run(&mut c, &mut s, &mut out, limits);
    c.trailing(&mut out);
    s.trailing(&mut out);
    (out.messages, out.anomalies)
}

fn run(c: &mut Cursor<'_>, s: &mut Cursor<'_>, out: &mut Out, limits: &Limits) {
    let Some((mut first, fields, start, len)) =
        c.decode(out, "request", |r| ClientMessage::read(r, limits, true))
    else {
        refusal(c, s, out, limits);
        return;
    };
    if let ClientMessage::Auth(credentials) = &first {
        out.messages.push(c.message(
            Some(Op::Auth),
            "request",
            format!(
                "AUTH as \"{}\" (password in the clear)",
                escape(credentials.user().as_bytes())
            ),
            fields,
            start,
            len,
        ));
        out.note(
            AnomalyKind::ClearTextPassword,
            Direction::ToServer,
            start,
            format!("the password of \"{}\" crosses the network in the clear: anyone capturing can read it", escape(credentials.user().as_bytes())),
            format!("a senha de \"{}\" atravessa a rede em texto claro: qualquer um que capture pode lê-la", escape(credentials.user().as_bytes())),
        );
        let Some((reply, fields, start, len)) = s.decode(out, "login reply", |b| {
            Reply::read(b, Expect::Status, limits)
        }) else {
            return;
        };
        let Reply::Status(status) = reply else { return };
        out.messages.push(s.message(
            Some(Op::Auth),
            "reply",
            format!("login status {}", status_word(status)),
            fields,
            start,
            len,
        ));
        if status == Status::Error {
            return;
        }
        let Some((next, fields, start, len)) =
            c.decode(out, "request", |r| ClientMessage::read(r, limits, true))
        else {
            refusal(c, s, out, limits);
            return;
        };
        if let ClientMessage::Auth(_) = next {
            out.messages.push(c.message(
                Some(Op::Auth),
                "request",
                "a second AUTH (an unknown op at this point)".into(),
                fields,
                start,
                len,
            ));
            out.note(
                AnomalyKind::UnknownOp,
                Direction::ToServer,
                start,
                "a second AUTH on one connection is an unknown op; the server answers status 1".into(),
                "um segundo AUTH na mesma conexão é uma operação desconhecida; o servidor responde status 1".into(),
            );
            if let Some((_, fields, start, len)) =
                s.decode(out, "reply", |b| Reply::read(b, Expect::Status, limits))
            {
                out.messages.push(s.message(
                    Some(Op::Auth),
                    "reply",
                    "status 1 (refused)".into(),
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
    if let Some((Reply::Status(status), fields, start, len)) =
        s.decode(out, "refusal", |r| Reply::read(r, Expect::Status, limits))
    {
        let summary = match status {
            Status::Error => {
                "status 1: refused (the request broke the protocol); the server closes".to_owned()
            }
            Status::Ok => "status 0 after a request that broke the protocol".to_owned(),
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
    let summary = match &request {
        Request::Download { name } => format!("DOWNLOAD \"{name}\""),
        Request::List => "LIST".into(),
        Request::Upload { name } => format!("UPLOAD \"{name}\""),
        Request::Resume { name, position, .. } => format!("RESUME \"{name}\" from byte {position}"),
        Request::MGet { mask } => format!("MGET \"{}\"", escape(mask.as_str().as_bytes())),
    };
    out.messages
        .push(c.message(Some(op), "request", summary, fields, start, len));
    let reply = |s: &mut Cursor<'_>, out: &mut Out, what: &str, expect: Expect| {
        s.decode(out, what, |r| Reply::read(r, expect, limits))
    };
    match request {
        Request::Download { .. } => {
            let Some((r, fields, start, len)) = reply(s, out, "download reply", Expect::Download)
            else {
                return;
            };
            match r {
                Reply::Download { size } => {
                    out.messages.push(s.message(
                        Some(op),
                        "reply",
                        format!("status 0: the file follows, {size} bytes"),
                        fields,
                        start,
                        len,
                    ));
                    if let Some(body) = s.body(out, size.into(), op, "download") {
                        out.messages.push(body);
                    }
                }
                _ => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    "status 1: no such file, or refused".into(),
                    fields,
                    start,
                    len,
                )),
            }
        }
        Request::List => {
            let Some((r, fields, start, len)) = reply(s, out, "listing", Expect::Listing) else {
                return;
            };
            let summary = match &r {
                Reply::Listing(json) => match parse_listing(json) {
                    Ok(entries) => format!("status 0: listing of {} files", entries.len()),
                    Err(e) => {
                        out.note(
                            AnomalyKind::BadMessage,
                            Direction::ToClient,
                            start + 5,
                            format!("the listing is not valid: {e}"),
                            format!("a listagem não é válida: {e}"),
                        );
                        "status 0: a listing that is not valid JSON".into()
                    }
                },
                _ => "status 1: the server could not list".into(),
            };
            out.messages
                .push(s.message(Some(op), "reply", summary, fields, start, len));
        }
        Request::Upload { .. } => {
            let Some((r, fields, start, len)) = reply(s, out, "upload reply", Expect::Status)
            else {
                return;
            };
            let Reply::Status(status) = r else { return };
            out.messages.push(s.message(
                Some(op),
                "reply",
                format!("status {}", status_word(status)),
                fields,
                start,
                len,
            ));
            if status == Status::Error {
                return;
            }
            let Some((size, fields, start, len)) = c.decode(out, "upload size", read_upload_size)
            else {
                return;
            };
            out.messages.push(c.message(
                Some(op),
                "upload size",
                format!("{size} bytes follow"),
                fields,
                start,
                len,
            ));
            if let Some(body) = c.body(out, size.into(), op, "upload") {
                out.messages.push(body);
            }
            if let Some((Reply::Status(status), fields, start, len)) =
                reply(s, out, "final status", Expect::Status)
            {
                let what = if status == Status::Ok {
                    "stored"
                } else {
                    "not stored"
                };
                out.messages.push(s.message(
                    Some(op),
                    "final status",
                    format!("status {}: {what}", status_word(status)),
                    fields,
                    start,
                    len,
                ));
            }
        }
        Request::Resume { position, md5, .. } => {
            if position == 0 && md5 != EMPTY_MD5 {
                out.note(
                    AnomalyKind::Md5CannotMatch,
                    Direction::ToServer,
                    start,
                    "position 0 with an MD5 that is not the MD5 of nothing: it cannot match any file".into(),
                    "posição 0 com um MD5 que não é o MD5 do vazio: não pode conferir com arquivo algum".into(),
                );
            }
            let Some((r, fields, start, len)) = reply(s, out, "resume reply", Expect::Resume)
            else {
                return;
            };
            match r {
                Reply::Resume(ResumeOutcome::Ok { remaining }) => {
                    out.messages.push(s.message(
                        Some(op),
                        "reply",
                        format!("status 0, result 0: {remaining} bytes follow"),
                        fields,
                        start,
                        len,
                    ));
                    if let Some(body) = s.body(out, remaining.into(), op, "resumed download") {
                        out.messages.push(body);
                    }
                }
                Reply::Resume(ResumeOutcome::NoSuchFile) => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    "status 0, result 10: no such file".into(),
                    fields,
                    start,
                    len,
                )),
                Reply::Resume(ResumeOutcome::Mismatch) => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    "status 0, result 20: the MD5 does not match".into(),
                    fields,
                    start,
                    len,
                )),
                _ => out.messages.push(s.message(
                    Some(op),
                    "reply",
                    "status 1: refused".into(),
                    fields,
                    start,
                    len,
                )),
            }
        }
        Request::MGet { .. } => {
            let Some((r, fields, start, len)) = reply(s, out, "mget reply", Expect::MGetStart)
            else {
                return;
            };
            let Reply::MGetStart { count } = r else {
                out.messages.push(s.message(
                    Some(op),
                    "reply",
                    "status 1: bad mask or too many matches".into(),
                    fields,
                    start,
                    len,
                ));
                return;
            };
            out.messages.push(s.message(
                Some(op),
                "reply",
                format!("status 0: {count} files follow"),
                fields,
                start,
                len,
            ));
            for k in 1..=count {
                let Some((Reply::MGetEntry(MGetEntry { name, size }), fields, start, len)) =
                    reply(s, out, "entry", Expect::MGetEntry)
                else {
                    return;
                };
                let shown = match &name {
                    Ok(n) => format!("\"{n}\""),
                    Err(bad) => {
                        out.note(
                            AnomalyKind::BadMessage,
                            Direction::ToClient,
                            start,
                            format!("entry {k}: {bad}; a client must not write it"),
                            format!(
                                "entrada {k}: nome recusado ({}); um cliente não deve gravá-lo",
                                bad.error
                            ),
                        );
                        format!("\"{}\" (refused name)", escape(&bad.raw))
                    }
                };
                match size {
                    Some(size) => {
                        out.messages.push(s.message(
                            Some(op),
                            "entry",
                            format!("file {k} of {count}: {shown}, {size} bytes follow"),
                            fields,
                            start,
                            len,
                        ));
                        if let Some(body) =
                            s.body(out, size.into(), op, &format!("file {k} of {count}"))
                        {
                            out.messages.push(body);
                        }
                    }
                    None => out.messages.push(s.message(
                        Some(op),
                        "entry",
                        format!("file {k} of {count}: {shown} could not be read (skipped)"),
                        fields,
                        start,
                        len,
                    )),
                }
            }
        }
    }
}
