//! The client: one request per connection, driven by the core's
//! `ClientSession`, confined to a local folder.
//!
//! [`exchange`] connects and runs the one drive loop (`crate::drive`), which
//! hands events and body bytes to a `Handler`: each command keeps its files
//! in its own module (`ls`, `get` for get and resume, `put`, `mget`). Every
//! local path goes through the storage crate's `Folder`, so the client, like
//! the server, never reads or writes outside its folder, and every name a
//! server sends is checked by the core before anything is written.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use ferry_core::{
    ClientSession, Credentials, DecodeErrorKind, Limits, Name, Request, SessionError, escape,
};
use ferry_storage::StoreError;

use crate::conn::{Conn, Socket};
use crate::drive::{Clock, Handler, Sending, Stop, Waited, drive, until};
use crate::error::ClientError;

mod get;
mod ls;
mod mget;
mod put;

pub use get::get;
pub use ls::{list, ls};
pub use mget::mget;
pub use put::put;

/// Where and how to reach a server.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `HOST:PORT` as given (a name, an IPv4 address or a bracketed IPv6 one).
    pub addr: String,
    /// Credentials to send first, if any.
    pub auth: Option<Credentials>,
    /// Limits, the operation timeout included.
    pub limits: Limits,
}

/// Upload bytes per `sendfile` call; between calls the client looks for the
/// server's early refusal.
const UPLOAD_CHUNK: u64 = 1 << 20;

impl Remote {
    fn timeout(&self) -> Duration {
        Duration::from_micros(self.limits.timeout_us)
    }
}

/// Resolves `HOST:PORT` (a name, `1.2.3.4:P` or `[::1]:P`).
async fn resolve(addr: &str) -> Result<Vec<SocketAddr>, ClientError> {
    if !addr.contains(':') {
        return Err(ClientError::Usage(format!(
            "\"{}\" has no port: write HOST:PORT, for example 127.0.0.1:20000 or [::1]:20000",
            escape(addr.as_bytes())
        )));
    }
    async_net::resolve(addr).await.map_err(|e| {
        ClientError::Connect(format!("cannot resolve {}: {e}", escape(addr.as_bytes())))
    })
}

/// Runs one request on a fresh connection; `x` is what the command does
/// with the answers.
pub async fn exchange<X: Handler<ClientSession, Error = ClientError>>(
    remote: &Remote,
    request: Request,
    x: &mut X,
) -> Result<(), ClientError> {
    let addrs = resolve(&remote.addr).await?;
    let connect_by = Instant::now() + remote.timeout();
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs {
        match until(Some(connect_by), async_net::TcpStream::connect(addr)).await {
            Waited::Done(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Waited::Done(Err(e)) => last_error = Some(format!("cannot connect to {addr}: {e}")),
            Waited::Deadline => last_error = Some(format!("connecting to {addr} timed out")),
        }
    }
    let Some(stream) = stream else {
        let message =
            last_error.unwrap_or_else(|| format!("{} resolves to no address", remote.addr));
        return Err(if message.contains("timed out") {
            ClientError::Timeout(message)
        } else {
            ClientError::Connect(format!("{message}; is `ferry serve` running there?"))
        });
    };
    let _ = stream.set_nodelay(true);
    let io: Arc<Async<std::net::TcpStream>> = stream.into();
    let io = Arc::try_unwrap(io)
        .map_err(|_| ClientError::Connect("the new connection is shared".into()))?;
    let mut conn = Conn::new(Socket::registered(io));
    let clock = Clock::start();
    let mut session = ClientSession::new(
        remote.limits.clone(),
        clock.now(),
        remote.auth.clone(),
        request,
    );
    let sending = Sending {
        blocking_from: None,
        chunk: UPLOAD_CHUNK,
        watch_peer: true,
        idle: remote.timeout(),
    };
    match drive(&mut conn, &mut session, x, clock, sending).await {
        Ok(()) => session_result(&session),
        Err(Stop::Io(e)) => Err(lost(&session, e)),
        Err(Stop::Handler(e)) => Err(e),
    }
}

fn lost(session: &ClientSession, e: std::io::Error) -> ClientError {
    match session.error() {
        Some(error) => session_error(error),
        None => ClientError::Protocol(format!("the connection broke: {e}")),
    }
}

fn session_result(session: &ClientSession) -> Result<(), ClientError> {
    session.error().map_or(Ok(()), |e| Err(session_error(e)))
}

fn session_error(error: &SessionError) -> ClientError {
    match error {
        SessionError::Timeout => {
            ClientError::Timeout("the server stopped answering (--timeout)".into())
        }
        SessionError::Peer(e) if e.kind == DecodeErrorKind::Truncated => {
            ClientError::Protocol(format!(
                "the server closed the connection in the middle of its answer (after byte {})",
                e.offset
            ))
        }
        SessionError::Peer(e) => {
            ClientError::Protocol(format!("the server broke the protocol {e}"))
        }
        other => ClientError::Protocol(other.to_string()),
    }
}

/// Checks a name given on the command line or typed in the shell.
pub fn local_name(text: &str, limits: &Limits) -> Result<Name, ClientError> {
    Name::parse(text.as_bytes(), limits).map_err(|e| {
        ClientError::Usage(format!(
            "\"{}\" cannot be used: {e} (names are relative to --dir, with '/' between folders)",
            escape(text.as_bytes())
        ))
    })
}

fn store_error(what: &str, name: &str, e: StoreError) -> ClientError {
    ClientError::Local(format!(
        "cannot {what} \"{}\" in the local folder: {e}",
        escape(name.as_bytes())
    ))
}

fn denied(remote: &Remote) -> ClientError {
    let user = remote.auth.as_ref().map_or("?", |c| c.user());
    ClientError::AuthDenied(format!(
        "login denied for user {user}: wrong user name or password"
    ))
}

fn human(bytes: u64) -> String {
    indicatif::BinaryBytes(bytes).to_string()
}
