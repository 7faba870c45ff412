//! An S3-compatible object store, as the object store (`store/s3.rs`) and
//! `ferry user --store` use it: requests signed by rusty-s3 (no I/O of its
//! own) and sent by ureq. Every call blocks: callers run them on smol's
//! blocking pool.
//!
//! Where: `s3://BUCKET[/PREFIX]`, at `--s3-endpoint` (or `AWS_ENDPOINT_URL`)
//! in `--s3-region` (or `AWS_REGION`, default `us-east-1`), with the
//! credentials of `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Keys are
//! addressed path-style (`ENDPOINT/BUCKET/KEY`), which every S3-compatible
//! store accepts.
//!
//! Under errors it behaves as the S3 SDKs do: a request answered 500, 502,
//! 503 or 504, or whose connection was reset, is tried [`TRIES`] times in
//! all with jittered backoff, within the timeout; a GET cut in the middle
//! of its body goes on from where it stopped (`Range` and `If-Match`);
//! a PUT whose body cannot be sent again is tried once. A store that
//! stalls is cut by the timeout, as a client that stalls is.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rusty_s3::actions::{ListObjectsV2, ListObjectsV2Response};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

/// How long a signed request stays valid: it is sent at once.
const SIGNED_FOR: Duration = Duration::from_secs(300);
/// Keys asked per listing page (S3's own maximum).
const PAGE: usize = 1000;
/// Most keys one listing collects: far past what a LIST can answer.
const MAX_KEYS: usize = 1_000_000;
/// Tries of a request that failed in a way worth trying again, in all.
pub const TRIES: u32 = 3;
/// The first backoff between tries; each next one doubles, all jittered.
const BACKOFF: Duration = Duration::from_millis(100);

/// A bucket, and the prefix everything of one ferry lives under.
#[derive(Debug, Clone)]
pub struct S3 {
    agent: ureq::Agent,
    bucket: Bucket,
    credentials: Credentials,
    /// How long a request may go without progress, its tries included.
    timeout: Duration,
    /// `PREFIX/`, or empty: every key starts with it.
    pub prefix: String,
    /// `s3://BUCKET/PREFIX at ENDPOINT`, for messages.
    pub shown: String,
}

/// Where a store is, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `s3://BUCKET[/PREFIX]`.
    pub url: String,
    /// The endpoint's URL (`http://127.0.0.1:8333`).
    pub endpoint: String,
    /// The region requests are signed for.
    pub region: String,
}

impl Location {
    /// Checks `s3://BUCKET[/PREFIX]` and finds the endpoint and region
    /// (flags first, then `AWS_ENDPOINT_URL` and `AWS_REGION`).
    pub fn new(url: &str, endpoint: Option<&str>, region: Option<&str>) -> anyhow::Result<Self> {
        let Some(rest) = url.strip_prefix("s3://") else {
            bail!("--store {url}: write s3://BUCKET or s3://BUCKET/PREFIX");
        };
        if rest.split('/').next().is_none_or(str::is_empty) {
            bail!("--store {url} has no bucket name: write s3://BUCKET or s3://BUCKET/PREFIX");
        }
        let endpoint = match endpoint {
            Some(e) => e.to_owned(),
            None => std::env::var("AWS_ENDPOINT_URL").map_err(|_| {
                anyhow::anyhow!(
                    "where is the object store? give --s3-endpoint URL (or set AWS_ENDPOINT_URL)"
                )
            })?,
        };
        let region = match region {
            Some(r) => r.to_owned(),
            None => std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        };
        Ok(Location {
            url: url.to_owned(),
            endpoint,
            region,
        })
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The store answered with an error status.
    #[error("the object store answered {status}{}", detail(code, message))]
    Status {
        /// The HTTP status.
        status: u16,
        /// S3's error code (`NoSuchBucket`, `SignatureDoesNotMatch`...).
        code: String,
        /// S3's message.
        message: String,
    },
    /// A condition did not hold: the object changed (or exists already).
    #[error("the object changed meanwhile")]
    Changed,
    /// The store could not be reached, or the connection broke.
    #[error("cannot reach the object store: {0}")]
    Unreachable(String),
    /// A request failed every time it was tried.
    #[error("{request}: {last} after {tries} tries")]
    Tried {
        /// The request, as `GET public/a.txt`.
        request: String,
        /// What the last try met: `503 (SlowDown)`, `connection reset`.
        last: String,
        /// How many times it was tried.
        tries: u32,
    },
}

fn detail(code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" ({code})"),
        (true, false) => format!(" ({message})"),
        (false, false) => format!(" ({code}: {message})"),
    }
}

impl From<ureq::Error> for S3Error {
    fn from(e: ureq::Error) -> Self {
        S3Error::Unreachable(e.to_string())
    }
}

/// An object being read.
pub struct Object {
    /// Bytes the answer carries (all of the object, or the range asked).
    pub len: u64,
    /// The whole object's size.
    pub size: u64,
    /// The version read.
    pub etag: String,
    /// The bytes, as they arrive.
    pub body: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("len", &self.len)
            .field("size", &self.size)
            .field("etag", &self.etag)
            .finish_non_exhaustive()
    }
}

/// Most bytes [`S3::read_small`] reads.
const SMALL_MAX: u64 = 16 << 20;

/// What [`S3::read_small`] found.
#[derive(Debug)]
pub enum Small {
    /// The version known is still there.
    Unchanged,
    /// No such object.
    Missing,
    /// The object, and its version.
    Read {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Its version.
        etag: String,
    },
}

/// When a PUT may replace what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put<'a> {
    /// Always.
    Always,
    /// Only if the object is still the version read (`If-Match`).
    IfStill(&'a str),
    /// Only if there is no such object yet (`If-None-Match: *`).
    IfAbsent,
}

type Response = ureq::http::Response<ureq::Body>;

impl S3 {
    /// Prepares requests to `location`, with the credentials of the
    /// environment, each allowed `timeout` without progress; nothing is
    /// sent yet (see [`S3::check`]).
    pub fn new(location: &Location, timeout: Duration) -> anyhow::Result<Self> {
        let rest = location.url.trim_start_matches("s3://");
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let endpoint = location.endpoint.parse().with_context(|| {
            format!(
                "--s3-endpoint {}: not a URL (write http://HOST:PORT)",
                location.endpoint
            )
        })?;
        let bucket = Bucket::new(
            endpoint,
            UrlStyle::Path,
            name.to_owned(),
            location.region.clone(),
        )
        .with_context(|| format!("cannot address bucket {name} at {}", location.endpoint))?;
        let credentials = Credentials::from_env().context(
            "no credentials for the object store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )?;
        // Per read and per write, never for a whole body: a transfer lasts
        // as long as it moves, and a store that stalls is cut like a client.
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .timeout_per_write(Some(timeout))
            .max_idle_connections_per_host(64)
            // Large reads of large objects: fewer system calls per byte.
            .input_buffer_size(1 << 20)
            .build()
            .into();
        Ok(S3 {
            agent,
            bucket,
            credentials,
            timeout,
            prefix,
            shown: format!("{} at {}", location.url, location.endpoint),
        })
    }

    /// Checks that the bucket exists and the credentials open it, with a
    /// sentence that says what to fix if not.
    pub fn check(&self) -> anyhow::Result<()> {
        let url = self
            .bucket
            .head_bucket(Some(&self.credentials))
            .sign(SIGNED_FOR);
        let response = self
            .send("HEAD of the bucket", true, || {
                self.agent.head(url.as_str()).call()
            })
            .map_err(|e| anyhow::anyhow!("cannot reach the object store {}: {e}", self.shown))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            404 => bail!(
                "{}: no such bucket; create it first (or fix the name)",
                self.shown
            ),
            401 | 403 => bail!(
                "{}: access denied; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                self.shown
            ),
            status => bail!("{}: the object store answered {status}", self.shown),
        }
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Reads an object (from `from` on, if given), only if it is still the
    /// version `if_match`. `Ok(None)`: no such object.
    pub fn get(
        &self,
        key: &str,
        from: Option<u64>,
        if_match: Option<&str>,
    ) -> Result<Option<Object>, S3Error> {
        self.get_range(key, from.map(|from| (from, None)), if_match)
    }

    /// [`S3::get`] of the bytes `from..=to` (`to` clipped to the end),
    /// whose body goes on from where it broke if its connection does.
    pub fn get_range(
        &self,
        key: &str,
        range: Option<(u64, Option<u64>)>,
        if_match: Option<&str>,
    ) -> Result<Option<Object>, S3Error> {
        let Some(object) = self.fetch_range(key, range, if_match)? else {
            return Ok(None);
        };
        let start = range.map_or(0, |(from, _)| from);
        let body = Continuing {
            s3: self.clone(),
            key: key.to_owned(),
            etag: object.etag.clone(),
            next: start,
            end: start + object.len,
            tries: 1,
            body: object.body,
        };
        Ok(Some(Object {
            body: Box::new(body),
            ..object
        }))
    }

    /// One GET of a range, as [`S3::get_range`] asks it.
    fn fetch_range(
        &self,
        key: &str,
        range: Option<(u64, Option<u64>)>,
        if_match: Option<&str>,
    ) -> Result<Option<Object>, S3Error> {
        let from = range.map(|(from, _)| from);
        let asked = range.map(|(from, to)| match to {
            Some(to) => format!("bytes={from}-{to}"),
            None => format!("bytes={from}-"),
        });
        let mut action = self.bucket.get_object(Some(&self.credentials), key);
        if let Some(asked) = &asked {
            action.headers_mut().insert("range", asked.clone());
        }
        if let Some(etag) = if_match {
            action.headers_mut().insert("if-match", etag.to_owned());
        }
        let url = action.sign(SIGNED_FOR);
        let response = self.send(&format!("GET {}", self.shown_key(key)), true, || {
            let mut request = self.agent.get(url.as_str());
            if let Some(asked) = &asked {
                request = request.header("range", asked);
            }
            if let Some(etag) = if_match {
                request = request.header("if-match", etag);
            }
            request.call()
        })?;
        let status = response.status().as_u16();
        match status {
            200 | 206 => {}
            404 => return Ok(None),
            412 => return Err(S3Error::Changed),
            // Asked from the end of an object: nothing left.
            416 => {
                return Ok(Some(Object {
                    len: 0,
                    size: from.unwrap_or(0),
                    etag: if_match.unwrap_or_default().to_owned(),
                    body: Box::new(std::io::empty()),
                }));
            }
            _ => return Err(failure(response)),
        }
        let len = header_u64(&response, "content-length")
            .ok_or_else(|| S3Error::Unreachable("an answer without Content-Length".into()))?;
        // bytes FROM-TO/SIZE, for a range: exactly the range asked, or the
        // bytes would land at the wrong place.
        let range = header(&response, "content-range");
        let size = match (from, status, range.as_deref().and_then(content_range)) {
            (None, 200, _) => len,
            (Some(from), 206, Some((start, end, size)))
                if start == from && end + 1 - start == len =>
            {
                size
            }
            (Some(0), 200, _) => len,
            _ => {
                return Err(S3Error::Unreachable(format!(
                    "the store did not answer the range asked ({status}, {})",
                    range.unwrap_or_default()
                )));
            }
        };
        let etag = header(&response, "etag").unwrap_or_default();
        Ok(Some(Object {
            len,
            size,
            etag,
            body: Box::new(response.into_body().into_reader()),
        }))
    }

    /// An object's size and version, if it exists.
    pub fn head(&self, key: &str) -> Result<Option<(u64, String)>, S3Error> {
        let url = self
            .bucket
            .head_object(Some(&self.credentials), key)
            .sign(SIGNED_FOR);
        let request = format!("HEAD {}", self.shown_key(key));
        let response = self.send(&request, true, || self.agent.head(url.as_str()).call())?;
        match response.status().as_u16() {
            200..=299 => match (
                header_u64(&response, "content-length"),
                header(&response, "etag").filter(|e| !e.is_empty()),
            ) {
                (Some(size), Some(etag)) => Ok(Some((size, etag))),
                _ => Err(S3Error::Unreachable(
                    "the store gives no size or no ETag for the object".into(),
                )),
            },
            404 => Ok(None),
            _ => Err(failure(response)),
        }
    }

    /// A small object (a users file) read whole, unless it is still the
    /// version `known`.
    pub fn read_small(&self, key: &str, known: Option<&str>) -> Result<Small, S3Error> {
        let mut action = self.bucket.get_object(Some(&self.credentials), key);
        if let Some(etag) = known {
            action
                .headers_mut()
                .insert("if-none-match", etag.to_owned());
        }
        let url = action.sign(SIGNED_FOR);
        let response = self.send(&format!("GET {}", self.shown_key(key)), true, || {
            let mut request = self.agent.get(url.as_str());
            if let Some(etag) = known {
                request = request.header("if-none-match", etag);
            }
            request.call()
        })?;
        match response.status().as_u16() {
            200 => {
                let etag = header(&response, "etag").unwrap_or_default();
                let mut bytes = Vec::new();
                response
                    .into_body()
                    .into_reader()
                    .take(SMALL_MAX + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| S3Error::Unreachable(e.to_string()))?;
                if bytes.len() as u64 > SMALL_MAX {
                    return Err(S3Error::Unreachable(format!(
                        "{key} is larger than {SMALL_MAX} bytes"
                    )));
                }
                Ok(Small::Read { bytes, etag })
            }
            304 => Ok(Small::Unchanged),
            404 => Ok(Small::Missing),
            _ => Err(failure(response)),
        }
    }

    /// Every key under `prefix` with its size (all pages).
    pub fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, S3Error> {
        let mut keys = Vec::new();
        self.pages(prefix, None, PAGE, |page| {
            keys.extend(
                page.contents
                    .into_iter()
                    .map(|c| (c.key, c.size.unwrap_or(0))),
            );
            if keys.len() > MAX_KEYS {
                return Err(S3Error::Unreachable(format!(
                    "more than {MAX_KEYS} keys under {prefix}: too many to list"
                )));
            }
            Ok(true)
        })?;
        Ok(keys)
    }

    /// The names directly under `prefix` (empty, or ending in `/`): its
    /// objects, and the folders its longer keys make (without the `/`).
    pub fn children(&self, prefix: &str) -> Result<Vec<String>, S3Error> {
        let mut names = Vec::new();
        self.pages(prefix, Some("/"), PAGE, |page| {
            let keys = page.contents.into_iter().map(|c| c.key);
            let folders = page.common_prefixes.into_iter().map(|p| p.prefix);
            for key in keys.chain(folders) {
                let name = key.strip_prefix(prefix).unwrap_or(&key);
                names.push(name.strip_suffix('/').unwrap_or(name).to_owned());
            }
            if names.len() > MAX_KEYS {
                return Err(S3Error::Unreachable(format!(
                    "more than {MAX_KEYS} names under {prefix}: too many to list"
                )));
            }
            Ok(true)
        })?;
        Ok(names)
    }

    /// Whether any key starts with `prefix`.
    pub fn any_under(&self, prefix: &str) -> Result<bool, S3Error> {
        let mut any = false;
        self.pages(prefix, None, 1, |page| {
            any = !page.contents.is_empty();
            Ok(false)
        })?;
        Ok(any)
    }

    /// Lists `prefix` page by page (`max` keys each, grouped at
    /// `delimiter`), giving each page to `visit` until it says stop.
    fn pages(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        max: usize,
        mut visit: impl FnMut(ListObjectsV2Response) -> Result<bool, S3Error>,
    ) -> Result<(), S3Error> {
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
            action.with_prefix(prefix);
            action.with_max_keys(max);
            if let Some(delimiter) = delimiter {
                action.with_delimiter(delimiter);
            }
            if let Some(token) = &token {
                action.with_continuation_token(token.clone());
            }
            let url = action.sign(SIGNED_FOR);
            let request = format!("LIST {}", self.shown_key(prefix));
            let response = self.send(&request, true, || self.agent.get(url.as_str()).call())?;
            if response.status().as_u16() != 200 {
                return Err(failure(response));
            }
            let text = response.into_body().read_to_string()?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| S3Error::Unreachable(format!("a listing that cannot be read: {e}")))?;
            let next = page.next_continuation_token.clone();
            if !visit(page)? {
                return Ok(());
            }
            match next {
                Some(next) if Some(&next) != token.as_ref() => token = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// Writes an object of `len` bytes read from `body` as they come, in
    /// one request: visible only when whole. Returns its new version. Tried
    /// once: the bytes read cannot be read again.
    pub fn put(
        &self,
        key: &str,
        len: u64,
        body: impl Read + Send + 'static,
        when: Put<'_>,
    ) -> Result<String, S3Error> {
        let mut body = Some(body);
        self.put_with(key, len, when, false, || {
            let body = body.take()?;
            Some(ureq::SendBody::from_owned_reader(body.take(len)))
        })
    }

    /// [`S3::put`] of bytes held in memory, tried again like any other
    /// request. After a reset the object may have been written by a try
    /// whose answer was lost: a conditional PUT then reports
    /// [`S3Error::Changed`], and the caller reads the object to know.
    pub fn put_bytes(&self, key: &str, bytes: Vec<u8>, when: Put<'_>) -> Result<String, S3Error> {
        let len = bytes.len() as u64;
        self.put_with(key, len, when, true, || {
            let body = std::io::Cursor::new(bytes.clone());
            Some(ureq::SendBody::from_owned_reader(body))
        })
    }

    /// A PUT of `len` bytes from `body` (a fresh body for each try).
    fn put_with(
        &self,
        key: &str,
        len: u64,
        when: Put<'_>,
        replayable: bool,
        mut body: impl FnMut() -> Option<ureq::SendBody<'static>>,
    ) -> Result<String, S3Error> {
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        match when {
            Put::Always => {}
            Put::IfStill(etag) => action.headers_mut().insert("if-match", etag.to_owned()),
            Put::IfAbsent => action.headers_mut().insert("if-none-match", "*"),
        }
        let url = action.sign(SIGNED_FOR);
        let request = format!("PUT {}", self.shown_key(key));
        let response = self.send(&request, replayable, || {
            let mut request = self
                .agent
                .put(url.as_str())
                .header("content-length", len.to_string());
            match when {
                Put::Always => {}
                Put::IfStill(etag) => request = request.header("if-match", etag),
                Put::IfAbsent => request = request.header("if-none-match", "*"),
            }
            let body =
                body().ok_or_else(|| ureq::Error::Other("the body was sent already".into()))?;
            request.send(body)
        })?;
        match response.status().as_u16() {
            200..=299 => Ok(header(&response, "etag").unwrap_or_default()),
            409 | 412 if when != Put::Always => Err(S3Error::Changed),
            _ => Err(failure(response)),
        }
    }

    /// `key` without the prefix every key has, for messages.
    fn shown_key<'k>(&self, key: &'k str) -> &'k str {
        key.strip_prefix(&self.prefix).unwrap_or(key)
    }

    /// Sends a request (`attempt` makes one try), again while it fails in
    /// a way worth another try (500, 502, 503, 504, a reset or refused
    /// connection) if it is `replayable`: at most [`TRIES`] in all, with
    /// jittered exponential backoff, all within the timeout. A request
    /// that failed every try is [`S3Error::Tried`], named by `request`.
    fn send(
        &self,
        request: &str,
        replayable: bool,
        mut attempt: impl FnMut() -> Result<Response, ureq::Error>,
    ) -> Result<Response, S3Error> {
        let deadline = Instant::now() + self.timeout;
        let mut tries = 0;
        loop {
            tries += 1;
            let outcome = attempt();
            let failed = match &outcome {
                Ok(response) => match response.status().as_u16() {
                    status @ (500 | 502 | 503 | 504) => Some(status.to_string()),
                    _ => None,
                },
                Err(e) => transient(e),
            };
            let Some(failed) = failed else {
                return outcome.map_err(S3Error::from);
            };
            let pause = backoff(tries);
            if !replayable || tries >= TRIES || Instant::now() + pause >= deadline {
                if tries == 1 {
                    return match outcome {
                        Ok(response) => Err(failure(response)),
                        Err(e) => Err(e.into()),
                    };
                }
                let last = match outcome {
                    Ok(response) => match failure(response) {
                        S3Error::Status { code, message, .. } => {
                            format!("{failed}{}", detail(&code, &message))
                        }
                        other => other.to_string(),
                    },
                    Err(_) => failed,
                };
                return Err(S3Error::Tried {
                    request: request.to_owned(),
                    last,
                    tries,
                });
            }
            log::debug!("{request}: {failed}; trying again in {pause:?}");
            std::thread::sleep(pause);
        }
    }
}

/// An object's body as it arrives; if the connection breaks or ends early,
/// the rest is asked again (`Range` from the next byte, `If-Match` on the
/// version being read) instead of starting over, up to [`TRIES`] in all.
struct Continuing {
    s3: S3,
    key: String,
    /// The version being read: a rest of another version is refused.
    etag: String,
    /// The object offset of the next byte, and the end of the bytes asked.
    next: u64,
    end: u64,
    /// Requests made for these bytes so far.
    tries: u32,
    body: Box<dyn Read + Send>,
}

impl Read for Continuing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.next >= self.end || buf.is_empty() {
                return Ok(0);
            }
            let want = buf
                .len()
                .min((self.end - self.next).min(usize::MAX as u64) as usize);
            let failure = match self.body.read(&mut buf[..want]) {
                Ok(0) => std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the object store ended the body early",
                ),
                Ok(n) => {
                    self.next += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => e,
            };
            if self.tries >= TRIES || self.etag.is_empty() {
                return Err(failure);
            }
            self.tries += 1;
            log::debug!(
                "GET {}: {failure} at byte {}; asking for the rest",
                self.s3.shown_key(&self.key),
                self.next
            );
            let rest = self
                .s3
                .fetch_range(
                    &self.key,
                    Some((self.next, Some(self.end - 1))),
                    Some(&self.etag),
                )
                .map_err(|e| std::io::Error::other(format!("{failure}, and the rest: {e}")))?;
            match rest {
                Some(object) if object.len == self.end - self.next => self.body = object.body,
                _ => {
                    return Err(std::io::Error::other(format!(
                        "{failure}, and the rest is gone"
                    )));
                }
            }
        }
    }
}

/// Whether a request's failure is worth another try, and in words.
fn transient(e: &ureq::Error) -> Option<String> {
    use std::io::ErrorKind as K;
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            K::ConnectionReset
                | K::ConnectionAborted
                | K::ConnectionRefused
                | K::BrokenPipe
                | K::UnexpectedEof
        )
        .then(|| io.to_string()),
        ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) => Some(e.to_string()),
        _ => None,
    }
}

/// The pause before try `tries + 1`: a random part of a window that
/// doubles with each try ("full jitter"), so clients that failed together
/// do not come back together.
fn backoff(tries: u32) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let window = BACKOFF * 2u32.pow(tries.saturating_sub(1).min(10));
    let random = RandomState::new().hash_one(Instant::now());
    window.mul_f64((random % 1000) as f64 / 1000.0)
}

/// `bytes START-END/SIZE`.
fn content_range(value: &str) -> Option<(u64, u64, u64)> {
    let (range, size) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, size) = (start.parse().ok()?, end.parse().ok()?, size.parse().ok()?);
    (start <= end && end < size).then_some((start, end, size))
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn header_u64(response: &Response, name: &str) -> Option<u64> {
    header(response, name).and_then(|v| v.trim().parse().ok())
}

/// An error answer, with S3's code and message when its body has them.
fn failure(response: Response) -> S3Error {
    let status = response.status().as_u16();
    let mut body = String::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(64 * 1024)
        .read_to_string(&mut body);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        body.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
            .map(|(text, _)| text.to_owned())
            .unwrap_or_default()
    };
    S3Error::Status {
        status,
        code: tag("Code"),
        message: tag("Message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_needs_a_bucket_and_an_endpoint() {
        let at = Location::new("s3://files/ferry", Some("http://127.0.0.1:9"), Some("r1")).unwrap();
        assert_eq!(at.region, "r1");
        for bad in ["files", "s3://", "s3:///x", "http://files"] {
            assert!(Location::new(bad, Some("http://h"), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_say_what_the_store_said() {
        let e = S3Error::Status {
            status: 403,
            code: "SignatureDoesNotMatch".into(),
            message: String::new(),
        };
        assert_eq!(
            e.to_string(),
            "the object store answered 403 (SignatureDoesNotMatch)"
        );
    }
}
