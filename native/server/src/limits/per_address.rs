//! How many connections one client address may hold at once
//! (`--max-connections-per-address`), so one address cannot take every
//! slot. IPv6 clients count per /64 (one subscriber's network); addresses
//! named with `--trust` (a cache in front) stand for many clients and are
//! not counted.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What addresses count as one client: an IPv4 address, or an IPv6 /64
/// (marked by a bit no IPv4 address has).
pub type Key = u128;

/// The client an address belongs to: itself (IPv4), or its /64 (IPv6).
pub fn key(ip: IpAddr) -> Key {
    match ip.to_canonical() {
        IpAddr::V4(v4) => u32::from(v4).into(),
        IpAddr::V6(v6) => (u128::from(v6) >> 64) | 1 << 64,
    }
}

/// Entries kept before the ones at zero are swept: a busy address keeps
/// its entry instead of removing and adding it with every connection.
const SWEEP_AT: usize = 4096;

/// A cheap hasher for keys that are already numbers (the counts are kept
/// on every accept and every close).
#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u128(&mut self, n: u128) {
        let folded = (n as u64) ^ ((n >> 64) as u64).rotate_left(32);
        self.0 = (self.0 ^ folded).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Counts = HashMap<Key, usize, std::hash::BuildHasherDefault<KeyHasher>>;

/// What is open per client address (connections, the cache's fills).
#[derive(Debug)]
pub struct PerAddress {
    cap: usize,
    trusted: HashSet<IpAddr>,
    open: Mutex<(Counts, usize)>,
}

/// One thing counted against its address; uncounted when dropped.
#[derive(Debug)]
pub struct Ticket {
    key: Key,
    owner: Arc<PerAddress>,
}

impl PerAddress {
    /// At most `cap` at once per address; `trusted` addresses uncounted.
    pub fn new(cap: usize, trusted: &[IpAddr]) -> Self {
        PerAddress {
            cap: cap.max(1),
            trusted: trusted.iter().map(|ip| ip.to_canonical()).collect(),
            open: Mutex::new((Counts::default(), SWEEP_AT)),
        }
    }

    /// Counts a new connection from `ip`: `Ok(None)` for a trusted address,
    /// `Err(open)` when the address already holds its share.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Option<Ticket>, usize> {
        if self.trusted.contains(&ip.to_canonical()) {
            return Ok(None);
        }
        let key = key(ip);
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (open, sweep_at) = &mut *guard;
        if open.len() >= *sweep_at {
            open.retain(|_, count| *count > 0);
            // Many live clients: sweep again only when the map has doubled.
            *sweep_at = (open.len() * 2).max(SWEEP_AT);
        }
        let count = open.entry(key).or_insert(0);
        if *count >= self.cap {
            return Err(*count);
        }
        *count += 1;
        Ok(Some(Ticket {
            key,
            owner: self.clone(),
        }))
    }

    /// The most connections one address may hold.
    pub fn cap(&self) -> usize {
        self.cap
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut guard = self.owner.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = guard.0.get_mut(&self.key) {
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_share_and_trusted_ones_are_not_counted() {
        let limits = Arc::new(PerAddress::new(2, &["10.0.0.9".parse().unwrap()]));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), 2);
        // The same address over IPv4-mapped IPv6 is the same client.
        assert!(limits.admit("::ffff:10.0.0.1".parse().unwrap()).is_err());
        assert!(limits.admit("10.0.0.2".parse().unwrap()).is_ok());
        drop(first);
        assert!(
            limits.admit(a).is_ok(),
            "a closed connection frees its place"
        );
        for _ in 0..10 {
            assert!(limits.admit("10.0.0.9".parse().unwrap()).unwrap().is_none());
        }
        // IPv6: one /64 is one client; another /64 is another.
        let _x = limits.admit("2001:db8:1:1::1".parse().unwrap()).unwrap();
        let _y = limits.admit("2001:db8:1:1::ffff".parse().unwrap()).unwrap();
        assert!(limits.admit("2001:db8:1:1::2".parse().unwrap()).is_err());
        assert!(limits.admit("2001:db8:1:2::1".parse().unwrap()).is_ok());
    }
}
