//! What a webhook receiver makes of one request from Adobe I/O Events, and
//! the status it answers (I/O Events retries 429 and 5xx except 505, for up
//! to 24 hours, and drops an event on any other failure).
//!
//! The HTTP framework side (reading the body, calling the user's handler,
//! remembering handled events) is the caller's; this decides.

use serde_json::Value;

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
    /// Verified: the events that parsed, in body order, and the ones that did not.
    Events { events: Vec<AssetEvent>, invalid: Vec<EventError> },
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
    Reception::Events { events, invalid }
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
        assert_eq!(Reception::Events { events: vec![], invalid: vec![] }.status(), 200);
    }
}
