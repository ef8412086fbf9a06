//! What AEM answers to initiate and complete (docs/protocol.md §1, §3), checked
//! before anything is acted on: a malformed answer fails the batch or the
//! file with a clear message; it never panics, and never sends a part to a
//! URL that is not absolute http(s).

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::{Error, ErrorCode, Result};

/// The answer for one file of an initiate.
pub(crate) struct FileInit {
    pub token: String,
    /// Parsed once here: the client sends to them without parsing again.
    pub uris: Vec<Url>,
    pub min_part_size: u64,
    pub max_part_size: u64,
    pub mime_type: Arc<str>,
    /// Shared by the files of a batch.
    pub complete_url: Arc<Url>,
}

/// A parsed initiate answer.
pub(crate) enum InitiateAnswer {
    Direct(Vec<FileInit>),
    /// JSON without `files` and `completeURI`: direct binary upload is off.
    NoDirectBinary,
}

/// Parses an initiate answer for `expected` files of the folder at `folder_url`.
pub(crate) fn parse_initiate_answer(body: &[u8], folder_url: &str, expected: usize) -> Result<InitiateAnswer> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorCode::Unknown, format!("Initiate answer is not JSON: {e}")))?;
    let (Some(files), Some(complete_uri)) =
        (json.get("files").and_then(Value::as_array), json.get("completeURI").and_then(Value::as_str))
    else {
        return Ok(InitiateAnswer::NoDirectBinary);
    };
    parse_initiate(files, complete_uri, folder_url, expected).map(InitiateAnswer::Direct)
}

/// A complete answer must be JSON (docs/compat.md §9.3); its content is not used.
pub(crate) fn check_complete_answer(body: &[u8]) -> Result<()> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(drop)
        .map_err(|e| Error::new(ErrorCode::Unknown, format!("Complete answer is not JSON: {e}")))
}

/// Checks an initiate answer's `files` (docs/protocol.md §1) and resolves `completeURI`.
fn parse_initiate(files: &[Value], complete_uri: &str, folder_url: &str, expected: usize) -> Result<Vec<FileInit>> {
    let invalid = |what: String| Error::new(ErrorCode::Unknown, format!("Invalid initiateUpload answer: {what}"));
    if files.len() != expected {
        return Err(invalid(format!("{} files for {expected} requested", files.len())));
    }
    let base = url::Url::parse(&format!("{folder_url}/")).map_err(|e| invalid(format!("folder URL: {e}")))?;
    let complete = base.join(complete_uri).map_err(|e| invalid(format!("completeURI: {e}")))?;
    if !matches!(complete.scheme(), "http" | "https") {
        return Err(invalid("completeURI is not http(s)".into()));
    }
    let complete = Arc::new(complete);
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let number = |key: &str| file.get(key).and_then(Value::as_f64).filter(|n| n.is_finite());
            let (Some(min), Some(max)) = (number("minPartSize"), number("maxPartSize")) else {
                return Err(invalid(format!("file {i}: minPartSize/maxPartSize missing or not numbers")));
            };
            if min < 1.0 || max < min {
                return Err(invalid(format!("file {i}: part sizes {min}..{max}")));
            }
            let uris = file
                .get("uploadURIs")
                .and_then(Value::as_array)
                .filter(|u| !u.is_empty())
                .ok_or_else(|| invalid(format!("file {i}: no uploadURIs")))?;
            let uris = uris
                .iter()
                .map(|u| {
                    let uri = u.as_str().ok_or_else(|| invalid(format!("file {i}: an upload URI is not a string")))?;
                    match url::Url::parse(uri) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(parsed),
                        _ => Err(invalid(format!("file {i}: an upload URI is not an absolute http(s) URL"))),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let token = file
                .get("uploadToken")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("file {i}: no uploadToken")))?;
            let mime_type = match file.get("mimeType") {
                None | Some(Value::Null) => "application/octet-stream",
                Some(Value::String(s)) if !s.is_empty() => s.as_str(),
                Some(Value::String(_)) => "application/octet-stream",
                Some(_) => return Err(invalid(format!("file {i}: mimeType is not a string"))),
            };
            Ok(FileInit {
                token: token.to_string(),
                uris,
                min_part_size: min as u64,
                max_part_size: max as u64,
                mime_type: mime_type.into(),
                complete_url: Arc::clone(&complete),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn initiate_answers_are_validated() {
        let file = json!({"uploadToken": "t", "uploadURIs": ["http://b/1"], "minPartSize": 10, "maxPartSize": 100, "mimeType": "image/jpeg"});
        let ok = parse_initiate(
            std::slice::from_ref(&file),
            "/content/dam/x.completeUpload.json",
            "http://h/content/dam/x",
            1,
        )
        .unwrap();
        assert_eq!(ok[0].complete_url.as_str(), "http://h/content/dam/x.completeUpload.json");
        assert_eq!(&*ok[0].mime_type, "image/jpeg");
        let rel =
            parse_initiate(std::slice::from_ref(&file), "x.completeUpload.json", "http://h/content/dam/x", 1).unwrap();
        assert_eq!(rel[0].complete_url.as_str(), "http://h/content/dam/x/x.completeUpload.json");
        assert!(parse_initiate(std::slice::from_ref(&file), "ftp://h/c", "http://h/a", 1).is_err());
        assert!(parse_initiate(std::slice::from_ref(&file), "/c", "http://h/a", 2).is_err());
        for broken in [
            json!({"uploadToken": "t", "uploadURIs": [], "minPartSize": 10, "maxPartSize": 100}),
            json!({"uploadToken": "t", "uploadURIs": ["http://b/u"], "minPartSize": 0, "maxPartSize": 100}),
            json!({"uploadToken": "t", "uploadURIs": ["http://b/u"], "minPartSize": 10, "maxPartSize": 5}),
            json!({"uploadToken": 5, "uploadURIs": ["u"], "minPartSize": 10, "maxPartSize": 100}),
            json!({"uploadToken": "t", "uploadURIs": [5], "minPartSize": 10, "maxPartSize": 100}),
            json!({"uploadToken": "t", "uploadURIs": ["/relative"], "minPartSize": 10, "maxPartSize": 100}),
            json!({"uploadToken": "t", "uploadURIs": ["file:///etc/passwd"], "minPartSize": 10, "maxPartSize": 100}),
            json!({"uploadToken": "t", "uploadURIs": ["http://b/u"], "minPartSize": 10, "maxPartSize": 100, "mimeType": 3}),
        ] {
            assert!(parse_initiate(&[broken], "/c", "http://h/a", 1).is_err());
        }
    }

    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
    }

    /// Any JSON value, nested a few levels.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text().prop_map(Value::from),
            prop_oneof![Just("http://b/p"), Just("/rel"), Just("ftp://x/y"), Just("https://b/q?sig=s")]
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("files".to_string()),
                        Just("completeURI".to_string()),
                        Just("uploadURIs".to_string()),
                        Just("uploadToken".to_string()),
                        Just("minPartSize".to_string()),
                        Just("maxPartSize".to_string()),
                        Just("mimeType".to_string()),
                        text(),
                    ],
                    inner,
                    0..7,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A well-formed file entry with arbitrary numbers in it.
    fn file_entry() -> impl Strategy<Value = Value> {
        (prop::collection::vec(Just("https://blob/p?sig=x"), 0..5), any::<f64>(), any::<f64>(), text()).prop_map(
            |(uris, min, max, token)| {
                serde_json::json!({"uploadURIs": uris, "minPartSize": min, "maxPartSize": max, "uploadToken": token})
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256), expected in 0usize..4) {
            let _ = parse_initiate_answer(&body, "http://h/content/dam/f", expected);
            let _ = check_complete_answer(&body);
        }

        #[test]
        fn arbitrary_json_is_accepted_only_when_sound(value in json_value(), expected in 0usize..4) {
            let body = serde_json::to_vec(&value).unwrap();
            if let Ok(InitiateAnswer::Direct(inits)) = parse_initiate_answer(&body, "http://h/content/dam/f", expected) {
                prop_assert_eq!(inits.len(), expected);
                for init in inits {
                    prop_assert!(!init.uris.is_empty());
                    prop_assert!(init.min_part_size >= 1 && init.max_part_size >= init.min_part_size);
                    prop_assert!(init.complete_url.as_str().starts_with("http"));
                    for uri in &init.uris {
                        prop_assert!(uri.as_str().starts_with("http://") || uri.as_str().starts_with("https://"));
                    }
                }
            }
        }

        #[test]
        fn part_sizes_from_any_numbers_plan_soundly(entry in file_entry(), size in 0u64..(1 << 40)) {
            let answer = serde_json::json!({"completeURI": "/c.json", "files": [entry]});
            let body = serde_json::to_vec(&answer).unwrap();
            if let Ok(InitiateAnswer::Direct(inits)) = parse_initiate_answer(&body, "http://h/f", 1) {
                let init = &inits[0];
                if let Ok(plan) = crate::plan::PartPlan::new(size, init.uris.len(), init.min_part_size, init.max_part_size) {
                    prop_assert!(plan.count <= init.uris.len().max(1));
                    let mut covered = 0;
                    for k in 0..plan.count {
                        let (start, end) = plan.range(k);
                        prop_assert_eq!(start, covered);
                        prop_assert!(end - start <= init.max_part_size);
                        prop_assert!(k + 1 == plan.count || end - start >= init.min_part_size);
                        covered = end;
                    }
                    prop_assert_eq!(covered, size);
                }
            }
        }
    }

    #[test]
    fn fifty_thousand_upload_uris_are_fine() {
        let uris: Vec<String> = (0..50_000).map(|i| format!("https://blob/p{i}?sig=x")).collect();
        let answer = serde_json::json!({"completeURI": "/c.json", "files": [
            {"uploadURIs": uris, "minPartSize": 1024, "maxPartSize": 1 << 20, "uploadToken": "t"}
        ]});
        let Ok(InitiateAnswer::Direct(inits)) =
            parse_initiate_answer(&serde_json::to_vec(&answer).unwrap(), "http://h/f", 1)
        else {
            panic!("a valid answer")
        };
        let plan = crate::plan::PartPlan::new(10_000, inits[0].uris.len(), 1024, 1 << 20).unwrap();
        assert_eq!(plan.count, 10, "surplus URIs stay unused");
    }

    #[test]
    fn answers_that_are_not_json_or_lack_fields_are_named() {
        let err = |body: &str| match parse_initiate_answer(body.as_bytes(), "http://h/f", 1) {
            Err(e) => e.message().to_string(),
            Ok(InitiateAnswer::NoDirectBinary) => "no direct binary".into(),
            Ok(InitiateAnswer::Direct(_)) => "ok".into(),
        };
        assert!(err("<html>").starts_with("Initiate answer is not JSON"));
        assert_eq!(err("{}"), "no direct binary");
        assert!(err(r#"{"completeURI": "/c", "files": []}"#).contains("0 files for 1 requested"));
        assert!(
            err(r#"{"completeURI": "/c", "files": [{}]}"#).contains("minPartSize/maxPartSize missing or not numbers")
        );
        assert!(check_complete_answer(b"not json").is_err());
        assert!(check_complete_answer(b"{}").is_ok());
    }
}
