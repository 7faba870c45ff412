//! TLS conversations in a capture: the record layer and the hellos shown
//! field by field, and, with a key log, TLS 1.3 records opened so the ferry
//! messages inside are decoded as in a plain capture.
//!
//! - `records`: one direction, record by record;
//! - `hello`: the ClientHello and ServerHello;
//! - `crypto`: traffic keys and record opening;
//! - `keylog`: the secrets an `SSLKEYLOGFILE` holds;
//! - `names`, `explain`, `text`: the words.

mod crypto;
mod explain;
mod hello;
mod keylog;
mod names;
mod records;
pub(crate) mod text;

pub(crate) use explain::describe;
pub use keylog::{KeyLog, KeyLogError};

use super::reassembly::Stream;
use super::text::{Both, join, plain, say};
use super::transcript::{Anomaly, AnomalyKind, Direction, Message, Tls};
use hello::Hello;
use records::{Piece, Secrets, Side, TLS13};

/// The ALPN id ferry's client offers and its server requires.
const FERRY_ALPN: &str = "ferry";

/// How a client stream opens, if it opens with a TLS ClientHello.
pub(crate) enum Opening {
    /// Not TLS.
    NotTls,
    /// A ClientHello; `ferry` is whether it offers ferry's ALPN id.
    Tls { ferry: bool },
}

/// Whether the client's first bytes are a TLS record carrying a
/// ClientHello.
pub(crate) fn opening(up: &Stream) -> Opening {
    match up.contiguous(0) {
        [22, 3, _, _, _, 1, ..] => Opening::Tls {
            ferry: client_hello(up).is_some_and(|h| h.alpn.iter().any(|p| p == FERRY_ALPN)),
        },
        _ => Opening::NotTls,
    }
}

/// The ClientHello at the start of a client stream, when one record holds
/// it whole.
fn client_hello(up: &Stream) -> Option<Hello> {
    let bytes = up.contiguous(0);
    let record = usize::from(u16::from_be_bytes([*bytes.get(3)?, *bytes.get(4)?]));
    let len = records::u24(bytes.get(6..9)?.try_into().ok()?);
    if len + 4 > record {
        return None;
    }
    hello::read(bytes.get(9..9 + len)?, 9, true).0.ok()
}

/// What carried some decrypted bytes: see [`Inside::carried`].
pub(crate) struct Carried {
    /// The records, by where they start in the TCP stream.
    pub records: Vec<u64>,
    /// The bytes' own ranges in the TCP stream, in order.
    pub ranges: Vec<(u64, u64)>,
}

/// A TLS conversation, read.
pub(crate) struct Decoded {
    /// One message per record, both directions.
    pub messages: Vec<Message>,
    pub anomalies: Vec<Anomaly>,
    pub info: Tls,
    /// What the opened records carried, when any opened.
    pub inside: Option<Inside>,
}

/// The decrypted streams of a conversation, and where each piece came
/// from.
pub(crate) struct Inside {
    pub to_server: Stream,
    pub to_client: Stream,
    up: Vec<Piece>,
    down: Vec<Piece>,
}

impl Inside {
    fn pieces(&self, dir: Direction) -> &[Piece] {
        match dir {
            Direction::ToServer => &self.up,
            Direction::ToClient => &self.down,
        }
    }

    /// What carried decrypted bytes `[start, end)` of `dir` (an empty
    /// range: the byte at `start`): the records, by where they start in
    /// the TCP stream, and the bytes' own ranges there (a record's bytes
    /// follow its 5-byte header one for one: the ciphers are stream
    /// ciphers).
    pub(crate) fn carried(&self, dir: Direction, start: u64, end: u64) -> Carried {
        let pieces = self.pieces(dir);
        let end = end.max(start + 1);
        let first = pieces.partition_point(|p| p.plain.1 <= start);
        let (records, ranges) = pieces[first..]
            .iter()
            .take_while(|p| p.plain.0 < end)
            .map(|p| {
                let body = p.record.0 + 5;
                let from = body + (start.max(p.plain.0) - p.plain.0);
                let to = body + (end.min(p.plain.1) - p.plain.0);
                (p.record.0, (from, to))
            })
            .unzip();
        Carried { records, ranges }
    }

    /// Where in the TCP stream the record carrying decrypted byte `offset`
    /// of `dir` starts.
    pub(crate) fn outer(&self, dir: Direction, offset: u64) -> Option<u64> {
        let pieces = self.pieces(dir);
        let i = pieces.partition_point(|p| p.plain.1 <= offset);
        pieces
            .get(i.min(pieces.len().saturating_sub(1)))
            .map(|p| p.record.0)
    }
}

/// Reads a TLS conversation, opening it with `keylog`'s secrets when it
/// holds this conversation's.
pub(crate) fn decode(up: &Stream, down: &Stream, keylog: &KeyLog) -> Decoded {
    let hello = client_hello(up);
    let secrets = hello.as_ref().and_then(|h| keylog.secrets(&h.random));
    let mut server = Side::new(
        down,
        Direction::ToClient,
        secrets.map(|s| Secrets {
            handshake: s.server_handshake.clone(),
            application: s.server_application.clone(),
        }),
    );
    server.walk();
    let mut client = Side::new(
        up,
        Direction::ToServer,
        secrets.map(|s| Secrets {
            handshake: s.client_handshake.clone(),
            application: s.client_application.clone(),
        }),
    );
    (client.version, client.suite) = (server.version, server.suite);
    client.walk();

    let info = Tls {
        version: server.version.map(names::version),
        cipher_suite: server.suite.map(names::suite),
        server_name: hello.as_ref().and_then(|h| h.server_name.clone()),
        alpn: hello.as_ref().map(|h| h.alpn.clone()).unwrap_or_default(),
        records_opened: client.opened + server.opened,
    };
    let mut anomalies = Vec::new();
    let lesson = lesson(
        &info,
        server.version,
        server.suite,
        keylog,
        secrets.map(|s| s.tls12),
    );
    anomalies.push(Anomaly::new(AnomalyKind::Encrypted, None, None, lesson));
    let inside = (info.records_opened > 0).then(|| Inside {
        to_server: Stream::decrypted(
            std::mem::take(&mut client.plain),
            std::mem::take(&mut client.arrivals),
            up.closed && client.opened_whole(),
        ),
        to_client: Stream::decrypted(
            std::mem::take(&mut server.plain),
            std::mem::take(&mut server.arrivals),
            down.closed && server.opened_whole(),
        ),
        up: std::mem::take(&mut client.pieces),
        down: std::mem::take(&mut server.pieces),
    });
    let mut messages = client.messages;
    messages.append(&mut server.messages);
    anomalies.append(&mut client.anomalies);
    anomalies.append(&mut server.anomalies);
    Decoded {
        messages,
        anomalies,
        info,
        inside,
    }
}

/// What the capture shows of this conversation, and why it could or could
/// not be opened.
fn lesson(
    info: &Tls,
    version: Option<u16>,
    suite: Option<u16>,
    keylog: &KeyLog,
    tls12_keys: Option<bool>,
) -> Both {
    let unknown = say("word.unknown", &[]);
    let version_name = info.version.clone().map_or(unknown.clone(), plain);
    let suite_name = info.cipher_suite.clone().map_or(unknown, plain);
    let about = say(
        "tls.lesson.about",
        &[("version", &version_name), ("suite", &suite_name)],
    );
    let why = if info.records_opened > 0 {
        say("tls.lesson.opened", &[("n", &plain(info.records_opened))])
    } else if version.is_some_and(|v| v != TLS13) {
        // Before the key log: no key log opens TLS 1.2 here.
        let held = match tls12_keys {
            Some(true) => say("tls.lesson.tls12_held", &[]),
            _ => plain(""),
        };
        say("tls.lesson.tls12", &[("held", &held)])
    } else if keylog.is_empty() {
        say("tls.lesson.no_keylog", &[])
    } else if tls12_keys.is_none() {
        say("tls.lesson.no_secrets", &[])
    } else if suite.is_some_and(|s| crypto::Suite::from_id(s).is_none()) {
        say("tls.lesson.suite", &[("suite", &suite_name)])
    } else {
        say("tls.lesson.not_opened", &[])
    };
    join(vec![about, why], " ")
}
