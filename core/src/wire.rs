//! Bytes on the wire: a reader and writer for `u8`, big-endian `u32` and
//! length-prefixed fields.
//!
//! The reader records a [`Span`] for each field it reads, which is how the
//! trace decoder explains every byte with the very code that parses it.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::field::Field;

/// Where one field sits in a direction of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    /// Which field.
    pub field: Field,
    /// Stream offset of its first byte.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// Reads fields from a buffer that starts at stream offset `base`.
///
/// Running out of bytes is [`DecodeErrorKind::Truncated`]; the incremental
/// decoder reads that as "need more" until the stream has ended.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    spans: Vec<Span>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Self {
        Self {
            buf,
            pos: 0,
            base,
            spans: Vec::new(),
        }
    }

    /// Bytes read so far.
    pub(crate) fn consumed(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Stream offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The spans of the fields read so far.
    pub(crate) fn into_spans(self) -> Vec<Span> {
        self.spans
    }

    pub(crate) fn error_at(&self, offset: u64, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    /// An error located at the next unread byte.
    pub(crate) fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        self.error_at(self.offset(), kind)
    }

    pub(crate) fn take(&mut self, field: Field, len: usize) -> Result<&'a [u8], DecodeError> {
        let rest = &self.buf[self.pos..];
        if rest.len() < len {
            // Truncation is reported at the first missing byte.
            let end = self.base + self.buf.len() as u64;
            return Err(self.error_at(end, DecodeErrorKind::Truncated));
        }
        self.spans.push(Span {
            field,
            offset: self.offset(),
            len: len as u64,
        });
        self.pos += len;
        Ok(&rest[..len])
    }

    pub(crate) fn u8(&mut self, field: Field) -> Result<u8, DecodeError> {
        Ok(self.take(field, 1)?[0])
    }

    pub(crate) fn u16(&mut self, field: Field) -> Result<u16, DecodeError> {
        let b = self.take(field, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: Field) -> Result<u32, DecodeError> {
        let b = self.take(field, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn array16(&mut self, field: Field) -> Result<[u8; 16], DecodeError> {
        let mut out = [0; 16];
        out.copy_from_slice(self.take(field, 16)?);
        Ok(out)
    }

    /// A `u32` length (checked against `limit` as soon as it is read, so an
    /// absurd length fails at once instead of waiting for bytes that will
    /// never come), then that many bytes.
    pub(crate) fn prefixed(
        &mut self,
        len_field: Field,
        field: Field,
        limit: u32,
    ) -> Result<&'a [u8], DecodeError> {
        let at = self.offset();
        let len = self.u32(len_field)?;
        if len > limit {
            return Err(self.error_at(
                at,
                DecodeErrorKind::TooLong {
                    field,
                    len: len.into(),
                    limit: limit.into(),
                },
            ));
        }
        self.take(field, len as usize)
    }

    /// Like [`Reader::prefixed`], for text that must be UTF-8.
    pub(crate) fn prefixed_str(
        &mut self,
        len_field: Field,
        field: Field,
        limit: u32,
    ) -> Result<&'a str, DecodeError> {
        let bytes = self.prefixed(len_field, field, limit)?;
        let at = self.offset() - bytes.len() as u64;
        core::str::from_utf8(bytes)
            .map_err(|_| self.error_at(at, DecodeErrorKind::BadUtf8 { field }))
    }
}

/// Appends a `u8`.
pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// Appends a big-endian `u32`.
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a `u32` length and the bytes.
///
/// Callers only pass values whose length was checked against a `u32` limit.
pub(crate) fn put_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    put_u32(out, len);
    out.extend_from_slice(&bytes[..len as usize]);
}
