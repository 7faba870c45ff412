//! A folder served to the network, with containment enforced by the kernel.
//!
//! Every path is resolved with `openat2(2)` relative to the folder's own
//! descriptor and `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: the kernel refuses
//! `..` that climbs out, absolute paths and any symlink on the way, including
//! one swapped in while a request is under way. Names are also checked
//! against the protocol's rules first, but those string checks are only the
//! first gate. Files are opened with `O_NOFOLLOW | O_NONBLOCK` and checked
//! with `fstat` on the open descriptor, so a FIFO never blocks the server and
//! only regular files are ever read or replaced.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use ferry_core::{
    Limits, ListEntry, Name, NameError, RESERVED_PREFIX, check_component, may_have_other_spellings,
    nfc,
};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use crate::beneath::{RESOLVE, enter};
use crate::error::StoreError;
use crate::open_file::{FileId, OpenFile};
use crate::partial::Partial;
use crate::upload::{Replace, Upload};

/// Names at least this long are opened folder by folder (the kernel takes
/// at most 4,095 bytes of path in one call).
const LONG_PATH: usize = 2048;

/// A folder that names are resolved beneath.
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
    path: PathBuf,
    limits: Limits,
}

impl Folder {
    /// Opens `path` as a served folder; names are checked with `limits`.
    pub fn open(path: &Path, limits: Limits) -> std::io::Result<Folder> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Folder {
            fd,
            path: path.to_owned(),
            limits,
        })
    }

    /// The folder's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens (creating it if missing) the folder named by one component,
    /// beneath this one and never through a symlink: a user's private folder.
    pub fn subfolder(&self, component: &str) -> Result<Folder, StoreError> {
        ferry_core::check_component(component, self.limits.max_component_len)
            .map_err(|_| StoreError::Escape)?;
        match rustix::fs::mkdirat(&self.fd, component, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(rustix::io::Errno::EXIST) => {}
            Err(e) => return Err(StoreError::from_open(e)),
        }
        let fd = rustix::fs::openat2(
            &self.fd,
            component,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            RESOLVE,
        )
        .map_err(|e| match e {
            rustix::io::Errno::NOTDIR => StoreError::Escape,
            e => StoreError::from_open(e),
        })?;
        Ok(Folder {
            fd,
            path: self.path.join(component),
            limits: self.limits.clone(),
        })
    }

    /// Opens a regular file for reading.
    pub fn open_file(&self, name: &Name) -> Result<OpenFile, StoreError> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = if name.as_str().len() < LONG_PATH {
            // One call for the usual name.
            rustix::fs::openat2(&self.fd, name.as_str(), flags, Mode::empty(), RESOLVE)
        } else {
            // The kernel takes at most 4,095 bytes of path per call: a long
            // name (which uploads can store) is opened folder by folder.
            let (dir, file) = self.existing_parent(name)?;
            rustix::fs::openat2(&dir, file, flags, Mode::empty(), RESOLVE)
        }
        .map_err(StoreError::from_open)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| StoreError::Io(e.into()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(StoreError::NotRegular);
        }
        Ok(OpenFile {
            file: File::from(fd),
            size: st.st_size as u64,
            id: FileId::of(&st),
        })
    }

    /// Every regular file beneath the folder whose name obeys the rules,
    /// sorted bytewise by name. Symlinks, special files, internal files and
    /// names that could not be requested are left out.
    pub fn list(&self) -> Result<Vec<ListEntry>, StoreError> {
        let mut out = Vec::new();
        self.walk(|_, path, _, st| {
            // Only what a request could name: folders to descend, files to list.
            let Some(path) = path.filter(|p| Name::parse(p.as_bytes(), &self.limits).is_ok())
            else {
                return Ok(false);
            };
            match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => {
                    out.push(ListEntry {
                        name: path.to_owned(),
                        size: st.st_size as u64,
                    });
                    Ok(false)
                }
                FileType::Directory => Ok(true),
                _ => Ok(false),
            }
        })?;
        out.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Files and folders beneath the folder whose names break the naming
    /// rules, so no request can reach them (a name stored before a rule
    /// was added, or put there by hand), each with the rule it breaks;
    /// the store's own internal files are left out. Raw paths (only the
    /// last component for one that is not UTF-8), to be escaped for
    /// display.
    pub fn unreachable(&self) -> Result<Vec<(Vec<u8>, NameError)>, StoreError> {
        let mut out = Vec::new();
        self.walk(|_, path, raw, st| {
            let checked = std::str::from_utf8(raw)
                .map_err(|_| NameError::NotUtf8)
                .and_then(|c| check_component(c, self.limits.max_component_len));
            match checked {
                Err(NameError::Reserved) => Ok(false),
                Err(rule) => {
                    out.push((path.map_or(raw, str::as_bytes).to_owned(), rule));
                    Ok(false)
                }
                Ok(()) => Ok(FileType::from_raw_mode(st.st_mode) == FileType::Directory),
            }
        })?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Visits every entry beneath the folder, breadth-first with one folder
    /// open at a time (a deep tree cannot exhaust descriptors), never
    /// through a symlink. `visit` gets the folder holding the entry, the
    /// entry's relative path (`None` if not UTF-8), its raw name and its
    /// status, and returns whether to descend into it.
    fn walk(
        &self,
        mut visit: impl FnMut(&OwnedFd, Option<&str>, &[u8], &Stat) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut queue = VecDeque::from([String::new()]);
        while let Some(prefix) = queue.pop_front() {
            let path = if prefix.is_empty() {
                "."
            } else {
                prefix.as_str()
            };
            // A folder that vanished or turned into a symlink meanwhile is skipped.
            let Ok(dir) = rustix::fs::openat2(
                &self.fd,
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                RESOLVE,
            ) else {
                continue;
            };
            let entries = rustix::fs::Dir::read_from(&dir).map_err(|e| StoreError::Io(e.into()))?;
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::Io(e.into()))?;
                let raw = entry.file_name().to_bytes();
                if raw == b"." || raw == b".." {
                    continue;
                }
                let Ok(st) = rustix::fs::statat(&dir, raw, AtFlags::SYMLINK_NOFOLLOW) else {
                    continue;
                };
                let full = std::str::from_utf8(raw).ok().map(|c| {
                    if prefix.is_empty() {
                        c.to_owned()
                    } else {
                        format!("{prefix}/{c}")
                    }
                });
                if visit(&dir, full.as_deref(), raw, &st)?
                    && let Some(full) = full
                {
                    queue.push_back(full);
                }
            }
        }
        Ok(())
    }

    /// The listing entries whose names match a globset mask (`*` does not
    /// cross `/`, `**` does), in listing order.
    pub fn matching(&self, mask: &str) -> Result<Vec<ListEntry>, StoreError> {
        matching(self.list()?, mask)
    }

    /// Starts an atomic upload to `name`: the data goes to a temporary file
    /// in the deepest folder of the target's path that exists, and missing
    /// folders are created beneath this one only at [`Upload::commit`].
    /// Refuses a target that exists and is not a regular file, with
    /// [`Replace::NewOnly`] one that exists at all, and a name that another
    /// file or folder already has in another Unicode spelling.
    pub fn begin_upload(&self, name: &Name, replace: Replace) -> Result<Upload, StoreError> {
        if let Some(other) = self.other_spelling(name)? {
            return Err(StoreError::OtherSpelling(other));
        }
        let (dir, missing, file_name) = self.walk_to_parent(name, false)?;
        if missing.is_empty() {
            match rustix::fs::statat(&dir, file_name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                    return Err(StoreError::NotRegular);
                }
                Ok(_) if replace == Replace::NewOnly => return Err(StoreError::Exists),
                Ok(_) | Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(StoreError::from_open(e)),
            }
        }
        let missing = missing.into_iter().map(str::to_owned).collect();
        Upload::create(dir, missing, file_name.to_owned(), replace)
    }

    /// The path of a file or folder whose name is `name`'s (or one of its
    /// folders') in Unicode NFC but spelled otherwise (`café` composed and
    /// decomposed), if one exists: a new file under `name` would look like
    /// it. Only folders holding a component that may have another spelling
    /// are read. (Checked when an upload begins: two uploads racing under
    /// two spellings of one new name can both be stored.)
    pub fn other_spelling(&self, name: &Name) -> Result<Option<String>, StoreError> {
        let mut parent = String::new();
        for component in name.components() {
            if may_have_other_spellings(component) {
                let path = if parent.is_empty() { "." } else { &parent };
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let dir = match rustix::fs::openat2(&self.fd, path, flags, Mode::empty(), RESOLVE) {
                    Ok(dir) => dir,
                    // A folder missing here holds nothing to look like.
                    Err(rustix::io::Errno::NOENT) => return Ok(None),
                    Err(e) => return Err(StoreError::from_open(e)),
                };
                let wanted = nfc(component);
                for entry in
                    rustix::fs::Dir::read_from(&dir).map_err(|e| StoreError::Io(e.into()))?
                {
                    let entry = entry.map_err(|e| StoreError::Io(e.into()))?;
                    if let Ok(text) = std::str::from_utf8(entry.file_name().to_bytes())
                        && text != component
                        && nfc(text) == wanted
                    {
                        return Ok(Some(match parent.is_empty() {
                            true => text.to_owned(),
                            false => format!("{parent}/{text}"),
                        }));
                    }
                }
            }
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(component);
        }
        Ok(None)
    }

    /// The MD5 ferry recorded when it last wrote `name` (a download), if it
    /// did; `file` is the file opened under that name.
    pub fn written(&self, name: &Name, file: &File) -> Option<[u8; 16]> {
        let (dir, file_name) = self.existing_parent(name).ok()?;
        crate::written::recorded(&dir, file_name, file)
    }

    /// Opens (or creates) the partial download `NAME.part` for `name`,
    /// creating missing parent folders beneath this folder. Refuses a
    /// target or partial file that exists and is not a regular file.
    pub fn partial(&self, name: &Name) -> Result<Partial, StoreError> {
        let (dir, file_name) = self.parent_of(name)?;
        let parent = &name.as_str()[..name.as_str().len() - file_name.len()];
        Partial::open(dir, file_name, parent)
    }

    /// The existing folder that holds `name`, opened component by component
    /// beneath this one (never through a symlink), and the last component.
    fn existing_parent<'n>(&self, name: &'n Name) -> Result<(OwnedFd, &'n str), StoreError> {
        match self.walk_to_parent(name, false)? {
            (dir, missing, file_name) if missing.is_empty() => Ok((dir, file_name)),
            _ => Err(StoreError::NotFound),
        }
    }

    /// The folder that holds `name` (created if missing, beneath this one,
    /// never through a symlink) and the last component.
    fn parent_of(&self, name: &Name) -> Result<(OwnedFd, String), StoreError> {
        let (dir, _, file_name) = self.walk_to_parent(name, true)?;
        Ok((dir, file_name.to_owned()))
    }

    /// Walks `name`'s folders beneath this one, component by component and
    /// never through a symlink, creating missing ones if `create`. Returns
    /// the deepest folder reached, the folders still missing below it
    /// (none if `create`) and the last component.
    fn walk_to_parent<'n>(
        &self,
        name: &'n Name,
        create: bool,
    ) -> Result<(OwnedFd, Vec<&'n str>, &'n str), StoreError> {
        let components: Vec<&str> = name.components().collect();
        let (file_name, parents) = components.split_last().ok_or(StoreError::NotFound)?;
        let mut dir = rustix::fs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(StoreError::from_open)?;
        for (i, part) in parents.iter().enumerate() {
            if create {
                match rustix::fs::mkdirat(&dir, *part, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(StoreError::from_open(e)),
                }
            }
            match enter(&dir, part) {
                Ok(next) => dir = next,
                Err(StoreError::NotFound) if !create => {
                    return Ok((dir, parents[i..].to_vec(), file_name));
                }
                Err(e) => return Err(e),
            }
        }
        Ok((dir, Vec::new(), file_name))
    }

    /// Removes temporary files left by uploads that never finished (a crash
    /// or a power cut); returns how many were removed.
    pub fn remove_temporaries(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        self.walk(
            |dir, path, raw, st| match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => Ok(path.is_some()),
                FileType::RegularFile if raw.starts_with(RESERVED_PREFIX.as_bytes()) => {
                    rustix::fs::unlinkat(dir, raw, AtFlags::empty())
                        .map_err(|e| StoreError::Io(e.into()))?;
                    removed += 1;
                    Ok(false)
                }
                _ => Ok(false),
            },
        )?;
        Ok(removed)
    }
}

/// The entries of a listing whose names match a globset mask (`*` does not
/// cross `/`, `**` does), in the listing's order.
pub fn matching(mut entries: Vec<ListEntry>, mask: &str) -> Result<Vec<ListEntry>, StoreError> {
    let glob = globset::GlobBuilder::new(mask)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| StoreError::BadMask(e.kind().to_string()))?
        .compile_matcher();
    entries.retain(|e| glob.is_match(&e.name));
    Ok(entries)
}
