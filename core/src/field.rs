//! The name of every field of every message, as docs/protocol.md writes it.
//!
//! Decoders, errors and the trace explanations all point at bytes by field.

use core::fmt;

/// Every field of every message, by name (serialized as
/// [`Field::as_str`]: the name docs/protocol.md gives it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The request's op byte.
    Op,
    /// `u32` length of a file name.
    NameLen,
    /// A file name (relative path).
    Name,
    /// `u32` length of an op 50 mask.
    MaskLen,
    /// An op 50 glob mask.
    Mask,
    /// `u32` length of an op 60 user name.
    UserLen,
    /// An op 60 user name.
    User,
    /// `u32` length of an op 60 password.
    PassLen,
    /// An op 60 password (sent in the clear).
    Pass,
    /// Op 40 `u32` position the client already holds.
    Position,
    /// Op 40 MD5 of the first `position` bytes.
    Md5,
    /// A `u32` file size announced before a body.
    Size,
    /// A `u8` status (0 ok, 1 error or refused).
    Status,
    /// Op 40 `u8` result (0 ok, 10 no such file, 20 mismatch).
    ResumeResult,
    /// Op 40 `u32` count of bytes that follow.
    Remaining,
    /// Op 20 `u32` length of the JSON listing.
    ListingLen,
    /// Op 20 JSON listing.
    Listing,
    /// Op 50 `u32` number of entries.
    Count,
    /// Op 50 `u8` entry status (0 file follows, 10 skipped).
    EntryStatus,
    /// File payload bytes.
    Body,
    /// TLS record `u8` content type (22 handshake, 23 application data...).
    ContentType,
    /// TLS record `u16` version (0x0303 even for TLS 1.3).
    RecordVersion,
    /// TLS record `u16` length of what follows.
    RecordLength,
    /// TLS handshake message `u8` type (1 ClientHello, 2 ServerHello...).
    HandshakeType,
    /// TLS handshake message `u24` length.
    HandshakeLength,
    /// A hello's `u16` legacy version.
    LegacyVersion,
    /// A hello's 32 random bytes.
    Random,
    /// A hello's session id, with its `u8` length.
    SessionId,
    /// The cipher suites a ClientHello offers, with their `u16` length.
    CipherSuites,
    /// The `u16` cipher suite a ServerHello chose.
    CipherSuite,
    /// A hello's compression methods (only "none").
    Compression,
    /// A hello's `u16` length of its extensions.
    ExtensionsLength,
    /// One hello extension: `u16` type, `u16` length, data.
    Extension,
    /// Handshake message bytes shown whole (a certificate, a key exchange).
    HandshakeBody,
    /// The one byte of a TLS change_cipher_spec record.
    ChangeCipherSpec,
    /// A TLS alert's `u8` level (1 warning, 2 fatal).
    AlertLevel,
    /// A TLS alert's `u8` description (0 close_notify...).
    AlertDescription,
    /// A protected TLS record's encrypted bytes.
    Encrypted,
    /// The 16-byte authentication tag that ends a protected TLS 1.3 record.
    AuthTag,
}

impl Field {
    /// The field's name as written in docs/protocol.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Op => "op",
            Field::NameLen => "name_len",
            Field::Name => "name",
            Field::MaskLen => "mask_len",
            Field::Mask => "mask",
            Field::UserLen => "user_len",
            Field::User => "user",
            Field::PassLen => "pass_len",
            Field::Pass => "pass",
            Field::Position => "position",
            Field::Md5 => "md5",
            Field::Size => "size",
            Field::Status => "status",
            Field::ResumeResult => "result",
            Field::Remaining => "remaining",
            Field::ListingLen => "len",
            Field::Listing => "listing",
            Field::Count => "count",
            Field::EntryStatus => "entry_status",
            Field::Body => "body",
            Field::ContentType => "content_type",
            Field::RecordVersion => "record_version",
            Field::RecordLength => "record_length",
            Field::HandshakeType => "handshake_type",
            Field::HandshakeLength => "handshake_length",
            Field::LegacyVersion => "legacy_version",
            Field::Random => "random",
            Field::SessionId => "session_id",
            Field::CipherSuites => "cipher_suites",
            Field::CipherSuite => "cipher_suite",
            Field::Compression => "compression",
            Field::ExtensionsLength => "extensions_length",
            Field::Extension => "extension",
            Field::HandshakeBody => "handshake_body",
            Field::ChangeCipherSpec => "change_cipher_spec",
            Field::AlertLevel => "alert_level",
            Field::AlertDescription => "alert_description",
            Field::Encrypted => "encrypted",
            Field::AuthTag => "auth_tag",
        }
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
