//! Plain-language explanations of every field, in English and Portuguese
//! (the language of the assignments this protocol comes from).

use super::sparse::StreamBytes;
use super::text::{Both, bytes, count, plain, say};
use super::transcript::FieldView;
use crate::field::Field;
use crate::name::{escape, hex};

/// Hex shown for one field, at most.
const HEX_SHOWN: usize = 64;

/// The field `name` at `[offset, offset + len)` of a stream, with its
/// bytes (those captured), value and explanations.
pub(crate) fn view(
    stream: &StreamBytes,
    name: Field,
    offset: u64,
    len: u64,
    context: Context,
) -> FieldView {
    let raw = stream.get(offset, len);
    let (value, said) = describe(name, raw, context);
    let (en, pt, sentence) = said.split();
    let mut hex = hex(&raw[..raw.len().min(HEX_SHOWN)]);
    if raw.len() > HEX_SHOWN {
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
        sentence,
    }
}

/// Where a field sits, for the fields whose meaning depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    Auth,
    Download,
    List,
    UploadFirst,
    UploadFinal,
    Resume,
    MGet,
    Entry,
    Refusal,
    /// A TLS record or a handshake message other than a hello.
    Tls,
    /// Inside a TLS ClientHello.
    ClientHello,
    /// Inside a TLS ServerHello.
    ServerHello,
}

fn u32_of(raw: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    for (i, v) in raw.iter().take(4).enumerate() {
        b[i] = *v;
    }
    u32::from_be_bytes(b)
}

/// The displayed value of one field and its explanation.
pub(crate) fn describe(field: Field, raw: &[u8], context: Context) -> (String, Both) {
    let byte = raw.first().copied().unwrap_or(0);
    let n = u32_of(raw);
    let number = || count(n.into());
    let size = || bytes(n.into());
    // Only names are shown as text (never a whole body).
    let quoted = || format!("\"{}\"", escape(raw));
    match field {
        Field::Op => match crate::message::Op::from_byte(byte) {
            Some(op) => (
                format!("{byte} ({})", op.as_str()),
                say(
                    "field.op",
                    &[("byte", &plain(byte)), ("op", &plain(op.as_str()))],
                ),
            ),
            None => (
                byte.to_string(),
                say("field.op.unknown", &[("byte", &plain(byte))]),
            ),
        },
        Field::NameLen => (n.to_string(), say("field.name_len", &[("n", &size())])),
        Field::MaskLen => (n.to_string(), say("field.mask_len", &[("n", &size())])),
        Field::UserLen => (n.to_string(), say("field.user_len", &[("n", &size())])),
        Field::PassLen => (n.to_string(), say("field.pass_len", &[("n", &size())])),
        Field::ListingLen => (n.to_string(), say("field.listing_len", &[("n", &size())])),
        Field::Name => (quoted(), say("field.name", &[])),
        Field::Mask => (quoted(), say("field.mask", &[])),
        Field::User => (quoted(), say("field.user", &[])),
        Field::Pass => (quoted(), say("field.pass", &[])),
        Field::Position => (n.to_string(), say("field.position", &[("n", &size())])),
        Field::Md5 => (hex(raw), say("field.md5", &[])),
        Field::Size => (n.to_string(), say("field.size", &[("n", &size())])),
        Field::Remaining => (n.to_string(), say("field.remaining", &[("n", &number())])),
        Field::Count => (n.to_string(), say("field.count", &[("n", &number())])),
        Field::Status | Field::ResumeResult | Field::EntryStatus => coded(field, byte, context),
        Field::Listing => (
            format!("JSON, {}", bytes(raw.len() as u64).en),
            say("field.listing", &[]),
        ),
        Field::Body => (bytes(raw.len() as u64).en, say("field.body", &[])),
        Field::ContentType
        | Field::RecordVersion
        | Field::RecordLength
        | Field::HandshakeType
        | Field::HandshakeLength
        | Field::LegacyVersion
        | Field::Random
        | Field::SessionId
        | Field::CipherSuites
        | Field::CipherSuite
        | Field::Compression
        | Field::ExtensionsLength
        | Field::Extension
        | Field::HandshakeBody
        | Field::ChangeCipherSpec
        | Field::AlertLevel
        | Field::AlertDescription
        | Field::Encrypted
        | Field::AuthTag => super::tls::describe(field, raw, context),
    }
}

/// A one-byte code: its number, and what it means where it sits.
fn coded(field: Field, byte: u8, context: Context) -> (String, Both) {
    let (key, meaning) = match field {
        Field::Status => ("field.status", status_meaning(context, byte)),
        Field::ResumeResult => (
            "field.result",
            match byte {
                0 => say("result.0", &[]),
                10 => say("result.10", &[]),
                20 => say("result.20", &[]),
                _ => say("result.other", &[]),
            },
        ),
        _ => (
            "field.entry_status",
            match byte {
                0 => say("entry.0", &[]),
                10 => say("entry.10", &[]),
                _ => say("entry.other", &[]),
            },
        ),
    };
    let args = [("byte", &plain(byte)), ("meaning", &meaning)];
    (byte.to_string(), say(key, &args))
}

/// What a status byte means after what it answers.
fn status_meaning(context: Context, byte: u8) -> Both {
    match (context, byte) {
        (Context::Auth, 0) => say("status.auth.ok", &[]),
        (Context::Auth, _) => say("status.auth.error", &[]),
        (Context::Download, 0) => say("status.download.ok", &[]),
        (Context::Download, _) => say("status.download.error", &[]),
        (Context::List, 0) => say("status.list.ok", &[]),
        (Context::UploadFirst, 0) => say("status.upload_first.ok", &[]),
        (Context::UploadFirst, _) => say("status.upload_first.error", &[]),
        (Context::UploadFinal, 0) => say("status.upload_final.ok", &[]),
        (Context::UploadFinal, _) => say("status.upload_final.error", &[]),
        (Context::Resume, 0) => say("status.resume.ok", &[]),
        (Context::Refusal, 0) => say("status.ok", &[]),
        (Context::Refusal, _) => say("status.refusal", &[]),
        (Context::MGet, 0) => say("status.mget.ok", &[]),
        (_, 0) => say("status.ok", &[]),
        _ => say("status.error", &[]),
    }
}
