//! What the server and the client sessions have in common: the contract one
//! drive loop relies on, whichever role it drives.

use crate::error::{ApiMisuse, SessionError};
use crate::output::Output;
use crate::time::Timestamp;

/// A protocol session of either role ([`ServerSession`](crate::ServerSession)
/// or [`ClientSession`](crate::ClientSession)), seen by the code that moves
/// its bytes.
///
/// Everything the caller must do arrives through
/// [`poll_output`](Self::poll_output), in order; everything that happens on
/// the connection goes back in through the `handle_*` methods. Events are
/// answered with the role's own methods. The crate docs show a complete
/// loop.
pub trait Session {
    /// The events this role asks its caller to act on.
    type Event;

    /// Offers bytes from the peer; returns how many were used. Keep the rest
    /// and offer it again after draining the outputs.
    fn handle_input(&mut self, now: Timestamp, data: &[u8]) -> Result<usize, SessionError>;

    /// Reports `len` payload bytes moved for the current `SendBody` or
    /// `ReceiveBody` (in as many calls as convenient).
    fn handle_body(&mut self, now: Timestamp, len: u64) -> Result<(), ApiMisuse>;

    /// The peer closed its side and every byte it sent has been offered.
    fn handle_eof(&mut self, now: Timestamp);

    /// Checks the timeout; early or repeated calls do nothing.
    fn handle_timeout(&mut self, now: Timestamp);

    /// Reports that the caller answered an event at `now`: the time it took
    /// (a password check, a store lookup) does not count against the peer,
    /// whose timeout starts again from the answer.
    fn handle_answered(&mut self, now: Timestamp);

    /// Gives up without another byte: `Close` is queued.
    fn abort(&mut self);

    /// The next thing to do, in order.
    #[must_use]
    fn poll_output(&mut self) -> Option<Output<Self::Event>>;

    /// When [`handle_timeout`](Self::handle_timeout) must be called next;
    /// `None` while the caller holds the next move or the session is over.
    #[must_use]
    fn poll_timeout(&self) -> Option<Timestamp>;

    /// Whether the session has finished (successfully or not).
    fn is_finished(&self) -> bool;

    /// Why the session failed, if it did.
    fn error(&self) -> Option<&SessionError>;

    /// Bytes the peer sent after its complete message, ignored.
    fn extra_bytes(&self) -> u64;
}

/// Implements [`Session`] by forwarding to the role's inherent methods of
/// the same names.
macro_rules! forward_session {
    ($role:ty, $event:ty) => {
        impl $crate::session::Session for $role {
            type Event = $event;
            fn handle_input(
                &mut self,
                now: $crate::time::Timestamp,
                data: &[u8],
            ) -> Result<usize, $crate::error::SessionError> {
                <$role>::handle_input(self, now, data)
            }
            fn handle_body(
                &mut self,
                now: $crate::time::Timestamp,
                len: u64,
            ) -> Result<(), $crate::error::ApiMisuse> {
                <$role>::handle_body(self, now, len)
            }
            fn handle_eof(&mut self, now: $crate::time::Timestamp) {
                <$role>::handle_eof(self, now)
            }
            fn handle_answered(&mut self, now: $crate::time::Timestamp) {
                <$role>::handle_answered(self, now)
            }
            fn handle_timeout(&mut self, now: $crate::time::Timestamp) {
                <$role>::handle_timeout(self, now)
            }
            fn abort(&mut self) {
                <$role>::abort(self)
            }
            fn poll_output(&mut self) -> Option<$crate::output::Output<$event>> {
                <$role>::poll_output(self)
            }
            fn poll_timeout(&self) -> Option<$crate::time::Timestamp> {
                <$role>::poll_timeout(self)
            }
            fn is_finished(&self) -> bool {
                <$role>::is_finished(self)
            }
            fn error(&self) -> Option<&$crate::error::SessionError> {
                <$role>::error(self)
            }
            fn extra_bytes(&self) -> u64 {
                <$role>::extra_bytes(self)
            }
        }
    };
}
pub(crate) use forward_session;
