//! Ctrl-C during a transfer: it is cancelled (exit 130), a partial
//! download is kept, and the next command starts afresh.

use async_signal::Signals;
use ferry_client::ClientError;
use futures_lite::{StreamExt, future};

/// Runs a transfer until it ends or Ctrl-C cancels it. A cancelled
/// download keeps its partial file: the same command resumes it.
pub fn cancellable(
    signals: &mut Signals,
    transfer: impl Future<Output = Result<(), ClientError>>,
) -> Result<(), ClientError> {
    drain(signals);
    smol::block_on(future::or(transfer, async {
        signals.next().await;
        Err(ClientError::Interrupted(
            "cancelled (Ctrl-C); a partial download is kept: the same command resumes it".into(),
        ))
    }))
}

/// Forgets a Ctrl-C from before: it does not cancel what comes next.
pub fn drain(signals: &mut Signals) {
    while smol::block_on(future::poll_once(signals.next())).is_some() {}
}
