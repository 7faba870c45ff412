//! Op 60: a login, its answer, and the request it was for (a second login
//! on the same connection is a protocol error).

use super::cursor::{Place, Read};
use super::what::{Kind, What};
use super::words::status_word;
use super::{Talk, refusal};
use crate::message::{ClientMessage, Credentials, Expect, Op, Reply, Request, Status};
use crate::name::escape;
use crate::trace::text::{plain, say};
use crate::trace::transcript::{AnomalyKind, Direction};

/// The login at `at` and the server's answer; the request that follows
/// it, when the login was accepted and one was sent.
pub(super) fn login(
    t: &mut Talk<'_>,
    credentials: &Credentials,
    at: Place,
) -> Option<Read<Request>> {
    let user = plain(escape(credentials.user().as_bytes()));
    let (summary, kind, lesson) = match t.out.decrypted {
        false => ("auth.summary", AnomalyKind::ClearTextPassword, "auth.clear"),
        true => ("auth.summary.tls", AnomalyKind::Encrypted, "auth.protected"),
    };
    let start = at.start;
    let summary = say(summary, &[("user", &user)]);
    t.c.push(&mut t.out, Some(Op::Auth), Kind::Request, summary, at);
    let lesson = say(lesson, &[("user", &user)]);
    t.out.note(kind, Direction::ToServer, start, lesson);
    let Read {
        value: Reply::Status(status),
        at,
    } = t.reply(What::LoginReply, Expect::Status)?
    else {
        return None;
    };
    let summary = say("auth.reply", &[("status", &status_word(status))]);
    t.s.push(&mut t.out, Some(Op::Auth), Kind::Reply, summary, at);
    if status == Status::Error {
        return None;
    }
    let Some(next) = t.request() else {
        refusal(t);
        return None;
    };
    match next.value {
        ClientMessage::Request(request) => Some(Read {
            value: request,
            at: next.at,
        }),
        ClientMessage::Auth(_) => {
            second(t, next.at);
            None
        }
    }
}

/// A second login on one connection: the protocol allows one.
fn second(t: &mut Talk<'_>, at: Place) {
    let start = at.start;
    let summary = say("auth.second", &[]);
    t.c.push(&mut t.out, Some(Op::Auth), Kind::Request, summary, at);
    let note = say("auth.second.note", &[]);
    t.out
        .note(AnomalyKind::UnknownOp, Direction::ToServer, start, note);
    if let Some(Read {
        value: Reply::Status(status),
        at,
    }) = t.reply(What::Reply, Expect::Status)
    {
        let summary = match status {
            Status::Error => say("reply.refused", &[]),
            Status::Ok => say("refusal.ok", &[]),
        };
        t.s.push(&mut t.out, Some(Op::Auth), Kind::Reply, summary, at);
    }
}
