//! A few slots for heavy work (hashing file prefixes for op 40), handed out
//! in turn between clients: when a slot frees, the next client in
//! round-robin order gets it, however many jobs each client queued. Jobs
//! take a slot for one bounded step at a time (one checkpoint interval of
//! hashing), so a client asking for gigabytes delays another client's
//! small request by at most one step per slot.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use smol::channel::{Receiver, Sender};

use super::per_address::{Key as ClientKey, key as client_key};

/// Slots handed out fairly between client addresses (IPv6: per /64).
#[derive(Debug)]
pub struct FairPool {
    slots: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    busy: usize,
    /// Clients with jobs waiting, in the order they get their next turn.
    ring: VecDeque<ClientKey>,
    /// Each waiting client's jobs, oldest first.
    queues: HashMap<ClientKey, VecDeque<Sender<()>>>,
}

/// A slot held; the next waiting client gets it when this drops.
#[derive(Debug)]
pub struct Turn<'a> {
    pool: &'a FairPool,
}

/// A job waiting for a slot; if it is dropped (its connection ended: the
/// server stopping, a deadline), a slot handed to it passes on.
struct Waiting<'a> {
    pool: &'a FairPool,
    granted: Option<Receiver<()>>,
}

impl FairPool {
    /// A pool of `slots` (at least one).
    pub fn new(slots: usize) -> Self {
        FairPool {
            slots: slots.max(1),
            state: Mutex::default(),
        }
    }

    /// Waits for a slot for one step of `client`'s work.
    pub async fn turn(&self, client: IpAddr) -> Turn<'_> {
        let granted = {
            let mut guard = self.lock();
            let state = &mut *guard;
            if state.busy < self.slots && state.ring.is_empty() {
                state.busy += 1;
                return Turn { pool: self };
            }
            let (tx, rx) = smol::channel::bounded(1);
            let key = client_key(client);
            let queue = state.queues.entry(key).or_default();
            if queue.is_empty() {
                state.ring.push_back(key);
            }
            queue.push_back(tx);
            rx
        };
        let mut waiting = Waiting {
            pool: self,
            granted: Some(granted),
        };
        if let Some(rx) = &waiting.granted {
            // The sender lives in the queue until it hands over a slot, so
            // the channel cannot close first.
            let granted = rx.recv().await;
            debug_assert!(granted.is_ok(), "a queued job lost its sender");
        }
        waiting.granted = None;
        Turn { pool: self }
    }

    /// Hands a freed slot to the next waiting client, or frees it.
    fn release(&self) {
        let mut state = self.lock();
        let state = &mut *state;
        while let Some(key) = state.ring.pop_front() {
            let Some(queue) = state.queues.get_mut(&key) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                state.queues.remove(&key);
            } else {
                state.ring.push_back(key);
            }
            // A job whose client went away has dropped its receiver.
            if next.is_some_and(|tx| tx.try_send(()).is_ok()) {
                return;
            }
        }
        state.busy = state.busy.saturating_sub(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.pool.release();
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Some(rx) = self.granted.take() else {
            return;
        };
        // Under the lock, so no slot is handed over between the check and
        // the receiver's end.
        let state = self.pool.lock();
        let handed = rx.try_recv().is_ok();
        drop(rx);
        drop(state);
        if handed {
            self.pool.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_client_with_many_jobs_does_not_hold_back_another() {
        smol::block_on(async {
            let pool = Arc::new(FairPool::new(1));
            let order = Arc::new(Mutex::new(Vec::new()));
            let first = pool.turn(ip(1)).await;
            let mut tasks = Vec::new();
            // Client 1 queues five jobs, then client 2 one.
            for (i, who) in [1, 1, 1, 1, 1, 2].into_iter().enumerate() {
                let (shared, order) = (pool.clone(), order.clone());
                tasks.push(smol::spawn(async move {
                    let _turn = shared.turn(ip(who)).await;
                    order.lock().unwrap().push((who, i));
                }));
                // Each queued before the next.
                while pool
                    .lock()
                    .queues
                    .values()
                    .map(VecDeque::len)
                    .sum::<usize>()
                    <= i
                {
                    smol::future::yield_now().await;
                }
            }
            drop(first);
            for task in tasks {
                task.await;
            }
            let order = order.lock().unwrap().clone();
            assert_eq!(order[..2], [(1, 0), (2, 5)], "{order:?}");
            assert_eq!(pool.lock().busy, 0);
        });
    }

    #[test]
    fn a_slot_handed_to_a_job_that_went_away_passes_on() {
        smol::block_on(async {
            let pool = FairPool::new(1);
            let held = pool.turn(ip(1)).await;
            // A waiting job, polled once, then dropped as if its client left.
            let mut gone = Box::pin(pool.turn(ip(2)));
            assert!(smol::future::poll_once(&mut gone).await.is_none());
            let mut next = Box::pin(pool.turn(ip(3)));
            assert!(smol::future::poll_once(&mut next).await.is_none());
            drop(held);
            drop(gone);
            let turn = next.await;
            assert_eq!(pool.lock().busy, 1);
            drop(turn);
            assert_eq!(pool.lock().busy, 0);
            // Dropped after the slot was handed to it: the slot comes back.
            let held = pool.turn(ip(1)).await;
            let mut late = Box::pin(pool.turn(ip(2)));
            assert!(smol::future::poll_once(&mut late).await.is_none());
            drop(held);
            drop(late);
            assert_eq!(pool.lock().busy, 0);
        });
    }
}
