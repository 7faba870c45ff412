//! Test harness: a scripted server application over an in-memory store, a
//! client application, one [`Driver`] for either role, and a `Pair` that
//! connects both with a fake clock.
//!
//! The driver is the crate's own (`ferry_core::testing`, the `testing`
//! feature): the one loop that feeds a session in memory.

#![allow(dead_code)]

pub mod capture;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use ferry_core::testing::Transcript;
use ferry_core::testing::{App, Driver};
use ferry_core::{
    ClientEvent, ClientSession, Credentials, ListEntry, Name, ResumeAnswer, ServerEvent,
    ServerSession, Timestamp, encode_listing,
};
use md5::{Digest, Md5};

/// Bytes from hex, ignoring whitespace (the form docs/protocol.md uses).
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex: {text}");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

pub fn md5(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

/// A server application answering every event from an in-memory store.
#[derive(Debug, Default, Clone)]
pub struct ServerApp {
    /// Public files by name.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Private files, by user then name.
    pub private: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// user -> password.
    pub users: BTreeMap<String, String>,
    /// Names that match masks but cannot be read (op 50 entry status 10).
    pub vanished: BTreeSet<String>,
    /// Largest upload accepted; larger sizes get the early refusal.
    pub max_upload: Option<u32>,
    user: Option<String>,
    body_out: VecDeque<u8>,
    mget: VecDeque<(Name, Option<Vec<u8>>)>,
    upload: Option<(String, Vec<u8>)>,
}

impl ServerApp {
    pub fn with_files(files: &[(&str, &[u8])]) -> Self {
        let mut app = ServerApp::default();
        for (name, data) in files {
            app.files.insert(name.to_string(), data.to_vec());
        }
        app
    }

    fn folder(&mut self) -> &mut BTreeMap<String, Vec<u8>> {
        match &self.user {
            Some(user) => self.private.entry(user.clone()).or_default(),
            None => &mut self.files,
        }
    }

    fn respond(&mut self, s: &mut ServerSession, event: ServerEvent) {
        match event {
            ServerEvent::Auth(c) => {
                let ok = self.users.get(c.user()).is_some_and(|p| p == c.pass());
                if ok {
                    self.user = Some(c.user().to_owned());
                }
                s.answer_auth(ok).unwrap();
            }
            ServerEvent::Download { name } => match self.folder().get(name.as_str()).cloned() {
                Some(data) => {
                    s.send_file(data.len() as u64).unwrap();
                    self.body_out.extend(data);
                }
                None => s.refuse().unwrap(),
            },
            ServerEvent::List => {
                let entries: Vec<ListEntry> = self
                    .folder()
                    .iter()
                    .map(|(n, d)| ListEntry {
                        name: n.clone(),
                        size: d.len() as u64,
                    })
                    .collect();
                s.send_listing(encode_listing(&entries)).unwrap();
            }
            ServerEvent::Upload { name } => {
                if name.as_str().starts_with("readonly") {
                    s.refuse().unwrap();
                } else {
                    self.upload = Some((name.as_str().to_owned(), Vec::new()));
                    s.accept_upload().unwrap();
                }
            }
            ServerEvent::UploadSize { size } => {
                if self.max_upload.is_some_and(|max| size > max) {
                    s.refuse().unwrap();
                } else {
                    s.receive_body().unwrap();
                }
            }
            ServerEvent::UploadComplete => {
                let (name, data) = self.upload.take().unwrap();
                self.folder().insert(name, data);
                s.finish_upload(true).unwrap();
            }
            ServerEvent::Resume {
                name,
                position,
                md5: digest,
            } => {
                let answer = match self.folder().get(name.as_str()).cloned() {
                    None => ResumeAnswer::NoSuchFile,
                    Some(data) if position as usize > data.len() => ResumeAnswer::Mismatch,
                    Some(data) if md5(&data[..position as usize]) != digest => {
                        ResumeAnswer::Mismatch
                    }
                    Some(data) => {
                        self.body_out.extend(&data[position as usize..]);
                        ResumeAnswer::Send {
                            file_size: data.len() as u64,
                        }
                    }
                };
                s.answer_resume(answer).unwrap();
            }
            ServerEvent::MGet { mask } => {
                let mask = mask.as_str().to_owned();
                let vanished = self.vanished.clone();
                let mut entries = Vec::new();
                for (name, data) in self.folder().iter() {
                    if glob_match(&mask, name) {
                        let body = (!vanished.contains(name)).then(|| data.clone());
                        entries.push((
                            Name::parse(name.as_bytes(), &Default::default()).unwrap(),
                            body,
                        ));
                    }
                }
                let sizes: Vec<u64> = entries
                    .iter()
                    .map(|(_, body)| body.as_ref().map_or(0, |b| b.len() as u64))
                    .collect();
                s.start_mget(sizes).unwrap();
                self.mget = entries.into();
            }
            ServerEvent::NextEntry => {
                let (name, body) = self.mget.pop_front().unwrap();
                s.mget_entry(&name, body.as_ref().map(|b| b.len() as u64))
                    .unwrap();
                if let Some(body) = body {
                    self.body_out.extend(body);
                }
            }
        }
    }
}

/// A minimal glob for tests: `*` matches within one component.
pub fn glob_match(mask: &str, name: &str) -> bool {
    fn go(m: &[u8], n: &[u8]) -> bool {
        match (m.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&m[1..], n) || (!n.is_empty() && n[0] != b'/' && go(m, &n[1..])),
            (Some(a), Some(b)) if a == b => go(&m[1..], &n[1..]),
            _ => false,
        }
    }
    go(mask.as_bytes(), name.as_bytes())
}

impl App<ServerSession> for ServerApp {
    fn answer(&mut self, s: &mut ServerSession, event: ServerEvent) {
        self.respond(s, event)
    }

    fn body_out(&mut self, len: u64) -> Vec<u8> {
        self.body_out.drain(..len as usize).collect()
    }

    fn body_in(&mut self, data: &[u8]) {
        if let Some((_, upload)) = &mut self.upload {
            upload.extend(data);
        }
    }
}

/// A client application: uploads `upload` when accepted, records events.
#[derive(Debug, Default, Clone)]
pub struct ClientApp {
    /// Every event, typed.
    pub events: Vec<ClientEvent>,
    pub upload: Vec<u8>,
}

impl App<ClientSession> for ClientApp {
    fn answer(&mut self, s: &mut ClientSession, event: ClientEvent) {
        if event == ClientEvent::UploadAccepted {
            s.send_upload(self.upload.len() as u32).unwrap();
        }
        self.events.push(event);
    }

    fn body_out(&mut self, len: u64) -> Vec<u8> {
        self.upload[..len as usize].to_vec()
    }
}

/// Drives a server session.
pub type ServerDriver = Driver<ServerSession, ServerApp>;
/// Drives a client session, holding the file to upload.
pub type ClientDriver = Driver<ClientSession, ClientApp>;

/// `ServerDriver::new`: a server session over a scripted application.
pub trait NewServerDriver {
    fn new(app: ServerApp, limits: ferry_core::Limits) -> Self;
}

impl NewServerDriver for ServerDriver {
    fn new(app: ServerApp, limits: ferry_core::Limits) -> Self {
        Driver::with(ServerSession::new(limits, Timestamp::from_micros(0)), app)
    }
}

/// `ClientDriver::new`: a client session for one request.
pub trait NewClientDriver {
    fn new(
        request: ferry_core::Request,
        auth: Option<Credentials>,
        upload: Vec<u8>,
        limits: ferry_core::Limits,
    ) -> Self;
}

impl NewClientDriver for ClientDriver {
    fn new(
        request: ferry_core::Request,
        auth: Option<Credentials>,
        upload: Vec<u8>,
        limits: ferry_core::Limits,
    ) -> Self {
        let session = ClientSession::new(limits, Timestamp::from_micros(0), auth, request);
        let app = ClientApp {
            events: Vec::new(),
            upload,
        };
        Driver::with(session, app)
    }
}

/// Feeds a server the client's bytes in the given pieces, then the end of
/// the stream, and returns what it did.
pub fn run_server(app: ServerApp, pieces: &[&[u8]]) -> (Transcript, ServerApp, u64) {
    let mut d = ServerDriver::new(app, Default::default());
    let mut inbox = Vec::new();
    let mut outbox = Vec::new();
    for piece in pieces {
        inbox.extend_from_slice(piece);
        d.pump_all(&mut inbox, &mut outbox);
    }
    d.eof(&mut inbox, &mut outbox);
    let extra = d.session.extra_bytes();
    (d.t, d.app, extra)
}

/// Feeds a client the server's bytes in the given pieces, then the end.
pub fn run_client(
    request: ferry_core::Request,
    auth: Option<Credentials>,
    upload: &[u8],
    pieces: &[&[u8]],
) -> Transcript {
    let mut d = ClientDriver::new(request, auth, upload.to_vec(), Default::default());
    let mut inbox = Vec::new();
    let mut outbox = Vec::new();
    d.pump_all(&mut inbox, &mut outbox);
    for piece in pieces {
        inbox.extend_from_slice(piece);
        d.pump_all(&mut inbox, &mut outbox);
    }
    d.eof(&mut inbox, &mut outbox);
    d.t
}

/// A client and a server connected in memory.
#[derive(Debug)]
pub struct Pair {
    pub client: ClientDriver,
    pub server: ServerDriver,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}

impl Pair {
    fn fingerprint(&self) -> [usize; 8] {
        let side = |t: &Transcript| {
            (
                t.sent.len(),
                t.log.len(),
                t.bodies.iter().map(Vec::len).sum(),
            )
        };
        let (c, s) = (side(&self.client.t), side(&self.server.t));
        [
            self.to_server.len(),
            self.to_client.len(),
            c.0,
            c.1,
            c.2,
            s.0,
            s.1,
            s.2,
        ]
    }

    pub fn new(client: ClientDriver, server: ServerDriver) -> Self {
        Self {
            client,
            server,
            to_server: Vec::new(),
            to_client: Vec::new(),
        }
    }

    /// Runs both sides until neither can move, then delivers the closes.
    pub fn drive(&mut self) {
        for _ in 0..100_000 {
            let before = self.fingerprint();
            self.client.pump(&mut self.to_client, &mut self.to_server);
            self.server.pump(&mut self.to_server, &mut self.to_client);
            if self.server.t.closed
                && !self.client.session.is_finished()
                && self.to_client.is_empty()
            {
                self.client.eof(&mut self.to_client, &mut self.to_server);
            }
            if self.client.t.closed
                && !self.server.session.is_finished()
                && self.to_server.is_empty()
            {
                self.server.eof(&mut self.to_server, &mut self.to_client);
            }
            if self.fingerprint() == before {
                return;
            }
        }
        panic!("pair did not settle");
    }
}
