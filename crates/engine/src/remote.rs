//! Files read from an http(s) origin instead of the disk or memory
//! (docs/remote-sources.md): a CDN, another DAM, a PIM.
//!
//! An origin that answers `Accept-Ranges: bytes` is read part by part: each
//! part's PUT body is a ranged GET made when blob storage starts reading it,
//! streamed straight through, so a retried PUT fetches its range again and
//! nothing is held beyond the chunks in flight. `If-Range` (with the strong
//! `ETag` or `Last-Modified` the first answer gave) makes a file that changed
//! half way answer in full instead, which fails the file; so does a 206 with
//! another `ETag`. Other origins are read with one GET, in order, through a
//! [`StreamSource`], restarted (skipping what was already sent) when the
//! connection drops.
//!
//! Origin requests carry the file's own `sourceHeaders` and nothing else:
//! never AEM's credentials or cookies. Their errors name the origin URL with
//! its query redacted.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED,
    RANGE,
};
use reqwest::{Method, StatusCode, Url};
use tokio_util::sync::CancellationToken;

use crate::http::{self, Activity, Client, ClientOptions, Failure, Request, RetryOn, RetryPolicy};
use crate::redact::redact_url;
use crate::source::{size_mismatch, SourceFault};
use crate::stream::{StreamFeed, StreamSource};
use crate::{Error, ErrorCode, Result};

/// Redirects followed from an origin, as curl's and browsers' limits go.
const MAX_REDIRECTS: usize = 10;

/// Body frames handed to the PUT, as for files (small enough that the idle
/// timeout sees bytes drain into the socket).
const FRAME: usize = 64 * 1024;

/// The client origin requests of a call go through: pooled, separate from
/// AEM's (it follows redirects; AEM's does not), with the same proxy and TLS
/// settings.
pub struct Origin {
    client: Client,
}

impl Origin {
    pub fn new(options: &ClientOptions) -> Result<Arc<Origin>> {
        let options = ClientOptions { max_redirects: MAX_REDIRECTS, ..options.clone() };
        Ok(Arc::new(Origin { client: Client::new(&options)? }))
    }
}

/// A file's origin: its URL and the headers that go to it alone.
#[derive(Clone)]
pub struct RemoteSource {
    url: Url,
    headers: HeaderMap,
    origin: Arc<Origin>,
}

impl fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values (an origin's own credentials) and the query (a signature) stay out.
        f.debug_struct("RemoteSource").field("url", &redact_url(self.url.as_str())).finish()
    }
}

/// What an origin says about a file before it is read.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// Its length, when the origin gives one.
    pub length: Option<u64>,
    /// Whether it serves byte ranges.
    pub ranges: bool,
    /// The strong `ETag` (or else `Last-Modified`) sent back in `If-Range`.
    validator: Option<HeaderValue>,
    etag: Option<HeaderValue>,
}

impl RemoteSource {
    /// An absolute http(s) `url`; `headers` go to the origin only.
    pub fn new(origin: Arc<Origin>, url: &str, headers: &[(String, String)]) -> Result<RemoteSource> {
        let parsed = Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        let Some(url) = parsed else {
            return Err(Error::new(
                ErrorCode::InvalidOptions,
                format!("sourceUrl must be an absolute http(s) URL, got '{}'", redact_url(url)),
            ));
        };
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                (Ok(name), Ok(mut value)) => {
                    value.set_sensitive(true);
                    map.insert(name, value);
                }
                _ => {
                    return Err(Error::new(
                        ErrorCode::InvalidOptions,
                        format!("sourceHeaders has an invalid header '{name}'"),
                    ))
                }
            }
        }
        Ok(RemoteSource { url, headers: map, origin })
    }

    /// The URL as messages show it (no query, no user info).
    pub fn shown(&self) -> String {
        redact_url(self.url.as_str())
    }

    fn request(&self, method: Method, extra: HeaderMap) -> Request<'_> {
        let mut headers = self.headers.clone();
        headers.extend(extra);
        Request {
            method,
            url: &self.url,
            headers,
            body: Box::new(|_| Ok(reqwest::Body::from(Bytes::new()))),
            cookies: None,
            limit: None,
        }
    }

    /// Asks the origin for the file's length, range support and validator:
    /// `HEAD`, else (an origin that refuses it, or gives no length, like a
    /// presigned URL signed for GET only) the head of a `GET` for byte 0.
    pub async fn probe(&self, policy: &RetryPolicy, cancel: &CancellationToken) -> Result<Probe> {
        let head = self.request(Method::HEAD, HeaderMap::new());
        match self.origin.client.open(&head, policy, cancel, &mut |_| {}).await {
            Ok(answer) if content_length(answer.headers()).is_some() => return Ok(probe_of(&answer, None)),
            Ok(_) => {}
            Err(failure) if failure.status.is_some_and(|s| s.is_client_error() && s != StatusCode::NOT_FOUND) => {}
            Err(failure) => return Err(self.failed(failure)),
        }
        let mut range = HeaderMap::new();
        range.insert(RANGE, HeaderValue::from_static("bytes=0-0"));
        let get = self.request(Method::GET, range);
        let answer = self.origin.client.open(&get, policy, cancel, &mut |_| {}).await.map_err(|f| self.failed(f))?;
        // A 206 gives the length in Content-Range; a 200 (no ranges) in Content-Length.
        let total = if answer.status() == StatusCode::PARTIAL_CONTENT {
            content_range(answer.headers()).map(|(_, _, total)| total)
        } else {
            None
        };
        Ok(probe_of(&answer, total))
        // Dropping the answer closes its connection: nothing more is read.
    }

    /// An origin failure as the file's error: the status mapped as for AEM,
    /// and which URL answered.
    fn failed(&self, failure: Failure) -> Error {
        match failure.status {
            Some(_) => Error::new(
                failure.error.code(),
                format!("{} from the origin {}", failure.error.message(), self.shown()),
            ),
            // Transport errors already name the (redacted) URL.
            None => failure.error,
        }
    }

    /// Opens the file for reading: ranged reads when the origin serves them,
    /// else one ordered stream fed by a task that stops when `cancel` fires
    /// or the reader goes away. The origin's length must be `declared`.
    pub async fn open(
        &self,
        name: &str,
        declared: u64,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
    ) -> Result<RemoteOpen> {
        // The call's retry count, delay and idle timeout; origins are never
        // retried on a 4xx, whatever AEM's eventual consistency asks for.
        let policy = &RetryPolicy {
            retry_on: RetryOn::Transient,
            final_status: None,
            cancel_grace: Duration::ZERO,
            ..policy.clone()
        };
        let probe = self.probe(policy, cancel).await?;
        if let Some(length) = probe.length {
            if length != declared {
                let error = size_mismatch(name, declared, length);
                return Err(Error::new(error.code(), format!("{} ({})", error.message(), self.shown())));
            }
        }
        if probe.ranges && probe.length.is_some() {
            // One attempt per range: a retry is the PUT's, which fetches the range again.
            let once = RetryPolicy { attempts: 1, ..policy.clone() };
            return Ok(RemoteOpen::Ranges(Ranged(Arc::new(RangedFile { source: self.clone(), probe, once }))));
        }
        let (stream, feed) = StreamSource::new();
        let (source, policy, cancel) = (self.clone(), policy.clone(), cancel.clone());
        tokio::spawn(async move { source.feed(feed, probe, policy, cancel).await });
        Ok(RemoteOpen::Stream(stream))
    }

    /// Pushes the whole file, in order, into `feed`; a dropped connection is
    /// retried as the policy says, skipping the bytes already pushed.
    async fn feed(self, feed: StreamFeed, probe: Probe, policy: RetryPolicy, cancel: CancellationToken) {
        let pushed = AtomicU64::new(0);
        let once = RetryPolicy { attempts: 1, ..policy.clone() };
        let outcome = http::retry(&policy, &cancel, &mut |_| {}, || async {
            let get = self.request(Method::GET, HeaderMap::new());
            let response = self.origin.client.open(&get, &once, &cancel, &mut |_| {}).await.map_err(|f| Failure {
                status: f.status,
                retry_after: f.retry_after,
                error: self.failed(f),
            })?;
            if probe.etag.is_some() && response.headers().get(ETAG) != probe.etag.as_ref() {
                return Err(changed(&self));
            }
            let mut response = response;
            let mut skip = pushed.load(Ordering::Acquire);
            loop {
                let chunk = match next_chunk(&mut response, policy.idle_timeout, &self).await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => return Ok(()),
                    Err(error) => return Err(Failure { error, status: None, retry_after: None }),
                };
                let mut chunk = chunk;
                if skip > 0 {
                    let drop = skip.min(chunk.len() as u64);
                    let _ = chunk.split_to(drop as usize);
                    skip -= drop;
                }
                if chunk.is_empty() {
                    continue;
                }
                let len = chunk.len() as u64;
                if !feed.push(chunk).await {
                    return Ok(()); // The reader is done with this file.
                }
                pushed.fetch_add(len, Ordering::AcqRel);
            }
        })
        .await;
        if let Err(failure) = outcome {
            feed.fail(failure.error).await;
        }
    }
}

fn changed(source: &RemoteSource) -> Failure {
    let error = Error::new(
        ErrorCode::InvalidOptions,
        format!("The source changed while it was read: {} answered with another version", source.shown()),
    );
    // Not retried: a status marks it final.
    Failure { error, status: Some(StatusCode::PRECONDITION_FAILED), retry_after: None }
}

/// The next chunk of an origin's body, failing when none comes for `idle`.
async fn next_chunk(
    response: &mut reqwest::Response,
    idle: Option<Duration>,
    source: &RemoteSource,
) -> Result<Option<Bytes>> {
    let chunk = response.chunk();
    let chunk = match idle {
        Some(idle) => tokio::time::timeout(idle, chunk).await.map_err(|_| {
            Error::new(
                ErrorCode::TimedOut,
                format!("No data from the origin {} for {} ms", source.shown(), idle.as_millis()),
            )
        })?,
        None => chunk.await,
    };
    chunk.map_err(|e| {
        Error::new(
            ErrorCode::System("ECONNRESET"),
            format!("The origin {} stopped sending: {}", source.shown(), crate::redact::redact(&e.to_string())),
        )
    })
}

fn probe_of(answer: &reqwest::Response, total: Option<u64>) -> Probe {
    let headers = answer.headers();
    let etag = headers.get(ETAG).cloned();
    let strong = etag.clone().filter(|e| !e.as_bytes().starts_with(b"W/"));
    Probe {
        length: total.or_else(|| content_length(headers)),
        ranges: total.is_some()
            || headers
                .get(ACCEPT_RANGES)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("bytes")),
        validator: strong.or_else(|| headers.get(LAST_MODIFIED).cloned()),
        etag,
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// `Content-Range: bytes <first>-<last>/<total>`.
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?.trim();
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((first.trim().parse().ok()?, last.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// An opened origin file.
#[derive(Clone)]
pub enum RemoteOpen {
    /// Read by ranges, parts in parallel.
    Ranges(Ranged),
    /// Read once, in order.
    Stream(StreamSource),
}

/// A file read by ranges (shared by its parts' bodies).
#[derive(Clone)]
pub struct Ranged(Arc<RangedFile>);

struct RangedFile {
    source: RemoteSource,
    probe: Probe,
    once: RetryPolicy,
}

impl Ranged {
    /// The body of bytes `[start, end)`: a ranged GET made when blob storage
    /// first asks for the body, streamed through. A failure that a new
    /// attempt may cure (the origin's 5xx or 429, a dropped connection, a
    /// stall) is noted in `fault` as passing; one that it cannot (4xx, a
    /// changed file) as final.
    pub fn body(&self, start: u64, end: u64, activity: &Activity, fault: &SourceFault) -> reqwest::Body {
        enum State {
            Start,
            Reading(Box<reqwest::Response>, u64),
            Done,
        }
        let (this, activity, fault) = (self.clone(), activity.clone(), fault.clone());
        let frames = stream::unfold((State::Start, Bytes::new()), move |(state, mut pending)| {
            let (this, activity, fault) = (this.clone(), activity.clone(), fault.clone());
            async move {
                if !pending.is_empty() {
                    let frame = pending.split_to(pending.len().min(FRAME));
                    activity.touch();
                    return Some((Ok(frame), (state, pending)));
                }
                let (mut response, got) = match state {
                    State::Done => return None,
                    State::Reading(response, got) => (response, got),
                    State::Start => match this.get_range(start, end).await {
                        Ok(response) => (Box::new(response), 0),
                        Err((error, final_)) => {
                            let error = if final_ { fault.set(error) } else { fault.set_passing(error) };
                            return Some((Err(error), (State::Done, Bytes::new())));
                        }
                    },
                };
                match next_chunk(&mut response, this.0.once.idle_timeout, &this.0.source).await {
                    Ok(Some(chunk)) => {
                        let got = got + chunk.len() as u64;
                        if got > end - start {
                            let error = fault.set(Error::new(
                                ErrorCode::Unknown,
                                format!(
                                    "The origin {} sent more than the range it was asked for",
                                    this.0.source.shown()
                                ),
                            ));
                            return Some((Err(error), (State::Done, Bytes::new())));
                        }
                        let mut pending = chunk;
                        let frame = pending.split_to(pending.len().min(FRAME));
                        activity.touch();
                        Some((Ok(frame), (State::Reading(response, got), pending)))
                    }
                    Ok(None) if got == end - start => None,
                    Ok(None) => {
                        let error = fault.set_passing(Error::new(
                            ErrorCode::System("ECONNRESET"),
                            format!(
                                "The origin {} ended a range after {got} of {} bytes",
                                this.0.source.shown(),
                                end - start
                            ),
                        ));
                        Some((Err(error), (State::Done, Bytes::new())))
                    }
                    Err(error) => Some((Err(fault.set_passing(error)), (State::Done, Bytes::new()))),
                }
            }
        });
        reqwest::Body::wrap_stream(frames)
    }

    /// Bytes `[start, end)` whole (create-asset chunks).
    pub async fn read(&self, start: u64, end: u64) -> Result<Bytes> {
        let mut response = self.get_range(start, end).await.map_err(|(e, _)| e)?;
        let mut out = BytesMut::with_capacity((end - start) as usize);
        while let Some(chunk) = next_chunk(&mut response, self.0.once.idle_timeout, &self.0.source).await? {
            out.extend_from_slice(&chunk);
        }
        if out.len() as u64 != end - start {
            return Err(Error::new(
                ErrorCode::System("ECONNRESET"),
                format!(
                    "The origin {} ended a range after {} of {} bytes",
                    self.0.source.shown(),
                    out.len(),
                    end - start
                ),
            ));
        }
        Ok(out.freeze())
    }

    /// One ranged GET, checked: a 206 for exactly this range of this
    /// version. The flag says whether the failure is final.
    async fn get_range(&self, start: u64, end: u64) -> std::result::Result<reqwest::Response, (Error, bool)> {
        let source = &self.0.source;
        let mut extra = HeaderMap::new();
        let range = format!("bytes={start}-{}", end - 1);
        extra.insert(RANGE, HeaderValue::from_str(&range).expect("ASCII"));
        if let Some(validator) = &self.0.probe.validator {
            extra.insert(IF_RANGE, validator.clone());
        }
        let request = source.request(Method::GET, extra);
        // The PUT's cancellation drops this body, and the request with it.
        let sent = source.origin.client.open(&request, &self.0.once, &CancellationToken::new(), &mut |_| {}).await;
        let response = match sent {
            Ok(response) => response,
            Err(failure) => {
                let passing = match failure.status {
                    Some(status) => {
                        status.is_server_error()
                            || status == StatusCode::TOO_MANY_REQUESTS
                            || status == StatusCode::REQUEST_TIMEOUT
                    }
                    None => true,
                };
                return Err((source.failed(failure), !passing));
            }
        };
        let status = response.status();
        if status == StatusCode::PARTIAL_CONTENT {
            let etag_changed = self.0.probe.etag.is_some()
                && response.headers().get(ETAG).is_some_and(|etag| Some(etag) != self.0.probe.etag.as_ref());
            if etag_changed {
                return Err((changed(source).error, true));
            }
            return match content_range(response.headers()) {
                Some((first, last, _)) if first == start && last + 1 == end => Ok(response),
                _ => Err((
                    Error::new(
                        ErrorCode::Unknown,
                        format!("The origin {} answered range {range} with another range", source.shown()),
                    ),
                    true,
                )),
            };
        }
        if status.is_success() {
            // A whole file instead of a range: with If-Range, the file changed.
            let error = if self.0.probe.validator.is_some() {
                changed(source).error
            } else {
                Error::new(ErrorCode::NotSupported, format!("The origin {} ignored a range request", source.shown()))
            };
            return Err((error, true));
        }
        Err((Error::new(ErrorCode::Unknown, format!("The origin {} answered {status}", source.shown())), true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes 0-0/2147483648"));
        assert_eq!(content_range(&h), Some((0, 0, 2147483648)));
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes */100"));
        assert_eq!(content_range(&h), None);
    }

    #[test]
    fn sources_need_an_http_url_and_keep_their_secrets() {
        let origin = Origin::new(&ClientOptions::default()).unwrap();
        for bad in ["ftp://h/x", "/relative", "not a url", "file:///etc/passwd"] {
            let err = RemoteSource::new(Arc::clone(&origin), bad, &[]).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidOptions, "{bad}");
        }
        let headers = [("Authorization".to_string(), "Bearer origin-canary".to_string())];
        let source = RemoteSource::new(origin, "https://user:pw@cdn.example/a.jpg?sig=canary", &headers).unwrap();
        let shown = format!("{source:?} {}", source.shown());
        assert!(!shown.contains("canary") && !shown.contains("pw"), "{shown}");
    }
}
