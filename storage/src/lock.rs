//! Exclusive advisory locks (`flock`) on files, with the holder named when
//! another process has one: a download's partial file, a served root, a
//! cache folder.

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, Stat};

use crate::error::StoreError;

/// How many times a lost race with a rename or an unlink of the locked file
/// is retried before giving up.
const LOCK_ATTEMPTS: usize = 8;

/// Holds the lock on a folder's lock file for as long as it lives.
#[derive(Debug)]
pub struct FolderLock {
    _fd: OwnedFd,
}

impl FolderLock {
    /// Locks `folder` for one process: the file `name` inside it is created
    /// if missing and locked without waiting. `Busy` names the holder.
    pub fn take(folder: &Path, name: &str) -> Result<FolderLock, StoreError> {
        let dir = rustix::fs::open(
            folder,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(StoreError::from_open)?;
        let shown = folder.join(name).display().to_string();
        Ok(FolderLock {
            _fd: exclusive(&dir, name, &shown)?,
        })
    }
}

/// Opens (creating it if missing) and locks the file `name` in `dir`,
/// shown as `shown` in messages. The lock is taken without waiting; once
/// held, the name must still lead to the locked file: the previous holder
/// may have renamed it into place or removed it between our open and our
/// lock, and then we start again.
pub(crate) fn exclusive(dir: &OwnedFd, name: &str, shown: &str) -> Result<OwnedFd, StoreError> {
    let part = name;
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
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->".
    // The kernel writes the list in pieces, and one read can miss a line
    // while other locks come and go: read it again before giving up.
    let pid = (0..3).find_map(|_| {
        let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
        locks.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [_, "FLOCK", _, _, pid, file, ..] if *file == device => pid.parse::<u32>().ok(),
                _ => None,
            }
        })
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
