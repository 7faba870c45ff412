//! systemd's readiness protocol: when `NOTIFY_SOCKET` is set (a unit with
//! `Type=notify`), `READY=1` once every listener is bound and `STOPPING=1`
//! when the grace period starts. Without it, nothing is sent.

/// Tells systemd the server accepts connections.
pub fn ready() {
    send(&[sd_notify::NotifyState::Ready]);
}

/// Tells systemd the server is stopping.
pub fn stopping() {
    send(&[sd_notify::NotifyState::Stopping]);
}

/// Tells systemd a reload (SIGHUP) started, then that it is done.
pub fn reloading() {
    send(&[sd_notify::NotifyState::Reloading]);
}

fn send(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        log::warn!(
            "cannot tell systemd ({}): {e}",
            std::env::var("NOTIFY_SOCKET").unwrap_or_default()
        );
    }
}
