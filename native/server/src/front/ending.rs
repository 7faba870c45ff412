//! How a connection ended: its outcome sorted for the metrics, and its one
//! log line (words, or JSON fields with `--log-format json`).

use std::time::Duration;

use ferry_core::{DecodeErrorKind, Refusal, ServerSession, SessionError, escape, foreign_protocol};
use ferry_runtime::Clock;

use super::connection::Answers;
use crate::ops::{Metrics, Outcome, Refused};
use crate::store::Store;

/// A connection's end: its outcome counted in the metrics and said in its
/// one log line (words, or JSON fields).
pub(super) fn finish<St: Store>(
    session: &ServerSession,
    answers: &Answers<'_, St>,
    failure: Option<std::io::Error>,
    late: u64,
    clock: Clock,
    first: &[u8],
) {
    let op = session.op().map_or("-", |op| op.as_str());
    let tls = if answers.tls { " tls" } else { "" };
    let name = answers
        .name
        .as_deref()
        .map(|n| format!(" \"{}\"", escape(n.as_bytes())))
        .unwrap_or_default();
    let user = session
        .user()
        .map(|u| format!(" user={u}"))
        .unwrap_or_default();
    let cut_upload = match answers.upload_size {
        Some(size) if answers.bytes < u64::from(size) => Some(format!(
            "client closed the connection during the upload (after {} of {size} bytes)",
            answers.bytes
        )),
        _ => None,
    };
    let class = classify(session, answers, failure.as_ref(), cut_upload.is_some());
    if let Some(metrics) = &answers.shared.metrics {
        count(metrics, session, answers, class, failure.as_ref(), clock);
    }
    if !log::log_enabled!(log::Level::Info) {
        return;
    }
    let outcome = words(session, answers, failure, cut_upload, first);
    let late = if session.error().is_none() { late } else { 0 };
    let extra = match session.extra_bytes() + late {
        0 => String::new(),
        n => format!(" ({n} extra bytes ignored)"),
    };
    let ms = clock.now().as_micros() as f64 / 1000.0;
    let (result, reason) = class.labels();
    let client = answers.peer.to_string();
    let file = answers.name.as_deref().unwrap_or_default();
    log::info!(
        client = client.as_str(),
        tls = answers.tls,
        op = op,
        name = file,
        user = session.user().unwrap_or_default(),
        outcome = outcome.as_str(),
        result = result,
        reason = reason,
        bytes = answers.bytes,
        duration_ms = ms,
        extra_bytes = session.extra_bytes() + late;
        "{peer}{tls} {op}{name}{user} {outcome} {} bytes {ms:.1} ms{extra}",
        answers.bytes,
        peer = answers.peer,
    );
}

/// How a connection ended, in words, for its log line.
fn words<St: Store>(
    session: &ServerSession,
    answers: &Answers<'_, St>,
    failure: Option<std::io::Error>,
    cut_upload: Option<String>,
    first: &[u8],
) -> String {
    match (failure, session.error(), session.refusal()) {
        (Some(e), _, _) if cut_upload.is_some() && gone(&e) => cut_upload.unwrap_or_default(),
        (Some(e), _, _) => format!("failed: {e}"),
        (None, Some(SessionError::Peer(e)), _) => match (&cut_upload, &e.kind) {
            (Some(cut), DecodeErrorKind::Truncated) => cut.clone(),
            (None, DecodeErrorKind::Truncated) => format!(
                "client closed the connection in the middle of its request (after {} bytes)",
                e.offset
            ),
            _ => match foreign_protocol(first) {
                Some(other) if other.starts_with("TLS") => {
                    "looks like TLS: this port speaks plain ferry; use --tls-port (clients write \
                     tls://HOST:PORT)"
                        .to_owned()
                }
                Some(other) => format!(
                    "looks like {other}: this port speaks ferry's protocol, answered status 1"
                ),
                None => format!("client broke the protocol {e}"),
            },
        },
        (None, Some(e), _) => format!("error: {e}"),
        // The store's own refusals were described when they were made.
        (None, None, Some(Refusal::Store | Refusal::LoginDenied | Refusal::NotStored))
        | (None, None, None) => match answers.outcome.as_str() {
            "" => "closed".to_owned(),
            outcome => outcome.to_owned(),
        },
        (None, None, Some(Refusal::ListingTooLong { len, limit })) => format!(
            "refused: the listing is {len} bytes, over --max-listing-size {}",
            crate::settings::flag_size(*limit)
        ),
        // The protocol's rules, applied by the core.
        (None, None, Some(rule)) => format!("refused: {rule}"),
    }
}

/// A connection's end in the metrics: the request and its bytes, and a
/// connection cut by a timeout.
fn count<St: Store>(
    metrics: &Metrics,
    session: &ServerSession,
    answers: &Answers<'_, St>,
    class: Outcome,
    failure: Option<&std::io::Error>,
    clock: Clock,
) {
    let op = session.op().map_or("-", |op| op.as_str());
    let (sent, received) = match session.op() {
        Some(ferry_core::Op::Upload) => (0, answers.bytes),
        _ => (answers.bytes, 0),
    };
    // A refused listing was never sent, whatever its length.
    let sent = if session.refusal().is_some() { 0 } else { sent };
    let took = Duration::from_micros(clock.now().as_micros());
    // A connection that sent no request (a probe, a port scan held open)
    // is no request: only a timeout that cut it counts.
    if session.op().is_some() {
        metrics.request(op, class, sent, received, took);
    }
    match (session.error(), failure) {
        (Some(SessionError::RequestTimeout), _) => metrics.refused(Refused::RequestTimeout),
        (Some(SessionError::Timeout), _) => metrics.refused(Refused::IdleTimeout),
        (_, Some(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            metrics.refused(Refused::IdleTimeout);
        }
        // TLS that broke before any request: the handshake failed.
        (_, Some(e))
            if answers.tls
                && session.op().is_none()
                && e.kind() == std::io::ErrorKind::InvalidData =>
        {
            metrics.refused(Refused::TlsHandshake);
        }
        _ => {}
    }
}

/// How a connection ended, for the metrics: what went wrong on the wire
/// first, then what the answers decided.
fn classify<St: Store>(
    session: &ServerSession,
    answers: &Answers<'_, St>,
    failure: Option<&std::io::Error>,
    cut_upload: bool,
) -> Outcome {
    match (failure, session.error(), session.refusal()) {
        (Some(e), _, _) if gone(e) => Outcome::Aborted,
        (Some(e), _, _) if e.kind() == std::io::ErrorKind::TimedOut => Outcome::TimedOut,
        (Some(_), _, _) => Outcome::Failed,
        (None, Some(SessionError::Peer(e)), _) => match e.kind {
            DecodeErrorKind::Truncated => Outcome::Aborted,
            _ => Outcome::Refused("protocol"),
        },
        (None, Some(_), _) => Outcome::TimedOut,
        (None, None, Some(Refusal::ListingTooLong { .. })) => Outcome::Refused("listing_too_long"),
        (None, None, Some(Refusal::TooLarge { .. })) => Outcome::Refused("too_large"),
        (None, None, Some(Refusal::TooManyMatches { .. })) => Outcome::Refused("too_many_matches"),
        // An upload the client stopped sending, unless it was refused first.
        (None, None, None) if cut_upload => Outcome::Aborted,
        (None, None, Some(Refusal::Store | Refusal::LoginDenied | Refusal::NotStored))
        | (None, None, None) => answers.class,
        (None, None, Some(_)) => Outcome::Refused("protocol"),
    }
}

/// Whether an I/O error means the peer went away.
fn gone(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionReset | K::BrokenPipe | K::UnexpectedEof | K::ConnectionAborted
    )
}
