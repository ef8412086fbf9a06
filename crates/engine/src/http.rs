//! One pooled keep-alive HTTP client and the engine's one retry loop
//! ([`Client::send`]: retries as `docs/compat.md §2.3` says, `Retry-After`,
//! backoff, an idle timeout that fails an attempt when no byte moves either
//! way, cancellation), the cookie store the AEM session replays, and errors
//! that never carry a URL query. Every request goes through it: the AEM
//! session ([`crate::session`]), presigned blob PUTs ([`crate::blob`]) and
//! token endpoints.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, COOKIE, RETRY_AFTER, SET_COOKIE, USER_AGENT};
use reqwest::{Method, StatusCode, Url};
use tokio_util::sync::CancellationToken;

use crate::aem_limit::AemLimit;
use crate::redact::redact_url;
use crate::{Error, ErrorCode, Result};

pub const USER_AGENT_VALUE: &str = concat!("aem-upload-rs/", env!("CARGO_PKG_VERSION"));

/// How the client connects.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// Accept invalid TLS certificates (`agent.rejectUnauthorized: false`). Off by default.
    pub accept_invalid_certs: bool,
    /// Extra PEM root certificates (`agent.ca`).
    pub ca_pem: Vec<Vec<u8>>,
    /// An HTTP(S) proxy URL (`agent.proxy`).
    pub proxy: Option<String>,
    /// Redirects followed (0: none). AEM and presigned URLs do not redirect;
    /// origins of URL sources may (docs/remote-sources.md §2).
    pub max_redirects: usize,
}

/// The pooled client every request of a call goes through.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
}

impl Client {
    pub fn new(options: &ClientOptions) -> Result<Client> {
        let mut builder = reqwest::Client::builder()
            // AEM and presigned URLs are never redirected; an origin may be, a
            // bounded number of times (reqwest drops credentials across hosts).
            .redirect(match options.max_redirects {
                0 => reqwest::redirect::Policy::none(),
                n => reqwest::redirect::Policy::limited(n),
            })
            .pool_max_idle_per_host(64)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .danger_accept_invalid_certs(options.accept_invalid_certs);
        builder =
            match &options.proxy {
                Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy).map_err(|e| {
                    Error::new(ErrorCode::InvalidOptions, format!("Invalid proxy: {}", e.without_url()))
                })?),
                // Like the reference, environment proxy variables are not read.
                None => builder.no_proxy(),
            };
        for pem in &options.ca_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::new(ErrorCode::InvalidOptions, format!("Invalid CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let inner = builder.build().map_err(|e| {
            Error::new(ErrorCode::Unknown, format!("Cannot create the HTTP client: {}", e.without_url()))
        })?;
        Ok(Client { inner })
    }

    /// The pooled reqwest client, for callers that read the body of a
    /// failed answer (IMS's `{error, error_description}`).
    pub(crate) fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }
}

/// Which failed answers a [`RetryPolicy`] retries, besides transport errors
/// and idle timeouts (which are always retried).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryOn {
    /// 5xx and 429.
    Transient,
    /// 5xx, 429 and 404 (folder POSTs under `eventuallyConsistentCreate`).
    TransientAndNotFound,
    /// Any non-2xx, 404 included (`eventuallyConsistentCreate` for transfers).
    AnyStatus,
}

/// When and how often a request is retried. Build one with [`RetryPolicy::new`]
/// and the `with_*` methods.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total attempts (1 + retryCount).
    pub attempts: u32,
    /// Wait before retry n is `delay * multiplier^n` plus 0–99 ms jitter.
    pub delay: Duration,
    pub multiplier: u32,
    /// Which failed answers are retried.
    pub retry_on: RetryOn,
    /// Idle timeout of one attempt; `None`: none.
    pub idle_timeout: Option<Duration>,
    /// On cancellation, how long an attempt already on the wire may still
    /// finish (and count) before it is aborted. Zero for most requests; a
    /// complete gets a moment, so that a file AEM has just completed is
    /// reported as landed, not as cancelled.
    pub cancel_grace: Duration,
    /// A status never retried, whatever else says so (a part's 403: its URL
    /// has expired, so the file is initiated again instead).
    pub final_status: Option<StatusCode>,
}

impl RetryPolicy {
    /// `attempts` tries in all (at least one), retry n waiting
    /// `delay * multiplier^n` plus jitter; transient failures only, no idle
    /// timeout, no grace on cancellation.
    pub fn new(attempts: u32, delay: Duration, multiplier: u32) -> RetryPolicy {
        RetryPolicy {
            attempts: attempts.max(1),
            delay,
            multiplier,
            retry_on: RetryOn::Transient,
            idle_timeout: None,
            cancel_grace: Duration::ZERO,
            final_status: None,
        }
    }

    pub fn with_retry_on(self, retry_on: RetryOn) -> RetryPolicy {
        RetryPolicy { retry_on, ..self }
    }

    pub fn with_idle_timeout(self, idle_timeout: Option<Duration>) -> RetryPolicy {
        RetryPolicy { idle_timeout, ..self }
    }

    pub fn with_cancel_grace(self, cancel_grace: Duration) -> RetryPolicy {
        RetryPolicy { cancel_grace, ..self }
    }

    pub fn with_final_status(self, status: StatusCode) -> RetryPolicy {
        RetryPolicy { final_status: Some(status), ..self }
    }

    pub fn wait_before(&self, retry: u32) -> Duration {
        let factor = (self.multiplier.max(1) as u64).saturating_pow(retry);
        let base = self.delay.saturating_mul(factor.min(u32::MAX as u64) as u32);
        base.saturating_add(Duration::from_millis(jitter_ms()))
    }

    fn retries(&self, failure: &Failure) -> bool {
        match failure.status {
            Some(status) if Some(status) == self.final_status => false,
            Some(status) => match self.retry_on {
                RetryOn::AnyStatus => true,
                RetryOn::TransientAndNotFound if status == StatusCode::NOT_FOUND => true,
                _ => status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
            },
            None => matches!(failure.error.code(), ErrorCode::TimedOut | ErrorCode::System(_) | ErrorCode::Unknown),
        }
    }
}

fn jitter_ms() -> u64 {
    // Only spreads retries apart; no need for a real random source.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    (nanos as u64 / 7) % 100
}

/// Last time a byte moved, for the idle timeout.
#[derive(Clone)]
pub struct Activity {
    base: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity { base: Instant::now(), last_ms: Arc::new(AtomicU64::new(0)) }
    }
}

impl Activity {
    pub fn touch(&self) {
        self.last_ms.store(self.base.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }
}

/// Runs `fut`, failing with `ETIMEDOUT` when `activity` shows no progress for `timeout`.
pub async fn idle_timeout<T>(
    fut: impl Future<Output = Result<T>>,
    activity: &Activity,
    timeout: Option<Duration>,
) -> Result<T> {
    let Some(timeout) = timeout else { return fut.await };
    activity.touch();
    tokio::pin!(fut);
    loop {
        let wait = timeout.saturating_sub(activity.idle_for());
        tokio::select! {
            out = &mut fut => return out,
            _ = tokio::time::sleep(wait.max(Duration::from_millis(1))) => {
                if activity.idle_for() >= timeout {
                    return Err(Error::new(ErrorCode::TimedOut, format!("No data moved for {} ms", timeout.as_millis())));
                }
            }
        }
    }
}

/// The per-call cookie store for the AEM origin: seeded from a user `Cookie`
/// header, fed by `Set-Cookie` answers, replayed on every AEM request and
/// never on blob URLs.
#[derive(Default)]
pub struct CookieJar {
    cookies: Mutex<BTreeMap<String, String>>,
}

impl CookieJar {
    pub fn seed(&self, header: &str) {
        let mut cookies = self.cookies.lock().unwrap();
        for pair in header.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                cookies.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }

    pub fn absorb(&self, headers: &HeaderMap) {
        let mut cookies = self.cookies.lock().unwrap();
        for value in headers.get_all(SET_COOKIE) {
            if let Some((name, value)) =
                value.to_str().ok().and_then(|v| v.split(';').next()).and_then(|p| p.split_once('='))
            {
                cookies.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }

    pub fn header(&self) -> Option<HeaderValue> {
        let cookies = self.cookies.lock().unwrap();
        if cookies.is_empty() {
            return None;
        }
        let joined = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        HeaderValue::from_str(&joined).ok()
    }
}

/// Builds a request body for each attempt, so a retry resends the same bytes.
pub type BodyFactory<'a> = Box<dyn Fn(&Activity) -> Result<reqwest::Body> + Send + Sync + 'a>;

/// A request to send, possibly several times.
pub struct Request<'a> {
    pub method: Method,
    /// Parsed by the caller, once: thousands of requests each parsing a string
    /// again showed in profiles.
    pub url: &'a Url,
    pub headers: HeaderMap,
    /// Rebuilt for every attempt.
    pub body: BodyFactory<'a>,
    /// Replayed and fed on every attempt. Only the AEM session sets it
    /// (`docs/protocol.md §4`); blob and other origins never get cookies.
    pub cookies: Option<&'a CookieJar>,
    /// Waited for before each attempt and told how it ended. Only the AEM
    /// session sets it (`crate::aem_limit`): blob PUTs have `maxConcurrent`.
    pub limit: Option<&'a AemLimit>,
}

impl<'a> Request<'a> {
    /// A request whose body is built for each attempt by `body`.
    pub fn new(method: Method, url: &'a Url, headers: HeaderMap, body: BodyFactory<'a>) -> Request<'a> {
        Request { method, url, headers, body, cookies: None, limit: None }
    }

    /// A request with a body held in memory (resent as is on a retry).
    pub fn with_bytes(method: Method, url: &'a Url, headers: HeaderMap, body: Bytes) -> Request<'a> {
        Request::new(method, url, headers, Box::new(move |_| Ok(reqwest::Body::from(body.clone()))))
    }
}

/// Who hears about a request as it is sent: each retried attempt's error,
/// and, when it logs, one line per request.
pub trait Trace: Send + Sync {
    /// An attempt failed with `error` and is retried.
    fn retried(&self, error: &Error);

    /// Whether [`Trace::logged`] wants lines (building them costs time on
    /// thousands of requests).
    fn logging(&self) -> bool {
        false
    }

    /// One finished request: `METHOD <url without query> <status or code> <ms> ms`.
    fn logged(&self, line: String) {
        let _ = line;
    }
}

impl Client {
    /// [`Client::send`], telling `trace` about retries and, when it logs,
    /// the outcome as one line that never shows a URL query.
    pub async fn send_traced(
        &self,
        request: &Request<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        trace: &dyn Trace,
    ) -> std::result::Result<Answer, Failure> {
        let started = Instant::now();
        let result = self.send(request, policy, cancel, &mut |e| trace.retried(e)).await;
        if trace.logging() {
            let status = match &result {
                Ok(a) => a.status.as_u16().to_string(),
                Err(f) => f.status.map(|s| s.as_u16().to_string()).unwrap_or_else(|| f.error.code().to_string()),
            };
            trace.logged(format!(
                "{} {} {status} {} ms",
                request.method,
                redact_url(request.url.as_str()),
                started.elapsed().as_millis()
            ));
        }
        result
    }
}

/// A finished response: status, headers and the whole (small) body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why an attempt failed, and whether it may be retried.
pub struct Failure {
    pub error: Error,
    pub status: Option<StatusCode>,
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// The failure a non-2xx answer stands for.
    fn of(answer: &Answer) -> Failure {
        Failure {
            error: Error::http_status(answer.status.as_u16()),
            status: Some(answer.status),
            retry_after: retry_after(&answer.headers),
        }
    }
}

impl Client {
    /// One attempt: send, read the whole answer, fail on a non-2xx.
    /// With a limit, the attempt first waits for room there; a cancel ends
    /// that wait at once (a request not yet sent gets no cancel grace).
    async fn attempt(
        &self,
        send: &Request<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
    ) -> std::result::Result<Answer, Failure> {
        let permit = match send.limit {
            Some(limit) => Some(tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(cancelled_failure()),
                permit = limit.acquire() => permit,
            }),
            None => None,
        };
        let result = match self.exchange(send, policy).await {
            Ok(answer) if answer.status.is_success() => Ok(answer),
            Ok(answer) => Err(Failure::of(&answer)),
            Err(error) => Err(Failure { error, status: None, retry_after: None }),
        };
        if let Some(permit) = permit {
            match &result {
                Ok(answer) => permit.answered(Some(answer.status), None),
                Err(failure) => permit.answered(failure.status, failure.retry_after),
            }
        }
        result
    }

    /// One attempt: send and read the whole answer, whatever its status.
    async fn exchange(&self, send: &Request<'_>, policy: &RetryPolicy) -> Result<Answer> {
        let activity = Activity::default();
        let run = async {
            let mut headers = send.headers.clone();
            headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
            if let Some(cookie) = send.cookies.and_then(CookieJar::header) {
                headers.insert(COOKIE, cookie);
            }
            let body = (send.body)(&activity)?;
            let response = self
                .inner
                .request(send.method.clone(), send.url.clone())
                .headers(headers)
                .body(body)
                .send()
                .await
                .map_err(|e| transport_error(e, send.url.as_str()))?;
            activity.touch();
            let status = response.status();
            let headers = response.headers().clone();
            if let Some(jar) = send.cookies {
                jar.absorb(&headers);
            }
            let mut response = response;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(e, send.url.as_str()))? {
                activity.touch();
                body.extend_from_slice(&chunk);
            }
            Ok(Answer { status, headers, body: body.into() })
        };
        idle_timeout(run, &activity, policy.idle_timeout).await
    }

    /// Sends with retries. Each retried attempt's error goes to `retried`.
    /// Cancellation ends the wait at once with `EUSERCANCELLED`.
    pub async fn send(
        &self,
        send: &Request<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        retried: &mut (dyn FnMut(&Error) + std::marker::Send),
    ) -> std::result::Result<Answer, Failure> {
        retry(policy, cancel, retried, || self.attempt(send, policy, cancel)).await
    }

    /// Sends with the retries of [`Client::send`], but hands back the last
    /// answer whatever its status (a 304 with its tag, a 412 or a 404 with
    /// its problem details) for the caller to read; fails only when no answer
    /// came (a transport error, a timeout, cancellation).
    pub async fn send_for_answer(
        &self,
        send: &Request<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        retried: &mut (dyn FnMut(&Error) + std::marker::Send),
    ) -> std::result::Result<Answer, Failure> {
        // The last non-2xx answer, handed back when the retries end on it.
        let last = std::sync::Mutex::new(None::<Answer>);
        let outcome = retry(policy, cancel, retried, || async {
            match self.exchange(send, policy).await {
                Ok(answer) if answer.status.is_success() => Ok(answer),
                Ok(answer) => {
                    let failure = Failure::of(&answer);
                    *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
                    Err(failure)
                }
                Err(error) => Err(Failure { error, status: None, retry_after: None }),
            }
        })
        .await;
        match outcome {
            // Only a failure that is the answer itself (not cancellation).
            Err(failure) if failure.status.is_some() => {
                last.into_inner().unwrap_or_else(|e| e.into_inner()).ok_or(failure)
            }
            other => other,
        }
    }

    /// Like [`Client::send`], but stops at the answer's head: a success's
    /// body is left to the caller, to stream (an origin's file). Retried as a
    /// whole request until a head arrives; a non-2xx fails the attempt.
    pub async fn open(
        &self,
        send: &Request<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        retried: &mut (dyn FnMut(&Error) + std::marker::Send),
    ) -> std::result::Result<reqwest::Response, Failure> {
        retry(policy, cancel, retried, || self.attempt_head(send, policy)).await
    }

    /// One attempt of [`Client::open`].
    async fn attempt_head(
        &self,
        send: &Request<'_>,
        policy: &RetryPolicy,
    ) -> std::result::Result<reqwest::Response, Failure> {
        let activity = Activity::default();
        let run = async {
            let mut headers = send.headers.clone();
            headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
            let body = (send.body)(&activity)?;
            self.inner
                .request(send.method.clone(), send.url.clone())
                .headers(headers)
                .body(body)
                .send()
                .await
                .map_err(|e| transport_error(e, send.url.as_str()))
        };
        match idle_timeout(run, &activity, policy.idle_timeout).await {
            Ok(response) if response.status().is_success() => Ok(response),
            Ok(response) => Err(Failure {
                error: Error::http_status(response.status().as_u16()),
                status: Some(response.status()),
                retry_after: retry_after(response.headers()),
            }),
            Err(error) => Err(Failure { error, status: None, retry_after: None }),
        }
    }
}

impl From<Error> for Failure {
    /// A failure before any answer (a request that could not be built).
    fn from(error: Error) -> Failure {
        Failure { error, status: None, retry_after: None }
    }
}

/// The engine's one retry loop: runs `attempt` until it succeeds, fails for
/// good, or `policy` runs out of attempts, waiting `Retry-After` or the
/// policy's backoff in between. Each retried failure goes to `retried`.
/// Cancellation ends a wait at once; an attempt on the wire may still finish
/// within `policy.cancel_grace`.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    retried: &mut (dyn FnMut(&Error) + std::marker::Send),
    mut attempt: F,
) -> std::result::Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Failure>>,
{
    let mut number = 1;
    loop {
        let in_flight = attempt();
        tokio::pin!(in_flight);
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                return match tokio::time::timeout(policy.cancel_grace, &mut in_flight).await {
                    Ok(Ok(answer)) => Ok(answer),
                    _ => Err(cancelled_failure()),
                };
            }
            outcome = &mut in_flight => outcome,
        };
        let failure = match outcome {
            Ok(answer) => return Ok(answer),
            Err(failure) => failure,
        };
        if number >= policy.attempts || !policy.retries(&failure) {
            return Err(failure);
        }
        retried(&failure.error);
        let wait = failure.retry_after.unwrap_or_else(|| policy.wait_before(number));
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled_failure()),
            _ = tokio::time::sleep(wait) => {}
        }
        number += 1;
    }
}

pub fn cancelled_error() -> Error {
    Error::new(ErrorCode::UserCancelled, "Upload cancelled by user")
}

fn cancelled_failure() -> Failure {
    Failure { error: cancelled_error(), status: None, retry_after: None }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Parses a URL the engine built itself (from URLs checked before), failing
/// like a request to it would.
pub fn parse_url(url: &str) -> Result<Url> {
    Url::parse(url).map_err(|e| Error::new(ErrorCode::Unknown, format!("Invalid URL {}: {e}", redact_url(url))))
}

/// A transport error without the URL (which may hold a signature).
fn transport_error(error: reqwest::Error, url: &str) -> Error {
    let code = if error.is_timeout() {
        ErrorCode::TimedOut
    } else {
        io_code(&error).unwrap_or(ErrorCode::System(if error.is_connect() { "ECONNREFUSED" } else { "ECONNRESET" }))
    };
    let what = if error.is_connect() { "connect to" } else { "send request to" };
    let message = format!("Failed to {what} {}: {}", redact_url(url), root_cause(&error));
    Error::new(code, message).with_source(error.without_url())
}

fn io_code(error: &(dyn std::error::Error + 'static)) -> Option<ErrorCode> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return match ErrorCode::from_io(io) {
                ErrorCode::Unknown => None,
                code => Some(code),
            };
        }
        cause = err.source();
    }
    None
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error.to_string();
    let mut cause = error.source();
    while let Some(err) = cause {
        last = err.to_string();
        cause = err.source();
    }
    crate::redact::redact(&last)
}

/// Parses `name: value` pairs into a header map, dropping invalid ones.
pub fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.insert(name, value);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_grow_exponentially() {
        let policy = RetryPolicy::new(4, Duration::from_millis(5000), 2);
        let w1 = policy.wait_before(1).as_millis();
        let w3 = policy.wait_before(3).as_millis();
        assert!((10_000..10_100).contains(&w1), "{w1}");
        assert!((40_000..40_100).contains(&w3), "{w3}");
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn cookie_jar_seeds_absorbs_and_renders() {
        let jar = CookieJar::default();
        jar.seed("a=1; b=2");
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("Affinity-cookie=n1; Path=/; HttpOnly"));
        h.append(SET_COOKIE, HeaderValue::from_static("a=3"));
        jar.absorb(&h);
        assert_eq!(jar.header().unwrap(), "Affinity-cookie=n1; a=3; b=2");
    }

    #[tokio::test]
    async fn idle_timeout_fires_only_without_progress() {
        let activity = Activity::default();
        let a = activity.clone();
        let busy = async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                a.touch();
            }
            Ok(())
        };
        assert!(idle_timeout(busy, &activity, Some(Duration::from_millis(60))).await.is_ok());
        let stalled = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        let err = idle_timeout(stalled, &Activity::default(), Some(Duration::from_millis(30))).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::TimedOut);
    }
}
