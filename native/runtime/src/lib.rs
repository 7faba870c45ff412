//! ferry's runtime: drives the core's sans-IO sessions over smol.
//!
//! Everything here moves bytes and nothing decides: [`conn`] owns one TCP
//! connection's [`socket`] and buffers (speaking [`tls`] if asked;
//! [`blocking`] sends large bodies from a pool thread), [`clock`] turns
//! session time into deadlines, [`body`] names where a body's bytes come
//! from ([`growing`]
//! files still being written, [`window`]s of bytes passing through), and
//! [`drive()`] is the one loop that feeds a session and hands its events to
//! a role's [`Handler`] (`send.rs` has the body senders). [`turns`] keeps
//! long bodies from holding up new requests on a server's thread.
//! [`listen`] binds the server's sockets, and [`upstream`] runs one request
//! against a server, as the client and a cache's origin side do.
//!
//! The server side (`ferry-server`) and the client commands
//! (`ferry-client`) sit on top; this crate knows neither, nor any store,
//! password hashing or terminal.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blocking;
pub mod body;
pub mod clock;
pub mod conn;
mod drive;
pub mod growing;
pub mod handler;
pub mod listen;
mod send;
pub mod socket;
mod step;
pub mod stream;
pub mod tls;
pub mod turns;
pub mod upstream;
pub mod window;

pub use body::{Body, Fetch, Stream};
pub use clock::{Clock, Waited, until};
pub use drive::drive;
pub use handler::{Ended, Handler, Sending, Stop, misuse};
