//! A cursor on one direction's stream: it reads the next message with the
//! protocol's own decoders, summarizes bodies, and says why it stops
//! (a gap, the stream's end, bytes that break the protocol).

use md5::{Digest, Md5};

use super::what::{Kind, What};
use super::words::{error_text, preview};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::field::Field;
use crate::message::Op;
use crate::name::hex;
use crate::trace::explain::{Context, view};
use crate::trace::reassembly::Stream;
use crate::trace::text::{Both, bytes, count, plain, say};
use crate::trace::transcript::{
    Anomaly, AnomalyKind, Direction, FieldView, Layer, Message, Payload,
};
use crate::wire::Reader;

/// What a conversation's decoding says: its messages and findings.
pub(super) struct Out {
    pub messages: Vec<Message>,
    pub anomalies: Vec<Anomaly>,
    /// The streams were decrypted from TLS records.
    pub decrypted: bool,
}

impl Out {
    pub(super) fn note(&mut self, kind: AnomalyKind, dir: Direction, offset: u64, sentence: Both) {
        self.anomalies
            .push(Anomaly::new(kind, Some(dir), Some(offset), sentence));
    }
}

/// One message read at a cursor: its value, and where its bytes are.
pub(super) struct Read<T> {
    pub value: T,
    pub at: Place,
}

/// Where a message's bytes are in its stream, and its fields.
pub(super) struct Place {
    pub fields: Vec<FieldView>,
    pub start: u64,
    pub len: u64,
}

pub(super) struct Cursor<'a> {
    stream: &'a Stream,
    offset: u64,
    dir: Direction,
    stopped: bool,
    /// A message broke the protocol (as opposed to the stream ending).
    pub failed: bool,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(stream: &'a Stream, dir: Direction) -> Self {
        Cursor {
            stream,
            offset: 0,
            dir,
            stopped: false,
            failed: false,
        }
    }

    /// The capture began after this direction did (no SYN seen).
    pub(super) fn mid_stream(&self) -> bool {
        self.stream.started_mid_stream
    }

    /// Decodes one message at the cursor, or records why it cannot. A
    /// message that breaks the protocol is still shown, with the fields read
    /// before the problem.
    pub(super) fn read<T>(
        &mut self,
        out: &mut Out,
        what: What,
        parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Option<Read<T>> {
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
            .map(|span| self.field(span.field, start + span.offset, span.len, what.context()))
            .collect();
        let error = match result {
            Ok(value) => {
                self.offset += consumed;
                let at = Place {
                    fields,
                    start,
                    len: consumed,
                };
                return Some(Read { value, at });
            }
            Err(error) => error,
        };
        self.stopped = true;
        let at = Place {
            len: fields
                .iter()
                .map(|f| f.offset + f.len)
                .max()
                .unwrap_or(start)
                - start,
            fields,
            start,
        };
        match error.kind {
            DecodeErrorKind::Truncated => self.cut(out, what, at, bytes.len() as u64),
            _ => self.broken(out, what, at, &error, bytes.first().copied()),
        }
        None
    }

    /// A message the stream ends in, or a gap cuts: the fields captured
    /// before a gap are still shown, the message marked.
    fn cut(&self, out: &mut Out, what: What, at: Place, have: u64) {
        let words = say(what.key(), &[]);
        let start = at.start;
        let end = start + have;
        let gap = self.stream.next_gap(start).filter(|&(g, _)| g <= end);
        if gap.is_some() && !at.fields.is_empty() {
            let kind = match self.dir {
                Direction::ToServer => Kind::Request,
                Direction::ToClient => Kind::Reply,
            };
            let summary = say("partial.summary", &[("what", &words)]);
            self.push(out, None, kind, summary, at);
        }
        let (kind, offset, sentence) = match gap {
            Some((gap_start, gap_end)) => (
                AnomalyKind::Gap,
                gap_start,
                say(
                    "gap.inside",
                    &[
                        ("n", &bytes(gap_end - gap_start)),
                        ("at", &count(gap_start)),
                        ("what", &words),
                    ],
                ),
            ),
            None if have == 0 => (
                AnomalyKind::Truncated,
                start,
                say("truncated.before", &[("what", &words)]),
            ),
            None => (
                AnomalyKind::Truncated,
                end,
                say("truncated.middle", &[("what", &words), ("n", &plain(have))]),
            ),
        };
        out.note(kind, self.dir, offset, sentence);
    }

    /// A message that breaks the protocol: shown with what was read, and
    /// why.
    fn broken(
        &mut self,
        out: &mut Out,
        what: What,
        mut at: Place,
        error: &DecodeError,
        first: Option<u8>,
    ) {
        self.failed = true;
        let words = say(what.key(), &[]);
        let offset = at.start + error.offset;
        let kind = match error.kind {
            DecodeErrorKind::UnknownOp(_) => AnomalyKind::UnknownOp,
            _ => AnomalyKind::BadMessage,
        };
        let op = first
            .and_then(Op::from_byte)
            .filter(|_| self.dir == Direction::ToServer);
        at.len = at.len.max(1);
        let why = error_text(&error.kind);
        let summary = say("broken.summary", &[("what", &words), ("error", &why)]);
        self.push(out, op, Kind::Malformed, summary, at);
        let args = [("at", &plain(offset)), ("what", &words), ("error", &why)];
        out.note(kind, self.dir, offset, say("broken.note", &args));
    }

    fn field(&self, name: Field, offset: u64, len: u64, context: Context) -> FieldView {
        view(&self.stream.bytes, name, offset, len, context)
    }

    /// Summarizes a body of `size` bytes at the cursor, `label` saying
    /// whose (a download, an upload, an entry of a batch).
    pub(super) fn body(&mut self, out: &mut Out, size: u64, op: Op, label: &Both) {
        if self.stopped {
            return;
        }
        let start = self.offset;
        let end = start + size;
        let have_end = end.min(self.stream.len());
        let captured = have_end.saturating_sub(start) - self.stream.missing_in(start, have_end);
        self.body_notes(out, start, size, captured, label);
        // The bytes captured from the body's start (all of it when whole).
        let held = self.stream.get(start, size);
        let md5 = (captured == size).then(|| hex(&Md5::digest(held)));
        let mut field = self.field(Field::Body, start, have_end - start, Context::Download);
        field.value = bytes(size).en;
        self.offset = end;
        let summary = say("body.summary", &[("label", label), ("size", &bytes(size))]);
        let at = Place {
            fields: vec![field],
            start,
            len: size,
        };
        let mut message = self.message(Some(op), Kind::Body, summary, at);
        message.payload = Some(Payload {
            size,
            captured,
            md5,
            preview: preview(held),
        });
        out.messages.push(message);
    }

    /// Says what of a body the capture lacks: its end (and whether the
    /// connection closed or the capture ended first), or bytes inside.
    fn body_notes(&mut self, out: &mut Out, start: u64, size: u64, captured: u64, label: &Both) {
        let len = self.stream.len();
        if start + size > len {
            let key = match self.stream.closed {
                true => "body.truncated",
                false => "body.capture_ends",
            };
            let args = [
                ("label", label),
                ("size", &bytes(size)),
                ("n", &bytes(len - start)),
            ];
            out.note(AnomalyKind::Truncated, self.dir, len, say(key, &args));
            self.stopped = true;
        }
        if captured < (start + size).min(len).saturating_sub(start) {
            let args = [
                ("label", label),
                ("n", &count(size - captured)),
                ("size", &bytes(size)),
            ];
            out.note(AnomalyKind::Gap, self.dir, start, say("body.gap", &args));
        }
    }

    /// A message of this direction at `at`.
    pub(super) fn message(&self, op: Option<Op>, kind: Kind, summary: Both, at: Place) -> Message {
        let (en, pt, sentence) = summary.split();
        Message {
            direction: self.dir,
            time_us: self.stream.time_of(at.start),
            offset: at.start,
            len: at.len,
            frames: Vec::new(),
            op,
            kind: kind.as_str().into(),
            summary: en,
            summary_pt: pt,
            sentence,
            fields: at.fields,
            listing: None,
            layer: Layer::Ferry,
            records: Vec::new(),
            payload: None,
        }
    }

    /// Adds a message of this direction at `at` to `out`.
    pub(super) fn push(&self, out: &mut Out, op: Option<Op>, kind: Kind, summary: Both, at: Place) {
        out.messages.push(self.message(op, kind, summary, at));
    }

    /// Reports bytes left after the exchange, named by who sent them (and
    /// why none were read, when the capture began mid-connection).
    pub(super) fn trailing(&self, out: &mut Out) {
        if self.stopped || self.offset >= self.stream.len() {
            return;
        }
        let extra = self.stream.len() - self.offset;
        let key = match (self.stream.started_mid_stream && self.offset == 0, self.dir) {
            (true, Direction::ToServer) => "trailing.mid_stream.to_server",
            (true, Direction::ToClient) => "trailing.mid_stream.to_client",
            (false, Direction::ToServer) => "trailing.to_server",
            (false, Direction::ToClient) => "trailing.to_client",
        };
        let sentence = say(key, &[("n", &bytes(extra))]);
        out.note(AnomalyKind::TrailingBytes, self.dir, self.offset, sentence);
    }
}
