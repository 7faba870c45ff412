//! Atomic uploads: a temporary file near the target, flushed and renamed
//! into place only when complete.
//!
//! Readers never see a partial file: until [`Upload::commit`] the data lives
//! under a reserved name no request can reach and no listing shows, in the
//! deepest folder of the target's path that already exists. Commit creates
//! the folders still missing, flushes the file, renames it over the target
//! (atomically replacing an existing file) and flushes the folder so the
//! rename survives a crash. Dropping an upload that was not committed removes
//! the temporary file; a crash leaves only it (removed at the next start),
//! never an empty folder made for an upload that did not finish.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};

use ferry_core::RESERVED_PREFIX;
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};

use crate::error::StoreError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Whether an upload may replace a file that already has its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// An existing file is replaced atomically.
    Allowed,
    /// Only new names: an existing file is refused when the upload begins,
    /// and one stored meanwhile makes the commit fail (the first commit of
    /// two racing uploads wins).
    NewOnly,
}

/// An upload in progress.
#[derive(Debug)]
pub struct Upload {
    /// The deepest existing folder of the target's path, holding the
    /// temporary file.
    dir: OwnedFd,
    temp: String,
    /// Folders to create beneath `dir` at commit, then the file's name.
    missing: Vec<String>,
    target: String,
    replace: Replace,
    file: Option<File>,
}

impl Upload {
    pub(crate) fn create(
        dir: OwnedFd,
        missing: Vec<String>,
        target: String,
        replace: Replace,
    ) -> Result<Upload, StoreError> {
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let temp = format!("{RESERVED_PREFIX}upload-{}-{n}", std::process::id());
            match rustix::fs::openat(
                &dir,
                temp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            ) {
                Ok(fd) => {
                    return Ok(Upload {
                        dir,
                        temp,
                        missing,
                        target,
                        replace,
                        file: Some(File::from(fd)),
                    });
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(StoreError::Io(e.into())),
            }
        }
    }

    /// Appends payload bytes.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("upload already finished"))?;
        file.write_all(data)
    }

    /// Bytes free for an unprivileged writer on the upload's file system.
    pub fn free_space(&self) -> std::io::Result<u64> {
        let st = rustix::fs::fstatvfs(&self.dir)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    /// Flushes the data, renames it over the target and flushes the folder.
    /// With [`Replace::NewOnly`], a file stored under the name since the
    /// upload began makes it fail with [`std::io::ErrorKind::AlreadyExists`].
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| std::io::Error::other("upload already finished"))?;
        file.sync_all()?;
        drop(file);
        // The folders still missing, made beneath the folder we hold.
        let mut target_dir: Option<OwnedFd> = None;
        for part in &self.missing {
            let parent = target_dir.as_ref().unwrap_or(&self.dir);
            match rustix::fs::mkdirat(parent, part.as_str(), Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            let next = crate::beneath::enter(parent, part).map_err(std::io::Error::other)?;
            target_dir = Some(next);
        }
        let target_dir = target_dir.as_ref().unwrap_or(&self.dir);
        match self.replace {
            Replace::Allowed => rustix::fs::renameat(
                &self.dir,
                self.temp.as_str(),
                target_dir,
                self.target.as_str(),
            )?,
            Replace::NewOnly => self.rename_new(target_dir)?,
        }
        // The temporary name is gone now; nothing to remove on drop.
        self.temp.clear();
        rustix::fs::fsync(target_dir)?;
        Ok(())
    }
}

/// Why a [`Replace::NewOnly`] upload could not be committed: another one
/// stored the name first.
pub fn stored_meanwhile() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "a file of that name was stored meanwhile (the first upload to finish wins)",
    )
}

impl Upload {
    /// Renames the temporary file to the target only if no file has that
    /// name: `renameat2(RENAME_NOREPLACE)`, or where the file system lacks
    /// it a hard link (which never replaces) and an unlink.
    fn rename_new(&self, target_dir: &OwnedFd) -> std::io::Result<()> {
        let (temp, target) = (self.temp.as_str(), self.target.as_str());
        match rustix::fs::renameat_with(&self.dir, temp, target_dir, target, RenameFlags::NOREPLACE)
        {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::EXIST) => Err(stored_meanwhile()),
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                match rustix::fs::linkat(&self.dir, temp, target_dir, target, AtFlags::empty()) {
                    Ok(()) => {
                        // Stored; a temporary name left behind goes at the next start.
                        if let Err(e) = rustix::fs::unlinkat(&self.dir, temp, AtFlags::empty()) {
                            log::warn!("could not remove the temporary upload file {temp}: {e}");
                        }
                        Ok(())
                    }
                    Err(rustix::io::Errno::EXIST) => Err(stored_meanwhile()),
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.temp.is_empty() {
            self.file = None;
            if let Err(e) = rustix::fs::unlinkat(&self.dir, self.temp.as_str(), AtFlags::empty()) {
                log::warn!(
                    "could not remove the temporary upload file {}: {e}",
                    self.temp
                );
            }
        }
    }
}
