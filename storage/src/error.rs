//! Why a store operation failed.

use std::io;

/// Why a store operation failed, sorted by what the protocol answers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such file (or a folder on its path is missing).
    #[error("no such file")]
    NotFound,
    /// The name exists but is not a regular file (a folder, FIFO, device,
    /// socket or symlink), or a folder on its path is not a real folder.
    #[error("not a regular file")]
    NotRegular,
    /// The name exists, and the upload may only create new files.
    #[error("a file of that name exists")]
    Exists,
    /// Another file or folder has the name in another Unicode spelling
    /// (the same in NFC): a new one would look like it.
    #[error("\"{}\" exists, the same name in another Unicode spelling", ferry_core::escape(.0.as_bytes()))]
    OtherSpelling(String),
    /// Resolving the name would leave the folder or follow a symlink.
    #[error("name leads outside the folder or through a symlink")]
    Escape,
    /// The mask does not compile as a glob.
    #[error("bad mask: {0}")]
    BadMask(String),
    /// Another process holds the lock (a download's partial file, a served
    /// root, a cache folder).
    #[error("{file} is in use by {holder}")]
    Busy {
        /// The partial file, relative to its folder.
        file: String,
        /// Who holds it, in words: "process 123 (ferry get …)".
        holder: String,
    },
    /// Any other I/O failure.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl StoreError {
    /// Sorts an `openat2`/`statat` failure.
    pub(crate) fn from_open(err: rustix::io::Errno) -> Self {
        use rustix::io::Errno;
        match err {
            Errno::NOENT | Errno::NOTDIR => StoreError::NotFound,
            // RESOLVE_NO_SYMLINKS reports a symlink as ELOOP; RESOLVE_BENEATH
            // reports an escape as EXDEV.
            Errno::LOOP | Errno::XDEV => StoreError::Escape,
            Errno::ISDIR | Errno::NXIO => StoreError::NotRegular,
            other => StoreError::Io(other.into()),
        }
    }
}
