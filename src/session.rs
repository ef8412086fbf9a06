//! A call's AEM session as JS holds it: one pooled client, the user's
//! headers and credentials, and the cookies of the call, shared by its
//! folder creation and its transfer.

use std::sync::Arc;

use aem_upload_engine::folders::{self, FolderCreated, FolderOptions};
use aem_upload_engine::http::Client;
use aem_upload_engine::session::AemSession;
use aem_upload_engine::upload::CancelToken;
use napi_derive::napi;

use crate::error::{invalid, NativeError};
use crate::options::{NativeFolderOptions, NativeSessionOptions};

/// One call's session. `cancel()` aborts its folder requests in flight
/// (they then fail with EUSERCANCELLED) and every later one; a transfer
/// has its own cancel.
#[napi]
pub struct NativeSession {
    session: Arc<AemSession>,
    cancel: CancelToken,
}

impl NativeSession {
    pub(crate) fn session(&self) -> Arc<AemSession> {
        Arc::clone(&self.session)
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
    #[napi(constructor)]
    pub fn new(options: NativeSessionOptions) -> napi::Result<Self> {
        let client = Client::new(&(&options).into()).map_err(|e| invalid(e.message()))?;
        let headers: Vec<(String, String)> = options.headers.into_iter().collect();
        Ok(NativeSession { session: Arc::new(AemSession::new(client, &headers)), cancel: CancelToken::new() })
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
