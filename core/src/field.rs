//! The name of every field of every message, as docs/protocol.md writes it.
//!
//! Decoders, errors and the trace explanations all point at bytes by field.

use core::fmt;

/// Every field of every message, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
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
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
