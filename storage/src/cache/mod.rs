//! The cache's disk: complete entries, resumable prefixes of fills the
//! origin cut short, and fills in progress, under one folder.
//!
//! ```text
//! DIR/entries/<n>/{data,meta}   complete copies, with their size and MD5
//! DIR/prefixes/<n>/{data,meta}  the first bytes of a fill cut short
//! DIR/fills/<n>/data            fills in progress (removed at startup)
//! ```
//!
//! A folder's number `n` is never reused, so nothing is ever overwritten in
//! place: a fill becomes an entry by one `rename` of its folder, written
//! complete (data, then meta) beforehand, and a newer copy of a name simply
//! has a larger number. At startup a folder counts only if its meta is
//! whole and its data has the recorded size, and the newest folder of a
//! name wins; everything else is removed, so nothing half-written is ever
//! served. Eviction unlinks: a client still reading an evicted copy keeps
//! reading it whole from its open descriptor.

mod fill;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use md5::{Digest, Md5};

use crate::error::StoreError;
use crate::lock::FolderLock;
use crate::open_file::OpenFile;

pub use fill::FillFile;

const ENTRIES: &str = "entries";
const PREFIXES: &str = "prefixes";
const FILLS: &str = "fills";
const META_MAGIC: &str = "ferry-cache 1";
const LOCK: &str = "lock";

/// A complete copy found in the cache.
#[derive(Debug)]
pub struct Hit {
    /// The copy, opened.
    pub open: OpenFile,
    /// Its MD5, recorded when it was filled.
    pub md5: [u8; 16],
    /// When the origin last confirmed it.
    pub validated: SystemTime,
    /// The MD5 state after its last byte, when still in memory, so a file
    /// the origin appended to can be extended without hashing it again.
    pub tail: Option<Md5>,
}

/// Where a new fill starts from.
#[derive(Debug)]
pub enum FillFrom {
    /// Nothing: the whole file comes from the origin.
    Empty,
    /// The resumable prefix of an earlier fill of the same name, taken out
    /// of the cache (it returns as an entry or a longer prefix).
    Prefix,
    /// A copy of a complete entry (the origin's file grew: only the rest
    /// comes from the origin).
    Entry(Box<Hit>),
}

/// The share of its file system's blocks the cache never fills past.
const DISK_FULL: f64 = 0.95;

/// What the cache's disk holds, in counts and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Complete entries.
    pub entries: usize,
    /// Resumable prefixes.
    pub prefixes: usize,
    /// Bytes of both.
    pub bytes: u64,
    /// Bytes reserved by fills in flight.
    pub reserved: u64,
    /// Entries and prefixes evicted since startup.
    pub evictions: u64,
}

#[derive(Debug)]
struct Held {
    folder: u64,
    size: u64,
    md5: [u8; 16],
    validated: SystemTime,
    tail: Option<Md5>,
    used: u64,
}

#[derive(Debug, Default)]
struct Index {
    entries: HashMap<String, Held>,
    prefixes: HashMap<String, Held>,
    bytes: u64,
    clock: u64,
    next_folder: u64,
    evictions: u64,
    /// Counts replacements of names (uploads through the cache).
    generation: u64,
    /// The generation at which each name was last replaced.
    replaced: HashMap<String, u64>,
    /// Fills begun before this generation are never kept (the memory of
    /// replacements was cleared then).
    floor: u64,
    /// Bytes fills in flight have reserved (they count against the size
    /// from their start).
    reserved: u64,
}

/// Replacements remembered before the memory is cleared (and every fill in
/// flight then is dropped instead of kept).
const REPLACED_REMEMBERED: usize = 1 << 16;

/// The cache's folder: entries, prefixes and fills, kept under a size.
#[derive(Debug)]
pub struct CacheFolder {
    root: PathBuf,
    max_size: u64,
    index: Arc<Mutex<Index>>,
    _lock: FolderLock,
}

impl CacheFolder {
    /// Opens (creating) the cache folder `root`, keeping at most `max_size`
    /// bytes of entries and prefixes: finds the complete entries and
    /// prefixes again, and removes unfinished fills and anything damaged.
    pub fn open(root: &Path, max_size: u64) -> Result<CacheFolder, StoreError> {
        std::fs::create_dir_all(root)?;
        // One cache per folder: another would remove this one's fills.
        let lock = FolderLock::take(root, LOCK)?;
        for sub in [ENTRIES, PREFIXES, FILLS] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        let mut index = Index::default();
        for dir in std::fs::read_dir(root.join(FILLS))? {
            remove_all(&dir?.path());
        }
        for (sub, prefixes) in [(ENTRIES, false), (PREFIXES, true)] {
            for dir in std::fs::read_dir(root.join(sub))? {
                let path = dir?.path();
                let number = path
                    .file_name()
                    .and_then(|n| n.to_str()?.parse::<u64>().ok());
                let found = number.and_then(|n| Some((n, read_meta(&path)?)));
                let Some((folder, (name, mut held))) = found else {
                    remove_all(&path);
                    continue;
                };
                held.folder = folder;
                index.next_folder = index.next_folder.max(folder + 1);
                let map = if prefixes {
                    &mut index.prefixes
                } else {
                    &mut index.entries
                };
                // The newest copy of a name wins.
                if map.get(&name).is_some_and(|old| old.folder > folder) {
                    remove_all(&path);
                } else if let Some(old) = map.insert(name, held) {
                    remove_all(&root.join(sub).join(old.folder.to_string()));
                }
            }
        }
        index.bytes = index
            .entries
            .values()
            .chain(index.prefixes.values())
            .map(|h| h.size)
            .sum();
        // Least recently validated first.
        let mut order: Vec<(SystemTime, u64)> = index
            .entries
            .values()
            .chain(index.prefixes.values())
            .map(|h| (h.validated, h.folder))
            .collect();
        order.sort();
        let rank: HashMap<u64, u64> = order
            .iter()
            .enumerate()
            .map(|(i, (_, f))| (*f, i as u64))
            .collect();
        for held in index
            .entries
            .values_mut()
            .chain(index.prefixes.values_mut())
        {
            held.used = rank[&held.folder];
        }
        index.clock = order.len() as u64;
        let cache = CacheFolder {
            root: root.to_owned(),
            max_size,
            index: Arc::new(Mutex::new(index)),
            _lock: lock,
        };
        cache.evict_to(cache.max_size, None);
        Ok(cache)
    }

    /// The most bytes of entries and prefixes kept.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// What the cache holds now.
    pub fn usage(&self) -> Usage {
        let index = self.lock();
        Usage {
            entries: index.entries.len(),
            prefixes: index.prefixes.len(),
            bytes: index.bytes,
            reserved: index.reserved,
            evictions: index.evictions,
        }
    }

    /// The complete copy of `name`, opened, marked as just used.
    pub fn hit(&self, name: &str) -> Option<Hit> {
        let mut index = self.lock();
        index.clock += 1;
        let clock = index.clock;
        let held = index.entries.get_mut(name)?;
        held.used = clock;
        let path = self.folder(ENTRIES, held.folder).join("data");
        let (md5, validated, tail, size) = (held.md5, held.validated, held.tail.clone(), held.size);
        drop(index);
        let open = open_data(&path).ok().filter(|o| o.size == size)?;
        Some(Hit {
            open,
            md5,
            validated,
            tail,
        })
    }

    /// Bytes held in the resumable prefix of `name`, if there is one.
    pub fn prefix_len(&self, name: &str) -> Option<u64> {
        self.lock().prefixes.get(name).map(|h| h.size)
    }

    /// Records that the origin confirmed the entry of `name` (its MD5 is
    /// still `md5`) now: it is fresh again, here and after a restart.
    pub fn validated(&self, name: &str, md5: [u8; 16]) {
        let mut index = self.lock();
        let now = SystemTime::now();
        let Some(held) = index.entries.get_mut(name).filter(|h| h.md5 == md5) else {
            return;
        };
        held.validated = now;
        let meta = self.folder(ENTRIES, held.folder).join("meta");
        drop(index);
        if let Ok(file) = File::options().write(true).open(meta) {
            let _ = file.set_modified(now);
        }
    }

    /// Removes the entry and the prefix of `name` (the origin no longer has
    /// that file, or changed it).
    pub fn evict(&self, name: &str) {
        let mut gone = Vec::new();
        {
            let mut index = self.lock();
            let removed = [
                index.entries.remove(name).map(|h| (ENTRIES, h)),
                index.prefixes.remove(name).map(|h| (PREFIXES, h)),
            ];
            for (sub, held) in removed.into_iter().flatten() {
                index.bytes -= held.size;
                gone.push(self.folder(sub, held.folder));
            }
        }
        // Unlinked outside the lock: removing a large file takes time.
        gone.iter().for_each(|dir| remove_all(dir));
    }

    /// The count of replacements so far (see [`CacheFolder::begin_fill`]).
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Records that `name` was replaced (an upload through the cache was
    /// stored by the origin): its entry and prefix go, and no fill begun
    /// before now will ever be kept for it.
    pub fn replaced(&self, name: &str) {
        {
            let mut index = self.lock();
            index.generation += 1;
            if index.replaced.len() >= REPLACED_REMEMBERED {
                index.replaced.clear();
                index.floor = index.generation;
            }
            let generation = index.generation;
            index.replaced.insert(name.to_owned(), generation);
        }
        self.evict(name);
    }

    /// Starts a fill of `name` that will hold `size` bytes when whole,
    /// reserving them against the size (the prefix's own bytes, when it
    /// starts from one and the size is not known yet). Fails with
    /// [`io::ErrorKind::StorageFull`] when they cannot be reserved. Reads
    /// and copies files: run it where blocking is allowed.
    ///
    /// `since` is [`CacheFolder::generation`] when the request that asked
    /// for the fill came: a replacement of the name after it means the fill
    /// may hold the old bytes, and it is never kept.
    pub fn begin_fill(
        &self,
        name: &str,
        from: FillFrom,
        size: Option<u64>,
        since: u64,
    ) -> io::Result<FillFile> {
        let folder = {
            let mut index = self.lock();
            index.next_folder += 1;
            index.next_folder - 1
        };
        let mut reservation = Reservation {
            index: self.index.clone(),
            bytes: 0,
        };
        if let Some(size) = size {
            self.reserve(&mut reservation, size)?;
        }
        let dir = self.folder(FILLS, folder);
        let data = dir.join("data");
        let prefix = match from {
            FillFrom::Prefix => self.lock().prefixes.get(name).map(|h| h.folder),
            _ => None,
        };
        let mut hasher = Md5::new();
        match (prefix, from) {
            (Some(folder), _) => {
                std::fs::rename(self.folder(PREFIXES, folder), &dir)?;
                // Moved into the fill: its bytes are the fill's reservation.
                let mut index = self.lock();
                if let Some(held) = index.prefixes.remove(name) {
                    index.bytes -= held.size;
                    if size.is_none() {
                        index.reserved += held.size;
                        reservation.bytes = held.size;
                    }
                }
                drop(index);
                hash_file(&data, &mut hasher)?;
            }
            (None, FillFrom::Entry(hit)) => {
                std::fs::create_dir(&dir)?;
                let mut source = &hit.open.file;
                source.seek(SeekFrom::Start(0))?;
                let mut copy = File::create(&data)?;
                io::copy(&mut source.take(hit.open.size), &mut copy)?;
                match hit.tail {
                    Some(tail) => hasher = tail,
                    None => hash_file(&data, &mut hasher)?,
                }
            }
            (None, _) => {
                std::fs::create_dir(&dir)?;
                File::create(&data)?;
            }
        }
        let file = OpenOptions::new().append(true).open(&data)?;
        let written = file.metadata()?.len();
        Ok(FillFile {
            name: name.to_owned(),
            dir: Some(dir),
            file,
            hasher,
            written,
            since,
            reservation,
        })
    }

    /// Grows `reservation` to `size` bytes, evicting the least recently
    /// used copies to make room; fails with [`io::ErrorKind::StorageFull`]
    /// if the size cannot hold it beside the other fills in flight, or the
    /// file system would pass 95 % full.
    fn reserve(&self, reservation: &mut Reservation, size: u64) -> io::Result<()> {
        let more = size.saturating_sub(reservation.bytes);
        if more == 0 {
            return Ok(());
        }
        let full = |why: String| io::Error::new(io::ErrorKind::StorageFull, why);
        let disk = disk_use(&self.root);
        let mut gone = Vec::new();
        let result = {
            let mut index = self.lock();
            let others = index.reserved - reservation.bytes;
            if others + size > self.max_size {
                Err(full(format!(
                    "fills in flight hold {others} of the {} bytes of --max-size",
                    self.max_size
                )))
            } else {
                let before = index.bytes;
                self.evict_locked(&mut index, self.max_size - others - size, None, &mut gone);
                let freed = before - index.bytes;
                // Other fills may not have written their bytes yet: counted
                // as if they had (the file system's count may hold some).
                match disk {
                    Some((used, total))
                        if (used.saturating_sub(freed) + others + more) as f64
                            > DISK_FULL * total as f64 =>
                    {
                        Err(full(format!(
                            "{more} more bytes would fill the cache's file system past 95 % \
                             ({used} of {total} bytes used)"
                        )))
                    }
                    _ => {
                        index.reserved += more;
                        reservation.bytes = size;
                        Ok(())
                    }
                }
            }
        };
        gone.iter().for_each(|dir| remove_all(dir));
        result
    }

    /// An unnamed file on the cache's disk (an upload on its way to the
    /// origin): it vanishes when closed, whatever happens.
    pub fn scratch(&self) -> io::Result<File> {
        crate::unnamed_file(&self.root.join(FILLS))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn folder(&self, sub: &str, folder: u64) -> PathBuf {
        self.root.join(sub).join(folder.to_string())
    }

    /// Moves a finished fill begun at generation `since` in as an entry or
    /// a prefix of `name`, replacing the one held, then evicts to stay under
    /// the size. A fill of a name replaced since it began is refused, under
    /// the same lock as the replacement: old bytes never land after it.
    fn adopt(
        &self,
        name: &str,
        dir: &Path,
        held: Held,
        prefix: bool,
        since: u64,
        reservation: &mut Reservation,
    ) -> io::Result<()> {
        let sub = if prefix { PREFIXES } else { ENTRIES };
        let size = held.size;
        let mut gone = Vec::new();
        {
            let mut index = self.lock();
            if since < index.floor || index.replaced.get(name).is_some_and(|&at| at > since) {
                return Err(io::Error::other(
                    "an upload replaced the file while it was being fetched",
                ));
            }
            std::fs::rename(dir, self.folder(sub, held.folder))?;
            // The reservation becomes the copy's bytes.
            index.reserved -= reservation.bytes;
            reservation.bytes = 0;
            index.clock += 1;
            let held = Held {
                used: index.clock,
                ..held
            };
            index.bytes += size;
            let map = if prefix {
                &mut index.prefixes
            } else {
                &mut index.entries
            };
            if let Some(old) = map.insert(name.to_owned(), held) {
                index.bytes -= old.size;
                gone.push(self.folder(sub, old.folder));
            }
            if !prefix && let Some(old) = index.prefixes.remove(name) {
                index.bytes -= old.size;
                gone.push(self.folder(PREFIXES, old.folder));
            }
        }
        gone.iter().for_each(|dir| remove_all(dir));
        self.evict_to(self.max_size, Some(name));
        Ok(())
    }

    /// Evicts the least recently used entries and prefixes until at most
    /// `max` bytes are held, sparing `keep`.
    fn evict_to(&self, max: u64, keep: Option<&str>) {
        let mut gone = Vec::new();
        let mut index = self.lock();
        let max = max.saturating_sub(index.reserved);
        self.evict_locked(&mut index, max, keep, &mut gone);
        drop(index);
        gone.iter().for_each(|dir| remove_all(dir));
    }

    /// Evicts under the lock until at most `max` bytes are held, sparing
    /// `keep`; the folders to remove are added to `gone`.
    fn evict_locked(
        &self,
        index: &mut Index,
        max: u64,
        keep: Option<&str>,
        gone: &mut Vec<PathBuf>,
    ) {
        while index.bytes > max {
            let victim = index
                .entries
                .iter()
                .map(|(n, h)| (h.used, false, n))
                .chain(index.prefixes.iter().map(|(n, h)| (h.used, true, n)))
                .filter(|(_, _, n)| Some(n.as_str()) != keep)
                .min()
                .map(|(_, prefix, n)| (prefix, n.clone()));
            let Some((prefix, name)) = victim else { break };
            let (sub, map) = if prefix {
                (PREFIXES, &mut index.prefixes)
            } else {
                (ENTRIES, &mut index.entries)
            };
            if let Some(held) = map.remove(&name) {
                index.bytes -= held.size;
                index.evictions += 1;
                gone.push(self.folder(sub, held.folder));
            }
        }
    }
}

/// Bytes a fill in flight holds against the cache's size; given back when
/// the fill ends without becoming a copy.
#[derive(Debug)]
struct Reservation {
    index: Arc<Mutex<Index>>,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index.reserved -= self.bytes;
    }
}

/// Bytes used and in all on the file system that holds `path`, as seen by
/// an unprivileged writer.
fn disk_use(path: &Path) -> Option<(u64, u64)> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let total = stat.f_blocks.saturating_mul(stat.f_frsize);
    let free = stat.f_bavail.saturating_mul(stat.f_frsize);
    (total > 0).then(|| (total.saturating_sub(free), total))
}

/// Reads a folder's meta: its name and what is held, if the meta is whole
/// and the data has the size it records. A prefix's MD5 is not checked
/// here: it is computed again when the fill resumes.
fn read_meta(dir: &Path) -> Option<(String, Held)> {
    let meta = std::fs::read_to_string(dir.join("meta")).ok()?;
    let rest = meta.strip_prefix(META_MAGIC)?.strip_prefix('\n')?;
    let (size, rest) = rest.strip_prefix("size ")?.split_once('\n')?;
    let (md5, rest) = rest.strip_prefix("md5 ")?.split_once('\n')?;
    let name = rest.strip_prefix("name ")?.strip_suffix('\n')?;
    let size: u64 = size.parse().ok()?;
    let md5 = unhex(md5)?;
    let data = std::fs::metadata(dir.join("data")).ok()?;
    if data.len() != size || name.is_empty() || name.contains('\n') {
        return None;
    }
    let validated = std::fs::metadata(dir.join("meta"))
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Some((
        name.to_owned(),
        Held {
            folder: 0,
            size,
            md5,
            validated,
            tail: None,
            used: 0,
        },
    ))
}

fn open_data(path: &Path) -> io::Result<OpenFile> {
    OpenFile::new(File::open(path)?)
}

fn hash_file(path: &Path, hasher: &mut Md5) -> io::Result<()> {
    let mut file = File::open(path)?;
    let mut buf = vec![0; 256 * 1024];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(()),
            n => hasher.update(&buf[..n]),
        }
    }
}

fn remove_all(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        log::warn!("cannot remove {}: {e}", path.display());
    }
}

/// 32 hexadecimal digits as 16 bytes.
pub(crate) fn unhex(text: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    if text.len() != 32 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// How long ago `at` was (zero if it is in the future).
pub fn age(at: SystemTime) -> Duration {
    SystemTime::now().duration_since(at).unwrap_or_default()
}
