//! TLS around a connection's bytes: rustls driven sans-IO by [`Conn`]
//! (ciphertext read from and written to its socket, plaintext in its
//! buffers), so the drive loop, its deadlines and the sessions do not
//! change. A TLS connection sends bodies by reading the file into full
//! records instead of `sendfile`.
//!
//! [`Conn`]: crate::conn::Conn

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// The ALPN protocol id of ferry over TLS: a server requires it when the
/// client offers ALPN, so a certificate shared with an HTTPS server cannot
/// be used across protocols.
pub const ALPN: &[u8] = b"ferry";

/// Plaintext bytes read from a file per TLS write: a handful of full
/// 16 KiB records.
pub(crate) const TLS_CHUNK: usize = 256 * 1024;

/// One connection's TLS state.
pub(crate) struct Tls {
    pub(crate) session: rustls::Connection,
    /// Plaintext read from a body's source, reused between writes.
    pub(crate) scratch: Vec<u8>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("handshaking", &self.session.is_handshaking())
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// TLS for a connection this side accepted.
    pub(crate) fn server(config: Arc<rustls::ServerConfig>) -> io::Result<Box<Tls>> {
        let session = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Tls::wrap(session.into()))
    }

    /// TLS for a connection this side opened to `name`.
    pub(crate) fn client(
        config: Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> io::Result<Box<Tls>> {
        let session = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Tls::wrap(session.into()))
    }

    fn wrap(mut session: rustls::Connection) -> Box<Tls> {
        // The connection's own queue bounds what is written; rustls holds
        // what it is given (a listing may be megabytes).
        session.set_buffer_limit(None);
        Box::new(Tls {
            session,
            scratch: Vec::new(),
        })
    }

    /// Takes ciphertext read elsewhere (an accepted connection's first
    /// bytes).
    pub(crate) fn put_back(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.session.read_tls(&mut bytes)?;
            self.process()?;
        }
        Ok(())
    }

    /// Decrypts what has arrived; a peer that breaks TLS is an error that
    /// says so (the alert for it is queued to send).
    pub(crate) fn process(&mut self) -> io::Result<()> {
        match self.session.process_new_packets() {
            Ok(_) => Ok(()),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, TlsError(e))),
        }
    }

    /// Plaintext already decrypted into `buf`: `Ok(None)` if none is,
    /// `Ok(Some(0))` at the end of the stream.
    pub(crate) fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.session.reader().read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            // The peer closed TCP without a close_notify: for ferry, whose
            // messages carry their own lengths, that is the end of the stream.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Some(0)),
            Err(e) => Err(e),
        }
    }

    /// Queues plaintext to encrypt.
    pub(crate) fn write_plain(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.session.writer().write_all(bytes)
    }

    /// Writes queued ciphertext to the socket without waiting: `Ok(true)`
    /// once nothing is left.
    pub(crate) fn write_now(&mut self, socket: &TcpStream) -> io::Result<bool> {
        while self.session.wants_write() {
            let mut socket = socket;
            match self.session.write_tls(&mut socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// A TLS failure, in rustls's words, prefixed so a log line says which
/// layer broke.
#[derive(Debug)]
pub struct TlsError(pub rustls::Error);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS: {}", self.0)
    }
}

impl std::error::Error for TlsError {}

/// The SHA-256 fingerprint of a certificate's public key (its DER
/// SubjectPublicKeyInfo), as ssh shows keys: `SHA256:` and unpadded
/// base64. A renewed certificate with the same key keeps its fingerprint.
/// `None` if the certificate cannot be read.
pub fn fingerprint(certificate: &[u8]) -> Option<String> {
    let spki = subject_public_key_info(certificate)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, spki);
    Some(format!("SHA256:{}", base64(digest.as_ref())))
}

/// Whether a certificate names itself as its issuer (issuer and subject
/// are the same bytes): a self-signed one.
pub fn self_signed(certificate: &[u8]) -> bool {
    let fields = || -> Option<bool> {
        let (_, certificate, _) = der_element(certificate)?;
        let (_, mut tbs, _) = der_element(certificate)?;
        if tbs.first() == Some(&0xa0) {
            tbs = der_element(tbs)?.2;
        }
        // serial, signature, then issuer, validity, subject.
        tbs = der_element(tbs)?.2;
        tbs = der_element(tbs)?.2;
        let (issuer, _, rest) = der_element(tbs)?;
        let (_, _, rest) = der_element(rest)?;
        let (subject, _, _) = der_element(rest)?;
        Some(issuer == subject)
    };
    fields().unwrap_or(false)
}

/// The SubjectPublicKeyInfo of an X.509 certificate, whole (tag and
/// length included): the seventh element of tbsCertificate, counting the
/// optional version.
fn subject_public_key_info(certificate: &[u8]) -> Option<&[u8]> {
    let (_, certificate, _) = der_element(certificate)?;
    let (_, mut tbs, _) = der_element(certificate)?;
    // version [0] (optional), serial, signature, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = der_element(tbs)?.2;
    }
    for _ in 0..5 {
        tbs = der_element(tbs)?.2;
    }
    let (whole, _, _) = der_element(tbs)?;
    Some(whole)
}

/// One DER element at the start of `bytes`: the element whole, its
/// contents, and what follows it.
fn der_element(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let first = *bytes.get(1)?;
    let (len, header) = match first {
        0..=0x7f => (usize::from(first), 2),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let len = bytes
                .get(2..2 + n)?
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            (len, 2 + n)
        }
        _ => return None,
    };
    let end = header.checked_add(len)?;
    let whole = bytes.get(..end)?;
    Some((whole, &whole[header..], &bytes[end..]))
}

/// Standard base64 without padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_without_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg");
        assert_eq!(base64(b"fo"), "Zm8");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8");
    }

    #[test]
    fn a_truncated_certificate_has_no_fingerprint() {
        assert_eq!(fingerprint(&[]), None);
        assert_eq!(fingerprint(&[0x30, 0x82, 0x01]), None);
        assert_eq!(fingerprint(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
    }
}
