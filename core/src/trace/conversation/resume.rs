//! Op 40: the rest of a file after the position, when the MD5 of the part
//! held matches the server's.

use super::Talk;
use super::what::{Kind, What};
use crate::message::{EMPTY_MD5, Expect, Op, Reply, ResumeOutcome};
use crate::trace::text::{bytes, say};
use crate::trace::transcript::{AnomalyKind, Direction};

/// The server's answer to a RESUME at `position` with `md5`, the request
/// starting at `start`.
pub(super) fn answer(t: &mut Talk<'_>, op: Op, start: u64, position: u32, md5: [u8; 16]) {
    if position == 0 && md5 != EMPTY_MD5 {
        let note = say("resume.cannot_match", &[]);
        t.out.note(
            AnomalyKind::Md5CannotMatch,
            Direction::ToServer,
            start,
            note,
        );
    }
    let Some(reply) = t.reply(What::ResumeReply, Expect::Resume) else {
        return;
    };
    let remaining = match reply.value {
        Reply::Resume(ResumeOutcome::Ok { remaining }) => Some(remaining),
        _ => None,
    };
    let summary = match reply.value {
        Reply::Resume(ResumeOutcome::Ok { remaining }) => {
            say("resume.ok", &[("n", &bytes(remaining.into()))])
        }
        Reply::Resume(ResumeOutcome::NoSuchFile) => say("resume.none", &[]),
        Reply::Resume(ResumeOutcome::Mismatch) => say("resume.mismatch", &[]),
        _ => say("resume.refused", &[]),
    };
    t.s.push(&mut t.out, Some(op), Kind::Reply, summary, reply.at);
    if let Some(remaining) = remaining {
        let label = say("label.resumed", &[]);
        t.s.body(&mut t.out, remaining.into(), op, &label);
    }
}
