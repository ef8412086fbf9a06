//! CloudEvents 1.0 bodies of AEM asset events, single or batched, into
//! [`AssetEvent`]s.
//!
//! Strict where a wrong value would mislead a consumer (the CloudEvents
//! attributes, the `aem.assets.` type family, the `source` that names the AEM
//! program and environment), tolerant of what real deliveries vary in:
//! `repo:size` as a string or a number, `aem:assetState` in any case, extra
//! attributes (I/O Events adds `event_id`, `recipient_client_id` and their
//! unseparated twins), `datacontenttype` of either JSON media type.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{signed_payload, EventError};

/// The type prefix of every AEM Assets event.
pub const TYPE_PREFIX: &str = "aem.assets.";

/// Longest `id` or event id accepted: real ones are UUIDs, and a deduper
/// holds up to its `max` of them.
pub const MAX_ID_LEN: usize = 512;

/// The asset event types AEM documents; any other `aem.assets.` type is
/// [`AssetEventType::Other`] and passed through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetEventType {
    /// Processing of an upload finished: the asset is usable ("asset created").
    ProcessingCompleted,
    MetadataUpdated,
    Deleted,
    Published,
    Unpublished,
    Downloaded,
    Other,
}

impl AssetEventType {
    const KNOWN: [(&'static str, AssetEventType); 6] = [
        ("aem.assets.asset.processing_completed", AssetEventType::ProcessingCompleted),
        ("aem.assets.asset.metadata_updated", AssetEventType::MetadataUpdated),
        ("aem.assets.asset.deleted", AssetEventType::Deleted),
        ("aem.assets.asset.published", AssetEventType::Published),
        ("aem.assets.asset.unpublished", AssetEventType::Unpublished),
        ("aem.assets.asset.downloaded", AssetEventType::Downloaded),
    ];

    pub fn of(event_type: &str) -> AssetEventType {
        Self::KNOWN.iter().find(|(name, _)| *name == event_type).map_or(AssetEventType::Other, |(_, t)| *t)
    }

    /// The full type name, `None` for [`AssetEventType::Other`].
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN.iter().find(|(_, t)| *t == self).map(|(name, _)| *name)
    }

    /// Whether AEM documents `data.assetId` for this type (protocol.md, asset
    /// events), so an event without one is refused.
    fn requires_asset_id(self) -> bool {
        matches!(self, AssetEventType::ProcessingCompleted | AssetEventType::MetadataUpdated | AssetEventType::Deleted)
    }
}

/// One asset event. Serialises to the JS shape
/// `{id, eventId, source, type, time, programId, environmentId, assetId, path, size, assetState, data}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetEvent {
    /// The CloudEvents `id`, unique per `source`.
    pub id: String,
    /// The Adobe I/O Events id of the event (`event_id`, = header
    /// `x-adobe-event-id`), when the body or the delivery carries one.
    pub event_id: Option<String>,
    pub source: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(skip)]
    pub kind: AssetEventType,
    /// RFC 3339, as sent (AEM sends nanoseconds).
    pub time: Option<String>,
    /// From `source`: `acct:aem-p<programId>-e<environmentId>@adobe.com`.
    pub program_id: String,
    pub environment_id: String,
    /// `data.assetId` (or `data.repositoryMetadata["repo:assetId"]`).
    pub asset_id: Option<String>,
    /// `data.repositoryMetadata["repo:path"]`.
    pub path: Option<String>,
    /// `repo:size` as a number (AEM sends a string).
    pub size: Option<u64>,
    /// `aem:assetState` in lower case (`processed`, `failed`, …).
    pub asset_state: Option<String>,
    /// `data` as sent, `null` when absent.
    pub data: Value,
    /// `recipient_client_id` (or `recipientclientid`), kept for the signature check.
    #[serde(skip)]
    pub recipient_client_id: Option<String>,
}

/// A body: one event, or a batch (a JSON array).
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    One(Box<AssetEvent>),
    Batch(Vec<AssetEvent>),
}

impl Parsed {
    pub fn into_vec(self) -> Vec<AssetEvent> {
        match self {
            Parsed::One(event) => vec![*event],
            Parsed::Batch(events) => events,
        }
    }
}

/// Parses a body; a batch with any bad event fails as a whole, naming it.
pub fn parse(body: &[u8]) -> Result<Parsed, EventError> {
    match parse_json(body)? {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_value(item).map_err(|e| e.context(format_args!("Event {i} of the batch"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Parsed::Batch),
        value => parse_value(&value).map(|event| Parsed::One(Box::new(event))),
    }
}

/// Parses a body event by event, so that one bad event of a batch does not
/// hide the others. Fails as a whole only when the body is not JSON.
pub fn parse_each(body: &[u8]) -> Result<Vec<Result<AssetEvent, EventError>>, EventError> {
    Ok(match parse_json(body)? {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_value(item).map_err(|e| e.context(format_args!("Event {i} of the batch"))))
            .collect(),
        value => vec![parse_value(&value)],
    })
}

/// The body as JSON (serde_json bounds nesting, so no input can exhaust the stack).
pub fn parse_json(body: &[u8]) -> Result<Value, EventError> {
    let payload = signed_payload(body);
    if payload.trim_ascii().is_empty() {
        return Err(EventError::invalid("The body is empty"));
    }
    serde_json::from_slice(&payload).map_err(|e| EventError::invalid(format!("The body is not JSON: {e}")))
}

/// Checks and reads one CloudEvent.
pub fn parse_value(value: &Value) -> Result<AssetEvent, EventError> {
    let Value::Object(event) = value else {
        return Err(EventError::invalid(format!("An event is a JSON object, not {}", kind_of(value))));
    };
    match event.get("specversion") {
        Some(Value::String(v)) if v == "1.0" => {}
        Some(Value::String(v)) => {
            return Err(EventError::invalid(format!("specversion is \"{}\", not \"1.0\"", shorten(v))))
        }
        Some(other) => return Err(EventError::invalid(format!("specversion is {}, not \"1.0\"", kind_of(other)))),
        None => return Err(EventError::invalid("specversion is missing")),
    }
    let id = id_attribute(event, "id")?.ok_or_else(|| EventError::invalid("id is missing"))?;
    let source = required_string(event, "source")?;
    let (program_id, environment_id) = aem_account(source).ok_or_else(|| {
        EventError::invalid(format!(
            "source \"{}\" is not an AEM account (acct:aem-p<program>-e<environment>@adobe.com)",
            shorten(source)
        ))
    })?;
    let event_type = required_string(event, "type")?;
    if !event_type.starts_with(TYPE_PREFIX) || event_type.len() == TYPE_PREFIX.len() {
        return Err(EventError::invalid(format!("type \"{}\" is not an AEM Assets event type", shorten(event_type))));
    }
    let kind = AssetEventType::of(event_type);
    let time = optional_string(event, "time")?;
    if let Some(Value::String(content_type)) = event.get("datacontenttype") {
        if !is_json_media_type(content_type) {
            return Err(EventError::invalid(format!("datacontenttype \"{}\" is not JSON", shorten(content_type))));
        }
    }
    let event_id = match id_attribute(event, "event_id")? {
        Some(id) => Some(id),
        None => id_attribute(event, "eventid")?,
    };
    let recipient_client_id = match optional_string(event, "recipient_client_id")? {
        Some(id) => Some(id),
        None => optional_string(event, "recipientclientid")?,
    };

    let data = event.get("data").cloned().unwrap_or(Value::Null);
    let fields = read_data(&data, kind)?;
    Ok(AssetEvent {
        id,
        event_id,
        source: source.to_string(),
        event_type: event_type.to_string(),
        kind,
        time,
        program_id: program_id.to_string(),
        environment_id: environment_id.to_string(),
        asset_id: fields.asset_id,
        path: fields.path,
        size: fields.size,
        asset_state: fields.asset_state,
        data,
        recipient_client_id,
    })
}

#[derive(Default)]
struct DataFields {
    asset_id: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    asset_state: Option<String>,
}

fn read_data(data: &Value, kind: AssetEventType) -> Result<DataFields, EventError> {
    let object = match data {
        Value::Object(object) => object,
        Value::Null if !kind.requires_asset_id() => return Ok(DataFields::default()),
        Value::Null => return Err(EventError::invalid("data is missing")),
        // An unknown type may carry anything; a known one carries an object.
        _ if kind == AssetEventType::Other => return Ok(DataFields::default()),
        other => return Err(EventError::invalid(format!("data is {}, not an object", kind_of(other)))),
    };
    let repo = match object.get("repositoryMetadata") {
        Some(Value::Object(repo)) => Some(repo),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(EventError::invalid(format!("data.repositoryMetadata is {}, not an object", kind_of(other))))
        }
    };
    let repo_string = |name: &str| -> Result<Option<String>, EventError> {
        match repo.and_then(|r| r.get(name)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(EventError::invalid(format!(
                "data.repositoryMetadata[\"{name}\"] is {}, not a string",
                kind_of(other)
            ))),
        }
    };
    let asset_id = match object.get("assetId") {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        None | Some(Value::Null) => repo_string("repo:assetId")?.filter(|id| !id.is_empty()),
        Some(Value::String(_)) => return Err(EventError::invalid("data.assetId is empty")),
        Some(other) => return Err(EventError::invalid(format!("data.assetId is {}, not a string", kind_of(other)))),
    };
    if asset_id.is_none() && kind.requires_asset_id() {
        return Err(EventError::invalid(format!(
            "data.assetId is missing (required for {})",
            kind.name().unwrap_or("this type")
        )));
    }
    let size = match repo.and_then(|r| r.get("repo:size")) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    let asset_state = repo.and_then(|r| r.get("aem:assetState")).and_then(Value::as_str).map(str::to_ascii_lowercase);
    Ok(DataFields { asset_id, path: repo_string("repo:path")?, size, asset_state })
}

/// `acct:aem-p<N>-e<N>@adobe.com` or `acct:aem-cmstg-p<N>-e<N>@adobe.com`
/// (the Assets API's `^acct:aem(-cmstg)?-p\d+-e\d+@adobe\.com$`): program
/// and environment ids.
pub fn aem_account(source: &str) -> Option<(&str, &str)> {
    let rest = source.strip_prefix("acct:aem-")?.strip_suffix("@adobe.com")?;
    let rest = rest.strip_prefix("cmstg-").unwrap_or(rest);
    let (program, environment) = rest.strip_prefix('p')?.split_once("-e")?;
    let digits = |s: &str| (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    (digits(program) && digits(environment)).then_some((program, environment))
}

fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

fn required_string<'a>(event: &'a Map<String, Value>, name: &str) -> Result<&'a str, EventError> {
    match event.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(EventError::invalid(format!("{name} is empty"))),
        Some(other) => Err(EventError::invalid(format!("{name} is {}, not a string", kind_of(other)))),
        None => Err(EventError::invalid(format!("{name} is missing"))),
    }
}

fn optional_string(event: &Map<String, Value>, name: &str) -> Result<Option<String>, EventError> {
    match event.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(EventError::invalid(format!("{name} is {}, not a string", kind_of(other)))),
    }
}

fn id_attribute(event: &Map<String, Value>, name: &str) -> Result<Option<String>, EventError> {
    match optional_string(event, name)? {
        Some(id) if id.is_empty() => Err(EventError::invalid(format!("{name} is empty"))),
        Some(id) if id.len() > MAX_ID_LEN => {
            Err(EventError::invalid(format!("{name} is longer than {MAX_ID_LEN} bytes")))
        }
        id => Ok(id),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value quoted in a message, cut to a readable length on a char boundary.
fn shorten(value: &str) -> String {
    const MAX: usize = 80;
    if value.len() <= MAX {
        return value.escape_debug().to_string();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", value[..end].escape_debug())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset_events::EventErrorCode;
    use proptest::prelude::*;
    use serde_json::json;

    /// A `processing_completed` as AEM delivers it (shape of a captured
    /// event, see wave2-protocols research: `repo:size` a string, lowercase
    /// `aem:assetState`, I/O Events' extra attributes).
    pub(crate) fn processing_completed() -> Value {
        json!({
            "specversion": "1.0",
            "id": "b5f6a0c2-0b1e-4a4e-9d61-7f4bb0b6a5a1",
            "source": "acct:aem-p142461-e1463137@adobe.com",
            "type": "aem.assets.asset.processing_completed",
            "datacontenttype": "application/json",
            "time": "2025-09-19T16:59:29.185456239Z",
            "eventid": "4c0ed2d4-0fd4-4f5b-9d5c-6d1d3d9e1a11",
            "event_id": "4c0ed2d4-0fd4-4f5b-9d5c-6d1d3d9e1a11",
            "recipientclientid": "client-1",
            "recipient_client_id": "client-1",
            "data": {
                "assetId": "urn:aaid:aem:8f3d2c1b-1111-4c2d-9e8f-0a1b2c3d4e5f",
                "repositoryMetadata": {
                    "repo:repositoryId": "author-p142461-e1463137.adobeaemcloud.com",
                    "repo:assetId": "urn:aaid:aem:8f3d2c1b-1111-4c2d-9e8f-0a1b2c3d4e5f",
                    "repo:path": "/content/dam/wknd/hero.jpg",
                    "repo:name": "hero.jpg",
                    "repo:size": "10759203",
                    "dc:format": "image/jpeg",
                    "aem:assetState": "processed"
                },
                "assetMetadata": { "xcm:machineKeywords": [{ "confidence": 0.9, "value": "mountain" }] }
            }
        })
    }

    fn bytes(value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).unwrap()
    }

    fn one(value: &Value) -> Result<AssetEvent, EventError> {
        match parse(&bytes(value))? {
            Parsed::One(event) => Ok(*event),
            Parsed::Batch(_) => panic!("a batch"),
        }
    }

    fn reason_of(value: Value) -> String {
        let err = one(&value).unwrap_err();
        assert_eq!(err.code(), EventErrorCode::InvalidEvent);
        err.message().to_string()
    }

    #[test]
    fn a_real_delivery_reads_into_its_fields() {
        let event = one(&processing_completed()).unwrap();
        assert_eq!(event.id, "b5f6a0c2-0b1e-4a4e-9d61-7f4bb0b6a5a1");
        assert_eq!(event.event_id.as_deref(), Some("4c0ed2d4-0fd4-4f5b-9d5c-6d1d3d9e1a11"));
        assert_eq!(event.kind, AssetEventType::ProcessingCompleted);
        assert_eq!(event.program_id, "142461");
        assert_eq!(event.environment_id, "1463137");
        assert_eq!(event.asset_id.as_deref(), Some("urn:aaid:aem:8f3d2c1b-1111-4c2d-9e8f-0a1b2c3d4e5f"));
        assert_eq!(event.path.as_deref(), Some("/content/dam/wknd/hero.jpg"));
        assert_eq!(event.size, Some(10_759_203));
        assert_eq!(event.asset_state.as_deref(), Some("processed"));
        assert_eq!(event.time.as_deref(), Some("2025-09-19T16:59:29.185456239Z"));
        assert_eq!(event.recipient_client_id.as_deref(), Some("client-1"));
        assert_eq!(event.data, processing_completed()["data"]);
        let js = serde_json::to_value(&event).unwrap();
        assert_eq!(js["type"], "aem.assets.asset.processing_completed");
        assert_eq!(js["eventId"], "4c0ed2d4-0fd4-4f5b-9d5c-6d1d3d9e1a11");
        assert_eq!(js["programId"], "142461");
        assert!(js.get("recipientClientId").is_none() && js.get("kind").is_none());
    }

    #[test]
    fn quirks_of_real_deliveries_are_tolerated() {
        let mut event = processing_completed();
        event["data"]["repositoryMetadata"]["repo:size"] = json!(42);
        event["data"]["repositoryMetadata"]["aem:assetState"] = json!("Processed");
        event["datacontenttype"] = json!("application/cloudevents+json; charset=UTF-8");
        event["dataschema"] = json!("https://example.com/schema");
        event["somethingNew"] = json!({"nested": [1, 2]});
        event.as_object_mut().unwrap().remove("event_id");
        let parsed = one(&event).unwrap();
        assert_eq!(parsed.size, Some(42));
        assert_eq!(parsed.asset_state.as_deref(), Some("processed"));
        // eventid (without underscore) alone is enough.
        assert_eq!(parsed.event_id.as_deref(), Some("4c0ed2d4-0fd4-4f5b-9d5c-6d1d3d9e1a11"));
        // The cmstg account form, and an unparsable size that is simply not read.
        event["source"] = json!("acct:aem-cmstg-p1-e22@adobe.com");
        event["data"]["repositoryMetadata"]["repo:size"] = json!("about 3 MB");
        let parsed = one(&event).unwrap();
        assert_eq!((parsed.program_id.as_str(), parsed.environment_id.as_str()), ("1", "22"));
        assert_eq!(parsed.size, None);
        // Leading whitespace and a UTF-8 body.
        let mut body = b"  \n".to_vec();
        body.extend(bytes(&processing_completed()));
        assert!(matches!(parse(&body).unwrap(), Parsed::One(_)));
    }

    #[test]
    fn batches_give_every_event_and_name_a_bad_one() {
        let mut second = processing_completed();
        second["id"] = json!("second");
        second["type"] = json!("aem.assets.asset.deleted");
        let batch = json!([processing_completed(), second]);
        let Parsed::Batch(events) = parse(&bytes(&batch)).unwrap() else { panic!("not a batch") };
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].kind, AssetEventType::Deleted);
        assert_eq!(parse(b"[]").unwrap(), Parsed::Batch(vec![]));

        let bad = json!([processing_completed(), {"specversion": "0.3"}]);
        let err = parse(&bytes(&bad)).unwrap_err();
        assert!(err.message().starts_with("Event 1 of the batch: specversion is \"0.3\""), "{}", err.message());
        let each = parse_each(&bytes(&bad)).unwrap();
        assert!(each[0].is_ok() && each[1].is_err());
    }

    #[test]
    fn unknown_asset_types_pass_through_and_other_families_are_refused() {
        let mut event = processing_completed();
        event["type"] = json!("aem.assets.folder.created");
        event["data"] = json!(["anything"]);
        let parsed = one(&event).unwrap();
        assert_eq!(parsed.kind, AssetEventType::Other);
        assert_eq!(parsed.event_type, "aem.assets.folder.created");
        assert_eq!(parsed.asset_id, None);
        event["data"] = Value::Null;
        assert!(one(&event).is_ok());
        for other in
            ["aem.sites.contentFragment.modified", "com.adobe.testevent", "aem.assets.", "AEM.ASSETS.asset.deleted"]
        {
            event["type"] = json!(other);
            assert!(reason_of(event.clone()).contains("not an AEM Assets event type"), "{other}");
        }
        // Every documented type is typed.
        for (name, kind) in AssetEventType::KNOWN {
            assert_eq!(AssetEventType::of(name), kind);
            assert_eq!(kind.name(), Some(name));
        }
    }

    #[test]
    fn each_required_attribute_is_checked_with_its_reason() {
        let without = |name: &str| {
            let mut event = processing_completed();
            event.as_object_mut().unwrap().remove(name);
            event
        };
        assert_eq!(reason_of(without("specversion")), "specversion is missing");
        assert_eq!(reason_of(without("id")), "id is missing");
        assert_eq!(reason_of(without("source")), "source is missing");
        assert_eq!(reason_of(without("type")), "type is missing");
        assert_eq!(reason_of(without("data")), "data is missing");
        let with = |name: &str, value: Value| {
            let mut event = processing_completed();
            event[name] = value;
            event
        };
        assert_eq!(reason_of(with("specversion", json!(1.0))), "specversion is a number, not \"1.0\"");
        assert_eq!(reason_of(with("id", json!(""))), "id is empty");
        assert_eq!(reason_of(with("id", json!(7))), "id is a number, not a string");
        assert_eq!(reason_of(with("id", json!("x".repeat(600)))), "id is longer than 512 bytes");
        assert_eq!(reason_of(with("time", json!(12))), "time is a number, not a string");
        assert_eq!(reason_of(with("datacontenttype", json!("text/xml"))), "datacontenttype \"text/xml\" is not JSON");
        assert_eq!(reason_of(with("data", json!("x"))), "data is a string, not an object");
        for source in [
            "author-p12345-e123456.adobeaemcloud.com",
            "acct:aem-p-e1@adobe.com",
            "acct:aem-p1-e1@adobe.com.evil",
            "acct:aem-stage-p1-e1@adobe.com",
            "acct:aem-p1x-e1@adobe.com",
        ] {
            assert!(reason_of(with("source", json!(source))).contains("is not an AEM account"), "{source}");
        }
        let mut event = processing_completed();
        event["data"].as_object_mut().unwrap().remove("assetId");
        event["data"]["repositoryMetadata"].as_object_mut().unwrap().remove("repo:assetId");
        assert_eq!(reason_of(event), "data.assetId is missing (required for aem.assets.asset.processing_completed)");
        assert_eq!(one(&json!("text")).unwrap_err().message(), "An event is a JSON object, not a string");
        assert_eq!(parse(b"").unwrap_err().message(), "The body is empty");
        assert!(parse(b"{\"specversion\"").unwrap_err().message().starts_with("The body is not JSON"));
    }

    #[test]
    fn a_runtime_action_body_in_base64_parses() {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes(&processing_completed()));
        assert!(matches!(parse(encoded.as_bytes()).unwrap(), Parsed::One(_)));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(parse(deep.as_bytes()).unwrap_err().code(), EventErrorCode::InvalidEvent);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_and_fail_as_invalid_events(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(err) = parse(&body) {
                prop_assert_eq!(err.code(), EventErrorCode::InvalidEvent);
            }
            let _ = parse_each(&body);
        }

        #[test]
        fn mutated_real_events_never_panic(
            drop in proptest::sample::select(vec!["id", "source", "type", "specversion", "data", "time", "event_id"]),
            value in prop_oneof![
                Just(Value::Null), any::<bool>().prop_map(Value::from), any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from), ".{0,40}".prop_map(Value::from),
                Just(json!([])), Just(json!({}))
            ],
            target in proptest::sample::select(vec!["id", "source", "type", "time", "data", "event_id", "recipient_client_id", "specversion"]),
            repo_field in proptest::sample::select(vec!["repo:size", "repo:path", "aem:assetState", "repo:assetId"]),
            cut in 0usize..2000,
        ) {
            let mut event = processing_completed();
            event.as_object_mut().unwrap().remove(drop);
            event[target] = value.clone();
            let body = bytes(&event);
            if let Err(err) = parse(&body) { prop_assert_eq!(err.code(), EventErrorCode::InvalidEvent); }
            let _ = parse(&body[..cut.min(body.len())]);
            let mut event = processing_completed();
            event["data"]["repositoryMetadata"][repo_field] = value;
            if let Err(err) = parse(&bytes(&event)) { prop_assert_eq!(err.code(), EventErrorCode::InvalidEvent); }
        }
    }
}
