//! Capture decoding: from a pcap or pcapng file to an explained transcript
//! of every ferry conversation in it.
//!
//! - `capture`: containers and headers to TCP segments;
//! - `reassembly`: segments to byte streams, gaps and all;
//! - `conversation`: streams to messages, with the decoders the server and
//!   client use;
//! - `explain`: what each field means, in English and Portuguese;
//! - `tls`: TLS conversations, opened with a key log when one is given;
//! - `transcript`: the result, serde-serializable.
//!
//! Pure like the rest of the core: it reads bytes handed to it and never
//! panics on any input; a file that is not a capture is a typed error, and
//! everything else wrong becomes an anomaly in the transcript.

mod capture;
mod conversation;
mod explain;
mod legacy;
mod reassembly;
mod sparse;
mod tcp;
mod text;
mod tls;
mod transcript;

use std::collections::HashMap;
use std::net::SocketAddr;

pub use capture::{CaptureError, MAX_INFLATED};
pub use sparse::StreamBytes;
pub use text::{Arg, Said, localized, localized_bytes, localized_count, words};
pub use tls::{KeyLog, KeyLogError};
pub use transcript::{
    Anomaly, AnomalyKind, Connection, Direction, FieldView, Layer, Message, Payload, SegmentView,
    TRANSCRIPT_SCHEMA, TcpRole, Tls, Transcript,
};

use crate::limits::Limits;
use crate::message::Op;
use capture::Segment;
use reassembly::reassemble;
use sparse::Spare;
use text::{Both, count, join, plain, say};

/// How to find and decode conversations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceOptions {
    /// Server ports whose connections are ferry (20000 and 20001 by default).
    /// Connections on other ports count when their first client byte is an op.
    pub ports: Vec<u16>,
    /// Limits the decoders apply, as a server would.
    pub limits: Limits,
    /// Longest stream rebuilt per direction (default 256 MiB); longer ones
    /// are cut and said so.
    pub max_stream_len: u64,
    /// Most bytes of rebuilt streams [`decode_capture_with_streams`] keeps
    /// for all connections together (default 1 GiB); the bytes of
    /// connections past it are not kept, and a note says so.
    pub max_kept_len: u64,
    /// TLS secrets to open TLS 1.3 conversations with (none by default).
    pub keylog: KeyLog,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            ports: vec![20000, 20001],
            limits: Limits::default(),
            max_stream_len: 256 << 20,
            max_kept_len: 1 << 30,
            keylog: KeyLog::default(),
        }
    }
}

/// Decodes every ferry conversation of a pcap or pcapng capture.
///
/// ```
/// let err = ferry_core::decode_capture(b"not a capture", &Default::default()).unwrap_err();
/// assert_eq!(err, ferry_core::CaptureError::NotACapture);
/// ```
pub fn decode_capture(bytes: &[u8], options: &TraceOptions) -> Result<Transcript, CaptureError> {
    decode(bytes, options, false).map(|(transcript, _)| transcript)
}

/// The bytes each connection carried, rebuilt: what the capture never saw
/// is a hole, not bytes ([`StreamBytes::get`] stops at one,
/// [`StreamBytes::holes`] lists them; the transcript's anomalies say why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streams {
    /// From the client to the server.
    pub to_server: StreamBytes,
    /// From the server to the client.
    pub to_client: StreamBytes,
    /// What the opened TLS records carried from the client (the bytes of
    /// [`Layer::Decrypted`] messages); empty for other conversations.
    pub decrypted_to_server: StreamBytes,
    /// The same from the server.
    pub decrypted_to_client: StreamBytes,
}

/// [`decode_capture`], also returning each connection's rebuilt streams
/// (in the order of `Transcript::connections`), for a viewer that shows
/// bytes or saves a file the capture carried.
pub fn decode_capture_with_streams(
    bytes: &[u8],
    options: &TraceOptions,
) -> Result<(Transcript, Vec<Streams>), CaptureError> {
    decode(bytes, options, true)
}

/// Decodes a capture; `keep` keeps each connection's streams (within
/// `options.max_kept_len`), otherwise each is dropped once decoded and
/// its buffers hold the next connection's.
fn decode(
    bytes: &[u8],
    options: &TraceOptions,
    keep: bool,
) -> Result<(Transcript, Vec<Streams>), CaptureError> {
    let inflated = capture::inflate(bytes)?;
    let bytes = inflated.as_deref().unwrap_or(bytes);
    let (segments, stats) = capture::read_capture(bytes)?;
    let mut notes = capture_notes(&stats);

    let (order, groups) = by_connection(&segments);
    let mut connections = Vec::new();
    let mut streams = Vec::new();
    let mut kept = 0u64;
    let mut not_kept = Vec::new();
    let mut skipped: Vec<Both> = Vec::new();
    let mut spare = Spare::new(!keep);
    for key in order {
        let group = &groups[&key];
        let Some((connection, mut both)) = connection(group, key, options, &mut spare) else {
            skipped.push(not_decoded(group, key));
            continue;
        };
        {
            connections.push(connection);
            let len = both.to_server.captured()
                + both.to_client.captured()
                + both.decrypted_to_server.captured()
                + both.decrypted_to_client.captured();
            if !keep {
                spare.keep(std::mem::take(&mut both.to_server));
                spare.keep(std::mem::take(&mut both.to_client));
                both = Streams::default();
            } else if kept + len > options.max_kept_len {
                both = Streams::default();
                not_kept.push(connections.len().to_string());
            } else {
                kept += len;
            }
            streams.push(both);
        }
    }
    if !skipped.is_empty() {
        notes.push(skipped_note(&skipped));
    }
    if !not_kept.is_empty() {
        let note = say("note.not_kept", &[("list", &plain(not_kept.join(", ")))]);
        notes.push(Anomaly::new(AnomalyKind::Capped, None, None, note));
    }
    let transcript = Transcript {
        schema: transcript::TRANSCRIPT_SCHEMA,
        format: stats.format.into(),
        packets: stats.packets,
        start_us: stats.first_us.unwrap_or(0),
        connections,
        notes,
    };
    Ok((transcript, streams))
}

/// TCP connections not decoded that the capture's notes name, at most.
const SKIPPED_SHOWN: usize = 5;

/// Why a TCP connection was not decoded, in words: it started before the
/// capture, or its server's port is not one decoded (and its first bytes
/// are not a ferry request).
fn not_decoded(group: &[&Segment<'_>], key: (SocketAddr, SocketAddr)) -> Both {
    match group.iter().find(|s| s.syn && !s.ack) {
        Some(syn) => say(
            "skipped.port",
            &[
                ("client", &plain(syn.src)),
                ("server", &plain(syn.dst)),
                ("port", &plain(syn.dst.port())),
            ],
        ),
        None => {
            // The lower port is most likely the server's.
            let (a, b) = if key.0.port() <= key.1.port() {
                (key.1, key.0)
            } else {
                key
            };
            say(
                "skipped.no_syn",
                &[
                    ("client", &plain(a)),
                    ("server", &plain(b)),
                    ("port", &plain(b.port())),
                ],
            )
        }
    }
}

/// What reading the file found besides segments, as notes.
fn capture_notes(stats: &capture::CaptureStats) -> Vec<Anomaly> {
    let mut notes = Vec::new();
    let mut note = |kind, sentence: Both| notes.push(Anomaly::new(kind, None, None, sentence));
    if stats.skipped_not_tcp > 0 {
        let n = plain(stats.skipped_not_tcp);
        note(AnomalyKind::Skipped, say("note.not_tcp", &[("n", &n)]));
    }
    for link in &stats.skipped_link {
        note(
            AnomalyKind::Skipped,
            say("note.link", &[("link", &plain(link))]),
        );
    }
    if stats.truncated_packets > 0 {
        let n = plain(stats.truncated_packets);
        note(AnomalyKind::Gap, say("note.snaplen", &[("n", &n)]));
    }
    if stats.cut_short {
        note(AnomalyKind::CutShort, say("note.cut_short", &[]));
    }
    notes
}

/// Connection key: the unordered pair of endpoints.
type Key = (SocketAddr, SocketAddr);

/// Segments grouped by connection, the keys in order of first appearance.
fn by_connection<'s, 'a>(
    segments: &'s [Segment<'a>],
) -> (Vec<Key>, HashMap<Key, Vec<&'s Segment<'a>>>) {
    let mut order: Vec<Key> = Vec::new();
    let mut groups: HashMap<Key, Vec<&Segment<'_>>> = HashMap::new();
    for seg in segments {
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        groups
            .entry(key)
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(seg);
    }
    (order, groups)
}

/// The note naming the TCP connections not decoded, each with why.
fn skipped_note(skipped: &[Both]) -> Anomaly {
    let mut shown: Vec<Both> = skipped.iter().take(SKIPPED_SHOWN).cloned().collect();
    if skipped.len() > SKIPPED_SHOWN {
        shown.push(plain("…"));
    }
    let list = join(shown, "; ");
    let n = count(skipped.len() as u64);
    let note = say("note.not_decoded", &[("n", &n), ("list", &list)]);
    Anomaly::new(AnomalyKind::Skipped, None, None, note)
}

/// Why bytes break the protocol (a refused name, a length over its
/// limit...), in English and in Portuguese.
pub fn explain_error(kind: &crate::error::DecodeErrorKind) -> (String, String) {
    let said = conversation::error_text(kind);
    (said.en, said.pt)
}

/// Decodes bytes typed by hand as one conversation: what the client sent
/// and (possibly empty) what the server answered, with the same decoders
/// and explanations as a capture. Offsets count from 0 in each direction.
pub fn decode_exchange(to_server: &[u8], to_client: &[u8], limits: &Limits) -> Connection {
    let up = reassembly::Stream::from_bytes(to_server);
    let down = reassembly::Stream::from_bytes(to_client);
    let (messages, anomalies) = conversation::decode(&up, &down, limits, false);
    Connection {
        client: String::new(),
        server: String::new(),
        start_us: 0,
        end_us: 0,
        bytes_to_server: up.len(),
        bytes_to_client: down.len(),
        segments: Vec::new(),
        messages,
        anomalies,
        tls: None,
    }
}

/// Decodes two streams given whole as one TLS conversation, opened with
/// `keylog`'s secrets when it holds them (the testing module's entry for
/// fuzz targets).
#[cfg(feature = "testing")]
pub(crate) fn decode_tls_exchange(
    to_server: &[u8],
    to_client: &[u8],
    keylog: &KeyLog,
    limits: &Limits,
) -> Connection {
    let up = reassembly::Stream::from_bytes(to_server);
    let down = reassembly::Stream::from_bytes(to_client);
    let read = tls::decode(&up, &down, keylog);
    let (mut messages, mut anomalies) = (read.messages, read.anomalies);
    if let Some(inside) = &read.inside {
        let (inner, notes) = decrypted_messages(inside, &up, &down, limits);
        messages.extend(inner);
        anomalies.extend(notes);
    }
    Connection {
        client: String::new(),
        server: String::new(),
        start_us: 0,
        end_us: 0,
        bytes_to_server: up.len(),
        bytes_to_client: down.len(),
        segments: Vec::new(),
        messages,
        anomalies,
        tls: Some(read.info),
    }
}

/// Decodes one connection if it carries ferry.
fn connection(
    group: &[&Segment<'_>],
    key: (SocketAddr, SocketAddr),
    options: &TraceOptions,
    spare: &mut Spare,
) -> Option<(Connection, Streams)> {
    let client = client_of(group, key, options)?;
    let server = if key.0 == client { key.1 } else { key.0 };
    let to_server: Vec<&Segment<'_>> = group.iter().copied().filter(|s| s.src == client).collect();
    let to_client: Vec<&Segment<'_>> = group.iter().copied().filter(|s| s.src == server).collect();
    let isn = |segs: &[&Segment<'_>]| segs.iter().find(|s| s.syn).map(|s| s.seq);
    let mut up = reassemble(&to_server, isn(&to_server), options.max_stream_len, spare);
    let mut down = reassemble(&to_client, isn(&to_client), options.max_stream_len, spare);
    // Whether the capture saw the connection end (a FIN or RST either way):
    // if not, a short stream says nothing about the peers.
    let closed = group.iter().any(|s| s.fin || s.rst);
    (up.closed, down.closed) = (closed, closed);
    let opening = tls::opening(&up);
    let is_ferry = match opening {
        tls::Opening::Tls { ferry } => ferry,
        tls::Opening::NotTls => up
            .contiguous(0)
            .first()
            .is_some_and(|&b| Op::from_byte(b).is_some()),
    };
    if !options.ports.contains(&server.port()) && !is_ferry {
        spare.keep(up.bytes);
        spare.keep(down.bytes);
        return None;
    }
    let (mut messages, mut anomalies, tls, decrypted) = messages_of(opening, &up, &down, options);
    // In capture order; a decrypted message right after the record that
    // carried its first byte.
    messages.sort_by_key(|m| {
        (
            m.time_us.unwrap_or(u64::MAX),
            m.direction == Direction::ToClient,
            m.records.first().copied().unwrap_or(m.offset),
            m.layer == Layer::Decrypted,
        )
    });
    let roles = tcp::roles(group, client, &up, &down);
    anomalies.extend(tcp::findings(group, &roles, client, &up, &down));
    if let Some(reset) = group.iter().find(|s| s.rst) {
        let dir = if reset.src == client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let note = say("conn.reset", &[("addr", &plain(reset.src))]);
        anomalies.push(Anomaly::new(AnomalyKind::Truncated, Some(dir), None, note));
    }
    frames_of_messages(&mut messages, &up, &down);
    let segments = segment_views(group, client, roles, &up, &down);
    let times = group.iter().map(|s| s.ts_us);
    let connection = Connection {
        client: client.to_string(),
        server: server.to_string(),
        start_us: times.clone().min().unwrap_or(0),
        end_us: times.max().unwrap_or(0),
        bytes_to_server: up.len(),
        bytes_to_client: down.len(),
        segments,
        messages,
        anomalies,
        tls,
    };
    let streams = Streams {
        to_server: up.bytes,
        to_client: down.bytes,
        ..decrypted
    };
    Some((connection, streams))
}

/// Which end is the client: the one that sent the SYN; failing that, the
/// one not on a ferry port; failing that, the one that spoke first.
fn client_of(group: &[&Segment<'_>], key: Key, options: &TraceOptions) -> Option<SocketAddr> {
    // The client sent the SYN; failing that, the other side listens on a
    // ferry port; failing that, the client spoke first.
    group
        .iter()
        .find(|s| s.syn && !s.ack)
        .map(|s| s.src)
        .or_else(|| {
            let (a, b) = key;
            match (
                options.ports.contains(&a.port()),
                options.ports.contains(&b.port()),
            ) {
                (true, false) => Some(b),
                (false, true) => Some(a),
                _ => None,
            }
        })
        .or_else(|| group.iter().find(|s| !s.payload.is_empty()).map(|s| s.src))
}

/// The messages of a conversation, plain or inside TLS (with the streams
/// opened from its records, if any), and what decoding them found.
fn messages_of(
    opening: tls::Opening,
    up: &reassembly::Stream,
    down: &reassembly::Stream,
    options: &TraceOptions,
) -> (Vec<Message>, Vec<Anomaly>, Option<Tls>, Streams) {
    let mut decrypted = Streams::default();
    let (messages, anomalies, tls) = match opening {
        tls::Opening::NotTls => {
            let (messages, anomalies) = conversation::decode(up, down, &options.limits, false);
            (messages, anomalies, None)
        }
        tls::Opening::Tls { .. } => {
            let read = tls::decode(up, down, &options.keylog);
            let (mut messages, mut anomalies) = (read.messages, read.anomalies);
            if let Some(inside) = read.inside {
                let (inner, notes) = decrypted_messages(&inside, up, down, &options.limits);
                messages.extend(inner);
                anomalies.extend(notes);
                decrypted.decrypted_to_server = inside.to_server.bytes;
                decrypted.decrypted_to_client = inside.to_client.bytes;
            }
            (messages, anomalies, Some(read.info))
        }
    };
    (messages, anomalies, tls, decrypted)
}

/// Each message's frames: those that carried any of its bytes (decrypted
/// messages have theirs already, from their records).
fn frames_of_messages(
    messages: &mut [Message],
    up: &reassembly::Stream,
    down: &reassembly::Stream,
) {
    for (dir, stream) in [(Direction::ToServer, up), (Direction::ToClient, down)] {
        let mut order: Vec<usize> = (0..messages.len())
            .filter(|&i| messages[i].direction == dir && messages[i].layer != Layer::Decrypted)
            .collect();
        order.sort_by_key(|&i| messages[i].offset);
        let ranges: Vec<(u64, u64)> = order
            .iter()
            .map(|&i| {
                (
                    messages[i].offset,
                    messages[i].offset.saturating_add(messages[i].len),
                )
            })
            .collect();
        for (i, frames) in order.into_iter().zip(stream.frames_for(&ranges)) {
            messages[i].frames = frames;
        }
    }
}

/// Every segment of the connection as the transcript shows it.
fn segment_views(
    group: &[&Segment<'_>],
    client: SocketAddr,
    roles: Vec<Option<TcpRole>>,
    up: &reassembly::Stream,
    down: &reassembly::Stream,
) -> Vec<SegmentView> {
    let placed: HashMap<u64, (u64, u64)> = up
        .placed
        .iter()
        .chain(&down.placed)
        .map(|&(start, end, frame)| (frame, (start, end)))
        .collect();
    group
        .iter()
        .zip(roles)
        .map(|(s, role)| SegmentView {
            frame: s.frame,
            time_us: s.ts_us,
            direction: if s.src == client {
                Direction::ToServer
            } else {
                Direction::ToClient
            },
            flags: flags(s),
            offset: placed.get(&s.frame).map(|&(start, _)| start),
            len: placed
                .get(&s.frame)
                .map_or(0, |&(start, end)| end.saturating_sub(start)),
            window: s.window,
            role,
        })
        .collect()
}

/// The ferry messages inside opened TLS records, decoded as in a plain
/// conversation: each tied to the records (and so the frames) that
/// carried it; its findings placed at those records.
fn decrypted_messages(
    inside: &tls::Inside,
    up: &reassembly::Stream,
    down: &reassembly::Stream,
    limits: &Limits,
) -> (Vec<Message>, Vec<Anomaly>) {
    let (mut messages, mut anomalies) =
        conversation::decode(&inside.to_server, &inside.to_client, limits, true);
    for (dir, stream) in [(Direction::ToServer, up), (Direction::ToClient, down)] {
        let mut mine: Vec<usize> = (0..messages.len())
            .filter(|&i| messages[i].direction == dir)
            .collect();
        mine.sort_by_key(|&i| messages[i].offset);
        // Each message's bytes where its records carried them in the TCP
        // stream, in stream order: one sweep over the segments finds the
        // frames of all (as for a plain conversation).
        let carried: Vec<tls::Carried> = mine
            .iter()
            .map(|&i| {
                let m = &messages[i];
                inside.carried(dir, m.offset, m.offset.saturating_add(m.len))
            })
            .collect();
        let ranges: Vec<(u64, u64)> = carried.iter().flat_map(|c| &c.ranges).copied().collect();
        let mut frames = stream.frames_for(&ranges).into_iter();
        for (&i, carried) in mine.iter().zip(carried) {
            let m = &mut messages[i];
            let mut seen: Vec<u64> = frames
                .by_ref()
                .take(carried.ranges.len())
                .flatten()
                .collect();
            seen.sort_unstable();
            seen.dedup();
            m.frames = seen;
            m.records = carried.records;
            m.layer = Layer::Decrypted;
        }
        for note in anomalies.iter_mut().filter(|a| a.direction == Some(dir)) {
            note.offset = note.offset.and_then(|at| inside.outer(dir, at));
        }
    }
    (messages, anomalies)
}

/// A segment's flags as Wireshark lists them.
fn flags(s: &Segment<'_>) -> String {
    let all = [
        (s.fin, "FIN"),
        (s.syn, "SYN"),
        (s.rst, "RST"),
        (s.psh, "PSH"),
        (s.ack, "ACK"),
    ];
    let set: Vec<&str> = all.iter().filter(|(on, _)| *on).map(|(_, f)| *f).collect();
    set.join(", ")
}
