//! The AEM session of one call: every request to the AEM origin (initiate,
//! complete, folders, create-asset) goes through [`AemSession::send`], which
//! adds what authorises it (a [`Credentials`]), the user's headers and the
//! call's cookies (`docs/protocol.md §4`), and sends it through the engine's
//! one retry loop ([`Client::send`]). A 401 is told to the credentials, and
//! when they have a fresh value the request is sent once more.
//!
//! Every attempt waits for room in the call's [`AemLimit`], which adapts to
//! AEM's 429s.
//!
//! Presigned blob URLs never come here: they go through [`crate::blob`].

use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use tokio_util::sync::CancellationToken;

use crate::aem_limit::AemLimit;
use crate::blob::BlobClient;
use crate::credentials::{Credentials, StaticCredentials};
use crate::http::{header_map, Answer, Client, CookieJar, Failure, Request, RetryPolicy, Trace};

/// One call's conversation with AEM: its client, credentials, headers and
/// cookies. Shared by the call's folder creation and its transfer.
pub struct AemSession {
    client: Client,
    credentials: Arc<dyn Credentials>,
    headers: HeaderMap,
    cookies: CookieJar,
    /// How many of the call's AEM requests are in flight (`crate::aem_limit`).
    limit: AemLimit,
}

impl AemSession {
    /// A session over `client` with the user's headers
    /// (`httpOptions.headers`): `Authorization` becomes static credentials,
    /// `Cookie` seeds the cookie jar, and the others go on every AEM request
    /// (`docs/compat.md §2.3`). Invalid headers are dropped.
    pub fn new(client: Client, headers: &[(String, String)]) -> AemSession {
        let cookies = CookieJar::default();
        let mut credentials = StaticCredentials::none();
        let mut plain = Vec::new();
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("cookie") {
                cookies.seed(value);
            } else if name.eq_ignore_ascii_case("authorization") {
                if let Ok(value) = HeaderValue::from_str(value) {
                    credentials = StaticCredentials::new(value);
                }
            } else {
                plain.push((name.clone(), value.clone()));
            }
        }
        AemSession {
            client,
            credentials: Arc::new(credentials),
            headers: header_map(&plain),
            cookies,
            limit: AemLimit::adaptive(),
        }
    }

    /// Authorises requests with `credentials` (a token provider) instead of
    /// any `Authorization` header given to [`AemSession::new`].
    pub fn with_credentials(self, credentials: Arc<dyn Credentials>) -> AemSession {
        AemSession { credentials, ..self }
    }

    /// Keeps at most `n` AEM requests in flight, instead of a limit that
    /// adapts to AEM's answers (`withMaxAemRequests`; benchmarks compare the two).
    pub fn with_max_aem_requests(self, n: usize) -> AemSession {
        AemSession { limit: AemLimit::fixed(n), ..self }
    }

    /// The limit of the session's AEM requests.
    pub fn aem_limit(&self) -> &AemLimit {
        &self.limit
    }

    /// The path to presigned blob URLs, over the same pooled client.
    pub fn blobs(&self) -> BlobClient {
        BlobClient::new(self.client.clone())
    }

    /// Sends `request` to AEM with the session's credentials, headers (the
    /// request's own win) and cookies, retried as `policy` says; a 401 is
    /// resent once when the credentials have a fresh value.
    pub async fn send(
        &self,
        request: Request<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        trace: &dyn Trace,
    ) -> Result<Answer, Failure> {
        let mut headers = self.headers.clone();
        let mut last = None;
        for (name, value) in request.headers {
            match name {
                Some(name) => {
                    headers.insert(name.clone(), value);
                    last = Some(name);
                }
                // A further value of the header before it.
                None => drop(last.as_ref().map(|name| headers.append(name.clone(), value))),
            }
        }
        let mut request = Request { headers, cookies: Some(&self.cookies), limit: Some(&self.limit), ..request };
        let mut refreshed = false;
        loop {
            let used = self.credentials.authorization().await.map_err(Failure::from)?;
            match &used {
                Some(value) => request.headers.insert(AUTHORIZATION, value.clone()),
                None => request.headers.remove(AUTHORIZATION),
            };
            let result = self.client.send_traced(&request, policy, cancel, trace).await;
            match (&result, &used) {
                (Err(failure), Some(used)) if failure.status == Some(StatusCode::UNAUTHORIZED) && !refreshed => {
                    if !self.credentials.unauthorized(used).await.map_err(Failure::from)? {
                        return result;
                    }
                    refreshed = true;
                }
                _ => return result,
            }
        }
    }

    /// POSTs a form (initiate, complete).
    pub async fn post_form(
        &self,
        url: &Url,
        form: bytes::Bytes,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        trace: &dyn Trace,
    ) -> Result<Answer, Failure> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        self.send(Request::with_bytes(Method::POST, url, headers, form), policy, cancel, trace).await
    }
}

impl fmt::Debug for AemSession {
    /// Header names and the kind of credentials, never a value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AemSession")
            .field("credentials", &self.credentials)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
