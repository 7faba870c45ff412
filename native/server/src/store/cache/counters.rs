//! What the cache did since it started: counted as it happens, shown on
//! SIGUSR1 and at shutdown, and scraped at `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferry_storage::Usage;
use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

use crate::ops::Sample;
use crate::ops::metrics::DURATION_BUCKETS;

/// Why a stale copy was served: the origin `refused` (status 1), was
/// `unreachable`, or `failed` in the middle of its answer.
pub(super) type StaleReason = &'static str;

/// Why an exchange with the origin failed, as a stale reason: it could
/// not be reached (or stopped answering), it refused, or it broke.
pub(super) fn stale_reason<E>(e: &ferry_runtime::upstream::ExchangeError<E>) -> StaleReason {
    use ferry_runtime::upstream::ExchangeError as X;
    match e {
        X::Connect(_) | X::Timeout(_) => "unreachable",
        X::Handler(_) | X::AuthDenied { .. } => "refused",
        _ => "failed",
    }
}

/// The cache's counters.
#[derive(Debug)]
pub(super) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub coalesced: AtomicU64,
    pub revalidated: AtomicU64,
    pub stale: AtomicU64,
    pub passed: AtomicU64,
    pub origin_bytes: AtomicU64,
    pub served_bytes: AtomicU64,
    /// Stale copies chosen (a fill's or the listing's), by reason.
    stale_why: IntCounterVec,
    /// How long each request to the origin took, by op.
    origin_time: HistogramVec,
}

impl Counters {
    /// All at zero.
    pub fn new() -> prometheus::Result<Counters> {
        let stale_why = IntCounterVec::new(
            Opts::new(
                "ferry_cache_stale_chosen_total",
                "Times a stale copy (a file's or the listing) was chosen over the origin's \
                 answer, by reason: refused (status 1), unreachable, failed mid-answer.",
            ),
            &["reason"],
        )?;
        let origin_time = HistogramVec::new(
            HistogramOpts::new(
                "ferry_cache_origin_request_duration_seconds",
                "How long each request to the origin took (its body included), by op.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["op"],
        )?;
        Ok(Counters {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
            revalidated: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            passed: AtomicU64::new(0),
            origin_bytes: AtomicU64::new(0),
            served_bytes: AtomicU64::new(0),
            stale_why,
            origin_time,
        })
    }
}

/// Every metric the cache adds to `/metrics`: name, meaning, and whether
/// it is a counter (or a gauge), in the order [`Counters::samples`] reads
/// their values.
const METRICS: [(&str, &str, bool); 13] = [
    (
        "ferry_cache_hits_total",
        "Requests served from a fresh cached copy.",
        true,
    ),
    (
        "ferry_cache_misses_total",
        "Requests that fetched the file from the origin.",
        true,
    ),
    (
        "ferry_cache_coalesced_total",
        "Requests that joined a fetch already under way.",
        true,
    ),
    (
        "ferry_cache_revalidated_total",
        "Requests served after the origin confirmed the copy (--fresh-for passed).",
        true,
    ),
    (
        "ferry_cache_stale_total",
        "Requests served from a copy the origin could not confirm (--max-stale).",
        true,
    ),
    (
        "ferry_cache_passes_total",
        "Requests passed to the origin without keeping a copy.",
        true,
    ),
    (
        "ferry_cache_origin_bytes_total",
        "Bytes fetched from the origin.",
        true,
    ),
    (
        "ferry_cache_served_bytes_total",
        "File bytes served to clients.",
        true,
    ),
    (
        "ferry_cache_held_bytes",
        "Bytes of cached files held (against --max-size).",
        false,
    ),
    ("ferry_cache_held_files", "Cached files held.", false),
    (
        "ferry_cache_reserved_bytes",
        "Bytes reserved by fills under way.",
        false,
    ),
    (
        "ferry_cache_evictions_total",
        "Cached files evicted to stay under --max-size.",
        true,
    ),
    (
        "ferry_cache_fills_in_flight",
        "Files being fetched from the origin now.",
        false,
    ),
];

fn n(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Counters {
    /// Counts a request by its note (`HIT`, `MISS`, ...; anything else
    /// passed through).
    pub fn count(&self, note: &str) {
        let counter = match note {
            "HIT" => &self.hits,
            "MISS" => &self.misses,
            "COALESCED" => &self.coalesced,
            "REVALIDATED" => &self.revalidated,
            "STALE" => &self.stale,
            _ => &self.passed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A stale copy was chosen, for `why`.
    pub fn stale_chosen(&self, why: StaleReason) {
        self.stale_why.with_label_values(&[why]).inc();
    }

    /// A request to the origin (`op`: DOWNLOAD, RESUME, LIST, UPLOAD) took
    /// `took`.
    pub fn origin_request(&self, op: &str, took: Duration) {
        self.origin_time
            .with_label_values(&[op])
            .observe(took.as_secs_f64());
    }

    /// The metrics with labels or buckets, registered once.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.stale_why.clone()),
            Box::new(self.origin_time.clone()),
        ]
    }

    /// The values for `/metrics`, with the folder's `usage` and the fills
    /// in flight.
    pub fn samples(&self, usage: &Usage, fills: u64) -> Vec<Sample> {
        let values = [
            n(&self.hits),
            n(&self.misses),
            n(&self.coalesced),
            n(&self.revalidated),
            n(&self.stale),
            n(&self.passed),
            n(&self.origin_bytes),
            n(&self.served_bytes),
            usage.bytes,
            usage.entries as u64,
            usage.reserved,
            usage.evictions,
            fills,
        ];
        METRICS
            .iter()
            .zip(values)
            .map(|(&(name, help, counter), value)| Sample {
                name,
                help,
                counter,
                value: value as f64,
            })
            .collect()
    }

    /// The counters in one log line.
    pub fn report(&self, usage: &Usage) -> String {
        format!(
            "cache: {} hits, {} misses, {} coalesced, {} revalidated, {} stale, {} passed; \
             {} bytes from the origin, {} bytes served; {} files ({} bytes) held, {} bytes \
             reserved by fills, {} evictions",
            n(&self.hits),
            n(&self.misses),
            n(&self.coalesced),
            n(&self.revalidated),
            n(&self.stale),
            n(&self.passed),
            n(&self.origin_bytes),
            n(&self.served_bytes),
            usage.entries,
            usage.bytes,
            usage.reserved,
            usage.evictions,
        )
    }
}
