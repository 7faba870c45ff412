//! What a server session asks of its caller ([`ServerEvent`]), why it
//! refused a request ([`Refusal`]), and the caller's answer to a RESUME
//! ([`ResumeAnswer`]).

use crate::message::{Credentials, Mask};
use crate::name::Name;

/// What the client asked for; each variant waits for its answer, as the
/// table in [`ServerSession`](super::ServerSession)'s module lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// Op 60: check these credentials.
    Auth(Credentials),
    /// Op 10: send this file.
    Download {
        /// The requested file.
        name: Name,
    },
    /// Op 20: send the listing.
    List,
    /// Op 30: may the client upload to this name?
    Upload {
        /// The target name.
        name: Name,
    },
    /// Op 30, after acceptance: the client announced the size.
    UploadSize {
        /// The announced size.
        size: u32,
    },
    /// Op 30: every body byte has arrived; store the file and say whether it
    /// was stored.
    UploadComplete,
    /// Op 40: continue this file from `position` if `md5` matches.
    Resume {
        /// The requested file.
        name: Name,
        /// Bytes the client holds.
        position: u32,
        /// MD5 of those bytes.
        md5: [u8; 16],
    },
    /// Op 50: send every file matching the mask.
    MGet {
        /// The glob mask.
        mask: Mask,
    },
    /// Op 50, after `start_mget` and after each entry's body: give the next
    /// entry.
    NextEntry,
}

/// Why a request was answered with status 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The caller answered with [`ServerSession::refuse`](super::ServerSession::refuse) (no such file, a
    /// store error...): the caller knows why.
    #[error("refused by the store")]
    Store,
    /// AUTH was denied.
    #[error("login denied")]
    LoginDenied,
    /// The file has 4 GiB or more: op 10 and op 40 sizes are `u32`.
    #[error("4 GiB or more")]
    TooLarge {
        /// The file's size.
        size: u64,
    },
    /// The listing is longer than `max_listing_len`.
    #[error("the listing is {len} bytes, over the limit of {limit}")]
    ListingTooLong {
        /// The listing's length.
        len: u64,
        /// The limit (`max_listing_len`).
        limit: u64,
    },
    /// Op 50 matched more than `max_mget_entries` files or more than
    /// `max_mget_bytes` bytes of sendable files.
    #[error("{count} files, {bytes} bytes match, over the caps")]
    TooManyMatches {
        /// Files matched.
        count: u64,
        /// Bytes the matched files under 4 GiB hold.
        bytes: u64,
    },
    /// The upload was received but not stored.
    #[error("not stored")]
    NotStored,
}

/// The caller's answer to [`ServerEvent::Resume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeAnswer {
    /// The file exists with this size and the MD5 of the first `position`
    /// bytes matches: send the rest.
    Send {
        /// The file's full size.
        file_size: u64,
    },
    /// No such regular file (result 10).
    NoSuchFile,
    /// The MD5 does not match or the position is past the end (result 20).
    Mismatch,
}
