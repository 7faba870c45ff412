//! Whether the server can serve (`GET /healthz`): the store is probed every
//! few seconds (a cache reaches its origin, a bucket answers), and the
//! last answer is what `/healthz` says.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_io::Timer;
use futures_lite::FutureExt;

/// How often the store is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(3);
/// How long one probe may take before it counts as a failure.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The last probe's answer.
#[derive(Debug)]
pub struct Health {
    state: Mutex<Result<(), String>>,
    /// The server is stopping: nothing new should be sent its way.
    stopping: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            state: Mutex::new(Ok(())),
            stopping: AtomicBool::new(false),
        }
    }
}

impl Health {
    /// `Ok` if the server can serve, or why not in one line.
    pub fn state(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err("stopping: transfers under way are finishing (--grace)".into());
        }
        self.state.lock().map_or_else(|_| Ok(()), |s| s.clone())
    }

    /// From now on the server is stopping, and says so.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    fn set(&self, state: Result<(), String>) {
        if let Ok(mut now) = self.state.lock() {
            if *now != state {
                match &state {
                    Ok(()) => log::info!("healthy again: the store answers"),
                    Err(why) => log::warn!("unhealthy: {why}"),
                }
            }
            *now = state;
        }
    }

    /// Probes with `probe` every [`PROBE_EVERY`], each given
    /// [`PROBE_TIMEOUT`]; runs until the process ends. A change shows
    /// within a probe under way, a pause and the next probe: at most
    /// `PROBE_TIMEOUT + PROBE_EVERY + PROBE_TIMEOUT` (9 s).
    pub async fn watch<F, Fut>(&self, probe: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        loop {
            let answer = probe()
                .or(async {
                    Timer::after(PROBE_TIMEOUT).await;
                    Err(format!(
                        "the store did not answer within {} s",
                        PROBE_TIMEOUT.as_secs()
                    ))
                })
                .await;
            self.set(answer);
            Timer::after(PROBE_EVERY).await;
        }
    }
}
