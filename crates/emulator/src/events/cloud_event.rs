//! The CloudEvents 1.0 bodies AEM's asset events arrive in, as I/O Events
//! delivers them (docs/protocol.md, "Asset events"; the envelope of captured
//! deliveries): the producer's `id` and, distinct from it, I/O Events'
//! `event_id`/`eventid` (the `x-adobe-event-id` header, the same on every
//! redelivery), both spellings of the recipient client id, and `data` with the
//! asset's id and its metadata documents.

use serde_json::{json, Map, Value};

/// The asset event types the emulator emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    ProcessingCompleted,
    MetadataUpdated,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ProcessingCompleted => "aem.assets.asset.processing_completed",
            EventType::MetadataUpdated => "aem.assets.asset.metadata_updated",
            EventType::Deleted => "aem.assets.asset.deleted",
        }
    }
}

/// One event, built once: retries and duplicates send these exact bytes.
pub struct Event {
    pub kind: EventType,
    /// I/O Events' id (`x-adobe-event-id`, `event_id`, `eventid`).
    pub event_id: String,
    pub asset_id: String,
    pub path: String,
    pub body: bytes::Bytes,
}

/// `acct:aem-p<programId>-e<environmentId>@adobe.com`, the source of AEM's events.
pub fn source(program_id: u64, environment_id: u64) -> String {
    format!("acct:aem-p{program_id}-e{environment_id}@adobe.com")
}

/// Builds an event. `document` is the asset's Author API metadata document
/// (`{assetId, assetMetadata, repositoryMetadata}`); `repo:size` goes out as
/// a string, as real deliveries carry it.
pub fn build(kind: EventType, source: &str, client_id: &str, document: &Value, changes: Option<Changes>) -> Event {
    let asset_id = document["assetId"].as_str().unwrap_or_default().to_string();
    let path = document["repositoryMetadata"]["repo:path"].as_str().unwrap_or_default().to_string();
    let mut repository = document["repositoryMetadata"].as_object().cloned().unwrap_or_default();
    if let Some(size) = repository.get("repo:size").and_then(Value::as_u64) {
        repository.insert("repo:size".into(), Value::String(size.to_string()));
    }
    let mut data = json!({"assetId": asset_id, "repositoryMetadata": repository});
    if kind != EventType::Deleted {
        let mut metadata = document["assetMetadata"].as_object().cloned().unwrap_or_default();
        if let Some(changes) = changes {
            changes.write_into(&mut metadata);
        }
        data["assetMetadata"] = Value::Object(metadata);
    }
    let event_id = crate::ids::random_uuid().to_string();
    let body = json!({
        "specversion": "1.0",
        "id": crate::ids::random_uuid().to_string(),
        "source": source,
        "type": kind.as_str(),
        "datacontenttype": "application/json",
        "time": crate::author::rfc3339(std::time::SystemTime::now()),
        "eventid": event_id,
        "event_id": event_id,
        "recipientclientid": client_id,
        "recipient_client_id": client_id,
        "data": data,
    });
    Event { kind, event_id, asset_id, path, body: serde_json::to_vec(&body).expect("JSON serialises").into() }
}

/// The metadata names a `metadata_updated` event lists under
/// `assetMetadata["event:created" | "event:updated" | "event:deleted"]`
/// (captured deliveries show `event:created`; the other two are inferred).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub deleted: Vec<String>,
}

impl Changes {
    pub fn between(before: &Map<String, Value>, after: &Map<String, Value>) -> Changes {
        let mut changes = Changes::default();
        for (name, value) in after {
            match before.get(name) {
                None => changes.created.push(name.clone()),
                Some(old) if old != value => changes.updated.push(name.clone()),
                Some(_) => {}
            }
        }
        changes.deleted = before.keys().filter(|name| !after.contains_key(*name)).cloned().collect();
        changes
    }

    fn write_into(self, metadata: &mut Map<String, Value>) {
        for (key, names) in
            [("event:created", self.created), ("event:updated", self.updated), ("event:deleted", self.deleted)]
        {
            if !names.is_empty() {
                metadata.insert(key.into(), json!(names));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        json!({
            "assetId": "urn:aaid:aem:0b5e3f1c-3c1d-4b4e-9a43-6b2f5a1c9e01",
            "assetMetadata": {"dc:title": "Shoe"},
            "repositoryMetadata": {"repo:path": "/content/dam/a.jpg", "repo:size": 12, "aem:assetState": "processed"},
        })
    }

    #[test]
    fn the_envelope_of_a_delivery() {
        let event = build(EventType::ProcessingCompleted, &source(7, 8), "client", &document(), None);
        let body: Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(body["specversion"], "1.0");
        assert_eq!(body["source"], "acct:aem-p7-e8@adobe.com");
        assert_eq!(body["type"], "aem.assets.asset.processing_completed");
        assert_eq!(body["event_id"], event.event_id);
        assert_eq!(body["eventid"], event.event_id);
        assert_ne!(body["id"], event.event_id);
        assert_eq!(body["recipient_client_id"], "client");
        assert_eq!(body["recipientclientid"], "client");
        assert_eq!(body["data"]["repositoryMetadata"]["repo:size"], "12");
        assert_eq!(body["data"]["assetMetadata"]["dc:title"], "Shoe");
        assert_eq!(
            (event.path.as_str(), event.asset_id.as_str()),
            ("/content/dam/a.jpg", body["data"]["assetId"].as_str().unwrap())
        );

        let deleted = build(EventType::Deleted, &source(1, 1), "c", &document(), None);
        let body: Value = serde_json::from_slice(&deleted.body).unwrap();
        assert!(body["data"].get("assetMetadata").is_none());
    }

    #[test]
    fn changes_are_listed_by_kind() {
        let before = json!({"a": 1, "b": 2, "c": 3});
        let after = json!({"a": 1, "b": 20, "d": 4});
        let changes = Changes::between(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(
            changes,
            Changes { created: vec!["d".into()], updated: vec!["b".into()], deleted: vec!["c".into()] }
        );
        let event = build(EventType::MetadataUpdated, &source(1, 1), "c", &document(), Some(changes));
        let body: Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(body["data"]["assetMetadata"]["event:created"], json!(["d"]));
        assert_eq!(body["data"]["assetMetadata"]["event:deleted"], json!(["c"]));
    }
}
