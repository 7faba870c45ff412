//! Names: what a request may name, checked the same way on both sides.
//!
//! A [`Name`] is a relative path inside a served folder with components
//! separated by `/`. The rules refuse everything that could climb out of the
//! folder or hide from a person reading a terminal: `.` and `..`, absolute
//! paths, backslashes, control characters, bidi controls, over-long names and
//! the reserved prefix of the server's own temporary files, and characters
//! that are invisible or look like `/` or `.` ([`DECEPTIVE`]). Names are
//! compared in Unicode NFC ([`nfc`]): clients send NFC, and a server refuses
//! an upload that would give an existing name a second spelling. The server checks
//! every requested name and the client checks every name a server sends it,
//! with this one function. Storage still enforces containment in the kernel;
//! these rules are the first gate, not the only one.

use core::fmt;
use std::borrow::Cow;

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
    /// A Unicode bidi control or mark, which can make a name display as
    /// another.
    #[error("name contains the bidi control U+{0:04X}")]
    Bidi(u32),
    /// An invisible character (zero-width space, word joiner, soft hyphen,
    /// byte order mark), which makes two names look the same.
    #[error("name contains the invisible character U+{0:04X}")]
    Invisible(u32),
    /// A character that looks like `/` or `.`, which makes a name look
    /// like a path it is not.
    #[error("name contains U+{code:04X}, which looks like '{like}'")]
    LooksLike {
        /// The character.
        code: u32,
        /// What it looks like.
        like: &'static str,
    },
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
        if let Some(deception) = deceptive(ch) {
            return Err(deception.error(code));
        }
    }
    Ok(())
}

/// How a character refused in names deceives a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deception {
    /// A bidi control or mark: text displays in another order.
    Bidi,
    /// Nothing shows: two names look the same.
    Invisible,
    /// It looks like this character.
    LooksLike(&'static str),
}

impl Deception {
    fn error(self, code: u32) -> NameError {
        match self {
            Deception::Bidi => NameError::Bidi(code),
            Deception::Invisible => NameError::Invisible(code),
            Deception::LooksLike(like) => NameError::LooksLike { code, like },
        }
    }
}

/// Every character refused in names because it hides or imitates another,
/// as inclusive ranges: the one table both sides (and the decoder) apply.
/// U+200C and U+200D (zero-width non-joiner and joiner) stay allowed:
/// Persian and Indic names and emoji need them.
pub const DECEPTIVE: &[(char, char, Deception)] = &[
    ('\u{00AD}', '\u{00AD}', Deception::Invisible), // soft hyphen
    ('\u{200B}', '\u{200B}', Deception::Invisible), // zero-width space
    ('\u{200E}', '\u{200F}', Deception::Bidi),      // left-to-right and right-to-left marks
    ('\u{2024}', '\u{2024}', Deception::LooksLike(".")), // one dot leader
    ('\u{2025}', '\u{2025}', Deception::LooksLike("..")), // two dot leader
    ('\u{202A}', '\u{202E}', Deception::Bidi),      // embeddings and overrides
    ('\u{2044}', '\u{2044}', Deception::LooksLike("/")), // fraction slash
    ('\u{2060}', '\u{2064}', Deception::Invisible), // word joiner, invisible operators
    ('\u{2066}', '\u{2069}', Deception::Bidi),      // isolates
    ('\u{2215}', '\u{2215}', Deception::LooksLike("/")), // division slash
    ('\u{FEFF}', '\u{FEFF}', Deception::Invisible), // byte order mark
    ('\u{FF0E}', '\u{FF0E}', Deception::LooksLike(".")), // fullwidth full stop
    ('\u{FF0F}', '\u{FF0F}', Deception::LooksLike("/")), // fullwidth solidus
];

/// How `ch` deceives, if it is in [`DECEPTIVE`].
pub fn deceptive(ch: char) -> Option<Deception> {
    DECEPTIVE
        .iter()
        .find(|(first, last, _)| (*first..=*last).contains(&ch))
        .map(|(_, _, how)| *how)
}

/// `text` in Unicode Normalization Form C, the form names are compared in
/// (and clients send): `"cafe\u{301}"` and `"caf\u{e9}"` are one name.
///
/// ```
/// assert_eq!(ferry_core::nfc("cafe\u{301}.txt"), "caf\u{e9}.txt");
/// ```
pub fn nfc(text: &str) -> Cow<'_, str> {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(text)
}

/// Whether some other text has the same NFC as `component`, so a store
/// must look at its neighbours before giving it to a new file. Plain ASCII
/// has no other spelling, except `K`, `;` and `` ` ``, which the Kelvin
/// sign, the Greek question mark and the Greek varia decompose to (a test
/// checks every Unicode character for this).
pub fn may_have_other_spellings(component: &str) -> bool {
    !component.is_ascii() || component.contains(['K', ';', '`'])
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
/// other control bytes and invalid UTF-8 as `\xNN`, C1 controls and the
/// [`DECEPTIVE`] characters as `\uNNNN`; printable text as is. No escape sequence ever
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
                _ if ch.is_control() || deceptive(ch).is_some() => {
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
