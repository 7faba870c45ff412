//! Op 40's prefix digests, the same for every store: the checkpoints and
//! digests remembered per file version, and fair turns at hashing between
//! clients, so RESUMEs from one address cannot starve the others.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ferry_runtime::Body;
use ferry_storage::{DigestCache, PrefixMd5, StoreError};

use crate::limits::FairPool;
use crate::ops::Sample;
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
    /// Turns taken at hashing, and the time spent waiting for them (µs).
    turns: AtomicU64,
    waited_us: AtomicU64,
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes {
            pool: FairPool::new(HASHING_SLOTS),
            digests: Arc::new(DigestCache::new(DIGESTS)),
            turns: AtomicU64::new(0),
            waited_us: AtomicU64::new(0),
        }
    }
}

impl Prefixes {
    /// For `/metrics`: bytes hashed for op 40, turns taken at hashing and
    /// the time spent waiting for them.
    pub fn samples(&self) -> Vec<Sample> {
        vec![
            Sample {
                name: "ferry_prefix_hashed_bytes_total",
                help: "Bytes read and hashed to check RESUME prefixes (op 40).",
                counter: true,
                value: self.digests.bytes_hashed() as f64,
            },
            Sample {
                name: "ferry_prefix_turns_total",
                help: "Turns taken at prefix hashing (one checkpoint interval each).",
                counter: true,
                value: self.turns.load(Ordering::Relaxed) as f64,
            },
            Sample {
                name: "ferry_prefix_queue_wait_seconds_total",
                help: "Time RESUMEs waited for their turns at prefix hashing.",
                counter: true,
                value: self.waited_us.load(Ordering::Relaxed) as f64 / 1e6,
            },
        ]
    }

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
            // A stream or a window is read once, as it arrives; bytes in
            // memory come only from a plain download (RESUME asks the
            // store for a `Remote` body).
            Body::Stream { .. } | Body::Window { .. } | Body::Bytes { .. } => {
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
            let asked = Instant::now();
            let _turn = self.pool.turn(client).await;
            self.turns.fetch_add(1, Ordering::Relaxed);
            let waited = asked.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
            self.waited_us.fetch_add(waited, Ordering::Relaxed);
            let digests = self.digests.clone();
            let stepped;
            (body, job, stepped) = smol::unblock(move || {
                let stepped = match &body {
                    Body::File { open, .. } => job.step(&open.file, Some(&digests)),
                    Body::Growing { source, .. } => job.step(&source.file, None),
                    Body::Remote { source, .. } => job.step(&**source, Some(&digests)),
                    Body::Stream { .. } | Body::Window { .. } | Body::Bytes { .. } => {
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
