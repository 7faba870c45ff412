//! MD5 of a file's first bytes, remembered by file version.
//!
//! Op 40 asks for the MD5 of the part a client holds. Hashing gigabytes on
//! every request would let a few clients saturate the disk and the CPU, so
//! digests are remembered and MD5 states are checkpointed along each file,
//! keyed on the file's identity and change markers ([`FileId`]: device,
//! inode, size, mtime and ctime to the nanosecond). A file replaced or
//! rewritten in place gets a new key and is never answered from a stale
//! digest.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ferry_core::EMPTY_MD5;
use md5::{Digest, Md5};

use crate::open_file::{FileId, OpenFile};

/// Computes the MD5 of the first `len` bytes of `file`, reading with
/// positioned reads (the file offset is left alone).
pub fn md5_prefix(file: &File, len: u64) -> std::io::Result<[u8; 16]> {
    let mut hasher = Md5::new();
    let mut buf = vec![0; 256 * 1024];
    let mut done = 0;
    while done < len {
        let want = (len - done).min(buf.len() as u64) as usize;
        let n = FileExt::read_at(file, &mut buf[..want], done)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    Ok(hasher.finalize().into())
}

/// Where prefix hashing reads from: a local file, or anything else that
/// reads at a position (an object in an object store).
pub trait ReadAt {
    /// Reads up to `buf.len()` bytes at `offset`; 0 means the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

/// Bytes between two remembered MD5 states of a file: no prefix digest
/// costs more than this much hashing once the file has been hashed.
pub const CHECKPOINT_INTERVAL: u64 = 8 << 20;

/// Prefix digests by file version: the exact digests asked before, and MD5
/// states checkpointed every [`CHECKPOINT_INTERVAL`] bytes along each file,
/// so a client asking for the MD5 of a prefix (op 40) costs at most one
/// interval of hashing, wherever the prefix ends, once the file has been
/// hashed up to there (the first time, by whoever asks first, one interval
/// per [`PrefixMd5::step`] so a scheduler can share the work out fairly).
#[derive(Debug)]
pub struct DigestCache {
    state: Mutex<State>,
    capacity: usize,
    hashed: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    exact: HashMap<(FileId, u64), [u8; 16]>,
    /// For each file version, the MD5 state after 1, 2, ... intervals.
    checkpoints: HashMap<FileId, Vec<Md5>>,
}

/// The MD5 of a file's first bytes, computed one bounded step at a time.
#[derive(Debug, Clone)]
pub struct PrefixMd5 {
    len: u64,
    done: u64,
    hasher: Md5,
    /// The file version whose checkpoints and digest are recorded, if any.
    id: Option<FileId>,
    digest: Option<[u8; 16]>,
}

impl PrefixMd5 {
    /// The MD5 of the first `len` bytes, hashed from the start and
    /// remembered nowhere.
    pub fn uncached(len: u64) -> Self {
        PrefixMd5 {
            len,
            done: 0,
            hasher: Md5::new(),
            id: None,
            digest: (len == 0).then_some(EMPTY_MD5),
        }
    }

    /// The digest, once the last step is done.
    pub fn digest(&self) -> Option<[u8; 16]> {
        self.digest
    }

    /// Hashes up to the next checkpoint boundary (at most
    /// [`CHECKPOINT_INTERVAL`] bytes) with positioned reads, recording what
    /// it reaches in `cache` if the job came from it. Returns the digest
    /// once the whole prefix is hashed.
    pub fn step(
        &mut self,
        file: &dyn ReadAt,
        cache: Option<&DigestCache>,
    ) -> std::io::Result<Option<[u8; 16]>> {
        if let Some(cache) = cache {
            cache.skip_ahead(self);
        }
        if self.digest.is_some() {
            return Ok(self.digest);
        }
        let boundary = (self.done / CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL;
        let until = self.len.min(boundary);
        let from = self.done;
        let mut buf = vec![0; 256 * 1024];
        while self.done < until {
            let want = (until - self.done).min(buf.len() as u64) as usize;
            let n = file.read_at(&mut buf[..want], self.done)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.hasher.update(&buf[..n]);
            self.done += n as u64;
        }
        if let Some(cache) = cache {
            cache.hashed.fetch_add(self.done - from, Ordering::Relaxed);
        }
        if self.done == boundary
            && let (Some(cache), Some(id)) = (cache, self.id)
        {
            cache.record_checkpoint(id, boundary, &self.hasher);
        }
        if self.done == self.len {
            let digest: [u8; 16] = self.hasher.clone().finalize().into();
            if let (Some(cache), Some(id)) = (cache, self.id) {
                cache.record_digest(id, self.len, digest);
            }
            self.digest = Some(digest);
        }
        Ok(self.digest)
    }
}

impl DigestCache {
    /// A cache holding at most `capacity` digests and as many files'
    /// checkpoints (it starts over when full).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::default(),
            capacity,
            hashed: AtomicU64::new(0),
        }
    }

    /// The MD5 of the first `len` bytes of an open file, all steps at once
    /// (see [`DigestCache::start`]).
    pub fn prefix_md5(&self, open: &OpenFile, len: u64) -> std::io::Result<[u8; 16]> {
        let mut job = self.start(open.id, len);
        loop {
            if let Some(digest) = job.step(&open.file, Some(self))? {
                return Ok(digest);
            }
        }
    }

    /// Starts the MD5 of the first `len` bytes of a file version: already
    /// done when asked before, otherwise from the nearest checkpoint at or
    /// before `len`; its steps record the checkpoints they pass.
    pub fn start(&self, id: FileId, len: u64) -> PrefixMd5 {
        let mut job = PrefixMd5::uncached(len);
        if len == 0 {
            return job;
        }
        job.id = Some(id);
        if let Some(digest) = self.lock().exact.get(&(id, len)) {
            job.digest = Some(*digest);
            return job;
        }
        self.skip_ahead(&mut job);
        job
    }

    /// Moves a job to the furthest checkpoint of its file at or before its
    /// end, if that is past where it stands (another job may have hashed
    /// further since), and finishes it when that checkpoint is its end.
    fn skip_ahead(&self, job: &mut PrefixMd5) {
        let Some(id) = job.id else {
            return;
        };
        let state = self.lock();
        let Some(states) = state.checkpoints.get(&id) else {
            return;
        };
        let k = ((job.len / CHECKPOINT_INTERVAL) as usize).min(states.len());
        let at = k as u64 * CHECKPOINT_INTERVAL;
        if k > 0 && at > job.done {
            job.done = at;
            job.hasher = states[k - 1].clone();
        }
        if job.done == job.len && job.digest.is_none() {
            job.digest = Some(job.hasher.clone().finalize().into());
        }
    }

    fn record_checkpoint(&self, id: FileId, at: u64, hasher: &Md5) {
        let mut state = self.lock();
        if state.checkpoints.len() >= self.capacity && !state.checkpoints.contains_key(&id) {
            state.checkpoints.clear();
        }
        let states = state.checkpoints.entry(id).or_default();
        // Checkpoints are kept in order, without gaps.
        if at / CHECKPOINT_INTERVAL == states.len() as u64 + 1 {
            states.push(hasher.clone());
        }
    }

    fn record_digest(&self, id: FileId, len: u64, digest: [u8; 16]) {
        let mut state = self.lock();
        if state.exact.len() >= self.capacity {
            state.exact.clear();
        }
        state.exact.insert((id, len), digest);
    }

    /// Bytes read and hashed since the cache was made (for tests and
    /// counters).
    pub fn bytes_hashed(&self) -> u64 {
        self.hashed.load(Ordering::Relaxed)
    }

    /// How many exact digests are remembered.
    pub fn len(&self) -> usize {
        self.lock().exact.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written entry.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
