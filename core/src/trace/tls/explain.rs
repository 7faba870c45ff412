//! What each TLS field means, in English and Portuguese.

use super::hello::extension_value;
use super::names;
use crate::field::Field;
use crate::name::hex;
use crate::trace::explain::Context;
use crate::trace::text::{Both, bytes, plain, say};

fn number(raw: &[u8]) -> u64 {
    raw.iter().take(8).fold(0, |n, &b| n << 8 | u64::from(b))
}

/// A list of `u16` names, the first `SHOWN` of them, then how many more.
fn names_of(data: &[u8], name: fn(u16) -> String) -> String {
    const SHOWN: usize = 8;
    let ids: Vec<u16> = data
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    let mut shown: Vec<String> = ids.iter().take(SHOWN).map(|&id| name(id)).collect();
    if ids.len() > SHOWN {
        shown.push(format!("+{}", ids.len() - SHOWN));
    }
    shown.join(", ")
}

/// The displayed value and the explanation of one TLS field.
pub(crate) fn describe(field: Field, raw: &[u8], context: Context) -> (String, Both) {
    let byte = raw.first().copied().unwrap_or(0);
    let n = number(raw);
    let count = || bytes(raw.len() as u64);
    match field {
        Field::ContentType | Field::HandshakeType | Field::AlertLevel | Field::AlertDescription => {
            named_byte(field, byte)
        }
        Field::RecordVersion | Field::LegacyVersion => {
            let version = names::version(n as u16);
            let key = match field {
                Field::RecordVersion => "tls.field.record_version",
                _ => "tls.field.legacy_version",
            };
            (
                format!("0x{n:04x} ({version})"),
                say(key, &[("version", &plain(&version))]),
            )
        }
        Field::RecordLength => (
            n.to_string(),
            say("tls.field.record_length", &[("n", &bytes(n))]),
        ),
        Field::HandshakeLength => (
            n.to_string(),
            say("tls.field.handshake_length", &[("n", &bytes(n))]),
        ),
        Field::Random => (hex(raw), say("tls.field.random", &[])),
        Field::SessionId => (
            bytes(raw.len().saturating_sub(1) as u64).en,
            say(
                "tls.field.session_id",
                &[("n", &bytes(raw.len().saturating_sub(1) as u64))],
            ),
        ),
        Field::CipherSuites => {
            let list = names_of(raw.get(2..).unwrap_or_default(), names::suite);
            let n = raw.len().saturating_sub(2) / 2;
            (
                if n == 1 {
                    "1 suite".into()
                } else {
                    format!("{n} suites")
                },
                say(
                    "tls.field.cipher_suites",
                    &[("n", &plain(n)), ("list", &plain(list))],
                ),
            )
        }
        Field::CipherSuite => {
            let name = names::suite(n as u16);
            (
                name.clone(),
                say("tls.field.cipher_suite", &[("name", &plain(name))]),
            )
        }
        Field::Compression => (hex(raw), say("tls.field.compression", &[])),
        Field::ExtensionsLength => (
            n.to_string(),
            say("tls.field.extensions_length", &[("n", &bytes(n))]),
        ),
        Field::Extension => extension(raw, context),
        Field::HandshakeBody => (
            bytes(raw.len() as u64).en,
            say("tls.field.handshake_body", &[("n", &count())]),
        ),
        Field::ChangeCipherSpec => (byte.to_string(), say("tls.field.change_cipher_spec", &[])),
        Field::Encrypted => (
            bytes(raw.len() as u64).en,
            say("tls.field.encrypted", &[("n", &count())]),
        ),
        Field::AuthTag => (hex(raw), say("tls.field.auth_tag", &[])),
        // Not a TLS field: its bytes, said plainly.
        _ => (
            hex(raw),
            say("tls.field.handshake_body", &[("n", &count())]),
        ),
    }
}

/// An extension: its value and what it is for, offered (a ClientHello)
/// or chosen (a ServerHello).
fn extension(raw: &[u8], context: Context) -> (String, Both) {
    let value = extension_value(raw, context != Context::ServerHello);
    let kind = raw
        .get(..2)
        .map_or(u16::MAX, |b| u16::from_be_bytes([b[0], b[1]]));
    let key = match (kind, context) {
        (0, _) => "tls.field.ext.server_name",
        (16, Context::ServerHello) => "tls.field.ext.alpn_chosen",
        (16, _) => "tls.field.ext.alpn",
        (43, Context::ServerHello) => "tls.field.ext.version_chosen",
        (43, _) => "tls.field.ext.versions",
        (51, _) => "tls.field.ext.key_share",
        _ => "tls.field.ext.other",
    };
    (value, say(key, &[]))
}

/// A one-byte field with a name: a content type, a handshake type, an
/// alert's level or description.
fn named_byte(field: Field, byte: u8) -> (String, Both) {
    let (name, key) = match field {
        Field::ContentType => (
            names::content_type(byte).unwrap_or("?").to_owned(),
            "tls.field.content_type",
        ),
        Field::HandshakeType => (names::handshake(byte), "tls.field.handshake_type"),
        Field::AlertLevel => (
            match byte {
                1 => "warning",
                2 => "fatal",
                _ => "?",
            }
            .to_owned(),
            "tls.field.alert_level",
        ),
        _ => (names::alert(byte), "tls.field.alert_description"),
    };
    let said = say(key, &[("byte", &plain(byte)), ("name", &plain(&name))]);
    (format!("{byte} ({name})"), said)
}
