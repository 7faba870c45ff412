//! A blocking source of bytes read once, in order: an object store's
//! answer, a fetch from an origin, a window's refetch.

use std::io;

/// A blocking source of bytes, read once, in order.
pub struct Stream(pub Box<dyn io::Read + Send>);

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}
