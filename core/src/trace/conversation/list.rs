//! Op 20: the listing, read as JSON into its files.

use super::Talk;
use super::what::{Kind, What};
use super::words::error_text;
use crate::message::{Expect, Op, Reply, parse_listing};
use crate::trace::text::{count, say};
use crate::trace::transcript::{AnomalyKind, Direction};

/// The server's answer to a LIST.
pub(super) fn answer(t: &mut Talk<'_>, op: Op) {
    let Some(reply) = t.reply(What::Listing, Expect::Listing) else {
        return;
    };
    let mut listing = None;
    let summary = match &reply.value {
        Reply::Listing(json) => match parse_listing(json) {
            Ok(entries) => {
                let summary = say("list.ok", &[("n", &count(entries.len() as u64))]);
                listing = Some(entries);
                summary
            }
            Err(e) => {
                // The JSON starts after the status and its length.
                let at = reply.at.start + 5;
                let why = error_text(&e);
                t.out
                    .note(AnomalyKind::BadMessage, Direction::ToClient, at, why);
                say("list.invalid.summary", &[])
            }
        },
        _ => say("list.error", &[]),
    };
    let mut message = t.s.message(Some(op), Kind::Reply, summary, reply.at);
    message.listing = listing;
    t.out.messages.push(message);
}
