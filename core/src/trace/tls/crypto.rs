//! TLS 1.3 record protection (RFC 8446 §5.2 and §7.3): the traffic keys a
//! traffic secret gives, and records opened with them.
//!
//! Only opening: the decoder reads what a capture holds, with secrets a key
//! log gives, and never encrypts anything.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::{Sha256, Sha384};

/// The TLS 1.3 cipher suites the decoder opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suite {
    /// `TLS_AES_128_GCM_SHA256` (0x1301).
    Aes128Gcm,
    /// `TLS_AES_256_GCM_SHA384` (0x1302).
    Aes256Gcm,
    /// `TLS_CHACHA20_POLY1305_SHA256` (0x1303).
    ChaCha20Poly1305,
}

impl Suite {
    /// The suite a ServerHello chose, if it is one of the three.
    pub(crate) fn from_id(id: u16) -> Option<Suite> {
        match id {
            0x1301 => Some(Suite::Aes128Gcm),
            0x1302 => Some(Suite::Aes256Gcm),
            0x1303 => Some(Suite::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// Length of its hash's output, which is also a traffic secret's.
    fn hash_len(self) -> usize {
        match self {
            Suite::Aes256Gcm => 48,
            _ => 32,
        }
    }

    fn key_len(self) -> usize {
        match self {
            Suite::Aes128Gcm => 16,
            _ => 32,
        }
    }
}

/// Length of the record nonce (and of the IV it is made from).
const NONCE_LEN: usize = 12;
/// Length of the authentication tag that ends every protected record.
pub(crate) const TAG_LEN: usize = 16;

/// `HKDF-Expand-Label(secret, label, "", len)` with the suite's hash, or
/// `None` for a secret shorter than the hash (a key log line for another
/// suite).
fn expand_label(suite: Suite, secret: &[u8], label: &str, len: usize) -> Option<Vec<u8>> {
    let full = [b"tls13 ", label.as_bytes()].concat();
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(full.len()).ok()?);
    info.extend_from_slice(&full);
    info.push(0); // empty context
    let mut out = vec![0; len];
    let expanded = match suite {
        Suite::Aes256Gcm => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out),
        _ => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out),
    };
    expanded.ok()?;
    Some(out)
}

enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// Opens one direction's records under one traffic secret, counting them:
/// the n-th record's nonce is the IV with n folded in.
pub(crate) struct Opener {
    suite: Suite,
    secret: Vec<u8>,
    cipher: Cipher,
    iv: [u8; NONCE_LEN],
    seq: u64,
}

impl Opener {
    /// The opener for `secret`, or `None` if the secret does not fit the
    /// suite.
    pub(crate) fn new(suite: Suite, secret: &[u8]) -> Option<Opener> {
        if secret.len() != suite.hash_len() {
            return None;
        }
        let key = expand_label(suite, secret, "key", suite.key_len())?;
        let iv = expand_label(suite, secret, "iv", NONCE_LEN)?;
        let cipher = match suite {
            Suite::Aes128Gcm => Cipher::Aes128(Box::new(Aes128Gcm::new_from_slice(&key).ok()?)),
            Suite::Aes256Gcm => Cipher::Aes256(Box::new(Aes256Gcm::new_from_slice(&key).ok()?)),
            Suite::ChaCha20Poly1305 => {
                Cipher::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(&key).ok()?))
            }
        };
        Some(Opener {
            suite,
            secret: secret.to_vec(),
            cipher,
            iv: iv.try_into().ok()?,
            seq: 0,
        })
    }

    /// The opener after a KeyUpdate: the next secret, counting from 0.
    pub(crate) fn updated(&self) -> Option<Opener> {
        let next = expand_label(
            self.suite,
            &self.secret,
            "traffic upd",
            self.suite.hash_len(),
        )?;
        Opener::new(self.suite, &next)
    }

    /// Opens the next record (`header`: its 5 header bytes, the additional
    /// data; `fragment`: what follows, the tag included): the inner
    /// plaintext, padding and content type still on, or `None` when the
    /// tag does not match (wrong secret, a record out of turn, a changed
    /// byte). Only a record that opens counts.
    pub(crate) fn open(&mut self, header: &[u8], fragment: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = self.iv;
        for (n, s) in nonce[NONCE_LEN - 8..]
            .iter_mut()
            .zip(self.seq.to_be_bytes())
        {
            *n ^= s;
        }
        let mut buffer = fragment.to_vec();
        let opened = match &self.cipher {
            Cipher::Aes128(c) => c.decrypt_in_place(&nonce.into(), header, &mut buffer),
            Cipher::Aes256(c) => c.decrypt_in_place(&nonce.into(), header, &mut buffer),
            Cipher::ChaCha(c) => c.decrypt_in_place(&nonce.into(), header, &mut buffer),
        };
        opened.ok()?;
        self.seq += 1;
        Some(buffer)
    }
}

/// An inner plaintext's content type and content: the last byte that is
/// not zero padding is the type (RFC 8446 §5.4); all zeros is `None`.
pub(crate) fn inner(plaintext: &[u8]) -> Option<(u8, &[u8])> {
    let end = plaintext.iter().rposition(|&b| b != 0)?;
    Some((plaintext[end], &plaintext[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex with spaces, as RFC 8448 prints it.
    fn unhex(text: &str) -> Vec<u8> {
        let digits: String = text.split_whitespace().collect();
        super::super::keylog::unhex(digits.as_bytes()).unwrap()
    }

    #[test]
    fn traffic_keys_match_rfc_8448() {
        // RFC 8448 §3, "{server} derive write traffic keys for handshake data".
        let secret = unhex(
            "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38",
        );
        let key = expand_label(Suite::Aes128Gcm, &secret, "key", 16).unwrap();
        let iv = expand_label(Suite::Aes128Gcm, &secret, "iv", 12).unwrap();
        assert_eq!(
            key,
            unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
        );
        assert_eq!(iv, unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    }

    /// Seals as a peer would, so each suite's opener is tried both ways.
    fn seal(suite: Suite, secret: &[u8], seq: u64, header: &[u8], inner: &[u8]) -> Vec<u8> {
        let key = expand_label(suite, secret, "key", suite.key_len()).unwrap();
        let mut nonce: [u8; 12] = expand_label(suite, secret, "iv", 12)
            .unwrap()
            .try_into()
            .unwrap();
        for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        let mut buffer = inner.to_vec();
        match suite {
            Suite::Aes128Gcm => Aes128Gcm::new_from_slice(&key).unwrap().encrypt_in_place(
                &nonce.into(),
                header,
                &mut buffer,
            ),
            Suite::Aes256Gcm => Aes256Gcm::new_from_slice(&key).unwrap().encrypt_in_place(
                &nonce.into(),
                header,
                &mut buffer,
            ),
            Suite::ChaCha20Poly1305 => ChaCha20Poly1305::new_from_slice(&key)
                .unwrap()
                .encrypt_in_place(&nonce.into(), header, &mut buffer),
        }
        .unwrap();
        buffer
    }

    #[test]
    fn records_open_in_turn_and_a_changed_byte_does_not() {
        for suite in [Suite::Aes128Gcm, Suite::Aes256Gcm, Suite::ChaCha20Poly1305] {
            let secret = vec![7u8; suite.hash_len()];
            let header = [23, 3, 3, 0, 22];
            let first = seal(suite, &secret, 0, &header, b"\x14abc\x17\0");
            let second = seal(suite, &secret, 1, &header, b"\x0a\x17");
            let mut opener = Opener::new(suite, &secret).unwrap();
            // Out of turn: the second record does not open as the first.
            assert_eq!(opener.open(&header, &second), None, "{suite:?}");
            let plain = opener.open(&header, &first).unwrap();
            assert_eq!(inner(&plain), Some((23, &b"\x14abc"[..])));
            assert_eq!(opener.open(&header, &second).unwrap(), b"\x0a\x17");
            let mut changed = seal(suite, &secret, 2, &header, b"x\x17");
            changed[0] ^= 1;
            assert_eq!(opener.open(&header, &changed), None);
            // Another suite's secret length is refused, not misused.
            assert!(Opener::new(suite, &secret[..20]).is_none());
        }
    }

    #[test]
    fn a_key_update_moves_to_the_next_secret() {
        let suite = Suite::Aes128Gcm;
        let secret = [9u8; 32];
        let next = expand_label(suite, &secret, "traffic upd", 32).unwrap();
        let header = [23, 3, 3, 0, 18];
        let record = seal(suite, &next, 0, &header, b"a\x17");
        let updated = Opener::new(suite, &secret).unwrap().updated().unwrap();
        let mut updated = updated;
        assert_eq!(updated.open(&header, &record).unwrap(), b"a\x17");
        assert_eq!(inner(b"\0\0\0"), None);
    }
}
