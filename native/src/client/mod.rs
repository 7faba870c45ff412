//! The client: one request per connection, driven by the core's
//! `ClientSession`, confined to a local folder.
//!
//! [`exchange`] connects and runs the one drive loop (`crate::drive`), which
//! hands events and body bytes to a `Handler`: each command keeps its files
//! in its own module (`ls`, `get` for get and resume, `put`, `mget`). Every
//! local path goes through the storage crate's `Folder`, so the client, like
//! the server, never reads or writes outside its folder, and every name a
//! server sends is checked by the core before anything is written.

use std::net::{Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use async_signal::Signals;
use ferry_core::{
    ClientSession, Credentials, DecodeErrorKind, Limits, Name, Request, SessionError,
};
use ferry_storage::StoreError;
use futures_lite::{StreamExt, future};

use crate::conn::{Conn, Socket};
use crate::drive::{Clock, Handler, Sending, Stop, Waited, drive, until};
use crate::error::ClientError;
use crate::progress::Progress;

mod get;
mod ls;
mod mget;
mod put;

pub use get::{GetOptions, get, get_to};
pub use ls::{list, ls};
pub use mget::mget;
pub use put::{put, put_tree};

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn addresses_need_a_host_and_a_port_and_ipv6_needs_brackets() {
        for good in [
            "127.0.0.1:20000",
            "localhost:1",
            "[::1]:20000",
            "[fe80::1%eth0]:80",
        ] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        let says = |addr: &str| check_address(addr).unwrap_err().to_string();
        assert!(says("::1").contains("[::1]:20000"), "{}", says("::1"));
        assert!(
            says("::1:20000").contains("in brackets"),
            "{}",
            says("::1:20000")
        );
        assert!(says("[::1]").contains("has no port"), "{}", says("[::1]"));
        assert!(says("host").contains("has no port"));
        assert!(says("host:abc").contains("from 1 to 65535"));
        assert!(says("host:99999").contains("from 1 to 65535"));
        assert!(says("host:0").contains("from 1 to 65535"));
        assert!(says(":20000").contains("has no host"));
        for bad in ["::1", "[::1]", "host:abc", "host:99999"] {
            assert_eq!(check_address(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }
}

/// Where and how to reach a server, and how the client behaves meanwhile.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `HOST:PORT` as given (a name, an IPv4 address or a bracketed IPv6 one).
    pub addr: String,
    /// Credentials to send first, if any.
    pub auth: Option<Credentials>,
    /// Limits, the operation timeout included.
    pub limits: Limits,
    /// How much the client says on stderr.
    pub verbosity: Verbosity,
    /// Most payload bytes per second, each way (`--limit-rate`).
    pub limit_rate: Option<u64>,
}

/// How much the client says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// What happened to each file, and progress bars on a terminal.
    #[default]
    Normal,
    /// Also what was asked of the server and the digests checked (`-v`).
    Verbose,
}

impl Remote {
    /// Says what happened (not with `-q`).
    pub fn say(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{message}");
        }
    }

    /// Says more (only with `-v`).
    pub fn detail(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{message}");
        }
    }

    /// A progress bar for `label` (none with `-q`, nor off a terminal).
    pub fn progress(&self, label: &str) -> Progress {
        match self.verbosity {
            Verbosity::Quiet => Progress::silent(),
            _ => Progress::new(label),
        }
    }

    /// Paces transfers to `--limit-rate`, if given.
    pub fn pace(&self) -> Pace {
        Pace::new(self.limit_rate)
    }
}

/// Keeps a transfer under a rate: after each batch of bytes, sleeps until
/// the average since the start is back under it. The client moves one
/// transfer at a time, so sleeping holds up nothing else.
#[derive(Debug)]
pub struct Pace {
    rate: Option<u64>,
    /// When the first bytes moved: time spent before (connecting, hashing
    /// a part for a resume) is not credited as a burst allowance.
    started: Option<Instant>,
    bytes: u64,
}

impl Pace {
    fn new(rate: Option<u64>) -> Self {
        Pace {
            rate,
            started: None,
            bytes: 0,
        }
    }

    /// Counts `bytes` moved, then waits if ahead of the rate.
    pub fn after(&mut self, bytes: u64) {
        let Some(rate) = self.rate else { return };
        let started = *self.started.get_or_insert_with(Instant::now);
        self.bytes += bytes;
        let due = Duration::from_secs_f64(self.bytes as f64 / rate as f64);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
    }
}

/// Upload bytes per `sendfile` call; between calls the client looks for the
/// server's early refusal.
const UPLOAD_CHUNK: u64 = 1 << 20;

impl Remote {
    fn timeout(&self) -> Duration {
        Duration::from_micros(self.limits.timeout_us)
    }
}

/// Checks the form of `HOST:PORT` before anything connects: a name or an
/// IPv4 address and a port, or an IPv6 address in brackets and a port.
pub fn check_address(addr: &str) -> Result<(), ClientError> {
    let shown = shown(addr.as_bytes());
    let usage = |why: String| Err(ClientError::Usage(why));
    let (host, port) = match addr.rsplit_once(':') {
        // "::1" or "fe80::1:20000": an IPv6 address needs brackets.
        Some((host, port)) if host.contains(':') && !host.starts_with('[') => {
            let form = match (addr.parse::<Ipv6Addr>(), host.parse::<Ipv6Addr>()) {
                (Ok(ip), _) => format!("[{ip}]:20000"),
                (_, Ok(ip)) => format!("[{ip}]:{port}"),
                _ => "[::1]:20000".to_owned(),
            };
            return usage(format!(
                "\"{shown}\": write an IPv6 address in brackets, then the port: {form}"
            ));
        }
        Some((host, port)) if !host.starts_with('[') || host.ends_with(']') => (host, port),
        // "host" or "[::1]": no port at all.
        _ => {
            return usage(format!(
                "\"{shown}\" has no port: write HOST:PORT, for example 127.0.0.1:20000 or [::1]:20000"
            ));
        }
    };
    if host.is_empty() || host == "[]" {
        return usage(format!(
            "\"{shown}\" has no host: write HOST:PORT, for example 127.0.0.1:{port}"
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => usage(format!(
            "\"{shown}\": the port must be a number from 1 to 65535, as in {host}:20000"
        )),
    }
}

/// Resolves `HOST:PORT` (a name, `1.2.3.4:P` or `[::1]:P`).
async fn resolve(addr: &str) -> Result<Vec<SocketAddr>, ClientError> {
    check_address(addr)?;
    async_net::resolve(addr).await.map_err(|e| {
        ClientError::Connect(format!("cannot resolve {}: {e}", shown(addr.as_bytes())))
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
    if let Some(rate) = remote.limit_rate {
        // A tenth of a second of bytes per read: pauses stay short.
        conn.cap_reads((rate / 10).clamp(1024, 256 * 1024) as usize);
    }
    let clock = Clock::start();
    let mut session = ClientSession::new(
        remote.limits.clone(),
        clock.now(),
        remote.auth.clone(),
        request,
    );
    // Paced uploads leave in small chunks, so the pace stays smooth.
    let chunk = remote
        .limit_rate
        .map_or(UPLOAD_CHUNK, |rate| (rate / 10).clamp(4096, UPLOAD_CHUNK));
    let sending = Sending {
        blocking_from: None,
        chunk,
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

/// Characters of a name shown in a message: longer ones are cut in the
/// middle (`--json` output keeps them whole).
const NAME_IN_MESSAGES: usize = 120;

/// A name (or any peer's bytes) as messages show it: control characters
/// escaped (`a\nb`), cut in the middle when long.
pub fn shown(bytes: &[u8]) -> String {
    ferry_core::escape_short(bytes, NAME_IN_MESSAGES)
}

/// Checks a name given on the command line or typed in the shell.
pub fn local_name(text: &str, limits: &Limits) -> Result<Name, ClientError> {
    Name::parse(text.as_bytes(), limits).map_err(|e| {
        ClientError::Usage(format!(
            "\"{}\" cannot be used: {e} (names are relative to --dir, with '/' between folders)",
            shown(text.as_bytes())
        ))
    })
}

fn store_error(what: &str, name: &str, e: StoreError) -> ClientError {
    ClientError::Local(format!(
        "cannot {what} \"{}\" in the local folder: {e}",
        shown(name.as_bytes())
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

/// Runs a transfer until it ends or Ctrl-C cancels it. A cancelled
/// download keeps its partial file: the same command resumes it.
pub fn cancellable(
    signals: &mut Signals,
    transfer: impl Future<Output = Result<(), ClientError>>,
) -> Result<(), ClientError> {
    drain(signals);
    smol::block_on(future::or(transfer, async {
        signals.next().await;
        Err(ClientError::Interrupted(
            "cancelled (Ctrl-C); a partial download is kept: the same command resumes it".into(),
        ))
    }))
}

/// Forgets a Ctrl-C from before: it does not cancel what comes next.
pub fn drain(signals: &mut Signals) {
    while smol::block_on(future::poll_once(signals.next())).is_some() {}
}
