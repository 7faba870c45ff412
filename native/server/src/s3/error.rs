//! Why a request to the object store failed, in words that say what the
//! store said, and which failures are worth another try.

use std::io::Read;

use super::Response;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The store answered with an error status.
    #[error("the object store answered {status}{}", detail(code, message))]
    Status {
        /// The HTTP status.
        status: u16,
        /// S3's error code (`NoSuchBucket`, `SignatureDoesNotMatch`...).
        code: String,
        /// S3's message.
        message: String,
    },
    /// A condition did not hold: the object changed (or exists already).
    #[error("the object changed meanwhile")]
    Changed,
    /// The store could not be reached, or the connection broke.
    #[error("cannot reach the object store: {0}")]
    Unreachable(String),
    /// A request failed every time it was tried.
    #[error("{request}: {last} after {tries} tries")]
    Tried {
        /// The request, as `GET public/a.txt`.
        request: String,
        /// What the last try met: `503 (SlowDown)`, `connection reset`.
        last: String,
        /// How many times it was tried.
        tries: u32,
    },
}

pub(super) fn detail(code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" ({code})"),
        (true, false) => format!(" ({message})"),
        (false, false) => format!(" ({code}: {message})"),
    }
}

impl From<ureq::Error> for S3Error {
    fn from(e: ureq::Error) -> Self {
        S3Error::Unreachable(e.to_string())
    }
}

/// An error answer, with S3's code and message when its body has them.
pub(super) fn failure(response: Response) -> S3Error {
    let status = response.status().as_u16();
    let mut body = String::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(ERROR_BODY_MAX)
        .read_to_string(&mut body);
    status_error(status, &body)
}

/// Most bytes of an error answer's body read for its code and message.
pub(super) const ERROR_BODY_MAX: u64 = 64 * 1024;

/// The error an answer of `status` with `body` (S3's XML error) says.
pub(super) fn status_error(status: u16, body: &str) -> S3Error {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        body.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
            .map(|(text, _)| text.to_owned())
            .unwrap_or_default()
    };
    S3Error::Status {
        status,
        code: tag("Code"),
        message: tag("Message"),
    }
}

/// Whether an answer's status is worth another try (the store is busy or
/// failing for a moment: 500, 502, 503, 504), and in words.
pub(super) fn busy(status: u16) -> Option<String> {
    matches!(status, 500 | 502 | 503 | 504).then(|| status.to_string())
}

/// Whether a request's failure is worth another try, and in words.
pub(super) fn transient(e: &ureq::Error) -> Option<String> {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            K::ConnectionReset
                | K::ConnectionAborted
                | K::ConnectionRefused
                | K::BrokenPipe
                | K::UnexpectedEof
        )
        .then(|| io.to_string()),
        ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) => Some(e.to_string()),
        _ => None,
    }
}
