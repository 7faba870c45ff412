//! Connections accepted before their first bytes: parked, not yet served.
//!
//! Most clients send their request with the connection, and the accept
//! loop serves those at once. One that connects and says nothing yet (a
//! preconnect, a slow client, a flood of idle sockets) waits here as a few
//! words (its socket, peer, slot and accept time) in one epoll set per
//! thread, instead of as a task with its future, timer and reactor
//! registration: 112 bytes and a 24-byte deadline entry instead of about
//! 1,100 (RSS, counted over 1,000 such connections: 168 against 1,098
//! bytes each). It is handed on
//! when its first bytes arrive, when it closes or fails, or when its
//! first-bytes deadline passes (the session then answers the stall as it
//! would have, on the clock of its accept).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use async_io::{Async, Timer};
use futures_lite::future;
use rustix::event::{Timespec, epoll};
use slab::Slab;

use super::accept::Slot;

/// Readiness events taken from the set at a time.
const EVENTS: usize = 64;

/// A connection waiting for its first bytes.
#[derive(Debug)]
pub(super) struct Parked {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    pub(super) tls: bool,
    pub(super) slot: Slot,
    pub(super) accepted: Instant,
}

/// One thread's parked connections and the epoll set that watches them.
#[derive(Debug)]
pub(super) struct WaitingRoom {
    epoll: Async<OwnedFd>,
    /// How long a connection may wait for its first bytes.
    timeout: Duration,
    parked: RefCell<Slab<Parked>>,
    /// Each parked connection's accept time and key, in accept order (so
    /// in deadline order); entries of connections already handed on are
    /// skipped when they come up.
    due: RefCell<VecDeque<(Instant, usize)>>,
    /// Set when the epoll set failed: nothing parks any more.
    closed: std::cell::Cell<bool>,
}

impl WaitingRoom {
    /// A room whose connections wait at most `timeout` for their first
    /// bytes.
    pub(super) fn new(timeout: Duration) -> io::Result<Self> {
        let fd = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        Ok(WaitingRoom {
            epoll: Async::new(fd)?,
            // Never zero: the loop below waits at least this long.
            timeout: timeout.max(Duration::from_millis(1)),
            parked: RefCell::default(),
            due: RefCell::default(),
            closed: std::cell::Cell::new(false),
        })
    }

    /// Parks a connection until it is readable, closes or is due; gives it
    /// back when the room cannot watch it (the caller serves it at once).
    pub(super) fn park(&self, parked: Parked) -> Result<(), Box<Parked>> {
        if self.closed.get() {
            return Err(Box::new(parked));
        }
        let accepted = parked.accepted;
        let mut room = self.parked.borrow_mut();
        let entry = room.vacant_entry();
        let key = entry.key();
        let flags = epoll::EventFlags::IN | epoll::EventFlags::RDHUP | epoll::EventFlags::ONESHOT;
        let data = epoll::EventData::new_u64(key as u64);
        if epoll::add(self.epoll.get_ref(), &parked.stream, data, flags).is_err() {
            return Err(Box::new(parked));
        }
        entry.insert(parked);
        let mut due = self.due.borrow_mut();
        due.push_back((accepted, key));
        // Connections handed on by their first bytes leave their entries
        // behind: dropped once they outnumber the parked ones, so a busy
        // server's queue stays the size of what actually waits.
        if due.len() > 2 * room.len() + 64 {
            due.retain(|&(at, key)| room.get(key).is_some_and(|p| p.accepted == at));
        }
        Ok(())
    }

    /// Hands each parked connection to `serve` when it is ready or due;
    /// runs until the epoll set fails (every parked connection is then
    /// handed on, and nothing parks any more).
    pub(super) async fn run(&self, serve: impl Fn(Parked)) {
        let mut events = Vec::with_capacity(EVENTS);
        loop {
            // The earliest deadline, or a look again one timeout from now
            // (a connection parked meanwhile is due no earlier than that).
            let next = self.due.borrow().front().map(|&(at, _)| at + self.timeout);
            let wake = next.unwrap_or_else(|| Instant::now() + self.timeout);
            let ready = async { self.epoll.readable().await };
            let tick = async {
                Timer::at(wake).await;
                Ok(())
            };
            let taken = match future::or(ready, tick).await {
                Ok(()) => self.take_ready(&mut events, &serve),
                Err(e) => Err(e),
            };
            if let Err(e) = taken {
                log::warn!(
                    "the waiting room's epoll set failed ({e}): idle connections are served as tasks from now on"
                );
                self.closed.set(true);
                let all: Vec<Parked> = self.parked.borrow_mut().drain().collect();
                all.into_iter().for_each(&serve);
                return;
            }
            self.take_due(&serve);
        }
    }

    /// Hands on every connection the set says is ready.
    fn take_ready(
        &self,
        events: &mut Vec<epoll::Event>,
        serve: &impl Fn(Parked),
    ) -> io::Result<()> {
        loop {
            events.clear();
            let now = Timespec::default();
            epoll::wait(
                self.epoll.get_ref(),
                rustix::buffer::spare_capacity(events),
                Some(&now),
            )?;
            for event in events.iter() {
                let key = event.data.u64() as usize;
                let parked = self.parked.borrow_mut().try_remove(key);
                if let Some(parked) = parked {
                    // Out of the set before it goes on: the connection's
                    // own waits are the reactor's from now on.
                    let _ = epoll::delete(self.epoll.get_ref(), &parked.stream);
                    serve(parked);
                }
            }
            if events.len() < events.capacity() {
                self.shrink_when_empty();
                return Ok(());
            }
        }
    }

    /// After a flood, gives back the room the parked connections took.
    fn shrink_when_empty(&self) {
        let mut room = self.parked.borrow_mut();
        if room.is_empty() && room.capacity() > EVENTS {
            room.shrink_to_fit();
            let mut due = self.due.borrow_mut();
            due.clear();
            due.shrink_to_fit();
        }
    }

    /// Hands on the connections whose first-bytes deadline has passed.
    fn take_due(&self, serve: &impl Fn(Parked)) {
        let now = Instant::now();
        loop {
            let front = self.due.borrow().front().copied();
            let Some((accepted, key)) = front else { return };
            if accepted + self.timeout > now {
                return self.shrink_when_empty();
            }
            self.due.borrow_mut().pop_front();
            let mut room = self.parked.borrow_mut();
            // The key may since have been handed on, and taken again.
            if room.get(key).is_some_and(|p| p.accepted == accepted) {
                let parked = room.remove(key);
                drop(room);
                let _ = epoll::delete(self.epoll.get_ref(), &parked.stream);
                serve(parked);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parked_connection_is_a_few_words() {
        // Socket 4, peer 32, TLS flag 1, slot 48 (semaphore permit 8,
        // per-address ticket 32, in-flight count 8), accept time 16, with
        // padding: 112. Its deadline entry is an accept time and a key.
        assert_eq!(size_of::<Slot>(), 48);
        assert!(size_of::<Parked>() <= 112, "{}", size_of::<Parked>());
        assert_eq!(size_of::<(Instant, usize)>(), 24);
    }
}
