//! One connection: its first bytes, the drive loop, the answer to every
//! event from the store, a polite close and one log line.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::{
    ListEntry, Mask, Name, ResumeAnswer, ServerEvent, ServerSession, Timestamp, encode_listing,
    escape,
};
use ferry_runtime::conn::{Conn, Socket};
use ferry_runtime::{Body, Clock, Ended, Handler, Sending, Stop, drive, misuse, until};
use ferry_storage::{Replace, StoreError};
use rustix::net::RecvFlags;

use super::Shared;
use super::ending;
use super::relay::{Relay, relay};
use crate::limits::quota;
use crate::ops::{Outcome, Refused};
use crate::store::{Logins, Resumed, Sink, Store};

/// How long a closing connection may keep sending before it is dropped.
const LINGER: Duration = Duration::from_secs(2);
/// Bytes an accepted connection reads before it allocates anything: enough
/// for most requests, small enough to keep idle connections light.
const FIRST_READ: usize = 96;
/// Bodies at least this large are sent by a blocking-pool thread.
const BLOCKING_BODY: u64 = 8 << 20;

/// A connection's first bytes, read right after its accept, so that a
/// connection with nothing to read yet can wait in the waiting room.
pub(super) struct FirstBytes {
    bytes: [u8; FIRST_READ],
    len: usize,
}

impl FirstBytes {
    /// Reads what the connection has sent so far, without waiting: none
    /// (it would block) when the client has not said anything yet. A
    /// closed or failed connection reads as no bytes: its session says so.
    pub(super) fn read(stream: &std::net::TcpStream) -> Option<Self> {
        let mut bytes = [0u8; FIRST_READ];
        match rustix::net::recv(stream, &mut bytes, RecvFlags::DONTWAIT) {
            Ok((len, _)) => Some(FirstBytes { bytes, len }),
            Err(rustix::io::Errno::AGAIN) => None,
            Err(_) => Some(FirstBytes { bytes, len: 0 }),
        }
    }
}

/// One connection, in two phases. Until its first bytes arrive a connection
/// holds only its socket and a timer: no session, no buffer (and one
/// parked in the waiting room not even those). Then the exchange itself
/// runs boxed, so connections waiting for their first bytes stay small.
/// `first` is what was read at accept (none: it waits for them here).
pub(super) async fn serve_connection<St: Store>(
    stream: std::net::TcpStream,
    peer: SocketAddr,
    tls: bool,
    shared: Arc<Shared<St>>,
    _slot: impl Send,
    accepted: Instant,
    first: Option<FirstBytes>,
) {
    let clock = Clock::since(accepted);
    let _ = rustix::net::sockopt::set_tcp_nodelay(&stream, true);
    let first_bytes_due = clock.instant(Timestamp::from_micros(shared.config.limits.timeout_us));
    // The socket joins the reactor only if it has to wait.
    let mut io = Socket::new(stream);
    let first = match first {
        Some(first) => first,
        None => {
            if let Ok(readable) = io.readable() {
                let _ = until(Some(first_bytes_due), readable).await;
            }
            // Read them here too: the log line names a stray protocol by
            // its first bytes.
            io.get_ref()
                .ok()
                .and_then(FirstBytes::read)
                .unwrap_or(FirstBytes {
                    bytes: [0; FIRST_READ],
                    len: 0,
                })
        }
    };
    let first = &first.bytes[..first.len];
    Box::pin(serve_exchange(
        io,
        Greeted { first, tls },
        peer,
        shared,
        clock,
    ))
    .await;
}

/// A connection's first bytes, and whether it came to the TLS port (they
/// are then ciphertext).
struct Greeted<'a> {
    first: &'a [u8],
    tls: bool,
}

async fn serve_exchange<St: Store>(
    io: Socket,
    greeted: Greeted<'_>,
    peer: SocketAddr,
    shared: Arc<Shared<St>>,
    clock: Clock,
) {
    // Show IPv4 clients of the dual-stack socket as IPv4.
    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
    let Greeted { first, tls } = greeted;
    if tls && first.first().is_some_and(|&b| b != HANDSHAKE) {
        if let Some(metrics) = &shared.metrics {
            metrics.refused(Refused::NotTls);
        }
        return not_tls(io, peer, clock).await;
    }
    let mut conn = match shared.tls.clone().filter(|_| tls) {
        Some(config) => match Conn::tls_server(io, config) {
            Ok(conn) => conn,
            Err(e) => return log::warn!("{peer} tls: cannot start TLS: {e}"),
        },
        None => Conn::new(io),
    };
    conn.put_back(first);
    // The session's time starts at accept: a silent client is cut on time.
    let mut session = ServerSession::new(shared.config.limits.clone(), Timestamp::from_micros(0));
    let mut answers = Answers::new(&shared, peer);
    answers.tls = conn.is_tls();
    let sending = Sending {
        blocking_from: Some(BLOCKING_BODY),
        chunk: u64::MAX,
        watch_peer: false,
        idle: Duration::from_micros(shared.config.limits.timeout_us),
    };
    let ended = drive(&mut conn, &mut session, &mut answers, clock, sending).await;
    let failure = match (ended, answers.relay.take()) {
        // A login through a cache: the origin answers the rest.
        (Ok(Ended::HandedOver), Some(to)) => return relay(conn, to, peer, &shared).await,
        (Ok(_), _) => None,
        (Err(Stop::Io(e)), _) => Some(e),
        (Err(Stop::Handler(never)), _) => match never {},
    };
    // Whatever happened, an unfinished upload is dropped here and leaves nothing.
    answers.upload = None;
    // A clean exchange has nothing left unread: close at once. After a
    // refusal or an error the client may still be sending; linger so its
    // unread bytes do not turn our close into a reset that destroys the answer.
    let clean = failure.is_none() && session.error().is_none() && session.refusal().is_none();
    let late = if clean {
        // Over TLS the answer ends with a close_notify, as HTTPS servers do.
        conn.close_notify(LINGER).await;
        drop(conn);
        0
    } else {
        conn.close(LINGER).await
    };
    if session.silent() {
        // A health probe or a port scan: no reply, and not worth a line.
        log::debug!("{peer} closed without sending a byte");
    } else {
        ending::finish(&session, &answers, failure, late as u64, clock, first);
    }
}

/// A TLS record's content type for handshakes: a TLS client's first byte.
const HANDSHAKE: u8 = 0x16;

/// A fatal TLS alert (unexpected_message) in a TLS 1.2 record: what a
/// client that sent plain ferry to the TLS port reads, and can name.
const NOT_TLS_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a];

/// A plain request on the TLS port: answered with a TLS alert, which a
/// ferry client recognises, and logged in words.
async fn not_tls(io: Socket, peer: SocketAddr, clock: Clock) {
    let mut conn = Conn::new(io);
    conn.queue(&NOT_TLS_ALERT);
    let _ = until(Some(std::time::Instant::now() + LINGER), conn.flush(false)).await;
    conn.close(LINGER).await;
    let ms = clock.now().as_micros() as f64 / 1000.0;
    let client = peer.to_string();
    let outcome = "looks like plain ferry: this port speaks TLS; use the plain port, or \
                   tls://HOST:PORT in the client";
    log::info!(
        client = client.as_str(),
        tls = true,
        op = "-",
        outcome = outcome,
        result = "refused",
        reason = "not_tls",
        bytes = 0,
        duration_ms = ms;
        "{peer} tls - {outcome} 0 bytes {ms:.1} ms"
    );
}

/// Answers one connection's events from the store, and keeps what its log
/// line will say.
pub(super) struct Answers<'a, St: Store> {
    pub(super) shared: &'a Shared<St>,
    pub(super) peer: SocketAddr,
    /// Where the request acts: public, or the user's after a login.
    scope: St::Scope,
    /// Whether the client logged in (its uploads are not held to quotas).
    logged_in: bool,
    /// What the upload under way took from everyone's allowance.
    held: Option<quota::Held<'a>>,
    pub(super) name: Option<String>,
    /// The body the next `SendBody` sends.
    body: Option<Body>,
    upload: Option<St::Sink>,
    upload_failed: Option<String>,
    /// The size the client announced for its upload.
    pub(super) upload_size: Option<u32>,
    /// Op 50 matches not yet given.
    entries: VecDeque<ListEntry>,
    /// How many files op 50 announced.
    mget: Option<usize>,
    pub(super) bytes: u64,
    pub(super) outcome: String,
    /// The outcome, as the metrics count it.
    pub(super) class: Outcome,
    /// A login to hand over to the origin, as the store's policy says.
    relay: Option<Relay>,
    /// Whether the connection speaks TLS.
    pub(super) tls: bool,
}

impl<St: Store> Handler<ServerSession> for Answers<'_, St> {
    /// The server's answers never stop the exchange: refusals are answers.
    type Error = Infallible;

    async fn answer(
        &mut self,
        s: &mut ServerSession,
        event: ServerEvent,
    ) -> Result<(), Infallible> {
        match event {
            ServerEvent::Auth(credentials) => match self.shared.store.logins() {
                Logins::Checked => self.login(s, credentials.user(), credentials.pass()).await,
                // A password that came encrypted never goes on in the clear.
                Logins::RelayedTo(origin) if self.tls && origin.tls.is_none() => {
                    self.class = Outcome::Refused("tls_to_plain_origin");
                    self.outcome = format!(
                        "refused: a login over TLS (user \"{}\") is not relayed to a plain-text origin",
                        escape(credentials.user().as_bytes())
                    );
                    misuse(s.answer_auth(false));
                }
                Logins::RelayedTo(origin) => {
                    self.relay = Some(Relay {
                        credentials,
                        origin: origin.clone(),
                    })
                }
            },
            ServerEvent::Download { name } => self.download(s, &name).await,
            ServerEvent::List => self.list(s).await,
            ServerEvent::Upload { name } => self.begin_upload(s, &name).await,
            ServerEvent::UploadSize { size } => self.upload_size(s, size),
            ServerEvent::UploadComplete => self.finish_upload(s).await,
            ServerEvent::Resume {
                name,
                position,
                md5,
            } => self.resume(s, &name, position, md5).await,
            ServerEvent::MGet { mask } => self.mget(s, &mask).await,
            ServerEvent::NextEntry => self.next_entry(s).await,
        }
        Ok(())
    }

    fn body(&mut self) -> Option<Body> {
        self.body.take()
    }

    fn handing_over(&self) -> bool {
        self.relay.is_some()
    }

    fn received(&mut self, data: &[u8]) -> Result<(), Infallible> {
        self.bytes += data.len() as u64;
        if self.upload_failed.is_none()
            && let Some(upload) = self.upload.as_mut()
            && let Err(e) = upload.write(data)
        {
            // Keep reading the body so the client still gets the final status.
            self.upload_failed = Some(e.to_string());
            self.upload = None;
        }
        Ok(())
    }

    fn sent(&mut self, bytes: u64) {
        self.bytes += bytes;
        self.shared.store.served(bytes);
    }

    fn short_body(&mut self, why: &str) -> Result<(), Infallible> {
        self.class = Outcome::Failed;
        self.outcome = match self.mget {
            // The file being sent has left the queue.
            Some(total) => {
                let done = total.saturating_sub(self.entries.len() + 1);
                format!("aborted after {done} of {total} files: {why}")
            }
            None => format!("aborted: {why}"),
        };
        Ok(())
    }

    async fn ready(&mut self) -> Result<(), Infallible> {
        if self.upload_failed.is_none()
            && let Some(upload) = self.upload.as_mut()
            && let Err(e) = upload.ready().await
        {
            // Keep reading the body so the client still gets the final status.
            self.upload_failed = Some(e.to_string());
            self.upload = None;
        }
        Ok(())
    }
}

impl<'a, St: Store> Answers<'a, St> {
    fn new(shared: &'a Shared<St>, peer: SocketAddr) -> Self {
        Answers {
            shared,
            peer,
            scope: shared.store.public(peer.ip()),
            logged_in: false,
            held: None,
            name: None,
            body: None,
            upload: None,
            upload_failed: None,
            upload_size: None,
            entries: VecDeque::new(),
            mget: None,
            bytes: 0,
            outcome: String::new(),
            class: Outcome::Ok,
            relay: None,
            tls: false,
        }
    }

    fn refuse(&mut self, s: &mut ServerSession, e: &StoreError) {
        self.class = match e {
            StoreError::NotFound | StoreError::NotRegular | StoreError::Escape => Outcome::NotFound,
            StoreError::Exists | StoreError::OtherSpelling(_) => Outcome::Refused("exists"),
            StoreError::BadMask(_) => Outcome::Refused("mask"),
            StoreError::Busy { .. } => Outcome::Refused("busy"),
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::QuotaExceeded => {
                Outcome::Refused("listing_budget")
            }
            StoreError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                Outcome::Refused("no_space")
            }
            _ => Outcome::Failed,
        };
        self.outcome = match e {
            StoreError::Exists => "refused: the file exists, and uploads without a login \
                                   cannot replace files (ferry serve --public-overwrite allows it)"
                .into(),
            e => format!("refused: {e}"),
        };
        misuse(s.refuse());
    }

    /// Takes an upload's files and bytes from the quotas of clients
    /// without a login; everyone's share comes back unless it is stored.
    fn charge(&mut self, files: u64, bytes: u64) -> Result<(), quota::Exceeded> {
        if self.logged_in {
            return Ok(());
        }
        let quota = &self.shared.quota;
        quota.charge(self.peer.ip(), files, bytes, std::time::Instant::now())?;
        let held = self.held.get_or_insert_with(|| quota.hold());
        held.files += files;
        held.bytes += bytes;
        Ok(())
    }

    async fn login(&mut self, s: &mut ServerSession, user: &str, pass: &str) {
        let throttle = &self.shared.throttle;
        let metrics = self.shared.metrics.as_deref();
        if let Some(metrics) = metrics
            && !throttle.delay(self.peer.ip()).is_zero()
        {
            metrics.throttled();
        }
        // This address's turn (one check at a time), after its delay.
        let _turn = throttle.turn(self.peer.ip()).await;
        match self.shared.store.login(user, pass).await {
            Ok(scope) => {
                if let Some(metrics) = metrics {
                    metrics.login("accepted");
                }
                throttle.succeeded(self.peer.ip());
                self.scope = scope;
                self.logged_in = true;
                misuse(s.answer_auth(true));
            }
            Err(e) => {
                if let Some(metrics) = metrics {
                    metrics.login("denied");
                }
                throttle.failed(self.peer.ip());
                self.class = Outcome::Refused("login_denied");
                self.outcome = format!("login denied for \"{}\": {e}", escape(user.as_bytes()));
                misuse(s.answer_auth(false));
            }
        }
    }

    async fn download(&mut self, s: &mut ServerSession, name: &Name) {
        self.name = Some(name.to_string());
        match self.shared.store.open(&self.scope, name).await {
            Ok((body, note)) => {
                self.outcome = note.unwrap_or("ok").into();
                misuse(s.send_file(body.size()));
                self.body = Some(body);
            }
            Err(e) => self.refuse(s, &e),
        }
    }

    async fn list(&mut self, s: &mut ServerSession) {
        match self.shared.store.list(&self.scope).await {
            Ok((entries, note)) => {
                let json = encode_listing(&entries);
                self.outcome = format!("{}, {} files", note.unwrap_or("ok"), entries.len());
                self.bytes = json.len() as u64;
                misuse(s.send_listing(json));
            }
            Err(e) => self.refuse(s, &e),
        }
    }

    async fn begin_upload(&mut self, s: &mut ServerSession, name: &Name) {
        self.name = Some(name.to_string());
        if self.shared.config.read_only {
            self.class = Outcome::Refused("read_only");
            self.outcome = "refused: the server is read-only (--read-only)".into();
            return misuse(s.refuse());
        }
        if let Err(exceeded) = self.charge(1, 0) {
            self.class = Outcome::Refused("quota");
            self.outcome = format!("refused: {exceeded}");
            return misuse(s.refuse());
        }
        let replace = if self.logged_in || self.shared.config.public_overwrite {
            Replace::Allowed
        } else {
            Replace::NewOnly
        };
        match self
            .shared
            .store
            .begin_upload(&self.scope, name, replace)
            .await
        {
            Ok(upload) => {
                self.upload = Some(upload);
                misuse(s.accept_upload());
            }
            Err(e) => {
                // Refused before anything began: the file is not counted.
                if !self.logged_in {
                    self.shared.quota.refund(self.peer.ip(), 1, 0);
                    self.held = None;
                }
                self.refuse(s, &e)
            }
        }
    }

    fn upload_size(&mut self, s: &mut ServerSession, size: u32) {
        self.upload_size = Some(size);
        let room = self
            .upload
            .as_ref()
            .and_then(Sink::room)
            .unwrap_or(u64::MAX);
        let refused = if u64::from(size) > room {
            Some(("no_space", format!("{size} bytes announced, {room} free")))
        } else {
            let over = self.charge(0, size.into()).err();
            over.map(|e| ("quota", e.to_string()))
        };
        if let Some((reason, why)) = refused {
            self.class = Outcome::Refused(reason);
            self.outcome = format!("refused: {why}");
            self.upload = None;
            // Everyone's share comes back before the client hears of it.
            self.held = None;
            misuse(s.refuse());
        } else {
            if let Some(upload) = self.upload.as_mut() {
                upload.expect(size);
            }
            misuse(s.receive_body());
        }
    }

    async fn finish_upload(&mut self, s: &mut ServerSession) {
        let stored = match (self.upload.take(), self.upload_failed.take()) {
            (Some(upload), None) => upload.commit().await.map_err(|e| e.to_string()),
            (_, Some(e)) => Err(e),
            (None, None) => Err("no upload under way".into()),
        };
        // Kept if stored, given back if not, before the client hears.
        if let (Ok(()), Some(held)) = (&stored, self.held.take()) {
            held.keep();
        }
        self.outcome = match &stored {
            Ok(()) => "ok, stored".into(),
            Err(e) => {
                self.class = Outcome::Failed;
                format!("failed: {e}")
            }
        };
        misuse(s.finish_upload(stored.is_ok()));
    }

    async fn resume(&mut self, s: &mut ServerSession, name: &Name, position: u32, md5: [u8; 16]) {
        self.name = Some(name.to_string());
        let store = &self.shared.store;
        let mut resumed = store.resume(&self.scope, name, position, md5).await;
        if let Ok(Resumed::Opened { body, note }) = resumed {
            let prefixes = &self.shared.prefixes;
            resumed = prefixes
                .resume(body, note, position, md5, self.peer.ip())
                .await;
        }
        let answer = match resumed {
            Ok(Resumed::Send {
                body,
                file_size,
                note,
            }) => {
                self.outcome = format!("{} from {position}", note.unwrap_or("ok"));
                self.body = Some(body);
                ResumeAnswer::Send { file_size }
            }
            Ok(Resumed::Mismatch(why)) => {
                self.class = Outcome::Refused("mismatch");
                self.outcome = format!("result 20: {why}");
                ResumeAnswer::Mismatch
            }
            Ok(Resumed::NoSuchFile(why)) => {
                self.class = Outcome::NotFound;
                self.outcome = format!("result 10: {why}");
                ResumeAnswer::NoSuchFile
            }
            // Never: an opened file was hashed just above.
            Ok(Resumed::Opened { .. }) => {
                debug_assert!(false, "a resume left unhashed");
                let unhashed = std::io::Error::other("the file was opened but not hashed");
                return self.refuse(s, &StoreError::Io(unhashed));
            }
            Err(e) => return self.refuse(s, &e),
        };
        misuse(s.answer_resume(answer));
    }

    async fn mget(&mut self, s: &mut ServerSession, mask: &Mask) {
        self.name = Some(mask.as_str().to_owned());
        match self.shared.store.matching(&self.scope, mask).await {
            Ok(entries) => {
                self.outcome = format!("ok, {} files", entries.len());
                self.mget = Some(entries.len());
                misuse(s.start_mget(entries.iter().map(|e| e.size)));
                self.entries = entries.into();
            }
            Err(e) => self.refuse(s, &e),
        }
    }

    async fn next_entry(&mut self, s: &mut ServerSession) {
        // Listing names obey the configured rules, so this parse cannot fail;
        // if it did, the stream is cut rather than an entry dropped.
        let limits = &self.shared.config.limits;
        let Some(Ok(name)) = self
            .entries
            .pop_front()
            .map(|entry| Name::parse(entry.name.as_bytes(), limits))
        else {
            let _ = self.short_body("a listed name broke the rules");
            return s.abort();
        };
        let body = self.shared.store.open(&self.scope, &name).await.ok();
        let body = body.map(|(body, _)| body);
        misuse(s.mget_entry(&name, body.as_ref().map(Body::size)));
        self.body = body;
    }
}
