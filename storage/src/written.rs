//! What ferry last wrote at a path, so a download never replaces a file
//! someone changed since: the MD5 of the bytes written, kept in the file's
//! `user.ferry.md5` extended attribute, or, where the file system has no
//! extended attributes, in `$XDG_STATE_HOME/ferry/written/` under the MD5
//! of the file's absolute path (never beside the file, where `mget` and
//! `put -r` would pick it up).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use ferry_core::hex;
use md5::{Digest, Md5};
use rustix::fs::XattrFlags;

/// The extended attribute holding the MD5 ferry wrote.
pub const ATTRIBUTE: &str = "user.ferry.md5";

/// ferry's own state folder, `$XDG_STATE_HOME/ferry` (by default
/// `~/.local/state/ferry`), created if missing.
pub fn state_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    let dir = state.join("ferry");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// Records that `file`, to be known as `name` in the folder `dir`, holds
/// bytes whose MD5 is `md5`.
pub(crate) fn record(
    dir: &impl AsFd,
    name: &str,
    file: &File,
    md5: &[u8; 16],
) -> std::io::Result<()> {
    let text = hex(md5);
    match rustix::fs::fsetxattr(file, ATTRIBUTE, text.as_bytes(), XattrFlags::empty()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::NOTSUP | rustix::io::Errno::PERM) => {
            let path = fallback(dir, name)
                .ok_or_else(|| std::io::Error::other("no state folder (set XDG_STATE_HOME)"))?;
            std::fs::write(path, text)
        }
        Err(e) => Err(e.into()),
    }
}

/// The MD5 recorded for `file`, known as `name` in the folder `dir`, if
/// ferry wrote it.
pub(crate) fn recorded(dir: &impl AsFd, name: &str, file: &File) -> Option<[u8; 16]> {
    let mut buf = [0u8; 32];
    let text = match rustix::fs::fgetxattr(file, ATTRIBUTE, &mut buf) {
        Ok(32) => buf.to_vec(),
        Ok(_) => return None,
        Err(rustix::io::Errno::NOTSUP | rustix::io::Errno::PERM) => {
            std::fs::read(fallback(dir, name)?).ok()?
        }
        Err(_) => return None,
    };
    crate::cache::unhex(std::str::from_utf8(&text).ok()?.trim())
}

/// Where the record of `name` in `dir` lives without extended attributes.
fn fallback(dir: &impl AsFd, name: &str) -> Option<PathBuf> {
    let fd = dir.as_fd().as_raw_fd();
    let dir = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let path = dir.join(name);
    let records = state_dir()?.join("written");
    std::fs::create_dir_all(&records).ok()?;
    Some(records.join(hex(&Md5::digest(path.as_os_str().as_encoded_bytes()))))
}
