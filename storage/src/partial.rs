//! A download in progress: `NAME.part` beside the target, kept when the
//! transfer is interrupted so the next attempt can resume from it.
//!
//! Unlike an [`Upload`](crate::Upload), a partial file is meant to outlive
//! its process: it is renamed over the target only once complete, and left
//! in place otherwise. The client checks its length and MD5 with the server
//! (op 40) before appending more.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::digest::md5_prefix;
use crate::error::StoreError;

/// The suffix of partial downloads.
pub const PART_SUFFIX: &str = ".part";

/// A partial download.
#[derive(Debug)]
pub struct Partial {
    dir: OwnedFd,
    part: String,
    target: String,
    file: File,
    len: u64,
}

impl Partial {
    pub(crate) fn open(dir: OwnedFd, target: String) -> Result<Partial, StoreError> {
        let part = format!("{target}{PART_SUFFIX}");
        for name in [&target, &part] {
            match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                    return Err(StoreError::NotRegular);
                }
                Ok(_) | Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(StoreError::from_open(e)),
            }
        }
        let fd = rustix::fs::openat(
            &dir,
            part.as_str(),
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::APPEND,
            Mode::from_raw_mode(0o644),
        )
        .map_err(StoreError::from_open)?;
        let len = rustix::fs::fstat(&fd)
            .map_err(|e| StoreError::Io(e.into()))?
            .st_size as u64;
        Ok(Partial {
            dir,
            part,
            target,
            file: File::from(fd),
            len,
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
        Ok(())
    }

    /// Appends received bytes.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data)?;
        self.len += data.len() as u64;
        Ok(())
    }

    /// The name of the partial file, relative to its folder.
    pub fn part_name(&self) -> &str {
        &self.part
    }

    /// Gives up for now: a partial file holding bytes stays for the next
    /// attempt to resume; an empty one is removed.
    pub fn abandon(self) -> std::io::Result<()> {
        if self.len == 0 {
            rustix::fs::unlinkat(&self.dir, self.part.as_str(), AtFlags::empty())?;
        }
        Ok(())
    }

    /// Flushes the data and renames the partial file over the target.
    pub fn commit(self) -> std::io::Result<()> {
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
