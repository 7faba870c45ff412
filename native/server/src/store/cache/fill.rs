//! One fill: the task that asks the origin about one name and streams its
//! bytes into the cache, and the header every client of it waits for.
//!
//! A file the cache will keep is written to its disk, reserved against
//! `--max-size` from the start, and finishes even if its readers leave. A
//! file it will not keep (too large, the size taken by other fills, or its
//! client's address already filling `--max-fills-per-address`) passes
//! through a bounded window of memory taken from the in-flight budget, and
//! its fetch stops when its last reader leaves; with the budget spent, each
//! of its clients is relayed on a connection of its own.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::cache::{Held, Next, OriginAnswer, Plan, keeps, next, plan};
use ferry_core::{ClientEvent, ClientSession, Name, Request};
use ferry_runtime::growing::Growing;
use ferry_runtime::upstream::{ExchangeError, exchange};
use ferry_runtime::window::{Room, Window};
use ferry_runtime::{Handler, Waited, until};
use ferry_storage::{FillFile, FillFrom, Hit, age};
use smol::lock::OnceCell;

use super::{Exchanged, FromOrigin, Inner, Stopped, lock};
use crate::limits::Ticket;

/// A fill in flight; its clients wait for its header.
#[derive(Debug, Default)]
pub(super) struct Fill {
    header: OnceCell<Header>,
    /// Set when the fill is over and its entry (if any) is in place.
    over: OnceCell<()>,
}

/// What the clients of a fill get once the origin has answered.
#[derive(Debug, Clone)]
pub(super) enum Header {
    /// Serve the entry held (the origin confirmed it, or failed).
    Entry {
        /// REVALIDATED or STALE (or HIT, when it became fresh meanwhile).
        note: &'static str,
    },
    /// Bytes as they land in the fill, which will be kept.
    Growing(Arc<Growing>),
    /// Bytes passed through a window, not kept (PASS).
    Window(Arc<Window>),
    /// Not kept, and no window could be had: each client fetches it from
    /// the origin on a connection of its own (PASS).
    Direct,
    /// The origin has no such file.
    NotFound,
    /// Status 1, and why (for the log).
    Refused(Arc<str>),
}

impl Fill {
    /// Waits for the origin's answer.
    pub(super) async fn header(&self) -> Header {
        self.header.wait().await.clone()
    }

    /// Whether a new request may still join: the origin has not answered
    /// yet, or its bytes are still coming (not all in, not cut short). A
    /// request that arrives later waits for the fill to end, then looks
    /// again (and revalidates what the fill left, like any other request).
    pub(super) fn joinable(&self) -> bool {
        match self.header.get() {
            None => true,
            Some(Header::Growing(source)) => !source.settled(),
            Some(Header::Window(window)) => window.written() < window.size,
            Some(_) => false,
        }
    }

    /// Whether the fill is writing a copy the cache will keep.
    pub(super) fn keeps(&self) -> bool {
        matches!(self.header.get(), Some(Header::Growing(_)))
    }

    /// Waits until the fill is over.
    pub(super) async fn over(&self) {
        self.over.wait().await;
    }

    fn answer(&self, header: Header) {
        // The first answer stands; a fill answers once.
        let _ = self.header.set_blocking(header);
    }
}

/// Whether a failed exchange means the origin did not answer at all.
pub(super) fn unreachable(e: &ExchangeError<Stopped>) -> bool {
    matches!(
        e,
        ExchangeError::Connect(_) | ExchangeError::Timeout(_) | ExchangeError::Protocol(_)
    )
}

/// Runs one fill for a request from `client` to its end, then lets the
/// next request see the entry.
/// `since` is the cache's generation when the fill was asked for.
pub(super) async fn run(
    inner: Arc<Inner>,
    name: Name,
    fill: Arc<Fill>,
    client: IpAddr,
    since: u64,
) {
    let ending = Ending {
        inner: inner.clone(),
        name: name.clone(),
        fill: fill.clone(),
    };
    fetch(&inner, &name, &fill, client, since).await;
    drop(ending);
}

/// Ends a fill however its task ends (done, failed, or dropped by a
/// panic): clients still waiting are answered, and the name is free again.
struct Ending {
    inner: Arc<Inner>,
    name: Name,
    fill: Arc<Fill>,
}

impl Drop for Ending {
    fn drop(&mut self) {
        let why = "the cache could not fetch the file";
        self.fill.answer(Header::Refused(why.into()));
        match self.fill.header.get() {
            // Readers waiting for bytes that will never come end short.
            Some(Header::Growing(growing)) if !growing.settled() => growing.cut(why),
            Some(Header::Window(window)) => window.cut(why),
            _ => {}
        }
        {
            let mut fills = lock(&self.inner.fills);
            if fills
                .get(self.name.as_str())
                .is_some_and(|f| Arc::ptr_eq(f, &self.fill))
            {
                fills.remove(self.name.as_str());
            }
        }
        let _ = self.fill.over.set_blocking(());
    }
}

/// Asks the origin, streams the answer into the fill, and keeps what came:
/// an entry when whole, a resumable prefix when cut short.
async fn fetch(inner: &Arc<Inner>, name: &Name, fill: &Fill, client: IpAddr, since: u64) {
    let key = name.as_str();
    let mut x = Filling {
        inner: inner.clone(),
        name: name.clone(),
        fill,
        client,
        held: Held::Nothing,
        hit: None,
        file: None,
        growing: None,
        window: None,
        ticket: None,
        refetch: false,
        pass: None,
        since,
    };
    if let Some(hit) = inner.disk.hit(key) {
        if let Ok(size) = u32::try_from(hit.open.size) {
            x.held = Held::Entry {
                size,
                md5: hit.md5,
                age_us: age(hit.validated).as_micros() as u64,
            };
            x.hit = Some(hit);
        }
    } else if inner.disk.prefix_len(key).is_some() {
        let (inner2, key2) = (inner.clone(), key.to_owned());
        match smol::unblock(move || inner2.disk.begin_fill(&key2, FillFrom::Prefix, None, since))
            .await
        {
            Ok(file) => {
                if let Ok(len) = u32::try_from(file.len()) {
                    x.held = Held::Prefix {
                        len,
                        md5: file.md5(),
                    };
                    x.file = Some(file);
                }
            }
            Err(e) => log::warn!("cannot reopen the partial fill of {key}: {e}"),
        }
    }
    loop {
        let request = match plan(x.held, inner.fresh_for.as_micros() as u64) {
            Plan::Serve => return fill.answer(Header::Entry { note: "HIT" }),
            Plan::Resume { position, md5 } => Request::Resume {
                name: name.clone(),
                position,
                md5,
            },
        };
        let op = request.op().as_str();
        let asked = Instant::now();
        let result = exchange(&inner.origin, request, &mut x).await;
        inner.counters.origin_request(op, asked.elapsed());
        if x.refetch {
            // What was held is wrong or cannot grow: once more from the start.
            x.refetch = false;
            x.held = Held::Nothing;
            continue;
        }
        return x.finish(result).await;
    }
}

/// The origin side of a fill: a client session's events and bytes.
struct Filling<'a> {
    inner: Arc<Inner>,
    name: Name,
    fill: &'a Fill,
    /// The address whose request started the fill.
    client: IpAddr,
    held: Held,
    /// The entry held, to extend if the origin's file grew.
    hit: Option<Hit>,
    file: Option<FillFile>,
    growing: Option<Arc<Growing>>,
    /// A file passing through.
    window: Option<Arc<Window>>,
    /// The client address's count of kept fills.
    ticket: Option<Ticket>,
    refetch: bool,
    /// Fetching again from the start to pass the file through, and why.
    pass: Option<String>,
    /// The cache's generation when the fill was asked for.
    since: u64,
}

impl Filling<'_> {
    /// Acts on what the origin said.
    async fn act(&mut self, answer: OriginAnswer) -> Result<(), Stopped> {
        let key = self.name.as_str();
        let max_stale = self.inner.max_stale.as_micros() as u64;
        match next(self.held, answer, max_stale) {
            Next::Unchanged => {
                if let Some(hit) = &self.hit {
                    self.inner.disk.validated(key, hit.md5);
                    self.inner.saw(key, Some(hit.open.size));
                }
                self.fill.answer(Header::Entry {
                    note: "REVALIDATED",
                });
            }
            Next::Stale => {
                let (why, reason) = match answer {
                    OriginAnswer::Refused => ("the origin refused it (status 1)", "refused"),
                    _ => ("the origin did not answer", "unreachable"),
                };
                self.inner.counters.stale_chosen(reason);
                self.stale(why);
            }
            Next::Stream { from, size } => return self.stream(from, size).await,
            Next::Refetch => {
                self.inner.disk.evict(key);
                self.file = None;
                self.hit = None;
                self.refetch = true;
            }
            Next::NotFound => {
                self.inner.disk.evict(key);
                self.inner.saw(key, None);
                self.file = None;
                self.fill.answer(Header::NotFound);
            }
            Next::Refuse => {
                self.inner.disk.evict(key);
                self.file = None;
                self.fill
                    .answer(Header::Refused("the origin refused the file".into()));
            }
        }
        Ok(())
    }

    /// Serves the copy held although the origin failed.
    fn stale(&self, why: &str) {
        let confirmed = match self.held {
            Held::Entry { age_us, .. } => Duration::from_micros(age_us).as_secs(),
            _ => 0,
        };
        log::warn!(
            "{why} for {}: serving the cached copy confirmed {confirmed} s ago (--max-stale {} s)",
            self.name.as_str(),
            self.inner.max_stale.as_secs()
        );
        self.fill.answer(Header::Entry { note: "STALE" });
    }

    /// Bytes follow: into a kept fill (from `from`), or through a window.
    async fn stream(&mut self, from: u32, size: u64) -> Result<(), Stopped> {
        let key = self.name.as_str().to_owned();
        let inner = self.inner.clone();
        // The origin's file has that size now, kept or not.
        inner.saw(&key, Some(size));
        let kept = if let Some(why) = &self.pass {
            Err(why.clone())
        } else if !keeps(size, inner.disk.max_size()) {
            Err("larger than --max-size".to_owned())
        } else {
            match inner.fills_per_address.admit(self.client) {
                Err(n) => Err(format!(
                    "{} already has {n} fills in flight (--max-fills-per-address)",
                    self.client
                )),
                Ok(ticket) => self.begin(size).await.map(|file| (file, ticket)),
            }
        };
        match kept {
            Ok((file, ticket)) => {
                let reader = file
                    .reader()
                    .map_err(|e| Stopped(format!("cannot read the fill: {e}")))?;
                let source = Arc::new(Growing::new(reader, size, file.len()));
                self.file = Some(file);
                self.ticket = ticket;
                self.growing = Some(source.clone());
                self.fill.answer(Header::Growing(source));
                Ok(())
            }
            Err(why) if from > 0 => {
                // What is held cannot grow into a copy: pass it from the start.
                log::info!("{key} will not be kept ({why}): fetching it again to pass it on");
                // The copy held is older than the origin's file: it goes.
                inner.disk.evict(&key);
                self.file = None;
                self.hit = None;
                self.refetch = true;
                self.pass = Some(why);
                Err(Stopped("fetching again from the start".into()))
            }
            Err(why) => {
                log::info!("{key} passes through uncached: {why}");
                self.file = None;
                let Some(lease) = inner.in_flight.take(inner.pass_window) else {
                    log::info!(
                        "{key}: the in-flight budget (--in-flight) is spent; each client fetches it on its own"
                    );
                    self.fill.answer(Header::Direct);
                    return Err(Stopped("relayed instead".into()));
                };
                let refetch = FromOrigin {
                    origin: inner.origin.clone(),
                    name: self.name.clone(),
                    size,
                };
                let window = Window::new(size, inner.pass_window, Some(Box::new(refetch)));
                // The budget comes back when the last reader is done with it.
                let window = Arc::new(window.holding(Box::new(lease)));
                self.window = Some(window.clone());
                self.fill.answer(Header::Window(window));
                Ok(())
            }
        }
    }

    /// Opens the fill file for a copy of `size` bytes, reserved against
    /// `--max-size`; `Err` says why it cannot be kept.
    async fn begin(&mut self, size: u64) -> Result<FillFile, String> {
        let inner = self.inner.clone();
        let since = self.since;
        let key = self.name.as_str().to_owned();
        let started = match (self.file.take(), self.hit.take()) {
            (Some(mut prefix), _) => {
                let inner = inner.clone();
                smol::unblock(move || prefix.reserve(&inner.disk, size).map(|()| prefix)).await
            }
            (None, hit) => {
                let from = match hit {
                    Some(hit) => FillFrom::Entry(Box::new(hit)),
                    None => FillFrom::Empty,
                };
                smol::unblock(move || inner.disk.begin_fill(&key, from, Some(size), since)).await
            }
        };
        started.map_err(|e| match e.kind() {
            io::ErrorKind::StorageFull => e.to_string(),
            _ => format!("cannot start a fill: {e}"),
        })
    }

    /// After the exchange: keeps what came, and answers clients still
    /// waiting if the origin never did.
    async fn finish(mut self, result: Exchanged) {
        let key = self.name.as_str().to_owned();
        let inner = self.inner.clone();
        if let Some(window) = self.window.take() {
            let got = window.written();
            if got < window.size {
                let why = lost(got, window.size, &result);
                log::info!("{key}: {why}");
                window.cut(&why);
            }
            return;
        }
        let Some(growing) = self.growing.take() else {
            if let Err(e) = result
                && self.fill.header.get().is_none()
            {
                let answer = match unreachable(&e) {
                    true => OriginAnswer::Unreachable,
                    false => OriginAnswer::Refused,
                };
                let max_stale = inner.max_stale.as_micros() as u64;
                if next(self.held, answer, max_stale) == Next::Stale {
                    self.inner.counters.stale_chosen(super::stale_reason(&e));
                    self.stale(&format!("the origin failed ({e})"));
                } else {
                    self.fill
                        .answer(Header::Refused(format!("the origin: {e}").into()));
                }
            }
            // A prefix taken out to resume goes back as it was.
            if let Some(file) = self.file.take() {
                let _ = smol::unblock(move || file.keep_prefix(&inner.disk)).await;
            }
            return;
        };
        let Some(file) = self.file.take() else { return };
        let (size, got) = (growing.size, file.len());
        if got < size {
            let why = lost(got, size, &result);
            growing.cut(&why);
            log::warn!("{key}: {why}; kept to resume");
            let kept = smol::unblock(move || file.keep_prefix(&inner.disk)).await;
            if let Err(e) = kept {
                log::info!("{key}: the partial fill is not kept: {e}");
            }
            return;
        }
        let committed = smol::unblock(move || file.commit(&inner.disk, size)).await;
        if let Err(e) = committed {
            log::info!("{key}: the copy is not kept: {e}");
        }
    }
}

/// Why a transfer from the origin ended after `got` of `size` bytes.
fn lost(got: u64, size: u64, result: &Exchanged) -> String {
    match result {
        Err(ExchangeError::Handler(Stopped(why))) => {
            format!("stopped after {got} of {size} bytes: {why}")
        }
        Err(e) => format!("origin connection lost after {got} of {size} bytes ({e})"),
        Ok(()) => format!("origin connection lost after {got} of {size} bytes"),
    }
}

impl Handler<ClientSession> for Filling<'_> {
    type Error = Stopped;

    async fn answer(&mut self, _: &mut ClientSession, event: ClientEvent) -> Result<(), Stopped> {
        let answer = match event {
            ClientEvent::Resume(outcome) => OriginAnswer::Resume(outcome),
            ClientEvent::Refused => OriginAnswer::Refused,
            _ => return Ok(()),
        };
        self.act(answer).await
    }

    fn received(&mut self, data: &[u8]) -> Result<(), Stopped> {
        if let Some(window) = &self.window {
            window.write(data);
        } else if let (Some(file), Some(growing)) = (self.file.as_mut(), &self.growing) {
            file.write(data)
                .map_err(|e| Stopped(format!("cannot write the fill: {e}")))?;
            growing.advance(file.len());
        } else {
            return Ok(());
        }
        self.inner
            .counters
            .origin_bytes
            .fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn ready(&mut self) -> Result<(), Stopped> {
        let Some(window) = &self.window else {
            return Ok(());
        };
        // The origin's own timeout, counted while no reader takes bytes.
        let by = Instant::now() + Duration::from_micros(self.inner.origin.limits.timeout_us);
        match until(Some(by), window.room()).await {
            Waited::Done(Room::Free) => Ok(()),
            Waited::Done(Room::Abandoned) => {
                Err(Stopped("every reader left, so the fetch stopped".into()))
            }
            Waited::Deadline => Err(Stopped(
                "no reader took bytes for --timeout, so the fetch stopped".into(),
            )),
        }
    }
}
