//! Telling another protocol from ferry's by a connection's first bytes, so a
//! browser or an SSH client pointed at a ferry port gets a sentence in the
//! log ("looks like HTTP (GET /)") rather than "unknown op 71".

use crate::name::escape_short;

/// HTTP/1 methods, each followed by a space on the wire.
const HTTP_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE",
];

/// The other protocol a connection's first bytes show, in words: `HTTP
/// (GET /path)`, `TLS (a ClientHello)`, `SSH (SSH-2.0-…)`; `None` if they
/// look like none of these.
///
/// ```
/// use ferry_core::foreign_protocol;
/// assert_eq!(foreign_protocol(b"GET /x HTTP/1.1\r\nHost: a\r\n").as_deref(), Some("HTTP (GET /x)"));
/// assert_eq!(foreign_protocol(&[0x16, 0x03, 0x01, 0x02, 0x00]).as_deref(), Some("TLS (a ClientHello)"));
/// assert_eq!(foreign_protocol(&[10, 0, 0, 0, 5]), None);
/// ```
pub fn foreign_protocol(first: &[u8]) -> Option<String> {
    let line = first.split(|&b| b == b'\r' || b == b'\n').next()?;
    for method in HTTP_METHODS {
        if let Some(rest) = line
            .strip_prefix(method.as_bytes())
            .and_then(|r| r.strip_prefix(b" "))
        {
            let target = rest.split(|&b| b == b' ').next().unwrap_or_default();
            return Some(format!("HTTP ({method} {})", escape_short(target, 60)));
        }
    }
    if first.starts_with(&[0x16, 0x03]) {
        return Some("TLS (a ClientHello)".into());
    }
    if first.starts_with(b"SSH-") {
        return Some(format!("SSH ({})", escape_short(line, 60)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::foreign_protocol;

    #[test]
    fn known_protocols_are_named_and_ferry_is_not() {
        let said = |b: &[u8]| foreign_protocol(b);
        assert_eq!(
            said(b"POST /up HTTP/1.0\r\n").as_deref(),
            Some("HTTP (POST /up)")
        );
        assert_eq!(said(b"GET / HTTP/1.1").as_deref(), Some("HTTP (GET /)"));
        assert_eq!(
            said(b"SSH-2.0-OpenSSH_9.2\r\n").as_deref(),
            Some("SSH (SSH-2.0-OpenSSH_9.2)")
        );
        assert_eq!(said(b"GETTING"), None, "a method needs its space");
        assert_eq!(said(b""), None);
        assert_eq!(said(&[0x14, 0, 0, 0, 1, b'a']), None);
        // Hostile bytes in the target are escaped and cut.
        let hostile = said(b"GET /\x1b[2J").unwrap();
        assert!(hostile.contains("\\x1b"), "{hostile}");
    }
}
