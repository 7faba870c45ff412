//! Where ferry keeps files: a folder whose every path is resolved by the
//! kernel beneath its root, with atomic uploads and remembered digests.
//!
//! - [`Folder`]: open, list, match masks and begin uploads, never leaving
//!   the folder and never following a symlink (`openat2` with
//!   `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`).
//! - [`Upload`]: a temporary file renamed into place only when complete.
//! - [`Partial`]: a download's `NAME.part`, kept across interruptions.
//! - [`written`]: the MD5 of what a download wrote, so a later one never
//!   replaces a file changed since.
//! - [`DigestCache`]: op 40's prefix MD5, keyed by file version.
//! - [`CacheFolder`]: the caching proxy's entries, resumable prefixes and
//!   fills on disk, kept under a size, least recently used evicted first.
//!
//! Linux only: containment relies on `openat2(2)` (Linux 5.6 or later).

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod beneath;
mod cache;
mod digest;
mod error;
mod folder;
mod lock;
mod open_file;
mod partial;
mod upload;
pub mod written;

pub use cache::{CacheFolder, FillFile, FillFrom, Hit, Usage, age};
pub use digest::{CHECKPOINT_INTERVAL, DigestCache, PrefixMd5, ReadAt, md5_prefix};
pub use error::StoreError;
pub use folder::{Folder, matching};
pub use lock::FolderLock;
pub use open_file::{FileId, OpenFile, unnamed_file};
pub use partial::{HASHED_PART_PREFIX, PART_SUFFIX, Partial, part_name};
pub use upload::{Replace, Upload, stored_meanwhile};
