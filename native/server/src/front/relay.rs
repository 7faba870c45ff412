//! Private requests through a cache: after a client's AUTH, the connection
//! is handed to the origin as it stands and its bytes are relayed both ways
//! untouched. The origin checks the password and serves the private folder;
//! the cache never stores, parses or keeps a private byte.

use std::cell::Cell;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use async_io::Async;
use ferry_core::{Credentials, escape};
use ferry_runtime::conn::Conn;
use ferry_runtime::{Waited, until};
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

use super::Shared;
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
    pub origin: String,
}

/// Relays a connection whose AUTH has been read to the origin, and logs
/// one line for it.
pub(super) async fn relay<St: Store>(conn: Conn, to: Relay, peer: SocketAddr, shared: &Shared<St>) {
    let started = Instant::now();
    let user = escape(to.credentials.user().as_bytes());
    let idle = Duration::from_micros(shared.config.limits.timeout_us);
    let outcome = match run(conn, &to, peer, shared, idle).await {
        Ok((true, up, down)) => {
            format!("login relayed to the origin, {up} bytes up, {down} bytes down")
        }
        Ok((false, ..)) => "login denied by the origin".to_owned(),
        Err(e) => format!("relay to the origin failed: {e}"),
    };
    log::info!(
        "{peer} AUTH user={user} PASS {outcome} {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
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
    let (client, pending) = conn.into_parts()?;
    let client = Async::new(client)?;
    let origin = match until(Some(Instant::now() + idle), connect(&to.origin)).await {
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
