//! Private requests through a cache: after a client's AUTH, the connection
//! is handed to the origin as it stands and its bytes are relayed both ways
//! untouched. The origin checks the password and serves the private folder;
//! the cache never stores, parses or keeps a private byte.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use async_io::Async;
use ferry_core::{Credentials, escape};
use ferry_runtime::conn::Conn;
use ferry_runtime::upstream::{self, Upstream};
use ferry_runtime::{Waited, until};
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

use super::Shared;
use crate::ops::Outcome;
use crate::store::Store;

/// Relayed bytes per read.
const RELAY_BUF: usize = 64 * 1024;

/// A login to relay to `origin`: the connection leaves the drive loop
/// handed over ([`ferry_runtime::Ended::HandedOver`]).
#[derive(Debug)]
pub(super) struct Relay {
    /// The credentials the client sent.
    pub credentials: Credentials,
    /// Where private requests go.
    pub origin: Upstream,
}

/// Relays a connection whose AUTH has been read to the origin, and logs
/// one line for it.
pub(super) async fn relay<St: Store>(conn: Conn, to: Relay, peer: SocketAddr, shared: &Shared<St>) {
    let started = Instant::now();
    let user = escape(to.credentials.user().as_bytes());
    let conn_tls = conn.is_tls();
    let tls = if conn_tls { " tls" } else { "" };
    let idle = Duration::from_micros(shared.config.limits.timeout_us);
    let relayed = run(conn, &to, peer, shared, idle).await;
    // The origin decided the login; the op after it is the origin's to count.
    let (class, up, down) = match &relayed {
        Ok((true, up, down)) => (Outcome::Ok, *up, *down),
        Ok((false, ..)) => (Outcome::Refused("login_denied"), 0, 0),
        Err(_) => (Outcome::Failed, 0, 0),
    };
    if let Some(metrics) = &shared.metrics {
        if let Ok((accepted, ..)) = &relayed {
            metrics.login(if *accepted { "accepted" } else { "denied" });
        }
        metrics.request("AUTH", class, down, up, started.elapsed());
    }
    let outcome = match relayed {
        Ok((true, up, down)) => {
            format!("login relayed to the origin, {up} bytes up, {down} bytes down")
        }
        Ok((false, ..)) => "login denied by the origin".to_owned(),
        Err(e) => format!("relay to the origin failed: {e}"),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let (result, reason) = class.labels();
    let client = peer.to_string();
    log::info!(
        client = client.as_str(),
        tls = conn_tls,
        op = "AUTH",
        user = user.as_str(),
        outcome = outcome.as_str(),
        result = result,
        reason = reason,
        bytes = up + down,
        duration_ms = ms;
        "{peer}{tls} AUTH user={user} PASS {outcome} {ms:.1} ms"
    );
}

async fn run<St: Store>(
    conn: Conn,
    to: &Relay,
    peer: SocketAddr,
    shared: &Shared<St>,
    idle: Duration,
) -> std::io::Result<(bool, u64, u64)> {
    // The cache's own clients are slowed down per address, as by a server.
    // One login at a time per address, until the origin has answered it.
    let turn = shared.throttle.turn(peer.ip()).await;
    if conn.is_tls() || to.origin.tls.is_some() {
        return through_tls(conn, to, peer, shared, idle, turn).await;
    }
    let (client, pending) = conn.into_parts()?;
    let client = Async::new(client)?;
    let origin = match until(Some(Instant::now() + idle), connect(&to.origin.addr)).await {
        Waited::Done(result) => result?,
        Waited::Deadline => return Err(std::io::ErrorKind::TimedOut.into()),
    };
    let mut first = Vec::new();
    to.credentials.encode(&mut first);
    first.extend_from_slice(&pending);
    timed(idle, (&origin).write_all(&first)).await?;
    // The first byte back is the AUTH answer: 0 accepted.
    let mut status = [0u8; 1];
    timed(idle, (&origin).read_exact(&mut status)).await?;
    if status[0] == 0 {
        shared.throttle.succeeded(peer.ip());
    } else {
        shared.throttle.failed(peer.ip());
    }
    drop(turn);
    timed(idle, (&client).write_all(&status)).await?;
    let last = Cell::new(Instant::now());
    let (up, down) = future::zip(
        pump(&client, &origin, &last, idle),
        pump(&origin, &client, &last, idle),
    )
    .await;
    Ok((status[0] == 0, first.len() as u64 + up, 1 + down))
}

/// The relay when either hop speaks TLS: plaintext moved between the two
/// connections, each encrypted on its own hop. The password never leaves
/// the cache in the clear (a login over TLS to a plain-text origin is
/// refused before this).
async fn through_tls<St: Store>(
    mut client: Conn,
    to: &Relay,
    peer: SocketAddr,
    shared: &Shared<St>,
    idle: Duration,
    turn: impl Sized,
) -> std::io::Result<(bool, u64, u64)> {
    let connected = until(
        Some(Instant::now() + idle),
        upstream::connect::<Infallible>(&to.origin),
    );
    let mut origin = match connected.await {
        Waited::Done(result) => result.map_err(|e| std::io::Error::other(e.to_string()))?,
        Waited::Deadline => return Err(std::io::ErrorKind::TimedOut.into()),
    };
    let mut first = Vec::new();
    to.credentials.encode(&mut first);
    let pending = client.pending().len();
    first.extend_from_slice(client.pending());
    client.consume(pending);
    origin.queue(&first);
    timed(idle, origin.flush(false)).await?;
    // The first byte back is the AUTH answer: 0 accepted.
    while origin.pending().is_empty() {
        if timed(idle, origin.fill()).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    let status = origin.pending()[0];
    origin.consume(1);
    if status == 0 {
        shared.throttle.succeeded(peer.ip());
    } else {
        shared.throttle.failed(peer.ip());
    }
    drop(turn);
    client.queue(&[status]);
    timed(idle, client.flush(false)).await?;
    let (up, down) = pump_conns(&mut client, &mut origin, idle).await;
    client.close(idle).await;
    Ok((status == 0, first.len() as u64 + up, 1 + down))
}

/// What a read in [`pump_conns`] came from.
enum Side {
    Client(std::io::Result<usize>),
    Origin(std::io::Result<usize>),
}

/// Moves plaintext both ways until the origin ends or fails, or nothing
/// has moved for `idle`; the client ending only stops its direction.
/// Returns the bytes moved up and down.
async fn pump_conns(client: &mut Conn, origin: &mut Conn, idle: Duration) -> (u64, u64) {
    let (mut up, mut down, mut client_open) = (0u64, 0u64, true);
    loop {
        if !origin.pending().is_empty() {
            let n = origin.pending().len();
            client.queue(origin.pending());
            origin.consume(n);
            down += n as u64;
            if timed(idle, client.flush(false)).await.is_err() {
                break;
            }
        }
        if !client.pending().is_empty() {
            let n = client.pending().len();
            origin.queue(client.pending());
            client.consume(n);
            up += n as u64;
            if timed(idle, origin.flush(false)).await.is_err() {
                break;
            }
        }
        let from_origin = async { Side::Origin(origin.fill().await) };
        let read = match client_open {
            true => {
                let from_client = async { Side::Client(client.fill().await) };
                until(
                    Some(Instant::now() + idle),
                    future::or(from_origin, from_client),
                )
                .await
            }
            false => until(Some(Instant::now() + idle), from_origin).await,
        };
        match read {
            Waited::Deadline | Waited::Done(Side::Origin(Ok(0) | Err(_))) => break,
            Waited::Done(Side::Client(Ok(0) | Err(_))) => client_open = false,
            Waited::Done(_) => {}
        }
    }
    (up, down)
}

async fn connect(addr: &str) -> std::io::Result<Async<TcpStream>> {
    let mut last = std::io::Error::other(format!("{addr} resolves to no address"));
    for addr in async_net::resolve(addr).await? {
        match Async::<TcpStream>::connect(addr).await {
            Ok(stream) => {
                let _ = stream.get_ref().set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn timed<T>(
    idle: Duration,
    op: impl Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    match until(Some(Instant::now() + idle), op).await {
        Waited::Done(result) => result,
        Waited::Deadline => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Copies `from` into `to` until `from` ends or fails, or neither direction
/// has moved for `idle` (`last` is shared by both); then ends `to`'s
/// direction. Returns the bytes copied.
async fn pump(
    from: &Async<TcpStream>,
    to: &Async<TcpStream>,
    last: &Cell<Instant>,
    idle: Duration,
) -> u64 {
    let mut buf = vec![0u8; RELAY_BUF];
    let mut copied = 0;
    loop {
        let mut reader = from;
        let n = match until(Some(last.get() + idle), reader.read(&mut buf)).await {
            Waited::Done(Ok(0) | Err(_)) => break,
            Waited::Done(Ok(n)) => n,
            // The other direction may have moved meanwhile.
            Waited::Deadline if last.get().elapsed() < idle => continue,
            Waited::Deadline => break,
        };
        last.set(Instant::now());
        let mut writer = to;
        if timed(idle, writer.write_all(&buf[..n])).await.is_err() {
            break;
        }
        last.set(Instant::now());
        copied += n as u64;
        // Both sockets may stay ready for ever: let the thread's other
        // connections run between chunks.
        smol::future::yield_now().await;
    }
    let _ = to.get_ref().shutdown(std::net::Shutdown::Write);
    copied
}
