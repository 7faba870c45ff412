//! The cache store: the answer seam implemented by a caching proxy in front
//! of an origin server (`ferry cache`).
//!
//! A request for a file joins the fill of that name in flight, or is served
//! from a fresh entry, or starts a fill: one task that asks the origin what
//! [`ferry_core::cache::plan`] says (op 10, or op 40 from the bytes held)
//! and acts on its answer as [`ferry_core::cache::next`] says. Every client
//! of a fill reads the same file on the cache's disk as the origin's bytes
//! land in it ([`Growing`]), so joiners get bytes as soon as the first client
//! does, and no one waits for the whole file. A fill becomes an entry only
//! when whole; one the origin cuts short stays as a resumable prefix
//! (`ferry_storage::CacheFolder`).

mod fill;
mod upload;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use ferry_core::{ListEntry, Mask, Name};
use ferry_storage::{CacheFolder, DigestCache, StoreError, age};

use super::{Note, Sink, Store, hash_prefix};
use crate::client::Remote;
use crate::config::CacheConfig;
use crate::drive::{Body, Waited, until};
use crate::fair::FairPool;
use fill::{Fill, Header};

/// Prefix digests of cached copies remembered (client RESUMEs).
const DIGESTS: usize = 4096;
/// Prefix hashing steps run at once.
const HEAVY_JOBS: usize = 2;

/// A caching proxy's store.
#[derive(Debug)]
pub struct CacheStore {
    inner: Arc<Inner>,
}

/// What the store and its fill tasks share.
#[derive(Debug)]
struct Inner {
    disk: CacheFolder,
    origin: Remote,
    fresh_for: Duration,
    /// Fills in flight, by name.
    fills: Mutex<HashMap<String, Arc<Fill>>>,
    /// The origin's last listing and when it came.
    listing: Mutex<Option<(Vec<ListEntry>, Instant)>>,
    digests: Arc<DigestCache>,
    /// Prefix hashing, shared fairly between clients.
    hashing: FairPool,
    counters: Counters,
}

/// What the cache did since it started.
#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    revalidated: AtomicU64,
    stale: AtomicU64,
    passed: AtomicU64,
    origin_bytes: AtomicU64,
    served_bytes: AtomicU64,
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
                origin: Remote {
                    addr: config.origin.clone(),
                    auth: None,
                    limits: config.front.limits.clone(),
                    verbosity: crate::client::Verbosity::Quiet,
                    limit_rate: None,
                },
                fresh_for: config.fresh_for,
                fills: Mutex::new(HashMap::new()),
                listing: Mutex::new(None),
                digests: Arc::new(DigestCache::new(DIGESTS)),
                hashing: FairPool::new(HEAVY_JOBS),
                counters: Counters::default(),
            }),
        })
    }

    fn count(&self, note: &'static str) {
        let c = &self.inner.counters;
        let counter = match note {
            "HIT" => &c.hits,
            "MISS" => &c.misses,
            "COALESCED" => &c.coalesced,
            "REVALIDATED" => &c.revalidated,
            "STALE" => &c.stale,
            _ => &c.passed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Store for CacheStore {
    type Scope = ();
    type Sink = Forward;

    fn public(&self) {}

    async fn login(&self, _user: &str, _pass: &str) -> anyhow::Result<()> {
        // Never reached: logins are relayed (`relays_logins_to`).
        anyhow::bail!("the cache relays logins to the origin")
    }

    fn relays_logins_to(&self) -> Option<&str> {
        Some(&self.inner.origin.addr)
    }

    async fn list(&self, _: &()) -> Result<(Vec<ListEntry>, Note), StoreError> {
        let inner = &self.inner;
        if let Some((entries, at)) = lock(&inner.listing).as_ref()
            && at.elapsed() < inner.fresh_for
        {
            return Ok((entries.clone(), Some("HIT")));
        }
        match crate::client::list(&inner.origin).await {
            Ok(entries) => {
                *lock(&inner.listing) = Some((entries.clone(), Instant::now()));
                Ok((entries, None))
            }
            Err(e) => match lock(&inner.listing).as_ref() {
                Some((entries, _)) if fill::unreachable(&e) => {
                    log::warn!("the origin did not answer ({e}): serving the last listing");
                    Ok((entries.clone(), Some("STALE")))
                }
                _ => Err(StoreError::Io(io::Error::other(format!("the origin: {e}")))),
            },
        }
    }

    async fn open(&self, _: &(), name: &Name) -> Result<(Body, Note), StoreError> {
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
                        let task = fill::run(inner.clone(), name.clone(), fill.clone());
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
            Header::Growing { source, pass } => (
                Body::Growing { source, offset: 0 },
                if pass { "PASS" } else { "MISS" },
            ),
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

    async fn prefix_md5(
        &self,
        body: Body,
        len: u64,
        client: IpAddr,
    ) -> (Body, io::Result<[u8; 16]>) {
        if let Body::Growing { source, .. } = &body
            && len > 0
            && source.past(len - 1).await.is_none()
        {
            let cut = io::Error::other("the origin stopped before that position");
            return (body, Err(cut));
        }
        hash_prefix(&self.inner.hashing, client, &self.inner.digests, body, len).await
    }

    async fn begin_upload(&self, _: &(), name: &Name) -> Result<Forward, StoreError> {
        let file = self.inner.disk.scratch().map_err(StoreError::Io)?;
        let upstream = upload::Upstream::start_upload(&self.inner.origin, name.clone());
        upstream
            .accepted()
            .await
            .map_err(|e| StoreError::Io(io::Error::other(format!("the origin: {e}"))))?;
        Ok(Forward {
            inner: self.inner.clone(),
            name: name.clone(),
            file,
            upstream,
            growing: None,
            written: 0,
        })
    }

    async fn matching(&self, scope: &(), mask: &Mask) -> Result<Vec<ListEntry>, StoreError> {
        let (entries, _) = self.list(scope).await?;
        ferry_storage::matching(entries, mask.as_str())
    }

    fn served(&self, bytes: u64) {
        self.inner
            .counters
            .served_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    fn report(&self) -> Option<String> {
        let c = &self.inner.counters;
        let n = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let usage = self.inner.disk.usage();
        Some(format!(
            "cache: {} hits, {} misses, {} coalesced, {} revalidated, {} stale, {} passed; \
             {} bytes from the origin, {} bytes served; {} files ({} bytes) held, {} evictions",
            n(&c.hits),
            n(&c.misses),
            n(&c.coalesced),
            n(&c.revalidated),
            n(&c.stale),
            n(&c.passed),
            n(&c.origin_bytes),
            n(&c.served_bytes),
            usage.entries,
            usage.bytes,
            usage.evictions,
        ))
    }
}

/// An upload through the cache, written through to the origin as it
/// arrives: the origin's early refusal is the client's, its bytes go
/// through an unnamed file on the cache's disk (sent on as they land, so a
/// slow origin never fills the cache's memory), and the origin's final
/// status is the client's.
#[derive(Debug)]
pub struct Forward {
    inner: Arc<Inner>,
    name: Name,
    file: std::fs::File,
    upstream: Arc<upload::Upstream>,
    growing: Option<Arc<crate::growing::Growing>>,
    written: u64,
}

impl Sink for Forward {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if let Some(Err(why)) = self.upstream.finished() {
            // The origin gave up: stop storing what it will not take.
            return Err(io::Error::other(format!("the origin: {why}")));
        }
        io::Write::write_all(&mut self.file, data)?;
        self.written += data.len() as u64;
        if let Some(growing) = &self.growing {
            growing.advance(self.written);
        }
        Ok(())
    }

    fn room(&self) -> Option<u64> {
        None
    }

    fn expect(&mut self, size: u32) {
        match self.file.try_clone() {
            Ok(reader) => {
                let growing = Arc::new(crate::growing::Growing::new(reader, size.into(), 0));
                self.growing = Some(growing.clone());
                self.upstream.start(growing);
            }
            Err(e) => self
                .upstream
                .fail(format!("cannot reopen the upload's file: {e}")),
        }
    }

    async fn commit(mut self) -> io::Result<()> {
        let result = self.upstream.done().await;
        // Whatever the origin kept, the copies of that name are not trusted,
        // nor one being filled now.
        if let Some(fill) = lock(&self.inner.fills).get(self.name.as_str()) {
            fill.outdate();
        }
        self.inner.disk.evict(self.name.as_str());
        *lock(&self.inner.listing) = None;
        self.growing = None;
        result.map_err(|e| io::Error::other(format!("the origin: {e}")))
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        // Unfinished: the origin's transfer ends short and it keeps nothing.
        if let Some(growing) = &self.growing {
            growing.cut();
        }
        self.upstream.cancel();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
