//! ferry's client commands: one request per connection, driven by the
//! core's `ClientSession`, confined to a local folder.
//!
//! [`exchange`] runs one request through the runtime's upstream exchange
//! (`ferry_runtime::upstream`), which hands events and body bytes to a
//! `Handler`: each command keeps its files in its own module (`ls`, `get`
//! for get and resume, `put`, `mget`). Every local path goes through the
//! storage crate's `Folder`, so the client, like the server, never reads or
//! writes outside its folder, and every name a server sends is checked by
//! the core before anything is written.
//!
//! The terminal stays with the binary: it passes the progress display
//! ([`Progress`]) and turns a [`ClientError`] into an exit code.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::{ClientSession, Limits, Name, Request};
use ferry_runtime::Handler;
use ferry_runtime::upstream::{self, ExchangeError, Upstream};
use ferry_storage::StoreError;

use crate::progress::Silent;

mod error;
mod get;
mod ls;
mod mget;
mod progress;
mod put;
pub mod trust;

pub use error::ClientError;
pub use get::{GetOptions, get, get_to};
pub use ls::{list, ls};
pub use mget::mget;
pub use progress::{Progress, ProgressDisplay};
pub use put::{put, put_tree};
pub use trust::Trust;

/// Where and how to reach a server, and how the client behaves meanwhile.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The server, the login and the limits.
    pub upstream: Upstream,
    /// How much the client says on stderr.
    pub verbosity: Verbosity,
    /// Makes the progress display of a transfer (a bar on a terminal);
    /// none: nothing is shown.
    pub progress: Option<ProgressDisplay>,
    /// How a `tls://` server is trusted, and what it presented.
    pub trust: Option<Arc<Trust>>,
    /// Asks the user a yes-or-no question (on a terminal); none: nobody
    /// can be asked.
    pub ask: Option<fn(&str) -> bool>,
}

/// How much the client says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// What happened to each file, and progress bars on a terminal.
    #[default]
    Normal,
    /// Also what was asked of the server and the digests checked (`-v`).
    Verbose,
}

impl Remote {
    /// Says what happened (not with `-q`).
    pub fn say(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{message}");
        }
    }

    /// Says more (only with `-v`).
    pub fn detail(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{message}");
        }
    }

    /// The progress display of a transfer called `label` (nothing with
    /// `-q`).
    pub fn progress(&self, label: &str) -> Box<dyn Progress> {
        match (self.verbosity, self.progress) {
            (Verbosity::Quiet, _) | (_, None) => Box::new(Silent),
            (_, Some(display)) => display(label),
        }
    }

    /// Paces transfers to `--limit-rate`, if given.
    pub fn pace(&self) -> Pace {
        Pace::new(self.upstream.limit_rate)
    }

    /// The limits names and masks are checked against.
    pub fn limits(&self) -> &Limits {
        &self.upstream.limits
    }
}

/// Keeps a transfer under a rate: after each batch of bytes, sleeps until
/// the average since the start is back under it. The client moves one
/// transfer at a time, so sleeping holds up nothing else.
#[derive(Debug)]
pub struct Pace {
    rate: Option<u64>,
    /// When the first bytes moved: time spent before (connecting, hashing
    /// a part for a resume) is not credited as a burst allowance.
    started: Option<Instant>,
    bytes: u64,
}

impl Pace {
    fn new(rate: Option<u64>) -> Self {
        Pace {
            rate,
            started: None,
            bytes: 0,
        }
    }

    /// Counts `bytes` moved, then waits if ahead of the rate.
    pub fn after(&mut self, bytes: u64) {
        let Some(rate) = self.rate else { return };
        let started = *self.started.get_or_insert_with(Instant::now);
        self.bytes += bytes;
        let due = Duration::from_secs_f64(self.bytes as f64 / rate as f64);
        if let Some(ahead) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(ahead);
        }
    }
}

/// Checks the form of `HOST:PORT` before anything connects (a bad one is a
/// usage error, exit 2).
pub fn check_address(addr: &str) -> Result<(), ClientError> {
    upstream::check_address(addr).map_err(ClientError::Usage)
}

/// Runs one request on a fresh connection; `x` is what the command does
/// with the answers.
pub async fn exchange<X: Handler<ClientSession, Error = ClientError>>(
    remote: &Remote,
    request: Request,
    x: &mut X,
) -> Result<(), ClientError> {
    let first = upstream::exchange(&remote.upstream, request.clone(), x).await;
    if let Err(e) = &first
        && trusted_now(remote, e)?
    {
        // The same request again, now that the key is trusted.
        let again = upstream::exchange(&remote.upstream, request, x).await;
        return again.map_err(ClientError::from);
    }
    first.map_err(ClientError::from)
}

/// After an exchange that failed: whether it failed on a certificate no
/// root vouches for whose key the user has just trusted (try again), or
/// `Err` if the key is refused.
pub fn trusted_now<E>(remote: &Remote, e: &ExchangeError<E>) -> Result<bool, ClientError> {
    match (e, &remote.trust) {
        (ExchangeError::Certificate(_), Some(trust)) => match trust.unknown_key() {
            Some(seen) => trust_first_use(remote, trust, &seen).map(|()| true),
            None => Ok(false),
        },
        _ => Ok(false),
    }
}

/// A certificate no root vouches for, with the key `seen`: refused loudly
/// if another key is known for the address, else asked about on a
/// terminal (and kept if accepted), else refused with the command that
/// trusts it.
fn trust_first_use(remote: &Remote, trust: &Trust, seen: &str) -> Result<(), ClientError> {
    let address = &trust.address;
    if let Some(known) = trust.known_key() {
        return Err(ClientError::Untrusted(format!(
            "the key of {address} has CHANGED: known as {known}, now {seen}. Someone may be \
             intercepting the connection, or the server has a new key; if the change is \
             expected: ferry known-hosts remove {address}, then connect again"
        )));
    }
    let question = format!(
        "{address} presents a certificate no trusted root vouches for.\n\
         Its key's fingerprint is {seen} (`ferry serve` prints its own).\n\
         Trust it from now on?"
    );
    match remote.ask {
        Some(ask) if ask(&question) => trust.accept(seen),
        Some(_) => Err(ClientError::Untrusted(format!(
            "{address} is not trusted: its key {seen} was not accepted"
        ))),
        None => Err(ClientError::Untrusted(format!(
            "{address} presents a certificate no trusted root vouches for, with the key {seen}; \
             if that is the server's (`ferry serve` prints it), trust it with: ferry known-hosts \
             add {address} --fingerprint {seen} (or give --ca FILE)"
        ))),
    }
}

pub use upstream::shown;

/// Checks a name given on the command line or typed in the shell.
pub fn local_name(text: &str, limits: &Limits) -> Result<Name, ClientError> {
    Name::parse(text.as_bytes(), limits).map_err(|e| {
        ClientError::Usage(format!(
            "\"{}\" cannot be used: {e} (names are relative paths, with '/' between folders)",
            shown(text.as_bytes())
        ))
    })
}

fn store_error(what: &str, name: &str, e: StoreError) -> ClientError {
    ClientError::Local(format!(
        "cannot {what} \"{}\" in the local folder: {e}",
        shown(name.as_bytes())
    ))
}

/// A size in binary units as messages show it: `15 B`, `1.46 KiB`,
/// `1.40 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}B", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn sizes_read_as_binary_units_with_two_decimals() {
        assert_eq!(human(15), "15 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1024), "1.00 KiB");
        assert_eq!(human(1_500), "1.46 KiB");
        assert_eq!(human(1_500_000), "1.43 MiB");
        assert_eq!(human(1_500_000_000), "1.40 GiB");
        assert_eq!(human(1_500_000_000_000), "1.36 TiB");
        assert_eq!(human(u64::MAX), "16.00 EiB");
    }
}
