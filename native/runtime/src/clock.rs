//! The time a session sees, and waits raced against a deadline: the one
//! place where the runtime turns session timestamps into instants.

use std::time::{Duration, Instant};

use async_io::Timer;
use ferry_core::Timestamp;
use futures_lite::future;

/// The clock a session sees: microseconds since the connection began.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Clock(Instant::now())
    }

    /// A clock that started at `instant` (a connection's accept, before
    /// its task began).
    pub fn since(instant: Instant) -> Self {
        Clock(instant)
    }

    /// The current time as a session timestamp.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.elapsed().as_micros() as u64)
    }

    /// The session timestamp of an instant (the start, if before it).
    pub fn at(&self, instant: Instant) -> Timestamp {
        Timestamp::from_micros(instant.saturating_duration_since(self.0).as_micros() as u64)
    }

    /// The instant a session timestamp stands for.
    pub fn instant(&self, at: Timestamp) -> Instant {
        self.0 + Duration::from_micros(at.as_micros())
    }
}

/// How a wait ended.
#[derive(Debug)]
pub enum Waited<T> {
    /// The operation finished.
    Done(T),
    /// The deadline passed first.
    Deadline,
}

/// Runs `op` until it finishes or `deadline` passes (never, if `None`).
pub async fn until<T>(deadline: Option<Instant>, op: impl Future<Output = T>) -> Waited<T> {
    let op = async { Waited::Done(op.await) };
    match deadline {
        None => op.await,
        Some(at) => {
            future::or(op, async {
                Timer::at(at).await;
                Waited::Deadline
            })
            .await
        }
    }
}
