//! The upstream exchange: one request to a server on a fresh connection,
//! a client session driven by the one loop. The command-line client talks
//! to its server this way, and a cache to its origin; each keeps its own
//! [`Handler`] for the answers and its own error type for what it does
//! with them ([`ExchangeError::Handler`]).

use std::fmt;
use std::net::{Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use ferry_core::{
    ClientEvent, ClientSession, Credentials, DecodeErrorKind, Limits, ListEntry, Request,
    SessionError,
};
use rustls::pki_types::ServerName;

use crate::body::Body;
use crate::clock::{Clock, Waited, until};
use crate::conn::{Conn, Socket};
use crate::drive::drive;
use crate::handler::{Handler, Sending, Stop};
use crate::tls::TlsError;

/// Upload bytes per `sendfile` call; between calls the client looks for the
/// server's early refusal.
const UPLOAD_CHUNK: u64 = 1 << 20;

/// A server to send requests to (a client's server, a cache's origin).
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `HOST:PORT` as given (a name, an IPv4 address or a bracketed IPv6 one).
    pub addr: String,
    /// Credentials to send first, if any.
    pub auth: Option<Credentials>,
    /// Limits, the operation timeout included.
    pub limits: Limits,
    /// Most payload bytes per second, each way (`--limit-rate`).
    pub limit_rate: Option<u64>,
    /// TLS to speak, with the trust it checks the server against (a
    /// `tls://` address); `None` for plain TCP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Upstream {
    /// The operation timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_micros(self.limits.timeout_us)
    }
}

/// Why an exchange failed, sorted by what the caller does about it.
#[derive(Debug)]
pub enum ExchangeError<E> {
    /// The address is not of the form `HOST:PORT` (says which form to use).
    Address(String),
    /// The server could not be reached.
    Connect(String),
    /// The server stopped answering, or could not be reached in time.
    Timeout(String),
    /// The server broke the protocol, or the connection broke mid-answer.
    Protocol(String),
    /// The TLS handshake failed (a protocol or ALPN the server refused),
    /// in rustls's words.
    Tls(String),
    /// The server's certificate was not trusted (no root vouches for it,
    /// the wrong host name, expired), in rustls's words.
    Certificate(String),
    /// The server denied the login of `user`.
    AuthDenied {
        /// The user name sent.
        user: String,
    },
    /// The handler stopped the exchange.
    Handler(E),
}

impl<E: fmt::Display> fmt::Display for ExchangeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Address(m)
            | ExchangeError::Connect(m)
            | ExchangeError::Timeout(m)
            | ExchangeError::Protocol(m)
            | ExchangeError::Tls(m)
            | ExchangeError::Certificate(m) => f.write_str(m),
            ExchangeError::AuthDenied { user } => write!(
                f,
                "login denied for user {user}: wrong user name or password"
            ),
            ExchangeError::Handler(e) => e.fmt(f),
        }
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

/// Checks the form of `HOST:PORT` before anything connects: a name or an
/// IPv4 address and a port, or an IPv6 address in brackets and a port.
/// `Err` says which form to use.
pub fn check_address(addr: &str) -> Result<(), String> {
    let shown = shown(addr.as_bytes());
    // A URL: ferry's protocol has no scheme of its own but tls://.
    if let Some((scheme, rest)) = addr.split_once("://") {
        // The URL's host and port, if they make an address.
        let example = match rest.split('/').next().unwrap_or_default() {
            host_port if check_address(host_port).is_ok() => self::shown(host_port.as_bytes()),
            host if !host.is_empty() && !host.contains(':') => {
                format!("{}:20000", self::shown(host.as_bytes()))
            }
            _ => "127.0.0.1:20000".to_owned(),
        };
        return Err(format!(
            "\"{shown}\": ferry speaks its own protocol, not {}: write HOST:PORT (tls://HOST:PORT \
             for a TLS port), for example {example}",
            self::shown(scheme.as_bytes()),
        ));
    }
    // Just a port.
    if !addr.is_empty() && addr.bytes().all(|b| b.is_ascii_digit()) {
        let port = addr.parse::<u16>().ok().filter(|&p| p > 0).unwrap_or(20000);
        return Err(format!(
            "\"{shown}\" has no host: write HOST:PORT, for example 127.0.0.1:{port}"
        ));
    }
    let (host, port) = match addr.rsplit_once(':') {
        // "::1" or "fe80::1:20000": an IPv6 address needs brackets.
        Some((host, port)) if host.contains(':') && !host.starts_with('[') => {
            let form = match (addr.parse::<Ipv6Addr>(), host.parse::<Ipv6Addr>()) {
                (Ok(ip), _) => format!("[{ip}]:20000"),
                (_, Ok(ip)) => format!("[{ip}]:{port}"),
                _ => "[::1]:20000".to_owned(),
            };
            return Err(format!(
                "\"{shown}\": write an IPv6 address in brackets, then the port: {form}"
            ));
        }
        Some((host, port)) if !host.starts_with('[') || host.ends_with(']') => (host, port),
        // "host" or "[::1]": no port at all.
        _ => {
            return Err(format!(
                "\"{shown}\" has no port: write HOST:PORT, for example 127.0.0.1:20000 or [::1]:20000"
            ));
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(format!(
            "\"{shown}\" has no host: write HOST:PORT, for example 127.0.0.1:{port}"
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!(
            "\"{shown}\": the port must be a number from 1 to 65535, as in {host}:20000"
        )),
    }
}

/// Runs one request on a fresh connection to `upstream`; `handler` is what
/// the caller does with the answers. A denied login ends the exchange
/// ([`ExchangeError::AuthDenied`]) before the handler hears of it.
pub async fn exchange<H: Handler<ClientSession>>(
    upstream: &Upstream,
    request: Request,
    handler: &mut H,
) -> Result<(), ExchangeError<H::Error>> {
    let mut conn = connect(upstream).await?;
    if let Some(rate) = upstream.limit_rate {
        // A tenth of a second of bytes per read: pauses stay short.
        conn.cap_reads((rate / 10).clamp(1024, 256 * 1024) as usize);
    }
    let clock = Clock::start();
    let mut session = ClientSession::new(
        upstream.limits.clone(),
        clock.now(),
        upstream.auth.clone(),
        request,
    );
    // Paced uploads leave in small chunks, so the pace stays smooth.
    let chunk = upstream
        .limit_rate
        .map_or(UPLOAD_CHUNK, |rate| (rate / 10).clamp(4096, UPLOAD_CHUNK));
    let sending = Sending {
        blocking_from: None,
        chunk,
        watch_peer: true,
        idle: upstream.timeout(),
    };
    let mut answers = Answers { upstream, handler };
    match drive(&mut conn, &mut session, &mut answers, clock, sending).await {
        Ok(_) => session_result(&session),
        Err(Stop::Io(e)) => Err(lost(&session, e)),
        Err(Stop::Handler(e)) => Err(e),
    }
}

/// Connects to the first of `upstream`'s addresses that answers in time,
/// speaking TLS if it does (the handshake runs with the first bytes).
pub async fn connect<E>(upstream: &Upstream) -> Result<Conn, ExchangeError<E>> {
    check_address(&upstream.addr).map_err(ExchangeError::Address)?;
    let shown = shown(upstream.addr.as_bytes());
    let socket = match open(&upstream.addr, Instant::now() + upstream.timeout()).await {
        Ok(socket) => socket,
        Err(Unopened::TimedOut(message)) => return Err(ExchangeError::Timeout(message)),
        Err(Unopened::Refused(message)) => {
            return Err(ExchangeError::Connect(format!(
                "{message}; is `ferry serve` running there?"
            )));
        }
    };
    let Some(config) = &upstream.tls else {
        return Ok(Conn::new(socket));
    };
    let host = host_of(&upstream.addr);
    let name = ServerName::try_from(host.to_owned()).map_err(|_| {
        ExchangeError::Address(format!("\"{shown}\" has no usable host name for TLS"))
    })?;
    Conn::tls_client(socket, config.clone(), name)
        .map_err(|e| ExchangeError::Tls(format!("cannot start TLS: {e}")))
}

/// Why [`open`] found no connection, in words that name the address.
#[derive(Debug)]
pub enum Unopened {
    /// Time ran out.
    TimedOut(String),
    /// The name did not resolve, or no address took the connection.
    Refused(String),
}

impl fmt::Display for Unopened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unopened::TimedOut(m) | Unopened::Refused(m) => f.write_str(m),
        }
    }
}

/// Connects to the first of `addr`'s addresses (`HOST:PORT`) that answers
/// by `by`: a socket of the reactor's, with Nagle's algorithm off.
pub async fn open(addr: &str, by: Instant) -> Result<Socket, Unopened> {
    let shown = shown(addr.as_bytes());
    let addrs: Vec<SocketAddr> = async_net::resolve(addr)
        .await
        .map_err(|e| Unopened::Refused(format!("cannot resolve {shown}: {e}")))?;
    let mut last_error = None;
    for at in addrs {
        match until(Some(by), async_net::TcpStream::connect(at)).await {
            Waited::Done(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                let io: Arc<Async<std::net::TcpStream>> = stream.into();
                let io = Arc::try_unwrap(io)
                    .map_err(|_| Unopened::Refused("the new connection is shared".into()))?;
                return Ok(Socket::registered(io));
            }
            Waited::Done(Err(e)) => {
                last_error = Some(Unopened::Refused(format!("cannot connect to {at}: {e}")));
            }
            Waited::Deadline => {
                last_error = Some(Unopened::TimedOut(format!("connecting to {at} timed out")));
            }
        }
    }
    Err(last_error.unwrap_or_else(|| Unopened::Refused(format!("{shown} resolves to no address"))))
}

/// The caller's handler, with a denied login turned into the exchange's
/// own error.
struct Answers<'a, H> {
    upstream: &'a Upstream,
    handler: &'a mut H,
}

impl<H: Handler<ClientSession>> Handler<ClientSession> for Answers<'_, H> {
    type Error = ExchangeError<H::Error>;

    async fn answer(
        &mut self,
        session: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), Self::Error> {
        if let ClientEvent::AuthDenied = event {
            let user = self.upstream.auth.as_ref().map_or("?", |c| c.user());
            return Err(ExchangeError::AuthDenied {
                user: user.to_owned(),
            });
        }
        let answered = self.handler.answer(session, event).await;
        answered.map_err(ExchangeError::Handler)
    }

    fn body(&mut self) -> Option<Body> {
        self.handler.body()
    }

    fn handing_over(&self) -> bool {
        self.handler.handing_over()
    }

    fn received(&mut self, data: &[u8]) -> Result<(), Self::Error> {
        self.handler.received(data).map_err(ExchangeError::Handler)
    }

    async fn ready(&mut self) -> Result<(), Self::Error> {
        self.handler.ready().await.map_err(ExchangeError::Handler)
    }

    fn sent(&mut self, bytes: u64) {
        self.handler.sent(bytes)
    }

    fn short_body(&mut self, why: &str) -> Result<(), Self::Error> {
        self.handler.short_body(why).map_err(ExchangeError::Handler)
    }
}

/// The host of `HOST:PORT`, without the brackets of an IPv6 address (the
/// name a TLS certificate is checked for).
pub fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn lost<E>(session: &ClientSession, e: std::io::Error) -> ExchangeError<E> {
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
    {
        return match &tls.0 {
            rustls::Error::InvalidCertificate(why) => ExchangeError::Certificate(format!(
                "the server's certificate is not trusted: {why:?}"
            )),
            other => ExchangeError::Tls(format!("the TLS connection failed: {other}")),
        };
    }
    match session.error() {
        Some(error) => session_error(error),
        None => ExchangeError::Protocol(format!("the connection broke: {e}")),
    }
}

fn session_result<E>(session: &ClientSession) -> Result<(), ExchangeError<E>> {
    session.error().map_or(Ok(()), |e| Err(session_error(e)))
}

fn session_error<E>(error: &SessionError) -> ExchangeError<E> {
    match error {
        SessionError::Timeout => {
            ExchangeError::Timeout("the server stopped answering (--timeout)".into())
        }
        // An alert (21) or a handshake (22) record: the server speaks TLS.
        SessionError::Peer(e)
            if e.offset == 0
                && matches!(e.kind, DecodeErrorKind::BadValue { value: 21 | 22, .. }) =>
        {
            ExchangeError::Protocol(
                "this port speaks TLS: use tls://HOST:PORT (the server's TLS port)".into(),
            )
        }
        SessionError::Peer(e) if e.kind == DecodeErrorKind::Truncated => {
            ExchangeError::Protocol(format!(
                "the server closed the connection in the middle of its answer (after byte {})",
                e.offset
            ))
        }
        SessionError::Peer(e) => {
            ExchangeError::Protocol(format!("the server broke the protocol {e}"))
        }
        other => ExchangeError::Protocol(other.to_string()),
    }
}

/// The server refused to list its folder (status 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListingRefused;

impl fmt::Display for ListingRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the server could not list its folder (a listing past its limit, or a failure on its side)",
        )
    }
}

/// Fetches the listing (op 20).
pub async fn list(upstream: &Upstream) -> Result<Vec<ListEntry>, ExchangeError<ListingRefused>> {
    let mut listing = Listing(None);
    exchange(upstream, Request::List, &mut listing).await?;
    listing
        .0
        .ok_or_else(|| ExchangeError::Protocol("the server sent no listing".into()))
}

/// Keeps the listing op 20 answers with.
struct Listing(Option<Vec<ListEntry>>);

impl Handler<ClientSession> for Listing {
    type Error = ListingRefused;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ListingRefused> {
        match event {
            ClientEvent::Listing(entries) => self.0 = Some(entries),
            ClientEvent::Refused => return Err(ListingRefused),
            _ => {}
        }
        Ok(())
    }
    fn received(&mut self, _: &[u8]) -> Result<(), ListingRefused> {
        Ok(())
    }
}
