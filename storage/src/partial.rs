//! A download in progress: `NAME.part` beside the target, kept when the
//! transfer is interrupted so the next attempt can resume from it.
//!
//! Unlike an [`Upload`](crate::Upload), a partial file is meant to outlive
//! its process: it is renamed over the target only once complete, and left
//! in place otherwise. The client checks its length and MD5 with the server
//! (op 40) before appending more.
//!
//! A download owns its partial file: [`Partial`] holds an exclusive advisory
//! lock (`flock`) on it for as long as it lives, so a second download of the
//! same name into the same folder is refused at once instead of appending
//! to the same file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;

use md5::{Digest, Md5};
use rustix::fs::{AtFlags, FileType};

use crate::digest::md5_prefix;
use crate::error::StoreError;
use ferry_core::hex;

/// The suffix of partial downloads.
pub const PART_SUFFIX: &str = ".part";

/// The prefix of a partial download whose name with [`PART_SUFFIX`] would
/// not fit in a file name; the protocol reserves it, so it never names a
/// file a server sends.
pub const HASHED_PART_PREFIX: &str = ".ferry-part-";

/// The longest file name (one path component) Linux file systems take.
const NAME_MAX: usize = 255;

/// The partial file's name for a last path component: `NAME.part` when that
/// fits in 255 bytes, otherwise `.ferry-part-` and the MD5 of the name in hex.
pub fn part_name(target: &str) -> String {
    if target.len() + PART_SUFFIX.len() <= NAME_MAX {
        return format!("{target}{PART_SUFFIX}");
    }
    format!(
        "{HASHED_PART_PREFIX}{}",
        hex(&Md5::digest(target.as_bytes()))
    )
}

/// A partial download.
#[derive(Debug)]
pub struct Partial {
    /// Set once the partial file was renamed, removed or deliberately kept.
    settled: bool,
    dir: OwnedFd,
    /// The partial file's name in `dir`.
    part: String,
    /// Its path relative to the folder the download goes to, for messages.
    shown: String,
    target: String,
    file: File,
    len: u64,
    /// The MD5 of the bytes written so far, when they were all written
    /// through [`Partial::write`] (else computed again at commit).
    hashing: Option<Hashing>,
}

impl Partial {
    /// Opens and locks the partial file of `target` in `dir`; `parent` is
    /// the path of `dir` in the download folder ("" or ending in '/').
    pub(crate) fn open(dir: OwnedFd, target: String, parent: &str) -> Result<Partial, StoreError> {
        let part = part_name(&target);
        let shown = format!("{parent}{part}");
        for name in [&target, &part] {
            match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                    return Err(StoreError::NotRegular);
                }
                Ok(_) | Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(StoreError::from_open(e)),
            }
        }
        let fd = crate::lock::exclusive(&dir, &part, &shown)?;
        let len = rustix::fs::fstat(&fd)
            .map_err(|e| StoreError::Io(e.into()))?
            .st_size as u64;
        Ok(Partial {
            settled: false,
            dir,
            part,
            shown,
            target,
            file: File::from(fd),
            len,
            hashing: (len == 0).then(Hashing::start),
        })
    }

    /// Bytes held so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing is held yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// MD5 of the bytes held.
    pub fn md5(&self) -> std::io::Result<[u8; 16]> {
        md5_prefix(&self.file, self.len)
    }

    /// Drops what is held, to start over.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.len = 0;
        self.hashing = Some(Hashing::start());
        Ok(())
    }

    /// Appends the first `len` bytes of `source` (a complete local copy
    /// the server's file grew past), copied in the kernel where it can.
    pub fn append_from(&mut self, source: &File, len: u64) -> std::io::Result<()> {
        let mut source = source;
        source.seek(SeekFrom::Start(0))?;
        self.hashing = None;
        let copied = std::io::copy(&mut source.take(len), &mut self.file)?;
        self.len += copied;
        if copied < len {
            return Err(std::io::Error::other(
                "the local file shrank while being copied",
            ));
        }
        Ok(())
    }

    /// Appends received bytes.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data)?;
        self.len += data.len() as u64;
        if let Some(hashing) = &self.hashing
            && !hashing.update(data)
        {
            self.hashing = None;
        }
        Ok(())
    }

    /// The partial file's path relative to the download folder.
    pub fn part_name(&self) -> &str {
        &self.shown
    }

    /// Gives up for now: a partial file holding bytes stays for the next
    /// attempt to resume; an empty one is removed.
    pub fn abandon(mut self) -> std::io::Result<()> {
        self.settled = true;
        if self.len == 0 {
            rustix::fs::unlinkat(&self.dir, self.part.as_str(), AtFlags::empty())?;
        }
        Ok(())
    }

    /// Removes the partial file, whatever it holds (a copy made for a check
    /// that found nothing to add).
    pub fn discard(mut self) -> std::io::Result<()> {
        self.settled = true;
        rustix::fs::unlinkat(&self.dir, self.part.as_str(), AtFlags::empty())?;
        Ok(())
    }

    /// Flushes the data, records its MD5 as what ferry wrote (see
    /// [`crate::written`]) and renames the partial file over the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        self.settled = true;
        let md5 = match self.hashing.take().and_then(Hashing::finish) {
            Some(md5) => md5,
            None => self.md5()?,
        };
        if let Err(e) = crate::written::record(&self.dir, &self.target, &self.file, &md5) {
            log::warn!(
                "cannot record what was written to {} ({e}): a later download will ask before replacing it",
                self.target
            );
        }
        self.file.sync_all()?;
        rustix::fs::renameat(
            &self.dir,
            self.part.as_str(),
            &self.dir,
            self.target.as_str(),
        )?;
        rustix::fs::fsync(&self.dir)?;
        Ok(())
    }
}

/// MD5 of a download's bytes on a thread of its own, as they arrive: on
/// another core the hashing costs the transfer nothing until it is the
/// slower of the two (a bounded queue then paces the writer).
#[derive(Debug)]
struct Hashing {
    bytes: std::sync::mpsc::SyncSender<Vec<u8>>,
    digest: std::thread::JoinHandle<[u8; 16]>,
}

/// Chunks queued for the hashing thread at most.
const HASH_QUEUE: usize = 16;

impl Hashing {
    fn start() -> Hashing {
        let (bytes, queue) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_QUEUE);
        let digest = std::thread::spawn(move || {
            let mut md5 = Md5::new();
            for chunk in queue {
                md5.update(&chunk);
            }
            md5.finalize().into()
        });
        Hashing { bytes, digest }
    }

    /// Queues `data`; false if the thread is gone (then hash at commit).
    fn update(&self, data: &[u8]) -> bool {
        self.bytes.send(data.to_vec()).is_ok()
    }

    /// The MD5 of everything queued.
    fn finish(self) -> Option<[u8; 16]> {
        drop(self.bytes);
        self.digest.join().ok()
    }
}

impl Drop for Partial {
    /// Dropped unsettled (a download cancelled, a check that failed before
    /// any byte came): bytes held stay for the next attempt, an empty
    /// partial file goes.
    fn drop(&mut self) {
        if !self.settled && self.len == 0 {
            let _ = rustix::fs::unlinkat(&self.dir, self.part.as_str(), AtFlags::empty());
        }
    }
}
