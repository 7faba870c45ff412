//! MD5 of a file's first bytes, remembered by file version.
//!
//! Op 40 asks for the MD5 of the part a client holds. Hashing gigabytes on
//! every request would let a few clients saturate the disk, so results are
//! remembered, keyed on the file's identity and change markers
//! ([`FileId`]: device, inode, size, mtime and ctime to the nanosecond) and
//! the prefix length. A file replaced or rewritten in place gets a new key
//! and is never answered from a stale digest.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

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

/// Remembers prefix digests by file version.
#[derive(Debug)]
pub struct DigestCache {
    entries: Mutex<HashMap<(FileId, u64), [u8; 16]>>,
    capacity: usize,
}

impl DigestCache {
    /// A cache holding at most `capacity` digests (it starts over when full).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The MD5 of the first `len` bytes of an open file, from memory when
    /// this version of the file was hashed before.
    pub fn prefix_md5(&self, open: &OpenFile, len: u64) -> std::io::Result<[u8; 16]> {
        if len == 0 {
            return Ok(EMPTY_MD5);
        }
        let key = (open.id, len);
        if let Some(digest) = self.lock().get(&key) {
            return Ok(*digest);
        }
        let digest = md5_prefix(&open.file, len)?;
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, digest);
        Ok(digest)
    }

    /// How many digests are remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(FileId, u64), [u8; 16]>> {
        // A panic while holding the lock cannot leave a half-written entry.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Bytes as lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
