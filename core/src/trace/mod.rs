//! Capture decoding: from a pcap or pcapng file to an explained transcript
//! of every ferry conversation in it.
//!
//! - `capture`: containers and headers to TCP segments;
//! - `reassembly`: segments to byte streams, gaps and all;
//! - `conversation`: streams to messages, with the decoders the server and
//!   client use;
//! - `explain`: what each field means, in English and Portuguese;
//! - `transcript`: the result, serde-serializable.
//!
//! Pure like the rest of the core: it reads bytes handed to it and never
//! panics on any input; a file that is not a capture is a typed error, and
//! everything else wrong becomes an anomaly in the transcript.

mod capture;
mod conversation;
mod explain;
mod reassembly;
mod transcript;

use std::collections::HashMap;
use std::net::SocketAddr;

pub use capture::CaptureError;
pub use transcript::{
    Anomaly, AnomalyKind, Connection, Direction, FieldView, Message, Payload, Transcript,
};

use crate::limits::Limits;
use crate::message::Op;
use capture::Segment;
use reassembly::reassemble;

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
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            ports: vec![20000, 20001],
            limits: Limits::default(),
            max_stream_len: 256 << 20,
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
    let (segments, stats) = capture::read_capture(bytes)?;
    let mut notes = Vec::new();
    if stats.skipped_not_tcp > 0 {
        notes.push(Anomaly::new(
            AnomalyKind::Skipped,
            None,
            None,
            format!(
                "{} packets are not TCP over IPv4/IPv6 and were skipped",
                stats.skipped_not_tcp
            ),
            format!(
                "{} pacotes não são TCP sobre IPv4/IPv6 e foram ignorados",
                stats.skipped_not_tcp
            ),
        ));
    }
    for link in &stats.skipped_link {
        notes.push(Anomaly::new(
            AnomalyKind::Skipped,
            None,
            None,
            format!("packets with link type {link} cannot be read and were skipped"),
            format!("pacotes com tipo de enlace {link} não podem ser lidos e foram ignorados"),
        ));
    }
    if stats.truncated_packets > 0 {
        notes.push(Anomaly::new(
            AnomalyKind::Gap,
            None,
            None,
            format!("{} packets were cut by the capture's snap length; their missing bytes show as gaps", stats.truncated_packets),
            format!("{} pacotes foram cortados pelo snap length da captura; os bytes faltantes aparecem como lacunas", stats.truncated_packets),
        ));
    }
    if stats.cut_short {
        notes.push(Anomaly::new(
            AnomalyKind::CutShort,
            None,
            None,
            "the file ends in the middle of a record (was the capture interrupted?)".into(),
            "o arquivo termina no meio de um registro (a captura foi interrompida?)".into(),
        ));
    }

    // Group segments by connection (the unordered pair of endpoints), in
    // order of first appearance.
    let mut order: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let mut groups: HashMap<(SocketAddr, SocketAddr), Vec<&Segment<'_>>> = HashMap::new();
    for seg in &segments {
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
    let mut connections = Vec::new();
    for key in order {
        let group = &groups[&key];
        if let Some(connection) = connection(group, key, options) {
            connections.push(connection);
        }
    }
    Ok(Transcript {
        format: stats.format.into(),
        packets: stats.packets,
        connections,
        notes,
    })
}

/// Decodes one connection if it carries ferry.
fn connection(
    group: &[&Segment<'_>],
    key: (SocketAddr, SocketAddr),
    options: &TraceOptions,
) -> Option<Connection> {
    // The client sent the SYN; failing that, the other side listens on a
    // ferry port; failing that, the client spoke first.
    let client = group
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
        .or_else(|| group.iter().find(|s| !s.payload.is_empty()).map(|s| s.src))?;
    let server = if key.0 == client { key.1 } else { key.0 };
    let to_server: Vec<&Segment<'_>> = group.iter().copied().filter(|s| s.src == client).collect();
    let to_client: Vec<&Segment<'_>> = group.iter().copied().filter(|s| s.src == server).collect();
    let isn = |segs: &[&Segment<'_>]| segs.iter().find(|s| s.syn).map(|s| s.seq);
    let up = reassemble(&to_server, isn(&to_server), options.max_stream_len);
    let down = reassemble(&to_client, isn(&to_client), options.max_stream_len);
    let first_byte_is_op = up
        .contiguous(0)
        .first()
        .is_some_and(|&b| Op::from_byte(b).is_some());
    if !options.ports.contains(&server.port()) && !first_byte_is_op {
        return None;
    }
    let (mut messages, mut anomalies) = conversation::decode(&up, &down, &options.limits);
    messages.sort_by_key(|m| {
        (
            m.time_us.unwrap_or(u64::MAX),
            m.direction == Direction::ToClient,
            m.offset,
        )
    });
    for (stream, dir) in [(&up, Direction::ToServer), (&down, Direction::ToClient)] {
        let name = match dir {
            Direction::ToServer => ("client to server", "cliente para servidor"),
            Direction::ToClient => ("server to client", "servidor para cliente"),
        };
        let mut note = |kind, count: u32, en: &str, pt: &str| {
            if count > 0 {
                anomalies.push(Anomaly::new(
                    kind,
                    Some(dir),
                    None,
                    format!("{} ({count}): {en}", name.0),
                    format!("{} ({count}): {pt}", name.1),
                ));
            }
        };
        note(
            AnomalyKind::Retransmission,
            stream.retransmissions,
            "segments captured again (retransmissions)",
            "segmentos capturados de novo (retransmissões)",
        );
        note(
            AnomalyKind::OutOfOrder,
            stream.out_of_order,
            "segments captured out of order",
            "segmentos capturados fora de ordem",
        );
        note(
            AnomalyKind::Conflict,
            stream.conflicts,
            "overlapping segments with different bytes (the first seen is kept)",
            "segmentos sobrepostos com bytes diferentes (o primeiro visto é mantido)",
        );
        note(
            AnomalyKind::MidStream,
            u32::from(stream.started_mid_stream),
            "the capture starts after the connection did; offsets count from the first byte captured",
            "a captura começa depois da conexão; os offsets contam a partir do primeiro byte capturado",
        );
        note(
            AnomalyKind::Capped,
            u32::from(stream.capped),
            "the stream is longer than the decoding limit and was cut",
            "o fluxo é maior que o limite de decodificação e foi cortado",
        );
    }
    if let Some(reset) = group.iter().find(|s| s.rst) {
        let dir = if reset.src == client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        anomalies.push(Anomaly::new(
            AnomalyKind::Truncated,
            Some(dir),
            None,
            format!("the connection was reset (RST from {})", reset.src),
            format!("a conexão foi reiniciada (RST de {})", reset.src),
        ));
    }
    let times = group.iter().map(|s| s.ts_us);
    Some(Connection {
        client: client.to_string(),
        server: server.to_string(),
        start_us: times.clone().min().unwrap_or(0),
        end_us: times.max().unwrap_or(0),
        bytes_to_server: up.len(),
        bytes_to_client: down.len(),
        messages,
        anomalies,
    })
}
