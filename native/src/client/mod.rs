//! The client: one request per connection, driven by the core's
//! `ClientSession`, confined to a local folder.
//!
//! [`exchange`] runs one request through the runtime's upstream exchange
//! (`ferry_runtime::upstream`), which hands events and body bytes to a
//! `Handler`: each command keeps its files
//! in its own module (`ls`, `get` for get and resume, `put`, `mget`). Every
//! local path goes through the storage crate's `Folder`, so the client, like
//! the server, never reads or writes outside its folder, and every name a
//! server sends is checked by the core before anything is written.

use std::time::{Duration, Instant};

use async_signal::Signals;
use ferry_core::{ClientSession, Limits, Name, Request};
use ferry_runtime::Handler;
use ferry_runtime::upstream::{self, Upstream};
use ferry_storage::StoreError;
use futures_lite::{StreamExt, future};

use crate::error::ClientError;
use crate::progress::Progress;

mod get;
mod ls;
mod mget;
mod put;

pub use get::{GetOptions, get, get_to};
pub use ls::{list, ls};
pub use mget::mget;
pub use put::{put, put_tree};

#[cfg(test)]
mod tests {
    use super::check_address;

    #[test]
    fn addresses_need_a_host_and_a_port_and_ipv6_needs_brackets() {
        for good in [
            "127.0.0.1:20000",
            "localhost:1",
            "[::1]:20000",
            "[fe80::1%eth0]:80",
        ] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        let says = |addr: &str| check_address(addr).unwrap_err().to_string();
        assert!(says("::1").contains("[::1]:20000"), "{}", says("::1"));
        assert!(
            says("::1:20000").contains("in brackets"),
            "{}",
            says("::1:20000")
        );
        assert!(says("[::1]").contains("has no port"), "{}", says("[::1]"));
        assert!(says("host").contains("has no port"));
        assert!(says("host:abc").contains("from 1 to 65535"));
        assert!(says("host:99999").contains("from 1 to 65535"));
        assert!(says("host:0").contains("from 1 to 65535"));
        assert!(says(":20000").contains("has no host"));
        for bad in ["::1", "[::1]", "host:abc", "host:99999"] {
            assert_eq!(check_address(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }
}

/// Where and how to reach a server, and how the client behaves meanwhile.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The server, the login and the limits.
    pub upstream: Upstream,
    /// How much the client says on stderr.
    pub verbosity: Verbosity,
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

    /// A progress bar for `label` (none with `-q`, nor off a terminal).
    pub fn progress(&self, label: &str) -> Progress {
        match self.verbosity {
            Verbosity::Quiet => Progress::silent(),
            _ => Progress::new(label),
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
    upstream::exchange(&remote.upstream, request, x)
        .await
        .map_err(ClientError::from)
}

pub use upstream::shown;

/// Checks a name given on the command line or typed in the shell.
pub fn local_name(text: &str, limits: &Limits) -> Result<Name, ClientError> {
    Name::parse(text.as_bytes(), limits).map_err(|e| {
        ClientError::Usage(format!(
            "\"{}\" cannot be used: {e} (names are relative to --dir, with '/' between folders)",
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

fn human(bytes: u64) -> String {
    indicatif::BinaryBytes(bytes).to_string()
}

/// Runs a transfer until it ends or Ctrl-C cancels it. A cancelled
/// download keeps its partial file: the same command resumes it.
pub fn cancellable(
    signals: &mut Signals,
    transfer: impl Future<Output = Result<(), ClientError>>,
) -> Result<(), ClientError> {
    drain(signals);
    smol::block_on(future::or(transfer, async {
        signals.next().await;
        Err(ClientError::Interrupted(
            "cancelled (Ctrl-C); a partial download is kept: the same command resumes it".into(),
        ))
    }))
}

/// Forgets a Ctrl-C from before: it does not cancel what comes next.
pub fn drain(signals: &mut Signals) {
    while smol::block_on(future::poll_once(signals.next())).is_some() {}
}
