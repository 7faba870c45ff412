//! The two moves every wait of the drive loop and its senders makes:
//! offering the bytes read to the session, and racing an operation against
//! the session's deadline.

use ferry_core::Session;

use crate::clock::{Clock, Waited, until};
use crate::conn::Conn;

/// Offers the bytes read but not yet used to the session; returns how many
/// it took.
pub(crate) fn offer<S: Session>(conn: &mut Conn, session: &mut S, clock: Clock) -> usize {
    let pending = conn.pending();
    if pending.is_empty() {
        return 0;
    }
    let used = session
        .handle_input(clock.now(), pending)
        .unwrap_or(pending.len());
    conn.consume(used);
    used
}

/// Runs `op` until it finishes or the session's deadline passes; then tells
/// the session (`handle_timeout`) and returns `None`.
pub(crate) async fn within<S: Session, T>(
    session: &mut S,
    clock: Clock,
    op: impl Future<Output = T>,
) -> Option<T> {
    let deadline = session.poll_timeout().map(|t| clock.instant(t));
    match until(deadline, op).await {
        Waited::Done(value) => Some(value),
        Waited::Deadline => {
            session.handle_timeout(clock.now());
            None
        }
    }
}
