//! Running as a service: what operators' tools ask of a server.
//!
//! - `metrics`: counters and histograms in Prometheus's text format;
//! - `health`: whether the store can serve, probed every few seconds;
//! - `endpoint`: `GET /metrics` and `GET /healthz` (`--metrics ADDR:PORT`);
//! - `systemd`: readiness and stopping notices (`Type=notify`).

pub mod endpoint;
pub mod health;
pub mod metrics;
pub mod systemd;

pub use health::Health;
pub use metrics::{Metrics, Outcome, Refused, Sample};
