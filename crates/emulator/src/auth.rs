//! Who may call the AEM routes: Basic users and Bearer tokens. IMS-issued
//! tokens will be accepted here too once the IMS routes exist.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::HeaderMap;

use crate::config::AuthConfig;
use crate::http::{self, Response};

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    Missing,
    Malformed,
    WrongCredentials,
}

pub fn authenticate(auth: &AuthConfig, headers: &HeaderMap) -> Result<(), Denied> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return if auth.anonymous { Ok(()) } else { Err(Denied::Missing) };
    };
    let value = value.to_str().map_err(|_| Denied::Malformed)?.trim();
    let (scheme, credentials) = value.split_once(' ').ok_or(Denied::Malformed)?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credentials).map_err(|_| Denied::Malformed)?;
        let decoded = String::from_utf8(decoded).map_err(|_| Denied::Malformed)?;
        let (user, password) = decoded.split_once(':').ok_or(Denied::Malformed)?;
        match auth.basic.get(user) {
            Some(expected) if constant_time_eq(expected.as_bytes(), password.as_bytes()) => Ok(()),
            _ => Err(Denied::WrongCredentials),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") {
        if auth.bearer.iter().any(|t| constant_time_eq(t.as_bytes(), credentials.as_bytes())) {
            Ok(())
        } else {
            Err(Denied::WrongCredentials)
        }
    } else {
        Err(Denied::Malformed)
    }
}

/// The 401 a local AEM answers, with a challenge for each accepted scheme.
pub fn challenge(auth: &AuthConfig, denied: Denied) -> Response {
    let mut response = http::text(401, format!("Unauthorized: {denied:?}"));
    let scheme = if auth.basic.is_empty() && !auth.bearer.is_empty() {
        "Bearer realm=\"AEM\""
    } else {
        "Basic realm=\"Sling (Development)\""
    };
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn basic_and_bearer() {
        let mut auth = AuthConfig::default();
        auth.bearer.push("tok".into());
        let basic = format!("Basic {}", STANDARD.encode("admin:admin"));
        assert_eq!(authenticate(&auth, &headers(&basic)), Ok(()));
        let wrong = format!("Basic {}", STANDARD.encode("admin:nope"));
        assert_eq!(authenticate(&auth, &headers(&wrong)), Err(Denied::WrongCredentials));
        assert_eq!(authenticate(&auth, &headers("Bearer tok")), Ok(()));
        assert_eq!(authenticate(&auth, &headers("Bearer other")), Err(Denied::WrongCredentials));
        assert_eq!(authenticate(&auth, &headers("Digest x")), Err(Denied::Malformed));
        assert_eq!(authenticate(&auth, &HeaderMap::new()), Err(Denied::Missing));
        auth.anonymous = true;
        assert_eq!(authenticate(&auth, &HeaderMap::new()), Ok(()));
    }
}
