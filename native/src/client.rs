//! The client: one request per connection, driven by the core's
//! `ClientSession`, confined to a local folder.
//!
//! [`exchange`] connects and runs the one drive loop (`crate::drive`), which
//! hands events and body bytes to a `Handler`: that is where each command
//! (ls, get, put, resume, mget) keeps its files. Every local path goes through the storage
//! crate's `Folder`, so the client, like the server, never reads or writes
//! outside its folder, and every name a server sends is checked by the core
//! before anything is written.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use ferry_core::{
    ClientEvent, ClientSession, Credentials, DecodeErrorKind, EMPTY_MD5, Limits, ListEntry, Mask,
    Name, Request, ResumeOutcome, SessionError, encode_listing, escape,
};
use ferry_storage::{Folder, OpenFile, Partial, StoreError};

use crate::drive::{Body, Clock, Conn, Handler, Sending, Stop, Waited, drive, misuse, until};
use crate::error::ClientError;
use crate::progress::Progress;

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
async fn exchange<X: Handler<ClientSession, Error = ClientError>>(
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
    let mut conn = Conn::new(io);
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

// ----- ls -----

struct ListX {
    remote: Remote,
    entries: Option<Vec<ListEntry>>,
}

impl Handler<ClientSession> for ListX {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        match event {
            ClientEvent::Listing(entries) => self.entries = Some(entries),
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            ClientEvent::Refused => {
                return Err(ClientError::Refused(
                    "the server could not list its folder".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
    }
}

/// Fetches the listing.
pub async fn list(remote: &Remote) -> Result<Vec<ListEntry>, ClientError> {
    let mut x = ListX {
        remote: remote.clone(),
        entries: None,
    };
    exchange(remote, Request::List, &mut x).await?;
    x.entries
        .ok_or_else(|| ClientError::Protocol("the server sent no listing".into()))
}

/// `ferry ls`: a table, or the listing as JSON.
pub async fn ls(remote: &Remote, json: bool) -> Result<(), ClientError> {
    let entries = list(remote).await?;
    if json {
        println!("{}", String::from_utf8_lossy(&encode_listing(&entries)));
        return Ok(());
    }
    let width = entries
        .iter()
        .map(|e| human(e.size).len())
        .max()
        .unwrap_or(0);
    for entry in &entries {
        // Names from the wire are escaped before they reach the terminal.
        println!(
            "{:>width$}  {}",
            human(entry.size),
            escape(entry.name.as_bytes())
        );
    }
    let total: u64 = entries.iter().map(|e| e.size).sum();
    eprintln!("{} files, {}", entries.len(), human(total));
    Ok(())
}

// ----- get and resume -----

struct DownloadX {
    remote: Remote,
    name: String,
    part: Partial,
    expected: Option<u64>,
    mismatch: bool,
    progress: Progress,
}

impl Handler<ClientSession> for DownloadX {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        let shown = escape(self.name.as_bytes());
        match event {
            ClientEvent::File { size } => {
                self.expected = Some(size.into());
                self.progress.start(size.into(), 0);
            }
            ClientEvent::Resume(ResumeOutcome::Ok { remaining }) => {
                let total = self.part.len() + u64::from(remaining);
                self.expected = Some(total);
                self.progress.start(total, self.part.len());
            }
            ClientEvent::Resume(ResumeOutcome::Mismatch) => self.mismatch = true,
            ClientEvent::Resume(ResumeOutcome::NoSuchFile) => {
                return Err(ClientError::Refused(format!(
                    "the server has no file \"{shown}\""
                )));
            }
            ClientEvent::Refused => {
                return Err(ClientError::Refused(format!(
                    "the server refused \"{shown}\": no such file, not a regular file, or 4 GiB or more"
                )));
            }
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        self.part.write(data).map_err(|e| {
            ClientError::Local(format!("cannot write {}: {e}", self.part.part_name()))
        })?;
        self.progress.advance(data.len() as u64);
        Ok(())
    }
}

/// `ferry get` for one name: resumes a `.part` left by an interrupted run
/// (op 40), starts over if the server's file changed, and renames the
/// completed file into place.
pub async fn get(
    remote: &Remote,
    folder: &Folder,
    text: &str,
    force_resume: bool,
) -> Result<(), ClientError> {
    let name = local_name(text, &remote.limits)?;
    let part = folder
        .partial(&name)
        .map_err(|e| store_error("write", text, e))?;
    let mut x = DownloadX {
        remote: remote.clone(),
        name: text.to_owned(),
        part,
        expected: None,
        mismatch: false,
        progress: Progress::new(text),
    };
    let result = download(remote, name, force_resume, &mut x).await;
    x.progress.finish();
    if let Err(e) = result {
        // Bytes already held stay in the .part for the next attempt.
        let _ = x.part.abandon();
        return Err(e);
    }
    let got = x.part.len();
    match x.expected {
        Some(expected) if expected == got => {
            let path = x.part.part_name().to_owned();
            x.part
                .commit()
                .map_err(|e| ClientError::Local(format!("cannot rename {path} into place: {e}")))?;
            eprintln!("received {} ({})", escape(text.as_bytes()), human(got));
            Ok(())
        }
        Some(expected) => Err(ClientError::Protocol(format!(
            "received {got} of {expected} bytes; run the same command again to resume"
        ))),
        None => Err(ClientError::Protocol("the server announced no file".into())),
    }
}

/// Resumes from the part held (op 40) or downloads (op 10); if the server's
/// file no longer matches the part, starts over with a plain download.
async fn download(
    remote: &Remote,
    name: Name,
    force_resume: bool,
    x: &mut DownloadX,
) -> Result<(), ClientError> {
    let text = escape(x.name.as_bytes());
    let restart = |part: &mut Partial| {
        part.restart()
            .map_err(|e| ClientError::Local(format!("cannot restart {}: {e}", part.part_name())))
    };
    let resuming = !x.part.is_empty() && x.part.len() <= u32::MAX.into();
    if !(resuming || force_resume) {
        if !x.part.is_empty() {
            restart(&mut x.part)?;
        }
        return exchange(remote, Request::Download { name }, x).await;
    }
    let md5 = if x.part.is_empty() {
        EMPTY_MD5
    } else {
        x.part
            .md5()
            .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", x.part.part_name())))?
    };
    if resuming {
        eprintln!("resuming {text} from byte {}", x.part.len());
    }
    let position = x.part.len() as u32;
    let result = exchange(
        remote,
        Request::Resume {
            name: name.clone(),
            position,
            md5,
        },
        x,
    )
    .await;
    if !x.mismatch {
        return result;
    }
    eprintln!(
        "the partial file {} does not match the server's \"{text}\" (it changed?): downloading it from the start",
        x.part.part_name()
    );
    restart(&mut x.part)?;
    x.mismatch = false;
    exchange(remote, Request::Download { name }, x).await
}

// ----- put -----

struct UploadX {
    remote: Remote,
    name: String,
    /// The file to send, until its body starts.
    file: Option<OpenFile>,
    size: u32,
    stored: Option<bool>,
    progress: Progress,
}

impl Handler<ClientSession> for UploadX {
    type Error = ClientError;

    async fn answer(
        &mut self,
        session: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        let shown = escape(self.name.as_bytes());
        match event {
            ClientEvent::UploadAccepted => {
                self.progress.start(self.size.into(), 0);
                misuse(session.send_upload(self.size));
            }
            ClientEvent::UploadDone { stored } => self.stored = Some(stored),
            ClientEvent::Refused => {
                return Err(ClientError::Refused(format!(
                    "the server refused to receive \"{shown}\" (bad name, or the target is not a regular file)"
                )));
            }
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, _: &[u8]) -> Result<(), ClientError> {
        Ok(())
    }

    fn body(&mut self) -> Option<Body> {
        self.file.take().map(|open| Body::File { open, offset: 0 })
    }

    fn short_body(&mut self) -> Result<(), ClientError> {
        Err(ClientError::Local(
            "the file to upload shrank while being sent".into(),
        ))
    }

    fn sent(&mut self, bytes: u64) {
        self.progress.advance(bytes);
    }
}

/// `ferry put` for one file of the local folder, stored as `target`.
pub async fn put(
    remote: &Remote,
    folder: &Folder,
    text: &str,
    target: Option<&str>,
) -> Result<(), ClientError> {
    let name = local_name(text, &remote.limits)?;
    let open = folder
        .open_file(&name)
        .map_err(|e| store_error("read", text, e))?;
    let size = u32::try_from(open.size).map_err(|_| {
        ClientError::Local(format!(
            "{text} has {} bytes; the protocol carries files under 4 GiB",
            open.size
        ))
    })?;
    let target_text = target.unwrap_or(text);
    let target_name = local_name(target_text, &remote.limits)?;
    let mut x = UploadX {
        remote: remote.clone(),
        name: target_text.to_owned(),
        file: Some(open),
        size,
        stored: None,
        progress: Progress::new(text),
    };
    exchange(remote, Request::Upload { name: target_name }, &mut x).await?;
    x.progress.finish();
    match x.stored {
        Some(true) => {
            eprintln!(
                "sent {} as {} ({})",
                escape(text.as_bytes()),
                escape(target_text.as_bytes()),
                human(size.into())
            );
            Ok(())
        }
        Some(false) => Err(ClientError::Refused(format!(
            "the server could not store \"{}\" (too large for its disk, or a write error)",
            escape(target_text.as_bytes())
        ))),
        None => Err(ClientError::Protocol(
            "the server did not say whether it stored the file".into(),
        )),
    }
}

// ----- mget -----

struct MGetX<'a> {
    remote: Remote,
    folder: &'a Folder,
    count: u32,
    index: u32,
    current: Option<(Partial, u64, String)>,
    skipping: u64,
    received: u32,
    failures: Vec<ClientError>,
    progress: Progress,
}

impl MGetX<'_> {
    fn finish_current(&mut self) -> Result<(), ClientError> {
        if let Some((part, expected, name)) = self.current.take() {
            if part.len() != expected {
                return Err(ClientError::Protocol(format!(
                    "{name}: received {} of {expected} bytes",
                    part.len()
                )));
            }
            let path = part.part_name().to_owned();
            part.commit()
                .map_err(|e| ClientError::Local(format!("cannot rename {path} into place: {e}")))?;
            self.received += 1;
            self.progress.finish();
        }
        Ok(())
    }
}

impl Handler<ClientSession> for MGetX<'_> {
    type Error = ClientError;

    async fn answer(
        &mut self,
        _: &mut ClientSession,
        event: ClientEvent,
    ) -> Result<(), ClientError> {
        match event {
            ClientEvent::MGetStart { count } => {
                self.count = count;
                eprintln!("{count} files match");
            }
            ClientEvent::MGetEntry(entry) => {
                self.index += 1;
                let (k, n) = (self.index, self.count);
                match (entry.name, entry.size) {
                    (Err(bad), size) => {
                        // Never written: its body, if any, is read and dropped.
                        self.skipping = size.unwrap_or(0).into();
                        let e = ClientError::Protocol(format!(
                            "file {k} of {n}: the server sent a {bad}; skipped"
                        ));
                        eprintln!("{e}");
                        self.failures.push(e);
                    }
                    (Ok(name), None) => {
                        let e = ClientError::Refused(format!(
                            "file {k} of {n}: the server could not read \"{name}\"; skipped"
                        ));
                        eprintln!("{e}");
                        self.failures.push(e);
                    }
                    (Ok(name), Some(size)) => match self.folder.partial(&name) {
                        Ok(mut part) => {
                            part.restart()
                                .map_err(|e| ClientError::Local(format!("{name}: {e}")))?;
                            self.progress = Progress::new(&format!("{k}/{n} {name}"));
                            self.progress.start(size.into(), 0);
                            self.current = Some((part, size.into(), name.to_string()));
                            if size == 0 {
                                self.finish_current()?;
                            }
                        }
                        Err(e) => {
                            self.skipping = size.into();
                            let e = store_error("write", name.as_str(), e);
                            eprintln!("file {k} of {n}: {e}; skipped");
                            self.failures.push(e);
                        }
                    },
                }
            }
            ClientEvent::Refused => {
                return Err(ClientError::Refused(
                    "the server refused the mask (empty, too long, not a valid glob, or too many matches)".into(),
                ));
            }
            ClientEvent::AuthDenied => return Err(denied(&self.remote)),
            _ => {}
        }
        Ok(())
    }

    fn received(&mut self, data: &[u8]) -> Result<(), ClientError> {
        if self.skipping > 0 {
            self.skipping = self.skipping.saturating_sub(data.len() as u64);
            return Ok(());
        }
        let Some((part, expected, _)) = self.current.as_mut() else {
            return Ok(());
        };
        part.write(data)
            .map_err(|e| ClientError::Local(format!("cannot write {}: {e}", part.part_name())))?;
        self.progress.advance(data.len() as u64);
        if part.len() == *expected {
            self.finish_current()?;
        }
        Ok(())
    }
}

/// `ferry mget`: every file matching the mask, file by file.
pub async fn mget(remote: &Remote, folder: &Folder, mask: &str) -> Result<(), ClientError> {
    let mask = Mask::new(mask, &remote.limits)
        .map_err(|e| ClientError::Usage(format!("bad mask: {e}")))?;
    let mut x = MGetX {
        remote: remote.clone(),
        folder,
        count: 0,
        index: 0,
        current: None,
        skipping: 0,
        received: 0,
        failures: Vec::new(),
        progress: Progress::new(""),
    };
    exchange(remote, Request::MGet { mask }, &mut x).await?;
    eprintln!("received {} of {} files", x.received, x.count);
    match x.failures.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(()),
    }
}
