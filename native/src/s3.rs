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

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, bail};
use rusty_s3::actions::{ListObjectsV2, ListObjectsV2Response};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

/// How long a signed request stays valid: it is sent at once.
const SIGNED_FOR: Duration = Duration::from_secs(300);
/// Keys asked per listing page (S3's own maximum).
const PAGE: usize = 1000;
/// Most keys one listing collects: far past what a LIST can answer.
const MAX_KEYS: usize = 1_000_000;

/// A bucket, and the prefix everything of one ferry lives under.
#[derive(Debug)]
pub struct S3 {
    agent: ureq::Agent,
    bucket: Bucket,
    credentials: Credentials,
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
    /// environment; nothing is sent yet (see [`S3::check`]).
    pub fn new(location: &Location) -> anyhow::Result<Self> {
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
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(30)))
            // Per write, never for a whole body: an upload's PUT lasts as long
            // as its client takes to send (the front cuts a stalled one).
            .timeout_per_write(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(64)
            // Large reads of large objects: fewer system calls per byte.
            .input_buffer_size(1 << 20)
            .build()
            .into();
        Ok(S3 {
            agent,
            bucket,
            credentials,
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
        let response =
            self.agent.head(url.as_str()).call().map_err(|e| {
                anyhow::anyhow!("cannot reach the object store {}: {e}", self.shown)
            })?;
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

    /// [`S3::get`] of the bytes `from..=to` (`to` clipped to the end).
    pub fn get_range(
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
        let mut request = self.agent.get(url.as_str());
        if let Some(asked) = &asked {
            request = request.header("range", asked);
        }
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        let response = request.call()?;
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
        let response = self.agent.head(url.as_str()).call()?;
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
        let mut request = self.agent.get(url.as_str());
        if let Some(etag) = known {
            request = request.header("if-none-match", etag);
        }
        let response = request.call()?;
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
            let response = self.agent.get(url.as_str()).call()?;
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
    /// one request: visible only when whole. Returns its new version.
    pub fn put(
        &self,
        key: &str,
        len: u64,
        body: impl Read + Send + 'static,
        when: Put<'_>,
    ) -> Result<String, S3Error> {
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        match when {
            Put::Always => {}
            Put::IfStill(etag) => action.headers_mut().insert("if-match", etag.to_owned()),
            Put::IfAbsent => action.headers_mut().insert("if-none-match", "*"),
        }
        let url = action.sign(SIGNED_FOR);
        let mut request = self
            .agent
            .put(url.as_str())
            .header("content-length", len.to_string());
        match when {
            Put::Always => {}
            Put::IfStill(etag) => request = request.header("if-match", etag),
            Put::IfAbsent => request = request.header("if-none-match", "*"),
        }
        let response = request.send(ureq::SendBody::from_owned_reader(body.take(len)))?;
        match response.status().as_u16() {
            200..=299 => Ok(header(&response, "etag").unwrap_or_default()),
            409 | 412 if when != Put::Always => Err(S3Error::Changed),
            _ => Err(failure(response)),
        }
    }
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
