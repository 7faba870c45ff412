//! ferry's core in the browser: thin wasm-bindgen exports for the teaching
//! page (`web/`). No protocol logic lives here: every answer comes from
//! `ferry-core`, the same code `ferry decode` and the server run, and is
//! handed over as JSON (the transcript's serde shape).
//!
//! - [`Capture`]: a decoded capture, its transcript and its bytes (TLS
//!   conversations opened with a key log, when one is given);
//! - [`keylog_conversations`]: a key log checked before it is used;
//! - [`decode_exchange`]: bytes typed or pasted by hand, decoded;
//! - [`encode_request`]: a request built from its fields by the core's own
//!   encoders, with its bytes explained;
//! - [`encode_upload`]: an upload's bytes, body and all, as the core's
//!   client session sends them;
//! - [`md5_hex`]: to check a RESUME against an earlier download;
//! - [`version`].

#![warn(missing_docs)]

use ferry_core::{
    ClientSession, Credentials, DecodeErrorKind, KeyLog, Limits, Mask, Name, Output, Request,
    StreamBytes, Streams, Timestamp, TraceOptions, decode_capture_with_streams, explain_error,
};
use wasm_bindgen::prelude::*;

/// The version of ferry this page runs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

/// A decoded capture: its transcript (JSON) and each connection's bytes.
#[wasm_bindgen]
pub struct Capture {
    transcript: String,
    streams: Vec<Streams>,
}

#[wasm_bindgen]
impl Capture {
    /// Decodes a pcap or pcapng file. `ports` are the server ports to
    /// decode (empty: 20000 and 20001); `keylog` is a TLS key log (empty:
    /// none) whose TLS 1.3 conversations are opened. A file that is not a
    /// capture is an error whose message is JSON: `kind` (as
    /// [`ferry_core::CaptureError::kind`]), `en` and `pt`; a key log that
    /// is not one, an error whose message says which line.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], ports: Vec<u16>, keylog: &[u8]) -> Result<Capture, JsError> {
        let mut options = TraceOptions::default();
        if !ports.is_empty() {
            options.ports = ports;
        }
        if !keylog.is_empty() {
            options.keylog = parse_keylog(keylog)?;
        }
        let (transcript, streams) = decode_capture_with_streams(bytes, &options).map_err(|e| {
            let (en, pt) = e.explained();
            let why = serde_json::json!({ "kind": e.kind(), "en": en, "pt": pt });
            JsError::new(&why.to_string())
        })?;
        let transcript =
            serde_json::to_string(&transcript).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Capture {
            transcript,
            streams,
        })
    }

    /// The transcript, as `ferry decode --json` prints it (compact).
    pub fn transcript(&self) -> String {
        self.transcript.clone()
    }

    /// Up to `len` bytes of one connection's stream from `offset`, fewer
    /// where the capture has a gap or the stream ends (none for a
    /// connection that does not exist).
    pub fn bytes(&self, connection: usize, to_server: bool, offset: f64, len: f64) -> Vec<u8> {
        self.slice(connection, offset, len, |s| match to_server {
            true => &s.to_server,
            false => &s.to_client,
        })
    }

    /// The same from the decrypted stream of a TLS conversation (where the
    /// fields of its `decrypted` messages count).
    pub fn decrypted(&self, connection: usize, to_server: bool, offset: f64, len: f64) -> Vec<u8> {
        self.slice(connection, offset, len, |s| match to_server {
            true => &s.decrypted_to_server,
            false => &s.decrypted_to_client,
        })
    }
}

impl Capture {
    fn slice(
        &self,
        connection: usize,
        offset: f64,
        len: f64,
        pick: impl Fn(&Streams) -> &StreamBytes,
    ) -> Vec<u8> {
        let Some(streams) = self.streams.get(connection) else {
            return Vec::new();
        };
        // JavaScript numbers: clamp, never trust (NaN is 0).
        pick(streams)
            .get(offset.max(0.0) as u64, len.max(0.0) as u64)
            .to_vec()
    }
}

/// How many TLS conversations a key log holds secrets for; a file that is
/// not a key log is an error whose message says which line.
#[wasm_bindgen]
pub fn keylog_conversations(bytes: &[u8]) -> Result<usize, JsError> {
    parse_keylog(bytes).map(|log| log.len())
}

fn parse_keylog(bytes: &[u8]) -> Result<KeyLog, JsError> {
    KeyLog::parse(bytes).map_err(|e| JsError::new(&e.to_string()))
}

/// A sentence of a transcript (a message's, a finding's or a field's
/// `sentence`, as JSON) put into words in Portuguese or English from its
/// key and arguments: the page says what the core's tables say. Something
/// that is not a sentence says nothing.
#[wasm_bindgen]
pub fn sentence_words(sentence: &str, portuguese: bool) -> String {
    serde_json::from_str::<ferry_core::Said>(sentence)
        .map(|said| ferry_core::words(&said, portuguese))
        .unwrap_or_default()
}

/// The MD5 of `bytes`, in lowercase hex (to check a RESUME against an
/// earlier download in the same capture).
#[wasm_bindgen]
pub fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    ferry_core::hex(&md5::Md5::digest(bytes))
}

/// Decodes bytes typed or pasted by hand, `to_server` from the client and
/// `to_client` (possibly empty) from the server, as one conversation:
/// the JSON of a transcript's connection.
#[wasm_bindgen]
pub fn decode_exchange(to_server: &[u8], to_client: &[u8]) -> String {
    let connection = ferry_core::decode_exchange(to_server, to_client, &Limits::default());
    serde_json::to_string(&connection).unwrap_or_default()
}

/// Builds a request from its fields with the core's encoders: `op` is
/// `DOWNLOAD`, `LIST`, `UPLOAD`, `RESUME`, `MGET` or `AUTH`; the fields an
/// op does not use are ignored. `md5` is 32 hexadecimal digits. Returns the
/// request's bytes; a field the protocol refuses is an error whose message
/// is JSON: `{"en": "...", "pt": "..."}`, why, in both languages.
#[wasm_bindgen]
pub fn encode_request(
    op: &str,
    name: &str,
    position: u32,
    md5: &str,
    mask: &str,
    user: &str,
    pass: &str,
) -> Result<Vec<u8>, JsError> {
    encode(op, name, position, md5, mask, user, pass).map_err(refusal)
}

/// The bytes a client sends to upload `body` as `name` when the server
/// accepts it: the request, then (after the server's status 0) the size
/// and the body, as the core's client session writes them. A refusal is
/// an error whose message is `{"en": ..., "pt": ...}` JSON.
#[wasm_bindgen]
pub fn encode_upload(name: &str, body: &[u8]) -> Result<Vec<u8>, JsError> {
    upload(name, body).map_err(refusal)
}

/// A refusal in both languages, as the page reads it.
fn refusal((en, pt): (String, String)) -> JsError {
    JsError::new(&serde_json::json!({ "en": en, "pt": pt }).to_string())
}

/// [`encode_upload`], its refusal as English and Portuguese.
fn upload(name: &str, body: &[u8]) -> Result<Vec<u8>, (String, String)> {
    let limits = Limits::default();
    let name = Name::parse(name.as_bytes(), &limits)
        .map_err(|e| explain_error(&DecodeErrorKind::BadName(e)))?;
    let size = u32::try_from(body.len()).map_err(|_| {
        (
            "the file's contents are larger than 4 GiB".to_owned(),
            "o conteúdo do arquivo passa de 4 GiB".to_owned(),
        )
    })?;
    // The session refusing its own steps would be a bug of the core.
    let broken = |e: &dyn std::fmt::Display| (e.to_string(), format!("falha interna: {e}"));
    let now = Timestamp::from_micros(0);
    let mut session = ClientSession::new(limits, now, None, Request::Upload { name });
    let mut out = Vec::new();
    let sent = |session: &mut ClientSession, out: &mut Vec<u8>| {
        while let Some(output) = session.poll_output() {
            if let Output::Transmit(bytes) = output {
                out.extend(bytes);
            }
        }
    };
    sent(&mut session, &mut out);
    // The server's first status: 0, accepted.
    session.handle_input(now, &[0]).map_err(|e| broken(&e))?;
    session.send_upload(size).map_err(|e| broken(&e))?;
    sent(&mut session, &mut out);
    out.extend_from_slice(body);
    Ok(out)
}

/// [`encode_request`], its refusal as English and Portuguese.
fn encode(
    op: &str,
    name: &str,
    position: u32,
    md5: &str,
    mask: &str,
    user: &str,
    pass: &str,
) -> Result<Vec<u8>, (String, String)> {
    let limits = Limits::default();
    let name = || {
        Name::parse(name.as_bytes(), &limits)
            .map_err(|e| explain_error(&DecodeErrorKind::BadName(e)))
    };
    let mut out = Vec::new();
    match op {
        "AUTH" => Credentials::new(user, pass, &limits)
            .map_err(|e| explain_error(&e))?
            .encode(&mut out),
        "DOWNLOAD" => Request::Download { name: name()? }.encode(&mut out),
        "LIST" => Request::List.encode(&mut out),
        "UPLOAD" => Request::Upload { name: name()? }.encode(&mut out),
        "RESUME" => Request::Resume {
            name: name()?,
            position,
            md5: parse_md5(md5).ok_or_else(|| {
                (
                    "the MD5 must be 32 hexadecimal digits".to_owned(),
                    "o MD5 deve ter 32 dígitos hexadecimais".to_owned(),
                )
            })?,
        }
        .encode(&mut out),
        "MGET" => Request::MGet {
            mask: Mask::new(mask, &limits).map_err(|e| explain_error(&e))?,
        }
        .encode(&mut out),
        other => {
            return Err((
                format!("unknown op {other}"),
                format!("operação desconhecida {other}"),
            ));
        }
    }
    Ok(out)
}

fn parse_md5(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    // from_str_radix would take a sign: only digits pass.
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut md5 = [0u8; 16];
    for (i, byte) in md5.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(md5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_its_request_then_its_size_and_body() {
        let bytes = upload("a.txt", b"hi").unwrap();
        assert_eq!(bytes, b"\x1e\x00\x00\x00\x05a.txt\x00\x00\x00\x02hi");
        assert!(upload("../a", b"").is_err());
    }

    #[test]
    fn md5_text_is_32_hex_digits() {
        assert_eq!(
            parse_md5("d41d8cd98f00b204e9800998ecf8427e"),
            Some(ferry_core::EMPTY_MD5)
        );
        assert_eq!(parse_md5("d41d8cd98f00b204e9800998ecf8427"), None);
        assert_eq!(parse_md5("zz1d8cd98f00b204e9800998ecf8427e"), None);
        assert_eq!(parse_md5("é1d8cd98f00b204e9800998ecf8427"), None);
        assert_eq!(parse_md5("+0+0+0+0+0+0+0+0+0+0+0+0+0+0+0+0"), None);
    }

    #[test]
    fn a_refused_field_says_why_in_both_languages() {
        let (en, pt) = encode("DOWNLOAD", "../x", 0, "", "", "", "").unwrap_err();
        assert_eq!(en, "the name has a '.' or '..' component");
        assert_eq!(pt, "o nome tem uma parte '.' ou '..'");
        let (en, _) = encode("RESUME", "a", 1, "abc", "", "", "").unwrap_err();
        assert!(en.contains("32 hexadecimal digits"));
        assert_eq!(encode("LIST", "", 0, "", "", "", "").unwrap(), [20]);
    }

    #[test]
    fn typed_bytes_decode_as_a_conversation() {
        let json = decode_exchange(b"\x0a\x00\x00\x00\x05a.txt", b"\x00\x00\x00\x00\x03abc");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let messages = value["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3, "{json}");
        assert_eq!(messages[0]["summary"], "DOWNLOAD \"a.txt\"");
        assert_eq!(
            messages[2]["payload"]["md5"],
            "900150983cd24fb0d6963f7d28e17f72"
        );
    }
}
