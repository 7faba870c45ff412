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
        let n = file.read_at(&mut buf[..want], done)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    Ok(hasher.finalize().into())
}

/// Bytes between two remembered MD5 states of a file: no prefix digest
/// costs more than this much hashing once the file has been hashed.
pub const CHECKPOINT_INTERVAL: u64 = 8 << 20;

/// Prefix digests by file version: the exact digests asked before, and MD5
/// states checkpointed every [`CHECKPOINT_INTERVAL`] bytes along each file,
/// so a client asking for the MD5 of a prefix (op 40) costs at most one
/// interval of hashing, wherever the prefix ends, once the file has been
/// hashed up to there (the first time, by whoever asks first).
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

    /// The MD5 of the first `len` bytes of an open file: from memory when
    /// asked before, otherwise from the nearest checkpoint at or before
    /// `len`, recording the checkpoints it passes.
    pub fn prefix_md5(&self, open: &OpenFile, len: u64) -> std::io::Result<[u8; 16]> {
        if len == 0 {
            return Ok(EMPTY_MD5);
        }
        let key = (open.id, len);
        let start = {
            let state = self.lock();
            if let Some(digest) = state.exact.get(&key) {
                return Ok(*digest);
            }
            let within = (len / CHECKPOINT_INTERVAL) as usize;
            state.checkpoints.get(&open.id).and_then(|states| {
                let k = within.min(states.len());
                (k > 0).then(|| (k as u64 * CHECKPOINT_INTERVAL, states[k - 1].clone()))
            })
        };
        let (mut done, mut hasher) = start.unwrap_or((0, Md5::new()));
        let mut reached = Vec::new();
        let mut buf = vec![0; 256 * 1024];
        while done < len {
            // Stop at each checkpoint boundary to record the state there.
            let boundary = (done / CHECKPOINT_INTERVAL + 1) * CHECKPOINT_INTERVAL;
            let want = (len.min(boundary) - done).min(buf.len() as u64) as usize;
            let n = open.file.read_at(&mut buf[..want], done)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            hasher.update(&buf[..n]);
            done += n as u64;
            self.hashed.fetch_add(n as u64, Ordering::Relaxed);
            if done % CHECKPOINT_INTERVAL == 0 {
                reached.push((done / CHECKPOINT_INTERVAL, hasher.clone()));
            }
        }
        let digest: [u8; 16] = hasher.finalize().into();
        let mut state = self.lock();
        if state.exact.len() >= self.capacity {
            state.exact.clear();
        }
        state.exact.insert(key, digest);
        if state.checkpoints.len() >= self.capacity && !state.checkpoints.contains_key(&open.id) {
            state.checkpoints.clear();
        }
        let states = state.checkpoints.entry(open.id).or_default();
        for (k, md5) in reached {
            // Checkpoints are kept in order, without gaps.
            if k as usize == states.len() + 1 {
                states.push(md5);
            }
        }
        Ok(digest)
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

/// Bytes as lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
