//! A blocking source of bytes read once, in order: an object store's
//! answer, a fetch from an origin, a window's refetch. A source that reads
//! a socket of its own may hand its bytes on inside the kernel instead.

use std::io;
use std::os::fd::BorrowedFd;

/// A blocking source of bytes, read once, in order.
pub struct Stream(pub Box<dyn Reader>);

impl Stream {
    /// A stream of `reader`'s bytes, read through this process.
    pub fn reader(reader: impl io::Read + Send + 'static) -> Self {
        Stream(Box::new(Reading(reader)))
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

/// What a [`Stream`] reads: bytes, read once, in order.
pub trait Reader: io::Read + Send {
    /// Whether it may move bytes with [`Reader::splice_into`].
    fn splices(&self) -> bool {
        false
    }

    /// Moves up to `max` of its next bytes into the pipe `pipe` without
    /// copying them through this process (`splice(2)` from a socket of its
    /// own), if it can now: how many moved (`Ok(0)`: it ended early), or
    /// `None` to have them read instead.
    fn splice_into(&mut self, pipe: BorrowedFd<'_>, max: usize) -> Option<io::Result<usize>> {
        let _ = (pipe, max);
        None
    }
}

/// Any reader, read through this process.
pub struct Reading<R>(pub R);

impl<R: io::Read> io::Read for Reading<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: io::Read + Send> Reader for Reading<R> {}
