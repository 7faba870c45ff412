//! Exit codes: one per class of client failure ([`ProcessExit::exit_code`]),
//! and their list for `--help` and the README.

use ferry_client::ClientError;

/// The process exit code of a failure.
pub trait ProcessExit {
    /// The process exit code for this class of failure.
    fn exit_code(&self) -> u8;
}

impl ProcessExit for ClientError {
    fn exit_code(&self) -> u8 {
        match self {
            ClientError::Usage(_) => 2,
            ClientError::Connect(_) => 3,
            ClientError::Timeout(_) => 4,
            ClientError::Refused(_) => 5,
            ClientError::AuthDenied(_) => 6,
            ClientError::Local(_) => 7,
            ClientError::Protocol(_) => 8,
            ClientError::Untrusted(_) => 9,
            ClientError::Interrupted(_) => 130,
        }
    }
}

/// The exit codes, for `--help` and the README.
pub const CLIENT_EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the server failed to start or stopped on an error (serve, user)
  2  bad command line or configuration (missing folder, port in use, unreadable users file,
     a folder given to put without -r)
  3  cannot connect to the server (refused, unreachable, unknown host)
  4  timed out: the server stopped answering
  5  not found, or refused by the server (put -r: the first file it refused)
  6  login denied
  7  a local file could not be read or written, or a download would replace a local
     file changed since ferry wrote it (kept; --force replaces it)
  8  the server broke the protocol, or the connection broke mid-transfer
  9  the server's TLS certificate is not trusted: an unknown key and no terminal to ask
     (ferry known-hosts add trusts it), a known key that changed, the wrong host name,
     or expired
  130  interrupted (Ctrl-C); serve and cache: a second Ctrl-C during --grace

Logging: set RUST_LOG (error, warn, info, debug, trace); the default is info.";
