//! Auth providers as JS holds them (`require('aem-upload-rs/auth')`): made
//! here from the factories' arguments, handed to a call's session, and asked
//! for a header by `provider.headers()`. The token callback crosses back to
//! JS through a weak threadsafe function (it never keeps Node alive).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aem_upload_engine::auth::callback::CallbackToken;
use aem_upload_engine::auth::ims::ImsOptions;
use aem_upload_engine::auth::{Provider, Reason};
use aem_upload_engine::{Error as EngineError, ErrorCode};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use serde::Deserialize;

use crate::error::NativeError;

/// How a provider reaches IMS.
#[napi(object)]
pub struct NativeImsOptions {
    /// An IMS host, or an origin with a scheme (used as given).
    pub ims_endpoint: Option<String>,
    /// Retries after the first attempt (default 3).
    pub retry_count: Option<f64>,
    /// Base delay in ms (default 5000).
    pub retry_delay: Option<f64>,
    /// Idle timeout of an attempt in ms (default 60000).
    pub timeout: Option<f64>,
    /// An HTTP(S) proxy URL for IMS requests.
    pub proxy: Option<String>,
    /// Extra PEM root certificates.
    pub ca: Option<Vec<String>>,
    /// `false` accepts invalid TLS certificates (default true).
    pub reject_unauthorized: Option<bool>,
}

/// The engine's IMS options from the factory's (defaults where absent).
fn ims_options(options: Option<NativeImsOptions>) -> ImsOptions {
    let mut ims = ImsOptions::default();
    let Some(options) = options else { return ims };
    let whole = |v: Option<f64>| v.filter(|n| n.is_finite() && *n >= 0.0).map(|n| n.floor());
    ims.endpoint = options.ims_endpoint.filter(|e| !e.trim().is_empty());
    if let Some(n) = whole(options.retry_count) {
        ims.retry_count = n.min(100.0) as u32;
    }
    if let Some(n) = whole(options.retry_delay) {
        ims.retry_delay = Duration::from_millis(n as u64);
    }
    if let Some(n) = whole(options.timeout).filter(|n| *n > 0.0) {
        ims.idle_timeout = Some(Duration::from_millis(n as u64));
    }
    ims.connect.proxy = options.proxy.filter(|p| !p.is_empty());
    ims.connect.ca_pem = options.ca.iter().flatten().map(|c| c.as_bytes().to_vec()).collect();
    ims.connect.accept_invalid_certs = options.reject_unauthorized == Some(false);
    ims
}

/// A header for the caller's own request, or why there is none.
#[napi(object)]
pub struct NativeAuthorization {
    pub value: Option<String>,
    pub error: Option<NativeError>,
}

/// The JS wrapper's answer, as JSON: `{token, expiresAt}` or `{error}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallbackAnswer {
    token: Option<String>,
    expires_at: Option<f64>,
    error: Option<String>,
    code: Option<String>,
}

/// The token callback: called with the reason, resolves to a JSON answer
/// (the facade's wrapper never rejects). Weak: never keeps Node alive.
pub type TokenFunction = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

/// One provider; shared by every call it is given to.
#[napi]
pub struct NativeAuth {
    provider: Provider,
}

fn thrown(error: EngineError) -> napi::Error {
    napi::Error::new(Status::InvalidArg, format!("{}: {}", error.code().as_str(), error.message()))
}

#[napi]
impl NativeAuth {
    #[napi(factory)]
    pub fn basic(username: String, password: String) -> napi::Result<NativeAuth> {
        Ok(NativeAuth { provider: Provider::basic(&username, &password).map_err(thrown)? })
    }

    /// A token, the Developer Console's JSON download, or a path to it.
    #[napi(factory)]
    pub fn bearer(source: String) -> napi::Result<NativeAuth> {
        Ok(NativeAuth { provider: Provider::bearer(&source).map_err(thrown)? })
    }

    /// A path or the JSON text; bad material fails at the first use.
    #[napi(factory)]
    pub fn service_credentials(source: String, options: Option<NativeImsOptions>) -> NativeAuth {
        NativeAuth { provider: Provider::service_credentials(&source, ims_options(options)) }
    }

    #[napi(factory)]
    pub fn oauth_server_to_server(
        client_id: String,
        client_secret: String,
        scopes: Vec<String>,
        options: Option<NativeImsOptions>,
    ) -> napi::Result<NativeAuth> {
        let provider = Provider::oauth_server_to_server(&client_id, &client_secret, scopes, ims_options(options))
            .map_err(thrown)?;
        Ok(NativeAuth { provider })
    }

    /// `fetch(reason)` resolves to `{"token", "expiresAt"}` or `{"error", "code"}` as JSON.
    #[napi(factory, ts_args_type = "fetch: (reason: string) => Promise<string>")]
    pub fn token_provider(fetch: TokenFunction) -> NativeAuth {
        let fetch = std::sync::Arc::new(fetch);
        let provider = Provider::callback(Box::new(move |reason: Reason| {
            let fetch = std::sync::Arc::clone(&fetch);
            Box::pin(async move {
                let failed = |message: String| EngineError::new(ErrorCode::NotAuthorized, message);
                let promise = fetch
                    .call_async(reason.as_str().to_string())
                    .await
                    .map_err(|e| failed(format!("The token provider could not be called: {}", e.reason)))?;
                let json = promise.await.map_err(|e| failed(format!("The token provider failed: {}", e.reason)))?;
                let answer: CallbackAnswer = serde_json::from_str(&json)
                    .map_err(|_| failed("The token provider gave an answer that is not a token".into()))?;
                if let Some(error) = answer.error {
                    let code = answer.code.as_deref().map_or(ErrorCode::NotAuthorized, ErrorCode::from_name);
                    let code = if code == ErrorCode::Unknown { ErrorCode::NotAuthorized } else { code };
                    return Err(EngineError::new(code, format!("The token provider failed: {error}")));
                }
                let token = answer.token.ok_or_else(|| failed("The token provider gave no token".into()))?;
                let expires_at = answer
                    .expires_at
                    .filter(|ms| ms.is_finite() && *ms > 0.0)
                    .map(|ms| UNIX_EPOCH + Duration::from_millis(ms as u64))
                    .filter(|at| *at > UNIX_EPOCH && *at < SystemTime::now() + Duration::from_secs(366 * 86_400));
                Ok(CallbackToken { token, expires_at })
            })
        }));
        NativeAuth { provider }
    }

    /// `basic`, `bearer`, `serviceCredentials`, `oauthServerToServer` or `tokenProvider`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.provider.kind().to_string()
    }

    /// Public identifiers only (a user name, a client id), as JSON.
    #[napi]
    pub fn public_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> =
            self.provider.public().iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone()))).collect();
        serde_json::Value::Object(map).to_string()
    }

    /// The `Authorization` value now (fetching or refreshing a token as needed).
    #[napi]
    pub async fn authorization(&self) -> NativeAuthorization {
        match self.provider.authorization().await {
            Ok(value) => {
                NativeAuthorization { value: value.and_then(|v| v.to_str().ok().map(String::from)), error: None }
            }
            Err(error) => NativeAuthorization { value: None, error: Some((&error).into()) },
        }
    }
}

impl NativeAuth {
    pub(crate) fn provider(&self) -> &Provider {
        &self.provider
    }
}
