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
use std::sync::Arc;

use ferry_core::{ListEntry, Mask, Name, NameError, escape};
use ferry_storage::{DigestCache, PrefixMd5, Replace, StoreError};

use crate::limits::FairPool;
use ferry_runtime::Body;

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

    /// Answers op 40 for `name` from `position`, whose first bytes the
    /// client says have the MD5 `md5`. By default the file is opened
    /// ([`Store::open_to_resume`]) and its prefix hashed here
    /// ([`Store::prefix_md5`]); a store may pass the question on instead (a
    /// cache, for what it does not hold whole).
    fn resume(
        &self,
        scope: &Self::Scope,
        name: &Name,
        position: u32,
        md5: [u8; 16],
        client: IpAddr,
    ) -> impl Future<Output = Result<Resumed, StoreError>> + Send
    where
        Self: Sized,
    {
        async move {
            let (body, note) = match self.open_to_resume(scope, name).await {
                Ok(opened) => opened,
                Err(e @ StoreError::Io(_)) => return Err(e),
                Err(e) => return Ok(Resumed::NoSuchFile(e.to_string())),
            };
            resume_opened(self, body, note, position, md5, client).await
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logins<'a> {
    /// The store itself, with [`Store::login`].
    Checked,
    /// The origin server at this `HOST:PORT`: a cache hands a connection
    /// that logs in over to it as it stands, and never sees the files.
    RelayedTo(&'a str),
}

/// A store's answer to op 40.
#[derive(Debug)]
pub enum Resumed {
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

/// Op 40 on an opened file: its first `position` bytes hashed and
/// compared with `md5`.
pub async fn resume_opened<St: Store>(
    store: &St,
    body: Body,
    note: Note,
    position: u32,
    md5: [u8; 16],
    client: IpAddr,
) -> Result<Resumed, StoreError> {
    let file_size = body.size();
    // Past the end there is no prefix to hash (the core answers 20).
    if u64::from(position) > file_size {
        return Ok(Resumed::Mismatch("position past the end"));
    }
    match store.prefix_md5(body, position.into(), client).await {
        (body, Ok(digest)) if digest == md5 => Ok(Resumed::Send {
            body: body.starting_at(position.into()),
            file_size,
            note,
        }),
        (_, Ok(_)) => Ok(Resumed::Mismatch("MD5 mismatch")),
        (_, Err(e)) => Err(StoreError::Io(e)),
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

    /// Waits until the sink can take more bytes (an upload passed on no
    /// faster than its destination takes it); an error ends the upload.
    fn ready(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        async { Ok(()) }
    }

    /// Makes the upload visible, complete, replacing any file of that name
    /// if the upload may (see [`Store::begin_upload`]).
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
        Body::Stream { .. } | Body::Window { .. } => {
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
                Body::Stream { .. } | Body::Window { .. } => Err(io::ErrorKind::Unsupported.into()),
            };
            (body, job, stepped)
        })
        .await;
        if let Err(e) = stepped {
            return (body, Err(e));
        }
    }
}
