//! Asset events (`aem-upload-rs/events`), translated: bodies and headers in,
//! events and `EventError` data out as JSON text (wrapped by `events/index.js`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aem_upload_engine::asset_events::dedupe::{self, EventDeduper};
use aem_upload_engine::asset_events::signature::{HttpKeySource, KeyFetchError, KeySource, Verifier};
use aem_upload_engine::asset_events::webhook::{self, Receiver, Reception};
use aem_upload_engine::asset_events::{parse, EventError, Parsed, SignatureHeaders};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use serde::Serialize;
use serde_json::json;

/// An `EventError` as data.
#[napi(object)]
#[derive(Serialize)]
pub struct NativeEventError {
    pub code: String,
    pub reason: String,
    pub message: String,
}

impl From<&EventError> for NativeEventError {
    fn from(e: &EventError) -> Self {
        NativeEventError { code: e.code().as_str().into(), reason: e.reason().into(), message: e.message().into() }
    }
}

fn invalid_arg(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

/// Parses a body: `{"event": …}` (an object, or an array for a batch) or `{"error": …}`.
#[napi]
pub fn parse_asset_event_json(body: Buffer) -> String {
    let answer = match parse(&body) {
        Ok(Parsed::One(event)) => json!({ "event": *event }),
        Ok(Parsed::Batch(events)) => json!({ "event": events }),
        Err(err) => json!({ "error": NativeEventError::from(&err) }),
    };
    answer.to_string()
}

/// The handshake value to echo, if the request is one.
#[napi]
pub fn webhook_challenge(query_challenge: Option<String>, body: Buffer) -> Option<String> {
    webhook::challenge(query_challenge.as_deref(), &body)
}

/// The user's `fetchKey(path)`, wrapped by JS to always resolve to a PEM
/// string ('' when it has no such key); a rejection means "not now".
type FetchKeyFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

struct JsKeySource(FetchKeyFn);

impl KeySource for JsKeySource {
    fn fetch<'a>(
        &'a self,
        path: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<String, KeyFetchError>> + Send + 'a>> {
        Box::pin(async move {
            let unavailable = |e: Error| KeyFetchError::Unavailable(format!("fetchKey failed: {}", e.reason));
            let pem = self.0.call_async(path.to_string()).await.map_err(unavailable)?.await.map_err(unavailable)?;
            if pem.is_empty() {
                return Err(KeyFetchError::NotFound("fetchKey has no such key".into()));
            }
            Ok(pem)
        })
    }
}

/// Verifies deliveries, caching the keys it fetched: from `keyBaseUrl`
/// (default Adobe's key host) or through `fetchKey`.
#[napi]
pub struct NativeEventVerifier {
    inner: Arc<Verifier>,
}

#[napi]
impl NativeEventVerifier {
    #[napi(constructor)]
    pub fn new(
        key_base_url: Option<String>,
        #[napi(ts_arg_type = "((path: string) => Promise<string>) | undefined | null")] fetch_key: Option<FetchKeyFn>,
        key_ttl_ms: Option<f64>,
        timeout_ms: Option<f64>,
    ) -> Result<Self> {
        let source: Arc<dyn KeySource> = match fetch_key {
            Some(fetch_key) => Arc::new(JsKeySource(fetch_key)),
            None => {
                let timeout = Duration::from_millis(timeout_ms.unwrap_or(10_000.0).max(1.0) as u64);
                Arc::new(HttpKeySource::new(key_base_url.as_deref(), timeout).map_err(invalid_arg)?)
            }
        };
        let mut verifier = Verifier::new(source);
        if let Some(ttl) = key_ttl_ms {
            verifier = verifier.with_key_ttl(Duration::from_millis(ttl.max(0.0) as u64));
        }
        Ok(NativeEventVerifier { inner: Arc::new(verifier) })
    }

    /// Resolves `null` when the delivery verifies, else the refusal.
    #[napi]
    pub async fn verify(
        &self,
        body: Buffer,
        headers: HashMap<String, String>,
        client_id: Option<String>,
    ) -> Result<Option<NativeEventError>> {
        let verifier = Arc::clone(&self.inner);
        let signature = SignatureHeaders::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        Ok(verifier.verify(&body, &signature, client_id.as_deref()).await.err().map(|e| NativeEventError::from(&e)))
    }
}

/// One webhook's receiving side over the engine's [`Receiver`]: verifies,
/// parses, and leaves out events already handled.
#[napi]
pub struct NativeWebhookReceiver {
    inner: Arc<Receiver>,
}

#[napi]
impl NativeWebhookReceiver {
    #[napi(constructor)]
    pub fn new(
        verifier: &NativeEventVerifier,
        client_id: Option<String>,
        deduper: Option<&NativeEventDeduper>,
    ) -> Self {
        let deduper = deduper.map(|d| Arc::clone(&d.inner));
        NativeWebhookReceiver { inner: Arc::new(Receiver::new(Arc::clone(&verifier.inner), client_id, deduper)) }
    }

    /// One delivery: JSON `{status, challenge?, error?, events?, duplicates?,
    /// invalid?}`, `events` the new ones (each with its `key` for `failed`),
    /// `status` the answer if the handler succeeds for all of them.
    #[napi]
    pub async fn receive(&self, body: Buffer, headers: HashMap<String, String>) -> Result<String> {
        let receiver = Arc::clone(&self.inner);
        let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let reception = receiver.receive(&body, pairs).await;
        let status = reception.status();
        let answer = match reception {
            Reception::Challenge(challenge) => json!({ "status": status, "challenge": challenge }),
            Reception::Refused(err) => json!({ "status": status, "error": NativeEventError::from(&err) }),
            Reception::Events { events, duplicates, invalid } => json!({
                "status": status,
                "keys": events.iter().map(|e| e.dedupe_key()).collect::<Vec<_>>(),
                "events": events,
                "duplicates": duplicates,
                "invalid": invalid.iter().map(NativeEventError::from).collect::<Vec<_>>(),
            }),
        };
        Ok(answer.to_string())
    }

    /// The handler failed for the events with these keys: forgotten, so the
    /// retry is handled. Returns the status to answer (`settled_status`).
    #[napi]
    pub fn settle(&self, failed_keys: Vec<String>, invalid: u32) -> u32 {
        for key in &failed_keys {
            self.inner.failed(key);
        }
        u32::from(webhook::settled_status(failed_keys.len(), invalid as usize))
    }
}

/// Which events were already handled, bounded at `max`.
#[napi]
pub struct NativeEventDeduper {
    inner: Arc<Mutex<EventDeduper>>,
}

fn key_of(event_id: Option<String>, source: Option<String>, id: Option<String>) -> Result<String> {
    dedupe::dedupe_key(event_id.as_deref(), source.as_deref(), id.as_deref())
        .ok_or_else(|| invalid_arg("An event needs an eventId (event_id), or both source and id"))
}

#[napi]
impl NativeEventDeduper {
    #[napi(constructor)]
    pub fn new(max: f64, ttl_ms: f64) -> Self {
        let deduper = EventDeduper::new(max.max(1.0) as usize, Duration::from_millis(ttl_ms.max(0.0) as u64));
        NativeEventDeduper { inner: Arc::new(Mutex::new(deduper)) }
    }

    /// Whether the event was seen within the TTL; if not, it is remembered now.
    #[napi]
    pub fn seen(&self, event_id: Option<String>, source: Option<String>, id: Option<String>) -> Result<bool> {
        let key = key_of(event_id, source, id)?;
        Ok(self.inner.lock().unwrap().seen(&key))
    }

    /// Forgets the event, so its redelivery is handled again.
    #[napi]
    pub fn forget(&self, event_id: Option<String>, source: Option<String>, id: Option<String>) -> Result<bool> {
        let key = key_of(event_id, source, id)?;
        Ok(self.inner.lock().unwrap().forget(&key))
    }

    /// Events remembered now.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.inner.lock().unwrap().len() as u32
    }
}
