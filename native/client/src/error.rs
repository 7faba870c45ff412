//! What can go wrong for a client, sorted by what a script needs to know
//! (the binary gives each class its own exit code).

use std::fmt;

use ferry_runtime::upstream::ExchangeError;

/// A client failure, with one sentence for the user.
#[derive(Debug)]
pub enum ClientError {
    /// Bad command line or arguments (exit 2).
    Usage(String),
    /// The server could not be reached (exit 3).
    Connect(String),
    /// The server stopped answering (exit 4).
    Timeout(String),
    /// The server has no such file, or refused the request (exit 5).
    Refused(String),
    /// The server denied the login (exit 6).
    AuthDenied(String),
    /// A local file could not be read or written (exit 7).
    Local(String),
    /// The server broke the protocol or the connection broke mid-answer (exit 8).
    Protocol(String),
    /// The server's TLS certificate is not trusted: an unknown key without
    /// a terminal to ask, a key that changed, the wrong host name, expired
    /// (exit 9).
    Untrusted(String),
    /// Ctrl-C cancelled the transfer (exit 130, as shells report SIGINT).
    Interrupted(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ClientError::Usage(m)
        | ClientError::Connect(m)
        | ClientError::Timeout(m)
        | ClientError::Refused(m)
        | ClientError::AuthDenied(m)
        | ClientError::Local(m)
        | ClientError::Protocol(m)
        | ClientError::Untrusted(m)
        | ClientError::Interrupted(m)) = self;
        f.write_str(m)
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// The class of a failed exchange with the server; what the command's
    /// own handler stopped for is sorted by `handler`.
    pub fn from_exchange<E: fmt::Display>(
        e: ExchangeError<E>,
        handler: impl FnOnce(E) -> ClientError,
    ) -> ClientError {
        let message = e.to_string();
        match e {
            ExchangeError::Address(_) => ClientError::Usage(message),
            ExchangeError::Connect(_) => ClientError::Connect(message),
            ExchangeError::Timeout(_) => ClientError::Timeout(message),
            ExchangeError::Protocol(_) => ClientError::Protocol(message),
            ExchangeError::Tls(_) => ClientError::Connect(message),
            ExchangeError::Certificate(_) => ClientError::Untrusted(message),
            ExchangeError::AuthDenied { .. } => ClientError::AuthDenied(message),
            ExchangeError::Handler(e) => handler(e),
        }
    }
}

impl From<ExchangeError<ClientError>> for ClientError {
    fn from(e: ExchangeError<ClientError>) -> Self {
        ClientError::from_exchange(e, |e| e)
    }
}
