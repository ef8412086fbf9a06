//! AEM's JSON Patch dialect for an asset's metadata (docs: the Assets Author
//! API's metadata PATCH): the RFC 6902 ops (`add`, `remove`, `replace`,
//! `test`, `move`, `copy`) plus AEM's `set` (upsert) and `removeIfExists`,
//! on paths that address `/assetMetadata/<name>…`, the short `/<name>…` or a
//! slash-less `<name>…` (Adobe's own tutorials send both). Anything under
//! `repositoryMetadata` is computed and read-only.
//!
//! The whole patch is atomic: the ops run on a copy, handed back only when
//! every one of them succeeded. A library for RFC 6902 would cover only the
//! standard half and none of the path forms, so the dialect is written here.

use serde_json::{Map, Value};

/// Why a patch was refused (a 400 with this detail).
#[derive(Debug, PartialEq, Eq)]
pub struct PatchError(pub String);

type Result<T> = std::result::Result<T, PatchError>;

fn fail<T>(detail: impl Into<String>) -> Result<T> {
    Err(PatchError(detail.into()))
}

/// Applies `ops` (the request body, parsed) to a copy of `metadata`.
pub fn apply(metadata: &Map<String, Value>, ops: &Value) -> Result<Map<String, Value>> {
    let Value::Array(ops) = ops else {
        return fail("the body must be a JSON Patch array of operations");
    };
    let mut doc = Value::Object(metadata.clone());
    for (i, op) in ops.iter().enumerate() {
        apply_op(&mut doc, op).map_err(|PatchError(detail)| PatchError(format!("operation {i}: {detail}")))?;
    }
    match doc {
        Value::Object(map) => Ok(map),
        _ => unreachable!("the root is never replaced"),
    }
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<()> {
    let Value::Object(op) = op else { return fail("not an object") };
    let Some(name) = op.get("op").and_then(Value::as_str) else { return fail("no \"op\"") };
    let path = tokens(op.get("path"), "path")?;
    let value = || op.get("value").cloned().ok_or_else(|| PatchError(format!("\"{name}\" needs a \"value\"")));
    match name {
        "add" => add(doc, &path, value()?),
        "replace" => {
            remove(doc, &path)?;
            add(doc, &path, value()?)
        }
        "set" => {
            let value = value()?;
            let _ = remove(doc, &path);
            add(doc, &path, value)
        }
        "remove" => remove(doc, &path).map(drop),
        "removeIfExists" => {
            let _ = remove(doc, &path);
            Ok(())
        }
        "test" => {
            let expected = value()?;
            match get(doc, &path) {
                Some(actual) if *actual == expected => Ok(()),
                Some(_) => fail(format!("test failed: {} differs", shown(&path))),
                None => fail(format!("test failed: {} does not exist", shown(&path))),
            }
        }
        "move" => {
            let from = tokens(op.get("from"), "from")?;
            if path.len() > from.len() && path[..from.len()] == from[..] {
                return fail("cannot move a value into itself");
            }
            let moved = remove(doc, &from)?;
            add(doc, &path, moved)
        }
        "copy" => {
            let from = tokens(op.get("from"), "from")?;
            let copied =
                get(doc, &from).cloned().ok_or_else(|| PatchError(format!("{} does not exist", shown(&from))))?;
            add(doc, &path, copied)
        }
        other => fail(format!("unknown op \"{other}\"")),
    }
}

/// The JSON Pointer tokens of a patch path, relative to `assetMetadata`.
fn tokens(path: Option<&Value>, field: &str) -> Result<Vec<String>> {
    let Some(path) = path.and_then(Value::as_str) else { return fail(format!("no string \"{field}\"")) };
    let relative = path.strip_prefix('/').unwrap_or(path);
    let mut tokens: Vec<String> = relative.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    match tokens[0].as_str() {
        "repositoryMetadata" | "assetId" => {
            return fail(format!("{path} is read-only: repositoryMetadata is computed from the asset"))
        }
        "folderMetadata" | "collectionMetadata" => {
            return fail(format!("{path} is not an asset's: write /assetMetadata/<name>"))
        }
        "assetMetadata" => {
            tokens.remove(0);
        }
        _ => {}
    }
    if tokens.first().is_none_or(String::is_empty) {
        return fail(format!("{path:?} names no property: write /assetMetadata/<name>"));
    }
    Ok(tokens)
}

fn shown(tokens: &[String]) -> String {
    format!("/assetMetadata/{}", tokens.join("/"))
}

/// An array index token: digits without a leading zero.
fn index(token: &str) -> Option<usize> {
    let canonical = token == "0" || (!token.starts_with('0') && token.bytes().all(|b| b.is_ascii_digit()));
    if canonical {
        token.parse().ok()
    } else {
        None
    }
}

fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |node, token| match node {
        Value::Object(map) => map.get(token),
        Value::Array(items) => index(token).and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The container a path's last token lives in.
fn parent<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value> {
    let (_, ancestors) = tokens.split_last().expect("paths name a property");
    let mut node = doc;
    for token in ancestors {
        node = match node {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => index(token).and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError(format!("{} does not exist", shown(tokens))))?;
    }
    Ok(node)
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> Result<()> {
    let last = tokens.last().expect("paths name a property");
    match parent(doc, tokens)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let at = if last == "-" { Some(items.len()) } else { index(last) };
            match at {
                Some(i) if i <= items.len() => {
                    items.insert(i, value);
                    Ok(())
                }
                _ => fail(format!("{} is not an index of the array", shown(tokens))),
            }
        }
        _ => fail(format!("{} is inside a value that is neither object nor array", shown(tokens))),
    }
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value> {
    let last = tokens.last().expect("paths name a property");
    let removed = match parent(doc, tokens)? {
        Value::Object(map) => map.remove(last),
        Value::Array(items) => index(last).filter(|i| *i < items.len()).map(|i| items.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| PatchError(format!("{} does not exist", shown(tokens))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn standard_and_aem_ops_on_every_path_form() {
        let start = doc(json!({"dc:title": "A", "dc:subject": ["x"], "old": 1}));
        let out = apply(
            &start,
            &json!([
                {"op": "test", "path": "/dc:title", "value": "A"},
                {"op": "replace", "path": "/assetMetadata/dc:title", "value": "B"},
                {"op": "add", "path": "/dc:subject/-", "value": "y"},
                {"op": "add", "path": "/dc:subject/0", "value": "w"},
                {"op": "add", "path": "pim:sku", "value": "S-1"},
                {"op": "copy", "from": "/pim:sku", "path": "/pim:oldSku"},
                {"op": "move", "from": "/pim:oldSku", "path": "/pim:firstSku"},
                {"op": "set", "path": "/dc:title", "value": "C"},
                {"op": "set", "path": "/new", "value": {"a": 1}},
                {"op": "add", "path": "/new/b", "value": 2},
                {"op": "removeIfExists", "path": "/absent"},
                {"op": "removeIfExists", "path": "/old"},
                {"op": "remove", "path": "/dc:subject/1"},
            ]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"dc:title": "C", "dc:subject": ["w", "y"], "pim:sku": "S-1", "pim:firstSku": "S-1",
                   "new": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn one_failing_op_fails_all_and_names_itself() {
        let start = doc(json!({"a": 1}));
        for (ops, why) in [
            (json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/nope"}]), "operation 1"),
            (json!([{"op": "test", "path": "/a", "value": 2}]), "test failed"),
            (json!([{"op": "replace", "path": "/nope", "value": 2}]), "does not exist"),
            (json!([{"op": "add", "path": "/repositoryMetadata/repo:name", "value": "x"}]), "read-only"),
            (json!([{"op": "add", "path": "repositoryMetadata/repo:size", "value": 1}]), "read-only"),
            (json!([{"op": "add", "path": "/assetMetadata", "value": {}}]), "names no property"),
            (json!([{"op": "add", "path": "/", "value": 1}]), "names no property"),
            (json!([{"op": "frobnicate", "path": "/a"}]), "unknown op"),
            (json!([{"op": "add", "path": "/a"}]), "needs a \"value\""),
            (json!([{"path": "/a"}]), "no \"op\""),
            (json!([{"op": "add", "path": "/a/b", "value": 1}]), "neither object nor array"),
            (json!([{"op": "move", "from": "/a", "path": "/a/x"}]), "into itself"),
            (json!({"op": "add"}), "array"),
        ] {
            let err = apply(&start, &ops).unwrap_err();
            assert!(err.0.contains(why), "{ops}: {}", err.0);
        }
    }

    #[test]
    fn pointer_escapes_and_array_indexes() {
        let start = doc(json!({"a/b": [1, 2], "c~d": true}));
        let out = apply(
            &start,
            &json!([
                {"op": "add", "path": "/a~1b/2", "value": 3},
                {"op": "remove", "path": "/c~0d"},
            ]),
        )
        .unwrap();
        assert_eq!(Value::Object(out), json!({"a/b": [1, 2, 3]}));
        for bad in ["/a~1b/01", "/a~1b/9", "/a~1b/x"] {
            assert!(apply(&start, &json!([{"op": "add", "path": bad, "value": 0}])).is_err(), "{bad}");
        }
    }
}
