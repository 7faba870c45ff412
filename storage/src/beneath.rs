//! Opening beneath a folder: the kernel (`openat2` with `RESOLVE_BENEATH`,
//! no symlinks, no magic links) refuses any path that would leave it.

use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};

use crate::error::StoreError;

/// The resolution rules every open obeys.
pub(crate) const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// Opens the folder `part` inside `dir`, never through a symlink.
pub(crate) fn enter(dir: &OwnedFd, part: &str) -> Result<OwnedFd, StoreError> {
    rustix::fs::openat2(
        dir,
        part,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        RESOLVE,
    )
    .map_err(|e| match e {
        // O_DIRECTORY | O_NOFOLLOW reports a symlink as ENOTDIR.
        rustix::io::Errno::NOTDIR => {
            match rustix::fs::statat(dir, part, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                    StoreError::Escape
                }
                _ => StoreError::NotRegular,
            }
        }
        e => StoreError::from_open(e),
    })
}
