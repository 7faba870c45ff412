//! Slows down repeated failed logins from one address, whatever the store.
//!
//! A trusted address (`--trust`, a ferry cache in front) stands for many
//! clients: its failures are not held against it, since the cache slows
//! down its own clients per address.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Each failure doubles the wait before that address's next check (0.1 s,
/// 0.2 s, ... up to 10 s); a success or 15 idle minutes forget it.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    trusted: HashSet<IpAddr>,
}

impl Throttle {
    const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

    /// A throttle that never slows down the `trusted` addresses.
    pub fn new(trusted: &[IpAddr]) -> Self {
        Throttle {
            failures: Mutex::default(),
            trusted: trusted.iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    /// How long `ip` must wait before its next login is checked.
    pub fn delay(&self, ip: IpAddr) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&ip) {
            Some(&(count, last)) => {
                let wait = Duration::from_millis(100u64 << count.min(7).saturating_sub(1))
                    .min(Duration::from_secs(10));
                wait.saturating_sub(last.elapsed())
            }
            None => Duration::ZERO,
        }
    }

    /// Records a failed login from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        if self.trusted.contains(&ip.to_canonical()) {
            return;
        }
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, last)| last.elapsed() < Self::FORGET_AFTER);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() > Self::FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 += 1;
        entry.1 = Instant::now();
    }

    /// Forgets the failures of `ip` after a successful login.
    pub fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}
