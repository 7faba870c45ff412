//! Accepting connections, capping how many are served at once, and stopping
//! gracefully on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use async_signal::Signals;
use ferry_runtime::{Waited, until};
use futures_lite::{StreamExt, future};
use smol::channel::{Receiver, Sender};
use smol::lock::{Semaphore, SemaphoreGuardArc};

use super::Shared;
use super::connection::{FirstBytes, serve_connection};
use super::waiting::{Parked, WaitingRoom};
use crate::limits::{PerAddress, Ticket};
use crate::ops::{Refused, systemd};
use crate::store::Store;

/// The sockets a server accepts on: every interface, or each `--bind`, on
/// the plain port and on the TLS port.
pub(super) type Listeners = Arc<Vec<Listener>>;

/// One listening socket, and whether its connections speak TLS.
#[derive(Debug)]
pub(super) struct Listener {
    socket: Async<std::net::TcpListener>,
    tls: bool,
}

impl Listener {
    pub(super) fn new(socket: Async<std::net::TcpListener>, tls: bool) -> Self {
        Listener { socket, tls }
    }
}

/// How long a new connection may wait for a free slot.
const SLOT_WAIT: Duration = Duration::from_millis(100);

/// What every thread's accept loop shares: the connection cap and the
/// count of connections in flight.
#[derive(Debug)]
pub(super) struct Front<St> {
    shared: Arc<Shared<St>>,
    slots: Arc<Semaphore>,
    active: Arc<AtomicUsize>,
    per_address: Arc<PerAddress>,
    /// Connections waiting briefly for a slot.
    waiting: Arc<AtomicUsize>,
}

impl<St: Store> Front<St> {
    pub(super) fn new(shared: Arc<Shared<St>>) -> Self {
        let config = &shared.config;
        Front {
            slots: Arc::new(Semaphore::new(config.max_connections)),
            active: Arc::new(AtomicUsize::new(0)),
            per_address: Arc::new(PerAddress::new(config.max_per_address, &config.trusted)),
            waiting: Arc::new(AtomicUsize::new(0)),
            shared,
        }
    }

    /// Most connections waiting for a slot at once: a tenth of the slots
    /// (their descriptors come out of the same reserve).
    fn max_waiting(&self) -> usize {
        (self.shared.config.max_connections / 10).max(1)
    }

    /// Connections being served now (on every thread).
    pub(super) fn open(&self) -> Arc<AtomicUsize> {
        self.active.clone()
    }

    /// The store's counters, if it keeps any.
    pub(super) fn report(&self) -> Option<String> {
        self.shared.store.report()
    }

    /// One thread's share of the server, as nginx's workers do: accepts
    /// until `stop` closes and serves each connection on this thread (no
    /// hand-off to another thread), then waits up to `--grace` for the
    /// connections in flight on every thread. The thread given the `signals`
    /// closes `stop` for all on Ctrl-C or SIGTERM, and logs the stop.
    pub(super) fn run_thread(
        &self,
        listeners: Listeners,
        stop: Receiver<()>,
        signals: Option<(Signals, Sender<()>)>,
    ) {
        let local = smol::LocalExecutor::new();
        let report = signals.is_some();
        if let Some((mut signals, stop_all)) = signals {
            let listeners = listeners.clone();
            let shared = self.shared.clone();
            local
                .spawn(async move {
                    // SIGUSR1 asks for the counters, SIGHUP reloads the
                    // certificate; any other signal stops.
                    loop {
                        match signals.next().await {
                            Some(Ok(async_signal::Signal::Usr1)) => {
                                if let Some(report) = shared.store.report() {
                                    log::info!("{report}");
                                }
                            }
                            Some(Ok(async_signal::Signal::Hup)) => reload(&shared),
                            _ => break,
                        }
                    }
                    shared.health.stopping();
                    systemd::stopping();
                    drop(stop_all);
                    // Refuse new clients now, whatever each thread is doing.
                    for listener in listeners.iter() {
                        let socket = listener.socket.get_ref();
                        let _ = rustix::net::shutdown(socket, rustix::net::Shutdown::Read);
                    }
                    // A second Ctrl-C or SIGTERM does not wait for the grace.
                    while let Some(Ok(signal)) = signals.next().await {
                        if signal == async_signal::Signal::Hup {
                            reload(&shared);
                            continue;
                        }
                        if signal != async_signal::Signal::Usr1 {
                            log::warn!(
                                "stopping at once ({signal:?} again): transfers in flight are cut"
                            );
                            std::process::exit(130);
                        }
                        if let Some(report) = shared.store.report() {
                            log::info!("{report}");
                        }
                    }
                })
                .detach();
        }
        // Connections with nothing to read yet wait in the room, as a few
        // words each, not as tasks (see waiting.rs).
        let timeout = Duration::from_micros(self.shared.config.limits.timeout_us);
        let room = WaitingRoom::new(timeout)
            .inspect_err(|e| {
                log::warn!("no waiting room ({e}): idle connections are served as tasks")
            })
            .ok();
        smol::block_on(ferry_runtime::turns::run(&local, async {
            let accepting = async {
                self.accept_until(&listeners, &stop, &local, room.as_ref())
                    .await;
                drain(&self.active, self.shared.config.grace, report).await;
            };
            let waiting = async {
                match &room {
                    // Ready: its first bytes are read here, as at accept,
                    // not waited for a second time through the reactor.
                    Some(room) => {
                        room.run(|p| {
                            let first = FirstBytes::read(&p.stream);
                            self.serve(&local, p, first);
                        })
                        .await
                    }
                    None => future::pending().await,
                }
                future::pending::<()>().await;
            };
            future::or(accepting, waiting).await;
        }));
    }

    async fn accept_until(
        &self,
        listeners: &[Listener],
        stop: &Receiver<()>,
        local: &smol::LocalExecutor<'_>,
        room: Option<&WaitingRoom>,
    ) {
        // Which listener is looked at first, in turn: no address starves.
        let mut turn = 0usize;
        loop {
            // The stop first: a stream of new clients must not hide it.
            let stopped = async {
                let _ = stop.recv().await;
                None
            };
            let accepted =
                future::or(stopped, async { Some(accept(listeners, &mut turn).await) }).await;
            let metrics = self.shared.metrics.as_deref();
            let (stream, peer, tls) = match accepted {
                None => break,
                Some(Ok(pair)) => {
                    if let Some(metrics) = metrics {
                        metrics.accepted();
                    }
                    pair
                }
                // The listener was shut down for the stop.
                Some(Err(_)) if stop.is_closed() => break,
                Some(Err(e)) => {
                    // Out of descriptors, for instance: back off instead of spinning.
                    log::warn!("accept failed: {e}");
                    Timer::after(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // One address's share first, refused at accept speed: a flood
            // from one address never holds the slots others need.
            let ticket = match self.per_address.admit(peer.ip()) {
                Ok(ticket) => ticket,
                Err(open) => {
                    if let Some(metrics) = metrics {
                        metrics.refused(Refused::PerAddress);
                    }
                    log::debug!(
                        "{peer} refused: {open} connections already open from that address (--max-connections-per-address {})",
                        self.per_address.cap()
                    );
                    continue;
                }
            };
            match self.slots.try_acquire_arc() {
                Some(permit) => {
                    let slot = Slot::take(permit, ticket, &self.active);
                    let parked = Parked {
                        stream,
                        peer,
                        tls,
                        slot,
                        accepted: Instant::now(),
                    };
                    // Usually the request is already there: served at once.
                    // Otherwise the connection waits in the room.
                    match (FirstBytes::read(&parked.stream), room) {
                        (Some(first), _) => self.serve(local, parked, Some(first)),
                        (None, Some(room)) => {
                            if let Err(parked) = room.park(parked) {
                                self.serve(local, *parked, None);
                            }
                        }
                        (None, None) => self.serve(local, parked, None),
                    }
                }
                None if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting() => {
                    // Every slot taken and enough already waiting: refused
                    // at once (each waiting socket holds a descriptor).
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    if let Some(metrics) = metrics {
                        metrics.refused(Refused::Total);
                    }
                    log::debug!(
                        "{peer} refused: every slot taken and {} waiting",
                        self.max_waiting()
                    );
                }
                None => self.wait_for_slot(stream, peer, tls, ticket, local),
            }
            // Serve it before accepting more (nginx's `multi_accept off`):
            // meanwhile the other threads take the next connections, instead
            // of one thread taking a whole burst and serving it in a row.
            future::yield_now().await;
        }
    }

    /// Serves a connection on this thread, from what was read at accept
    /// (none: it waits for its first bytes). The connection's future is the
    /// whole task: no wrapper to keep its arguments a second time.
    fn serve(&self, local: &smol::LocalExecutor<'_>, p: Parked, first: Option<FirstBytes>) {
        let shared = self.shared.clone();
        local
            .spawn(serve_connection(
                p.stream, p.peer, p.tls, shared, p.slot, p.accepted, first,
            ))
            .detach();
    }

    /// Every slot is taken: this connection waits briefly on its own task,
    /// and the loop goes on accepting (and refusing) at once.
    fn wait_for_slot(
        &self,
        stream: std::net::TcpStream,
        peer: SocketAddr,
        tls: bool,
        ticket: Option<Ticket>,
        local: &smol::LocalExecutor<'_>,
    ) {
        let (slots, active, shared, waiting) = (
            self.slots.clone(),
            self.active.clone(),
            self.shared.clone(),
            self.waiting.clone(),
        );
        let accepted = Instant::now();
        local
            .spawn(async move {
                let wait = until(Some(accepted + SLOT_WAIT), slots.acquire_arc());
                let waited = wait.await;
                waiting.fetch_sub(1, Ordering::Relaxed);
                match waited {
                    Waited::Done(permit) => {
                        let slot = Slot::take(permit, ticket, &active);
                        serve_connection(stream, peer, tls, shared, slot, accepted, None).await;
                    }
                    Waited::Deadline => {
                        if let Some(metrics) = &shared.metrics {
                            metrics.refused(Refused::Total);
                        }
                        log::warn!(
                            "{peer} refused: {} connections open (--max-connections)",
                            shared.config.max_connections
                        );
                    }
                }
            })
            .detach();
    }
}

/// A connection's place among the `--max-connections`, counted in flight
/// until dropped.
#[derive(Debug)]
pub(super) struct Slot {
    _permit: SemaphoreGuardArc,
    _ticket: Option<Ticket>,
    active: Arc<AtomicUsize>,
}

impl Slot {
    fn take(permit: SemaphoreGuardArc, ticket: Option<Ticket>, active: &Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        Slot {
            _permit: permit,
            _ticket: ticket,
            active: active.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// SIGHUP: the TLS certificate read again from its files for new
/// connections (those under way keep theirs); on any error the one in use
/// stays. Without TLS there is nothing to reload, and the server goes on.
fn reload<St>(shared: &Shared<St>) {
    let Some(certificate) = &shared.certificate else {
        return log::info!("SIGHUP: nothing to reload (no --tls-port); still serving");
    };
    systemd::reloading();
    match certificate.reload() {
        Ok(fingerprint) => log::info!(
            "SIGHUP: reloaded the TLS certificate {} (key {fingerprint}) for new connections",
            certificate.file().display()
        ),
        Err(e) => log::warn!(
            "SIGHUP: kept the TLS certificate in use: {e:#}; fix {} and send SIGHUP again",
            certificate.file().display()
        ),
    }
    systemd::ready();
}

/// Waits up to `grace` for the connections in flight (on every thread) to
/// finish; with `report`, says so in the log.
async fn drain(active: &AtomicUsize, grace: Duration, report: bool) {
    let deadline = Instant::now() + grace;
    let in_flight = active.load(Ordering::Relaxed);
    if report && in_flight > 0 {
        log::info!("stopping: waiting up to {grace:?} for {in_flight} connection(s) in flight");
    }
    while active.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        Timer::after(Duration::from_millis(20)).await;
    }
    match active.load(Ordering::Relaxed) {
        _ if !report => {}
        0 => log::info!("stopped"),
        left => log::warn!("stopped with {left} connection(s) cut short"),
    }
}

/// Accepts the next connection on any of the listeners, starting with the
/// one after the last that gave one. The connection is already
/// non-blocking (no `FIONBIO` round trip) and joins the reactor only if it
/// ever has to wait (see `ferry_runtime::conn::Socket`).
/// Says whether the connection came to a TLS listener.
async fn accept(
    listeners: &[Listener],
    turn: &mut usize,
) -> std::io::Result<(std::net::TcpStream, SocketAddr, bool)> {
    use rustix::io::Errno;
    let flags = rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC;
    let (fd, addr, tls) = loop {
        // Whatever is already waiting, on any listener, first.
        let mut ready = None;
        for k in 0..listeners.len() {
            let i = (*turn + k) % listeners.len();
            match rustix::net::acceptfrom_with(listeners[i].socket.get_ref(), flags) {
                // Nothing there, or a client gone before we took it.
                Err(Errno::AGAIN | Errno::CONNABORTED | Errno::PROTO | Errno::INTR) => {}
                result => {
                    *turn = i + 1;
                    let tls = listeners[i].tls;
                    ready = Some(result.map(|(fd, addr)| (fd, addr, tls)));
                    break;
                }
            }
        }
        if let Some(result) = ready {
            break result.map_err(std::io::Error::from)?;
        }
        // Then wait until one of them is readable.
        let mut waits = listeners.iter().map(|l| {
            Box::pin(l.socket.readable())
                as std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>>>>
        });
        let first = waits
            .next()
            .ok_or_else(|| std::io::Error::other("no listener"))?;
        waits.fold(first, |a, b| Box::pin(future::or(a, b))).await?;
    };
    let peer = addr
        .and_then(|a| SocketAddr::try_from(a).ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    Ok((std::net::TcpStream::from(fd), peer, tls))
}
