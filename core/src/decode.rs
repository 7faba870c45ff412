//! Incremental decoding: whole messages out of a stream that arrives in
//! pieces of any size.
//!
//! An [`Assembler`] follows one direction of a connection. Each `feed` offers
//! it the next bytes; it decodes a message as soon as one is complete and
//! reports how many of the offered bytes that message used, so whatever
//! follows (a file body, the next message) stays with the caller. Until a
//! message is complete it keeps the partial bytes, bounded by the limits,
//! because every length is checked as soon as it is read.
//!
//! The decoders read left to right and learn nothing from where the buffer
//! ends except "not enough yet", so any split of the same bytes yields the
//! same messages and the same errors at the same offsets.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{Reader, Span};

/// A message decoded from the stream, with where it sat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<T> {
    /// The message.
    pub value: T,
    /// Stream offset of its first byte.
    pub start: u64,
    /// Its length in bytes.
    pub len: usize,
    /// Every field it was read from, in order.
    pub spans: Vec<Span>,
}

/// Decodes one whole message from the start of `bytes` (at stream offset 0).
///
/// Fewer bytes than the message needs is `Truncated`; bytes after it are
/// `TrailingBytes` unless `allow_trailing`.
pub(crate) fn decode_whole<T>(
    bytes: &[u8],
    allow_trailing: bool,
    parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Decoded<T>, DecodeError> {
    let mut r = Reader::new(bytes, 0);
    let value = parse(&mut r)?;
    let len = r.consumed();
    if !allow_trailing && len < bytes.len() {
        return Err(r.error(DecodeErrorKind::TrailingBytes));
    }
    Ok(Decoded {
        value,
        start: 0,
        len,
        spans: r.into_spans(),
    })
}

/// One direction of a stream, decoded message by message.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    /// Bytes of an incomplete message.
    partial: Vec<u8>,
    /// Stream offset of the first byte of `partial` (or of the next byte).
    offset: u64,
}

impl Assembler {
    /// Stream offset of the next byte this direction will see.
    pub(crate) fn end_offset(&self) -> u64 {
        self.offset + self.partial.len() as u64
    }

    /// Accounts for `len` bytes that passed outside the decoder (a body, or
    /// ignored trailing bytes).
    pub(crate) fn skip(&mut self, len: u64) {
        debug_assert!(self.partial.is_empty(), "skip inside a message");
        self.offset += len;
    }

    /// Gives up on an incomplete message (its session ended): what it held
    /// is passed over, and later bytes may be skipped.
    pub(crate) fn abandon(&mut self) {
        self.offset += self.partial.len() as u64;
        self.partial.clear();
    }

    /// Offers `data`; returns how many of its bytes were used and the
    /// message, if one is now complete.
    pub(crate) fn feed<T>(
        &mut self,
        data: &[u8],
        parse: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
    ) -> Result<(usize, Option<Decoded<T>>), DecodeError> {
        let held = self.partial.len();
        let outcome = if held == 0 {
            // Fast path: decode straight from the caller's bytes.
            let mut r = Reader::new(data, self.offset);
            parse(&mut r).map(|v| (v, r.consumed(), r.into_spans()))
        } else {
            self.partial.extend_from_slice(data);
            let mut r = Reader::new(&self.partial, self.offset);
            parse(&mut r).map(|v| (v, r.consumed(), r.into_spans()))
        };
        match outcome {
            Ok((value, len, spans)) => {
                let start = self.offset;
                self.partial.clear();
                self.offset += len as u64;
                // A message that needed held bytes is longer than them.
                Ok((
                    len - held,
                    Some(Decoded {
                        value,
                        start,
                        len,
                        spans,
                    }),
                ))
            }
            Err(e) if e.kind == DecodeErrorKind::Truncated => {
                if held == 0 {
                    self.partial.extend_from_slice(data);
                }
                Ok((data.len(), None))
            }
            Err(e) => {
                self.partial.clear();
                Err(e)
            }
        }
    }

    /// The error for a stream that ended inside a message.
    pub(crate) fn truncated(&self) -> DecodeError {
        DecodeError {
            offset: self.end_offset(),
            kind: DecodeErrorKind::Truncated,
        }
    }
}
