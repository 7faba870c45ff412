//! The two hellos that open a TLS conversation in the clear (RFC 8446
//! §4.1.2–4.1.3): what a ClientHello offers (versions, cipher suites,
//! ALPN, the server's name) and what a ServerHello chose.

use crate::error::DecodeError;
use crate::field::Field;
use crate::name::escape;
use crate::wire::{Reader, Span};

use super::names;

/// What a ClientHello offered, or a ServerHello chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Hello {
    /// The sender's 32 random bytes (the client's names the conversation in
    /// a key log).
    pub random: Vec<u8>,
    /// The record-layer era version in the hello itself.
    pub legacy_version: u16,
    /// supported_versions: offered (ClientHello) or chosen (ServerHello).
    pub versions: Vec<u16>,
    /// Offered (ClientHello) or chosen (ServerHello, one).
    pub suites: Vec<u16>,
    /// ALPN protocols offered, or the one chosen.
    pub alpn: Vec<String>,
    /// The server name the client asked for (SNI).
    pub server_name: Option<String>,
    /// key_share groups.
    pub groups: Vec<u16>,
    /// A HelloRetryRequest: a ServerHello asking for another key share.
    pub retry: bool,
}

impl Hello {
    /// The version a ServerHello chose: supported_versions if present,
    /// otherwise the hello's own field (TLS 1.2 and older).
    pub(crate) fn chosen_version(&self) -> u16 {
        self.versions
            .first()
            .copied()
            .unwrap_or(self.legacy_version)
    }
}

/// A ServerHello's random when it is a HelloRetryRequest: SHA-256 of
/// "HelloRetryRequest" (RFC 8446 §4.1.3).
const RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

fn u16_of(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// A field with its own `u8` length in front.
fn vec8<'a>(r: &mut Reader<'a>, field: Field) -> Result<&'a [u8], DecodeError> {
    let len = r.rest().first().map_or(1, |&n| 1 + usize::from(n));
    Ok(&r.take(field, len)?[1..])
}

/// A field with its own `u16` length in front.
fn vec16<'a>(r: &mut Reader<'a>, field: Field) -> Result<&'a [u8], DecodeError> {
    let len = match r.rest() {
        [a, b, ..] => 2 + usize::from(u16_of(&[*a, *b])),
        _ => 2,
    };
    Ok(&r.take(field, len)?[2..])
}

/// Big-endian `u16`s, ignoring an odd last byte.
fn u16s(data: &[u8]) -> Vec<u16> {
    data.chunks_exact(2).map(u16_of).collect()
}

/// Reads a ClientHello (`client`) or ServerHello body, every field a span.
pub(crate) fn read(
    body: &[u8],
    base: u64,
    client: bool,
) -> (Result<Hello, DecodeError>, Vec<Span>) {
    let mut r = Reader::new(body, base);
    let hello = read_fields(&mut r, client);
    (hello, r.into_spans())
}

fn read_fields(r: &mut Reader<'_>, client: bool) -> Result<Hello, DecodeError> {
    let mut hello = Hello {
        legacy_version: r.u16(Field::LegacyVersion)?,
        random: r.take(Field::Random, 32)?.to_vec(),
        ..Hello::default()
    };
    vec8(r, Field::SessionId)?;
    if client {
        hello.suites = u16s(vec16(r, Field::CipherSuites)?);
        vec8(r, Field::Compression)?;
    } else {
        hello.suites = vec![r.u16(Field::CipherSuite)?];
        r.take(Field::Compression, 1)?;
    }
    hello.retry = !client && hello.random == RETRY_RANDOM;
    if r.rest().is_empty() {
        return Ok(hello); // TLS 1.2 and older may send no extensions
    }
    let len = usize::from(r.u16(Field::ExtensionsLength)?);
    let end = r.consumed() + len;
    while r.consumed() < end {
        let ext_len = match r.rest() {
            [_, _, a, b, ..] => 4 + usize::from(u16_of(&[*a, *b])),
            _ => 4,
        };
        let ext = r.take(Field::Extension, ext_len)?;
        learn(&mut hello, u16_of(ext), &ext[4..], client);
    }
    Ok(hello)
}

/// What one extension tells about the hello.
fn learn(hello: &mut Hello, kind: u16, data: &[u8], client: bool) {
    match kind {
        0 => hello.server_name = server_name(data),
        16 => hello.alpn = alpn(data),
        43 => hello.versions = versions(data, client),
        51 => hello.groups = key_share_groups(data, client),
        _ => {}
    }
}

fn server_name(data: &[u8]) -> Option<String> {
    // list length (2), then name type (1, 0 = host name), length (2), name
    let name = data.get(5..)?;
    let len = usize::from(u16_of(data.get(3..5)?));
    (data.get(2) == Some(&0)).then(|| escape(&name[..len.min(name.len())]))
}

fn alpn(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = data.get(2..).unwrap_or_default();
    while let Some((&len, after)) = rest.split_first() {
        let len = usize::from(len).min(after.len());
        out.push(escape(&after[..len]));
        rest = &after[len..];
    }
    out
}

fn versions(data: &[u8], client: bool) -> Vec<u16> {
    match client {
        true => u16s(data.get(1..).unwrap_or_default()),
        false => u16s(data),
    }
}

fn key_share_groups(data: &[u8], client: bool) -> Vec<u16> {
    if !client {
        return data.get(..2).map(u16_of).into_iter().collect();
    }
    let mut out = Vec::new();
    let mut rest = data.get(2..).unwrap_or_default();
    while rest.len() >= 4 {
        out.push(u16_of(rest));
        let len = usize::from(u16_of(&rest[2..]));
        rest = rest.get(4 + len..).unwrap_or_default();
    }
    out
}

/// An extension's value in words (its bytes: type, length, data), as the
/// ClientHello (`client`) or ServerHello says it.
pub(crate) fn extension_value(raw: &[u8], client: bool) -> String {
    let Some(kind) = raw.get(..2).map(u16_of) else {
        return crate::trace::text::bytes(raw.len() as u64).en;
    };
    let data = raw.get(4..).unwrap_or_default();
    let name = names::extension(kind);
    let list = |items: Vec<String>| items.join(", ");
    match kind {
        0 => match server_name(data) {
            Some(host) => format!("{name}: \"{host}\""),
            None => name,
        },
        16 => format!("ALPN: {}", list(alpn(data))),
        43 => format!(
            "{name}: {}",
            list(
                versions(data, client)
                    .into_iter()
                    .map(names::version)
                    .collect()
            )
        ),
        51 => format!(
            "{name}: {}",
            list(
                key_share_groups(data, client)
                    .into_iter()
                    .map(names::group)
                    .collect()
            )
        ),
        10 => format!(
            "{name}: {}",
            list(
                u16s(data.get(2..).unwrap_or_default())
                    .into_iter()
                    .map(names::group)
                    .collect()
            )
        ),
        _ => format!("{name}, {} bytes", data.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body as rustls sends it, cut to what the tests read.
    fn client_hello() -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend([0x11; 32]);
        body.extend([32]);
        body.extend([0x22; 32]);
        body.extend([0, 6, 0x13, 0x02, 0x13, 0x01, 0x13, 0x03]);
        body.extend([1, 0]);
        let mut ext = Vec::new();
        ext.extend([0, 0, 0, 14, 0, 12, 0, 0, 9]);
        ext.extend(b"localhost");
        ext.extend([0, 16, 0, 8, 0, 6, 5]);
        ext.extend(b"ferry");
        ext.extend([0, 43, 0, 5, 4, 3, 4, 3, 3]);
        ext.extend([0, 51, 0, 38, 0, 36, 0, 0x1d, 0, 32]);
        ext.extend([0x33; 32]);
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        body
    }

    #[test]
    fn a_client_hello_says_what_it_offers() {
        let body = client_hello();
        let (hello, spans) = read(&body, 100, true);
        let hello = hello.unwrap();
        assert_eq!(hello.random, [0x11; 32]);
        assert_eq!(hello.suites, [0x1302, 0x1301, 0x1303]);
        assert_eq!(hello.server_name.as_deref(), Some("localhost"));
        assert_eq!(hello.alpn, ["ferry"]);
        assert_eq!(hello.versions, [0x0304, 0x0303]);
        assert_eq!(hello.groups, [0x001d]);
        assert!(!hello.retry);
        // Every byte is in exactly one span, in order, from offset 100.
        let mut at = 100;
        for span in &spans {
            assert_eq!(span.offset, at, "{span:?}");
            at += span.len;
        }
        assert_eq!(at, 100 + body.len() as u64);
        let names: Vec<Field> = spans.iter().map(|s| s.field).collect();
        assert_eq!(
            names[..6],
            [
                Field::LegacyVersion,
                Field::Random,
                Field::SessionId,
                Field::CipherSuites,
                Field::Compression,
                Field::ExtensionsLength
            ]
        );
        let ext = |i: usize| {
            let s = spans[6 + i];
            let start = (s.offset - 100) as usize;
            extension_value(&body[start..start + s.len as usize], true)
        };
        assert_eq!(ext(0), "server_name: \"localhost\"");
        assert_eq!(ext(1), "ALPN: ferry");
        assert_eq!(ext(2), "supported_versions: TLS 1.3, TLS 1.2");
        assert_eq!(ext(3), "key_share: x25519");
    }

    #[test]
    fn a_server_hello_says_what_it_chose_and_a_retry_is_seen() {
        let mut body = vec![0x03, 0x03];
        body.extend(RETRY_RANDOM);
        body.extend([0, 0x13, 0x01, 0]);
        body.extend([0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x17]);
        let (hello, _) = read(&body, 0, false);
        let hello = hello.unwrap();
        assert_eq!(hello.chosen_version(), 0x0304);
        assert_eq!(hello.suites, [0x1301]);
        assert!(hello.retry);
        assert_eq!(hello.groups, [0x0017]);
        assert_eq!(
            extension_value(&[0, 43, 0, 2, 3, 4], false),
            "supported_versions: TLS 1.3"
        );
    }

    #[test]
    fn every_cut_of_a_hello_is_an_error_not_a_panic() {
        let body = client_hello();
        for cut in 0..body.len() {
            let (hello, _) = read(&body[..cut], 0, true);
            // Cut inside the extensions or before: an error, never a panic;
            // cut exactly before them: a hello without extensions.
            if cut != 77 {
                assert!(hello.is_err(), "cut at {cut}");
            }
        }
        // Lengths that claim more than there is.
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] = 0xff;
            let _ = read(&bad, 0, true);
            let _ = read(&bad, 0, false);
            let _ = extension_value(&bad[i..], i % 2 == 0);
        }
    }
}
