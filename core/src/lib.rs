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
//! Every frontend drives a session the same way. A sketch for the server
//! side over a blocking stream:
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use ferry_core::{Limits, Output, ServerEvent, ServerSession, Timestamp};
//!
//! fn serve(stream: &mut std::net::TcpStream, now: impl Fn() -> Timestamp) -> std::io::Result<()> {
//!     let mut session = ServerSession::new(Limits::default(), now());
//!     let mut buf = vec![0; 64 * 1024];
//!     let (mut start, mut end) = (0, 0);
//!     loop {
//!         // 1. Drain outputs in order, answering events.
//!         while let Some(output) = session.poll_output() {
//!             match output {
//!                 Output::Transmit(bytes) => stream.write_all(&bytes)?,
//!                 Output::Event(ServerEvent::List) => {
//!                     session.send_listing(b"[]".to_vec()).expect("answers List");
//!                 }
//!                 Output::Event(_) => session.refuse().expect("an event is pending"),
//!                 Output::SendBody { len } => { /* sendfile `len` bytes, then: */
//!                     session.handle_body(now(), len).expect("a body is under way");
//!                 }
//!                 Output::ReceiveBody { .. } => { /* route the next bytes to the file */ }
//!                 Output::Close => return Ok(()),
//!             }
//!         }
//!         // 2. Payload bytes go to the file, not to the session.
//!         if let Some(remaining) = session.receive_remaining() {
//!             let n = (end - start).min(remaining as usize);
//!             /* write buf[start..start + n] to the file */
//!             start += n;
//!             session.handle_body(now(), n as u64).expect("a body is under way");
//!         }
//!         // 3. Offer protocol bytes; keep what was not taken.
//!         if start < end {
//!             let used = session.handle_input(now(), &buf[start..end]).unwrap_or(end - start);
//!             start += used;
//!             if used > 0 || session.poll_output().is_some() { continue; }
//!         }
//!         // 4. Read more (racing a timer set to `session.poll_timeout()`,
//!         //    which calls `session.handle_timeout(now())` when it fires).
//!         if start == end { (start, end) = (0, 0); }
//!         let n = stream.read(&mut buf[end..])?;
//!         if n == 0 { session.handle_eof(now()); } else { end += n; }
//!     }
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod client;
mod decode;
mod error;
mod field;
mod limits;
mod message;
mod name;
mod output;
mod server;
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
pub use name::{BadName, Name, NameError, RESERVED_PREFIX, check_component, escape};
pub use output::Output;
pub use server::{ResumeAnswer, ServerEvent, ServerSession};
pub use time::Timestamp;
pub use trace::{
    Anomaly, AnomalyKind, CaptureError, Connection, Direction, FieldView, Message, Payload,
    TraceOptions, Transcript, decode_capture,
};
pub use wire::Span;
