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
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, Stat};

use crate::digest::{hex, md5_prefix};
use crate::error::StoreError;

/// The suffix of partial downloads.
pub const PART_SUFFIX: &str = ".part";

/// The prefix of a partial download whose name with [`PART_SUFFIX`] would
/// not fit in a file name; the protocol reserves it, so it never names a
/// file a server sends.
pub const HASHED_PART_PREFIX: &str = ".ferry-part-";

/// The longest file name (one path component) Linux file systems take.
const NAME_MAX: usize = 255;

/// How many times a lost race with a rename or an unlink of the partial file
/// is retried before giving up.
const LOCK_ATTEMPTS: usize = 8;

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
        let fd = lock(&dir, &part, &shown)?;
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

    /// Appends the first `len` bytes of `source` (a complete local copy
    /// the server's file grew past), copied in the kernel where it can.
    pub fn append_from(&mut self, source: &File, len: u64) -> std::io::Result<()> {
        let mut source = source;
        source.seek(SeekFrom::Start(0))?;
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

    /// Flushes the data and renames the partial file over the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        self.settled = true;
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

/// Opens (creating it if missing) and locks the partial file `part`. The
/// lock is taken without waiting; once held, the name must still lead to the
/// locked file: the previous holder may have renamed it into place or
/// removed it between our open and our lock, and then we start again.
fn lock(dir: &OwnedFd, part: &str, shown: &str) -> Result<OwnedFd, StoreError> {
    for _ in 0..LOCK_ATTEMPTS {
        let fd = rustix::fs::openat(
            dir,
            part,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::APPEND,
            Mode::from_raw_mode(0o644),
        )
        .map_err(StoreError::from_open)?;
        let held = rustix::fs::fstat(&fd).map_err(|e| StoreError::Io(e.into()))?;
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(StoreError::Busy {
                    file: shown.to_owned(),
                    holder: holder(&held),
                });
            }
            // File systems without locks (some NFS, FUSE and 9p setups):
            // carry on unlocked rather than refuse every download.
            Err(
                e @ (rustix::io::Errno::NOLCK
                | rustix::io::Errno::OPNOTSUPP
                | rustix::io::Errno::NOSYS),
            ) => {
                log::warn!(
                    "{shown} cannot be locked ({e}): another download of it would not be noticed"
                );
                return Ok(fd);
            }
            Err(e) => return Err(StoreError::Io(e.into())),
        }
        match rustix::fs::statat(dir, part, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(now) if now.st_dev == held.st_dev && now.st_ino == held.st_ino => return Ok(fd),
            Ok(_) | Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(StoreError::from_open(e)),
        }
    }
    Err(StoreError::Busy {
        file: shown.to_owned(),
        holder: "another process that keeps replacing it".into(),
    })
}

/// Who holds the lock on a file, from the kernel's table of locks
/// (`/proc/locks`): "process 123 (ferry get …)", or "another process" when
/// the table does not say.
fn holder(st: &Stat) -> String {
    let device = format!(
        "{:02x}:{:02x}:{}",
        rustix::fs::major(st.st_dev),
        rustix::fs::minor(st.st_dev),
        st.st_ino
    );
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->".
    let pid = locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "FLOCK", _, _, pid, file, ..] if *file == device => pid.parse::<u32>().ok(),
            _ => None,
        }
    });
    let Some(pid) = pid else {
        return "another process".into();
    };
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            let words: Vec<String> = raw
                .split(|&b| b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            words.join(" ")
        })
        .unwrap_or_default();
    if command.is_empty() {
        format!("process {pid}")
    } else {
        // Another program's command line: escaped before any terminal sees it.
        format!(
            "process {pid} ({})",
            ferry_core::escape_short(command.as_bytes(), 120)
        )
    }
}
