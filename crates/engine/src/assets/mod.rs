//! A client for the AEM Assets Author API: an asset's metadata with ETags,
//! deletes and the jobs they start, and asset ids from DAM paths.
//!
//! Every request carries the `Authorization` its [`Credentials`] give, the
//! client id as `X-Api-Key` and `X-Adobe-Accept-Experimental: 1`, goes
//! through the engine's one retry loop (5xx, 429 with `Retry-After`, resets,
//! the idle timeout), and is resent once after a 401 when the credentials
//! can refresh. Failures are [`AssetsError`]s with stable codes and the
//! server's problem details. Asset ids are checked ([`AssetId`]) before any
//! request. Calls are cancelled by dropping their futures.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aem_upload_engine::assets::AssetsError> {
//! use std::sync::Arc;
//! use aem_upload_engine::assets::{AssetId, AssetsClient, AssetsOptions};
//! use aem_upload_engine::credentials::StaticCredentials;
//! use reqwest::header::HeaderValue;
//!
//! let auth = StaticCredentials::new(HeaderValue::from_static("Bearer …"));
//! let client = AssetsClient::new(AssetsOptions::new("https://author-p1-e2.adobeaemcloud.com", Arc::new(auth)))?;
//! let id = client.asset_id_for_path("/content/dam/shop/shoe.jpg").await?;
//! let values = serde_json::json!({"dc:title": "Shoe", "pim:sku": "S-1"});
//! client.update_metadata(&id, values.as_object().unwrap(), 3).await?;
//! # Ok(()) }
//! ```

mod error;
mod ids;
mod jobs;
mod lookup;
mod metadata;
mod patch;
mod request;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::Url;

pub use error::{AssetsError, AssetsErrorCode, Problem, Result};
pub use ids::{AssetId, JobRef, ASSET_ID_PREFIX};
pub use jobs::{Deleted, JobStatus, DEFAULT_POLL, MAX_POLL, MIN_POLL};
pub use metadata::{Metadata, MetadataRead};
pub use patch::{normalise_ops, normalise_path};
pub use request::Logger;

use crate::credentials::Credentials;
use crate::http::{Client, ClientOptions, RetryPolicy};
use request::Api;

/// How an [`AssetsClient`] connects and retries.
#[derive(Clone)]
pub struct AssetsOptions {
    /// The author origin, e.g. `https://author-p1-e2.adobeaemcloud.com`.
    pub url: String,
    pub credentials: Arc<dyn Credentials>,
    /// The Developer Console client id, sent as `X-Api-Key`.
    pub api_key: Option<String>,
    /// Retries of a request after a 5xx, a 429, a reset or an idle timeout (default 3).
    pub retry_count: u32,
    /// Wait before the first retry, doubled for each next one, unless the
    /// server sent `Retry-After` (default 1 s).
    pub retry_delay: Duration,
    /// An attempt fails when no byte moves for this long (default 60 s).
    pub idle_timeout: Option<Duration>,
    pub connection: ClientOptions,
    pub log: Option<Logger>,
}

impl AssetsOptions {
    pub fn new(url: impl Into<String>, credentials: Arc<dyn Credentials>) -> AssetsOptions {
        AssetsOptions {
            url: url.into(),
            credentials,
            api_key: None,
            retry_count: 3,
            retry_delay: Duration::from_secs(1),
            idle_timeout: Some(Duration::from_secs(60)),
            connection: ClientOptions::default(),
            log: None,
        }
    }
}

impl std::fmt::Debug for AssetsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetsOptions")
            .field("url", &crate::redact::redact_url(&self.url))
            .field("credentials", &self.credentials)
            .field("api_key", &self.api_key)
            .field("retry_count", &self.retry_count)
            .field("retry_delay", &self.retry_delay)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

/// The Assets Author API client. Cheap to clone; clones share one pooled
/// connection, one cookie jar and the credentials.
#[derive(Clone)]
pub struct AssetsClient {
    api: Arc<Api>,
}

impl std::fmt::Debug for AssetsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetsClient").field("url", &self.api.base.as_str()).finish_non_exhaustive()
    }
}

impl AssetsClient {
    pub fn new(options: AssetsOptions) -> Result<AssetsClient> {
        let base = parse_origin(&options.url)?;
        let api_key = match options.api_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(key) => {
                let mut value = HeaderValue::from_str(key)
                    .map_err(|_| AssetsError::invalid("apiKey is not a valid header value"))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let client = Client::new(&options.connection).map_err(|e| AssetsError::from_engine("AssetsClient", &e))?;
        // As folder creation does: the first retry waits `retry_delay`, then ×2.
        let policy = RetryPolicy {
            idle_timeout: options.idle_timeout,
            ..RetryPolicy::new(options.retry_count.saturating_add(1), options.retry_delay / 2, 2)
        };
        Ok(AssetsClient { api: Arc::new(Api::new(base, client, options.credentials, api_key, policy, options.log)) })
    }

    /// The author origin requests go to.
    pub fn url(&self) -> &Url {
        &self.api.base
    }
}

/// The author URL: absolute http(s), no query, user info or fragment.
fn parse_origin(url: &str) -> Result<Url> {
    let shown = crate::redact::redact_url(url);
    let parsed = Url::parse(url.trim()).map_err(|_| AssetsError::invalid(format!("url {shown:?} is not a URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(AssetsError::invalid(format!("url {shown:?} is not an http(s) URL")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(AssetsError::invalid("url must not carry credentials: give them as auth"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(AssetsError::invalid(format!(
            "url {shown:?} must be the author origin, without query or fragment"
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::StaticCredentials;

    #[test]
    fn the_url_must_be_an_origin() {
        let auth: Arc<dyn Credentials> = Arc::new(StaticCredentials::none());
        for bad in ["", "author.test", "ftp://author.test", "https://u:p@author.test", "https://a.test/?sig=SECRET"] {
            let err = AssetsClient::new(AssetsOptions::new(bad, Arc::clone(&auth))).unwrap_err();
            assert_eq!(err.code(), AssetsErrorCode::InvalidOptions, "{bad}");
            assert!(!err.message().contains("SECRET") && !err.message().contains("u:p"), "{}", err.message());
        }
        let client = AssetsClient::new(AssetsOptions::new("https://author.test/", auth)).unwrap();
        assert_eq!(client.url().as_str(), "https://author.test/");
    }
}
