//! A call's AEM session as JS holds it: one pooled client, the user's
//! headers and credentials, and the cookies of the call, shared by its
//! folder creation and its transfer.

use std::collections::HashMap;
use std::sync::Arc;

use aem_upload_engine::folders::{self, FolderCreated, FolderOptions};
use aem_upload_engine::http::{Client, ClientOptions};
use aem_upload_engine::remote::{Origin, RemoteSource};
use aem_upload_engine::session::AemSession;
use aem_upload_engine::upload::{CancelToken, UploadOptions};
use aem_upload_engine::{Error as EngineError, ErrorCode};
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::auth::NativeAuth;
use crate::error::{invalid, NativeError};
use crate::options::{NativeFolderOptions, NativeOptions, NativeSessionOptions};

/// One call's session. `cancel()` aborts its folder requests in flight
/// (they then fail with EUSERCANCELLED) and every later one; a transfer
/// has its own cancel.
#[napi]
pub struct NativeSession {
    session: Arc<AemSession>,
    cancel: CancelToken,
    /// How to connect, for the origins of URL sources: the same proxy, CA
    /// and TLS rules as AEM, on a client of their own (no AEM credentials).
    connect: ClientOptions,
}

impl NativeSession {
    pub(crate) fn session(&self) -> Arc<AemSession> {
        Arc::clone(&self.session)
    }

    /// A client for the origins of a call's URL sources.
    pub(crate) fn origin(&self) -> napi::Result<Arc<Origin>> {
        Origin::new(&self.connect).map_err(|e| invalid(e.message()))
    }
}

/// The outcome of one folder POST.
#[napi(object)]
pub struct NativeFolderResult {
    /// created, exists or failed
    pub status: String,
    pub elapsed_time: f64,
    pub retry_errors: Vec<NativeError>,
    pub error: Option<NativeError>,
}

#[napi]
impl NativeSession {
    /// Fails (EINVALIDOPTIONS-like `InvalidArg`) on an unusable proxy or CA.
    /// With `auth` (`withAuth(provider)`), the provider authorises every AEM
    /// request instead of an `Authorization` header.
    #[napi(constructor)]
    pub fn new(options: NativeSessionOptions, auth: Option<&NativeAuth>) -> napi::Result<Self> {
        let connect = ClientOptions::from(&options);
        let client = Client::new(&connect).map_err(|e| invalid(e.message()))?;
        let headers: Vec<(String, String)> = options.headers.into_iter().collect();
        let mut session = AemSession::new(client, &headers);
        if let Some(n) = options.max_aem_requests.filter(|n| n.is_finite()) {
            session = session.with_max_aem_requests(n.max(1.0) as usize);
        }
        if let Some(auth) = auth {
            session = session.with_credentials(auth.provider().credentials());
        }
        Ok(NativeSession { session: Arc::new(session), cancel: CancelToken::new(), connect })
    }

    /// What the origins of URL sources without a `fileSize` say: per file, in
    /// order, `{size}` or `{error}` (docs/remote-sources.md §1). Probes run up
    /// to `maxConcurrent` at once, with the call's retries and timeouts.
    #[napi]
    pub async fn probe_sources(&self, files: String, options: NativeOptions) -> napi::Result<String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Probed {
            source_url: String,
            source_headers: Option<HashMap<String, String>>,
        }
        #[derive(Serialize)]
        struct Outcome {
            #[serde(skip_serializing_if = "Option::is_none")]
            size: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<NativeError>,
        }
        use futures_util::StreamExt;
        let files: Vec<Probed> =
            serde_json::from_str(&files).map_err(|e| invalid(format!("sources are not valid JSON: {e}")))?;
        let origin = self.origin()?;
        let upload = UploadOptions::from(&options);
        let policy = upload.policy();
        let outcomes: Vec<Outcome> = futures_util::stream::iter(files)
            .map(|file| {
                let (origin, policy, cancel) = (Arc::clone(&origin), policy.clone(), self.cancel.clone());
                async move {
                    let headers: Vec<(String, String)> = file.source_headers.unwrap_or_default().into_iter().collect();
                    let probed = match RemoteSource::new(origin, &file.source_url, &headers) {
                        Ok(remote) => remote.probe(&policy, &cancel).await.and_then(|probe| {
                            probe.length.ok_or_else(|| {
                                EngineError::new(
                                    ErrorCode::InvalidOptions,
                                    format!(
                                        "The origin {} gives no length for the file, and fileSize is not set",
                                        remote.shown()
                                    ),
                                )
                            })
                        }),
                        Err(error) => Err(error),
                    };
                    match probed {
                        Ok(size) => Outcome { size: Some(size), error: None },
                        Err(error) => Outcome { size: None, error: Some(NativeError::from(&error)) },
                    }
                }
            })
            .buffered(upload.max_concurrent.get())
            .collect()
            .await;
        serde_json::to_string(&outcomes).map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// Creates folders (decoded paths, titles) in list order, parents first,
    /// up to `inFlight` at a time (`folders::create_folders`): outcomes in
    /// list order, ending at the first failure.
    #[napi]
    pub async fn create_folders(
        &self,
        url_prefix: String,
        paths: Vec<String>,
        titles: Vec<String>,
        in_flight: u32,
        options: NativeFolderOptions,
    ) -> napi::Result<Vec<NativeFolderResult>> {
        if paths.len() != titles.len() {
            return Err(invalid("createFolders needs a title for every path"));
        }
        let list: Vec<(String, String)> = paths.into_iter().zip(titles).collect();
        let options = FolderOptions::from(&options);
        let outcomes =
            folders::create_folders(&self.session, &options, &url_prefix, &list, in_flight as usize, &self.cancel)
                .await;
        Ok(outcomes.into_iter().map(folder_result).collect())
    }

    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

fn folder_result(outcome: aem_upload_engine::Result<FolderCreated>) -> NativeFolderResult {
    match outcome {
        Ok(created) => NativeFolderResult {
            status: if created.created { "created" } else { "exists" }.into(),
            elapsed_time: created.elapsed.as_millis() as f64,
            retry_errors: created.retry_errors.iter().map(NativeError::from).collect(),
            error: None,
        },
        Err(error) => NativeFolderResult {
            status: "failed".into(),
            elapsed_time: 0.0,
            retry_errors: Vec::new(),
            error: Some((&error).into()),
        },
    }
}
