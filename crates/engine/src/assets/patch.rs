//! JSON Patch operations for the metadata PATCH: the caller's ops with their
//! paths normalised, and the ops that bring a document to given values.
//!
//! Paths address `/assetMetadata/<name>` (docs: the metadata PATCH). The
//! service also resolves a short `/<name>` and, by Adobe's own tutorials, a
//! path without its leading slash; both are sent in the full form here, so
//! that the server never has to guess which group a name belongs to.
//! `repositoryMetadata` is computed by AEM and read-only: the service fails
//! the whole PATCH when an op touches it, so such an op is refused before
//! the request, with the same code (`EINVALIDOPTIONS`) its 400 would give.
//! Other groups (`folderMetadata`, `collectionMetadata`) do not belong to an
//! asset and are refused the same way.

use serde_json::{json, Map, Value};

use super::error::{AssetsError, Result};
use super::ids::shown;

const ASSET_GROUP: &str = "assetMetadata";
const READ_ONLY_GROUP: &str = "repositoryMetadata";
const OTHER_GROUPS: [&str; 2] = ["folderMetadata", "collectionMetadata"];

/// The caller's ops (a JSON array of objects with string `op` and `path`)
/// with `path` and `from` normalised. Op names are passed on as given: the
/// service knows its extensions (`set`, `removeIfExists`, …) and answers an
/// unknown one with a 400.
pub fn normalise_ops(ops: &Value) -> Result<Vec<Value>> {
    let Value::Array(items) = ops else {
        return Err(AssetsError::invalid("JSON Patch ops must be an array of operations"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(op) = item else {
                return Err(AssetsError::invalid(format!("JSON Patch op {i} is not an object")));
            };
            let mut op = op.clone();
            if !matches!(op.get("op"), Some(Value::String(name)) if !name.is_empty()) {
                return Err(AssetsError::invalid(format!("JSON Patch op {i} has no \"op\" name")));
            }
            for key in ["path", "from"] {
                match op.get(key) {
                    Some(Value::String(path)) => {
                        let path = normalise_path(path).map_err(|e| {
                            let message = format!("JSON Patch op {i}: {}", e.message());
                            e.with_message(message)
                        })?;
                        op.insert(key.to_string(), Value::String(path));
                    }
                    None if key == "from" => {}
                    _ => return Err(AssetsError::invalid(format!("JSON Patch op {i} has no string \"{key}\""))),
                }
            }
            Ok(Value::Object(op))
        })
        .collect()
}

/// `/assetMetadata/<name>…` for a full, short or slash-less path.
pub fn normalise_path(path: &str) -> Result<String> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let group = trimmed.split('/').next().unwrap_or("");
    if group.is_empty() {
        return Err(AssetsError::invalid(format!("the path {} names no property", shown(path))));
    }
    if group == READ_ONLY_GROUP {
        return Err(AssetsError::invalid(format!(
            "the path {} is read-only: repositoryMetadata is computed by AEM; write /assetMetadata/<name>",
            shown(path)
        )));
    }
    if OTHER_GROUPS.contains(&group) {
        return Err(AssetsError::invalid(format!(
            "the path {} is not an asset's: asset metadata is under /assetMetadata/<name>",
            shown(path)
        )));
    }
    if group == ASSET_GROUP {
        Ok(format!("/{trimmed}"))
    } else {
        Ok(format!("/{ASSET_GROUP}/{trimmed}"))
    }
}

/// The path of property `name` (a JSON Pointer token, escaped).
fn property_path(name: &str) -> String {
    format!("/{ASSET_GROUP}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// Checks `values` (`{name: value}`, `null` removes) before any request.
pub fn check_values(values: &Map<String, Value>) -> Result<()> {
    for name in values.keys() {
        if name.trim().is_empty() || name.contains('/') || name.chars().any(char::is_control) {
            return Err(AssetsError::invalid(format!(
                "{} is not a property name (give names such as dc:title, not paths)",
                shown(name)
            )));
        }
    }
    Ok(())
}

/// The standard ops that bring `current` (an asset's `assetMetadata`) to
/// `values`: `add` (which replaces an existing member) for each value that
/// differs, `remove` for each `null` whose property exists. Only standard
/// ops are used, and the caller sends them with the tag `current` was read
/// with, so a `remove` can never fail on a property that vanished.
pub fn ops_for_values(current: &Map<String, Value>, values: &Map<String, Value>) -> Vec<Value> {
    let mut ops = Vec::new();
    for (name, value) in values {
        let path = property_path(name);
        match (value, current.get(name)) {
            (Value::Null, Some(_)) => ops.push(json!({"op": "remove", "path": path})),
            (Value::Null, None) => {}
            (value, Some(existing)) if existing == value => {}
            (value, _) => ops.push(json!({"op": "add", "path": path, "value": value})),
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise_path("/dc:title").unwrap(), "/assetMetadata/dc:title");
        assert_eq!(normalise_path("dc:title").unwrap(), "/assetMetadata/dc:title");
        assert_eq!(normalise_path("/assetMetadata/dc:title").unwrap(), "/assetMetadata/dc:title");
        assert_eq!(normalise_path("/xcm:keywords/-").unwrap(), "/assetMetadata/xcm:keywords/-");
        for bad in ["", "/", "/repositoryMetadata/repo:name", "repositoryMetadata", "/folderMetadata/x"] {
            assert_eq!(normalise_path(bad).unwrap_err().code().as_str(), "EINVALIDOPTIONS", "{bad:?}");
        }
    }

    #[test]
    fn ops_are_checked_and_normalised() {
        let ops = json!([
            {"op": "add", "path": "/pim:sku", "value": "A-1"},
            {"op": "move", "from": "dc:title", "path": "/assetMetadata/dc:description"},
            {"op": "set", "path": "wknd-sku", "value": 1}
        ]);
        let out = normalise_ops(&ops).unwrap();
        assert_eq!(out[0]["path"], "/assetMetadata/pim:sku");
        assert_eq!(out[1]["from"], "/assetMetadata/dc:title");
        assert_eq!(out[2]["path"], "/assetMetadata/wknd-sku");
        for bad in [
            json!({}),
            json!([1]),
            json!([{"path": "/a"}]),
            json!([{"op": "add", "value": 1}]),
            json!([{"op": "copy", "from": 3, "path": "/a"}]),
            json!([{"op": "replace", "path": "/repositoryMetadata/repo:size", "value": 1}]),
        ] {
            assert_eq!(normalise_ops(&bad).unwrap_err().code().as_str(), "EINVALIDOPTIONS", "{bad}");
        }
    }

    #[test]
    fn values_become_standard_ops() {
        let current = json!({"dc:title": "Old", "keep": 1, "gone": true}).as_object().unwrap().clone();
        let values = json!({"dc:title": "New", "keep": 1, "gone": null, "absent": null, "a/b~c": [1]})
            .as_object()
            .unwrap()
            .clone();
        let ops = ops_for_values(&current, &values);
        assert_eq!(
            ops,
            vec![
                json!({"op": "add", "path": "/assetMetadata/a~1b~0c", "value": [1]}),
                json!({"op": "add", "path": "/assetMetadata/dc:title", "value": "New"}),
                json!({"op": "remove", "path": "/assetMetadata/gone"}),
            ]
        );
        assert!(check_values(&values).is_err());
        assert!(check_values(json!({"dc:title": 1}).as_object().unwrap()).is_ok());
    }
}
