//! The front of `ferry serve` and `ferry cache`: one session per
//! connection, answered from a [`Store`].
//!
//! - `accept`: accepting on every thread (each thread serves the
//!   connections it accepted), the connection cap and the graceful stop on
//!   Ctrl-C or SIGTERM.
//! - `connection`: one connection, from its first bytes to its end: the
//!   runtime's drive loop plus the answers to every event.
//! - `ending`: how a connection ended, counted in the metrics and said in
//!   its one log line.
//! - `relay`: a login through a cache, handed to the origin as it stands.
//!
//! Per-client limits live in [`crate::limits`].
//! Nothing here parses the protocol; slow work (listing, password checks,
//! fsync) runs on the blocking pool inside the store, and op 40's prefix
//! hashing in [`crate::prefix`].

mod accept;
mod connection;
mod ending;
mod relay;
pub mod tls;
mod waiting;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use anyhow::Context;
use async_io::Async;
use ferry_runtime::listen;

use crate::limits::{Throttle, quota};
use crate::ops::{Health, Metrics, Sample, endpoint, systemd};
use crate::prefix::Prefixes;
use crate::settings::{CacheConfig, Files, FrontConfig, ServeConfig};
use crate::store::{CacheStore, FolderStore, S3Store, Store};

/// What every connection shares.
#[derive(Debug)]
struct Shared<St> {
    store: St,
    config: FrontConfig,
    throttle: Throttle,
    quota: quota::Quota,
    /// Op 40's prefix hashing, for every store.
    prefixes: Prefixes,
    /// What TLS connections are made with, if the front serves TLS.
    tls: Option<Arc<rustls::ServerConfig>>,
    /// The counters `/metrics` shows, if `--metrics` serves them.
    metrics: Option<Arc<Metrics>>,
    /// The TLS certificate in use, which SIGHUP reads again.
    certificate: Option<Arc<tls::Reloadable>>,
    /// What `/healthz` answers.
    health: Arc<Health>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(mut config: ServeConfig) -> anyhow::Result<()> {
    fit_descriptors(&mut config.front);
    match &config.files {
        Files::Root(root) => {
            let store = FolderStore::open(root, &config.front.limits)?;
            let what = format!("ferry serving {}", root.display());
            serve(store, config.front, &what)
        }
        Files::Bucket(location) => {
            let store = S3Store::open(location, &config.front.limits)?;
            let what = format!("ferry serving {}", store.shown());
            serve(store, config.front, &what)
        }
    }
}

/// Runs the cache until Ctrl-C or SIGTERM.
pub fn run_cache(mut config: CacheConfig) -> anyhow::Result<()> {
    fit_descriptors(&mut config.front);
    let what = format!(
        "ferry caching {} in {}",
        match config.origin_tls {
            Some(_) => format!("tls://{}", config.origin),
            None => config.origin.clone(),
        },
        config.dir.display()
    );
    let store = CacheStore::open(&config)?;
    serve(store, config.front, &what)
}

/// Listens, prints where to connect (after `what`), and serves `store` on
/// one thread per core, each accepting and serving its own connections.
fn serve<St: Store>(store: St, config: FrontConfig, what: &str) -> anyhow::Result<()> {
    let mut listeners = Vec::new();
    let plain = match &config.tls {
        Some(tls) if tls.only => None,
        _ => Some(listen(&config, config.port)?),
    };
    let secure = match &config.tls {
        Some(settings) => Some(listen_tls(&config, settings)?),
        None => None,
    };
    // The metrics port is bound before any client is served: a port in
    // use stops the start-up, as the others do.
    let metrics_port = match config.metrics {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .map_err(|e| anyhow::anyhow!("cannot serve --metrics on {addr}: {e}"))?,
        ),
        None => None,
    };
    // Watched before the banner says where to connect: a SIGHUP or SIGUSR1
    // sent as soon as it shows (a supervisor's reload, a request for the
    // counters) must not find the default action, which ends the process.
    let signals = signals()?;
    if let Some((sockets, port, reachable)) = plain {
        print_banner(what, port, &reachable, "");
        listeners.extend(sockets.into_iter().map(|s| (s, false)));
    }
    let mut certificate = None;
    let tls_config = match secure {
        Some((sockets, port, reachable, certified)) => {
            certificate = Some(certified.current.clone());
            let what = format!(
                "{what} over TLS (certificate: {}; key {})",
                certified.source, certified.fingerprint
            );
            print_banner(&what, port, &reachable, "tls://");
            listeners.extend(sockets.into_iter().map(|s| (s, true)));
            Some(certified.config)
        }
        None => None,
    };
    let listeners = Arc::new(
        listeners
            .into_iter()
            .map(|(socket, tls)| Ok(accept::Listener::new(Async::new(socket)?, tls)))
            .collect::<std::io::Result<Vec<_>>>()?,
    );
    let shared = Arc::new(Shared {
        metrics: match &metrics_port {
            Some(_) => Some(Arc::new(Metrics::new(store.collectors())?)),
            None => None,
        },
        store,
        throttle: Throttle::new(&config.trusted),
        quota: quota::Quota::new(config.quotas, &config.trusted),
        prefixes: Prefixes::default(),
        tls: tls_config,
        certificate,
        health: Arc::new(Health::default()),
        config,
    });
    let front = Arc::new(accept::Front::new(shared.clone()));
    if let (Some(listener), Some(metrics)) = (metrics_port, &shared.metrics) {
        start_ops(listener, metrics.clone(), &shared, &front)?;
    }
    systemd::ready();
    // Every thread accepts and serves its own connections; closing the
    // channel (on a signal) stops them all.
    let (stop_all, stop) = smol::channel::bounded::<()>(1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut workers = Vec::new();
    for i in 1..threads {
        let (front, listeners, stop) = (front.clone(), listeners.clone(), stop.clone());
        let worker = std::thread::Builder::new()
            .name(format!("ferry-worker-{i}"))
            .spawn(move || front.run_thread(listeners, stop, None))
            .context("cannot start a worker thread")?;
        workers.push(worker);
    }
    front.run_thread(listeners, stop, Some((signals, stop_all)));
    for worker in workers {
        let _ = worker.join();
    }
    if let Some(report) = front.report() {
        log::info!("{report}");
    }
    Ok(())
}

/// The signals a server answers: Ctrl-C and SIGTERM stop it, SIGUSR1 asks
/// for the counters, SIGHUP reloads the TLS certificate.
fn signals() -> anyhow::Result<async_signal::Signals> {
    async_signal::Signals::new([
        async_signal::Signal::Term,
        async_signal::Signal::Int,
        async_signal::Signal::Usr1,
        async_signal::Signal::Hup,
    ])
    .context("cannot watch for Ctrl-C, SIGTERM, SIGUSR1 and SIGHUP")
}

/// The TLS port's listeners, port and addresses, and its certificate.
fn listen_tls(
    config: &FrontConfig,
    settings: &crate::settings::TlsSettings,
) -> anyhow::Result<(Vec<TcpListener>, u16, Reachable, tls::Certified)> {
    let (sockets, port, reachable) = listen(config, settings.port)?;
    let addrs: Vec<SocketAddr> = reachable.iter().map(|(_, a)| *a).collect();
    let certified = tls::certify(settings, &tls::names(&addrs))?;
    Ok((sockets, port, reachable, certified))
}

/// Serves `/metrics` and `/healthz` on `listener`: the front's counters,
/// the store's own and the connections open; the store probed for health.
fn start_ops<St: Store>(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shared: &Arc<Shared<St>>,
    front: &accept::Front<St>,
) -> anyhow::Result<()> {
    let at = listener.local_addr()?;
    let health = shared.health.clone();
    let (watched, probed, read, open) =
        (health.clone(), shared.clone(), shared.clone(), front.open());
    let probe = async move { watched.watch(|| probed.store.probe()).await };
    let samples = move || {
        let mut samples = read.store.samples();
        samples.extend(read.prefixes.samples());
        samples.push(Sample {
            name: "ferry_connections_open",
            help: "Connections being served now.",
            counter: false,
            value: open.load(std::sync::atomic::Ordering::Relaxed) as f64,
        });
        samples
    };
    endpoint::spawn(listener, metrics, samples, health, probe)
        .context("cannot start the metrics endpoint")?;
    log::info!("metrics on http://{at}/metrics, health on http://{at}/healthz");
    Ok(())
}

/// Where clients can connect: each address, and the interface it is on.
type Reachable = Vec<(String, SocketAddr)>;

/// Every interface (one dual-stack socket), or each --bind address, on
/// `port` (for all, the first one's if it is 0): the listeners, the port,
/// and the addresses to show.
fn listen(config: &FrontConfig, port: u16) -> anyhow::Result<(Vec<TcpListener>, u16, Reachable)> {
    let listen_error = |e: std::io::Error, on: String| {
        anyhow::anyhow!(
            "cannot listen on {on}: {e}{}",
            match e.kind() {
                std::io::ErrorKind::AddrInUse =>
                    "; another program uses it: stop it or pick another port",
                std::io::ErrorKind::AddrNotAvailable =>
                    "; no interface of this machine has that address",
                _ => "",
            }
        )
    };
    let mut listeners = Vec::new();
    let mut port = port;
    let mut banner_addrs = Vec::new();
    if config.bind.is_empty() {
        let (listener, ipv6) =
            listen::bind_all(port).map_err(|e| listen_error(e, format!("port {port}")))?;
        port = listener.local_addr()?.port();
        banner_addrs = listen::reachable(port, ipv6);
        listeners.push(listener);
    } else {
        for ip in &config.bind {
            let listener = listen::bind_one(*ip, port)
                .map_err(|e| listen_error(e, SocketAddr::new(*ip, port).to_string()))?;
            port = listener.local_addr()?.port();
            if ip.is_unspecified() {
                let all = listen::reachable(port, ip.is_ipv6());
                banner_addrs.extend(all.into_iter().filter(|(_, a)| a.is_ipv6() == ip.is_ipv6()));
            } else {
                banner_addrs.push(("--bind".into(), SocketAddr::new(*ip, port)));
            }
            listeners.push(listener);
        }
    }
    Ok((listeners, port, banner_addrs))
}

/// Prints where to connect. Nobody may be reading stdout (a closed pipe):
/// the server keeps running whatever happens to these lines.
/// `scheme` is what clients write before the address (`tls://`, or nothing).
fn print_banner(what: &str, port: u16, banner_addrs: &[(String, SocketAddr)], scheme: &str) {
    let mut banner = format!("{what} on port {port}, reachable at:\n");
    for (iface, addr) in banner_addrs {
        banner.push_str(&format!("  {scheme}{addr}  ({iface})\n"));
    }
    let example = banner_addrs
        .iter()
        .map(|(_, a)| *a)
        .find(|a| a.ip().is_loopback())
        .or_else(|| banner_addrs.first().map(|(_, a)| *a))
        .map_or_else(|| format!("127.0.0.1:{port}"), |a| a.to_string());
    banner.push_str(&format!("try: ferry ls {scheme}{example}\n"));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Descriptors kept free for listeners, logs, the users file, the store's
/// own files and the blocking sender's second descriptor of a socket.
const DESCRIPTOR_RESERVE: u64 = 32;
/// Descriptors one connection may need: its socket, the file it sends and,
/// for a large body, a second descriptor of the socket (a cache's relay or
/// fill: its origin socket instead).
const DESCRIPTORS_PER_CONNECTION: u64 = 3;

/// Raises the soft limit on open descriptors to the hard limit, then lowers
/// `--max-connections` (and the share per address) to what the limit can
/// hold with a reserve: running out of descriptors must refuse new
/// connections at accept, never make an existing file look missing.
fn fit_descriptors(config: &mut FrontConfig) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit
        .current
        .is_some_and(|current| current < limit.maximum.unwrap_or(u64::MAX))
    {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
    let now = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let fits = (now.saturating_sub(DESCRIPTOR_RESERVE) / DESCRIPTORS_PER_CONNECTION).max(1);
    if (config.max_connections as u64) > fits {
        log::warn!(
            "only {now} open files allowed: serving at most {fits} connections at once, not --max-connections {} (raise the limit with ulimit -n)",
            config.max_connections
        );
        // The share per address shrinks in proportion.
        let share =
            config.max_per_address as u128 * u128::from(fits) / config.max_connections as u128;
        config.max_connections = fits as usize;
        config.max_per_address = (share.max(1) as usize).min(config.max_connections);
    }
}
