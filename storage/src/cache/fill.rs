//! One fill in progress: the origin's bytes written as they come, then
//! kept as an entry when whole or as a resumable prefix when cut short.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ferry_core::hex;
use md5::{Digest, Md5};

use super::{CacheFolder, Held, META_MAGIC, Reservation, remove_all};

/// A fill in progress: bytes from the origin appended to a file in the
/// cache's `fills/` folder, hashed as they arrive. Dropped without
/// [`FillFile::commit`] or [`FillFile::keep_prefix`], it leaves nothing.
#[derive(Debug)]
pub struct FillFile {
    pub(super) name: String,
    pub(super) dir: Option<PathBuf>,
    pub(super) file: File,
    pub(super) hasher: Md5,
    pub(super) written: u64,
    /// The cache's generation when the fill began.
    pub(super) since: u64,
    /// What it holds against the cache's size.
    pub(super) reservation: Reservation,
}

impl FillFile {
    /// Bytes written so far (those of a prefix or entry it started from
    /// included).
    pub fn len(&self) -> u64 {
        self.written
    }

    /// Whether nothing is written yet.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// The MD5 of the bytes written so far.
    pub fn md5(&self) -> [u8; 16] {
        self.hasher.clone().finalize().into()
    }

    /// A second descriptor of the data, to send what is written with
    /// `sendfile` while the fill goes on.
    pub fn reader(&self) -> io::Result<File> {
        match &self.dir {
            Some(dir) => File::open(dir.join("data")),
            None => Err(io::ErrorKind::NotFound.into()),
        }
    }

    /// Grows what the fill holds against the cache's size to `size` (a
    /// fill resumed from a prefix learns the size from the origin); fails
    /// as [`CacheFolder::begin_fill`] does.
    pub fn reserve(&mut self, cache: &CacheFolder, size: u64) -> io::Result<()> {
        cache.reserve(&mut self.reservation, size)
    }

    /// Appends bytes from the origin.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.hasher.update(data);
        self.written += data.len() as u64;
        Ok(())
    }

    /// Drops what is written, to fetch the file from its start.
    pub fn restart(&mut self) -> io::Result<()> {
        self.file.set_len(0)?;
        self.hasher = Md5::new();
        self.written = 0;
        Ok(())
    }

    /// Makes the fill the entry of its name, if it holds exactly `size`
    /// bytes; returns the MD5 recorded. Anything else is an error and the
    /// fill is dropped: a copy of the wrong size is never an entry.
    pub fn commit(mut self, cache: &CacheFolder, size: u64) -> io::Result<[u8; 16]> {
        if self.written != size {
            return Err(io::Error::other(format!(
                "the fill holds {} bytes, not the {size} announced",
                self.written
            )));
        }
        let dir = self.dir.take().ok_or(io::ErrorKind::NotFound)?;
        let result = self.adopt(cache, &dir, false);
        if result.is_err() {
            remove_all(&dir);
        }
        result
    }

    /// Keeps the bytes written as a resumable prefix of the name (never
    /// served as a file); an empty fill, or one larger than the cache's
    /// size, leaves nothing.
    pub fn keep_prefix(mut self, cache: &CacheFolder) -> io::Result<()> {
        let dir = self.dir.take().ok_or(io::ErrorKind::NotFound)?;
        // Nothing to resume, or more than the whole cache may hold.
        if self.written == 0 || self.written > cache.max_size {
            remove_all(&dir);
            return Ok(());
        }
        let result = self.adopt(cache, &dir, true).map(drop);
        if result.is_err() {
            remove_all(&dir);
        }
        result
    }

    fn adopt(&mut self, cache: &CacheFolder, dir: &Path, prefix: bool) -> io::Result<[u8; 16]> {
        let md5 = self.md5();
        self.file.sync_data()?;
        let meta = format!(
            "{META_MAGIC}\nsize {}\nmd5 {}\nname {}\n",
            self.written,
            hex(&md5),
            self.name
        );
        let mut file = File::create(dir.join("meta"))?;
        file.write_all(meta.as_bytes())?;
        file.sync_data()?;
        let folder = {
            let mut index = cache.lock();
            index.next_folder += 1;
            index.next_folder - 1
        };
        let held = Held {
            folder,
            size: self.written,
            md5,
            validated: SystemTime::now(),
            tail: Some(self.hasher.clone()),
            used: 0,
        };
        cache.adopt(
            &self.name,
            dir,
            held,
            prefix,
            self.since,
            &mut self.reservation,
        )?;
        Ok(md5)
    }
}

impl Drop for FillFile {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            remove_all(&dir);
        }
    }
}
