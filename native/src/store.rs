//! The server's answer seam: everything a server session's events need from
//! wherever the files live.
//!
//! The front ([`crate::server`]) turns each event into one call here and the
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
use std::sync::Arc;

use ferry_core::{ListEntry, Mask, Name};
use ferry_storage::{DigestCache, PrefixMd5, StoreError};

use crate::drive::Body;
use crate::fair::FairPool;

pub use cache::CacheStore;
pub use folder::FolderStore;
pub use s3::S3Store;

/// How a store reached an answer, for the request's log line: a cache's
/// `HIT`, `MISS`, `COALESCED`, `REVALIDATED`, `STALE` or `PASS`.
pub type Note = Option<&'static str>;

/// Where the files live, as the server's answers see them.
///
/// Every method that may block (disk, network, hashing, password checks)
/// returns a future, so one client never stalls the others.
pub trait Store: Send + Sync + 'static {
    /// What requests act on: the public files, or one user's after a login.
    type Scope: Send + Sync;
    /// An upload under way.
    type Sink: Sink;

    /// The scope of a connection that has not logged in.
    fn public(&self) -> Self::Scope;

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

    /// The MD5 of the first `len` bytes of an opened file (op 40), which
    /// comes back to be sent from there. `len` is at most its size. The
    /// hashing takes its turns fairly with other clients' (`client` is the
    /// address asking; see [`hash_prefix`]).
    fn prefix_md5(
        &self,
        body: Body,
        len: u64,
        client: IpAddr,
    ) -> impl Future<Output = (Body, io::Result<[u8; 16]>)> + Send;

    /// Starts an upload to `name`; nothing is visible until the sink is
    /// committed, and dropping it leaves nothing behind.
    fn begin_upload(
        &self,
        scope: &Self::Scope,
        name: &Name,
    ) -> impl Future<Output = Result<Self::Sink, StoreError>> + Send;

    /// Every file whose name matches the mask, in listing order.
    fn matching(
        &self,
        scope: &Self::Scope,
        mask: &Mask,
    ) -> impl Future<Output = Result<Vec<ListEntry>, StoreError>> + Send;

    /// Counts payload bytes sent to clients (for the counters).
    fn served(&self, _bytes: u64) {}

    /// Where logins are relayed instead of checked here: a cache hands a
    /// connection that logs in to its origin as it stands.
    fn relays_logins_to(&self) -> Option<&str> {
        None
    }

    /// A line of counters for the log (at shutdown and on SIGUSR1), if the
    /// store keeps any.
    fn report(&self) -> Option<String> {
        None
    }
}

/// An upload under way: bytes in, then an asynchronous commit.
pub trait Sink: Send + 'static {
    /// Appends body bytes.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;

    /// Bytes that can still be stored, if the store knows (free space).
    fn room(&self) -> Option<u64>;

    /// The client announced `size` bytes, and they are accepted.
    fn expect(&mut self, _size: u32) {}

    /// Makes the upload visible, complete, replacing any file of that name.
    fn commit(self) -> impl Future<Output = io::Result<()>> + Send;
}

/// The MD5 of the first `len` bytes of a body, one checkpoint interval per
/// turn of `client`'s in `pool`: any prefix of a file hashed before costs
/// at most one interval, and a first hashing of gigabytes holds a slot for
/// one interval at a time. A file's checkpoints and digest are remembered
/// in `digests`; a growing file (a cache's fill) is hashed uncached.
pub async fn hash_prefix(
    pool: &FairPool,
    client: IpAddr,
    digests: &Arc<DigestCache>,
    mut body: Body,
    len: u64,
) -> (Body, io::Result<[u8; 16]>) {
    let mut job = match &body {
        Body::Stream { .. } => {
            let once = io::Error::other("a body read as it arrives has no prefix to hash");
            return (body, Err(once));
        }
        Body::File { open, .. } => digests.start(open.id, len),
        Body::Growing { .. } => PrefixMd5::uncached(len),
        Body::Remote { source, .. } => digests.start(source.version(), len),
    };
    loop {
        if let Some(digest) = job.digest() {
            return (body, Ok(digest));
        }
        let _turn = pool.turn(client).await;
        let digests = digests.clone();
        let stepped;
        (body, job, stepped) = smol::unblock(move || {
            let stepped = match &body {
                Body::File { open, .. } => job.step(&open.file, Some(&digests)),
                Body::Growing { source, .. } => job.step(&source.file, None),
                Body::Remote { source, .. } => job.step(&**source, Some(&digests)),
                Body::Stream { .. } => Err(io::ErrorKind::Unsupported.into()),
            };
            (body, job, stepped)
        })
        .await;
        if let Err(e) = stepped {
            return (body, Err(e));
        }
    }
}
