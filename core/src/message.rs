//! Typed messages of both directions, with their encoders and decoders.
//!
//! Decoders read one whole message from a [`Reader`]; running out of bytes is
//! `Truncated`, which the incremental layer (`decode.rs`) turns into "need
//! more". Every length is checked against its limit as soon as it is read,
//! and names are checked only once their whole message has arrived, so a
//! refusal never leaves unread request bytes behind.
//!
//! File bodies are not part of any message: they follow a `size` field and
//! are moved by the caller (see `Output::SendBody` and `Output::ReceiveBody`).

use serde::{Deserialize, Serialize};

use crate::decode::{Decoded, decode_whole};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::field::Field;
use crate::limits::Limits;
use crate::name::{BadName, Name, NameError, check_component};
use crate::wire::{Reader, put_prefixed, put_u8, put_u32};

/// The MD5 of the empty string: what op 40 sends with position 0, a plain
/// download.
pub const EMPTY_MD5: [u8; 16] = [
    0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e,
];

/// An operation code: the first byte a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
#[repr(u8)]
pub enum Op {
    /// 10: download one file.
    Download = 10,
    /// 20: list the folder as JSON.
    List = 20,
    /// 30: upload one file.
    Upload = 30,
    /// 40: resume a download from a position, after checking an MD5.
    Resume = 40,
    /// 50: download every file matching a glob mask.
    MGet = 50,
    /// 60: authenticate; the next op acts in the user's private folder.
    Auth = 60,
}

impl Op {
    /// The op for a byte, if the protocol defines one.
    pub fn from_byte(byte: u8) -> Option<Op> {
        Some(match byte {
            10 => Op::Download,
            20 => Op::List,
            30 => Op::Upload,
            40 => Op::Resume,
            50 => Op::MGet,
            60 => Op::Auth,
            _ => return None,
        })
    }

    /// The op's name as docs/protocol.md writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Download => "DOWNLOAD",
            Op::List => "LIST",
            Op::Upload => "UPLOAD",
            Op::Resume => "RESUME",
            Op::MGet => "MGET",
            Op::Auth => "AUTH",
        }
    }
}

/// A one-byte status: 0 for yes, 1 for no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 0: accepted, found, stored.
    Ok,
    /// 1: refused, not found, failed.
    Error,
}

impl Status {
    /// The byte on the wire.
    pub fn byte(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Error => 1,
        }
    }

    fn read(r: &mut Reader<'_>, field: Field) -> Result<Status, DecodeError> {
        let at = r.offset();
        match r.u8(field)? {
            0 => Ok(Status::Ok),
            1 => Ok(Status::Error),
            value => Err(r.error_at(at, DecodeErrorKind::BadValue { field, value })),
        }
    }
}

/// An op 60 user name and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    pass: String,
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print a password by accident.
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Checks a user name (one name component, at most `max_user_len`
    /// bytes) and a password (at most `max_pass_len` bytes).
    pub fn new(user: &str, pass: &str, limits: &Limits) -> Result<Self, DecodeErrorKind> {
        if user.len() > limits.max_user_len as usize {
            return Err(DecodeErrorKind::TooLong {
                field: Field::User,
                len: user.len() as u64,
                limit: limits.max_user_len.into(),
            });
        }
        if pass.len() > limits.max_pass_len as usize {
            return Err(DecodeErrorKind::TooLong {
                field: Field::Pass,
                len: pass.len() as u64,
                limit: limits.max_pass_len.into(),
            });
        }
        check_component(user, limits.max_user_len).map_err(DecodeErrorKind::BadName)?;
        Ok(Self {
            user: user.to_owned(),
            pass: pass.to_owned(),
        })
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password, as sent in the clear.
    pub fn pass(&self) -> &str {
        &self.pass
    }

    /// Appends the whole op 60 message.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, Op::Auth as u8);
        put_prefixed(out, self.user.as_bytes());
        put_prefixed(out, self.pass.as_bytes());
    }
}

/// An op 50 glob mask: non-empty UTF-8 of at most `max_mask_len` bytes.
///
/// Whether it compiles as a glob is the server's business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Mask(String);

impl Mask {
    /// Checks a mask's length.
    pub fn new(mask: &str, limits: &Limits) -> Result<Self, DecodeErrorKind> {
        if mask.is_empty() {
            return Err(DecodeErrorKind::Empty { field: Field::Mask });
        }
        if mask.len() > limits.max_mask_len as usize {
            return Err(DecodeErrorKind::TooLong {
                field: Field::Mask,
                len: mask.len() as u64,
                limit: limits.max_mask_len.into(),
            });
        }
        Ok(Self(mask.to_owned()))
    }

    /// The mask as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The one operation of a connection, as the client asks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Op 10.
    Download {
        /// The file to send.
        name: Name,
    },
    /// Op 20.
    List,
    /// Op 30. The size and body follow only after the server accepts.
    Upload {
        /// Where to store the file.
        name: Name,
    },
    /// Op 40.
    Resume {
        /// The file to continue.
        name: Name,
        /// How many bytes the client holds.
        position: u32,
        /// MD5 of those bytes.
        md5: [u8; 16],
    },
    /// Op 50.
    MGet {
        /// The glob mask.
        mask: Mask,
    },
}

impl Request {
    /// The request's op.
    pub fn op(&self) -> Op {
        match self {
            Request::Download { .. } => Op::Download,
            Request::List => Op::List,
            Request::Upload { .. } => Op::Upload,
            Request::Resume { .. } => Op::Resume,
            Request::MGet { .. } => Op::MGet,
        }
    }

    /// Appends the whole request.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, self.op() as u8);
        match self {
            Request::Download { name } | Request::Upload { name } => {
                put_prefixed(out, name.as_str().as_bytes())
            }
            Request::List => {}
            Request::Resume {
                name,
                position,
                md5,
            } => {
                put_prefixed(out, name.as_str().as_bytes());
                put_u32(out, *position);
                out.extend_from_slice(md5);
            }
            Request::MGet { mask } => put_prefixed(out, mask.as_str().as_bytes()),
        }
    }
}

/// What a client's first bytes (or, after AUTH, its next bytes) carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// Op 60.
    Auth(Credentials),
    /// Any other op.
    Request(Request),
}

impl ClientMessage {
    /// Decodes one whole client message from the start of `bytes`. With
    /// `allow_trailing` false, bytes after it are `TrailingBytes`.
    ///
    /// ```
    /// use ferry_core::{ClientMessage, Limits, Request};
    /// let msg = ClientMessage::decode(b"\x14", &Limits::default(), false).unwrap();
    /// assert_eq!(msg.value, ClientMessage::Request(Request::List));
    /// ```
    pub fn decode(
        bytes: &[u8],
        limits: &Limits,
        allow_trailing: bool,
    ) -> Result<Decoded<ClientMessage>, DecodeError> {
        decode_whole(bytes, allow_trailing, |r| {
            ClientMessage::read(r, limits, true)
        })
    }

    /// Appends the message's bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ClientMessage::Auth(credentials) => credentials.encode(out),
            ClientMessage::Request(request) => request.encode(out),
        }
    }

    /// Reads one message. `auth_allowed` is false once AUTH has been seen:
    /// a second op 60 is then an unknown op.
    pub(crate) fn read(
        r: &mut Reader<'_>,
        limits: &Limits,
        auth_allowed: bool,
    ) -> Result<ClientMessage, DecodeError> {
        let at = r.offset();
        let byte = r.u8(Field::Op)?;
        let op = match Op::from_byte(byte) {
            Some(Op::Auth) if !auth_allowed => None,
            op => op,
        };
        let Some(op) = op else {
            return Err(r.error_at(at, DecodeErrorKind::UnknownOp(byte)));
        };
        let request = match op {
            Op::Auth => {
                let user_at = r.offset() + 4;
                let user = r.prefixed_str(Field::UserLen, Field::User, limits.max_user_len)?;
                let pass = r.prefixed_str(Field::PassLen, Field::Pass, limits.max_pass_len)?;
                check_component(user, limits.max_user_len)
                    .map_err(|e| r.error_at(user_at, DecodeErrorKind::BadName(e)))?;
                return Ok(ClientMessage::Auth(Credentials {
                    user: user.to_owned(),
                    pass: pass.to_owned(),
                }));
            }
            Op::List => Request::List,
            Op::Download => Request::Download {
                name: read_name(r, limits, |_| Ok(()))?,
            },
            Op::Upload => Request::Upload {
                name: read_name(r, limits, |_| Ok(()))?,
            },
            Op::Resume => {
                let mut tail = (0, [0; 16]);
                let name = read_name(r, limits, |r| {
                    tail = (r.u32(Field::Position)?, r.array16(Field::Md5)?);
                    Ok(())
                })?;
                Request::Resume {
                    name,
                    position: tail.0,
                    md5: tail.1,
                }
            }
            Op::MGet => {
                let mask_at = r.offset();
                let mask = r.prefixed_str(Field::MaskLen, Field::Mask, limits.max_mask_len)?;
                let mask = Mask::new(mask, limits).map_err(|kind| r.error_at(mask_at, kind))?;
                Request::MGet { mask }
            }
        };
        Ok(ClientMessage::Request(request))
    }
}

/// Reads a length-prefixed name, then the rest of the message (`rest`), and
/// only then checks the name, so the whole request is consumed either way.
fn read_name(
    r: &mut Reader<'_>,
    limits: &Limits,
    rest: impl FnOnce(&mut Reader<'_>) -> Result<(), DecodeError>,
) -> Result<Name, DecodeError> {
    let raw = r.prefixed(Field::NameLen, Field::Name, limits.max_name_len)?;
    let name_at = r.offset() - raw.len() as u64;
    rest(r)?;
    Name::parse(raw, limits).map_err(|e| {
        let kind = match e {
            NameError::NotUtf8 => DecodeErrorKind::BadUtf8 { field: Field::Name },
            e => DecodeErrorKind::BadName(e),
        };
        r.error_at(name_at, kind)
    })
}

/// Decodes op 30's `u32 size`, which the client sends once the server has
/// accepted the upload.
pub fn decode_upload_size(bytes: &[u8], allow_trailing: bool) -> Result<Decoded<u32>, DecodeError> {
    decode_whole(bytes, allow_trailing, read_upload_size)
}

pub(crate) fn read_upload_size(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    r.u32(Field::Size)
}

/// Op 40's outcome after status 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResumeOutcome {
    /// Result 0: `remaining` bytes from the position follow.
    Ok {
        /// Bytes that follow.
        remaining: u32,
    },
    /// Result 10: no such regular file.
    NoSuchFile,
    /// Result 20: the MD5 does not match, or the position is past the end.
    Mismatch,
}

/// One op 50 entry header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MGetEntry {
    /// The entry's name; a client keeps a name that breaks the rules as
    /// [`BadName`], skips its body and goes on with the batch.
    pub name: Result<Name, BadName>,
    /// `Some(size)` for entry status 0 (a body of `size` bytes follows);
    /// `None` for entry status 10 (matched but could not be read).
    pub size: Option<u32>,
}

/// What the server sends, one framing unit at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A bare status byte: AUTH's answer, UPLOAD's two answers, and status 1
    /// (refused or not found) of any op.
    Status(Status),
    /// Op 10 status 0 and the size; the body follows.
    Download {
        /// Body size.
        size: u32,
    },
    /// Op 20 status 0, the length and the JSON listing.
    Listing(Vec<u8>),
    /// Op 40 status 0 and the result (and `remaining` when the result is 0;
    /// the body follows).
    Resume(ResumeOutcome),
    /// Op 50 status 0 and the count of entries that follow.
    MGetStart {
        /// Entries that follow.
        count: u32,
    },
    /// One op 50 entry header (the body follows when it has a size).
    MGetEntry(MGetEntry),
}

/// Which reply a client expects next: replies cannot be told apart by their
/// bytes alone, only by the request they answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A bare status byte (AUTH, UPLOAD).
    Status,
    /// Op 10's answer.
    Download,
    /// Op 20's answer.
    Listing,
    /// Op 40's answer.
    Resume,
    /// Op 50's opening.
    MGetStart,
    /// Op 50's next entry header.
    MGetEntry,
}

impl Reply {
    /// Appends the reply's bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Status(status) => put_u8(out, status.byte()),
            Reply::Download { size } => {
                put_u8(out, 0);
                put_u32(out, *size);
            }
            Reply::Listing(json) => {
                put_u8(out, 0);
                put_prefixed(out, json);
            }
            Reply::Resume(outcome) => {
                put_u8(out, 0);
                match outcome {
                    ResumeOutcome::Ok { remaining } => {
                        put_u8(out, 0);
                        put_u32(out, *remaining);
                    }
                    ResumeOutcome::NoSuchFile => put_u8(out, 10),
                    ResumeOutcome::Mismatch => put_u8(out, 20),
                }
            }
            Reply::MGetStart { count } => {
                put_u8(out, 0);
                put_u32(out, *count);
            }
            Reply::MGetEntry(entry) => {
                put_u8(out, if entry.size.is_some() { 0 } else { 10 });
                match &entry.name {
                    Ok(name) => put_prefixed(out, name.as_str().as_bytes()),
                    Err(bad) => put_prefixed(out, &bad.raw),
                }
                if let Some(size) = entry.size {
                    put_u32(out, size);
                }
            }
        }
    }

    /// Decodes the whole reply `expect` names from the start of `bytes`.
    /// With `allow_trailing` false, bytes after it are `TrailingBytes`.
    pub fn decode(
        bytes: &[u8],
        expect: Expect,
        limits: &Limits,
        allow_trailing: bool,
    ) -> Result<Decoded<Reply>, DecodeError> {
        decode_whole(bytes, allow_trailing, |r| Reply::read(r, expect, limits))
    }

    /// Reads the reply `expect` names.
    pub(crate) fn read(
        r: &mut Reader<'_>,
        expect: Expect,
        limits: &Limits,
    ) -> Result<Reply, DecodeError> {
        // An op 50 entry starts with its own status byte; every other reply
        // starts with a status, and status 1 ends it.
        let status = match expect {
            Expect::MGetEntry => return read_mget_entry(r, limits).map(Reply::MGetEntry),
            _ => Status::read(r, Field::Status)?,
        };
        if status == Status::Error {
            return Ok(Reply::Status(status));
        }
        Ok(match expect {
            Expect::Status | Expect::MGetEntry => Reply::Status(status),
            Expect::Download => Reply::Download {
                size: r.u32(Field::Size)?,
            },
            Expect::Listing => Reply::Listing(
                r.prefixed(Field::ListingLen, Field::Listing, limits.max_listing_len)?
                    .to_vec(),
            ),
            Expect::Resume => {
                let at = r.offset();
                Reply::Resume(match r.u8(Field::ResumeResult)? {
                    0 => ResumeOutcome::Ok {
                        remaining: r.u32(Field::Remaining)?,
                    },
                    10 => ResumeOutcome::NoSuchFile,
                    20 => ResumeOutcome::Mismatch,
                    value => {
                        return Err(r.error_at(
                            at,
                            DecodeErrorKind::BadValue {
                                field: Field::ResumeResult,
                                value,
                            },
                        ));
                    }
                })
            }
            Expect::MGetStart => Reply::MGetStart {
                count: r.u32(Field::Count)?,
            },
        })
    }
}

fn read_mget_entry(r: &mut Reader<'_>, limits: &Limits) -> Result<MGetEntry, DecodeError> {
    let at = r.offset();
    let has_body = match r.u8(Field::EntryStatus)? {
        0 => true,
        10 => false,
        value => {
            return Err(r.error_at(
                at,
                DecodeErrorKind::BadValue {
                    field: Field::EntryStatus,
                    value,
                },
            ));
        }
    };
    // Read past the name rules (up to a hard cap): one over-long name is
    // that entry's problem, not the whole answer's.
    let cap = limits.max_entry_name_read.max(limits.max_name_len);
    let raw = r.prefixed(Field::NameLen, Field::Name, cap)?;
    let size = if has_body {
        Some(r.u32(Field::Size)?)
    } else {
        None
    };
    let name = Name::parse(raw, limits).map_err(|error| BadName {
        raw: raw.to_vec(),
        error,
    });
    Ok(MGetEntry { name, size })
}

/// One op 20 listing entry: `{"nome": "docs/a.txt", "tamanho": "12345"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    /// The file's relative name (`nome`).
    #[serde(rename = "nome")]
    pub name: String,
    /// The file's true size in bytes (`tamanho`), even at 4 GiB or more.
    #[serde(rename = "tamanho", with = "size_as_string")]
    pub size: u64,
}

/// Writes a listing as op 20's JSON (sizes as strings, as seed 004 shows).
pub fn encode_listing(entries: &[ListEntry]) -> Vec<u8> {
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_vec(entries).unwrap_or_else(|_| b"[]".to_vec())
}

/// Reads op 20's JSON; `tamanho` may be a string or a number.
pub fn parse_listing(json: &[u8]) -> Result<Vec<ListEntry>, DecodeErrorKind> {
    serde_json::from_slice(json).map_err(|e| DecodeErrorKind::BadListing(e.to_string()))
}

mod size_as_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(size: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(size)
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size<'a> {
        Number(u64),
        Text(&'a str),
        Owned(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match Size::deserialize(d)? {
            Size::Number(n) => Ok(n),
            Size::Text(t) => t.parse().map_err(D::Error::custom),
            Size::Owned(t) => t.parse().map_err(D::Error::custom),
        }
    }
}
