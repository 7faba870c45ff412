//! The server's answer seam: everything a server session's events need from
//! wherever the files live.
//!
//! The front ([`crate::front`]) turns each event into one call here and the
//! result into the session's answer; the protocol's rules stay in the core.
//! [`FolderStore`] (a public folder and per-user private folders on local
//! disk) is the first implementation; a cache in front of an origin server
//! ([`CacheStore`]) and an S3-compatible bucket ([`S3Store`]) are the others.

mod cache;
mod folder;
mod listing;
mod s3;

use std::io;
use std::net::IpAddr;

use ferry_core::{ListEntry, Mask, Name, NameError, escape};
use ferry_storage::{Replace, StoreError};

use crate::ops::Sample;
use ferry_runtime::Body;
use ferry_runtime::upstream::Upstream;

pub use cache::CacheStore;
pub use folder::FolderStore;
pub use s3::S3Store;

/// How a store reached an answer, for the request's log line: a cache's
/// `HIT`, `MISS`, `COALESCED`, `REVALIDATED`, `STALE` or `PASS`.
pub type Note = Option<&'static str>;

/// Where the files live, as the server's answers see them.
///
/// Every method that may block (disk, network, password checks)
/// returns a future, so one client never stalls the others.
pub trait Store: Send + Sync + 'static {
    /// What requests act on: the public files, or one user's after a login.
    type Scope: Send + Sync;
    /// An upload under way.
    type Sink: Sink;

    /// The scope of a connection from `client` that has not logged in.
    fn public(&self, client: IpAddr) -> Self::Scope;

    /// Checks a login; `Ok` is the scope the next request acts on, `Err`
    /// says why the login is denied (for the log; the client only learns
    /// that it was).
    fn login(
        &self,
        user: &str,
        pass: &str,
    ) -> impl Future<Output = anyhow::Result<Self::Scope>> + Send;

    /// Every file, sorted as op 20 lists them.
    fn list(
        &self,
        scope: &Self::Scope,
    ) -> impl Future<Output = Result<(Vec<ListEntry>, Note), StoreError>> + Send;

    /// Opens a file to send it.
    fn open(
        &self,
        scope: &Self::Scope,
        name: &Name,
    ) -> impl Future<Output = Result<(Body, Note), StoreError>> + Send;

    /// Opens a file for op 40, whose prefix is hashed and whose rest alone
    /// is sent: a store may fetch bytes lazily (an object store reads just
    /// the rest). By default, as [`Store::open`].
    fn open_to_resume(
        &self,
        scope: &Self::Scope,
        name: &Name,
    ) -> impl Future<Output = Result<(Body, Note), StoreError>> + Send {
        self.open(scope, name)
    }

    /// Answers op 40 for `name` from `position`, whose first bytes the
    /// client says have the MD5 `md5`. By default the file is opened
    /// ([`Store::open_to_resume`]) for the front to hash its prefix
    /// ([`Resumed::Opened`]); a store may answer the question itself (a
    /// cache passes on to its origin what it does not hold whole).
    fn resume(
        &self,
        scope: &Self::Scope,
        name: &Name,
        _position: u32,
        _md5: [u8; 16],
    ) -> impl Future<Output = Result<Resumed, StoreError>> + Send
    where
        Self: Sized,
    {
        async move {
            match self.open_to_resume(scope, name).await {
                Ok((body, note)) => Ok(Resumed::Opened { body, note }),
                Err(e @ StoreError::Io(_)) => Err(e),
                Err(e) => Ok(Resumed::NoSuchFile(e.to_string())),
            }
        }
    }

    /// Starts an upload to `name`; nothing is visible until the sink is
    /// committed, and dropping it leaves nothing behind. With
    /// [`Replace::NewOnly`] a name that exists is refused
    /// ([`StoreError::Exists`]) and one stored meanwhile makes the commit
    /// fail.
    fn begin_upload(
        &self,
        scope: &Self::Scope,
        name: &Name,
        replace: Replace,
    ) -> impl Future<Output = Result<Self::Sink, StoreError>> + Send;

    /// Every file whose name matches the mask, in listing order.
    fn matching(
        &self,
        scope: &Self::Scope,
        mask: &Mask,
    ) -> impl Future<Output = Result<Vec<ListEntry>, StoreError>> + Send;

    /// Counts payload bytes sent to clients (for the counters).
    fn served(&self, _bytes: u64) {}

    /// Who checks the logins of this store's clients.
    fn logins(&self) -> Logins<'_>;

    /// A line of counters for the log (at shutdown and on SIGUSR1), if the
    /// store keeps any.
    fn report(&self) -> Option<String> {
        None
    }

    /// The store's own values for `/metrics`, read when scraped (a cache's
    /// hits and bytes held).
    fn samples(&self) -> Vec<Sample> {
        Vec::new()
    }

    /// The store's own metrics that have labels or histograms (the object
    /// store's requests), registered once with the others.
    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        Vec::new()
    }

    /// Whether the store can serve now, for `/healthz`: `Err` says why not
    /// in one line (a cache's origin unreachable, a bucket not answering).
    fn probe(&self) -> impl Future<Output = Result<(), String>> + Send {
        async { Ok(()) }
    }
}

/// Logs once, at start-up, the stored files of `place` that no request
/// can reach because their names break the naming rules: a line that says
/// so, then one line per name.
fn log_unreachable(place: &str, names: &[(Vec<u8>, NameError)]) {
    if names.is_empty() {
        return;
    }
    log::warn!(
        "{} name(s) in {place} break the naming rules (docs/protocol.md, section 2) and cannot \
         be requested; rename them to serve them:",
        names.len()
    );
    for (name, rule) in names {
        log::warn!("  \"{}\": {rule}", escape(name));
    }
}

/// Who checks a login's password.
#[derive(Debug, Clone, Copy)]
pub enum Logins<'a> {
    /// The store itself, with [`Store::login`].
    Checked,
    /// The origin server: a cache hands a connection that logs in over to
    /// it as it stands, and never sees the files.
    RelayedTo(&'a Upstream),
}

/// A store's answer to op 40.
#[derive(Debug)]
pub enum Resumed {
    /// The file, opened: the front hashes its prefix and compares
    /// ([`crate::prefix::Prefixes::resume`]).
    Opened {
        /// The whole file.
        body: Body,
        /// How the store reached it.
        note: Note,
    },
    /// The prefix matches: send `body` (from the position) of a file of
    /// `file_size` bytes.
    Send {
        /// The rest of the file.
        body: Body,
        /// The whole file's size.
        file_size: u64,
        /// How the store reached it.
        note: Note,
    },
    /// Result 20, and why (for the log).
    Mismatch(&'static str),
    /// Result 10, and why (for the log).
    NoSuchFile(String),
}

/// An upload under way: bytes in, then an asynchronous commit.
pub trait Sink: Send + 'static {
    /// Appends body bytes.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;

    /// Bytes that can still be stored, if the store knows (free space).
    fn room(&self) -> Option<u64>;

    /// The client announced `size` bytes, and they are accepted.
    fn expect(&mut self, _size: u32) {}

    /// Waits until the sink can take more bytes (an upload passed on no
    /// faster than its destination takes it); an error ends the upload.
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Makes the upload visible, complete, replacing any file of that name
    /// if the upload may (see [`Store::begin_upload`]).
    fn commit(self) -> impl Future<Output = io::Result<()>> + Send;
}
