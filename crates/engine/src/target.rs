//! Where a file goes: the asset URL AEM is addressed with, and the decoded
//! target path the caller reports (`targetFile`, `targetFolder`, `fileName`
//! of `docs/compat.md §8`), resolved the way WHATWG URL parsers (Node's
//! `URL`) read a URL, once per file.
//!
//! Files of one folder differ only in their last segment: when it is plain
//! (what `encodeURIComponent` writes, not a dot segment) the folder part is
//! parsed once per call and the segment appended as it is, which is what
//! parsing each whole URL gives, for a fraction of the cost.

use std::borrow::Cow;
use std::collections::HashMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::naming::escaping_target;
use crate::redact::redact_url;
use crate::{Error, ErrorCode, Result};

/// What `encodeURIComponent` leaves as it is.
pub const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `text` percent-encoded except for the characters `set` keeps.
pub fn encode_component<'a>(text: &'a str, set: &'static AsciiSet) -> Cow<'a, str> {
    utf8_percent_encode(text, set).into()
}

/// One file's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Absolute http(s) URL as parsing prints it.
    url: String,
    /// The decoded URL path.
    path: String,
    /// The node name AEM is given: the URL's last segment, decoded.
    name: String,
    /// Why the URL, as given, could land outside its folder.
    escape: Option<String>,
}

impl Target {
    /// The asset URL (normalised as WHATWG parsers print it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The decoded target path (`targetFile`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The decoded folder path (`targetFolder`): `path.posix.dirname`.
    pub fn folder_path(&self) -> &str {
        posix_dirname(&self.path)
    }

    /// The decoded file name (`fileName`): `path.posix.basename`.
    pub fn file_name(&self) -> &str {
        posix_basename(&self.path)
    }

    /// The node name sent to AEM: the URL's last segment, decoded.
    pub fn node_name(&self) -> &str {
        &self.name
    }

    /// The URL minus its last segment, where initiate is sent.
    pub fn folder_url(&self) -> &str {
        let url = self.url.split(['?', '#']).next().unwrap_or(&self.url);
        url.rfind('/').map_or(url, |i| &url[..i])
    }

    /// Why the URL as it was given could land outside its folder (a dot
    /// segment, an encoded `/`, a control character): such a file fails
    /// before any request.
    pub fn escape(&self) -> Option<&str> {
        self.escape.as_deref()
    }

    /// Resolves one URL on its own (no per-folder memo); see
    /// [`TargetResolver::resolve`].
    pub fn parse(url: &str) -> Result<Target> {
        resolve_whole(url.to_string(), escaping_target(url), "fileUrl")
    }
}

/// A folder URL as parsing prints it, and its decoded path.
struct Folder {
    url: String,
    path: String,
}

/// Resolves the targets of one call, parsing each folder once.
#[derive(Default)]
pub struct TargetResolver {
    folders: HashMap<String, Option<Folder>>,
}

impl TargetResolver {
    /// The target of `url`, or the error the whole call fails with: a URL
    /// that does not parse (`ERR_INVALID_URL`), is not http(s), or whose
    /// path has a malformed percent-encoding (`EINVALIDOPTIONS`). `field`
    /// names the option in messages.
    pub fn resolve(&mut self, url: String, field: &str) -> Result<Target> {
        let escape = escaping_target(&url);
        let Some((folder, segment)) = url.rsplit_once('/').filter(|(_, s)| plain_segment(s)) else {
            return resolve_whole(url, escape, field);
        };
        if !self.folders.contains_key(folder) {
            self.folders.insert(folder.to_string(), parse_folder(folder));
        }
        let (Some(known), Ok(decoded)) = (&self.folders[folder], decode_strict(segment)) else {
            return resolve_whole(url, escape, field);
        };
        if decoded.contains('/') {
            // A decoded '/' is path structure to `dirname`: parse it whole.
            return resolve_whole(url, escape, field);
        }
        let path = format!("{}/{decoded}", known.path);
        let name = percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned();
        let url = if known.url == folder { url } else { format!("{}/{segment}", known.url) };
        Ok(Target { url, path, name, escape })
    }
}

/// Parses a folder URL with a stand-in last segment: `None` when it is not
/// an absolute http(s) URL whose path ends where the segment starts.
fn parse_folder(folder: &str) -> Option<Folder> {
    if folder.contains(['?', '#']) {
        return None;
    }
    let probe = url::Url::parse(&format!("{folder}/x")).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let url = probe.as_str().strip_suffix("/x")?.to_string();
    let path = decode_strict(probe.path()).ok()?.strip_suffix("/x")?.to_string();
    Some(Folder { url, path })
}

fn resolve_whole(given: String, escape: Option<String>, field: &str) -> Result<Target> {
    let url = url::Url::parse(&given).map_err(|_| Error::new(ErrorCode::System("ERR_INVALID_URL"), "Invalid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("{field} must use http or https, got '{}:'", url.scheme())));
    }
    let path = decode_strict(url.path())
        .map_err(|()| invalid(format!("{field} has a malformed percent-encoding")))?
        .into_owned();
    let url = String::from(url);
    let name = {
        let bare = url.split(['?', '#']).next().unwrap_or(&url);
        percent_encoding::percent_decode_str(bare.rsplit('/').next().unwrap_or("")).decode_utf8_lossy().into_owned()
    };
    Ok(Target { url, path, name, escape })
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidOptions, format!("Invalid upload options: {message}"))
}

impl Target {
    /// A URL given to [`crate::upload::UploadFile::new`] that does not
    /// resolve, kept as given for messages, and why the file fails.
    pub(crate) fn unresolved(url: String) -> (Target, Error) {
        let escape = escaping_target(&url);
        let reason = match &escape {
            Some(reason) => reason.clone(),
            None => format!("Invalid target URL '{}': must be absolute http(s)", redact_url(&url)),
        };
        let bare = url.split(['?', '#']).next().unwrap_or(&url);
        let name = percent_encoding::percent_decode_str(bare.rsplit('/').next().unwrap_or(""))
            .decode_utf8_lossy()
            .into_owned();
        (Target { url, path: String::new(), name, escape }, Error::new(ErrorCode::InvalidOptions, reason))
    }
}

/// A last URL segment that URL parsing leaves as it is.
fn plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b))
        && ![".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"].iter().any(|dot| segment.eq_ignore_ascii_case(dot))
}

/// `decodeURIComponent`: every `%` must start two hex digits, and the bytes
/// must be UTF-8.
fn decode_strict(text: &str) -> std::result::Result<Cow<'_, str>, ()> {
    if !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())).ok_or(())?;
            out.push(u8::from_str_radix(byte, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| ())
}

/// Node's `path.posix.dirname`.
pub fn posix_dirname(path: &str) -> &str {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return ".";
    }
    let rooted = bytes[0] == b'/';
    let mut end = None;
    let mut matched_slash = true;
    for i in (1..bytes.len()).rev() {
        if bytes[i] == b'/' {
            if !matched_slash {
                end = Some(i);
                break;
            }
        } else {
            matched_slash = false;
        }
    }
    match end {
        None if rooted => "/",
        None => ".",
        Some(1) if rooted => "//",
        Some(end) => &path[..end],
    }
}

/// Node's `path.posix.basename` (no extension argument).
pub fn posix_basename(path: &str) -> &str {
    let bytes = path.as_bytes();
    let mut start = 0;
    let mut end = None;
    for i in (0..bytes.len()).rev() {
        if bytes[i] == b'/' {
            if end.is_some() {
                start = i + 1;
                break;
            }
        } else if end.is_none() {
            end = Some(i + 1);
        }
    }
    end.map_or("", |end| &path[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What parsing the whole URL gives.
    fn whole(url: &str) -> Result<Target> {
        resolve_whole(url.to_string(), escaping_target(url), "fileUrl")
    }

    #[test]
    fn targets_resolved_per_folder_match_whole_url_parsing() {
        let urls = [
            "http://h/content/dam/a/b.jpg",
            "http://H:80/content/dam/a/b%20c.jpg",
            "http://h/content/dam/a/%2e",
            "http://h/content/dam/a/%2E%2e",
            "http://h/content/dam/a/..x",
            "http://h/content/dam/a b/c.jpg",
            "http://h/content/dam/a/c d.jpg",
            "http://h/content/dam/a/c%zz",
            "http://h/content/dam/a/c%C3",
            "http://h/content/dam/a/b%2Fc",
            "http://h/content/dam/a?q=/c.jpg",
            "http://h/content/dam/a#/c.jpg",
            "http://h/content/dam/%E2%82%AC/x.bin",
            "http://h/content/dam/a\\b/c.jpg",
            "http://h/content/dam/a/./c.jpg",
            "http:/x.jpg",
            "http:x",
            "ftp://h/a/b.jpg",
            "https://user:pw@h/content/dam/a/it's(1)!~*.png",
            "http://h",
            "http://h/",
            "http://h//x",
            "not a url",
        ];
        let mut resolver = TargetResolver::default();
        for round in 0..2 {
            for url in urls {
                let got = resolver.resolve(url.to_string(), "fileUrl").map_err(|e| e.message().to_string());
                assert_eq!(got, whole(url).map_err(|e| e.message().to_string()), "{url} (round {round})");
            }
        }
    }

    #[test]
    fn a_target_has_node_paths() {
        let t = Target::parse("http://h:4502/content/dam/my%20folder/a%20b.jpg?x=1").unwrap();
        assert_eq!(t.url(), "http://h:4502/content/dam/my%20folder/a%20b.jpg?x=1");
        assert_eq!(
            (t.path(), t.folder_path(), t.file_name()),
            ("/content/dam/my folder/a b.jpg", "/content/dam/my folder", "a b.jpg")
        );
        assert_eq!(t.folder_url(), "http://h:4502/content/dam/my%20folder");
        assert_eq!(t.node_name(), "a b.jpg");
        let err = Target::parse("/content/dam/x").unwrap_err();
        assert_eq!((err.code().as_str(), err.message()), ("ERR_INVALID_URL", "Invalid URL"));
        let err = Target::parse("ftp://h/x").unwrap_err();
        assert_eq!(err.message(), "Invalid upload options: fileUrl must use http or https, got 'ftp:'");
        let err = Target::parse("http://h/%zz").unwrap_err();
        assert_eq!(err.message(), "Invalid upload options: fileUrl has a malformed percent-encoding");
        assert!(Target::parse("http://h/a/../b").unwrap().escape().is_some());
    }

    #[test]
    fn dirname_and_basename_are_nodes() {
        for (path, dir, base) in [
            ("/a/b", "/a", "b"),
            ("/a/b/", "/a", "b"),
            ("/", "/", ""),
            ("//x", "//", "x"),
            ("/a", "/", "a"),
            ("", ".", ""),
        ] {
            assert_eq!((posix_dirname(path), posix_basename(path)), (dir, base), "{path}");
        }
    }

    #[test]
    fn components_are_encoded_like_encode_uri_component() {
        assert_eq!(encode_component("a b/€!~*'()#%", URI_COMPONENT), "a%20b%2F%E2%82%AC!~*'()%23%25");
    }
}
