//! What a webhook receiver makes of one request from Adobe I/O Events, and
//! the status it answers (I/O Events retries 429 and 5xx except 505, for up
//! to 24 hours, and drops an event on any other failure).
//!
//! The HTTP framework side (reading the body, calling the user's handler)
//! is the caller's; this decides: which events are new ([`Receiver`]), and
//! what to answer once the handler ran ([`Reception::status`],
//! [`settled_status`]).

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::dedupe::{dedupe_key, EventDeduper};
use super::parse::{parse_each, AssetEvent};
use super::signature::{SignatureHeaders, Verifier};
use super::{signed_payload, EventError, EventErrorCode};

/// The header I/O Events puts each event's id in (= body `event_id`).
pub const EVENT_ID_HEADER: &str = "x-adobe-event-id";
const MAX_CHALLENGE_LEN: usize = 512;

/// The outcome of one delivery.
#[derive(Debug)]
pub enum Reception {
    /// A handshake: answer 200 with `{"challenge": value}`.
    Challenge(String),
    /// Refused as a whole.
    Refused(EventError),
    /// Verified: the events that parsed and are new, in body order; how
    /// many were duplicates (left out); the ones that did not parse.
    Events { events: Vec<AssetEvent>, duplicates: usize, invalid: Vec<EventError> },
}

impl Reception {
    /// The status to answer once the caller has handled `events` successfully:
    /// 200; 401 for a signature refused for good; 503 when a key could not be
    /// fetched (so I/O Events retries); 400 for a body that is not an asset
    /// event, or a batch with any event that is not (the others are handled).
    pub fn status(&self) -> u16 {
        match self {
            Reception::Challenge(_) => 200,
            Reception::Refused(err) if err.is_transient() => 503,
            Reception::Refused(err) if err.code() == EventErrorCode::Signature => 401,
            Reception::Refused(_) => 400,
            Reception::Events { invalid, .. } if !invalid.is_empty() => 400,
            Reception::Events { .. } => 200,
        }
    }
}

/// The status once the handler has run for every new event of a delivery:
/// 500 when it failed for any (I/O Events then retries the delivery, and
/// the failed events were forgotten, so the retry reaches the handler), else
/// 400 when some event of it is invalid (the valid ones were handled), else 200.
pub fn settled_status(failed: usize, invalid: usize) -> u16 {
    match (failed, invalid) {
        (0, 0) => 200,
        (0, _) => 400,
        _ => 500,
    }
}

impl AssetEvent {
    /// The key its duplicates share: the I/O Events id when known, else
    /// (`source`, `id`) (see [`dedupe_key`]).
    pub fn dedupe_key(&self) -> String {
        dedupe_key(self.event_id.as_deref(), Some(&self.source), Some(&self.id))
            .unwrap_or_else(|| format!("c\n{}\n{}", self.source, self.id))
    }
}

/// One webhook's receiving side: the verifier (and its key cache), the
/// client id events must be for, and the events already handled, which
/// several receivers may share.
pub struct Receiver {
    verifier: Arc<Verifier>,
    client_id: Option<String>,
    deduper: Option<Arc<Mutex<EventDeduper>>>,
}

impl Receiver {
    pub fn new(
        verifier: Arc<Verifier>,
        client_id: Option<String>,
        deduper: Option<Arc<Mutex<EventDeduper>>>,
    ) -> Receiver {
        Receiver { verifier, client_id, deduper }
    }

    /// Verifies and parses one delivery, and leaves out the events already
    /// handled (a redelivery, a retry whose answer was lost, the same event
    /// twice in a batch). Each event returned is remembered from now: call
    /// [`Receiver::failed`] for those the handler could not handle.
    pub async fn receive<'a>(
        &self,
        body: &[u8],
        headers: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Reception {
        let mut reception = receive(&self.verifier, body, headers, self.client_id.as_deref()).await;
        if let (Reception::Events { events, duplicates, .. }, Some(deduper)) = (&mut reception, &self.deduper) {
            let mut deduper = deduper.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let before = events.len();
            events.retain(|event| !deduper.seen(&event.dedupe_key()));
            *duplicates = before - events.len();
        }
        reception
    }

    /// The handler failed for `event`: forget it, so that I/O Events'
    /// retry is handled instead of counted as a duplicate.
    pub fn failed(&self, event_key: &str) {
        if let Some(deduper) = &self.deduper {
            deduper.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).forget(event_key);
        }
    }
}

/// The handshake value to echo, if this request is one: I/O Events sends
/// `GET <webhook>?challenge=<uuid>` on registration; a Runtime-style POST
/// carries it as `?challenge=` or as a JSON body `{"challenge": "…"}`. Only
/// short printable values are echoed, so the answer cannot be made into
/// anything but a challenge.
pub fn challenge(query_challenge: Option<&str>, body: &[u8]) -> Option<String> {
    let acceptable = |value: &str| {
        !value.is_empty() && value.len() <= MAX_CHALLENGE_LEN && value.bytes().all(|b| b.is_ascii_graphic())
    };
    if let Some(value) = query_challenge {
        return acceptable(value).then(|| value.to_string());
    }
    let payload = signed_payload(body);
    if payload.len() > 4 * MAX_CHALLENGE_LEN {
        return None;
    }
    match serde_json::from_slice::<Value>(&payload).ok()? {
        Value::Object(object) if object.len() == 1 => match object.get("challenge") {
            Some(Value::String(value)) if acceptable(value) => Some(value.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// Verifies and parses one delivery. `headers` are all the request's
/// headers, names in any case.
pub async fn receive<'a>(
    verifier: &Verifier,
    body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    client_id: Option<&str>,
) -> Reception {
    let signature = SignatureHeaders::from_pairs(headers.clone());
    // A body that is not JSON has no recipient to check: its signature
    // decides between 401 (not from I/O Events) and 400 (signed, but no event).
    let json = super::parse::parse_json(body);
    let client_id = client_id.filter(|_| json.is_ok());
    if let Err(err) = verifier.verify(body, &signature, client_id).await {
        return Reception::Refused(err);
    }
    if let Err(err) = json {
        return Reception::Refused(err);
    }
    let results = match parse_each(body) {
        Ok(results) => results,
        Err(err) => return Reception::Refused(err),
    };
    let single = results.len() == 1;
    let header_event_id = headers
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(EVENT_ID_HEADER))
        .map(|(_, value)| value.trim().to_string())
        .filter(|id| !id.is_empty() && id.len() <= super::parse::MAX_ID_LEN);
    let mut events = Vec::with_capacity(results.len());
    let mut invalid = Vec::new();
    for result in results {
        match result {
            Ok(mut event) => {
                // The header names the event of a single delivery.
                if single && event.event_id.is_none() {
                    event.event_id = header_event_id.clone();
                }
                events.push(event);
            }
            Err(err) => invalid.push(err),
        }
    }
    Reception::Events { events, duplicates: 0, invalid }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::asset_events::signature::tests::{MapKeys, ADOBE_KEY, ADOBE_PAYLOAD, ADOBE_SIGNATURE};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    fn verifier() -> Verifier {
        let keys = HashMap::from([("/k1.pem".to_string(), ADOBE_KEY.to_string())]);
        Verifier::new(Arc::new(MapKeys { keys, ..MapKeys::default() }))
    }

    #[test]
    fn challenges_from_query_or_body() {
        assert_eq!(
            challenge(Some("8ec8d794-e0ab-42df-9017-e3dada8e84f7"), b"").as_deref(),
            Some("8ec8d794-e0ab-42df-9017-e3dada8e84f7")
        );
        assert_eq!(challenge(None, br#"{"challenge":"abc"}"#).as_deref(), Some("abc"));
        assert_eq!(challenge(Some("<script>alert 1</script>"), b""), None);
        assert_eq!(challenge(Some(""), b""), None);
        assert_eq!(challenge(None, br#"{"challenge":"abc","specversion":"1.0"}"#), None);
        assert_eq!(challenge(None, br#"{"validationUrl":"https://csm.adobe.io/x"}"#), None);
        assert_eq!(challenge(None, b"not json"), None);
    }

    #[test]
    fn a_signed_body_that_is_no_asset_event_is_a_400_and_an_unsigned_one_a_401() {
        let v = verifier();
        let headers = [("X-Adobe-Digital-Signature-1", ADOBE_SIGNATURE), ("x-adobe-public-key1-path", "/k1.pem")];
        // Adobe's test payload is signed but is not a CloudEvent.
        let r = block_on(receive(&v, ADOBE_PAYLOAD.as_bytes(), headers, Some("client_id1")));
        assert_eq!(r.status(), 400, "{r:?}");
        let r = block_on(receive(&v, b"{}", headers, None));
        assert_eq!(r.status(), 401, "{r:?}");
        let r = block_on(receive(&v, ADOBE_PAYLOAD.as_bytes(), [("x-other", "1")], None));
        assert_eq!(r.status(), 401);
        let transient = Reception::Refused(EventError::signature(super::super::error::reason::KEY_UNAVAILABLE, "down"));
        assert_eq!(transient.status(), 503);
        assert_eq!(Reception::Challenge("x".into()).status(), 200);
        assert_eq!(Reception::Events { events: vec![], duplicates: 0, invalid: vec![] }.status(), 200);
    }

    #[test]
    fn settled_statuses_make_io_events_retry_only_what_failed() {
        assert_eq!(settled_status(0, 0), 200);
        assert_eq!(settled_status(0, 2), 400);
        assert_eq!(settled_status(1, 0), 500);
        assert_eq!(settled_status(1, 1), 500);
    }
}
