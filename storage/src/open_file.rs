//! A file opened for reading and what identifies its version, so caches
//! (such as the digests of op 40) can tell when its content may have changed.

use std::fs::File;

/// A file opened for reading, with what identifies its version.
#[derive(Debug)]
pub struct OpenFile {
    /// The open file.
    pub file: File,
    /// Its size when opened.
    pub size: u64,
    /// Identity and change markers, for caches.
    pub id: FileId,
}

impl OpenFile {
    /// Takes an open file, with its size and version as they are now.
    pub fn new(file: File) -> std::io::Result<OpenFile> {
        let st = rustix::fs::fstat(&file)?;
        Ok(OpenFile {
            size: st.st_size as u64,
            id: FileId::of(&st),
            file,
        })
    }
}

/// What identifies one version of a file: if any of these changed, the
/// content may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// Status change time, seconds and nanoseconds.
    pub ctime: (i64, i64),
}

impl FileId {
    /// A version of something that is not a local file, known by a tag
    /// that changes whenever its content does (an object store's ETag) and
    /// its size. Never equal to a local file's identity.
    pub fn of_version(tag: &str, size: u64) -> Self {
        // FNV-1a: a stable 64-bit digest of the tag.
        let ino = tag.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self {
            dev: u64::MAX,
            ino,
            size,
            mtime: (0, 0),
            ctime: (0, 0),
        }
    }

    pub(crate) fn of(st: &rustix::fs::Stat) -> Self {
        Self {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime, st.st_ctime_nsec as i64),
        }
    }
}

/// A new file in `dir` with no name: it vanishes when closed, whatever
/// happens to the process (`O_TMPFILE`, mode 0600).
pub fn unnamed_file(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    Ok(std::fs::File::from(fd))
}
