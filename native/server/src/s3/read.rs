//! Reading objects: whole, from an offset, a range, a HEAD, or a small
//! object into memory; a body cut in the middle goes on from where it
//! stopped.

use std::io::Read;
use std::os::fd::BorrowedFd;

use ferry_runtime::stream::{Reader, Reading};
use rusty_s3::S3Action;

use super::error::failure;
use super::{Object, S3, S3Error, SIGNED_FOR, SMALL_MAX, Small, TRIES, Whole, header, header_u64};

impl S3 {
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
        Ok(Some(self.continuing(key, start, object)))
    }

    /// `object` (read from byte `start` of `key`), whose body goes on
    /// from where it broke if its connection does.
    pub(super) fn continuing(&self, key: &str, start: u64, object: Object) -> Object {
        let body = Continuing {
            s3: self.clone(),
            key: key.to_owned(),
            etag: object.etag.clone(),
            next: start,
            end: start + object.len,
            tries: 1,
            body: object.body,
        };
        Object {
            body: Box::new(body),
            ..object
        }
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
                    body: Box::new(Reading(std::io::empty())),
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
            body: Box::new(Reading(response.into_body().into_reader())),
        }))
    }

    /// [`S3::get_whole`] through the agent (blocking): a small object is
    /// read whole on the same trip to the blocking pool.
    pub(super) fn read_whole(&self, key: &str, inline_max: u64) -> Result<Option<Whole>, S3Error> {
        let Some(mut object) = self.get(key, None, None)? else {
            return Ok(None);
        };
        if object.len > inline_max {
            return Ok(Some(Whole::Streaming(object)));
        }
        let mut bytes = Vec::with_capacity(object.len as usize);
        let read = object.body.read_to_end(&mut bytes);
        let unread = |why: String| {
            let shown = self.shown_key(key);
            S3Error::Unreachable(format!(
                "{shown}: {} of {} bytes: {why}",
                bytes.len(),
                object.len
            ))
        };
        read.map_err(|e| unread(e.to_string()))?;
        if bytes.len() as u64 != object.len {
            return Err(unread("the rest never came".into()));
        }
        Ok(Some(Whole::Bytes(bytes)))
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
    body: Box<dyn Reader>,
}

impl Read for Continuing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if buf.is_empty() {
                return Ok(0);
            }
            if self.next >= self.end {
                return Ok(0);
            }
            let want = buf
                .len()
                .min((self.end - self.next).min(usize::MAX as u64) as usize);
            let failure = match self.body.read(&mut buf[..want]) {
                Ok(n) if n > 0 => {
                    self.next += n as u64;
                    if self.next >= self.end {
                        // One more read sees the answer's end: only then
                        // does the agent keep its connection for the next
                        // request, instead of closing it (a new connection
                        // per object), even if nothing reads past the end.
                        let _ = self.body.read(&mut [0; 1]);
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                moved => cut(moved),
            };
            self.go_on(failure)?;
        }
    }
}

impl Reader for Continuing {
    fn splices(&self) -> bool {
        self.body.splices()
    }

    fn splice_into(&mut self, pipe: BorrowedFd<'_>, max: usize) -> Option<std::io::Result<usize>> {
        loop {
            if self.next >= self.end {
                // The end is read, not spliced (see `read`).
                return None;
            }
            let want = max.min((self.end - self.next).min(usize::MAX as u64) as usize);
            let failure = match self.body.splice_into(pipe, want)? {
                Ok(n) if n > 0 => {
                    self.next += n as u64;
                    return Some(Ok(n));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                moved => cut(moved),
            };
            if let Err(e) = self.go_on(failure) {
                return Some(Err(e));
            }
        }
    }
}

/// What a read or splice that moved nothing met: the body ending early,
/// or its error.
fn cut(moved: std::io::Result<usize>) -> std::io::Error {
    match moved {
        Ok(_) => std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the object store ended the body early",
        ),
        Err(e) => e,
    }
}

impl Continuing {
    /// After the body broke (`failure`), asks for the rest of the same
    /// version and reads on from that; the failure if it cannot.
    fn go_on(&mut self, failure: std::io::Error) -> std::io::Result<()> {
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
            Some(object) if object.len == self.end - self.next => {
                self.body = object.body;
                Ok(())
            }
            _ => Err(std::io::Error::other(format!(
                "{failure}, and the rest is gone"
            ))),
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
