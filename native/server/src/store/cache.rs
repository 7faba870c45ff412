//! The cache store: the answer seam implemented by a caching proxy in front
//! of an origin server (`ferry cache`).
//!
//! A request for a file joins the fill of that name in flight, or is served
//! from a fresh entry, or starts a fill: one task that asks the origin what
//! [`ferry_core::cache::plan`] says (op 40 from the bytes held) and acts on
//! its answer as [`ferry_core::cache::next`] says. Every client of a fill
//! reads the same file on the cache's disk as the origin's bytes land in it
//! ([`ferry_runtime::growing::Growing`]), so joiners get bytes as soon as the first
//! client does, and no one waits for the whole file. A fill becomes an
//! entry only when whole; one the origin cuts short stays as a resumable
//! prefix (`ferry_storage::CacheFolder`).
//!
//! Every byte the cache fetches or holds answers to a client still there
//! or to a copy it will keep: kept fills are reserved against `--max-size`
//! from their start, files it will not keep pass through bounded windows
//! ([`ferry_runtime::window`]) whose fetch stops with their last reader, and
//! uploads are read no faster than the origin takes them. Windows and
//! upload buffers share the in-flight budget (`--in-flight`).

mod counters;
mod direct;
mod fill;
mod origin;
mod upload;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use ferry_core::{EMPTY_MD5, ListEntry, Mask, Name, escape};
use ferry_runtime::upstream::{self, ExchangeError, Upstream};
use ferry_runtime::window::{Refetch, Room, Window};
use ferry_runtime::{Body, Stream, Waited, until};
use ferry_storage::{CacheFolder, Replace, StoreError, age};

use super::{Logins, Note, Resumed, Sink, Store};
use crate::limits::PerAddress;
use crate::ops::Sample;
use crate::settings::CacheConfig;
use counters::{Counters, stale_reason};

use direct::Answer;
use fill::{Fill, Header};

/// A caching proxy's store.
#[derive(Debug)]
pub struct CacheStore {
    inner: Arc<Inner>,
}

/// What the store and its fill tasks share.
#[derive(Debug)]
struct Inner {
    disk: CacheFolder,
    origin: Upstream,
    fresh_for: Duration,
    /// How long after its last confirmation a copy is served stale.
    max_stale: Duration,
    /// Disk and memory shared by windows and upload buffers.
    in_flight: Arc<InFlight>,
    /// Bytes of a window of a file passing through.
    pass_window: u64,
    /// Bytes of an upload held before the origin takes them.
    upload_buffer: u64,
    /// Kept fills in flight per client address.
    fills_per_address: Arc<PerAddress>,
    /// Fills in flight, by name.
    fills: Mutex<HashMap<String, Arc<Fill>>>,
    /// The origin's last listing and when it came.
    listing: Mutex<Option<(Vec<ListEntry>, Instant)>>,
    counters: Counters,
}

impl CacheStore {
    /// Opens the cache folder (finding its entries again) for `config`.
    pub fn open(config: &CacheConfig) -> anyhow::Result<Self> {
        let disk = CacheFolder::open(&config.dir, config.max_size)
            .with_context(|| format!("cannot use the cache folder {}", config.dir.display()))?;
        let usage = disk.usage();
        if usage.entries + usage.prefixes > 0 {
            log::info!(
                "found {} cached files and {} partial fills ({} bytes) from an earlier run",
                usage.entries,
                usage.prefixes,
                usage.bytes
            );
        }
        Ok(CacheStore {
            inner: Arc::new(Inner {
                disk,
                origin: Upstream {
                    addr: config.origin.clone(),
                    auth: None,
                    limits: config.front.limits.clone(),
                    limit_rate: None,
                    tls: match &config.origin_tls {
                        Some(ca) => Some(origin::tls_config(ca.as_deref())?),
                        None => None,
                    },
                },
                fresh_for: config.fresh_for,
                max_stale: config.max_stale,
                in_flight: Arc::new(InFlight {
                    free: Mutex::new(config.in_flight),
                }),
                pass_window: config.pass_window,
                upload_buffer: config.upload_buffer,
                fills_per_address: Arc::new(PerAddress::new(
                    config.max_fills_per_address,
                    &config.front.trusted,
                )),
                fills: Mutex::new(HashMap::new()),
                listing: Mutex::new(None),
                counters: Counters::new()?,
            }),
        })
    }

    fn count(&self, note: &'static str) {
        self.inner.counters.count(note);
    }
}

impl Store for CacheStore {
    /// The client's address (fills are counted per address).
    type Scope = IpAddr;
    type Sink = Forward;

    fn public(&self, client: IpAddr) -> IpAddr {
        client
    }

    async fn login(&self, _user: &str, _pass: &str) -> anyhow::Result<IpAddr> {
        // Never reached: logins are relayed (`logins`).
        anyhow::bail!("the cache relays logins to the origin")
    }

    fn logins(&self) -> Logins<'_> {
        Logins::RelayedTo(&self.inner.origin)
    }

    async fn list(&self, _: &IpAddr) -> Result<(Vec<ListEntry>, Note), StoreError> {
        let inner = &self.inner;
        if let Some((entries, at)) = lock(&inner.listing).as_ref()
            && at.elapsed() < inner.fresh_for
        {
            return Ok((entries.clone(), Some("HIT")));
        }
        let asked = Instant::now();
        let listed = upstream::list(&inner.origin).await;
        inner.counters.origin_request("LIST", asked.elapsed());
        match listed {
            Ok(entries) => {
                let entries = lawful(entries, &inner.origin.limits);
                *lock(&inner.listing) = Some((entries.clone(), Instant::now()));
                Ok((entries, None))
            }
            // Refused (status 1) or silent: the last listing, within --max-stale.
            Err(e) => match lock(&inner.listing).as_ref() {
                Some((entries, at)) if at.elapsed() < inner.max_stale => {
                    inner.counters.stale_chosen(stale_reason(&e));
                    log::warn!("the origin failed ({e}): serving the last listing");
                    Ok((entries.clone(), Some("STALE")))
                }
                _ => Err(StoreError::Io(io::Error::other(format!("the origin: {e}")))),
            },
        }
    }

    async fn open(&self, client: &IpAddr, name: &Name) -> Result<(Body, Note), StoreError> {
        let inner = &self.inner;
        let (fill, joined) = loop {
            // Decided under the lock; waited for outside it.
            let (fill, joined) = {
                let mut fills = lock(&inner.fills);
                match fills.get(name.as_str()) {
                    Some(fill) => (fill.clone(), true),
                    None => {
                        if let Some(hit) = inner.disk.hit(name.as_str())
                            && age(hit.validated) < inner.fresh_for
                        {
                            drop(fills);
                            self.count("HIT");
                            let body = Body::File {
                                open: hit.open,
                                offset: 0,
                            };
                            return Ok((body, Some("HIT")));
                        }
                        let fill = Arc::new(Fill::default());
                        fills.insert(name.as_str().to_owned(), fill.clone());
                        // Read under the fills lock: an upload answered after
                        // this never lets this fill's bytes become an entry.
                        let since = inner.disk.generation();
                        let task =
                            fill::run(inner.clone(), name.clone(), fill.clone(), *client, since);
                        smol::spawn(task).detach();
                        (fill, false)
                    }
                }
            };
            if !joined || fill.joinable() {
                break (fill, joined);
            }
            // Its bytes are all in: wait for the entry, then look again.
            fill.over().await;
        };
        // The fill's origin exchange has its own deadlines; this one only
        // guarantees that no client ever waits forever.
        let patience = Duration::from_micros(inner.origin.limits.timeout_us.saturating_mul(3));
        let header = match until(Some(Instant::now() + patience), fill.header()).await {
            Waited::Done(header) => header,
            Waited::Deadline => Header::Refused("the origin did not answer in time".into()),
        };
        let (body, note) = match header {
            Header::Entry { note } => match inner.disk.hit(name.as_str()) {
                Some(hit) => (
                    Body::File {
                        open: hit.open,
                        offset: 0,
                    },
                    note,
                ),
                // Evicted in the meantime: rare, and never served wrong.
                None => return Err(StoreError::Io(io::Error::other("evicted while opening"))),
            },
            Header::Growing(source) => (Body::Growing { source, offset: 0 }, "MISS"),
            Header::Window(window) => (
                Body::Window {
                    reader: window.reader(),
                    offset: 0,
                },
                "PASS",
            ),
            Header::Direct => (self.direct(name).await?, "PASS"),
            Header::NotFound => return Err(StoreError::NotFound),
            Header::Refused(why) => return Err(StoreError::Io(io::Error::other(why.to_string()))),
        };
        let note = if joined && note != "PASS" {
            "COALESCED"
        } else {
            note
        };
        self.count(note);
        Ok((body, Some(note)))
    }

    async fn resume(
        &self,
        client: &IpAddr,
        name: &Name,
        position: u32,
        md5: [u8; 16],
    ) -> Result<Resumed, StoreError> {
        // Hashed by the front only what the cache holds whole or is filling
        // to keep.
        let held = self.inner.disk.hit(name.as_str()).is_some()
            || lock(&self.inner.fills)
                .get(name.as_str())
                .is_some_and(|fill| fill.keeps());
        if held {
            let (body, note) = match self.open(client, name).await {
                Ok(opened) => opened,
                Err(StoreError::NotFound) => {
                    return Ok(Resumed::NoSuchFile("the origin has no such file".into()));
                }
                Err(e) => return Err(e),
            };
            if matches!(body, Body::File { .. } | Body::Growing { .. }) {
                return Ok(Resumed::Opened { body, note });
            }
        }
        self.count("PASS");
        let (origin, asked) = (self.inner.origin.clone(), name.clone());
        let answer = smol::unblock(move || direct::resume(&origin, &asked, position, md5)).await;
        Ok(match answer.map_err(StoreError::Io)? {
            Answer::Send { remaining, body } => Resumed::Send {
                file_size: u64::from(position) + u64::from(remaining),
                body: Body::Stream {
                    source: body,
                    size: remaining.into(),
                },
                note: Some("PASS"),
            },
            Answer::Mismatch => Resumed::Mismatch("the origin's MD5 differs (PASS)"),
            Answer::NoSuchFile => {
                self.inner.saw(name.as_str(), None);
                Resumed::NoSuchFile("the origin has no such file (PASS)".into())
            }
            Answer::Refused => {
                return Err(StoreError::Io(io::Error::other(
                    "the origin refused the RESUME (PASS)",
                )));
            }
        })
    }

    /// The origin applies its own rule for replacing files (its
    /// `--public-overwrite`): the cache uploads as a client without a login.
    async fn begin_upload(
        &self,
        _: &IpAddr,
        name: &Name,
        _: Replace,
    ) -> Result<Forward, StoreError> {
        let inner = &self.inner;
        let Some(lease) = inner.in_flight.take(inner.upload_buffer) else {
            return Err(StoreError::Io(io::Error::other(
                "the in-flight budget (--in-flight) is spent: the upload can be tried again shortly",
            )));
        };
        let upstream = upload::OriginUpload::start_upload(&inner.origin, name.clone());
        upstream
            .accepted()
            .await
            .map_err(|e| StoreError::Io(io::Error::other(format!("the origin: {e}"))))?;
        Ok(Forward {
            inner: inner.clone(),
            name: name.clone(),
            upstream,
            window: None,
            _lease: lease,
        })
    }

    async fn matching(&self, scope: &IpAddr, mask: &Mask) -> Result<Vec<ListEntry>, StoreError> {
        let (entries, _) = self.list(scope).await?;
        ferry_storage::matching(entries, mask.as_str())
    }

    fn served(&self, bytes: u64) {
        self.inner
            .counters
            .served_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    fn samples(&self) -> Vec<Sample> {
        let fills = self.inner.fills.lock().map_or(0, |f| f.len() as u64);
        self.inner.counters.samples(&self.inner.disk.usage(), fills)
    }

    async fn probe(&self) -> Result<(), String> {
        let origin = &self.inner.origin;
        match upstream::connect::<std::convert::Infallible>(origin).await {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("the origin {} cannot be reached: {e}", origin.addr)),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        self.inner.counters.collectors()
    }

    fn report(&self) -> Option<String> {
        Some(self.inner.counters.report(&self.inner.disk.usage()))
    }
}

/// An upload through the cache, written through to the origin as it
/// arrives: the origin's early refusal is the client's, its bytes pass
/// through a window of `--upload-buffer` bytes (the client is read no
/// faster than the origin takes them), and the origin's final status is
/// the client's.
#[derive(Debug)]
pub struct Forward {
    inner: Arc<Inner>,
    name: Name,
    upstream: Arc<upload::OriginUpload>,
    window: Option<Arc<Window>>,
    _lease: Lease,
}

impl Sink for Forward {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if let Some(Err(why)) = self.upstream.finished() {
            // The origin gave up: stop passing on what it will not take.
            return Err(io::Error::other(format!("the origin: {why}")));
        }
        if let Some(window) = &self.window {
            window.write(data);
        }
        Ok(())
    }

    fn room(&self) -> Option<u64> {
        None
    }

    fn expect(&mut self, size: u32) {
        let window = Arc::new(Window::new(size.into(), self.inner.upload_buffer, None));
        self.window = Some(window.clone());
        self.upstream.start(window);
    }

    async fn ready(&mut self) -> io::Result<()> {
        let Some(window) = self.window.clone() else {
            return Ok(());
        };
        let by = Instant::now() + Duration::from_micros(self.inner.origin.limits.timeout_us);
        let room = futures_lite::future::or(async { Some(window.room().await) }, async {
            self.upstream.done().await.err().map(|_| Room::Abandoned)
        });
        match until(Some(by), room).await {
            Waited::Done(Some(Room::Free)) => Ok(()),
            Waited::Done(_) => Err(io::Error::other("the origin stopped taking the upload")),
            Waited::Deadline => Err(io::Error::other(
                "the origin took none of the upload for --timeout",
            )),
        }
    }

    async fn commit(mut self) -> io::Result<()> {
        let result = self.upstream.done().await;
        // Whatever the origin kept, no copy of that name is trusted any
        // more, nor one being filled now (it may hold the old bytes): it is
        // never kept, and later requests start a fill of their own.
        self.inner.disk.replaced(self.name.as_str());
        lock(&self.inner.fills).remove(self.name.as_str());
        if result.is_ok()
            && let Some(window) = &self.window
        {
            self.inner.saw(self.name.as_str(), Some(window.size));
        }
        self.window = None;
        result.map_err(|e| io::Error::other(format!("the origin: {e}")))
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        // Unfinished: the origin's transfer ends short and it keeps nothing.
        if let Some(window) = &self.window {
            window.cut("the client stopped in the middle of its upload");
        }
        self.upstream.cancel();
    }
}

impl CacheStore {
    /// A file fetched from the origin on a connection of its own, whole.
    async fn direct(&self, name: &Name) -> Result<Body, StoreError> {
        let (origin, name) = (self.inner.origin.clone(), name.clone());
        let answer = smol::unblock(move || direct::resume(&origin, &name, 0, EMPTY_MD5)).await;
        match answer.map_err(StoreError::Io)? {
            Answer::Send { remaining, body } => Ok(Body::Stream {
                source: body,
                size: remaining.into(),
            }),
            Answer::NoSuchFile => Err(StoreError::NotFound),
            Answer::Mismatch | Answer::Refused => Err(StoreError::Io(io::Error::other(
                "the origin refused the file",
            ))),
        }
    }
}

impl Inner {
    /// Corrects the listing held with what the cache learnt since: `name`
    /// has `size` bytes, or (`None`) the origin has no such file.
    fn saw(&self, name: &str, size: Option<u64>) {
        let mut listing = lock(&self.listing);
        let Some((entries, _)) = listing.as_mut() else {
            return;
        };
        let at = entries.binary_search_by(|e| e.name.as_bytes().cmp(name.as_bytes()));
        match (at, size) {
            (Ok(i), Some(size)) => entries[i].size = size,
            (Ok(i), None) => {
                entries.remove(i);
            }
            (Err(i), Some(size)) => entries.insert(
                i,
                ListEntry {
                    name: name.to_owned(),
                    size,
                },
            ),
            (Err(_), None) => {}
        }
    }
}

/// The origin's listing under the protocol's rules, as a server's own:
/// names a server could not hold are dropped (and logged), the rest sorted
/// bytewise, each once.
fn lawful(mut entries: Vec<ListEntry>, limits: &ferry_core::Limits) -> Vec<ListEntry> {
    entries.retain(|entry| match Name::parse(entry.name.as_bytes(), limits) {
        Ok(_) => true,
        Err(e) => {
            log::warn!(
                "the origin listed \"{}\", which breaks the protocol's name rules ({e}): left out",
                escape(entry.name.as_bytes())
            );
            false
        }
    });
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    entries.dedup_by(|a, b| a.name == b.name);
    entries
}

/// What windows and upload buffers may hold in all (`--in-flight`).
#[derive(Debug)]
struct InFlight {
    free: Mutex<u64>,
}

impl InFlight {
    /// Takes `bytes` of the budget, if they are free.
    fn take(self: &Arc<Self>, bytes: u64) -> Option<Lease> {
        let mut free = lock(&self.free);
        *free = free.checked_sub(bytes)?;
        Some(Lease {
            budget: self.clone(),
            bytes,
        })
    }
}

/// Part of the in-flight budget, given back when dropped.
#[derive(Debug)]
struct Lease {
    budget: Arc<InFlight>,
    bytes: u64,
}

impl Drop for Lease {
    fn drop(&mut self) {
        *lock(&self.budget.free) += self.bytes;
    }
}

/// A file passing through, fetched again from the origin from a
/// checkpoint: where a reader that fell behind its window goes on.
#[derive(Debug)]
struct FromOrigin {
    origin: Upstream,
    name: Name,
    /// The file's size when the window began: a fetch of another version
    /// is refused.
    size: u64,
}

impl Refetch for FromOrigin {
    fn resume(&self, from: u64, md5: [u8; 16], to: u64) -> io::Result<Stream> {
        let position = u32::try_from(from).map_err(io::Error::other)?;
        match direct::resume(&self.origin, &self.name, position, md5)? {
            Answer::Send { remaining, body } if from + u64::from(remaining) == self.size => {
                let mut body = body.0;
                let skip = to - from;
                let skipped = io::copy(&mut io::Read::take(&mut body, skip), &mut io::sink())?;
                if skipped < skip {
                    return Err(io::Error::other("the origin's file ended early"));
                }
                Ok(Stream(body))
            }
            _ => Err(io::Error::other("the origin's file changed meanwhile")),
        }
    }
}

/// Why the cache stopped its side of an exchange with the origin.
#[derive(Debug)]
struct Stopped(String);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an exchange with the origin ended.
type Exchanged = Result<(), ExchangeError<Stopped>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
