//! ferry's server side: everything `ferry serve` and `ferry cache` run,
//! above the runtime (`ferry-runtime`) and below the command line.
//!
//! - [`front`]: accepting connections, one server session per connection
//!   driven by the runtime's loop, the answer to every event, the relay of
//!   a login through a cache, and the log line.
//! - [`limits`]: what one client may take: connections per address,
//!   failed-login delays, upload quotas, fair turns at heavy work.
//! - [`store`]: the answer seam, and where the files live: a folder, an
//!   object store, or a cache in front of an origin; [`prefix`]: op 40's
//!   prefix digests, the same for every store.
//! - [`s3`]: the object store's HTTP client; [`users`] and [`verifier`]:
//!   the users file and password checks.
//! - [`settings`]: what a front runs with, as the binary validates it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod demo;
pub mod front;
pub mod limits;
pub mod ops;
pub mod prefix;
pub mod s3;
pub mod settings;
pub mod store;
pub mod users;
pub mod verifier;

pub use front::{run, run_cache};
