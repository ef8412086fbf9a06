//! Presigned blob URLs (`docs/protocol.md §2`): a path of their own. A blob
//! PUT is built here from its URL, its own headers and its body only; it
//! cannot reach the AEM session's credentials, user headers or cookies, so
//! none of them can ever leak to blob storage.

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use tokio_util::sync::CancellationToken;

use crate::http::{Answer, BodyFactory, Client, Failure, Request, RetryPolicy, Trace};

/// Sends to presigned URLs over the call's pooled client.
#[derive(Clone)]
pub struct BlobClient {
    client: Client,
}

impl BlobClient {
    pub fn new(client: Client) -> BlobClient {
        BlobClient { client }
    }

    /// PUTs one part to a presigned `url` with only `headers` (content type
    /// and length, the file's part headers), retried as `policy` says.
    pub async fn put(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: BodyFactory<'_>,
        policy: &RetryPolicy,
        cancel: &CancellationToken,
        trace: &dyn Trace,
    ) -> Result<Answer, Failure> {
        let request = Request::new(Method::PUT, url, headers, body);
        self.client.send_traced(&request, policy, cancel, trace).await
    }
}
