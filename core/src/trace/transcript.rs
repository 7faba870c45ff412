//! The transcript: what a capture holds, message by message and field by
//! field, in a serde shape stable enough for the browser and for tests.

use serde::Serialize;

use super::text::Said;
use crate::field::Field;
use crate::message::{ListEntry, Op};

/// The version of the transcript's shape, in its `schema` field: 2 since
/// TLS conversations (messages' `layer` and `records`, connections' `tls`)
/// and field names as docs/protocol.md writes them (`len`, `result`).
pub const TRANSCRIPT_SCHEMA: u32 = 2;

/// Everything decoded from one capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transcript {
    /// The shape's version ([`TRANSCRIPT_SCHEMA`]).
    pub schema: u32,
    /// `pcap` or `pcapng`.
    pub format: String,
    /// Packets in the file.
    pub packets: u64,
    /// When the first packet was captured (microseconds since the epoch):
    /// times are shown from here, as Wireshark shows them.
    pub start_us: u64,
    /// ferry conversations, in order of their first packet.
    pub connections: Vec<Connection>,
    /// Findings about the capture as a whole.
    pub notes: Vec<Anomaly>,
}

/// One TCP connection carrying ferry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// Client address and port.
    pub client: String,
    /// Server address and port.
    pub server: String,
    /// First packet, microseconds since the Unix epoch.
    pub start_us: u64,
    /// Last packet.
    pub end_us: u64,
    /// Stream bytes from client to server (gaps included).
    pub bytes_to_server: u64,
    /// Stream bytes from server to client (gaps included).
    pub bytes_to_client: u64,
    /// Every TCP segment, in capture order (handshake, data, FIN, RST).
    pub segments: Vec<SegmentView>,
    /// The messages, in protocol order.
    pub messages: Vec<Message>,
    /// Findings about this connection.
    pub anomalies: Vec<Anomaly>,
    /// For a TLS conversation: its handshake, as captured.
    pub tls: Option<Tls>,
}

/// A TLS conversation's handshake, as captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tls {
    /// The version the server chose (`TLS 1.3`), if its ServerHello was
    /// captured.
    pub version: Option<String>,
    /// The cipher suite it chose (`TLS_AES_128_GCM_SHA256`).
    pub cipher_suite: Option<String>,
    /// The host name the client asked for (SNI).
    pub server_name: Option<String>,
    /// The application protocols the client offered (ALPN): `ferry` from
    /// ferry's client.
    pub alpn: Vec<String>,
    /// Records the key log opened (0 without one).
    pub records_opened: u64,
}

/// Which bytes a message is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// A ferry message in the TCP stream (a plain conversation).
    Ferry,
    /// A TLS record in the TCP stream.
    Tls,
    /// A ferry message read from TLS records the key log opened: its
    /// offsets and its fields' count in the decrypted stream.
    Decrypted,
}

/// Which way bytes travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// One protocol message, or one file body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Which way it went.
    pub direction: Direction,
    /// When its first byte was captured (microseconds since the epoch).
    pub time_us: Option<u64>,
    /// Offset of its first byte in its direction's stream.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// The frames (packet numbers) whose segments carried its bytes.
    pub frames: Vec<u64>,
    /// The operation it belongs to.
    pub op: Option<Op>,
    /// What it is: `request`, `reply`, `upload size`, `final status`,
    /// `entry`, `body`...
    pub kind: String,
    /// A one-line summary, in English.
    pub summary: String,
    /// The same, in Portuguese.
    pub summary_pt: String,
    /// The summary as its sentence key and arguments, for a front end to
    /// put into words in its language ([`crate::words`]).
    pub sentence: Said,
    /// Every field, in order.
    pub fields: Vec<FieldView>,
    /// For a body: what was carried.
    pub payload: Option<Payload>,
    /// For a LIST reply: the files listed, as the JSON holds them.
    pub listing: Option<Vec<ListEntry>>,
    /// Which bytes it is read from.
    pub layer: Layer,
    /// For a decrypted message: where the TLS records that carried its
    /// bytes start in the TCP stream (the offsets of their messages).
    pub records: Vec<u64>,
}

/// One TCP segment of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentView {
    /// The packet's number in the file, from 1 (as Wireshark numbers them).
    pub frame: u64,
    /// When it was captured (microseconds since the epoch).
    pub time_us: u64,
    /// Which way it went.
    pub direction: Direction,
    /// Its TCP flags, as Wireshark writes them: `SYN`, `SYN, ACK`, `PSH, ACK`,
    /// `FIN, ACK`, `RST`...
    pub flags: String,
    /// Where its data sits in its direction's stream, if it carries any.
    pub offset: Option<u64>,
    /// Data bytes it carries (those the capture cut off included).
    pub len: u64,
    /// The receive window it advertises (the field as sent, unscaled).
    pub window: u16,
    /// What it does for TCP beyond carrying data, when that is worth a
    /// word (none for the handshake, the close and first-time data).
    pub role: Option<TcpRole>,
}

/// What a segment does for TCP, as Wireshark's analysis names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TcpRole {
    /// It carries no data: it only acknowledges.
    Ack,
    /// The same acknowledgement and window again: the receiver got a
    /// segment after a missing one.
    DuplicateAck,
    /// A window of 0: the receiver's buffer is full.
    ZeroWindow,
    /// The same acknowledgement with a new window: room again.
    WindowUpdate,
    /// One byte behind what its sender had sent: is the window open, is
    /// the peer there?
    Probe,
    /// Data whose every byte had been captured before.
    Retransmission,
    /// Data that filled a hole behind bytes already captured.
    OutOfOrder,
}

/// One field, with the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldView {
    /// The field's name (as in docs/protocol.md).
    pub name: Field,
    /// Offset of its first byte in its direction's stream.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// Its bytes in hex (at most 64 shown, then `…`).
    pub hex: String,
    /// Its decoded value, escaped for display.
    pub value: String,
    /// What it means, in English.
    pub en: String,
    /// What it means, in Portuguese.
    pub pt: String,
    /// Its meaning as a sentence key and arguments.
    pub sentence: Said,
}

/// A file body as captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payload {
    /// Bytes announced.
    pub size: u64,
    /// Bytes the capture holds.
    pub captured: u64,
    /// MD5 (hex) of the body, when every byte was captured.
    pub md5: Option<String>,
    /// The first bytes, as text when printable, otherwise as hex.
    pub preview: String,
}

/// Something worth pointing out: a problem in the capture or the protocol,
/// or a lesson (such as a password sent in the clear).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// What kind of finding.
    pub kind: AnomalyKind,
    /// Which direction it concerns.
    pub direction: Option<Direction>,
    /// Stream offset it concerns.
    pub offset: Option<u64>,
    /// In English.
    pub en: String,
    /// In Portuguese.
    pub pt: String,
    /// The same as a sentence key and arguments.
    pub sentence: Said,
}

/// The kinds of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnomalyKind {
    /// A message or body ends with the stream.
    Truncated,
    /// Bytes the capture never saw.
    Gap,
    /// An op byte the protocol does not define.
    UnknownOp,
    /// Any other protocol violation.
    BadMessage,
    /// Bytes after the end of the exchange.
    TrailingBytes,
    /// An op 40 MD5 that cannot match any file.
    Md5CannotMatch,
    /// An op 60 password visible to anyone capturing.
    ClearTextPassword,
    /// An encrypted (TLS) conversation: what a capture shows of it, and
    /// whether the key log opened it.
    Encrypted,
    /// Segments captured twice.
    Retransmission,
    /// Segments captured after later ones.
    OutOfOrder,
    /// The same acknowledgement sent again.
    DuplicateAck,
    /// A receiver whose buffer was full.
    ZeroWindow,
    /// A receiver announcing room again.
    WindowUpdate,
    /// Probes of a closed window (or keep-alives).
    WindowProbe,
    /// Overlapping segments with different bytes.
    Conflict,
    /// The capture started after the connection did.
    MidStream,
    /// A stream longer than the decoding limit.
    Capped,
    /// The file ends in the middle of a record.
    CutShort,
    /// Packets that were not TCP, or on unsupported links.
    Skipped,
}

impl Anomaly {
    pub(crate) fn new(
        kind: AnomalyKind,
        direction: Option<Direction>,
        offset: Option<u64>,
        sentence: Said,
    ) -> Self {
        let (en, pt, sentence) = sentence.split();
        Anomaly {
            kind,
            direction,
            offset,
            en,
            pt,
            sentence,
        }
    }
}
