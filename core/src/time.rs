//! Time as the core sees it: a number handed in by the caller.
//!
//! The core never reads a clock. The native side passes the socket clock, the
//! trace decoder passes each capture record's timestamp, and tests pass
//! whatever they like. That keeps every run deterministic and lets the same
//! code build for `wasm32-unknown-unknown`.

use core::fmt;

/// A point in time, in microseconds since an origin the caller chooses.
///
/// Only differences matter to the core, so the origin may be the Unix epoch
/// (pcap timestamps), the start of the process, or zero in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The timestamp `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// This timestamp moved `micros` microseconds later, saturating at the end
    /// of time instead of wrapping.
    pub const fn saturating_add(self, micros: u64) -> Self {
        Self(self.0.saturating_add(micros))
    }

    /// Microseconds from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn micros_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}
