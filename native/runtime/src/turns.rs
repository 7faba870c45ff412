//! Turns between the connections of one thread. A connection that has
//! used up a turn (a long body under way) waits in this thread's bulk line
//! instead of at the back of the executor's queue, and each round the
//! thread runs a few of the tasks that are ready (a new request, an answer
//! that arrived), looks at the reactor, and lets only the line's first two
//! go on: a new request's header and first bytes never wait behind a round
//! of bulk sends (200 clients joining one cache fill waited up to 90 ms
//! for their first byte, behind sends to the clients before them), and a
//! stream of new requests never stops a long body.
//!
//! Only a thread that runs its tasks with [`run`] has a line; anywhere
//! else (a client, a test's executor) taking a turn just yields.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_lite::future;

/// Tasks run between two looks at the reactor: new readiness (a request
/// arriving, a socket writable again) is seen within a few turns.
const TASKS_PER_LOOK: usize = 8;
/// Connections let go from the bulk line each round.
const BULK_BATCH: usize = 2;

thread_local! {
    /// This thread's bulk line, if it has one.
    static LINE: RefCell<Option<VecDeque<Waker>>> = const { RefCell::new(None) };
}

/// Ends a connection's turn: it waits in this thread's bulk line (or just
/// yields, on a thread without one).
pub async fn next_turn() {
    if LINE.with(|line| line.borrow().is_some()) {
        InLine { queued: false }.await;
    } else {
        future::yield_now().await;
    }
}

/// A connection waiting in the bulk line.
struct InLine {
    queued: bool,
}

impl Future for InLine {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.queued {
            // Woken: its turn (or a stray wake, which only runs it early).
            return Poll::Ready(());
        }
        self.queued = true;
        let queued = LINE.with(|line| match line.borrow_mut().as_mut() {
            Some(line) => {
                line.push_back(cx.waker().clone());
                true
            }
            None => false,
        });
        if queued {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// Runs `local`'s tasks on this thread until `main` ends, with a bulk
/// line: each round, up to 8 tasks that are ready, then the line's first
/// two; a look at the reactor (and at `main`) every 8 tasks.
pub async fn run<T>(local: &smol::LocalExecutor<'_>, main: impl Future<Output = T>) -> T {
    LINE.with(|line| *line.borrow_mut() = Some(VecDeque::new()));
    let tasks = async {
        // Tasks run since the thread last looked at the reactor.
        let mut since_look = 0;
        loop {
            let mut ran = 0;
            while ran < TASKS_PER_LOOK && local.try_tick() {
                ran += 1;
            }
            since_look += ran;
            // The line's first few go on every round: new work goes
            // first, but a stream of it never stops a long body.
            if release(BULK_BATCH) == 0 && ran == 0 {
                // Nothing at all to do: wait for anything (the thread
                // looks at the reactor meanwhile).
                local.tick().await;
                since_look = 0;
            } else if since_look >= TASKS_PER_LOOK {
                // Lets the thread look at the reactor: block_on does when
                // the future it runs yields.
                future::yield_now().await;
                since_look = 0;
            }
        }
    };
    let ended = future::or(main, tasks).await;
    LINE.with(|line| *line.borrow_mut() = None);
    ended
}

/// Lets up to `n` connections of the line go on; how many did.
fn release(n: usize) -> usize {
    let mut count = 0;
    while count < n {
        // Taken out first: a woken task may take its turn right away.
        let next = LINE.with(|line| line.borrow_mut().as_mut().and_then(VecDeque::pop_front));
        let Some(waker) = next else { break };
        waker.wake();
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use super::*;

    #[test]
    fn new_work_goes_before_connections_waiting_in_the_line() {
        let local = smol::LocalExecutor::new();
        let order = Rc::new(RefCell::new(Vec::new()));
        let (arrive, arrived) = smol::channel::bounded::<()>(1);
        let bulk = |name: &'static str, arrive: Option<smol::channel::Sender<()>>| {
            let order = order.clone();
            async move {
                for turn in 1..=3 {
                    order.borrow_mut().push(format!("{name}{turn}"));
                    if let Some(arrive) = &arrive {
                        let _ = arrive.try_send(());
                    }
                    next_turn().await;
                }
            }
        };
        let a = local.spawn(bulk("a", None));
        let new = local.spawn({
            let order = order.clone();
            async move {
                let _ = arrived.recv().await;
                order.borrow_mut().push("new".to_owned());
            }
        });
        let c = local.spawn(bulk("c", Some(arrive)));
        smol::block_on(run(&local, async {
            a.await;
            c.await;
            new.await;
        }));
        // Plain yields would have run a2 before the request that arrived
        // during c1.
        assert_eq!(*order.borrow(), ["a1", "c1", "new", "a2", "c2", "a3", "c3"]);
    }

    #[test]
    fn a_stream_of_new_work_never_stops_the_line() {
        let local = smol::LocalExecutor::new();
        let busy = Rc::new(Cell::new(0u32));
        let _always_ready = local.spawn({
            let busy = busy.clone();
            async move {
                // Bounded, so a line that starves fails the test instead
                // of hanging it.
                while busy.get() < 10_000 {
                    busy.set(busy.get() + 1);
                    future::yield_now().await;
                }
            }
        });
        let bulk = local.spawn(async {
            for _ in 0..3 {
                next_turn().await;
            }
        });
        smol::block_on(run(&local, bulk));
        // Three rounds of at most TASKS_PER_LOOK tasks each, and a little.
        let ran = busy.get() as usize;
        assert!(ran <= 4 * TASKS_PER_LOOK, "{ran}");
    }

    #[test]
    fn without_a_line_a_turn_just_yields() {
        let mut turn = std::pin::pin!(next_turn());
        let first = smol::block_on(future::poll_once(turn.as_mut()));
        assert!(first.is_none(), "it lets the others run once");
        let then = smol::block_on(future::poll_once(turn.as_mut()));
        assert!(then.is_some(), "and then goes on");
    }
}
