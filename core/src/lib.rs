//! The ferry wire protocol as pure state machines: bytes in, bytes and events
//! out.
//!
//! This crate never opens a socket or a file, never reads a clock, never
//! starts a thread and never blocks. The caller passes time in as a
//! [`Timestamp`], feeds the peer's bytes in, and drains [`Output`]s: bytes to
//! write, events to act on, bodies to move, and when to close. That makes
//! every run deterministic, lets the whole protocol be tested without a
//! network, and lets the same code run in the server, the client, the cache
//! and the browser (it builds for `wasm32-unknown-unknown`).
//!
//! File payloads bypass the sessions: a session frames them (announces the
//! size, counts progress) and the caller moves the bytes itself, so the
//! server can use `sendfile`.
//!
//! The wire format is specified in `docs/protocol.md`.
//!
//! # The drive loop
//!
//! Every frontend drives a session the same way, whichever its role (the
//! [`Session`] trait): drain [`Output`]s in order, answer events, move
//! bodies outside the session, offer the peer's bytes and keep what was not
//! taken. Here a client downloads a file from a server, both in memory:
//!
//! ```
//! use ferry_core::{
//!     ClientSession, Limits, Name, Output, Request, ServerEvent, ServerSession, Session,
//!     Timestamp,
//! };
//!
//! /// One end of the connection: the body it will send, the body it gets.
//! #[derive(Default)]
//! struct End { outgoing: Vec<u8>, receiving: u64, received: Vec<u8> }
//!
//! /// Runs a session until it waits for the peer: `inbox` holds the peer's
//! /// bytes, `wire` takes this end's.
//! fn pump<S: Session>(
//!     s: &mut S,
//!     end: &mut End,
//!     inbox: &mut Vec<u8>,
//!     wire: &mut Vec<u8>,
//!     mut answer: impl FnMut(&mut S, S::Event, &mut End),
//! ) {
//!     let now = Timestamp::from_micros(0); // a real loop reads its clock
//!     loop {
//!         // 1. Do what the session asks, in order.
//!         while let Some(output) = s.poll_output() {
//!             match output {
//!                 Output::Transmit(bytes) => wire.extend(bytes),
//!                 Output::SendBody { len } => {
//!                     // Payload bypasses the session (the server uses sendfile).
//!                     wire.extend(end.outgoing.drain(..len as usize));
//!                     s.handle_body(now, len).expect("a body is under way");
//!                 }
//!                 Output::ReceiveBody { len } => end.receiving = len,
//!                 Output::Event(event) => answer(s, event, end),
//!                 Output::Close => return,
//!             }
//!         }
//!         // 2. The next `receiving` bytes are payload: to the file, not the session.
//!         if end.receiving > 0 && !inbox.is_empty() {
//!             let n = inbox.len().min(end.receiving as usize);
//!             end.received.extend(inbox.drain(..n));
//!             end.receiving -= n as u64;
//!             s.handle_body(now, n as u64).expect("a body is under way");
//!             continue;
//!         }
//!         // 3. Protocol bytes: the session keeps none of what it does not take.
//!         let used = s.handle_input(now, inbox).unwrap_or(inbox.len());
//!         inbox.drain(..used);
//!         if used == 0 {
//!             // 4. Wait for the peer, or until `s.poll_timeout()`, then
//!             //    call `s.handle_timeout(now)` (or `s.handle_eof(now)`).
//!             return;
//!         }
//!     }
//! }
//!
//! let limits = Limits::default();
//! let file = b"hello, ferry".to_vec();
//! let name = Name::parse(b"hello.txt", &limits)?;
//! let start = Timestamp::from_micros(0);
//! let mut client = ClientSession::new(limits.clone(), start, None, Request::Download { name });
//! let mut server = ServerSession::new(limits, start);
//! let (mut client_end, mut server_end) = (End::default(), End::default());
//! let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
//! for _round in 0..3 {
//!     pump(&mut client, &mut client_end, &mut to_client, &mut to_server, |_, _, _| {});
//!     pump(&mut server, &mut server_end, &mut to_server, &mut to_client, |s, event, end| {
//!         match event {
//!             ServerEvent::Download { name } if name.as_str() == "hello.txt" => {
//!                 s.send_file(file.len() as u64).expect("answers Download");
//!                 end.outgoing = file.clone();
//!             }
//!             _ => s.refuse().expect("an event is pending"),
//!         }
//!     });
//! }
//! assert!(client.is_finished() && server.is_finished());
//! assert_eq!(client_end.received, file);
//! assert_eq!(client.error(), None);
//! # Ok::<(), ferry_core::NameError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod cache;
mod client;
mod decode;
mod error;
mod field;
mod limits;
mod message;
mod name;
mod output;
mod server;
mod session;
mod sniff;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod trace;
mod wire;

pub use client::{ClientEvent, ClientSession};
pub use decode::Decoded;
pub use error::{ApiMisuse, DecodeError, DecodeErrorKind, SessionError};
pub use field::Field;
pub use limits::Limits;
pub use message::{
    ClientMessage, Credentials, EMPTY_MD5, Expect, ListEntry, MGetEntry, Mask, Op, Reply, Request,
    ResumeOutcome, Status, decode_upload_size, encode_listing, parse_listing,
};
pub use name::{
    BadName, DECEPTIVE, Deception, Name, NameError, RESERVED_PREFIX, check_component, deceptive,
    escape, escape_short, hex, may_have_other_spellings, nfc,
};
pub use output::Output;
pub use server::{Refusal, ResumeAnswer, ServerEvent, ServerSession};
pub use session::Session;
pub use sniff::foreign_protocol;
pub use time::Timestamp;
pub use trace::{
    Anomaly, AnomalyKind, Arg, CaptureError, Connection, Direction, FieldView, KeyLog, KeyLogError,
    Layer, MAX_INFLATED, Message, Payload, Said, SegmentView, StreamBytes, Streams,
    TRANSCRIPT_SCHEMA, TcpRole, Tls, TraceOptions, Transcript, decode_capture,
    decode_capture_with_streams, decode_exchange, explain_error, localized, localized_bytes,
    localized_count, words,
};
pub use wire::Span;
