//! The Assets Author API client, translated: options in, JSON text out, and
//! two bridges into JS (the credentials of a JS `auth` object, and the `log`
//! sink). Each JS call runs on its own `NativeAssetsCall`, so an
//! `AbortSignal` can cancel one call, and the client's signal all of them.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aem_upload_engine::assets::{
    AssetId, AssetsClient, AssetsError, AssetsErrorCode, AssetsOptions, JobRef, Logger, MetadataRead,
};
use aem_upload_engine::credentials::{Credentials, StaticCredentials};
use aem_upload_engine::events::LogLevel;
use aem_upload_engine::{Error as EngineError, ErrorCode};
use futures_util::future::BoxFuture;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

/// `authorize(reason)`: resolves to JSON text, `{"authorization": "…"}`
/// (`null` for none) or `{"error": {"code", "message"}}`. Weak: a client
/// left alive does not keep Node running. (Spelled out where napi reads it:
/// the type generator does not see through aliases.)
type AuthorizeFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

/// Credentials kept in JS (an object with `headers()`), asked for each
/// request. After a 401 they are asked again with the reason
/// `unauthorized`; a different answer is resent once.
struct JsCredentials {
    authorize: AuthorizeFn,
}

impl fmt::Debug for JsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsCredentials")
    }
}

#[derive(Deserialize)]
struct Authorized {
    authorization: Option<String>,
    error: Option<BridgeError>,
}

#[derive(Deserialize)]
struct BridgeError {
    code: Option<String>,
    message: Option<String>,
}

impl JsCredentials {
    async fn ask(&self, reason: &str) -> aem_upload_engine::Result<Option<HeaderValue>> {
        let failed = |message: String| EngineError::new(ErrorCode::NotAuthorized, message);
        let text = match self.authorize.call_async_catch(reason.to_string()).await {
            Ok(promise) => promise.await.map_err(|e| failed(format!("auth failed: {}", e.reason)))?,
            Err(e) => return Err(failed(format!("auth failed: {}", e.reason))),
        };
        let answer: Authorized =
            serde_json::from_str(&text).map_err(|_| failed("auth gave an unreadable answer".into()))?;
        if let Some(error) = answer.error {
            let code = ErrorCode::from_name(error.code.as_deref().unwrap_or(""));
            let code = if code == ErrorCode::Unknown { ErrorCode::NotAuthorized } else { code };
            return Err(EngineError::new(code, format!("auth failed: {}", error.message.unwrap_or_default())));
        }
        match answer.authorization.filter(|v| !v.is_empty()) {
            Some(value) => {
                let mut value = HeaderValue::from_str(&value).map_err(|_| {
                    EngineError::new(
                        ErrorCode::InvalidOptions,
                        "auth gave an Authorization value that is not a valid header",
                    )
                })?;
                value.set_sensitive(true);
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }
}

impl Credentials for JsCredentials {
    fn authorization(&self) -> BoxFuture<'_, aem_upload_engine::Result<Option<HeaderValue>>> {
        Box::pin(self.ask("request"))
    }

    fn unauthorized<'a>(&'a self, used: &'a HeaderValue) -> BoxFuture<'a, aem_upload_engine::Result<bool>> {
        Box::pin(async move { Ok(self.ask("unauthorized").await?.is_some_and(|fresh| fresh != used)) })
    }
}

/// The options of `new AssetsClient()` (already checked by JS).
#[napi(object)]
pub struct NativeAssetsOptions {
    pub url: String,
    pub api_key: Option<String>,
    pub retry_count: Option<u32>,
    /// Milliseconds.
    pub retry_delay: Option<f64>,
    /// Idle timeout of an attempt, milliseconds; 0: none.
    pub timeout: Option<f64>,
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(if value.is_finite() && value > 0.0 { value as u64 } else { 0 })
}

/// An Assets Author API client over one pooled connection.
#[napi]
pub struct NativeAssetsClient {
    client: AssetsClient,
    cancel: CancellationToken,
}

#[napi]
impl NativeAssetsClient {
    /// `authorize(reason)`: the JS credentials bridge (see `JsCredentials`);
    /// absent: no Authorization. `log(level, message)`: the log sink. Bad
    /// options throw a message prefixed with their code (`EINVALIDOPTIONS: …`).
    // The function types are spelled out for napi's type generator.
    #[allow(clippy::type_complexity)]
    #[napi(constructor)]
    pub fn new(
        options: NativeAssetsOptions,
        authorize: Option<ThreadsafeFunction<String, Promise<String>, String, Status, false, true>>,
        log: Option<ThreadsafeFunction<FnArgs<(String, String)>, (), FnArgs<(String, String)>, Status, false, true>>,
    ) -> Result<Self> {
        let credentials: Arc<dyn Credentials> = match authorize {
            Some(authorize) => Arc::new(JsCredentials { authorize }),
            None => Arc::new(StaticCredentials::none()),
        };
        let mut engine = AssetsOptions::new(options.url, credentials);
        engine.api_key = options.api_key;
        if let Some(count) = options.retry_count {
            engine.retry_count = count;
        }
        if let Some(delay) = options.retry_delay {
            engine.retry_delay = millis(delay);
        }
        if let Some(timeout) = options.timeout {
            engine.idle_timeout = Some(millis(timeout)).filter(|t| !t.is_zero());
        }
        engine.log = log.map(|log| {
            let log = Arc::new(log);
            Arc::new(move |level: LogLevel, message: &str| {
                let args = FnArgs::from((level.as_str().to_string(), message.to_string()));
                log.call(args, ThreadsafeFunctionCallMode::NonBlocking);
            }) as Logger
        });
        let client = AssetsClient::new(engine)
            .map_err(|e| napi::Error::new(Status::InvalidArg, format!("{}: {}", e.code(), e.message())))?;
        Ok(NativeAssetsClient { client, cancel: CancellationToken::new() })
    }

    /// A handle for one call: cancelled with the client, or on its own.
    #[napi]
    pub fn call(&self) -> NativeAssetsCall {
        NativeAssetsCall { client: self.client.clone(), cancel: self.cancel.child_token() }
    }

    /// Cancels every call in flight and every later one.
    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// One call of a `NativeAssetsClient`. Every method resolves to JSON text:
/// `{"ok": value}` or `{"error": {code, message, status?, problem?,
/// currentEtag?, job?, detail?}}`.
#[napi]
pub struct NativeAssetsCall {
    client: AssetsClient,
    cancel: CancellationToken,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorRecord<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'a aem_upload_engine::assets::Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_etag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<&'a aem_upload_engine::assets::JobStatus>,
    #[serde(skip_serializing_if = "str::is_empty")]
    detail: &'a str,
}

fn error_json(e: &AssetsError) -> Value {
    let record = ErrorRecord {
        code: e.code().as_str(),
        message: e.message(),
        status: e.status(),
        problem: e.problem(),
        current_etag: e.current_etag(),
        job: e.job(),
        detail: e.detail(),
    };
    json!({ "error": record })
}

impl NativeAssetsCall {
    async fn run<T: Serialize>(&self, work: impl Future<Output = std::result::Result<T, AssetsError>>) -> String {
        let outcome = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(AssetsError::new(AssetsErrorCode::Cancelled, "Cancelled by the caller")),
            outcome = work => outcome,
        };
        match outcome {
            Ok(value) => json!({ "ok": value }),
            Err(e) => error_json(&e),
        }
        .to_string()
    }
}

fn timeout_of(value: Option<f64>) -> Option<Duration> {
    value.map(millis).filter(|t| !t.is_zero())
}

#[napi]
impl NativeAssetsCall {
    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    #[napi]
    pub async fn get_metadata(&self, asset_id: String, if_none_match: Option<String>) -> String {
        self.run(async {
            let id = AssetId::parse(&asset_id)?;
            Ok(match self.client.get_metadata(&id, if_none_match.as_deref()).await? {
                MetadataRead::Document(doc) => serde_json::to_value(doc).unwrap_or_default(),
                MetadataRead::NotModified { etag } => json!({"notModified": true, "etag": etag}),
            })
        })
        .await
    }

    #[napi]
    pub async fn head_metadata(&self, asset_id: String) -> String {
        self.run(async {
            let id = AssetId::parse(&asset_id)?;
            Ok(json!({"etag": self.client.head_metadata(&id).await?}))
        })
        .await
    }

    /// `ops_json`: the caller's JSON Patch array as JSON text.
    #[napi]
    pub async fn patch_metadata(&self, asset_id: String, ops_json: String, if_match: Option<String>) -> String {
        self.run(async {
            let id = AssetId::parse(&asset_id)?;
            let ops: Value = serde_json::from_str(&ops_json)
                .map_err(|_| AssetsError::new(AssetsErrorCode::InvalidOptions, "JSON Patch ops are not JSON"))?;
            self.client.patch_metadata(&id, &ops, if_match.as_deref()).await
        })
        .await
    }

    /// `values_json`: `{name: value}` as JSON text.
    #[napi]
    pub async fn update_metadata(&self, asset_id: String, values_json: String, retries: u32) -> String {
        self.run(async {
            let id = AssetId::parse(&asset_id)?;
            let values: Map<String, Value> = serde_json::from_str(&values_json).map_err(|_| {
                AssetsError::new(AssetsErrorCode::InvalidOptions, "values must be an object of {name: value}")
            })?;
            self.client.update_metadata(&id, &values, retries).await
        })
        .await
    }

    #[napi]
    pub async fn delete_asset(&self, asset_id: String, force: bool, wait: bool, timeout: Option<f64>) -> String {
        self.run(async {
            let id = AssetId::parse(&asset_id)?;
            if wait {
                self.client.delete_asset_and_wait(&id, force, timeout_of(timeout)).await
            } else {
                self.client.delete_asset(&id, force).await
            }
        })
        .await
    }

    /// `job`: a job id or a location.
    #[napi]
    pub async fn get_job_status(&self, job: String) -> String {
        self.run(async { self.client.job_status(&JobRef::parse(&job)?).await }).await
    }

    #[napi]
    pub async fn wait_for_job(&self, job: String, timeout: Option<f64>) -> String {
        self.run(async { self.client.wait_for_job(&JobRef::parse(&job)?, timeout_of(timeout)).await }).await
    }

    #[napi]
    pub async fn asset_id_for_path(&self, dam_path: String) -> String {
        self.run(async { Ok(self.client.asset_id_for_path(&dam_path).await?.to_string()) }).await
    }
}
