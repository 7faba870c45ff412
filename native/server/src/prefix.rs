//! Op 40's prefix digests, the same for every store: the checkpoints and
//! digests remembered per file version, and fair turns at hashing between
//! clients, so RESUMEs from one address cannot starve the others.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use ferry_runtime::Body;
use ferry_storage::{DigestCache, PrefixMd5, StoreError};

use crate::limits::FairPool;
use crate::store::{Note, Resumed};

/// Prefix digests remembered (file versions).
const DIGESTS: usize = 4096;
/// Hashing steps that may run at once.
const HASHING_SLOTS: usize = 2;

/// The front's prefix hashing, shared by all its connections.
#[derive(Debug)]
pub struct Prefixes {
    pool: FairPool,
    digests: Arc<DigestCache>,
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes {
            pool: FairPool::new(HASHING_SLOTS),
            digests: Arc::new(DigestCache::new(DIGESTS)),
        }
    }
}

impl Prefixes {
    /// Op 40 on an opened file: its first `position` bytes hashed (at
    /// `client`'s turns) and compared with `md5`.
    pub async fn resume(
        &self,
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
        match self.md5(body, position.into(), client).await {
            (body, Ok(digest)) if digest == md5 => Ok(Resumed::Send {
                body: body.starting_at(position.into()),
                file_size,
                note,
            }),
            (_, Ok(_)) => Ok(Resumed::Mismatch("MD5 mismatch")),
            (_, Err(e)) => Err(StoreError::Io(e)),
        }
    }

    /// The MD5 of the first `len` bytes of a body, one checkpoint interval
    /// per turn of `client`'s: any prefix of a file hashed before costs at
    /// most one interval, and a first hashing of gigabytes holds a slot for
    /// one interval at a time. A file's checkpoints and digest are
    /// remembered; a growing file (a cache's fill) is hashed uncached, once
    /// its bytes up to `len` have landed.
    pub async fn md5(
        &self,
        mut body: Body,
        len: u64,
        client: IpAddr,
    ) -> (Body, io::Result<[u8; 16]>) {
        if let Body::Growing { source, .. } = &body
            && len > 0
            && source.past(len - 1).await.is_none()
        {
            let cut = io::Error::other("the origin stopped before that position");
            return (body, Err(cut));
        }
        let mut job = match &body {
            Body::Stream { .. } | Body::Window { .. } => {
                let once = io::Error::other("a body read as it arrives has no prefix to hash");
                return (body, Err(once));
            }
            Body::File { open, .. } => self.digests.start(open.id, len),
            Body::Growing { .. } => PrefixMd5::uncached(len),
            Body::Remote { source, .. } => self.digests.start(source.version(), len),
        };
        loop {
            if let Some(digest) = job.digest() {
                return (body, Ok(digest));
            }
            let _turn = self.pool.turn(client).await;
            let digests = self.digests.clone();
            let stepped;
            (body, job, stepped) = smol::unblock(move || {
                let stepped = match &body {
                    Body::File { open, .. } => job.step(&open.file, Some(&digests)),
                    Body::Growing { source, .. } => job.step(&source.file, None),
                    Body::Remote { source, .. } => job.step(&**source, Some(&digests)),
                    Body::Stream { .. } | Body::Window { .. } => {
                        Err(io::ErrorKind::Unsupported.into())
                    }
                };
                (body, job, stepped)
            })
            .await;
            if let Err(e) = stepped {
                return (body, Err(e));
            }
        }
    }
}
