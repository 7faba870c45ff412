//! Keeping the public listing well below its limit (`--max-listing-size`),
//! whatever the store: new public files are refused once the listing would
//! pass half of the limit, so LIST keeps working for everyone. The size is
//! exact at each LIST and grown by each new file; uploads under way reserve
//! their entry, so uploads begun together cannot all pass.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ferry_core::{Limits, ListEntry, Name};
use ferry_storage::StoreError;

/// The public listing's size and what uploads under way reserve.
#[derive(Debug)]
pub struct ListingBudget {
    /// Bytes of the public listing (exact at each LIST, grown by uploads).
    listed: AtomicU64,
    /// Bytes reserved by uploads of new public files still under way.
    reserved: Arc<AtomicU64>,
    /// What the public listing may reach by uploads: half its limit.
    budget: u64,
    /// The limit itself (`--max-listing-size`), for messages.
    limit: u64,
}

/// A new public file's entry, reserved until the upload is stored (then
/// counted) or dropped (then given back).
#[derive(Debug)]
pub struct Growth {
    reserved: Arc<AtomicU64>,
    entry: u64,
}

impl ListingBudget {
    /// A budget of half `limits.max_listing_len`, the listing holding
    /// `entries` now.
    pub fn new(limits: &Limits, entries: &[ListEntry]) -> Self {
        ListingBudget {
            listed: AtomicU64::new(size_of(entries)),
            reserved: Arc::new(AtomicU64::new(0)),
            budget: u64::from(limits.max_listing_len) / 2,
            limit: limits.max_listing_len.into(),
        }
    }

    /// The listing as it was just read: its true size again (files may
    /// have come or gone behind the server's back).
    pub fn measured(&self, entries: &[ListEntry]) {
        self.listed.store(size_of(entries), Ordering::Relaxed);
    }

    /// Reserves the entry of a new public file `name`, or refuses it.
    pub fn reserve(&self, name: &Name) -> Result<Growth, StoreError> {
        let entry = entry_len(&ListEntry {
            name: name.as_str().to_owned(),
            size: u64::from(u32::MAX),
        });
        let listed = self.listed.load(Ordering::Relaxed);
        let reserved =
            self.reserved
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |reserved| {
                    (listed + reserved + entry <= self.budget).then_some(reserved + entry)
                });
        if reserved.is_err() {
            // A quota of the listing's: told apart from a failing disk.
            return Err(StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::QuotaExceeded,
                format!(
                    "a new public file would take the listing past half of --max-listing-size {} \
                 (kept free so LIST works for everyone): no new files until some are removed",
                    crate::settings::flag_size(self.limit)
                ),
            )));
        }
        Ok(Growth {
            reserved: self.reserved.clone(),
            entry,
        })
    }

    /// A new public file was stored: the listing grew by its entry.
    pub fn grew(&self, growth: Growth) {
        self.listed.fetch_add(growth.entry, Ordering::Relaxed);
    }
}

impl Drop for Growth {
    fn drop(&mut self) {
        let _ = self
            .reserved
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| {
                Some(r.saturating_sub(self.entry))
            });
    }
}

/// Bytes of a listing's JSON.
fn size_of(entries: &[ListEntry]) -> u64 {
    entries.iter().map(entry_len).sum::<u64>() + 2
}

/// Bytes an entry takes in the LIST JSON (its name escaped, its size, the
/// keys and punctuation).
fn entry_len(entry: &ListEntry) -> u64 {
    ferry_core::encode_listing(std::slice::from_ref(entry)).len() as u64 - 1
}
