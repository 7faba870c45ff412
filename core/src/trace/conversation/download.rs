//! Op 10: a file's size and bytes, or a refusal.

use super::Talk;
use super::what::{Kind, What};
use crate::message::{Expect, Op, Reply};
use crate::trace::text::{bytes, say};

/// The server's answer to a DOWNLOAD.
pub(super) fn answer(t: &mut Talk<'_>, op: Op) {
    let Some(reply) = t.reply(What::DownloadReply, Expect::Download) else {
        return;
    };
    match reply.value {
        Reply::Download { size } => {
            let summary = say("download.ok", &[("size", &bytes(size.into()))]);
            t.s.push(&mut t.out, Some(op), Kind::Reply, summary, reply.at);
            let label = say("label.download", &[]);
            t.s.body(&mut t.out, size.into(), op, &label);
        }
        _ => {
            let summary = say("download.error", &[]);
            t.s.push(&mut t.out, Some(op), Kind::Reply, summary, reply.at);
        }
    }
}
