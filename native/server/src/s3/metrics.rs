//! The object store's requests as `/metrics` shows them: by HTTP method and
//! status, the retries, and how long each try took.

use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts};

use crate::ops::metrics::DURATION_BUCKETS;

/// The object store's counters (cheap to clone: they share their values).
#[derive(Clone)]
pub struct S3Metrics {
    requests: IntCounterVec,
    retries: IntCounter,
    duration: HistogramVec,
}

impl std::fmt::Debug for S3Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Metrics").finish_non_exhaustive()
    }
}

impl S3Metrics {
    /// All at zero.
    pub fn new() -> prometheus::Result<S3Metrics> {
        Ok(S3Metrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "ferry_s3_requests_total",
                    "Requests to the object store (each try), by HTTP method and status \
                     (error: no answer).",
                ),
                &["method", "status"],
            )?,
            retries: IntCounter::new(
                "ferry_s3_retries_total",
                "Requests to the object store tried again after a failure that may pass.",
            )?,
            duration: HistogramVec::new(
                HistogramOpts::new(
                    "ferry_s3_request_duration_seconds",
                    "How long the object store took to answer a try (its headers), by HTTP \
                     method.",
                )
                .buckets(DURATION_BUCKETS.to_vec()),
                &["method"],
            )?,
        })
    }

    /// One try of `request` (its words start with the operation: `GET`,
    /// `PUT`, `HEAD`, `LIST`), answered with `status` (`None`: no answer)
    /// after `took`.
    pub fn tried(&self, request: &str, status: Option<u16>, took: Duration) {
        let method = match request.split(' ').next() {
            Some("PUT") => "PUT",
            Some("HEAD") => "HEAD",
            Some("DELETE") => "DELETE",
            _ => "GET",
        };
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        self.requests.with_label_values(&[method, &status]).inc();
        self.duration
            .with_label_values(&[method])
            .observe(took.as_secs_f64());
    }

    /// A try failed and is tried again.
    pub fn retried(&self) {
        self.retries.inc();
    }

    /// Everything, for the registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.retries.clone()),
            Box::new(self.duration.clone()),
        ]
    }
}
