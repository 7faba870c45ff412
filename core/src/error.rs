//! Typed errors: what was wrong, and at which byte of the stream.
//!
//! Three families, kept apart on purpose:
//! - [`DecodeError`]: the peer sent bytes that break the protocol.
//! - [`SessionError`]: why a session ended badly (a peer error or a timeout).
//! - [`ApiMisuse`]: the caller drove a session out of order; a bug in the
//!   caller, never something a peer can cause.

use crate::field::Field;
use crate::name::NameError;

/// The peer's bytes break the protocol at stream offset `offset`.
///
/// The offset counts bytes of one direction of the connection from zero, so
/// a student can find the byte in a capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {kind}")]
pub struct DecodeError {
    /// Offset of the first offending byte in this direction of the stream.
    pub offset: u64,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

/// What was wrong with the peer's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The op byte is not one of 10, 20, 30, 40, 50, 60 (or is a second 60).
    #[error("unknown op {0}")]
    UnknownOp(u8),
    /// The stream ended in the middle of a message.
    #[error("stream ended in the middle of a message")]
    Truncated,
    /// A length field announces more than its limit allows.
    #[error("{field} of {len} bytes is over the limit of {limit}")]
    TooLong {
        /// The field whose length is announced.
        field: Field,
        /// The announced length.
        len: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A text field is not valid UTF-8.
    #[error("{field} is not valid UTF-8")]
    BadUtf8 {
        /// The field holding the text.
        field: Field,
    },
    /// A text field that must not be empty is empty.
    #[error("{field} is empty")]
    Empty {
        /// The empty field.
        field: Field,
    },
    /// A name (or user name) breaks the naming rules.
    #[error("{0}")]
    BadName(NameError),
    /// A byte field holds a value the protocol does not define there.
    #[error("{field} has the undefined value {value}")]
    BadValue {
        /// The field.
        field: Field,
        /// The value found.
        value: u8,
    },
    /// The op 20 listing is not the JSON array the protocol defines.
    #[error("listing is not valid: {0}")]
    BadListing(String),
    /// Bytes follow a complete message where none may.
    ///
    /// A server does not treat this as fatal: it answers the request and
    /// reports the extra count (see `ServerSession::extra_bytes`).
    #[error("bytes follow a complete message")]
    TrailingBytes,
}

impl DecodeErrorKind {
    /// The status byte a server answers this error with, if any.
    ///
    /// Every error the protocol defines is answered with status 1, except
    /// trailing bytes, which are ignored after answering normally.
    pub fn wire_status(&self) -> Option<u8> {
        match self {
            DecodeErrorKind::TrailingBytes => None,
            _ => Some(1),
        }
    }
}

/// Why a session ended badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The peer broke the protocol.
    #[error("peer broke the protocol {0}")]
    Peer(#[from] DecodeError),
    /// The peer made no progress for longer than the operation timeout.
    #[error("timed out waiting for the peer")]
    Timeout,
    /// The client took longer than the request timeout to send its whole
    /// request, however steadily.
    #[error("the request was not complete within the request timeout")]
    RequestTimeout,
}

/// The caller used a session out of order (a bug in the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session misused: {0}")]
pub struct ApiMisuse(pub &'static str);
