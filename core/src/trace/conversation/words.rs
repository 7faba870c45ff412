//! The words of a conversation that are not one message's: why bytes
//! break the protocol or a name is refused, a status, a body's first bytes.

use crate::error::DecodeErrorKind;
use crate::message::Status;
use crate::name::{NameError, escape, hex};
use crate::trace::text::{Both, bytes, count, plain, say};

/// Why bytes break the protocol, in both languages.
pub(crate) fn error_text(kind: &DecodeErrorKind) -> Both {
    let field = |f: &crate::field::Field| plain(f.as_str());
    match kind {
        DecodeErrorKind::UnknownOp(op) => say("error.unknown_op", &[("op", &plain(op))]),
        DecodeErrorKind::Truncated => say("error.truncated", &[]),
        DecodeErrorKind::TooLong {
            field: f,
            len,
            limit,
        } => say(
            "error.too_long",
            &[
                ("field", &field(f)),
                ("len", &bytes(*len)),
                ("limit", &count(*limit)),
            ],
        ),
        DecodeErrorKind::BadUtf8 { field: f } => say("error.bad_utf8", &[("field", &field(f))]),
        DecodeErrorKind::Empty { field: f } => say("error.empty", &[("field", &field(f))]),
        DecodeErrorKind::BadName(e) => name_error(e),
        DecodeErrorKind::BadValue { field: f, value } => say(
            "error.bad_value",
            &[("field", &field(f)), ("value", &plain(value))],
        ),
        DecodeErrorKind::BadListing(reason) => {
            say("error.bad_listing", &[("reason", &plain(reason))])
        }
        DecodeErrorKind::TrailingBytes => say("error.trailing", &[]),
    }
}

/// Why a name is refused, in both languages.
pub(super) fn name_error(e: &NameError) -> Both {
    let code = |c: &u32| plain(format!("{c:04X}"));
    match e {
        NameError::Empty => say("name.empty", &[]),
        NameError::TooLong { len, limit } => say(
            "name.too_long",
            &[
                ("len", &bytes(*len as u64)),
                ("limit", &count(*limit as u64)),
            ],
        ),
        NameError::ComponentTooLong { len, limit } => say(
            "name.component_too_long",
            &[
                ("len", &bytes(*len as u64)),
                ("limit", &count(*limit as u64)),
            ],
        ),
        NameError::NotUtf8 => say("name.bad_utf8", &[]),
        NameError::Absolute => say("name.absolute", &[]),
        NameError::EmptyComponent => say("name.empty_component", &[]),
        NameError::DotComponent => say("name.dot", &[]),
        NameError::Slash => say("name.slash", &[]),
        NameError::Backslash => say("name.backslash", &[]),
        NameError::Control(c) => say("name.control", &[("code", &code(c))]),
        NameError::Bidi(c) => say("name.bidi", &[("code", &code(c))]),
        NameError::Invisible(c) => say("name.invisible", &[("code", &code(c))]),
        NameError::LooksLike { code: c, like } => say(
            "name.looks_like",
            &[("code", &code(c)), ("like", &plain(like))],
        ),
        NameError::Reserved => say(
            "name.reserved",
            &[("prefix", &plain(crate::name::RESERVED_PREFIX))],
        ),
    }
}

/// A body's first bytes: as text when nearly all printable, else in hex.
pub(super) fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(48)];
    let printable = head
        .iter()
        .filter(|b| b.is_ascii_graphic() || **b == b' ' || **b == b'\n')
        .count();
    if !head.is_empty() && printable * 10 >= head.len() * 9 {
        escape(head)
    } else {
        let digits = hex(head);
        let pairs: Vec<&str> = (0..head.len()).map(|i| &digits[2 * i..2 * i + 2]).collect();
        pairs.join(" ")
    }
}

/// A status byte's word: ok or error.
pub(super) fn status_word(status: Status) -> Both {
    match status {
        Status::Ok => say("word.ok", &[]),
        Status::Error => say("word.error", &[]),
    }
}
