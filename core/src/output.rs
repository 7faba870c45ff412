//! What a session asks its caller to do, in order.

/// One thing a session asks the caller to do. Drain them in order with
/// `poll_output`: on a TCP stream a header must never overtake its body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output<E> {
    /// Write these bytes to the peer.
    Transmit(Vec<u8>),
    /// Move the next `len` payload bytes from the file to the peer (with
    /// `sendfile` where possible) and report them with `handle_body`.
    SendBody {
        /// Payload bytes to send.
        len: u64,
    },
    /// The next `len` bytes of the peer's stream are payload: move them to the
    /// file without passing them to `handle_input`, and report them with
    /// `handle_body`.
    ReceiveBody {
        /// Payload bytes to receive.
        len: u64,
    },
    /// Something happened that the caller must act on or answer.
    Event(E),
    /// The exchange is over: flush what was transmitted and close.
    Close,
}
