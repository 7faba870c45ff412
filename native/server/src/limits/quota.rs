//! Upload quotas for clients that have not logged in, so an anonymous
//! client can fill neither the disk nor the public listing: each address
//! (IPv6: one /64) may upload so many files and bytes per hour
//! (`--quota-files`, `--quota-size`), and all of them together so many
//! (`--quota-total-files`, `--quota-total-size`), whatever the store.
//!
//! Each allowance is a bucket that holds at most one hour's worth and
//! refills steadily: a client may spend its hour at once, then waits for
//! the bucket to refill. A trusted address (`--trust`, a cache in front,
//! which applies these quotas to its own clients) is held only to the
//! totals.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use super::per_address::{Key, key};

/// What may be uploaded per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Files (each upload counts one, whether it adds or replaces a file).
    pub files: u64,
    /// Bytes, as announced by the uploads.
    pub bytes: u64,
}

/// The allowances of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// For each client address.
    pub per_address: Allowance,
    /// For all clients together.
    pub total: Allowance,
}

/// Which allowance an upload would pass: the reason it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// This address's files (`--quota-files`).
    Files(u64),
    /// This address's bytes (`--quota-size`).
    Bytes(u64),
    /// Everyone's files (`--quota-total-files`).
    TotalFiles(u64),
    /// Everyone's bytes (`--quota-total-size`).
    TotalBytes(u64),
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exceeded::Files(n) => write!(
                f,
                "this address used its upload quota of {n} files per hour (--quota-files)"
            ),
            Exceeded::Bytes(n) => write!(
                f,
                "this address used its upload quota of {n} bytes per hour (--quota-size)"
            ),
            Exceeded::TotalFiles(n) => write!(
                f,
                "clients without a login used their {n} uploads per hour (--quota-total-files)"
            ),
            Exceeded::TotalBytes(n) => write!(
                f,
                "clients without a login used their {n} bytes per hour (--quota-total-size)"
            ),
        }
    }
}

/// What is left of one hour's allowance.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    files: f64,
    bytes: f64,
    at: Instant,
}

impl Bucket {
    fn full(allowance: Allowance, now: Instant) -> Self {
        Bucket {
            files: allowance.files as f64,
            bytes: allowance.bytes as f64,
            at: now,
        }
    }

    /// Adds what the time since the last charge earned, up to one hour's
    /// (charges from several threads may come with times slightly out of
    /// order: time never runs back).
    fn refill(&mut self, allowance: Allowance, now: Instant) {
        if now <= self.at {
            return;
        }
        let hours = (now - self.at).as_secs_f64() / 3600.0;
        self.files = (self.files + hours * allowance.files as f64).min(allowance.files as f64);
        self.bytes = (self.bytes + hours * allowance.bytes as f64).min(allowance.bytes as f64);
        self.at = now;
    }

    /// Gives back what a charge took, up to one hour's worth.
    fn give_back(&mut self, allowance: Allowance, files: u64, bytes: u64) {
        self.files = (self.files + files as f64).min(allowance.files as f64);
        self.bytes = (self.bytes + bytes as f64).min(allowance.bytes as f64);
    }

    fn is_full(&self, allowance: Allowance) -> bool {
        self.files >= allowance.files as f64 && self.bytes >= allowance.bytes as f64
    }

    fn covers(&self, files: u64, bytes: u64) -> bool {
        self.files >= files as f64 && self.bytes >= bytes as f64
    }

    fn spend(&mut self, files: u64, bytes: u64) {
        self.files -= files as f64;
        self.bytes -= bytes as f64;
    }
}

/// Buckets kept before the full ones are swept (a full bucket is the same
/// as none).
const SWEEP_AT: usize = 4096;

/// Every address's bucket and the total one.
#[derive(Debug)]
pub struct Quota {
    quotas: Quotas,
    trusted: HashSet<IpAddr>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    addresses: HashMap<Key, Bucket>,
    total: Bucket,
    sweep_at: usize,
}

impl Quota {
    /// Allowances as `quotas` says, with `trusted` addresses standing for
    /// many clients each.
    pub fn new(quotas: Quotas, trusted: &[IpAddr]) -> Self {
        Quota {
            quotas,
            trusted: trusted.iter().map(|ip| ip.to_canonical()).collect(),
            state: Mutex::new(State {
                addresses: HashMap::new(),
                total: Bucket::full(quotas.total, Instant::now()),
                sweep_at: SWEEP_AT,
            }),
        }
    }

    /// Takes `files` and `bytes` from the allowances of `ip` and of
    /// everyone, or from neither if either would pass its limit.
    pub fn charge(&self, ip: IpAddr, files: u64, bytes: u64, now: Instant) -> Result<(), Exceeded> {
        let Quotas { per_address, total } = self.quotas;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        state.total.refill(total, now);
        if !state.total.covers(files, 0) {
            return Err(Exceeded::TotalFiles(total.files));
        }
        if !state.total.covers(0, bytes) {
            return Err(Exceeded::TotalBytes(total.bytes));
        }
        if self.trusted.contains(&ip.to_canonical()) {
            state.total.spend(files, bytes);
            return Ok(());
        }
        if state.addresses.len() >= state.sweep_at {
            state.addresses.retain(|_, bucket| {
                bucket.refill(per_address, now);
                !bucket.is_full(per_address)
            });
            state.sweep_at = (state.addresses.len() * 2).max(SWEEP_AT);
        }
        let bucket = state
            .addresses
            .entry(key(ip))
            .or_insert_with(|| Bucket::full(per_address, now));
        bucket.refill(per_address, now);
        if !bucket.covers(files, 0) {
            return Err(Exceeded::Files(per_address.files));
        }
        if !bucket.covers(0, bytes) {
            return Err(Exceeded::Bytes(per_address.bytes));
        }
        bucket.spend(files, bytes);
        state.total.spend(files, bytes);
        Ok(())
    }
}

impl Quota {
    /// Gives back a charge that bought nothing: the store refused the
    /// upload before it began.
    pub fn refund(&self, ip: IpAddr, files: u64, bytes: u64) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        state.total.give_back(self.quotas.total, files, bytes);
        if let Some(bucket) = state.addresses.get_mut(&key(ip)) {
            bucket.give_back(self.quotas.per_address, files, bytes);
        }
    }

    /// What an upload under way took from everyone's allowance, given back
    /// unless it is stored (see [`Held`]).
    pub fn hold(&self) -> Held<'_> {
        Held {
            quota: self,
            files: 0,
            bytes: 0,
        }
    }
}

/// An upload's share of the total allowance: an upload announced and then
/// abandoned takes its address's allowance (each client pays for its own
/// attempts) but not everyone's, so nobody can use up the total with
/// uploads that never send their bytes.
#[derive(Debug)]
pub struct Held<'a> {
    quota: &'a Quota,
    /// Files charged so far.
    pub files: u64,
    /// Bytes charged so far.
    pub bytes: u64,
}

impl Held<'_> {
    /// The upload was stored: what it took stays taken.
    pub fn keep(mut self) {
        self.files = 0;
        self.bytes = 0;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.files == 0 && self.bytes == 0 {
            return;
        }
        let mut guard = self.quota.state.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .total
            .give_back(self.quota.quotas.total, self.files, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn quota(files: u64, bytes: u64, total_files: u64, total_bytes: u64) -> Quota {
        let quotas = Quotas {
            per_address: Allowance { files, bytes },
            total: Allowance {
                files: total_files,
                bytes: total_bytes,
            },
        };
        Quota::new(quotas, &["10.0.0.9".parse().unwrap()])
    }

    #[test]
    fn an_address_spends_its_hour_then_waits_for_the_refill() {
        let q = quota(3, 1000, 100, 1 << 20);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t = Instant::now();
        for _ in 0..3 {
            q.charge(a, 1, 0, t).unwrap();
        }
        assert_eq!(q.charge(a, 1, 0, t), Err(Exceeded::Files(3)));
        // Another address is not held back by the first one.
        q.charge(b, 1, 0, t).unwrap();
        // A third of an hour earns one file back, not more.
        let later = t + Duration::from_secs(1200) + Duration::from_millis(10);
        q.charge(a, 1, 0, later).unwrap();
        assert_eq!(q.charge(a, 1, 0, later), Err(Exceeded::Files(3)));
        // Bytes: a refused charge takes nothing.
        q.charge(b, 0, 900, t).unwrap();
        assert_eq!(q.charge(b, 0, 101, t), Err(Exceeded::Bytes(1000)));
        q.charge(b, 0, 100, t).unwrap();
        // IPv6: one /64 is one client.
        let x: IpAddr = "2001:db8::1".parse().unwrap();
        let y: IpAddr = "2001:db8::2".parse().unwrap();
        q.charge(x, 3, 0, t).unwrap();
        assert_eq!(q.charge(y, 1, 0, t), Err(Exceeded::Files(3)));
    }

    #[test]
    fn the_total_holds_for_all_addresses_and_trusted_ones_only_meet_it() {
        let q = quota(3, 1000, 5, 1 << 20);
        let t = Instant::now();
        let trusted: IpAddr = "10.0.0.9".parse().unwrap();
        // A cache in front is not held to one address's share.
        q.charge(trusted, 4, 0, t).unwrap();
        q.charge("10.0.0.1".parse().unwrap(), 1, 0, t).unwrap();
        assert_eq!(
            q.charge("10.0.0.2".parse().unwrap(), 1, 0, t),
            Err(Exceeded::TotalFiles(5))
        );
        assert_eq!(q.charge(trusted, 1, 0, t), Err(Exceeded::TotalFiles(5)));
        assert_eq!(
            q.charge(trusted, 0, 2 << 20, t),
            Err(Exceeded::TotalBytes(1 << 20))
        );
    }

    #[test]
    fn abandoned_uploads_give_back_the_total_and_refusals_everything() {
        let q = quota(3, 1000, 3, 1 << 20);
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        // An upload announced, then abandoned: the total comes back, the
        // address's share does not.
        q.charge(a, 1, 900, t).unwrap();
        let mut held = q.hold();
        (held.files, held.bytes) = (1, 900);
        drop(held);
        assert_eq!(q.charge(a, 0, 101, t), Err(Exceeded::Bytes(1000)));
        // A refusal by the store gives back both.
        q.charge(a, 1, 0, t).unwrap();
        q.refund(a, 1, 0);
        q.charge(a, 1, 0, t).unwrap();
        // A stored upload keeps what it took.
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        q.charge(b, 1, 0, t).unwrap();
        let mut held = q.hold();
        held.files = 1;
        held.keep();
        q.charge(b, 1, 0, t).unwrap();
        assert_eq!(
            q.charge("10.0.0.3".parse().unwrap(), 1, 0, t),
            Err(Exceeded::TotalFiles(3)),
            "a's upload under way and b's two take the three files of the hour"
        );
    }

    #[test]
    fn full_buckets_are_swept() {
        let q = quota(10, 1000, u64::MAX, u64::MAX);
        let t = Instant::now();
        for i in 0..SWEEP_AT as u32 {
            q.charge(IpAddr::from(i.to_be_bytes()), 1, 0, t).unwrap();
        }
        let hour_later = t + Duration::from_secs(3600);
        q.charge("10.0.0.1".parse().unwrap(), 1, 0, hour_later)
            .unwrap();
        let state = q.state.lock().unwrap();
        assert_eq!(state.addresses.len(), 1, "refilled buckets are forgotten");
    }
}
