//! One direction of a TLS conversation, record by record (RFC 8446 §5):
//! each record a message with its fields; protected records opened when
//! the key log holds their secrets, what they carried kept as that
//! direction's decrypted stream.

use super::crypto::{Opener, Suite, TAG_LEN, inner};
use super::hello::{self, Hello};
use super::names;
use crate::field::Field;
use crate::trace::explain::{Context, view};
use crate::trace::reassembly::Stream;
use crate::trace::text::{Both, bytes, count, join, plain, say};
use crate::trace::transcript::{Anomaly, AnomalyKind, Direction, Layer, Message};

/// The longest record RFC 8446 allows on the wire (2^14 bytes of
/// plaintext plus 256 of protection); longer is not TLS.
const MAX_RECORD: u64 = (1 << 14) + 256;
/// TLS 1.3's version number.
pub(crate) const TLS13: u16 = 0x0304;

/// Where a piece of decrypted data sits, in the decrypted stream and in
/// the TCP stream (the record that carried it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece {
    pub plain: (u64, u64),
    pub record: (u64, u64),
}

/// One direction's secrets from the key log.
pub(crate) struct Secrets {
    pub handshake: Option<Vec<u8>>,
    pub application: Option<Vec<u8>>,
}

/// The openers of one direction: handshake records first, application
/// data after the sender's Finished.
struct Keys {
    handshake: Option<Opener>,
    application: Option<Opener>,
    in_application: bool,
}

impl Keys {
    fn open(&mut self, header: &[u8], fragment: &[u8]) -> Option<Vec<u8>> {
        if !self.in_application
            && let Some(plain) = self
                .handshake
                .as_mut()
                .and_then(|h| h.open(header, fragment))
        {
            return Some(plain);
        }
        // A key log without handshake secrets, or a Finished not seen:
        // the application secret is tried before giving up.
        let plain = self.application.as_mut()?.open(header, fragment)?;
        self.in_application = true;
        Some(plain)
    }
}

/// Handshake messages in decrypted records, which may span records: the
/// types that start and end in each record's bytes.
#[derive(Default)]
struct Scan {
    header: Vec<u8>,
    kind: u8,
    remaining: usize,
}

impl Scan {
    fn feed(&mut self, mut bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut started, mut ended) = (Vec::new(), Vec::new());
        while !bytes.is_empty() {
            if self.remaining == 0 {
                let n = (4 - self.header.len()).min(bytes.len());
                self.header.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if let [kind, a, b, c] = self.header[..] {
                    self.kind = kind;
                    self.remaining = u24([a, b, c]);
                    self.header.clear();
                    started.push(kind);
                    if self.remaining == 0 {
                        ended.push(kind);
                    }
                }
                continue;
            }
            let n = self.remaining.min(bytes.len());
            bytes = &bytes[n..];
            self.remaining -= n;
            if self.remaining == 0 {
                ended.push(self.kind);
            }
        }
        (started, ended)
    }
}

/// One direction, read record by record.
pub(crate) struct Side<'s> {
    stream: &'s Stream,
    dir: Direction,
    /// The version and suite the ServerHello chose, once known.
    pub version: Option<u16>,
    pub suite: Option<u16>,
    /// This direction's secrets from the key log: handshake, application.
    secrets: Option<Secrets>,
    keys: Option<Keys>,
    /// Bytes of a handshake message in the clear that continue in the
    /// next record.
    pending: u64,
    /// TLS 1.2: the sender sent change_cipher_spec, so what follows is
    /// encrypted.
    after_ccs: bool,
    scan: Scan,
    /// A record did not open: the rest stays encrypted.
    failed: bool,
    /// Every record was read, up to the stream's end.
    pub complete: bool,
    /// Records opened.
    pub opened: u64,
    /// Decrypted application data, when it arrived, and where it came from.
    pub plain: Vec<u8>,
    pub arrivals: Vec<(u64, u64, u64)>,
    pub pieces: Vec<Piece>,
    pub messages: Vec<Message>,
    pub anomalies: Vec<Anomaly>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// A handshake message's `u24` length.
pub(crate) fn u24(b: [u8; 3]) -> usize {
    usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2])
}

impl<'s> Side<'s> {
    pub(crate) fn new(stream: &'s Stream, dir: Direction, secrets: Option<Secrets>) -> Self {
        Side {
            stream,
            dir,
            version: None,
            suite: None,
            secrets,
            keys: None,
            pending: 0,
            after_ccs: false,
            scan: Scan::default(),
            failed: false,
            complete: false,
            opened: 0,
            plain: Vec::new(),
            arrivals: Vec::new(),
            pieces: Vec::new(),
            messages: Vec::new(),
            anomalies: Vec::new(),
        }
    }

    /// Whether every record was read and opened to the stream's end: only
    /// then does the decrypted stream end where the peer closed.
    pub(crate) fn opened_whole(&self) -> bool {
        self.complete && !self.failed
    }

    /// Reads every record, up to the end or the first that cannot be read.
    pub(crate) fn walk(&mut self) {
        let mut offset = 0;
        while let Some(next) = self.record(offset) {
            offset = next;
        }
    }

    fn note(&mut self, kind: AnomalyKind, offset: u64, sentence: Both) {
        self.anomalies
            .push(Anomaly::new(kind, Some(self.dir), Some(offset), sentence));
    }

    fn push(&mut self, start: u64, len: u64, summary: Both, spans: &[(Field, u64, u64, Context)]) {
        let fields = spans
            .iter()
            .map(|&(field, offset, len, context)| {
                view(&self.stream.bytes, field, offset, len, context)
            })
            .collect();
        let (en, pt, sentence) = summary.split();
        self.messages.push(Message {
            direction: self.dir,
            time_us: self.stream.time_of(start),
            offset: start,
            len,
            frames: Vec::new(),
            op: None,
            kind: "tls".into(),
            summary: en,
            summary_pt: pt,
            sentence,
            fields,
            payload: None,
            listing: None,
            layer: Layer::Tls,
            records: Vec::new(),
        });
    }

    /// Reads the record at `start`: the offset of the next one, or `None`
    /// where reading stops (the stream's end, a gap, bytes that are not a
    /// record), said in a note.
    fn record(&mut self, start: u64) -> Option<u64> {
        let bytes = self.stream.contiguous(start);
        let what = say("what.tls_record", &[]);
        if bytes.len() < 5 {
            self.complete = bytes.is_empty() && start == self.stream.len();
            self.stopped(start, bytes.len() as u64, &what);
            return None;
        }
        let (kind, version, len) = (bytes[0], u16_at(bytes, 1), u64::from(u16_at(bytes, 3)));
        let mut spans = vec![
            (Field::ContentType, start, 1, Context::Tls),
            (Field::RecordVersion, start + 1, 2, Context::Tls),
            (Field::RecordLength, start + 3, 2, Context::Tls),
        ];
        if names::content_type(kind).is_none() || version >> 8 != 3 || len > MAX_RECORD {
            self.push(start, 5, say("tls.not_record.summary", &[]), &spans);
            self.note(
                AnomalyKind::BadMessage,
                start,
                say("tls.not_record", &[("at", &plain(start))]),
            );
            return None;
        }
        let fragment = &bytes[5..bytes.len().min(5 + len as usize)];
        if (fragment.len() as u64) < len {
            self.push(start, 5, say("partial.summary", &[("what", &what)]), &spans);
            self.stopped(start, bytes.len() as u64, &what);
            return None;
        }
        let body = start + 5;
        let protected = kind == 23 || (self.after_ccs && self.version != Some(TLS13));
        let summary = if protected {
            self.protected(&bytes[..5], fragment, body, &mut spans)
        } else {
            match kind {
                22 => self.handshake(fragment, body, &mut spans),
                20 => {
                    spans.push((Field::ChangeCipherSpec, body, len, Context::Tls));
                    if self.version.is_some_and(|v| v != TLS13) {
                        self.after_ccs = true;
                        say("tls.ccs", &[])
                    } else {
                        say("tls.ccs13", &[])
                    }
                }
                21 if len == 2 => {
                    spans.push((Field::AlertLevel, body, 1, Context::Tls));
                    spans.push((Field::AlertDescription, body + 1, 1, Context::Tls));
                    alert(fragment)
                }
                _ => {
                    spans.push((Field::HandshakeBody, body, len, Context::Tls));
                    say(
                        "tls.other",
                        &[("kind", &plain(names::content_type(kind).unwrap_or("?")))],
                    )
                }
            }
        };
        self.push(start, 5 + len, summary, &spans);
        Some(body + len)
    }

    /// Says why reading stopped at `start` with `have` bytes there.
    fn stopped(&mut self, start: u64, have: u64, what: &Both) {
        let end = start + have;
        match self.stream.next_gap(start).filter(|&(g, _)| g <= end) {
            Some((gap, gap_end)) => self.note(
                AnomalyKind::Gap,
                gap,
                say(
                    "gap.inside",
                    &[
                        ("n", &bytes(gap_end - gap)),
                        ("at", &count(gap)),
                        ("what", what),
                    ],
                ),
            ),
            None if have == 0 => {} // the stream ends between records
            None if !self.stream.closed => self.note(
                AnomalyKind::Truncated,
                end,
                say("tls.capture_ends", &[("n", &plain(have))]),
            ),
            None => self.note(
                AnomalyKind::Truncated,
                end,
                say("truncated.middle", &[("what", what), ("n", &plain(have))]),
            ),
        }
    }

    /// Handshake messages in the clear: the hellos field by field, others
    /// whole; a message longer than the record continues in the next.
    fn handshake(
        &mut self,
        fragment: &[u8],
        base: u64,
        spans: &mut Vec<(Field, u64, u64, Context)>,
    ) -> Both {
        let mut parts = Vec::new();
        let mut pos = 0u64;
        let len = fragment.len() as u64;
        if self.pending > 0 {
            let n = self.pending.min(len);
            spans.push((Field::HandshakeBody, base, n, Context::Tls));
            self.pending -= n;
            pos = n;
            parts.push(say("tls.continued", &[]));
        }
        while pos < len {
            let rest = &fragment[pos as usize..];
            if rest.len() < 4 {
                spans.push((
                    Field::HandshakeBody,
                    base + pos,
                    rest.len() as u64,
                    Context::Tls,
                ));
                parts.push(say("tls.continued", &[]));
                break;
            }
            let kind = rest[0];
            let body_len = u24([rest[1], rest[2], rest[3]]) as u64;
            spans.push((Field::HandshakeType, base + pos, 1, Context::Tls));
            spans.push((Field::HandshakeLength, base + pos + 1, 3, Context::Tls));
            pos += 4;
            let avail = len - pos;
            let at = base + pos;
            if body_len > avail {
                spans.push((Field::HandshakeBody, at, avail, Context::Tls));
                self.pending = body_len - avail;
                parts.push(say(
                    "tls.continues",
                    &[("name", &plain(names::handshake(kind)))],
                ));
                break;
            }
            let body = &fragment[pos as usize..(pos + body_len) as usize];
            parts.push(self.handshake_message(kind, body, at, spans));
            pos += body_len;
        }
        join(parts, "; ")
    }

    /// One whole handshake message in the clear.
    fn handshake_message(
        &mut self,
        kind: u8,
        body: &[u8],
        at: u64,
        spans: &mut Vec<(Field, u64, u64, Context)>,
    ) -> Both {
        let whole = |spans: &mut Vec<_>| {
            spans.push((Field::HandshakeBody, at, body.len() as u64, Context::Tls))
        };
        if kind != 1 && kind != 2 {
            if !body.is_empty() {
                whole(spans);
            }
            return plain(names::handshake(kind));
        }
        let (client, context) = match kind {
            1 => (true, Context::ClientHello),
            _ => (false, Context::ServerHello),
        };
        let (hello, read) = hello::read(body, at, client);
        let Ok(hello) = hello else {
            whole(spans);
            self.note(
                AnomalyKind::BadMessage,
                at,
                say("tls.bad_hello", &[("name", &plain(names::handshake(kind)))]),
            );
            return plain(names::handshake(kind));
        };
        spans.extend(read.iter().map(|s| (s.field, s.offset, s.len, context)));
        let summary = summarize(&hello, client);
        if !client {
            // A HelloRetryRequest chooses too (TLS 1.3 and a suite); the
            // ServerHello after it says the same.
            self.version = Some(hello.chosen_version());
            self.suite = hello.suites.first().copied();
        }
        summary
    }

    /// A protected record: its fields, opened when the keys allow.
    fn protected(
        &mut self,
        header: &[u8],
        fragment: &[u8],
        body: u64,
        spans: &mut Vec<(Field, u64, u64, Context)>,
    ) -> Both {
        let len = fragment.len() as u64;
        let tls13 = self.version == Some(TLS13);
        if tls13 && len >= TAG_LEN as u64 {
            let sealed = len - TAG_LEN as u64;
            spans.push((Field::Encrypted, body, sealed, Context::Tls));
            spans.push((Field::AuthTag, body + sealed, TAG_LEN as u64, Context::Tls));
        } else {
            spans.push((Field::Encrypted, body, len, Context::Tls));
        }
        let sealed = say("tls.sealed", &[("n", &bytes(len))]);
        if !tls13 || self.failed {
            return sealed;
        }
        if self.keys.is_none() {
            let suite = self.suite.and_then(Suite::from_id);
            let (Some(suite), Some(secrets)) = (suite, &self.secrets) else {
                return sealed;
            };
            let opener =
                |secret: &Option<Vec<u8>>| secret.as_deref().and_then(|s| Opener::new(suite, s));
            self.keys = Some(Keys {
                handshake: opener(&secrets.handshake),
                application: opener(&secrets.application),
                in_application: false,
            });
        }
        let start = body - 5;
        let opened = self.keys.as_mut().and_then(|k| k.open(header, fragment));
        let Some((kind, content)) = opened.as_deref().and_then(inner) else {
            // Without a handshake secret, the handshake's records cannot
            // open: the application secret is tried on each until one does.
            if self
                .keys
                .as_ref()
                .is_some_and(|k| k.handshake.is_none() && !k.in_application)
            {
                return sealed;
            }
            self.failed = true;
            self.note(
                AnomalyKind::Encrypted,
                start,
                say("tls.open_failed", &[("at", &plain(start))]),
            );
            return sealed;
        };
        self.opened += 1;
        let record = (start, body + len);
        self.inside(kind, content, len, start, record)
    }

    /// What an opened record held: data for the decrypted stream (kept
    /// with the record that carried it), handshake messages (which move
    /// the key schedule on), an alert, or another content type.
    fn inside(
        &mut self,
        kind: u8,
        content: &[u8],
        len: u64,
        start: u64,
        record: (u64, u64),
    ) -> Both {
        match kind {
            23 => {
                let from = self.plain.len() as u64;
                self.plain.extend_from_slice(content);
                let to = self.plain.len() as u64;
                if to > from {
                    let time = self.stream.time_of(start).unwrap_or(0);
                    self.arrivals.push((from, to, time));
                    self.pieces.push(Piece {
                        plain: (from, to),
                        record,
                    });
                }
                say(
                    "tls.opened.data",
                    &[("n", &bytes(len)), ("m", &bytes(content.len() as u64))],
                )
            }
            22 => {
                let (started, ended) = self.scan.feed(content);
                if let Some(keys) = self.keys.as_mut() {
                    if ended.contains(&20) {
                        keys.in_application = true;
                    }
                    if ended.contains(&24) {
                        keys.application = keys.application.as_ref().and_then(Opener::updated);
                    }
                }
                let names: Vec<String> = started.into_iter().map(names::handshake).collect();
                let names = match names.is_empty() {
                    true => say("tls.continued", &[]),
                    false => plain(names.join(", ")),
                };
                say(
                    "tls.opened.handshake",
                    &[("n", &bytes(len)), ("names", &names)],
                )
            }
            21 => {
                let alert = alert(content);
                say("tls.opened.alert", &[("n", &bytes(len)), ("alert", &alert)])
            }
            other => say(
                "tls.opened.other",
                &[("n", &bytes(len)), ("kind", &plain(other))],
            ),
        }
    }
}

/// An alert's two bytes in words.
fn alert(bytes: &[u8]) -> Both {
    let level = match bytes.first() {
        Some(2) => "fatal",
        Some(1) => "warning",
        _ => "?",
    };
    let name = bytes
        .get(1)
        .map_or_else(|| "?".into(), |&b| names::alert(b));
    say(
        "tls.alert",
        &[("name", &plain(name)), ("level", &plain(level))],
    )
}

/// A hello in one line.
fn summarize(hello: &Hello, client: bool) -> Both {
    let none = say("word.none", &[]);
    let list = |items: Vec<String>| match items.is_empty() {
        true => none.clone(),
        false => plain(items.join(", ")),
    };
    if client {
        let versions = match hello.versions.is_empty() {
            true => vec![hello.legacy_version],
            false => hello.versions.clone(),
        };
        let versions = versions
            .into_iter()
            .filter(|&v| !names::is_grease(v))
            .map(names::version)
            .collect();
        let name = hello.server_name.clone().map_or(none.clone(), plain);
        return say(
            "tls.client_hello",
            &[
                ("versions", &list(versions)),
                ("n", &plain(hello.suites.len())),
                ("alpn", &list(hello.alpn.clone())),
                ("name", &name),
            ],
        );
    }
    if hello.retry {
        let groups = list(hello.groups.iter().map(|&g| names::group(g)).collect());
        return say("tls.retry", &[("group", &groups)]);
    }
    let suite = hello
        .suites
        .first()
        .map_or_else(String::new, |&s| names::suite(s));
    say(
        "tls.server_hello",
        &[
            ("version", &plain(names::version(hello.chosen_version()))),
            ("suite", &plain(suite)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_messages_are_seen_across_records() {
        let mut scan = Scan::default();
        // EncryptedExtensions (2 bytes), then a Certificate of 5 bytes cut
        // in three, its header split too.
        let (started, ended) = scan.feed(&[8, 0, 0, 2, 0, 0, 11, 0]);
        assert_eq!((started, ended), (vec![8], vec![8]));
        let (started, ended) = scan.feed(&[0, 5, 1, 2]);
        assert_eq!((started, ended), (vec![11], vec![]));
        let (started, ended) = scan.feed(&[3, 4, 5, 20, 0, 0, 0]);
        assert_eq!((started, ended), (vec![20], vec![11, 20]));
    }
}
