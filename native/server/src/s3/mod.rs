//! An S3-compatible object store, as the object store (`store/s3.rs`) and
//! `ferry user --store` use it: requests signed by rusty-s3 (no I/O of its
//! own) and sent by ureq. Every call blocks (callers run them on smol's
//! blocking pool) but one: a whole object's GET from a plain-HTTP endpoint
//! ([`S3::get_whole`], `kept.rs`) runs on the caller's thread over
//! connections kept open between GETs.
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

mod error;
mod kept;
mod metrics;
mod read;

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ferry_runtime::stream::Reader;
use rusty_s3::actions::{ListObjectsV2, ListObjectsV2Response};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

pub use error::S3Error;
use error::{busy, detail, failure, transient};
pub use kept::Whole;
pub use metrics::S3Metrics;

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
    /// Whole-object GETs on the connection's own thread (a plain-HTTP
    /// endpoint only).
    kept: Option<std::sync::Arc<kept::Kept>>,
    bucket: Bucket,
    credentials: Credentials,
    /// How long a request may go without progress, its tries included.
    timeout: Duration,
    /// `PREFIX/`, or empty: every key starts with it.
    pub prefix: String,
    /// `s3://BUCKET/PREFIX at ENDPOINT`, for messages.
    pub shown: String,
    /// Its requests, for `/metrics`.
    pub metrics: S3Metrics,
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
    /// The CA (PEM) an `https://` endpoint's certificate is checked
    /// against (`--s3-ca`); otherwise the system's roots.
    pub ca: Option<std::path::PathBuf>,
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
            ca: None,
        })
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
    pub body: Box<dyn Reader>,
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

/// TLS for an `https://` endpoint: rustls on ring, trusting `--s3-ca` or
/// else the system's roots (host name and expiry checked).
fn tls_config(location: &Location) -> anyhow::Result<ureq::tls::TlsConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let ders: Vec<CertificateDer<'static>> = match &location.ca {
        Some(file) => CertificateDer::pem_file_iter(file)
            .and_then(|certs| certs.collect())
            .with_context(|| format!("cannot read --s3-ca {}", file.display()))?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    if location.ca.is_some() && ders.is_empty() {
        bail!("--s3-ca: no certificate in it (PEM)");
    }
    let roots = ders
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(provider)
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
        .build())
}

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
            .tls_config(tls_config(location)?)
            .build()
            .into();
        Ok(S3 {
            agent,
            kept: kept::Kept::for_bucket(&bucket).map(std::sync::Arc::new),
            bucket,
            credentials,
            timeout,
            prefix,
            shown: format!("{} at {}", location.url, location.endpoint),
            metrics: S3Metrics::new()?,
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

    /// One HEAD of the bucket, not tried again (a health probe, every few
    /// seconds: a store in trouble is not sent more requests for it).
    pub fn probe(&self) -> Result<(), String> {
        let url = self
            .bucket
            .head_bucket(Some(&self.credentials))
            .sign(SIGNED_FOR);
        let started = Instant::now();
        let answer = self.agent.head(url.as_str()).call();
        let status = answer.as_ref().ok().map(|r| r.status().as_u16());
        self.metrics.tried("HEAD", status, started.elapsed());
        match answer {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!(
                "{}: the object store answered {}",
                self.shown,
                r.status()
            )),
            Err(e) => Err(format!("cannot reach the object store {}: {e}", self.shown)),
        }
    }

    /// The key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
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
            let started = Instant::now();
            let outcome = attempt();
            let status = outcome.as_ref().ok().map(|r| r.status().as_u16());
            self.metrics.tried(request, status, started.elapsed());
            let failed = match &outcome {
                Ok(response) => busy(response.status().as_u16()),
                Err(e) => transient(e),
            };
            let Some(failed) = failed else {
                return outcome.map_err(S3Error::from);
            };
            let error = match outcome {
                Ok(response) => failure(response),
                Err(e) => e.into(),
            };
            let pause = self.again(request, replayable, tries, deadline, failed, error)?;
            std::thread::sleep(pause);
        }
    }

    /// After try number `tries` of `request` failed in a way worth another
    /// (`why`: `503`, a reset; `error`: what it met), the pause before the
    /// next try, or the error to give up with: the try's own if it was the
    /// only one, else [`S3Error::Tried`].
    fn again(
        &self,
        request: &str,
        replayable: bool,
        tries: u32,
        deadline: Instant,
        why: String,
        error: S3Error,
    ) -> Result<Duration, S3Error> {
        let pause = backoff(tries);
        if !replayable || tries >= TRIES || Instant::now() + pause >= deadline {
            if tries == 1 {
                return Err(error);
            }
            let last = match error {
                S3Error::Status { code, message, .. } => {
                    format!("{why}{}", detail(&code, &message))
                }
                _ => why,
            };
            return Err(S3Error::Tried {
                request: request.to_owned(),
                last,
                tries,
            });
        }
        log::debug!("{request}: {why}; trying again in {pause:?}");
        self.metrics.retried();
        Ok(pause)
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
