//! Adobe IMS token requests (`docs/protocol.md`, "IMS"): a form POST,
//! retried on 5xx, 429 and network errors; a 400/401 fails with
//! `ENOTAUTHORIZED` carrying IMS's `error` and `error_description`, never
//! what was sent (a client secret, a JWT).

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::http::{idle_timeout, retry, retry_after, Activity, Client, ClientOptions, Failure, RetryPolicy};
use crate::redact::redact_url;
use crate::{Error, ErrorCode, Result};

/// The IMS host of production, where OAuth server-to-server clients live.
pub const DEFAULT_ENDPOINT: &str = "ims-na1.adobelogin.com";

/// How a provider reaches IMS.
#[derive(Clone, Debug)]
pub struct ImsOptions {
    /// The IMS host (`ims-na1.adobelogin.com`, https), or an origin with a
    /// scheme used as given (`http://127.0.0.1:4502` in tests). `None`: the
    /// credentials' own, else [`DEFAULT_ENDPOINT`].
    pub endpoint: Option<String>,
    /// Retries after the first attempt (default 3, as uploads).
    pub retry_count: u32,
    /// Retry n waits `retry_delay · 2ⁿ` plus jitter, or what `Retry-After` says (default 5 s, as uploads).
    pub retry_delay: Duration,
    /// An attempt fails when no byte moves for this long (default 60 s).
    pub idle_timeout: Option<Duration>,
    /// Proxy and TLS.
    pub connect: ClientOptions,
}

impl Default for ImsOptions {
    fn default() -> ImsOptions {
        ImsOptions {
            endpoint: None,
            retry_count: 3,
            retry_delay: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(60)),
            connect: ClientOptions::default(),
        }
    }
}

/// `https://<host>` for a bare host, the value itself (no trailing `/`) when
/// it has a scheme.
pub fn endpoint_base(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("https://{endpoint}")
    }
}

/// The unit IMS gives `expires_in` in.
#[derive(Clone, Copy, Debug)]
pub enum ExpiresIn {
    /// `/ims/exchange/jwt`.
    Millis,
    /// `/ims/token/v3`.
    Seconds,
}

/// An IMS client for one endpoint.
pub struct Ims {
    client: Result<Client>,
    base: String,
    policy: RetryPolicy,
}

/// A granted access token.
pub struct Granted {
    pub access_token: String,
    pub lifetime: Option<Duration>,
}

#[derive(Deserialize)]
struct Grant {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct Refusal {
    error: Option<String>,
    error_description: Option<String>,
}

impl Ims {
    /// A client for `endpoint` (already resolved from the options and the credentials).
    pub fn new(endpoint: &str, options: &ImsOptions) -> Ims {
        let policy = RetryPolicy::new(options.retry_count.saturating_add(1), options.retry_delay, 2)
            .with_idle_timeout(options.idle_timeout);
        Ims { client: Client::new(&options.connect), base: endpoint_base(endpoint), policy }
    }

    /// The origin, e.g. `https://ims-na1.adobelogin.com`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// POSTs `form` to `path` and reads the token. `what` names the grant in
    /// errors; `secrets` are scrubbed from anything IMS answers.
    pub async fn grant(
        &self,
        path: &str,
        form: &[(&str, &str)],
        unit: ExpiresIn,
        what: &str,
        secrets: &[&str],
    ) -> Result<Granted> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| super::invalid(format!("The IMS endpoint {} is not a valid URL", redact_url(&self.base))))?;
        let body: Bytes = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish().into();
        let cancel = CancellationToken::new();
        let answer =
            retry(&self.policy, &cancel, &mut |_| {}, || self.attempt(client, &url, body.clone(), what, secrets))
                .await
                .map_err(|f| f.error)?;
        let grant: Grant = serde_json::from_slice(&answer)
            .map_err(|_| Error::new(ErrorCode::UnexpectedApiState, format!("IMS answered the {what} with no JSON")))?;
        let access_token = grant.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::new(ErrorCode::UnexpectedApiState, format!("IMS answered the {what} without an access_token"))
        })?;
        let lifetime = grant.expires_in.as_ref().and_then(number).map(|n| match unit {
            ExpiresIn::Millis => Duration::from_millis(n),
            ExpiresIn::Seconds => Duration::from_secs(n),
        });
        Ok(Granted { access_token, lifetime })
    }

    async fn attempt(
        &self,
        client: &Client,
        url: &Url,
        body: Bytes,
        what: &str,
        secrets: &[&str],
    ) -> std::result::Result<Bytes, Failure> {
        let activity = Activity::default();
        let run = async {
            let mut response = client
                .reqwest()
                .post(url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .header(USER_AGENT, HeaderValue::from_static(crate::http::USER_AGENT_VALUE))
                .body(body)
                .send()
                .await
                .map_err(|e| self.transport(e))?;
            activity.touch();
            let status = response.status();
            let headers = response.headers().clone();
            let mut read = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
                activity.touch();
                // IMS answers are small; a huge one is not read whole.
                if read.len() < 64 * 1024 {
                    read.extend_from_slice(&chunk);
                }
            }
            Ok((status, headers, Bytes::from(read)))
        };
        let (status, headers, body) =
            idle_timeout(run, &activity, self.policy.idle_timeout).await.map_err(Failure::from)?;
        if status.is_success() {
            return Ok(body);
        }
        let error = if matches!(status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            let refusal: Refusal = serde_json::from_slice(&body).unwrap_or_default();
            let mut message = format!("IMS refused the {what} ({})", status.as_u16());
            if let Some(error) = refusal.error.as_deref().filter(|e| !e.is_empty()) {
                message.push_str(&format!(": {}", scrub(error, secrets)));
                if let Some(description) = refusal.error_description.as_deref().filter(|d| !d.is_empty()) {
                    message.push_str(&format!(": {}", scrub(description, secrets)));
                }
            }
            Error::new(ErrorCode::NotAuthorized, message)
        } else {
            let code = match ErrorCode::from_http_status(status.as_u16()) {
                ErrorCode::TooManyRequests => ErrorCode::TooManyRequests,
                _ => ErrorCode::Unknown,
            };
            Error::new(code, format!("IMS failed the {what} with status code {}", status.as_u16()))
        };
        Err(Failure { error, status: Some(status), retry_after: retry_after(&headers) })
    }

    /// A network error, named by the IMS origin only.
    fn transport(&self, error: reqwest::Error) -> Error {
        let code = if error.is_timeout() {
            ErrorCode::TimedOut
        } else if error.is_connect() {
            ErrorCode::System("ECONNREFUSED")
        } else {
            ErrorCode::System("ECONNRESET")
        };
        let mut cause = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            cause = inner.to_string();
            source = inner.source();
        }
        Error::new(
            code,
            format!("Failed to reach IMS at {}: {}", redact_url(&self.base), crate::redact::redact(&cause)),
        )
    }
}

/// A JSON number or a numeric string.
fn number(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `text` with every non-empty secret replaced, and cut to a sane length.
fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out: String = text.chars().take(500).collect();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "<redacted>");
    }
    crate::redact::redact(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_numbers() {
        assert_eq!(endpoint_base("ims-na1.adobelogin.com"), "https://ims-na1.adobelogin.com");
        assert_eq!(endpoint_base("http://127.0.0.1:4502/"), "http://127.0.0.1:4502");
        assert_eq!(number(&serde_json::json!(86399999)), Some(86_399_999));
        assert_eq!(number(&serde_json::json!("86400000")), Some(86_400_000));
        assert_eq!(number(&serde_json::json!(null)), None);
        assert_eq!(scrub("bad secret s3cr3t-value here", &["s3cr3t-value"]), "bad secret <redacted> here");
    }
}
