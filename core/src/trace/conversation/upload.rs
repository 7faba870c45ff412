//! Op 30: the server's first answer, then the size and the body from the
//! client, then the final status.

use super::Talk;
use super::cursor::Read;
use super::what::{Kind, What};
use super::words::status_word;
use crate::message::{Expect, Op, Reply, Status, read_upload_size};
use crate::trace::text::{bytes, say};

/// The exchange after an UPLOAD request.
pub(super) fn answer(t: &mut Talk<'_>, op: Op) {
    let Some(Read {
        value: Reply::Status(status),
        at,
    }) = t.reply(What::UploadReply, Expect::Status)
    else {
        return;
    };
    let summary = say("reply.status", &[("status", &status_word(status))]);
    t.s.push(&mut t.out, Some(op), Kind::Reply, summary, at);
    if status == Status::Error {
        return;
    }
    let Some(size) = t.c.read(&mut t.out, What::UploadSize, read_upload_size) else {
        return;
    };
    let summary = say("upload.size", &[("size", &bytes(size.value.into()))]);
    t.c.push(&mut t.out, Some(op), Kind::UploadSize, summary, size.at);
    let label = say("label.upload", &[]);
    t.c.body(&mut t.out, size.value.into(), op, &label);
    if let Some(Read {
        value: Reply::Status(status),
        at,
    }) = t.reply(What::FinalStatus, Expect::Status)
    {
        let word = status_word(status);
        let summary = match status {
            Status::Ok => say("upload.stored", &[("status", &word)]),
            Status::Error => say("upload.not_stored", &[("status", &word)]),
        };
        t.s.push(&mut t.out, Some(op), Kind::FinalStatus, summary, at);
    }
}
