//! Where the bytes of a body this side sends come from: a file, a file
//! still being written, a bounded window, a stream, bytes in memory, or an
//! object elsewhere.

use std::io;
use std::sync::Arc;

use ferry_storage::OpenFile;

use crate::growing::Growing;
pub use crate::stream::Stream;
use crate::window::WindowReader;

/// Where the bytes of a body this side sends come from.
#[derive(Debug)]
pub enum Body {
    /// A regular file, sent with `sendfile` from `offset`.
    File {
        /// The open file.
        open: OpenFile,
        /// Where the body starts in the file.
        offset: u64,
    },
    /// A file still being written (a cache fill), sent as its bytes land.
    Growing {
        /// The file and its progress.
        source: Arc<Growing>,
        /// Where the body starts in the file.
        offset: u64,
    },
    /// Bytes passed on through a bounded window of memory (a file a cache
    /// will not keep, an upload on its way to the origin).
    Window {
        /// This body's place in the window.
        reader: WindowReader,
        /// Where the body starts.
        offset: u64,
    },
    /// Bytes read as they arrive (an object store's answer), `size` in all,
    /// copied to the socket on a thread of the blocking pool.
    Stream {
        /// The bytes.
        source: Stream,
        /// How many there are.
        size: u64,
    },
    /// Bytes already in memory (a small object read whole with its answer),
    /// written from the connection's own thread: no trip to the blocking
    /// pool.
    Bytes {
        /// The whole object.
        bytes: Vec<u8>,
        /// Where the body starts in it.
        offset: u64,
    },
    /// An object elsewhere (an object store's), fetched from `offset` only
    /// when its bytes are sent: a RESUME reads just the rest.
    Remote {
        /// The object, one version of it.
        source: Arc<dyn Fetch>,
        /// Where the body starts in the object.
        offset: u64,
    },
}

/// An object kept elsewhere, one version of it.
pub trait Fetch: std::fmt::Debug + Send + Sync + ferry_storage::ReadAt {
    /// Its size.
    fn size(&self) -> u64;
    /// Which version it is, for remembered prefix digests.
    fn version(&self) -> ferry_storage::FileId;
    /// Starts reading its bytes from `from` to the end. Blocks: run it on
    /// the blocking pool.
    fn fetch(&self, from: u64) -> io::Result<Stream>;
}

impl Body {
    /// The body source's full size (not counting the offset).
    pub fn size(&self) -> u64 {
        match self {
            Body::File { open, .. } => open.size,
            Body::Growing { source, .. } => source.size,
            Body::Window { reader, .. } => reader.window().size,
            Body::Stream { size, .. } => *size,
            Body::Bytes { bytes, .. } => bytes.len() as u64,
            Body::Remote { source, .. } => source.size(),
        }
    }

    /// Starts the body at `offset` instead (op 40 sends the rest of a file).
    pub fn starting_at(self, offset: u64) -> Body {
        match self {
            Body::File { open, .. } => Body::File { open, offset },
            Body::Growing { source, .. } => Body::Growing { source, offset },
            Body::Window { reader, .. } => Body::Window { reader, offset },
            Body::Remote { source, .. } => Body::Remote { source, offset },
            Body::Bytes { bytes, .. } => Body::Bytes { bytes, offset },
            // Read once from where it stands: only ever sent whole.
            stream @ Body::Stream { .. } => stream,
        }
    }
}
