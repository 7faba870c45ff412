//! A socket that joins the reactor only when an operation would block.

use std::io;
use std::net::TcpStream;

use async_io::Async;

/// A non-blocking TCP socket that registers with the reactor the first time
/// an operation would block, and never before. No heap allocation of its
/// own: 16 bytes either way.
#[derive(Debug)]
pub struct Socket(pub(crate) Registration);

#[derive(Debug)]
pub(crate) enum Registration {
    Plain(TcpStream),
    Registered(Async<TcpStream>),
    /// Registration failed and took the stream with it.
    Lost,
}

impl Socket {
    /// Wraps a stream that is already in non-blocking mode.
    pub fn new(stream: TcpStream) -> Self {
        Socket(Registration::Plain(stream))
    }

    /// Wraps a stream already registered with the reactor.
    pub fn registered(io: Async<TcpStream>) -> Self {
        Socket(Registration::Registered(io))
    }

    /// The stream, for plain non-blocking calls.
    pub fn get_ref(&self) -> io::Result<&TcpStream> {
        match &self.0 {
            Registration::Plain(stream) => Ok(stream),
            Registration::Registered(io) => Ok(io.get_ref()),
            Registration::Lost => Err(io::Error::other("the socket could not join the reactor")),
        }
    }

    pub(crate) fn reactor(&mut self) -> io::Result<&Async<TcpStream>> {
        if let Registration::Plain(_) = self.0
            && let Registration::Plain(stream) = std::mem::replace(&mut self.0, Registration::Lost)
        {
            self.0 = Registration::Registered(Async::new_nonblocking(stream)?);
        }
        match &self.0 {
            Registration::Registered(io) => Ok(io),
            _ => Err(io::Error::other("the socket could not join the reactor")),
        }
    }

    /// A future that waits until the socket is readable.
    pub fn readable(&mut self) -> io::Result<async_io::Readable<'_, TcpStream>> {
        Ok(self.reactor()?.readable())
    }

    /// Runs a non-blocking read `op` until it stops saying "would block".
    pub async fn read_with<T>(
        &mut self,
        mut op: impl FnMut(&TcpStream) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            match op(self.get_ref()?) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable()?.await?,
                result => return result,
            }
        }
    }

    /// Runs a non-blocking write `op` until it stops saying "would block".
    pub async fn write_with<T>(
        &mut self,
        mut op: impl FnMut(&TcpStream) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            match op(self.get_ref()?) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor()?.writable().await?
                }
                result => return result,
            }
        }
    }
}
