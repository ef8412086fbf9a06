//! A fixed bearer token: a local development token from the AEM Developer
//! Console, given as the token, as the console's JSON download
//! (`{"ok": true, "statusCode": 200, "accessToken": "…"}`) or as a path to
//! that file. It lives 24 h and cannot be refreshed, so a 401 is final.

use std::path::Path;

use serde::Deserialize;

use crate::credentials::StaticCredentials;
use crate::Result;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Download {
    access_token: Option<String>,
}

/// Static credentials sending `Bearer <token>`.
pub fn bearer_credentials(source: &str) -> Result<StaticCredentials> {
    let token = token_of(source)?;
    Ok(StaticCredentials::new(super::sensitive(format!("Bearer {token}"), "token")?))
}

/// The token in `source`: JSON text or a file with `accessToken`, or the token itself.
fn token_of(source: &str) -> Result<String> {
    let source = source.trim();
    if source.is_empty() {
        return Err(super::invalid("bearer(): the token is empty"));
    }
    let json = if source.starts_with('{') {
        Some(source.to_string())
    } else if !source.contains(char::is_whitespace) && looks_like_path(source) && Path::new(source).is_file() {
        let text = std::fs::read_to_string(source)
            .map_err(|e| super::invalid(format!("bearer(): cannot read the token file {source}: {e}")))?;
        Some(text)
    } else {
        None
    };
    let Some(json) = json else { return Ok(source.to_string()) };
    // The parse error is not shown: its excerpt could hold the token.
    let download: Download =
        serde_json::from_str(&json).map_err(|_| super::invalid("bearer(): the token JSON does not parse"))?;
    match download.access_token {
        Some(token) if !token.trim().is_empty() => Ok(token.trim().to_string()),
        _ => Err(super::invalid("bearer(): the token JSON has no accessToken")),
    }
}

/// Tokens are base64url with dots; a path has a separator or a `.json` ending.
fn looks_like_path(source: &str) -> bool {
    source.contains('/') || source.contains('\\') || source.ends_with(".json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_forms() {
        assert_eq!(token_of("abc.def").unwrap(), "abc.def");
        assert_eq!(token_of(r#"{"ok":true,"statusCode":200,"accessToken":"t-1"}"#).unwrap(), "t-1");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.json");
        std::fs::write(&file, r#"{"accessToken":"t-2"}"#).unwrap();
        assert_eq!(token_of(file.to_str().unwrap()).unwrap(), "t-2");
        let err = token_of(r#"{"accessToken":"#).unwrap_err();
        assert_eq!(err.code().as_str(), "EINVALIDOPTIONS");
        assert!(token_of("{}").unwrap_err().message().contains("accessToken"));
        assert!(token_of(" ").is_err());
        assert!(bearer_credentials("bad\ntoken").unwrap_err().message().contains("header"));
    }
}
