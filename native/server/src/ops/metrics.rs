//! What an operator's tools ask of a running server (`--metrics ADDR:PORT`):
//! counters and histograms in Prometheus's text format at `GET /metrics`,
//! and whether it can serve at `GET /healthz`.
//!
//! No label carries a client address, a file name or a user name: a
//! label's values are a handful of words, whatever the traffic.

use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Buckets of every duration histogram, in seconds: 1 ms to 1 hour, fit
/// for a 4 KiB request and for a transfer of gigabytes alike.
pub const DURATION_BUCKETS: [f64; 19] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0, 1800.0, 3600.0,
];

/// Why a connection was refused or cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address already had its share (`--max-connections-per-address`).
    PerAddress,
    /// Every slot was taken (`--max-connections`).
    Total,
    /// The request did not arrive whole in time (`--request-timeout`).
    RequestTimeout,
    /// The client stopped making progress (`--timeout`), before or during
    /// a transfer.
    IdleTimeout,
    /// Plain ferry bytes on the TLS port (answered with a TLS alert).
    NotTls,
    /// A TLS handshake that failed (the client refused the certificate,
    /// offered no common version, or broke TLS).
    TlsHandshake,
}

impl Refused {
    fn label(self) -> &'static str {
        match self {
            Refused::PerAddress => "per_address",
            Refused::Total => "total",
            Refused::RequestTimeout => "request_timeout",
            Refused::IdleTimeout => "idle_timeout",
            Refused::NotTls => "not_tls",
            Refused::TlsHandshake => "tls_handshake",
        }
    }
}

/// How a request ended, as its log line says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered as asked.
    Ok,
    /// No such file (or one the client may not see).
    NotFound,
    /// Refused, for this reason (`quota`, `read_only`, `exists`...).
    Refused(&'static str),
    /// The client went away before the end.
    Aborted,
    /// A deadline passed (`--request-timeout`, `--timeout`).
    TimedOut,
    /// The server failed (a disk, the origin, the store).
    Failed,
}

impl Outcome {
    /// Its `outcome` and `reason` labels.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Ok => ("ok", ""),
            Outcome::NotFound => ("not_found", ""),
            Outcome::Refused(reason) => ("refused", reason),
            Outcome::Aborted => ("aborted", ""),
            Outcome::TimedOut => ("timed_out", ""),
            Outcome::Failed => ("failed", ""),
        }
    }
}

/// A value read when scraped (a store's own counters, the process).
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its name, units included (`ferry_cache_held_bytes`).
    pub name: &'static str,
    /// What it counts.
    pub help: &'static str,
    /// A counter (only grows) rather than a gauge.
    pub counter: bool,
    /// Its value.
    pub value: f64,
}

/// Every metric of one server.
pub struct Metrics {
    registry: Registry,
    /// When the process started (seconds since the epoch).
    start: u64,
    accepted: IntCounter,
    refused: IntCounterVec,
    requests: IntCounterVec,
    sent: IntCounterVec,
    received: IntCounterVec,
    duration: HistogramVec,
    logins: IntCounterVec,
    throttled: IntCounter,
}

impl Metrics {
    /// The metrics of a server, all at zero, with a store's own
    /// (`collectors`, such as the object store's requests).
    pub fn new(collectors: Vec<Box<dyn Collector>>) -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        for collector in collectors {
            registry.register(collector)?;
        }
        let counter = |name: &str, help: &str, labels: &[&str]| -> anyhow::Result<IntCounterVec> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let accepted = IntCounter::new(
            "ferry_connections_accepted_total",
            "Connections accepted (refused ones included).",
        )?;
        registry.register(Box::new(accepted.clone()))?;
        let refused = counter(
            "ferry_connections_refused_total",
            "Connections refused or cut, by reason: per_address \
             (--max-connections-per-address), total (--max-connections), request_timeout \
             (--request-timeout), idle_timeout (--timeout), not_tls (plain bytes on the TLS \
             port), tls_handshake (a failed handshake).",
            &["reason"],
        )?;
        let requests = counter(
            "ferry_requests_total",
            "Requests by operation and outcome (ok, not_found, refused with its reason, \
             aborted by the client, timed_out, failed).",
            &["op", "outcome", "reason"],
        )?;
        let sent = counter(
            "ferry_sent_bytes_total",
            "Bytes of file data and listings sent, by operation.",
            &["op"],
        )?;
        let received = counter(
            "ferry_received_bytes_total",
            "Bytes of file data received (uploads), by operation.",
            &["op"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "ferry_request_duration_seconds",
                "From a connection's accept to its close (its request's arrival and the \
                 linger after the answer included), by operation.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["op"],
        )?;
        registry.register(Box::new(duration.clone()))?;
        let logins = counter(
            "ferry_logins_total",
            "Logins (op 60), by result: accepted or denied (at a cache: by the origin).",
            &["result"],
        )?;
        let throttled = IntCounter::new(
            "ferry_logins_throttled_total",
            "Logins made to wait first, after failures from their address.",
        )?;
        registry.register(Box::new(throttled.clone()))?;
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Metrics {
            start,
            registry,
            accepted,
            refused,
            requests,
            sent,
            received,
            duration,
            logins,
            throttled,
        })
    }

    /// A connection was accepted (and may yet be refused).
    pub fn accepted(&self) {
        self.accepted.inc();
    }

    /// A connection was refused before any request.
    pub fn refused(&self, why: Refused) {
        self.refused.with_label_values(&[why.label()]).inc();
    }

    /// A request ended: its operation (`-` for none), how, the bytes each
    /// way and how long the connection took.
    pub fn request(&self, op: &str, outcome: Outcome, sent: u64, received: u64, took: Duration) {
        let (outcome, reason) = outcome.labels();
        self.requests
            .with_label_values(&[op, outcome, reason])
            .inc();
        if sent > 0 {
            self.sent.with_label_values(&[op]).inc_by(sent);
        }
        if received > 0 {
            self.received.with_label_values(&[op]).inc_by(received);
        }
        self.duration
            .with_label_values(&[op])
            .observe(took.as_secs_f64());
    }

    /// A login's result: `accepted` or `denied`.
    pub fn login(&self, result: &'static str) {
        self.logins.with_label_values(&[result]).inc();
    }

    /// A login made to wait after failures from its address.
    pub fn throttled(&self) {
        self.throttled.inc();
    }

    /// Everything, in Prometheus's text format, with values read now: the
    /// store's (`store`) and the process's.
    pub fn text(&self, store: Vec<Sample>) -> String {
        let mut families = self.registry.gather();
        for sample in store.iter().chain(&process(self.start)) {
            if let Ok(metric) = metric(sample) {
                families.extend(metric.collect());
            }
        }
        families.sort_by(|a, b| a.name().cmp(b.name()));
        TextEncoder::new()
            .encode_to_string(&families)
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A sample as a metric of its own.
fn metric(sample: &Sample) -> prometheus::Result<Box<dyn Collector>> {
    Ok(if sample.counter {
        let c = prometheus::Counter::new(sample.name, sample.help)?;
        c.inc_by(sample.value);
        Box::new(c)
    } else {
        let g = prometheus::Gauge::new(sample.name, sample.help)?;
        g.set(sample.value);
        Box::new(g)
    })
}

/// The process: resident memory, open descriptors, threads, start time
/// (from /proc, as Prometheus's own client libraries read them).
fn process(start: u64) -> Vec<Sample> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    vec![
        Sample {
            name: "process_resident_memory_bytes",
            help: "Resident memory size in bytes.",
            counter: false,
            value: (field("VmRSS:") * 1024) as f64,
        },
        Sample {
            name: "process_open_fds",
            help: "Number of open file descriptors.",
            counter: false,
            value: fds as f64,
        },
        Sample {
            name: "process_threads",
            help: "Number of OS threads in the process.",
            counter: false,
            value: field("Threads:") as f64,
        },
        Sample {
            name: "process_start_time_seconds",
            help: "Start time of the process since the Unix epoch, in seconds.",
            counter: false,
            value: start as f64,
        },
    ]
}
