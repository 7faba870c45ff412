//! The folder store: `ROOT/public/` for everyone, `ROOT/private/<user>/`
//! after a login checked against the users file, every path contained by the
//! kernel (see `ferry_storage::Folder`).

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ferry_core::{Limits, ListEntry, Mask, Name};
use ferry_runtime::Body;
use ferry_storage::{Folder, FolderLock, Replace, StoreError, Upload};

use super::listing::{Growth, ListingBudget};
use super::{Logins, Note, Sink, Store};
use crate::verifier::Verifier;

/// Password checks that may run at once: each is heavy.
const HEAVY_JOBS: usize = 2;
/// The lock file in the root (beside public/ and private/: never served).
const ROOT_LOCK: &str = "serve.lock";

/// A public folder and per-user private folders on local disk.
#[derive(Debug)]
pub struct FolderStore {
    public: Arc<Folder>,
    private: Folder,
    users: PathBuf,
    /// Password checks, on a fixed pool that reuses its memory.
    verifier: Verifier,
    /// Keeps the public listing well below its limit.
    listing: Arc<ListingBudget>,
    /// Held while serving: one server per root.
    _lock: Option<FolderLock>,
}

impl FolderStore {
    /// Opens `root/public` and `root/private`, removing the temporaries
    /// that uploads cut short by a crash or a power cut left behind.
    pub fn open(root: &std::path::Path, limits: &Limits) -> anyhow::Result<Self> {
        let open = |sub: &str| {
            let path = root.join(sub);
            Folder::open(&path, limits.clone())
                .with_context(|| format!("cannot open {}", path.display()))
        };
        // One server per root: a second one must not remove the first
        // one's uploads in flight as "unfinished".
        let lock = match FolderLock::take(root, ROOT_LOCK) {
            Ok(lock) => Some(lock),
            Err(busy @ StoreError::Busy { .. }) => anyhow::bail!(
                "{busy}: another ferry serve uses this root; stop it, or give this one another --root"
            ),
            // A read-only root serves, but nothing stops a second server.
            Err(e) => {
                log::warn!(
                    "cannot lock {} ({e}): serving without the one-server lock",
                    root.display()
                );
                None
            }
        };
        let (public, private) = (open("public")?, open("private")?);
        for (folder, place) in [(&public, "public/"), (&private, "private/")] {
            super::log_unreachable(place, &folder.unreachable().unwrap_or_default());
        }
        let listing = ListingBudget::new(limits, &public.list().unwrap_or_default());
        let removed =
            public.remove_temporaries().unwrap_or(0) + private.remove_temporaries().unwrap_or(0);
        if removed > 0 {
            log::info!("removed {removed} unfinished upload(s) left from an earlier run");
        }
        Ok(FolderStore {
            public: Arc::new(public),
            private,
            users: crate::users::users_path(root),
            verifier: Verifier::start(HEAVY_JOBS)?,
            listing: Arc::new(listing),
            _lock: lock,
        })
    }
}

impl Store for FolderStore {
    type Scope = Arc<Folder>;
    type Sink = FolderUpload;

    fn public(&self, _: IpAddr) -> Arc<Folder> {
        self.public.clone()
    }

    fn logins(&self) -> Logins<'_> {
        Logins::Checked
    }

    async fn login(&self, user: &str, pass: &str) -> anyhow::Result<Arc<Folder>> {
        let (users, name) = (self.users.clone(), user.to_owned());
        // Read again at every login: `ferry user` changes apply at once.
        let hash = smol::unblock(move || {
            crate::users::load(&users)
                .map(|all| all.into_iter().find(|(u, _)| *u == name).map(|(_, h)| h))
        })
        .await?;
        let verified = self.verifier.verify(hash, pass).await?;
        anyhow::ensure!(verified, "wrong user name or password");
        // Opened by the kernel beneath private/, never through a symlink.
        let folder = self
            .private
            .subfolder(user)
            .with_context(|| format!("cannot open the private folder of {user}"))?;
        Ok(Arc::new(folder))
    }

    async fn list(&self, scope: &Arc<Folder>) -> Result<(Vec<ListEntry>, Note), StoreError> {
        let folder = scope.clone();
        let entries = smol::unblock(move || folder.list()).await?;
        if Arc::ptr_eq(scope, &self.public) {
            self.listing.measured(&entries);
        }
        Ok((entries, None))
    }

    async fn open(&self, scope: &Arc<Folder>, name: &Name) -> Result<(Body, Note), StoreError> {
        let open = scope.open_file(name)?;
        Ok((Body::File { open, offset: 0 }, None))
    }

    async fn begin_upload(
        &self,
        scope: &Arc<Folder>,
        name: &Name,
        replace: Replace,
    ) -> Result<FolderUpload, StoreError> {
        // A new public file lengthens everyone's listing.
        let grows = if Arc::ptr_eq(scope, &self.public) && scope.open_file(name).is_err() {
            Some((self.listing.clone(), self.listing.reserve(name)?))
        } else {
            None
        };
        // Off the event loop: a name that may be spelled otherwise has its
        // folders read.
        let (folder, name) = (scope.clone(), name.clone());
        let upload = smol::unblock(move || folder.begin_upload(&name, replace)).await?;
        Ok(FolderUpload { upload, grows })
    }

    async fn matching(
        &self,
        scope: &Arc<Folder>,
        mask: &Mask,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let (folder, mask) = (scope.clone(), mask.as_str().to_owned());
        smol::unblock(move || folder.matching(&mask)).await
    }
}

/// An upload to the folder store, and what it adds to the public listing.
#[derive(Debug)]
pub struct FolderUpload {
    upload: Upload,
    grows: Option<(Arc<ListingBudget>, Growth)>,
}

impl Sink for FolderUpload {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.upload.write(data)
    }

    fn room(&self) -> Option<u64> {
        self.upload.free_space().ok()
    }

    async fn commit(self) -> io::Result<()> {
        let FolderUpload { upload, grows } = self;
        smol::unblock(move || upload.commit()).await?;
        if let Some((listing, growth)) = grows {
            listing.grew(growth);
        }
        Ok(())
    }
}
