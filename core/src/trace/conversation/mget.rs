//! Op 50: how many files match, then each entry with its name and, when
//! sent, its body.

use super::Talk;
use super::cursor::{Place, Read};
use super::what::{Kind, What};
use super::words::name_error;
use crate::message::{Expect, MGetEntry, Op, Reply};
use crate::name::escape;
use crate::trace::text::{bytes, count, plain, say};
use crate::trace::transcript::{AnomalyKind, Direction};

/// The server's answer to an MGET.
pub(super) fn answer(t: &mut Talk<'_>, op: Op) {
    let Some(reply) = t.reply(What::MGetReply, Expect::MGetStart) else {
        return;
    };
    let Reply::MGetStart { count: n } = reply.value else {
        let summary = say("mget.error", &[]);
        t.s.push(&mut t.out, Some(op), Kind::Reply, summary, reply.at);
        return;
    };
    let summary = say("mget.ok", &[("count", &count(n.into()))]);
    t.s.push(&mut t.out, Some(op), Kind::Reply, summary, reply.at);
    for k in 1..=n {
        let Some(Read {
            value: Reply::MGetEntry(entry),
            at,
        }) = t.reply(What::Entry, Expect::MGetEntry)
        else {
            return;
        };
        self::entry(t, op, (k, n), entry, at);
    }
}

/// Entry `k` of `n`: a file that follows, or one the server skipped.
fn entry(t: &mut Talk<'_>, op: Op, (k, n): (u32, u32), entry: MGetEntry, at: Place) {
    let MGetEntry { name, size } = entry;
    let shown = match &name {
        Ok(name) => plain(format!("\"{name}\"")),
        Err(bad) => {
            let why = name_error(&bad.error);
            let note = say("entry.refused.note", &[("k", &plain(k)), ("reason", &why)]);
            t.out
                .note(AnomalyKind::BadMessage, Direction::ToClient, at.start, note);
            say("entry.refused.name", &[("name", &plain(escape(&bad.raw)))])
        }
    };
    let (k_of, n_of) = (count(k.into()), count(n.into()));
    let Some(size) = size else {
        let args = [("k", &k_of), ("count", &n_of), ("name", &shown)];
        let summary = say("entry.skipped", &args);
        return t.s.push(&mut t.out, Some(op), Kind::Entry, summary, at);
    };
    let args = [
        ("k", &k_of),
        ("count", &n_of),
        ("name", &shown),
        ("size", &bytes(size.into())),
    ];
    t.s.push(
        &mut t.out,
        Some(op),
        Kind::Entry,
        say("entry.file", &args),
        at,
    );
    let label = say("label.entry", &[("k", &k_of), ("count", &n_of)]);
    t.s.body(&mut t.out, size.into(), op, &label);
}
