//! Asset ids, job references and DAM paths: checked before any request, and
//! escaped whenever they become part of a URL.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Url;

use super::error::{AssetsError, Result};
use crate::redact::redact_url;

/// The prefix of every asset id: the id is this plus the asset node's
/// `jcr:uuid` (docs: the Author API's asset ids).
pub const ASSET_ID_PREFIX: &str = "urn:aaid:aem:";

/// What a path segment keeps unescaped: RFC 3986 unreserved characters and
/// `:` and `@` (asset ids carry colons, and the Author API's own URLs show
/// them literally).
const SEGMENT: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b':').remove(b'@');

/// `segment` escaped for use as one URL path segment.
pub(crate) fn escape_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// What an error message may show of a caller's string: short, one line.
pub(crate) fn shown(input: &str) -> String {
    let mut out: String = input.chars().take(80).map(|c| if c.is_control() { '?' } else { c }).collect();
    if input.chars().count() > 80 {
        out.push('…');
    }
    format!("{out:?}")
}

/// A checked asset id: `urn:aaid:aem:` and a UUID (8-4-4-4-12 hex digits,
/// any version: AEM's samples include v1, v4 and v5 ids).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AssetId(String);

impl AssetId {
    pub fn parse(input: &str) -> Result<AssetId> {
        let Some(uuid) = input.strip_prefix(ASSET_ID_PREFIX) else {
            let hint = if input.starts_with('/') { " (for a DAM path, use assetIdForPath)" } else { "" };
            return Err(AssetsError::invalid(format!(
                "{} is not an asset id: expected {ASSET_ID_PREFIX}<uuid>{hint}",
                shown(input)
            )));
        };
        if !is_uuid(uuid) {
            return Err(AssetsError::invalid(format!(
                "{} is not an asset id: {ASSET_ID_PREFIX} must be followed by a UUID",
                shown(input)
            )));
        }
        Ok(AssetId(input.to_string()))
    }

    /// The id of the node whose `jcr:uuid` is `uuid`.
    pub fn from_uuid(uuid: &str) -> Result<AssetId> {
        AssetId::parse(&format!("{ASSET_ID_PREFIX}{uuid}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as one escaped URL path segment.
    pub(crate) fn segment(&self) -> String {
        escape_segment(&self.0)
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AssetId {
    type Err = AssetsError;
    fn from_str(s: &str) -> Result<AssetId> {
        AssetId::parse(s)
    }
}

fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A job to ask about: its id, or the location a 202 named (absolute, or a
/// path on the AEM origin). A location is polled as given ("a client must
/// follow `Location`, not build URLs"); an id is polled at
/// `/adobe/assets/jobs/{id}/status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobRef {
    Id(String),
    Location(String),
}

impl JobRef {
    /// A job id or a location, told apart by shape: a location starts with
    /// `/` or a scheme.
    pub fn parse(input: &str) -> Result<JobRef> {
        let input = input.trim();
        if input.starts_with('/') || input.starts_with("http://") || input.starts_with("https://") {
            return Ok(JobRef::Location(input.to_string()));
        }
        let ok = !input.is_empty()
            && input.len() <= 256
            && input.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':'));
        if !ok || input == "." || input == ".." {
            return Err(AssetsError::invalid(format!("{} is neither a job id nor a job location", shown(input))));
        }
        Ok(JobRef::Id(input.to_string()))
    }

    /// The URL to poll. A location must be on `base`'s origin: the request
    /// carries the AEM credentials, which go nowhere else.
    pub(crate) fn status_url(&self, base: &Url) -> Result<Url> {
        match self {
            JobRef::Id(id) => Ok(join(base, &format!("/adobe/assets/jobs/{}/status", escape_segment(id)))),
            JobRef::Location(location) => same_origin(base, location),
        }
    }

    /// The job id: as given, or read from a location (`…/jobs/{id}/status`,
    /// `…/jobs/{id}/result`, `…/jobs/{id}`), else its last segment.
    pub fn job_id(&self) -> String {
        match self {
            JobRef::Id(id) => id.clone(),
            JobRef::Location(location) => job_id_of_location(location),
        }
    }
}

pub(crate) fn job_id_of_location(location: &str) -> String {
    let path = location.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = match segments.iter().rposition(|s| *s == "jobs") {
        Some(i) if i + 1 < segments.len() => segments[i + 1],
        _ => segments.last().copied().unwrap_or(""),
    };
    percent_encoding::percent_decode_str(id).decode_utf8_lossy().into_owned()
}

/// `path` (already escaped) under `base`, keeping any path prefix `base` has.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url
}

/// `location` resolved against `base`, refused when it leaves its origin.
pub(crate) fn same_origin(base: &Url, location: &str) -> Result<Url> {
    let url = base
        .join(location)
        .map_err(|_| AssetsError::invalid(format!("{} is not a URL", shown(&redact_url(location)))))?;
    if url.origin() != base.origin() {
        return Err(AssetsError::invalid(format!(
            "{} is not on the AEM origin {}: AEM credentials are sent to no other host",
            redact_url(url.as_str()),
            base.origin().ascii_serialization()
        )));
    }
    Ok(url)
}

/// A DAM path checked and escaped for `GET <path>.json`.
pub(crate) fn dam_path_url(base: &Url, dam_path: &str) -> Result<Url> {
    let path = dam_path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let ok = path.starts_with("/content/dam/")
        && segments.iter().all(|s| !s.is_empty() && *s != "." && *s != "..")
        && !path.chars().any(char::is_control);
    if !ok {
        return Err(AssetsError::invalid(format!(
            "{} is not an asset path: expected /content/dam/<folders>/<name>",
            shown(dam_path)
        )));
    }
    let escaped: String = segments.iter().map(|s| format!("/{}", escape_segment(s))).collect();
    Ok(join(base, &format!("{escaped}.json")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca427";

    #[test]
    fn asset_ids_are_checked() {
        assert_eq!(AssetId::parse(ID).unwrap().as_str(), ID);
        assert_eq!(AssetId::parse(ID).unwrap().segment(), ID);
        for bad in [
            "",
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "urn:aaid:aem:",
            "urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca42",
            "urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca427/../x",
            "urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca4zz",
            "urn:aaid:aem:1b4e28ba+2fa1-11d2-883f-0016d3cca427",
            "/content/dam/a.jpg",
        ] {
            let err = AssetId::parse(bad).unwrap_err();
            assert_eq!(err.code().as_str(), "EINVALIDOPTIONS", "{bad}");
        }
        assert!(AssetId::parse("/content/dam/a.jpg").unwrap_err().message().contains("assetIdForPath"));
    }

    #[test]
    fn job_refs_resolve_on_the_origin_only() {
        let base = Url::parse("http://aem.test:4502").unwrap();
        let id = JobRef::parse("3f2a-b/../c");
        assert!(id.is_err());
        let job = JobRef::parse("0d5e0c1a-9c53-4f4b-9f2f-7f7d3d0c1a2b").unwrap();
        assert_eq!(
            job.status_url(&base).unwrap().as_str(),
            "http://aem.test:4502/adobe/assets/jobs/0d5e0c1a-9c53-4f4b-9f2f-7f7d3d0c1a2b/status"
        );
        let loc = JobRef::parse("/adobe/assets/jobs/j%201/status").unwrap();
        assert_eq!(loc.job_id(), "j 1");
        assert_eq!(loc.status_url(&base).unwrap().as_str(), "http://aem.test:4502/adobe/assets/jobs/j%201/status");
        let abs = JobRef::parse("http://aem.test:4502/adobe/assets/jobs/j3/result").unwrap();
        assert_eq!(abs.job_id(), "j3");
        let elsewhere = JobRef::parse("https://evil.test/adobe/assets/jobs/j3/status?sig=SECRET").unwrap();
        let err = elsewhere.status_url(&base).unwrap_err();
        assert_eq!(err.code().as_str(), "EINVALIDOPTIONS");
        assert!(!err.message().contains("SECRET"), "{}", err.message());
    }

    #[test]
    fn dam_paths_are_checked_and_escaped() {
        let base = Url::parse("https://author.test").unwrap();
        assert_eq!(
            dam_path_url(&base, "/content/dam/a b/ü#1.jpg").unwrap().as_str(),
            "https://author.test/content/dam/a%20b/%C3%BC%231.jpg.json"
        );
        for bad in ["/content/dam", "/content/dam/", "content/dam/a", "/content/dam/../x", "/content/dam//a", "/etc/x"]
        {
            assert!(dam_path_url(&base, bad).is_err(), "{bad}");
        }
        let prefixed = Url::parse("https://author.test/ctx/").unwrap();
        assert_eq!(
            dam_path_url(&prefixed, "/content/dam/a").unwrap().as_str(),
            "https://author.test/ctx/content/dam/a.json"
        );
    }
}
