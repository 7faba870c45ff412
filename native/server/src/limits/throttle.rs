//! Slows down repeated failed logins from one client (an IPv4 address, or
//! an IPv6 /64, as the connection cap counts them), whatever the store.
//!
//! A trusted address (`--trust`, a ferry cache in front) stands for many
//! clients: its failures are not held against it, since the cache slows
//! down its own clients per address.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::per_address::{Key, key};
use std::time::{Duration, Instant};

/// Each failure doubles the wait before that address's next check (0.1 s,
/// 0.2 s, ... up to 10 s); a success or 15 idle minutes forget it.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<Key, (u32, Instant)>>,
    trusted: HashSet<IpAddr>,
    /// One login check at a time per address: parallel connections from
    /// one address queue behind each other, each waiting its delay.
    gates: Mutex<HashMap<Key, Arc<smol::lock::Mutex<()>>>>,
}

/// An address's turn to have a login checked; the next waits for it.
#[derive(Debug)]
pub struct Turn<'a> {
    _guard: Option<smol::lock::MutexGuardArc<()>>,
    client: Key,
    throttle: &'a Throttle,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self._guard = None;
        // Forget the gate once nobody else holds or waits for it.
        let mut gates = self
            .throttle
            .gates
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if gates
            .get(&self.client)
            .is_some_and(|g| Arc::strong_count(g) == 1)
        {
            gates.remove(&self.client);
        }
    }
}

impl Throttle {
    const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

    /// A throttle that never slows down the `trusted` addresses.
    pub fn new(trusted: &[IpAddr]) -> Self {
        Throttle {
            failures: Mutex::default(),
            trusted: trusted.iter().map(|ip| ip.to_canonical()).collect(),
            gates: Mutex::default(),
        }
    }

    /// Waits for `ip`'s turn, then for its delay: however many connections
    /// an address opens, its logins are checked one after another, each
    /// after the wait its failures earned. Other addresses do not wait.
    pub async fn turn(&self, ip: IpAddr) -> Turn<'_> {
        let ip = ip.to_canonical();
        let guard = if self.trusted.contains(&ip) {
            None
        } else {
            let gate = self
                .gates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key(ip))
                .or_default()
                .clone();
            Some(gate.lock_arc().await)
        };
        let wait = self.delay(ip);
        if !wait.is_zero() {
            async_io::Timer::after(wait).await;
        }
        Turn {
            _guard: guard,
            client: key(ip),
            throttle: self,
        }
    }

    /// How long `ip` must wait before its next login is checked.
    pub fn delay(&self, ip: IpAddr) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key(ip)) {
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
        let entry = map.entry(key(ip)).or_insert((0, Instant::now()));
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
            .remove(&key(ip));
    }
}
