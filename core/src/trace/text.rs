//! Every sentence a transcript says, in English and in Portuguese: two
//! tables with the same keys, filled in by [`say`].
//!
//! A template names its values in braces (`{n}`, `{what}`); anything else in
//! braces (a JSON example, say) is left as it is. A value may itself be a
//! sentence in both languages (the `what` of a message), so each language
//! is assembled from its own words.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::{Deserialize, Serialize};

/// One sentence as the transcript carries it: a key of the sentence tables
/// and its arguments, which a front end puts into words in its language
/// ([`words`]); the decoder keeps the English and Portuguese words too.
///
/// Four keys are values rather than sentences: `text` (a name or a number
/// that reads the same in every language, in `args.text`), `count` (a
/// number, grouped by thousands in Portuguese, in `args.n`), `bytes` (a
/// number of bytes with its unit, in `args.n`) and `join` (the sentences
/// of `args.parts` with `args.sep` between them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// The sentence's key (`download.ok`), or `text`, `count`, `bytes`,
    /// `join`.
    pub key: String,
    /// Its values by name, each a text, a number or a sentence of its own.
    pub args: BTreeMap<String, Arg>,
    /// In English.
    #[serde(skip)]
    pub(crate) en: String,
    /// In Portuguese.
    #[serde(skip)]
    pub(crate) pt: String,
}

/// A value in a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    /// A number (of a `count` or `bytes` value).
    Number(u64),
    /// Text that reads the same in every language.
    Text(String),
    /// A sentence or value with its own key.
    Said(Said),
    /// Sentences one after another (of a `join`).
    List(Vec<Said>),
}

/// The sentences and values of a transcript, by the name the code uses.
pub(crate) type Both = Said;

impl Said {
    fn value(key: &str, name: &str, arg: Arg, en: String, pt: String) -> Self {
        Said {
            key: key.into(),
            args: BTreeMap::from([(name.into(), arg)]),
            en,
            pt,
        }
    }

    /// In English, or in Portuguese.
    pub(crate) fn pick(&self, portuguese: bool) -> &str {
        if portuguese { &self.pt } else { &self.en }
    }

    /// As an argument of another sentence: text stays text; a sentence
    /// keeps its key and arguments (its words are the outer sentence's).
    fn as_arg(&self) -> Arg {
        match (self.key.as_str(), self.args.get("text")) {
            ("text", Some(text)) => text.clone(),
            _ => Arg::Said(Said {
                key: self.key.clone(),
                args: self.args.clone(),
                en: String::new(),
                pt: String::new(),
            }),
        }
    }

    /// Its English and Portuguese words, and itself without them (what a
    /// transcript keeps beside the words).
    pub(crate) fn split(self) -> (String, String, Said) {
        let Said { key, args, en, pt } = self;
        let bare = Said {
            key,
            args,
            en: String::new(),
            pt: String::new(),
        };
        (en, pt, bare)
    }
}

/// A value that reads the same in both languages (a number, a name).
pub(crate) fn plain(value: impl Display) -> Both {
    let text = value.to_string();
    Said::value("text", "text", Arg::Text(text.clone()), text.clone(), text)
}

/// A count: digits in English, grouped by thousands in Portuguese.
pub(crate) fn count(n: u64) -> Both {
    Said::value("count", "n", Arg::Number(n), n.to_string(), grouped(n))
}

/// A number of bytes with its unit, in agreement: `1 byte`, `3145728
/// bytes`, and in Portuguese `3.145.728 bytes`.
pub(crate) fn bytes(n: u64) -> Both {
    let unit = if n == 1 { "byte" } else { "bytes" };
    let (en, pt) = (format!("{n} {unit}"), format!("{} {unit}", grouped(n)));
    Said::value("bytes", "n", Arg::Number(n), en, pt)
}

/// A count as [`localized`] sentences write it: plain digits in English,
/// grouped by thousands in Portuguese (`3.145.728`).
pub fn localized_count(n: u64, portuguese: bool) -> String {
    count(n).pick(portuguese).to_owned()
}

/// A number of bytes with its unit, as [`localized`] sentences write it
/// (`1 byte`, `3.145.728 bytes`).
pub fn localized_bytes(n: u64, portuguese: bool) -> String {
    bytes(n).pick(portuguese).to_owned()
}

/// `n` as Portuguese writes it, a dot between groups of three digits
/// (`3.145.728`); English text keeps plain digits, as JSON values always do.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(d);
    }
    out
}

/// `parts` one after another, `sep` between them.
pub(crate) fn join(parts: Vec<Both>, sep: &str) -> Both {
    let words = |portuguese: bool| {
        let all: Vec<&str> = parts.iter().map(|p| p.pick(portuguese)).collect();
        all.join(sep)
    };
    let (en, pt) = (words(false), words(true));
    let parts = parts.into_iter().map(|part| part.split().2).collect();
    Said {
        key: "join".into(),
        args: BTreeMap::from([
            ("parts".into(), Arg::List(parts)),
            ("sep".into(), Arg::Text(sep.into())),
        ]),
        en,
        pt,
    }
}

/// The sentence `key` in both languages, with `args` filled in.
pub(crate) fn say(key: &str, args: &[(&str, &Both)]) -> Both {
    Said {
        key: key.into(),
        args: args
            .iter()
            .map(|(name, value)| ((*name).into(), value.as_arg()))
            .collect(),
        en: fill(lookup(&ENGLISH, key), args, |b| &b.en),
        pt: fill(lookup(&PORTUGUESE, key), args, |b| &b.pt),
    }
}

/// A sentence of a transcript put into words, in Portuguese or English,
/// from its key and arguments alone: what a front end shows.
pub fn words(said: &Said, portuguese: bool) -> String {
    let arg = |name: &str| said.args.get(name);
    let number = || match arg("n") {
        Some(Arg::Number(n)) => *n,
        _ => 0,
    };
    match said.key.as_str() {
        "text" => match arg("text") {
            Some(Arg::Text(text)) => text.clone(),
            _ => String::new(),
        },
        "count" => localized_count(number(), portuguese),
        "bytes" => localized_bytes(number(), portuguese),
        "join" => {
            let sep = match arg("sep") {
                Some(Arg::Text(sep)) => sep.as_str(),
                _ => " ",
            };
            let parts: Vec<String> = match arg("parts") {
                Some(Arg::List(parts)) => parts.iter().map(|p| words(p, portuguese)).collect(),
                _ => Vec::new(),
            };
            parts.join(sep)
        }
        key => {
            let table = if portuguese { &PORTUGUESE } else { &ENGLISH };
            let args: Vec<(&str, Both)> = said
                .args
                .iter()
                .map(|(name, value)| {
                    let text = match value {
                        Arg::Number(n) => n.to_string(),
                        Arg::Text(text) => text.clone(),
                        Arg::Said(inner) => words(inner, portuguese),
                        Arg::List(parts) => {
                            let all: Vec<String> =
                                parts.iter().map(|p| words(p, portuguese)).collect();
                            all.join(" ")
                        }
                    };
                    (name.as_str(), plain(text))
                })
                .collect();
            let args: Vec<(&str, &Both)> = args.iter().map(|(k, v)| (*k, v)).collect();
            fill(lookup(table, key), &args, |b| &b.en)
        }
    }
}

/// One language's tables: the ferry protocol's sentences, then TLS's.
type Tables = [&'static [(&'static str, &'static str)]; 2];
static ENGLISH: Tables = [EN, super::tls::text::EN];
static PORTUGUESE: Tables = [PT, super::tls::text::PT];

/// The sentence `key` in Portuguese or English, with `args` filled in: the
/// words of the transcript's front ends (`ferry decode`, the teaching page).
/// An unknown key shows as itself.
pub fn localized(key: &str, portuguese: bool, args: &[(&str, &str)]) -> String {
    let table = if portuguese { &PORTUGUESE } else { &ENGLISH };
    let args: Vec<(&str, Both)> = args.iter().map(|(k, v)| (*k, plain(v))).collect();
    let args: Vec<(&str, &Both)> = args.iter().map(|(k, v)| (*k, v)).collect();
    fill(lookup(table, key), &args, |b| &b.en)
}

fn lookup<'t>(tables: &Tables, key: &'t str) -> &'t str {
    // A key missing from the tables (the tests forbid it) shows as itself.
    tables
        .iter()
        .flat_map(|table| table.iter())
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, text)| text)
}

fn fill(template: &str, args: &[(&str, &Both)], pick: impl Fn(&Both) -> &String) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            let (_, value) = args.iter().find(|(n, _)| *n == name)?;
            Some((pick(value), close))
        });
        match value {
            Some((value, close)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// English.
pub(crate) static EN: &[(&str, &str)] = &[
    // Fields.
    (
        "field.op",
        "Operation code: {byte} asks for {op}. A connection carries one operation, after a login (AUTH) if it has one.",
    ),
    (
        "field.op.unknown",
        "Operation code {byte} is not defined by the protocol: the server answers status 1 and closes.",
    ),
    (
        "field.name_len",
        "Length of the file name that follows: {n} (4 bytes, big-endian).",
    ),
    (
        "field.mask_len",
        "Length of the mask that follows: {n} (4 bytes, big-endian).",
    ),
    (
        "field.user_len",
        "Length of the user name that follows: {n} (4 bytes, big-endian).",
    ),
    (
        "field.pass_len",
        "Length of the password that follows: {n} (4 bytes, big-endian).",
    ),
    (
        "field.listing_len",
        "Length of the JSON listing that follows: {n} (4 bytes, big-endian).",
    ),
    (
        "field.name",
        "File name, relative to the served folder (UTF-8, '/' between folders).",
    ),
    (
        "field.mask",
        "Glob mask: '*' matches within a folder, '**' across folders.",
    ),
    (
        "field.user",
        "User name: a successful login opens this user's private folder.",
    ),
    (
        "field.pass",
        "The password, in the clear: anyone who captures this traffic can read it.",
    ),
    (
        "field.position",
        "Resume position: the client already holds the first {n}.",
    ),
    (
        "field.md5",
        "MD5 of the bytes the client holds, so the server can check they match its file.",
    ),
    ("field.size", "Size of the file data that follows: {n}."),
    (
        "field.remaining",
        "Bytes that follow, from the resume position to the end: {n}.",
    ),
    ("field.count", "Number of files that follow: {n}."),
    ("field.status", "Status {byte}: {meaning}."),
    ("field.result", "Result {byte}: {meaning}."),
    ("field.entry_status", "Entry status {byte}: {meaning}."),
    (
        "field.listing",
        "The listing: a JSON array of {\"nome\", \"tamanho\"} objects, sorted by name.",
    ),
    ("field.body", "File data, byte for byte as stored."),
    // What a status, a result or an entry status means where it stands.
    (
        "status.auth.ok",
        "login accepted: the next operation acts in the private folder",
    ),
    (
        "status.auth.error",
        "login denied: the server closes the connection",
    ),
    ("status.download.ok", "the file exists and follows"),
    (
        "status.download.error",
        "no such file (or refused); nothing more follows",
    ),
    ("status.list.ok", "the listing follows"),
    (
        "status.upload_first.ok",
        "upload accepted: the client may send the size and the data",
    ),
    (
        "status.upload_first.error",
        "upload refused: the data will not be read",
    ),
    ("status.upload_final.ok", "the file was stored"),
    ("status.upload_final.error", "the file was not stored"),
    (
        "status.resume.ok",
        "request accepted; a result code follows",
    ),
    (
        "status.refusal",
        "the request broke the protocol: refused, and the server closes",
    ),
    (
        "status.mget.ok",
        "the mask is valid; a count of files follows",
    ),
    ("status.ok", "success"),
    ("status.error", "error or refused; nothing more follows"),
    ("result.0", "the MD5 matches; the rest of the file follows"),
    ("result.10", "no such file"),
    (
        "result.20",
        "the MD5 does not match (or the position is past the end)",
    ),
    ("result.other", "a result the protocol does not define"),
    ("entry.0", "this file follows"),
    ("entry.10", "matched but could not be read: skipped"),
    (
        "entry.other",
        "an entry status the protocol does not define",
    ),
    // Status bytes in summaries.
    ("word.ok", "0 (ok)"),
    ("word.error", "1 (error or refused)"),
    // What a message is, as anomalies name it.
    ("what.request", "request"),
    ("what.login_reply", "login reply"),
    ("what.download_reply", "download reply"),
    ("what.listing", "listing"),
    ("what.upload_reply", "upload reply"),
    ("what.upload_size", "upload size"),
    ("what.final_status", "final status"),
    ("what.resume_reply", "resume reply"),
    ("what.mget_reply", "MGET reply"),
    ("what.entry", "MGET entry"),
    ("what.refusal", "refusal"),
    ("what.reply", "reply"),
    // Why bytes break the protocol.
    ("error.unknown_op", "unknown op {op}"),
    (
        "error.truncated",
        "the stream ended in the middle of a message",
    ),
    (
        "error.too_long",
        "{field} of {len} is over the limit of {limit}",
    ),
    ("error.bad_utf8", "{field} is not valid UTF-8"),
    ("error.empty", "{field} is empty"),
    ("error.bad_value", "{field} has the undefined value {value}"),
    (
        "error.bad_listing",
        "the listing is not valid JSON of the expected shape ({reason})",
    ),
    ("error.trailing", "bytes follow a complete message"),
    (
        "capture.not_a_capture",
        "not a pcap or pcapng capture (unknown file signature)",
    ),
    (
        "capture.bad_gzip",
        "a gzip file that cannot be decompressed: {why}",
    ),
    (
        "capture.gzip_too_large",
        "a gzip file that expands past {limit} (the limit for compressed captures)",
    ),
    ("name.empty", "the name is empty"),
    (
        "name.too_long",
        "the name of {len} is over the limit of {limit}",
    ),
    (
        "name.component_too_long",
        "a name component of {len} is over the limit of {limit}",
    ),
    ("name.bad_utf8", "the name is not valid UTF-8"),
    ("name.absolute", "the name is absolute (starts with '/')"),
    ("name.empty_component", "the name has an empty component"),
    ("name.dot", "the name has a '.' or '..' component"),
    ("name.slash", "a single name component cannot contain '/'"),
    ("name.backslash", "the name contains a backslash"),
    (
        "name.control",
        "the name contains the control character U+{code}",
    ),
    (
        "name.bidi",
        "the name contains the bidirectional control U+{code}",
    ),
    (
        "name.invisible",
        "the name contains the invisible character U+{code}, which makes two names look the same",
    ),
    (
        "name.looks_like",
        "the name contains U+{code}, which looks like '{like}'",
    ),
    (
        "name.reserved",
        "the name uses the reserved prefix '{prefix}'",
    ),
    // Anomalies of a message.
    (
        "gap.inside",
        "never captured: {n} at offset {at}, inside the {what}; this direction cannot be decoded past that point",
    ),
    ("truncated.before", "the stream ends before the {what}"),
    (
        "truncated.middle",
        "the stream ends in the middle of the {what} (after {n} of its bytes)",
    ),
    ("broken.summary", "the {what} breaks the protocol: {error}"),
    (
        "partial.summary",
        "the {what}, partly captured: its fields up to the missing bytes",
    ),
    (
        "broken.note",
        "the {what} breaks the protocol at byte {at}: {error}",
    ),
    (
        "body.truncated",
        "{label}: {size} announced, the connection closed after {n}",
    ),
    (
        "body.capture_ends",
        "{label}: {size} announced, {n} captured: the capture ends before the connection does (no FIN or RST captured), so the rest may well have arrived",
    ),
    (
        "body.gap",
        "{label}: never captured: {n} of its {size}; its MD5 cannot be computed",
    ),
    ("body.summary", "{label}: {size} of file data"),
    ("label.download", "download"),
    ("label.upload", "upload"),
    ("label.resumed", "resumed download"),
    ("label.entry", "file {k} of {count}"),
    (
        "trailing.to_server",
        "after the end of the exchange: {n} more from the client, which a server ignores",
    ),
    (
        "trailing.to_client",
        "after the end of the exchange: {n} more from the server, which a client ignores",
    ),
    (
        "trailing.mid_stream.to_server",
        "not decoded: {n} from the client; the capture began in the middle of this connection, so what it holds does not start at a message",
    ),
    (
        "trailing.mid_stream.to_client",
        "not decoded: {n} from the server; the capture began in the middle of this connection, so what it holds does not start at a message",
    ),
    // Summaries and anomalies of each operation.
    ("auth.summary", "AUTH as \"{user}\" (password in the clear)"),
    (
        "auth.clear",
        "the password of \"{user}\" crosses the network in the clear: anyone capturing can read it; TLS (ferry serve --tls-port, tls:// addresses) encrypts it",
    ),
    ("auth.reply", "login status {status}"),
    ("auth.second", "a second AUTH (an unknown op at this point)"),
    (
        "auth.second.note",
        "a second AUTH on one connection is an unknown op; the server answers status 1",
    ),
    ("reply.refused", "status 1 (refused)"),
    (
        "refusal.error",
        "status 1: refused (the request broke the protocol); the server closes",
    ),
    (
        "refusal.ok",
        "status 0 after a request that broke the protocol",
    ),
    ("resume.summary", "RESUME \"{name}\" from byte {position}"),
    ("download.ok", "status 0: the file follows, {size}"),
    ("download.error", "status 1: no such file, or refused"),
    ("list.ok", "status 0: listing of {n} files"),
    (
        "list.invalid.summary",
        "status 0: a listing that is not valid JSON",
    ),
    ("list.error", "status 1: the server could not list"),
    ("reply.status", "status {status}"),
    ("upload.size", "the file follows: {size}"),
    ("upload.stored", "status {status}: stored"),
    ("upload.not_stored", "status {status}: not stored"),
    (
        "resume.cannot_match",
        "position 0 with an MD5 that is not the MD5 of nothing: it cannot match any file",
    ),
    ("resume.ok", "status 0, result 0: the rest follows, {n}"),
    ("resume.none", "status 0, result 10: no such file"),
    (
        "resume.mismatch",
        "status 0, result 20: the MD5 does not match",
    ),
    ("resume.refused", "status 1: refused"),
    ("mget.error", "status 1: bad mask or too many matches"),
    ("mget.ok", "status 0: {count} files follow"),
    (
        "entry.refused.note",
        "entry {k}: refused name ({reason}); a client must not write it",
    ),
    ("entry.refused.name", "\"{name}\" (refused name)"),
    ("entry.file", "file {k} of {count}: {name}, {size}"),
    (
        "entry.skipped",
        "file {k} of {count}: {name} could not be read (skipped)",
    ),
    // The capture as a whole, and each connection.
    (
        "note.not_tcp",
        "{n} packets are not TCP over IPv4/IPv6 and were skipped",
    ),
    (
        "note.not_decoded",
        "{n} TCP connection(s) not decoded: {list}",
    ),
    (
        "skipped.port",
        "{client} → {server}: port {port} is not a ferry port here, and its first bytes are not a ferry request (if it carries ferry, try --port {port})",
    ),
    (
        "skipped.no_syn",
        "{client} ↔ {server}: it started before the capture (no SYN captured), so its first bytes may be in the middle of a message (if it carries ferry, try --port {port})",
    ),
    (
        "note.link",
        "packets with link type {link} cannot be read and were skipped",
    ),
    (
        "note.snaplen",
        "{n} packets were cut by the capture's snap length; their missing bytes show as gaps",
    ),
    (
        "note.cut_short",
        "the file ends in the middle of a record (was the capture interrupted?)",
    ),
    (
        "note.not_kept",
        "the capture is too large to keep every byte in memory: the bytes of conversations {list} cannot be shown or saved",
    ),
    ("dir.to_server", "client to server"),
    ("dir.to_client", "server to client"),
    (
        "tcp.retransmission",
        "{dir} ({n}, frames {frames}): segments captured again (retransmissions): the sender got no acknowledgement in time, or three duplicate ones, and sent the same bytes again; the transfer lost that time",
    ),
    (
        "tcp.out_of_order",
        "{dir} ({n}, frames {frames}): segments captured out of order: each filled a hole behind bytes already seen, so the receiver held the later bytes until the hole was filled",
    ),
    (
        "tcp.duplicate_ack",
        "{dir} ({n}, frames {frames}): duplicate acknowledgements: the receiver acknowledged the same byte again, as it does for each segment that arrives after a missing one; three make the sender retransmit at once (fast retransmit)",
    ),
    (
        "tcp.zero_window",
        "{dir} ({n}, frames {frames}): zero window: the receiver's buffer was full, so the sender had to stop until the window opened; the transfer was paced by the reading application, not by the network",
    ),
    (
        "tcp.window_update",
        "{dir} ({n}, frames {frames}): window updates: the receiver read from its buffer and announced room again, so the sender may go on",
    ),
    (
        "tcp.probe",
        "{dir} ({n}, frames {frames}): probes: a segment one byte behind what its sender had sent, asking whether a zero window has opened (or whether the peer is still there)",
    ),
    (
        "stream.conflicts",
        "{dir} ({n}): overlapping segments with different bytes (the first seen is kept)",
    ),
    (
        "stream.mid_stream",
        "{dir}: the capture starts after the connection did; offsets count from the first byte captured",
    ),
    (
        "stream.capped",
        "{dir}: the stream is longer than the decoding limit and was cut",
    ),
    ("conn.reset", "the connection was reset (RST from {addr})"),
    // ferry decode's own words.
    (
        "ui.header",
        "{format} capture, {packets} packets, {n} ferry connections; times in seconds from the first packet",
    ),
    (
        "ui.legend",
        "Under each message: field, stream bytes, hex, value, meaning.",
    ),
    (
        "ui.connection",
        "Connection {i}: client {client}, server {server}; {up} from the client, {down} from the server",
    ),
    ("ui.frame", "frame"),
    ("ui.time", "time"),
    ("ui.client", "client"),
    ("ui.server", "server"),
    ("ui.more_frames", "(+{n} more)"),
    ("ui.stream_bytes", "stream bytes {from} to {to}"),
    ("ui.no_bytes", "no bytes"),
    ("ui.syn", "SYN: opens the connection"),
    ("ui.syn_ack", "SYN, ACK: accepts the connection"),
    (
        "ui.handshake_ack",
        "ACK: the connection is open (three-way handshake done)",
    ),
    ("ui.fin", "FIN: this side has nothing more to send"),
    ("ui.role.ack", "ACK: acknowledges data, carries none"),
    ("ui.role.run", "{what} ({n} such segments)"),
    (
        "ui.role.duplicate_ack",
        "duplicate ACK: the same byte acknowledged again (a segment before it is missing)",
    ),
    (
        "ui.role.zero_window",
        "zero window: this side's buffer is full; the other must wait",
    ),
    (
        "ui.role.window_update",
        "window update: room again; the other side may send",
    ),
    ("ui.role.probe", "probe: has the window opened?"),
    (
        "ui.role.retransmission",
        "retransmission: these bytes were sent before",
    ),
    (
        "ui.role.out_of_order",
        "out of order: fills a hole behind later bytes",
    ),
    ("ui.rst", "RST: the connection is aborted"),
    (
        "ui.payload",
        "payload: {captured} of {size} captured, MD5 {md5}",
    ),
    ("ui.incomplete", "not computed (bytes missing)"),
    ("ui.starts", "starts with: {preview}"),
    ("ui.listing", "files listed ({n}):"),
    ("ui.listing_more", "... and {n} more"),
    ("ui.note", "note: {text}"),
];

/// Portuguese.
pub(crate) static PT: &[(&str, &str)] = &[
    // Campos.
    (
        "field.op",
        "Código da operação: {byte} pede {op}. Cada conexão leva uma única operação, depois de um login (AUTH), se houver.",
    ),
    (
        "field.op.unknown",
        "O código de operação {byte} não existe no protocolo: o servidor responde status 1 e fecha a conexão.",
    ),
    (
        "field.name_len",
        "Tamanho do nome do arquivo a seguir: {n} (4 bytes, big-endian).",
    ),
    (
        "field.mask_len",
        "Tamanho da máscara a seguir: {n} (4 bytes, big-endian).",
    ),
    (
        "field.user_len",
        "Tamanho do nome de usuário a seguir: {n} (4 bytes, big-endian).",
    ),
    (
        "field.pass_len",
        "Tamanho da senha a seguir: {n} (4 bytes, big-endian).",
    ),
    (
        "field.listing_len",
        "Tamanho da listagem JSON a seguir: {n} (4 bytes, big-endian).",
    ),
    (
        "field.name",
        "Nome do arquivo, relativo à pasta servida (UTF-8, '/' entre pastas).",
    ),
    (
        "field.mask",
        "Máscara glob: '*' casa dentro de uma pasta, '**' atravessa pastas.",
    ),
    (
        "field.user",
        "Nome de usuário: um login bem-sucedido abre a pasta privada desse usuário.",
    ),
    (
        "field.pass",
        "A senha, em texto claro: qualquer um que capture este tráfego pode lê-la.",
    ),
    (
        "field.position",
        "Posição de retomada: o cliente já tem os primeiros {n}.",
    ),
    (
        "field.md5",
        "MD5 dos bytes que o cliente já tem, para o servidor conferir se batem com o seu arquivo.",
    ),
    ("field.size", "Tamanho dos dados do arquivo a seguir: {n}."),
    (
        "field.remaining",
        "Bytes a seguir, da posição de retomada até o fim: {n}.",
    ),
    ("field.count", "Número de arquivos a seguir: {n}."),
    ("field.status", "Código de status {byte}: {meaning}."),
    ("field.result", "Resultado {byte}: {meaning}."),
    ("field.entry_status", "Status da entrada {byte}: {meaning}."),
    (
        "field.listing",
        "A listagem: um array JSON de objetos {\"nome\", \"tamanho\"}, em ordem de nome.",
    ),
    (
        "field.body",
        "Dados do arquivo, byte a byte, exatamente como estão gravados.",
    ),
    // O que um status, um resultado ou um status de entrada quer dizer ali.
    (
        "status.auth.ok",
        "login aceito: a próxima operação age na pasta privada",
    ),
    (
        "status.auth.error",
        "login negado: o servidor fecha a conexão",
    ),
    ("status.download.ok", "o arquivo existe e vem a seguir"),
    (
        "status.download.error",
        "arquivo inexistente (ou pedido recusado); nada mais vem",
    ),
    ("status.list.ok", "a listagem vem a seguir"),
    (
        "status.upload_first.ok",
        "upload aceito: o cliente pode enviar o tamanho e os dados",
    ),
    (
        "status.upload_first.error",
        "upload recusado: os dados não serão lidos",
    ),
    ("status.upload_final.ok", "o arquivo foi gravado"),
    ("status.upload_final.error", "o arquivo não foi gravado"),
    (
        "status.resume.ok",
        "pedido aceito; segue um código de resultado",
    ),
    (
        "status.refusal",
        "o pedido violou o protocolo: foi recusado, e o servidor fecha a conexão",
    ),
    (
        "status.mget.ok",
        "a máscara é válida; segue a contagem de arquivos",
    ),
    ("status.ok", "sucesso"),
    ("status.error", "erro ou recusa; nada mais vem"),
    ("result.0", "o MD5 confere; o resto do arquivo vem a seguir"),
    ("result.10", "o arquivo não existe"),
    (
        "result.20",
        "o MD5 não confere (ou a posição passa do fim do arquivo)",
    ),
    ("result.other", "um resultado que o protocolo não define"),
    ("entry.0", "este arquivo vem a seguir"),
    (
        "entry.10",
        "casou com a máscara, mas não pôde ser lido: foi pulado",
    ),
    (
        "entry.other",
        "um status de entrada que o protocolo não define",
    ),
    // Bytes de status nos resumos.
    ("word.ok", "0 (sucesso)"),
    ("word.error", "1 (erro ou recusa)"),
    // O que é uma mensagem, como as anomalias a chamam.
    ("what.request", "pedido"),
    ("what.login_reply", "resposta ao login"),
    ("what.download_reply", "resposta ao download"),
    ("what.listing", "listagem"),
    ("what.upload_reply", "resposta ao upload"),
    ("what.upload_size", "tamanho do upload"),
    ("what.final_status", "status final"),
    ("what.resume_reply", "resposta à retomada"),
    ("what.mget_reply", "resposta ao MGET"),
    ("what.entry", "entrada do MGET"),
    ("what.refusal", "recusa"),
    ("what.reply", "resposta"),
    // Por que os bytes violam o protocolo.
    ("error.unknown_op", "operação desconhecida {op}"),
    (
        "error.truncated",
        "o fluxo terminou no meio de uma mensagem",
    ),
    (
        "error.too_long",
        "o campo {field}, de {len}, passa do limite de {limit}",
    ),
    ("error.bad_utf8", "o campo {field} não é UTF-8 válido"),
    ("error.empty", "o campo {field} está vazio"),
    (
        "error.bad_value",
        "o campo {field} tem o valor indefinido {value}",
    ),
    (
        "error.bad_listing",
        "a listagem não é um JSON no formato esperado ({reason})",
    ),
    ("error.trailing", "há bytes depois de uma mensagem completa"),
    (
        "capture.not_a_capture",
        "não é uma captura pcap nem pcapng (assinatura de arquivo desconhecida)",
    ),
    (
        "capture.bad_gzip",
        "um arquivo gzip que não pode ser descompactado: {why}",
    ),
    (
        "capture.gzip_too_large",
        "um arquivo gzip que passa de {limit} ao descompactar (o limite para capturas compactadas)",
    ),
    ("name.empty", "o nome está vazio"),
    (
        "name.too_long",
        "o nome, de {len}, passa do limite de {limit}",
    ),
    (
        "name.component_too_long",
        "uma parte do nome, de {len}, passa do limite de {limit}",
    ),
    ("name.bad_utf8", "o nome não é UTF-8 válido"),
    ("name.absolute", "o nome é absoluto (começa com '/')"),
    ("name.empty_component", "o nome tem uma parte vazia"),
    ("name.dot", "o nome tem uma parte '.' ou '..'"),
    ("name.slash", "uma única parte do nome não pode conter '/'"),
    ("name.backslash", "o nome contém uma barra invertida"),
    (
        "name.control",
        "o nome contém o caractere de controle U+{code}",
    ),
    (
        "name.bidi",
        "o nome contém o controle bidirecional U+{code}",
    ),
    (
        "name.invisible",
        "o nome contém o caractere invisível U+{code}, que faz dois nomes parecerem iguais",
    ),
    (
        "name.looks_like",
        "o nome contém U+{code}, que se parece com '{like}'",
    ),
    ("name.reserved", "o nome usa o prefixo reservado '{prefix}'"),
    // Anomalias de uma mensagem.
    (
        "gap.inside",
        "nunca capturado: {n} a partir do offset {at} (em: {what}); esta direção não pode ser decodificada além desse ponto",
    ),
    (
        "truncated.before",
        "o fluxo termina antes do próximo item esperado ({what})",
    ),
    (
        "truncated.middle",
        "o fluxo termina no meio de um item ({what}), após {n} dos seus bytes",
    ),
    ("broken.summary", "violação do protocolo ({what}): {error}"),
    (
        "partial.summary",
        "{what} (só uma parte foi capturada): os campos até os bytes que faltam",
    ),
    (
        "broken.note",
        "violação do protocolo no byte {at} ({what}): {error}",
    ),
    (
        "body.truncated",
        "{label}: anunciado {size}, mas a conexão foi fechada após {n}",
    ),
    (
        "body.capture_ends",
        "{label}: anunciado {size}, capturado {n}: a captura termina antes da conexão (nenhum FIN ou RST capturado), então o resto pode ter chegado",
    ),
    (
        "body.gap",
        "{label}: nunca capturado: {n} dos seus {size}; o MD5 não pode ser calculado",
    ),
    ("body.summary", "{label}: {size} de dados do arquivo"),
    ("label.download", "conteúdo baixado"),
    ("label.upload", "conteúdo enviado"),
    ("label.resumed", "resto do download retomado"),
    ("label.entry", "arquivo {k} de {count}"),
    (
        "trailing.to_server",
        "depois do fim da troca: mais {n} do cliente, que um servidor ignora",
    ),
    (
        "trailing.to_client",
        "depois do fim da troca: mais {n} do servidor, que um cliente ignora",
    ),
    (
        "trailing.mid_stream.to_server",
        "sem decodificar: {n} do cliente; a captura começou no meio desta conexão, então o que ela tem não começa numa mensagem",
    ),
    (
        "trailing.mid_stream.to_client",
        "sem decodificar: {n} do servidor; a captura começou no meio desta conexão, então o que ela tem não começa numa mensagem",
    ),
    // Resumos e anomalias de cada operação.
    (
        "auth.summary",
        "AUTH como \"{user}\" (senha em texto claro)",
    ),
    (
        "auth.clear",
        "a senha de \"{user}\" atravessa a rede em texto claro: qualquer um que capture o tráfego pode lê-la; o TLS (ferry serve --tls-port, endereços tls://) a cifra",
    ),
    ("auth.reply", "status do login: {status}"),
    (
        "auth.second",
        "um segundo AUTH (uma operação desconhecida neste ponto)",
    ),
    (
        "auth.second.note",
        "um segundo AUTH na mesma conexão é uma operação desconhecida; o servidor responde status 1",
    ),
    ("reply.refused", "status 1 (recusado)"),
    (
        "refusal.error",
        "status 1: recusado (o pedido violou o protocolo); o servidor fecha a conexão",
    ),
    (
        "refusal.ok",
        "status 0 depois de um pedido que violou o protocolo",
    ),
    (
        "resume.summary",
        "RESUME \"{name}\" a partir do byte {position}",
    ),
    ("download.ok", "status 0: o arquivo vem a seguir, {size}"),
    (
        "download.error",
        "status 1: arquivo inexistente, ou pedido recusado",
    ),
    ("list.ok", "status 0: listagem de {n} arquivos"),
    (
        "list.invalid.summary",
        "status 0: uma listagem que não é JSON válido",
    ),
    ("list.error", "status 1: o servidor não conseguiu listar"),
    ("reply.status", "código de status {status}"),
    ("upload.size", "o arquivo vem a seguir: {size}"),
    ("upload.stored", "status {status}: arquivo gravado"),
    ("upload.not_stored", "status {status}: arquivo não gravado"),
    (
        "resume.cannot_match",
        "posição 0 com um MD5 que não é o MD5 do vazio: não pode conferir com arquivo algum",
    ),
    (
        "resume.ok",
        "status 0, resultado 0: o resto vem a seguir, {n}",
    ),
    (
        "resume.none",
        "status 0, resultado 10: o arquivo não existe",
    ),
    (
        "resume.mismatch",
        "status 0, resultado 20: o MD5 não confere",
    ),
    ("resume.refused", "status 1: pedido recusado"),
    (
        "mget.error",
        "status 1: máscara inválida ou arquivos demais",
    ),
    ("mget.ok", "status 0: seguem {count} arquivos"),
    (
        "entry.refused.note",
        "entrada {k}: nome recusado ({reason}); um cliente não deve gravá-lo",
    ),
    ("entry.refused.name", "\"{name}\" (nome recusado)"),
    ("entry.file", "arquivo {k} de {count}: {name}, {size}"),
    (
        "entry.skipped",
        "arquivo {k} de {count}: {name} não pôde ser lido (foi pulado)",
    ),
    // A captura inteira, e cada conexão.
    (
        "note.not_tcp",
        "{n} pacotes não são TCP sobre IPv4/IPv6 e foram ignorados",
    ),
    (
        "note.not_decoded",
        "conexões TCP não decodificadas ({n}): {list}",
    ),
    (
        "skipped.port",
        "{client} → {server}: a porta {port} não é uma porta do ferry aqui, e os primeiros bytes não são um pedido do ferry (se ela leva ferry, tente --port {port})",
    ),
    (
        "skipped.no_syn",
        "{client} ↔ {server}: começou antes da captura (nenhum SYN capturado), então os primeiros bytes podem estar no meio de uma mensagem (se ela leva ferry, tente --port {port})",
    ),
    (
        "note.link",
        "pacotes com tipo de enlace {link} não podem ser lidos e foram ignorados",
    ),
    (
        "note.snaplen",
        "{n} pacotes foram cortados pelo limite de captura (snap length); os bytes que faltam aparecem como lacunas",
    ),
    (
        "note.cut_short",
        "o arquivo termina no meio de um registro (a captura foi interrompida?)",
    ),
    (
        "note.not_kept",
        "a captura é grande demais para manter todos os bytes na memória: os bytes das conversas {list} não podem ser mostrados nem salvos",
    ),
    ("dir.to_server", "no sentido cliente → servidor"),
    ("dir.to_client", "no sentido servidor → cliente"),
    (
        "tcp.retransmission",
        "{dir} ({n}, quadros {frames}): segmentos capturados de novo (retransmissões): o remetente não recebeu confirmação a tempo, ou recebeu três duplicadas, e mandou os mesmos bytes de novo; a transferência perdeu esse tempo",
    ),
    (
        "tcp.out_of_order",
        "{dir} ({n}, quadros {frames}): segmentos capturados fora de ordem: cada um preencheu um buraco atrás de bytes já vistos, e o receptor guardou os bytes seguintes até o buraco ser preenchido",
    ),
    (
        "tcp.duplicate_ack",
        "{dir} ({n}, quadros {frames}): confirmações duplicadas: o receptor confirmou de novo o mesmo byte, como faz a cada segmento que chega depois de um que falta; três fazem o remetente retransmitir na hora (fast retransmit)",
    ),
    (
        "tcp.zero_window",
        "{dir} ({n}, quadros {frames}): janela zero: o buffer do receptor encheu, e o remetente teve de parar até a janela abrir; quem ditou o ritmo foi a aplicação que lê, não a rede",
    ),
    (
        "tcp.window_update",
        "{dir} ({n}, quadros {frames}): atualizações de janela: o receptor leu do seu buffer e anunciou espaço de novo, e o remetente pode continuar",
    ),
    (
        "tcp.probe",
        "{dir} ({n}, quadros {frames}): sondas: um segmento um byte atrás do que o seu remetente já tinha mandado, perguntando se a janela zero abriu (ou se o outro lado ainda está lá)",
    ),
    (
        "stream.conflicts",
        "{dir} ({n}): segmentos sobrepostos com bytes diferentes (vale o primeiro visto)",
    ),
    (
        "stream.mid_stream",
        "{dir}: a captura começou depois da conexão; os offsets contam a partir do primeiro byte capturado",
    ),
    (
        "stream.capped",
        "{dir}: o fluxo passa do limite de decodificação e foi cortado",
    ),
    ("conn.reset", "a conexão foi interrompida (RST de {addr})"),
    // As palavras do próprio ferry decode.
    (
        "ui.header",
        "captura {format}, {packets} pacotes, {n} conexões ferry; tempos em segundos desde o primeiro pacote",
    ),
    (
        "ui.legend",
        "Abaixo de cada mensagem: campo, bytes do fluxo, hexadecimal, valor, significado.",
    ),
    (
        "ui.connection",
        "Conexão {i}: cliente {client}, servidor {server}; {up} do cliente, {down} do servidor",
    ),
    ("ui.frame", "quadro"),
    ("ui.time", "tempo"),
    ("ui.client", "cliente"),
    ("ui.server", "servidor"),
    ("ui.more_frames", "(+{n} outros)"),
    ("ui.stream_bytes", "bytes {from} a {to} do fluxo"),
    ("ui.no_bytes", "nenhum byte"),
    ("ui.syn", "SYN: abre a conexão"),
    ("ui.syn_ack", "SYN, ACK: aceita a conexão"),
    (
        "ui.handshake_ack",
        "ACK: a conexão está aberta (fim do aperto de mão em três vias)",
    ),
    ("ui.fin", "FIN: este lado não tem mais nada a enviar"),
    ("ui.role.ack", "ACK: confirma dados, não leva nenhum"),
    ("ui.role.run", "{what} ({n} segmentos assim)"),
    (
        "ui.role.duplicate_ack",
        "ACK duplicado: o mesmo byte confirmado de novo (falta um segmento antes dele)",
    ),
    (
        "ui.role.zero_window",
        "janela zero: o buffer deste lado está cheio; o outro tem de esperar",
    ),
    (
        "ui.role.window_update",
        "atualização de janela: há espaço de novo; o outro lado pode mandar",
    ),
    ("ui.role.probe", "sonda: a janela já abriu?"),
    (
        "ui.role.retransmission",
        "retransmissão: estes bytes já tinham sido mandados",
    ),
    (
        "ui.role.out_of_order",
        "fora de ordem: preenche um buraco atrás de bytes seguintes",
    ),
    ("ui.rst", "RST: a conexão é interrompida"),
    (
        "ui.payload",
        "conteúdo: {captured} de {size} capturados, MD5 {md5}",
    ),
    ("ui.incomplete", "não calculado (faltam bytes)"),
    ("ui.starts", "começa com: {preview}"),
    ("ui.listing", "arquivos listados ({n}):"),
    ("ui.listing_more", "... e mais {n}"),
    ("ui.note", "atenção: {text}"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn all(tables: &Tables) -> impl Iterator<Item = &(&'static str, &'static str)> {
        tables.iter().flat_map(|table| table.iter())
    }

    #[test]
    fn both_tables_have_exactly_the_same_keys_once() {
        let en: Vec<&str> = all(&ENGLISH).map(|(k, _)| *k).collect();
        let pt: Vec<&str> = all(&PORTUGUESE).map(|(k, _)| *k).collect();
        let (en_set, pt_set): (BTreeSet<_>, BTreeSet<_>) =
            (en.iter().collect(), pt.iter().collect());
        assert_eq!(en_set.len(), en.len(), "a key is repeated in EN");
        assert_eq!(pt_set.len(), pt.len(), "a key is repeated in PT");
        let only_en: Vec<_> = en_set.difference(&pt_set).collect();
        let only_pt: Vec<_> = pt_set.difference(&en_set).collect();
        assert!(
            only_en.is_empty() && only_pt.is_empty(),
            "only in EN: {only_en:?}; only in PT: {only_pt:?}"
        );
    }

    #[test]
    fn no_portuguese_entry_is_left_in_english() {
        for (key, en) in all(&ENGLISH) {
            assert_ne!(*en, lookup(&PORTUGUESE, key), "{key} is not translated");
        }
        // Common English words that have no place in a Portuguese sentence.
        let english = [
            " the ",
            " of ",
            " is ",
            " bytes follow",
            " and ",
            " file ",
            "server ",
        ];
        for (key, pt) in all(&PORTUGUESE) {
            let padded = format!(" {pt} ");
            for word in english {
                assert!(!padded.contains(word), "{key}: {pt:?} has {word:?}");
            }
        }
    }

    #[test]
    fn every_template_uses_the_same_values_in_both_languages() {
        let names = |t: &str| -> BTreeSet<String> {
            t.split('{')
                .skip(1)
                .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
                .filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .collect()
        };
        for (key, en) in all(&ENGLISH) {
            assert_eq!(names(en), names(lookup(&PORTUGUESE, key)), "{key}");
        }
    }

    #[test]
    fn every_key_the_decoder_says_is_in_the_tables() {
        let sources = [
            include_str!("conversation/mod.rs"),
            include_str!("conversation/cursor.rs"),
            include_str!("conversation/words.rs"),
            include_str!("conversation/auth.rs"),
            include_str!("conversation/download.rs"),
            include_str!("conversation/list.rs"),
            include_str!("conversation/upload.rs"),
            include_str!("conversation/resume.rs"),
            include_str!("conversation/mget.rs"),
            include_str!("capture.rs"),
            include_str!("tcp.rs"),
            include_str!("explain.rs"),
            include_str!("mod.rs"),
            include_str!("tls/mod.rs"),
            include_str!("tls/records.rs"),
            include_str!("tls/explain.rs"),
        ];
        let mut used = 0;
        for source in sources {
            for piece in source.split("say(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                assert!(
                    all(&ENGLISH).any(|(k, _)| *k == key),
                    "{key} is not in the tables"
                );
                used += 1;
            }
        }
        assert!(used > 50, "only {used} keys found");
    }

    #[test]
    fn values_are_filled_in_each_language() {
        let what = say("what.listing", &[]);
        let Said { en, pt, .. } = say("truncated.before", &[("what", &what)]);
        assert_eq!(en, "the stream ends before the listing");
        assert_eq!(
            pt,
            "o fluxo termina antes do próximo item esperado (listagem)"
        );
        // Braces that are not values stay.
        let Said { en, .. } = say("field.listing", &[]);
        assert!(en.contains("{\"nome\", \"tamanho\"}"), "{en}");
        assert_eq!(say("no.such.key", &[]).en, "no.such.key");
    }

    #[test]
    fn numbers_agree_and_are_written_each_languages_way() {
        let label = say("label.download", &[]);
        let Said { en, pt, .. } = say(
            "body.truncated",
            &[
                ("label", &label),
                ("size", &bytes(3_145_728)),
                ("n", &bytes(1)),
            ],
        );
        assert!(
            en.ends_with("3145728 bytes announced, the connection closed after 1 byte"),
            "{en}"
        );
        assert!(pt.contains("anunciado 3.145.728 bytes"), "{pt}");
        assert!(pt.ends_with("após 1 byte"), "{pt}");
        let Said { en, pt, .. } = say(
            "body.capture_ends",
            &[
                ("label", &label),
                ("size", &bytes(2)),
                ("n", &bytes(2_541_568)),
            ],
        );
        assert!(
            en.contains("2 bytes announced, 2541568 bytes captured"),
            "{en}"
        );
        assert!(pt.contains("capturado 2.541.568 bytes"), "{pt}");
        assert_eq!((count(999).en, count(999).pt), ("999".into(), "999".into()));
        assert_eq!(count(1000).pt, "1.000");
        assert_eq!(count(u64::MAX).pt, "18.446.744.073.709.551.615");
        assert_eq!(localized_bytes(0, true), "0 bytes");
        assert_eq!(localized_count(1_234_567, false), "1234567");
    }
}
