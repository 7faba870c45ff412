//! `ferry serve`: listening, accepting, and one session per connection.
//!
//! The accept loop hands each connection to a task that drives a
//! `ServerSession`: it moves bytes (with `sendfile` for bodies) and answers
//! the session's events from the store. Nothing here parses the protocol.
//! Slow work (listing, hashing, password checks, fsync) runs on the blocking
//! pool so one client cannot stall the others.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_io::{Async, Timer};
use ferry_core::{
    ListEntry, Name, Output, ResumeAnswer, ServerEvent, ServerSession, Timestamp, encode_listing,
    escape,
};
use ferry_storage::{DigestCache, Folder, StoreError, Upload};
use futures_lite::{StreamExt, future};
use rustix::net::RecvFlags;
use smol::lock::Semaphore;

use crate::config::ServeConfig;
use crate::drive::{Clock, Conn, Waited, misuse, until};

/// How long a closing connection may keep sending before it is dropped.
const LINGER: Duration = Duration::from_secs(2);
/// How long a new connection may wait for a free slot.
const SLOT_WAIT: Duration = Duration::from_millis(100);
/// Bytes an accepted connection reads before it allocates anything: enough
/// for most requests, small enough to keep idle connections light.
const FIRST_READ: usize = 96;
/// Bodies at least this large are sent by a blocking-pool thread.
const BLOCKING_BODY: u64 = 8 << 20;
/// Password checks and digests that may run at once.
const HEAVY_JOBS: usize = 2;

/// What every connection shares.
#[derive(Debug)]
struct Shared {
    root: PathBuf,
    public: Arc<Folder>,
    private: Folder,
    config: ServeConfig,
    digests: Arc<DigestCache>,
    heavy: Semaphore,
    throttle: Throttle,
}

/// Raises the soft limit on open descriptors to the hard limit, so
/// `--max-connections` and not a default of 1024 bounds the server.
fn raise_descriptor_limit(wanted: usize) {
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
    // Each connection needs a socket and, while sending, a file.
    if now < 2 * wanted as u64 + 64 {
        log::warn!(
            "only {now} open files allowed: fewer than --max-connections {wanted} may be served"
        );
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(config: ServeConfig) -> anyhow::Result<()> {
    raise_descriptor_limit(config.max_connections);
    let public_path = config.root.join("public");
    let public = Folder::open(&public_path, config.limits.clone())
        .with_context(|| format!("cannot open {}", public_path.display()))?;
    let private_path = config.root.join("private");
    let private = Folder::open(&private_path, config.limits.clone())
        .with_context(|| format!("cannot open {}", private_path.display()))?;
    // Uploads cut short by a crash or a power cut left temporaries behind.
    let removed =
        public.remove_temporaries().unwrap_or(0) + private.remove_temporaries().unwrap_or(0);
    if removed > 0 {
        log::info!("removed {removed} unfinished upload(s) left from an earlier run");
    }
    let (listener, ipv6) = crate::listen::bind_all(config.port).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on port {}: {e}{}",
            config.port,
            if e.kind() == std::io::ErrorKind::AddrInUse {
                "; another program uses it: stop it or pick another port"
            } else {
                ""
            }
        )
    })?;
    let port = listener.local_addr()?.port();
    // Where to connect. Nobody may be reading stdout (a closed pipe): the
    // server keeps running whatever happens to these lines.
    let mut banner = format!(
        "ferry serving {} on port {port}, reachable at:\n",
        config.root.display()
    );
    for (iface, addr) in crate::listen::reachable(port, ipv6) {
        banner.push_str(&format!("  {addr}  ({iface})\n"));
    }
    banner.push_str(&format!("try: ferry ls 127.0.0.1:{port}\n"));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    let listener = Async::new(listener)?;
    let shared = Arc::new(Shared {
        root: config.root.clone(),
        public: Arc::new(public),
        private,
        digests: Arc::new(DigestCache::new(4096)),
        heavy: Semaphore::new(HEAVY_JOBS),
        throttle: Throttle::default(),
        config,
    });

    let ex = Arc::new(smol::Executor::new());
    let (stop, stopped) = smol::channel::unbounded::<()>();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for i in 1..threads {
        let (ex, stopped) = (ex.clone(), stopped.clone());
        std::thread::Builder::new()
            .name(format!("ferry-worker-{i}"))
            .spawn(move || smol::block_on(ex.run(stopped.recv())))?;
    }
    let result = smol::block_on(ex.run(accept_loop(listener, shared, ex.clone())));
    drop(stop);
    result
}

async fn accept_loop(
    listener: Async<std::net::TcpListener>,
    shared: Arc<Shared>,
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
        let (shared, active) = (shared.clone(), active.clone());
        active.fetch_add(1, Ordering::Relaxed);
        ex.spawn(async move {
            serve_connection(stream, peer, shared).await;
            active.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        })
        .detach();
    }
    drop(listener);
    let grace = shared.config.grace;
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
    Ok(())
}

/// Accepts a connection already non-blocking (no `FIONBIO` round trip).
async fn accept(
    listener: &Async<std::net::TcpListener>,
) -> std::io::Result<(Async<std::net::TcpStream>, SocketAddr)> {
    let flags = rustix::net::SocketFlags::NONBLOCK | rustix::net::SocketFlags::CLOEXEC;
    let (fd, addr) = listener
        .read_with(|l| rustix::net::acceptfrom_with(l, flags).map_err(std::io::Error::from))
        .await?;
    let peer = addr
        .and_then(|a| SocketAddr::try_from(a).ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    Ok((Async::new_nonblocking(std::net::TcpStream::from(fd))?, peer))
}

/// What the current operation holds, and what the log line will say.
#[derive(Debug)]
struct Job {
    folder: Arc<Folder>,
    name: Option<String>,
    /// The file whose body is being sent, and the offset to send from.
    sending: Option<(std::fs::File, u64)>,
    upload: Option<Upload>,
    upload_failed: Option<String>,
    mget: VecDeque<ListEntry>,
    bytes: u64,
    outcome: String,
    /// A request was refused: the client may still be sending.
    refused: bool,
}

/// One connection, in two phases. Until its first bytes arrive a connection
/// holds only its socket and a timer: no session, no buffer. Then the
/// exchange itself runs boxed, so idle connections stay small.
async fn serve_connection(
    stream: Async<std::net::TcpStream>,
    peer: SocketAddr,
    shared: Arc<Shared>,
) {
    let clock = Clock::start();
    let _ = rustix::net::sockopt::set_tcp_nodelay(stream.get_ref(), true);
    let io = Arc::new(stream);
    let first_bytes_due = clock.instant(Timestamp::from_micros(shared.config.limits.timeout_us));
    // Usually the request is already there: read its first bytes at once.
    // Otherwise wait holding nothing but the socket. Either way the session
    // takes over: with data, or to answer the stall.
    let mut first = [0u8; FIRST_READ];
    let got = match rustix::net::recv(io.get_ref(), &mut first, RecvFlags::DONTWAIT) {
        Ok((n, _)) => n,
        Err(_) => {
            let _ = until(Some(first_bytes_due), io.readable()).await;
            0
        }
    };
    Box::pin(serve_exchange(io, &first[..got], peer, shared, clock)).await;
}

async fn serve_exchange(
    io: Arc<Async<std::net::TcpStream>>,
    first: &[u8],
    peer: SocketAddr,
    shared: Arc<Shared>,
    clock: Clock,
) {
    // Show IPv4 clients of the dual-stack socket as IPv4.
    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
    let mut conn = Conn::new(io);
    conn.put_back(first);
    // The session's time starts at accept: a silent client is cut on time.
    let mut session = ServerSession::new(shared.config.limits.clone(), Timestamp::from_micros(0));
    let mut job = Job {
        folder: shared.public.clone(),
        name: None,
        sending: None,
        upload: None,
        upload_failed: None,
        mget: VecDeque::new(),
        bytes: 0,
        outcome: String::new(),
        refused: false,
    };
    let failure = drive(&mut conn, &mut session, &mut job, &shared, peer, clock)
        .await
        .err();
    // Whatever happened, an unfinished upload is dropped here and leaves nothing.
    job.upload = None;
    // A clean exchange has nothing left unread: close at once. After a
    // refusal or an error the client may still be sending; linger so its
    // unread bytes do not turn our close into a reset that destroys the answer.
    let late = if failure.is_none() && session.error().is_none() && !job.refused {
        drop(conn);
        0
    } else {
        conn.close(LINGER).await
    };
    if !log::log_enabled!(log::Level::Info) {
        return;
    }

    let op = session.op().map_or("-", |op| op.as_str());
    let name = job
        .name
        .as_deref()
        .map(|n| format!(" \"{}\"", escape(n.as_bytes())))
        .unwrap_or_default();
    let user = session
        .user()
        .map(|u| format!(" user={u}"))
        .unwrap_or_default();
    let outcome = match (failure, session.error()) {
        (Some(e), _) => format!("failed: {e}"),
        (None, Some(e)) => format!("error: {e}"),
        (None, None) if job.outcome.is_empty() => "closed".to_owned(),
        (None, None) => job.outcome.clone(),
    };
    let late = if session.error().is_none() {
        late as u64
    } else {
        0
    };
    let extra = match session.extra_bytes() + late {
        0 => String::new(),
        n => format!(" ({n} extra bytes ignored)"),
    };
    log::info!(
        "{peer} {op}{name}{user} {outcome} {} bytes {:.1} ms{extra}",
        job.bytes,
        clock.now().as_micros() as f64 / 1000.0
    );
}

/// The drive loop of one connection. Returns an error only when the socket
/// itself failed; protocol trouble ends the session normally.
async fn drive(
    conn: &mut Conn,
    session: &mut ServerSession,
    job: &mut Job,
    shared: &Shared,
    peer: SocketAddr,
    clock: Clock,
) -> std::io::Result<()> {
    let deadline = |s: &ServerSession| s.poll_timeout().map(|t| clock.instant(t));
    let mut eof = false;
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                // Sent with the next body, or before the next wait.
                Output::Transmit(bytes) => conn.queue(&bytes),
                Output::SendBody { len } => {
                    Box::pin(send_body(
                        conn,
                        session,
                        job,
                        len,
                        clock,
                        shared.config.limits.timeout_us,
                    ))
                    .await?
                }
                Output::ReceiveBody { .. } => conn.grow_for_body(),
                // Boxed: the answers' state is large and short-lived, and
                // must not weigh on every idle connection.
                Output::Event(event) => Box::pin(answer(session, job, event, shared, peer)).await,
                Output::Close => {
                    // Bytes after the request that arrived with it: counted.
                    let pending = conn.pending().len();
                    let _ = session.handle_input(clock.now(), conn.pending());
                    conn.consume(pending);
                    flush(conn, session, clock).await?;
                    return Ok(());
                }
            }
        }
        if session.wants_mget_entry()
            && let Some(entry) = job.mget.pop_front()
        {
            next_entry(session, job, entry);
            continue;
        }
        if let Some(remaining) = session.receive_remaining() {
            let pending = conn.pending();
            if !pending.is_empty() {
                let n = pending.len().min(remaining.min(usize::MAX as u64) as usize);
                store_body(job, &pending[..n]);
                conn.consume(n);
                misuse(session.handle_body(clock.now(), n as u64));
                continue;
            }
        } else if !conn.pending().is_empty() {
            let used = match session.handle_input(clock.now(), conn.pending()) {
                Ok(n) => n,
                // The session has queued its answer and `Close`.
                Err(_) => conn.pending().len(),
            };
            conn.consume(used);
            if used > 0 {
                continue;
            }
        }
        if eof {
            // Nothing more will come and the session still waits: give up.
            session.abort();
            continue;
        }
        flush(conn, session, clock).await?;
        if session.is_finished() {
            continue;
        }
        match until(deadline(session), conn.fill()).await {
            Waited::Done(Ok(0)) => {
                eof = true;
                session.handle_eof(clock.now());
            }
            Waited::Done(Ok(_)) => {}
            Waited::Done(Err(e)) => return Err(e),
            Waited::Deadline => session.handle_timeout(clock.now()),
        }
    }
}

/// Writes what the session queued, unless the peer stalls past the deadline.
async fn flush(conn: &mut Conn, session: &mut ServerSession, clock: Clock) -> std::io::Result<()> {
    let deadline = session.poll_timeout().map(|t| clock.instant(t));
    match until(deadline, conn.flush(false)).await {
        Waited::Done(result) => result,
        Waited::Deadline => {
            session.handle_timeout(clock.now());
            Ok(())
        }
    }
}

fn store_body(job: &mut Job, data: &[u8]) {
    job.bytes += data.len() as u64;
    if job.upload_failed.is_some() {
        return;
    }
    if let Some(upload) = job.upload.as_mut()
        && let Err(e) = upload.write(data)
    {
        // Keep reading the body so the client still gets the final status.
        job.upload_failed = Some(e.to_string());
        job.upload = None;
    }
}

async fn send_body(
    conn: &mut Conn,
    session: &mut ServerSession,
    job: &mut Job,
    len: u64,
    clock: Clock,
    timeout_us: u64,
) -> std::io::Result<()> {
    let Some((file, mut offset)) = job.sending.take() else {
        session.abort();
        return Ok(());
    };
    // The header leaves with the first bytes of the body.
    let deadline = session.poll_timeout().map(|t| clock.instant(t));
    match until(deadline, conn.flush(true)).await {
        Waited::Done(result) => result?,
        Waited::Deadline => {
            session.handle_timeout(clock.now());
            return Ok(());
        }
    }
    // Large bodies: one thread loops sendfile and poll, like an event loop.
    if len >= BLOCKING_BODY {
        let idle = Duration::from_micros(timeout_us);
        let result = conn.send_file_blocking(file, offset, len, idle).await;
        return match result {
            Ok(sent) => {
                job.bytes += sent;
                misuse(session.handle_body(clock.now(), sent));
                if sent < len {
                    job.outcome = "aborted: the file shrank while being sent".into();
                    session.abort();
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                // No progress for the whole timeout: the session's deadline has passed.
                session.handle_timeout(clock.now());
                Ok(())
            }
            Err(e) => Err(e),
        };
    }
    let mut left = len;
    while left > 0 {
        let deadline = session.poll_timeout().map(|t| clock.instant(t));
        match until(deadline, conn.send_file(&file, &mut offset, left)).await {
            Waited::Done(Ok(0)) => {
                // The file shrank under us: never send it short as if whole.
                job.outcome = "aborted: the file shrank while being sent".into();
                session.abort();
                return Ok(());
            }
            Waited::Done(Ok(n)) => {
                left -= n as u64;
                job.bytes += n as u64;
                misuse(session.handle_body(clock.now(), n as u64));
            }
            Waited::Done(Err(e)) => return Err(e),
            Waited::Deadline => {
                session.handle_timeout(clock.now());
                return Ok(());
            }
        }
    }
    Ok(())
}

fn refuse(session: &mut ServerSession, job: &mut Job) {
    job.refused = true;
    misuse(session.refuse());
}

fn refusal(e: &StoreError) -> String {
    format!("refused: {e}")
}

async fn answer(
    session: &mut ServerSession,
    job: &mut Job,
    event: ServerEvent,
    shared: &Shared,
    peer: SocketAddr,
) {
    match event {
        ServerEvent::Auth(credentials) => {
            let user = credentials.user().to_owned();
            let wait = shared.throttle.delay(peer.ip());
            if !wait.is_zero() {
                Timer::after(wait).await;
            }
            let users = crate::users::users_path(&shared.root);
            let pass = credentials.pass().to_owned();
            let check_user = user.clone();
            let _slot = shared.heavy.acquire().await;
            let verified =
                smol::unblock(move || crate::users::verify(&users, &check_user, &pass)).await;
            let folder = match verified {
                Ok(true) => open_private(shared, &user),
                Ok(false) => Err(anyhow::anyhow!("wrong user name or password")),
                Err(e) => Err(e),
            };
            match folder {
                Ok(folder) => {
                    shared.throttle.succeeded(peer.ip());
                    job.folder = Arc::new(folder);
                    misuse(session.answer_auth(true));
                }
                Err(e) => {
                    shared.throttle.failed(peer.ip());
                    job.outcome = format!("login denied for \"{}\": {e}", escape(user.as_bytes()));
                    job.refused = true;
                    misuse(session.answer_auth(false));
                }
            }
        }
        ServerEvent::Download { name } => {
            job.name = Some(name.to_string());
            match job.folder.open_file(&name) {
                Ok(file) => {
                    job.outcome = if file.size > u32::MAX.into() {
                        "refused: 4 GiB or more"
                    } else {
                        "ok"
                    }
                    .into();
                    misuse(session.send_file(file.size));
                    job.sending = Some((file.file, 0));
                }
                Err(e) => {
                    job.outcome = refusal(&e);
                    refuse(session, job);
                }
            }
        }
        ServerEvent::List => {
            let folder = job.folder.clone();
            match smol::unblock(move || folder.list()).await {
                Ok(entries) => {
                    let json = encode_listing(&entries);
                    job.outcome = format!("ok, {} files", entries.len());
                    if json.len() > shared.config.limits.max_listing_len as usize {
                        job.outcome = format!(
                            "refused: the listing is {} bytes, over the limit",
                            json.len()
                        );
                    }
                    job.bytes = json.len() as u64;
                    misuse(session.send_listing(json));
                }
                Err(e) => {
                    job.outcome = refusal(&e);
                    refuse(session, job);
                }
            }
        }
        ServerEvent::Upload { name } => {
            job.name = Some(name.to_string());
            match job.folder.begin_upload(&name) {
                Ok(upload) => {
                    job.upload = Some(upload);
                    misuse(session.accept_upload());
                }
                Err(e) => {
                    job.outcome = refusal(&e);
                    refuse(session, job);
                }
            }
        }
        ServerEvent::UploadSize { size } => {
            let free = job
                .upload
                .as_ref()
                .and_then(|u| u.free_space().ok())
                .unwrap_or(u64::MAX);
            if u64::from(size) > free {
                job.outcome = format!("refused: {size} bytes announced, {free} free");
                job.upload = None;
                refuse(session, job);
            } else {
                misuse(session.receive_body());
            }
        }
        ServerEvent::UploadComplete => {
            let stored = match (job.upload.take(), job.upload_failed.take()) {
                (Some(upload), None) => smol::unblock(move || upload.commit())
                    .await
                    .map_err(|e| e.to_string()),
                (_, Some(e)) => Err(e),
                (None, None) => Err("no upload under way".into()),
            };
            job.outcome = match &stored {
                Ok(()) => "ok, stored".into(),
                Err(e) => format!("failed: {e}"),
            };
            misuse(session.finish_upload(stored.is_ok()));
        }
        ServerEvent::Resume {
            name,
            position,
            md5,
        } => {
            job.name = Some(name.to_string());
            let answer = match job.folder.open_file(&name) {
                Err(StoreError::Io(e)) => {
                    job.outcome = format!("refused: {e}");
                    refuse(session, job);
                    return;
                }
                Err(e) => {
                    job.outcome = format!("result 10: {e}");
                    ResumeAnswer::NoSuchFile
                }
                Ok(file) if u64::from(position) > file.size => {
                    job.outcome = "result 20: position past the end".into();
                    ResumeAnswer::Mismatch
                }
                Ok(file) => {
                    let _slot = shared.heavy.acquire().await;
                    let (file, digest) = smol::unblock({
                        let digests = shared.digests.clone();
                        move || {
                            let digest = digests.prefix_md5(&file, position.into());
                            (file, digest)
                        }
                    })
                    .await;
                    match digest {
                        Ok(digest) if digest == md5 => {
                            job.outcome = format!("ok from {position}");
                            let size = file.size;
                            job.sending = Some((file.file, position.into()));
                            ResumeAnswer::Send { file_size: size }
                        }
                        Ok(_) => {
                            job.outcome = "result 20: MD5 mismatch".into();
                            ResumeAnswer::Mismatch
                        }
                        Err(e) => {
                            job.outcome = format!("refused: {e}");
                            refuse(session, job);
                            return;
                        }
                    }
                }
            };
            misuse(session.answer_resume(answer));
        }
        ServerEvent::MGet { mask } => {
            job.name = Some(mask.as_str().to_owned());
            let folder = job.folder.clone();
            let text = mask.as_str().to_owned();
            match smol::unblock(move || folder.matching(&text)).await {
                Ok(entries) => {
                    let limits = &shared.config.limits;
                    let total: u64 = entries
                        .iter()
                        .map(|e| e.size)
                        .filter(|s| *s <= u32::MAX.into())
                        .sum();
                    if entries.len() > limits.max_mget_entries as usize
                        || total > limits.max_mget_bytes
                    {
                        job.outcome = format!(
                            "refused: {} files, {total} bytes match, over the caps",
                            entries.len()
                        );
                        refuse(session, job);
                    } else {
                        job.outcome = format!("ok, {} files", entries.len());
                        misuse(session.start_mget(entries.len() as u32));
                        job.mget = entries.into();
                    }
                }
                Err(e) => {
                    job.outcome = refusal(&e);
                    refuse(session, job);
                }
            }
        }
    }
}

fn next_entry(session: &mut ServerSession, job: &mut Job, entry: ListEntry) {
    // Listing names obey the rules, so this parse cannot fail; if it did,
    // the entry is reported as unreadable rather than dropped.
    let limits = ferry_core::Limits::default();
    let name = Name::parse(entry.name.as_bytes(), &limits);
    match name.as_ref().map(|n| (n, job.folder.open_file(n))) {
        Ok((name, Ok(file))) => {
            // Only a body that will be sent holds the file open.
            let has_body = file.size > 0 && file.size <= u32::MAX.into();
            misuse(session.mget_entry(name, Some(file.size)));
            if has_body {
                job.sending = Some((file.file, 0));
            }
        }
        Ok((name, Err(_))) => misuse(session.mget_entry(name, None)),
        Err(_) => session.abort(),
    }
}

fn open_private(shared: &Shared, user: &str) -> anyhow::Result<Folder> {
    // Opened by the kernel beneath private/, never through a symlink.
    shared
        .private
        .subfolder(user)
        .with_context(|| format!("cannot open the private folder of {user}"))
}

/// Slows down repeated failed logins from one address: each failure doubles
/// the wait before that address's next check (0.1 s, 0.2 s, ... up to 10 s).
#[derive(Debug, Default)]
struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Throttle {
    const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

    fn delay(&self, ip: IpAddr) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&ip) {
            Some(&(count, last)) => {
                let wait = Duration::from_millis(100u64 << count.min(7).saturating_sub(1))
                    .min(Duration::from_secs(10));
                wait.saturating_sub(last.elapsed())
            }
            None => Duration::ZERO,
        }
    }

    fn failed(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, last)| last.elapsed() < Self::FORGET_AFTER);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() > Self::FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}
