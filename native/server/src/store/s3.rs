//! The object store: files in an S3-compatible bucket, `PREFIX/public/...`
//! for everyone and `PREFIX/private/<user>/...` after a login checked
//! against `PREFIX/users` (the same Argon2id lines as a root's users file).
//! Nothing is kept on the server but scratch files, so any number of ferry
//! servers of one bucket serve the same files and the same users.
//!
//! - DOWNLOAD streams the object's GET to the client as its bytes arrive;
//!   the size announced is the GET's own. An object up to 64 KiB is read
//!   whole and sent with its header; from a plain-HTTP endpoint, on the
//!   connection's own thread over a connection to the store kept open.
//! - RESUME reads the object's version (HEAD), hashes the prefix with
//!   ranged GETs conditional on that version (checkpoints keyed by ETag and
//!   size, as for files), and fetches only the rest, conditionally too.
//! - UPLOAD is one PUT that starts once the size is known and streams the
//!   client's bytes as they land: the object appears only when whole, and
//!   an upload cut short leaves nothing.
//! - LIST is ListObjectsV2, sorted here into the protocol's bytewise order;
//!   keys that break a name rule are neither listed nor served.

use std::fs::File;
use std::io::{self, Read};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use ferry_core::{Limits, ListEntry, Mask, Name, NameError, may_have_other_spellings, nfc};
use ferry_runtime::growing::Growing;
use ferry_runtime::stream::Reader;
use ferry_runtime::{Body, Fetch, Stream};
use ferry_storage::{FileId, ReadAt, Replace, StoreError, unnamed_file};

use super::listing::{Growth, ListingBudget};
use super::{Logins, Note, Sink, Store};
use crate::s3::{Location, Put as When, S3, S3Error, Small, Whole};
use crate::users::Users;
use crate::verifier::Verifier;

/// The longest key S3 stores (bytes of UTF-8).
const MAX_KEY: usize = 1024;
/// Password checks that may run at once: each is heavy.
const HEAVY_JOBS: usize = 2;

/// Files and users in a bucket.
#[derive(Debug)]
pub struct S3Store {
    s3: Arc<S3>,
    public: Arc<Area>,
    /// Where unnamed scratch files go (the system's temporary folder).
    scratch: PathBuf,
    verifier: Verifier,
    /// Keeps the public listing well below its limit.
    listing: Arc<ListingBudget>,
    /// The users file as last read, and its version.
    users: Mutex<Option<(String, Users)>>,
    limits: Limits,
}

/// Where requests act: the keys under one prefix.
#[derive(Debug)]
pub struct Area {
    prefix: String,
}

impl S3Store {
    /// Connects to the bucket and checks it answers with these credentials
    /// (a wrong key, a missing bucket or an endpoint that does not answer
    /// is an error now, not at the first request).
    pub fn open(location: &Location, limits: &Limits) -> anyhow::Result<Self> {
        let s3 = S3::new(
            location,
            std::time::Duration::from_micros(limits.timeout_us),
        )?;
        s3.check()?;
        let scratch = std::env::temp_dir();
        unnamed_file(&scratch).with_context(|| {
            format!(
                "cannot make scratch files in {} (set TMPDIR to a writable folder)",
                scratch.display()
            )
        })?;
        let public = s3.key("public/");
        let listed = s3
            .list(&public)
            .with_context(|| format!("cannot list {}", s3.shown))?;
        let private = s3.key("private/");
        let privately = s3
            .list(&private)
            .with_context(|| format!("cannot list {}", s3.shown))?;
        for (keys, prefix, place) in [
            (&listed, &public, "public/"),
            (&privately, &private, "private/"),
        ] {
            let refused: Vec<_> = keys
                .iter()
                .filter_map(|(key, _)| {
                    let name = key.strip_prefix(prefix.as_str())?.as_bytes();
                    let rule = Name::parse(name, limits).err()?;
                    (rule != NameError::Reserved).then(|| (name.to_owned(), rule))
                })
                .collect();
            super::log_unreachable(&format!("{place} of {}", s3.shown), &refused);
        }
        let listing = ListingBudget::new(limits, &entries((listed, public.clone()), limits));
        Ok(S3Store {
            public: Arc::new(Area { prefix: public }),
            listing: Arc::new(listing),
            s3: Arc::new(s3),
            scratch,
            verifier: Verifier::start(HEAVY_JOBS)?,
            users: Mutex::new(None),
            limits: limits.clone(),
        })
    }

    /// Where the store is, for the banner.
    pub fn shown(&self) -> &str {
        &self.s3.shown
    }

    /// The users, read again only when the file's version changed.
    async fn users(&self) -> anyhow::Result<Users> {
        let known = self.lock_users().as_ref().map(|(etag, _)| etag.clone());
        let s3 = self.s3.clone();
        let key = s3.key(crate::users::USERS_FILE);
        let read = smol::unblock(move || s3.read_small(&key, known.as_deref())).await;
        let mut cached = self.lock_users();
        match read.context("cannot read the users file")? {
            Small::Unchanged => Ok(cached.as_ref().map(|(_, u)| u.clone()).unwrap_or_default()),
            Small::Missing => {
                *cached = None;
                Ok(Vec::new())
            }
            Small::Read { bytes, etag } => {
                let text = String::from_utf8_lossy(&bytes);
                let users = crate::users::parse(&text, "the users file in the bucket")?;
                *cached = Some((etag, users.clone()));
                Ok(users)
            }
        }
    }

    fn lock_users(&self) -> std::sync::MutexGuard<'_, Option<(String, Users)>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Objects up to this size are read whole with their answer (one trip
/// to the blocking pool instead of two); larger ones are streamed.
const INLINE_MAX: u64 = 64 * 1024;

impl Store for S3Store {
    type Scope = Arc<Area>;
    type Sink = S3Upload;

    fn public(&self, _: IpAddr) -> Arc<Area> {
        self.public.clone()
    }

    fn logins(&self) -> Logins<'_> {
        Logins::Checked
    }

    async fn login(&self, user: &str, pass: &str) -> anyhow::Result<Arc<Area>> {
        let hash = self
            .users()
            .await?
            .into_iter()
            .find(|(u, _)| u == user)
            .map(|(_, h)| h);
        let verified = self.verifier.verify(hash, pass).await?;
        anyhow::ensure!(verified, "wrong user name or password");
        Ok(Arc::new(Area {
            prefix: self.s3.key(&format!("private/{user}/")),
        }))
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        self.s3.metrics.collectors()
    }

    async fn probe(&self) -> Result<(), String> {
        let s3 = self.s3.clone();
        smol::unblock(move || s3.probe()).await
    }

    async fn list(&self, scope: &Arc<Area>) -> Result<(Vec<ListEntry>, Note), StoreError> {
        let (s3, prefix, limits) = (self.s3.clone(), scope.prefix.clone(), self.limits.clone());
        let keys = smol::unblock(move || s3.list(&prefix).map(|keys| (keys, prefix)))
            .await
            .map_err(store_error)?;
        let entries = entries(keys, &limits);
        if Arc::ptr_eq(scope, &self.public) {
            self.listing.measured(&entries);
        }
        Ok((entries, None))
    }

    async fn open(&self, scope: &Arc<Area>, name: &Name) -> Result<(Body, Note), StoreError> {
        let key = format!("{}{name}", scope.prefix);
        // A small object is read whole with its answer and sent with the
        // header. A large one's size is its GET's own (a replaced object
        // cannot make the header and the bytes disagree), and its bytes go
        // from the store's answer to the client as they arrive.
        let body = match self.s3.get_whole(&key, INLINE_MAX).await {
            Ok(Some(Whole::Bytes(bytes))) => Body::Bytes { bytes, offset: 0 },
            Ok(Some(Whole::Streaming(object))) => Body::Stream {
                size: object.len,
                source: Stream(object.body),
            },
            Ok(None) => return Err(StoreError::NotFound),
            Err(e) => return Err(store_error(e)),
        };
        Ok((body, None))
    }

    async fn open_to_resume(
        &self,
        scope: &Arc<Area>,
        name: &Name,
    ) -> Result<(Body, Note), StoreError> {
        let (s3, key) = (self.s3.clone(), format!("{}{name}", scope.prefix));
        let head = smol::unblock({
            let (s3, key) = (s3.clone(), key.clone());
            move || s3.head(&key)
        })
        .await
        .map_err(store_error)?;
        let Some((size, etag)) = head else {
            return Err(StoreError::NotFound);
        };
        let object = Object {
            s3,
            key,
            size,
            etag,
            reading: Mutex::new(None),
        };
        Ok((
            Body::Remote {
                source: Arc::new(object),
                offset: 0,
            },
            None,
        ))
    }

    async fn begin_upload(
        &self,
        scope: &Arc<Area>,
        name: &Name,
        replace: Replace,
    ) -> Result<S3Upload, StoreError> {
        let key = format!("{}{name}", scope.prefix);
        if key.len() > MAX_KEY {
            return Err(StoreError::Io(io::Error::other(format!(
                "the name makes a key of {} bytes; an object store's keys hold at most {MAX_KEY}",
                key.len()
            ))));
        }
        let (s3, prefix, checked) = (self.s3.clone(), scope.prefix.clone(), name.clone());
        smol::unblock(move || room_for(&s3, &prefix, &checked)).await?;
        // A new public file lengthens everyone's listing.
        let public = Arc::ptr_eq(scope, &self.public);
        let mut grows = None;
        if public || replace == Replace::NewOnly {
            let (s3, key) = (self.s3.clone(), key.clone());
            let exists = smol::unblock(move || s3.head(&key))
                .await
                .map_err(store_error)?
                .is_some();
            if exists && replace == Replace::NewOnly {
                return Err(StoreError::Exists);
            }
            if public && !exists {
                grows = Some((self.listing.clone(), self.listing.reserve(name)?));
            }
        }
        Ok(S3Upload {
            s3: self.s3.clone(),
            key,
            file: unnamed_file(&self.scratch)?,
            written: 0,
            replace,
            put: None,
            grows,
        })
    }

    async fn matching(&self, scope: &Arc<Area>, mask: &Mask) -> Result<Vec<ListEntry>, StoreError> {
        let (entries, _) = self.list(scope).await?;
        ferry_storage::matching(entries, mask.as_str())
    }
}

/// The listing of `keys` under `prefix`: names that obey the rules, in the
/// protocol's bytewise order (stores built on folders list `a/y.txt`
/// before `a-z.txt`).
fn entries((keys, prefix): (Vec<(String, u64)>, String), limits: &Limits) -> Vec<ListEntry> {
    let mut entries: Vec<ListEntry> = keys
        .into_iter()
        .filter_map(|(key, size)| {
            let name = key.strip_prefix(&prefix)?;
            Name::parse(name.as_bytes(), limits).ok()?;
            Some(ListEntry {
                name: name.to_owned(),
                size,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    entries
}

/// Whether `name` under `prefix` can become a file as a folder could: no
/// key on its path is a file (`x` when uploading `x/y`), no key continues
/// it as a folder (`x/y` when uploading `x`), and no file or folder has
/// one of its names in another Unicode spelling.
fn room_for(s3: &S3, prefix: &str, name: &Name) -> Result<(), StoreError> {
    let key = format!("{prefix}{name}");
    if s3.any_under(&format!("{key}/")).map_err(store_error)? {
        return Err(StoreError::NotRegular);
    }
    let mut parent = prefix.to_owned();
    let mut components = name.components().peekable();
    while let Some(component) = components.next() {
        if may_have_other_spellings(component) {
            let wanted = nfc(component);
            let children = s3.children(&parent).map_err(store_error)?;
            if let Some(other) = children
                .iter()
                .find(|c| c.as_str() != component && nfc(c) == wanted)
            {
                let shown = format!("{parent}{other}");
                return Err(StoreError::OtherSpelling(
                    shown.strip_prefix(prefix).unwrap_or(&shown).to_owned(),
                ));
            }
        }
        parent.push_str(component);
        if components.peek().is_some() {
            // A file where the name needs a folder.
            if s3.head(&parent).map_err(store_error)?.is_some() {
                return Err(StoreError::NotRegular);
            }
            parent.push('/');
        }
    }
    Ok(())
}

/// What the protocol answers for a failed request to the store.
fn store_error(e: S3Error) -> StoreError {
    StoreError::Io(io::Error::other(e.to_string()))
}

/// One version of an object, for a RESUME: read at positions while its
/// prefix is hashed, fetched from the resume position when sent.
struct Object {
    s3: Arc<S3>,
    key: String,
    size: u64,
    etag: String,
    /// The ranged GET being read, where it stands and where it ends:
    /// sequential reads continue it instead of asking again.
    reading: Mutex<Reading>,
}

/// A ranged GET under way: where it stands, where it ends, its bytes.
type Reading = Option<(u64, u64, Box<dyn Reader>)>;

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("key", &self.key)
            .field("size", &self.size)
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

impl ReadAt for Object {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.size {
            return Ok(0);
        }
        let mut reading = self.reading.lock().unwrap_or_else(|p| p.into_inner());
        // Sequential reads continue the GET under way; a broken one (a
        // store that closed it while the hashing waited its turn) is asked
        // again, once.
        for attempt in 0..2 {
            if reading
                .as_ref()
                .is_none_or(|(at, end, _)| *at != offset || at >= end)
            {
                let (end, body) = self.range(offset)?;
                *reading = Some((offset, end, body));
            }
            let Some((at, _, body)) = reading.as_mut() else {
                return Ok(0);
            };
            match body.read(buf) {
                Ok(n) => {
                    *at += n as u64;
                    return Ok(n);
                }
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => *reading = None,
            }
        }
        Ok(0)
    }
}

impl Object {
    /// The bytes of this version from `offset`, at most one checkpoint
    /// interval of them (what one hashing step reads, no more), and where
    /// they end.
    fn range(&self, offset: u64) -> io::Result<(u64, Box<dyn Reader>)> {
        let to = offset + ferry_storage::CHECKPOINT_INTERVAL - 1;
        let object = self
            .s3
            .get_range(&self.key, Some((offset, Some(to))), Some(&self.etag))
            .map_err(io::Error::other)?
            .ok_or_else(|| io::Error::other("the object was removed"))?;
        Ok((offset + object.len, object.body))
    }
}

impl Fetch for Object {
    fn size(&self) -> u64 {
        self.size
    }

    fn version(&self) -> FileId {
        // The key too: some stores' ETags are not digests of the content.
        FileId::of_version(&format!("{}\n{}", self.key, self.etag), self.size)
    }

    fn fetch(&self, from: u64) -> io::Result<Stream> {
        // Only this version: a replaced object fails instead of mixing.
        let object = self
            .s3
            .get(&self.key, Some(from), Some(&self.etag))
            .map_err(io::Error::other)?
            .ok_or_else(|| io::Error::other("the object was removed"))?;
        Ok(Stream(object.body))
    }
}

/// An upload to the bucket: the client's bytes land in a scratch file and
/// one PUT sends them on as they land.
#[derive(Debug)]
pub struct S3Upload {
    s3: Arc<S3>,
    key: String,
    file: File,
    written: u64,
    /// Whether the PUT may replace an object (else `If-None-Match: *`).
    replace: Replace,
    /// The PUT under way, once the size is known, and the bytes it reads.
    put: Option<(Arc<Growing>, Put)>,
    /// What a new public file adds to the listing.
    grows: Option<(Arc<ListingBudget>, Growth)>,
}

impl Sink for S3Upload {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        // The store refused already: say so now, not after the whole body.
        if let Some((_, put)) = &self.put
            && put.is_finished()
        {
            return Err(io::Error::other("the object store ended the upload early"));
        }
        self.file.write_all_at(data, self.written)?;
        self.written += data.len() as u64;
        if let Some((growing, _)) = &self.put {
            growing.advance(self.written);
        }
        Ok(())
    }

    fn room(&self) -> Option<u64> {
        // The bytes pass through a scratch file on the way to the store.
        let stats = rustix::fs::fstatvfs(&self.file).ok()?;
        Some(stats.f_bavail.saturating_mul(stats.f_frsize))
    }

    fn expect(&mut self, size: u32) {
        let Ok(file) = self.file.try_clone() else {
            return;
        };
        let growing = Arc::new(Growing::new(file, size.into(), self.written));
        let (s3, key) = (self.s3.clone(), self.key.clone());
        let body = Landed {
            growing: growing.clone(),
            at: 0,
        };
        let when = match self.replace {
            Replace::Allowed => When::Always,
            Replace::NewOnly => When::IfAbsent,
        };
        let put = smol::unblock(move || s3.put(&key, size.into(), body, when));
        self.put = Some((growing, put));
    }

    async fn commit(mut self) -> io::Result<()> {
        let Some((growing, put)) = self.put.take() else {
            return Err(io::Error::other("the upload never started"));
        };
        if !growing.settled() {
            growing.cut("the upload stopped");
        }
        match put.await {
            Ok(_) => {}
            Err(S3Error::Changed) => return Err(ferry_storage::stored_meanwhile()),
            Err(e) => return Err(io::Error::other(e)),
        }
        if let Some((listing, growth)) = self.grows.take() {
            listing.grew(growth);
        }
        Ok(())
    }
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        // Cut short: the PUT fails, and nothing appears in the bucket.
        if let Some((growing, _)) = &self.put {
            growing.cut("the upload stopped");
        }
    }
}

/// A PUT under way on the blocking pool: the new version, or why not.
type Put = smol::Task<Result<String, S3Error>>;

/// The bytes of an upload as they land, for the PUT to read.
struct Landed {
    growing: Arc<Growing>,
    at: u64,
}

impl Read for Landed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.growing.size || buf.is_empty() {
            return Ok(0);
        }
        let Some(written) = smol::block_on(self.growing.past(self.at)) else {
            return Err(io::Error::other("the upload was cut short"));
        };
        let want = (written - self.at).min(buf.len() as u64) as usize;
        let n = FileExt::read_at(&self.growing.file, &mut buf[..want], self.at)?;
        if n == 0 {
            return Err(io::Error::other("the upload's scratch file ended early"));
        }
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_keep_valid_names_in_bytewise_order() {
        let keys = [
            "p/public/a.txt",
            "p/public/a/y.txt",
            "p/public/a-z.txt",
            "p/public/../x",
            "p/public/",
        ]
        .iter()
        .map(|k| (k.to_string(), 1))
        .collect();
        let names: Vec<String> = entries((keys, "p/public/".into()), &Limits::default())
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a-z.txt", "a.txt", "a/y.txt"]);
    }
}
