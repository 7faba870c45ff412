//! Accepting connections, capping how many are served at once, and stopping
//! gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_io::{Async, Timer};
use futures_lite::{StreamExt, future};
use smol::lock::{Semaphore, SemaphoreGuardArc};

use super::Shared;
use super::connection::serve_connection;
use crate::drive::{Waited, until};
use crate::store::Store;

/// How long a new connection may wait for a free slot.
const SLOT_WAIT: Duration = Duration::from_millis(100);

/// Accepts until a stop signal, then waits up to `--grace` for the
/// connections in flight.
pub(super) async fn accept_loop<St: Store>(
    listener: Async<std::net::TcpListener>,
    shared: Arc<Shared<St>>,
    ex: Arc<smol::Executor<'static>>,
) -> anyhow::Result<()> {
    let mut signals =
        async_signal::Signals::new([async_signal::Signal::Term, async_signal::Signal::Int])
            .context("cannot watch for Ctrl-C and SIGTERM")?;
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    let active = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = future::or(async { Some(accept(&listener).await) }, async {
            signals.next().await;
            None
        })
        .await;
        let (stream, peer) = match accepted {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(e)) => {
                // Out of descriptors, for instance: back off instead of spinning.
                log::warn!("accept failed: {e}");
                Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = match until(Some(Instant::now() + SLOT_WAIT), slots.acquire_arc()).await {
            Waited::Done(permit) => permit,
            Waited::Deadline => {
                log::warn!(
                    "{peer} refused: {} connections open (--max-connections)",
                    shared.config.max_connections
                );
                continue;
            }
        };
        let slot = Slot::take(permit, &active);
        // The connection's future is the whole task: no wrapper to keep its
        // arguments a second time (idle connections stay small).
        ex.spawn(serve_connection(stream, peer, shared.clone(), slot))
            .detach();
    }
    drop(listener);
    drain(&active, shared.config.grace).await;
    Ok(())
}

/// A connection's place among the `--max-connections`, counted in flight
/// until dropped.
#[derive(Debug)]
pub(super) struct Slot {
    _permit: SemaphoreGuardArc,
    active: Arc<AtomicUsize>,
}

impl Slot {
    fn take(permit: SemaphoreGuardArc, active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        Slot {
            _permit: permit,
            active: active.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Waits up to `grace` for the connections in flight to finish.
async fn drain(active: &AtomicUsize, grace: Duration) {
    let deadline = Instant::now() + grace;
    let in_flight = active.load(Ordering::Relaxed);
    if in_flight > 0 {
        log::info!("stopping: waiting up to {grace:?} for {in_flight} connection(s) in flight");
    }
    while active.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        Timer::after(Duration::from_millis(20)).await;
    }
    let left = active.load(Ordering::Relaxed);
    if left > 0 {
        log::warn!("stopped with {left} connection(s) cut short");
    } else {
        log::info!("stopped");
    }
}

/// Accepts a connection already non-blocking (no `FIONBIO` round trip). It
/// joins the reactor only if it ever has to wait (see `crate::conn::Socket`).
async fn accept(
    listener: &Async<std::net::TcpListener>,
) -> std::io::Result<(std::net::TcpStream, SocketAddr)> {
    let flags = rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC;
    let (fd, addr) = listener
        .read_with(|l| rustix::net::acceptfrom_with(l, flags).map_err(std::io::Error::from))
        .await?;
    let peer = addr
        .and_then(|a| SocketAddr::try_from(a).ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    Ok((std::net::TcpStream::from(fd), peer))
}
