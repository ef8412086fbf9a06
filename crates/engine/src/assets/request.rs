//! The Author API's request path: the headers every call carries, the
//! engine's one retry loop (`http::Client::send_for_answer`: 5xx, 429 with
//! `Retry-After`, resets, the idle timeout), the per-client cookie jar, the
//! one refresh-and-resend on a 401, and a log line per request that never
//! shows a header value.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, ETAG, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::error::{AssetsError, Result};
use crate::credentials::Credentials;
use crate::events::LogLevel;
use crate::http::{Answer, Client, CookieJar, Request, RetryPolicy};
use crate::redact::redact_url;

/// Receives the client's log lines (already redacted).
pub type Logger = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

static X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
static X_ADOBE_ACCEPT_EXPERIMENTAL: HeaderName = HeaderName::from_static("x-adobe-accept-experimental");

/// Everything a request of one client shares.
pub(crate) struct Api {
    /// The author origin (with any path prefix), without a trailing slash.
    pub(crate) base: Url,
    client: Client,
    credentials: Arc<dyn Credentials>,
    api_key: Option<HeaderValue>,
    policy: RetryPolicy,
    cookies: CookieJar,
    log: Option<Logger>,
    /// `send_for_answer` takes a token; callers cancel by dropping the future.
    never: CancellationToken,
}

/// One request to make: what it is for (`what`, used in errors and logs:
/// `GET metadata of urn:aaid:aem:…`), and its own headers and body.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub what: String,
    /// Set once an attempt failed and was retried: a DELETE answered 404
    /// then may have been done by the attempt whose answer was lost.
    pub retried: AtomicBool,
}

impl Call {
    pub(crate) fn new(method: Method, url: Url, what: String) -> Call {
        Call { method, url, headers: HeaderMap::new(), body: Bytes::new(), what, retried: AtomicBool::new(false) }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Call {
        self.headers.insert(name, value);
        self
    }

    pub(crate) fn body(mut self, content_type: &'static str, body: Bytes) -> Call {
        self.headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.body = body;
        self
    }
}

impl Api {
    pub(crate) fn new(
        base: Url,
        client: Client,
        credentials: Arc<dyn Credentials>,
        api_key: Option<HeaderValue>,
        policy: RetryPolicy,
        log: Option<Logger>,
    ) -> Api {
        Api {
            base,
            client,
            credentials,
            api_key,
            policy,
            cookies: CookieJar::default(),
            log,
            never: CancellationToken::new(),
        }
    }

    pub(crate) fn log(&self, level: LogLevel, message: &str) {
        if let Some(log) = &self.log {
            log(level, message);
        }
    }

    /// Sends `call` and returns its final answer, whatever its status.
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer> {
        let started = Instant::now();
        let answer = self.send_authorised(call).await?;
        self.log(
            LogLevel::Debug,
            &format!(
                "{} {} -> {} ({} ms)",
                call.method,
                redact_url(call.url.as_str()),
                answer.status.as_u16(),
                started.elapsed().as_millis()
            ),
        );
        Ok(answer)
    }

    /// Sends `call`, failing on any status outside `ok` with the error the
    /// answer stands for.
    pub(crate) async fn expect(&self, call: &Call, ok: &[StatusCode]) -> Result<Answer> {
        let answer = self.send(call).await?;
        if ok.contains(&answer.status) {
            Ok(answer)
        } else {
            Err(AssetsError::from_answer(&call.what, &answer))
        }
    }

    /// One request with credentials, as auth.md says: a 401 to a request
    /// sent with a value the provider can replace is resent once with the
    /// new value; a second 401 is the caller's answer.
    ///
    /// This is the one function to replace with the AEM session's `send`
    /// when it lands (it does the same refresh for every AEM request).
    async fn send_authorised(&self, call: &Call) -> Result<Answer> {
        let credential_error = |e: crate::Error| AssetsError::from_engine(&call.what, &e);
        let used = self.credentials.authorization().await.map_err(credential_error)?;
        let answer = self.send_with(call, used.clone()).await?;
        let Some(used) = used.filter(|_| answer.status == StatusCode::UNAUTHORIZED) else { return Ok(answer) };
        if !self.credentials.unauthorized(&used).await.map_err(credential_error)? {
            return Ok(answer);
        }
        self.log(LogLevel::Info, &format!("{}: 401, resending once with refreshed credentials", call.what));
        let fresh = self.credentials.authorization().await.map_err(credential_error)?;
        self.send_with(call, fresh).await
    }

    /// One request through the engine's retry loop.
    async fn send_with(&self, call: &Call, authorization: Option<HeaderValue>) -> Result<Answer> {
        let mut headers = call.headers.clone();
        if let Some(mut value) = authorization {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(key) = &self.api_key {
            headers.insert(X_API_KEY.clone(), key.clone());
        }
        headers.insert(X_ADOBE_ACCEPT_EXPERIMENTAL.clone(), HeaderValue::from_static("1"));
        let body = call.body.clone();
        let request = Request {
            method: call.method.clone(),
            url: &call.url,
            headers,
            body: Box::new(move |_| Ok(reqwest::Body::from(body.clone()))),
            cookies: Some(&self.cookies),
            limit: None,
        };
        let log = self.log.clone();
        let what = call.what.as_str();
        let mut retried = |e: &crate::Error| {
            call.retried.store(true, Ordering::Relaxed);
            if let Some(log) = &log {
                log(LogLevel::Warn, &format!("{what}: retrying after {}", e.message()));
            }
        };
        self.client
            .send_for_answer(&request, &self.policy, &self.never, &mut retried)
            .await
            .map_err(|failure| AssetsError::from_engine(what, &failure.error))
    }
}

/// The `ETag` of an answer, as sent (quotes and `W/` kept: it goes back in
/// `If-Match` / `If-None-Match` unchanged).
pub(crate) fn etag(headers: &HeaderMap) -> Option<String> {
    headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(String::from)
}

/// The `Location` of an answer, as sent.
pub(crate) fn location(headers: &HeaderMap) -> Option<String> {
    headers.get(LOCATION).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(String::from)
}

/// The body as a JSON object, if it is one.
pub(crate) fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A conditional header's value from the caller: an entity tag or `*`.
pub(crate) fn tag_header(name: &str, tag: &str) -> Result<HeaderValue> {
    let tag = tag.trim();
    if tag.is_empty() {
        return Err(AssetsError::invalid(format!("{name} is empty: give an ETag or '*'")));
    }
    HeaderValue::from_str(tag).map_err(|_| AssetsError::invalid(format!("{name} is not a valid header value")))
}

/// A poll interval from `Retry-After` (at least `floor`, at most `ceiling`),
/// or `default` when the answer has none.
pub(crate) fn poll_interval(answer: &Answer, default: Duration, floor: Duration, ceiling: Duration) -> Duration {
    crate::http::retry_after(&answer.headers).unwrap_or(default).clamp(floor, ceiling)
}
