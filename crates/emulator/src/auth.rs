//! Who may call the AEM routes: Basic users, static Bearer tokens, and the
//! access tokens the emulator's IMS issued (until they expire or are revoked).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::HeaderMap;

use crate::config::AuthConfig;
use crate::http::{self, Response};
use crate::ims::{Ims, TokenCheck};

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    Missing,
    Malformed,
    WrongCredentials,
    /// An IMS token past its expiry.
    ExpiredToken,
    /// A bearer token neither configured nor issued (or since revoked).
    UnknownToken,
}

pub fn authenticate(auth: &AuthConfig, ims: &Ims, headers: &HeaderMap) -> Result<(), Denied> {
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
            return Ok(());
        }
        match ims.check(credentials) {
            TokenCheck::Valid => Ok(()),
            TokenCheck::Expired => Err(Denied::ExpiredToken),
            TokenCheck::Unknown => Err(Denied::UnknownToken),
        }
    } else {
        Err(Denied::Malformed)
    }
}

/// The 401 a local AEM answers, with a challenge for each accepted scheme; a
/// refused bearer token gets RFC 6750's `error="invalid_token"`.
pub fn challenge(auth: &AuthConfig, denied: Denied) -> Response {
    let mut response = http::text(401, format!("Unauthorized: {denied:?}"));
    let scheme = match denied {
        Denied::ExpiredToken => {
            "Bearer realm=\"AEM\", error=\"invalid_token\", error_description=\"The access token expired\""
        }
        Denied::UnknownToken => "Bearer realm=\"AEM\", error=\"invalid_token\"",
        _ if auth.basic.is_empty() && !auth.bearer.is_empty() => "Bearer realm=\"AEM\"",
        _ => "Basic realm=\"Sling (Development)\"",
    };
    response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
    response
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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
        let ims = Ims::default();
        let authenticate = |auth: &AuthConfig, headers: &HeaderMap| authenticate(auth, &ims, headers);
        let basic = format!("Basic {}", STANDARD.encode("admin:admin"));
        assert_eq!(authenticate(&auth, &headers(&basic)), Ok(()));
        let wrong = format!("Basic {}", STANDARD.encode("admin:nope"));
        assert_eq!(authenticate(&auth, &headers(&wrong)), Err(Denied::WrongCredentials));
        assert_eq!(authenticate(&auth, &headers("Bearer tok")), Ok(()));
        assert_eq!(authenticate(&auth, &headers("Bearer other")), Err(Denied::UnknownToken));
        assert_eq!(authenticate(&auth, &headers("Digest x")), Err(Denied::Malformed));
        assert_eq!(authenticate(&auth, &HeaderMap::new()), Err(Denied::Missing));
        auth.anonymous = true;
        assert_eq!(authenticate(&auth, &HeaderMap::new()), Ok(()));
    }
}
