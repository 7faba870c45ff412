//! Key logs: the TLS secrets a client writes when `SSLKEYLOGFILE` is set
//! (the NSS format curl, browsers, openssl's `-keylogfile` and ferry
//! write), one `LABEL CLIENT_RANDOM SECRET` line each, in hex.

use std::collections::HashMap;

/// The TLS 1.3 secrets of each conversation a key log holds, by the
/// client random of its ClientHello.
///
/// ```
/// let log = b"# comments and blank lines are skipped\n\n\
///     SERVER_TRAFFIC_SECRET_0 00000000000000000000000000000000000000000000000000000000000000aa \
///     0101010101010101010101010101010101010101010101010101010101010101\n";
/// let keys = ferry_core::KeyLog::parse(log).unwrap();
/// assert_eq!(keys.len(), 1);
/// assert!(ferry_core::KeyLog::parse(b"hello").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLog {
    conversations: HashMap<[u8; 32], Secrets>,
}

/// One conversation's secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Secrets {
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    pub client_application: Option<Vec<u8>>,
    pub server_application: Option<Vec<u8>>,
    /// A TLS 1.2 master secret (`CLIENT_RANDOM`): present, but not used.
    pub tls12: bool,
}

/// Why bytes are not a key log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLogError {
    /// A line that is neither blank, a `#` comment nor
    /// `LABEL CLIENT_RANDOM SECRET` with hex values.
    #[error(
        "line {line} is not a key-log line (LABEL, then the client random and the secret in hex, \
         as SSLKEYLOGFILE writes them)"
    )]
    BadLine {
        /// Its number, from 1.
        line: usize,
    },
    /// No line holds a secret.
    #[error("the key log holds no secrets")]
    Empty,
}

/// The longest secret of any label (a SHA-384 secret, or a TLS 1.2 master
/// secret): longer is not a key log.
const MAX_SECRET: usize = 48;

impl KeyLog {
    /// Reads a key log. Unknown labels (early traffic, exporter secrets)
    /// are read and kept out of the way, as Wireshark does.
    pub fn parse(text: &[u8]) -> Result<KeyLog, KeyLogError> {
        let mut log = KeyLog::default();
        let mut any = false;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            let bad = KeyLogError::BadLine { line: i + 1 };
            let mut words = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            let (Some(label), Some(random), Some(secret), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(bad);
            };
            let random: [u8; 32] = unhex(random)
                .and_then(|r| r.try_into().ok())
                .ok_or(bad.clone())?;
            let secret = unhex(secret).filter(|s| !s.is_empty() && s.len() <= MAX_SECRET);
            let secret = secret.ok_or(bad)?;
            any = true;
            // Other labels (early traffic, exporter secrets) are read and
            // left out: they open nothing the decoder shows.
            let known = [
                b"CLIENT_HANDSHAKE_TRAFFIC_SECRET".as_slice(),
                b"SERVER_HANDSHAKE_TRAFFIC_SECRET",
                b"CLIENT_TRAFFIC_SECRET_0",
                b"SERVER_TRAFFIC_SECRET_0",
                b"CLIENT_RANDOM",
            ];
            if !known.contains(&label) {
                continue;
            }
            let entry = log.conversations.entry(random).or_default();
            match label {
                b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => entry.client_handshake = Some(secret),
                b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => entry.server_handshake = Some(secret),
                b"CLIENT_TRAFFIC_SECRET_0" => entry.client_application = Some(secret),
                b"SERVER_TRAFFIC_SECRET_0" => entry.server_application = Some(secret),
                _ => entry.tls12 = true,
            }
        }
        if any {
            Ok(log)
        } else {
            Err(KeyLogError::Empty)
        }
    }

    /// How many conversations it holds secrets for.
    pub fn len(&self) -> usize {
        self.conversations.len()
    }

    /// Whether it holds no secrets (the default: no key log given).
    pub fn is_empty(&self) -> bool {
        self.conversations.is_empty()
    }

    /// The secrets of the conversation whose ClientHello carried `random`.
    pub(crate) fn secrets(&self, random: &[u8]) -> Option<&Secrets> {
        let random: [u8; 32] = random.try_into().ok()?;
        self.conversations.get(&random)
    }
}

/// Hex digits to bytes; `None` for an odd count or a non-digit.
pub(crate) fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOM: &str = "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829";

    #[test]
    fn every_traffic_secret_is_kept_by_client_random() {
        let s32 = "11".repeat(32);
        let s48 = "22".repeat(48);
        let text = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {s32}\r\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {s48}\n\
             CLIENT_TRAFFIC_SECRET_0 {RANDOM} {s32}\n\
             SERVER_TRAFFIC_SECRET_0   {RANDOM}\t{s32}\n\
             EXPORTER_SECRET {RANDOM} {s32}\n"
        );
        let log = KeyLog::parse(text.as_bytes()).unwrap();
        let secrets = log.secrets(&unhex(RANDOM.as_bytes()).unwrap()).unwrap();
        assert_eq!(secrets.client_handshake, Some(vec![0x11; 32]));
        assert_eq!(secrets.server_handshake, Some(vec![0x22; 48]));
        assert!(secrets.client_application.is_some() && secrets.server_application.is_some());
        assert!(!secrets.tls12);
        assert!(log.secrets(&[0; 32]).is_none());
        // A conversation with only secrets the decoder does not use is not
        // counted.
        let other = format!("EXPORTER_SECRET {} {s32}\n", "ab".repeat(32));
        assert_eq!(KeyLog::parse(other.as_bytes()).unwrap().len(), 0);
    }

    #[test]
    fn a_tls12_master_secret_is_noted() {
        let text = format!("CLIENT_RANDOM {RANDOM} {}\n", "33".repeat(48));
        let log = KeyLog::parse(text.as_bytes()).unwrap();
        assert!(
            log.secrets(&unhex(RANDOM.as_bytes()).unwrap())
                .unwrap()
                .tls12
        );
    }

    #[test]
    fn what_is_not_a_key_log_is_refused_with_its_line() {
        let bad = |text: &str| KeyLog::parse(text.as_bytes()).unwrap_err();
        assert_eq!(bad(""), KeyLogError::Empty);
        assert_eq!(bad("# only a comment\n\n"), KeyLogError::Empty);
        let good = format!("CLIENT_TRAFFIC_SECRET_0 {RANDOM} {}\n", "11".repeat(32));
        assert_eq!(
            bad(&format!("{good}GET / HTTP/1.1\n")),
            KeyLogError::BadLine { line: 2 }
        );
        assert_eq!(
            bad(&format!("X {} 11\n", &RANDOM[2..])),
            KeyLogError::BadLine { line: 1 }
        );
        assert_eq!(
            bad(&format!("X {RANDOM} 1g\n")),
            KeyLogError::BadLine { line: 1 }
        );
        assert_eq!(
            bad(&format!("X {RANDOM} {}\n", "11".repeat(49))),
            KeyLogError::BadLine { line: 1 }
        );
        assert_eq!(
            bad(&format!("X {RANDOM} 11 extra\n")),
            KeyLogError::BadLine { line: 1 }
        );
        assert_eq!(bad("X é\n"), KeyLogError::BadLine { line: 1 });
    }
}
