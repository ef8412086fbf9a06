//! What authorises a request to AEM: the one seam auth providers plug into.
//!
//! The AEM session asks its [`Credentials`] for an `Authorization` value before
//! every request to the AEM origin (initiate, complete, folders, create-asset,
//! the Author API), never for presigned blob URLs. A provider that holds tokens
//! (service credentials, OAuth server-to-server, a token callback) caches them,
//! refreshes them itself before they expire, and is told when AEM answered 401
//! so it can fetch a fresh one; the session then resends that request once.

use std::fmt;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderValue;

use crate::Result;

/// Supplies the `Authorization` header of AEM requests.
///
/// Implementations are shared by every request of every call that uses them,
/// so they must be cheap to ask and must coalesce concurrent refreshes into
/// one (single flight). Their `Debug` shows the kind and public identifiers
/// only (a client id, a user name), never a secret or a token.
pub trait Credentials: Send + Sync + fmt::Debug {
    /// The `Authorization` value for the next request, or `None` to send none.
    /// The value should be marked sensitive (`HeaderValue::set_sensitive`).
    fn authorization(&self) -> BoxFuture<'_, Result<Option<HeaderValue>>>;

    /// AEM answered 401 to a request sent with `used`. Returns `true` when a
    /// different value is now available and the request may be resent once;
    /// `false` (the default, for fixed credentials) fails it as it is.
    fn unauthorized<'a>(&'a self, used: &'a HeaderValue) -> BoxFuture<'a, Result<bool>> {
        let _ = used;
        Box::pin(async { Ok(false) })
    }
}

/// A fixed header, or none: what `httpOptions.headers.Authorization` gives.
#[derive(Clone, Default)]
pub struct StaticCredentials {
    value: Option<HeaderValue>,
}

impl StaticCredentials {
    /// Sends `value` (marked sensitive) on every AEM request.
    pub fn new(mut value: HeaderValue) -> StaticCredentials {
        value.set_sensitive(true);
        StaticCredentials { value: Some(value) }
    }

    /// Sends no `Authorization` header.
    pub fn none() -> StaticCredentials {
        StaticCredentials { value: None }
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.value.as_ref().and_then(|v| v.to_str().ok()).and_then(|v| v.split(' ').next());
        f.debug_struct("StaticCredentials").field("scheme", &scheme).finish()
    }
}

impl Credentials for StaticCredentials {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<HeaderValue>>> {
        let value = self.value.clone();
        Box::pin(async move { Ok(value) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_credentials_send_their_value_and_never_show_it() {
        let creds = StaticCredentials::new(HeaderValue::from_static("Bearer canary-token"));
        let value = creds.authorization().await.unwrap().unwrap();
        assert!(value.is_sensitive());
        assert_eq!(value, "Bearer canary-token");
        assert!(!creds.unauthorized(&value).await.unwrap());
        let shown = format!("{creds:?}");
        assert!(shown.contains("Bearer") && !shown.contains("canary"), "{shown}");
        assert!(StaticCredentials::none().authorization().await.unwrap().is_none());
    }
}
