//! Names: what a request may name, checked the same way on both sides.
//!
//! A [`Name`] is a relative path inside a served folder with components
//! separated by `/`. The rules refuse everything that could climb out of the
//! folder or hide from a person reading a terminal: `.` and `..`, absolute
//! paths, backslashes, control characters, bidi controls, over-long names and
//! the reserved prefix of the server's own temporary files. The server checks
//! every requested name and the client checks every name a server sends it,
//! with this one function. Storage still enforces containment in the kernel;
//! these rules are the first gate, not the only one.

use core::fmt;

use crate::limits::Limits;

/// Components starting with this prefix are the store's own temporary and
/// internal files: never listed, served or writable by name.
pub const RESERVED_PREFIX: &str = ".ferry-";

/// A relative path that obeys the naming rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Name(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is longer than the limit.
    #[error("name of {len} bytes is over the limit of {limit}")]
    TooLong {
        /// Length in bytes.
        len: usize,
        /// The configured limit.
        limit: u32,
    },
    /// One component is longer than the limit.
    #[error("name component of {len} bytes is over the limit of {limit}")]
    ComponentTooLong {
        /// Length of the component in bytes.
        len: usize,
        /// The configured limit.
        limit: u32,
    },
    /// The bytes are not valid UTF-8.
    #[error("name is not valid UTF-8")]
    NotUtf8,
    /// The name starts with `/`.
    #[error("name is absolute (starts with '/')")]
    Absolute,
    /// Two `/` in a row, or a trailing `/`.
    #[error("name has an empty component")]
    EmptyComponent,
    /// A `.` or `..` component.
    #[error("name has a '.' or '..' component")]
    DotComponent,
    /// A `/` inside what must be a single component (a user name).
    #[error("a single name component cannot contain '/'")]
    Slash,
    /// A `\`, which some systems read as a separator.
    #[error("name contains a backslash")]
    Backslash,
    /// A control character (C0, DEL or C1), NUL included.
    #[error("name contains the control character U+{0:04X}")]
    Control(u32),
    /// A Unicode bidi control, which can make a name display as another.
    #[error("name contains the bidi control U+{0:04X}")]
    Bidi(u32),
    /// A component starts with the reserved prefix of internal files.
    #[error("name uses the reserved prefix '{RESERVED_PREFIX}'")]
    Reserved,
}

impl Name {
    /// Checks `bytes` against the naming rules.
    ///
    /// ```
    /// use ferry_core::{Limits, Name, NameError};
    /// let limits = Limits::default();
    /// assert_eq!(Name::parse(b"docs/a.txt", &limits).unwrap().as_str(), "docs/a.txt");
    /// assert_eq!(Name::parse(b"../etc/passwd", &limits), Err(NameError::DotComponent));
    /// ```
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Name, NameError> {
        if bytes.is_empty() {
            return Err(NameError::Empty);
        }
        if bytes.len() > limits.max_name_len as usize {
            return Err(NameError::TooLong {
                len: bytes.len(),
                limit: limits.max_name_len,
            });
        }
        let text = core::str::from_utf8(bytes).map_err(|_| NameError::NotUtf8)?;
        if text.starts_with('/') {
            return Err(NameError::Absolute);
        }
        for component in text.split('/') {
            check_component(component, limits.max_component_len)?;
        }
        Ok(Name(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Valid names hold no control or bidi characters, so they print as is.
        f.write_str(&self.0)
    }
}

/// Checks one path component (also the rule for op 60 user names).
pub fn check_component(component: &str, max_len: u32) -> Result<(), NameError> {
    if component.is_empty() {
        return Err(NameError::EmptyComponent);
    }
    if component == "." || component == ".." {
        return Err(NameError::DotComponent);
    }
    if component.len() > max_len as usize {
        return Err(NameError::ComponentTooLong {
            len: component.len(),
            limit: max_len,
        });
    }
    if component.starts_with(RESERVED_PREFIX) {
        return Err(NameError::Reserved);
    }
    for ch in component.chars() {
        let code = ch as u32;
        if ch == '\\' {
            return Err(NameError::Backslash);
        }
        if ch == '/' {
            return Err(NameError::Slash);
        }
        if ch.is_control() {
            return Err(NameError::Control(code));
        }
        if matches!(code, 0x202A..=0x202E | 0x2066..=0x2069) {
            return Err(NameError::Bidi(code));
        }
    }
    Ok(())
}

/// A name a peer sent that broke the rules, kept for the message to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused name \"{}\": {error}", escape(raw))]
pub struct BadName {
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// Which rule they broke.
    pub error: NameError,
}

/// Renders untrusted bytes for a terminal, a log line or a JSON string, in
/// the escapes people know from C and shells: `\n`, `\t`, `\r`, `\\`,
/// other control bytes and invalid UTF-8 as `\xNN`, C1 controls and bidi
/// overrides as `\uNNNN`; printable text as is. No escape sequence ever
/// reaches a terminal.
///
/// ```
/// assert_eq!(ferry_core::escape(b"a\nb"), "a\\nb");
/// assert_eq!(ferry_core::escape(b"a\x1b[2Jb\xff"), "a\\x1b[2Jb\\xff");
/// ```
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let code = ch as u32;
            match ch {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\\' => out.push_str("\\\\"),
                _ if code < 0x80 && ch.is_control() => out.push_str(&format!("\\x{code:02x}")),
                _ if ch.is_control() || matches!(code, 0x202A..=0x202E | 0x2066..=0x2069) => {
                    out.push_str(&format!("\\u{code:04x}"))
                }
                _ => out.push(ch),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// [`escape`], then cut in the middle with "…" to at most `max` characters:
/// long names in messages keep their start and their end (`--json` output
/// keeps them whole).
///
/// ```
/// let long = "a".repeat(300) + ".txt";
/// let short = ferry_core::escape_short(long.as_bytes(), 40);
/// assert_eq!(short.chars().count(), 40);
/// assert!(short.starts_with("aaa") && short.ends_with("a.txt") && short.contains('…'));
/// ```
pub fn escape_short(bytes: &[u8], max: usize) -> String {
    let full = escape(bytes);
    let count = full.chars().count();
    if count <= max {
        return full;
    }
    if max < 5 {
        return full.chars().take(max).collect();
    }
    let tail = (max - 1) / 3;
    let head = max - 1 - tail;
    let start: String = full.chars().take(head).collect();
    let end: String = full.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// Bytes as lowercase hexadecimal, two digits each (MD5s in logs, part
/// names, transcripts).
///
/// ```
/// assert_eq!(ferry_core::hex(&[0x0a, 0xff]), "0aff");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}
