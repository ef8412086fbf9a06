//! `Authorization: Basic base64(user:pass)`: fixed credentials, for local
//! development against an AEM SDK or the emulator. A 401 is not retried.

use std::fmt;

use base64::Engine;
use futures_util::future::BoxFuture;
use reqwest::header::HeaderValue;

use crate::credentials::Credentials;
use crate::Result;

/// A user name and password.
pub struct BasicCredentials {
    username: String,
    value: HeaderValue,
}

impl BasicCredentials {
    pub fn new(username: &str, password: &str) -> Result<BasicCredentials> {
        if username.contains(':') {
            return Err(super::invalid("basic(): the user name cannot contain ':'"));
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        Ok(BasicCredentials {
            username: username.to_string(),
            value: super::sensitive(format!("Basic {encoded}"), "password")?,
        })
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials").field("username", &self.username).finish_non_exhaustive()
    }
}

impl Credentials for BasicCredentials {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<HeaderValue>>> {
        let value = self.value.clone();
        Box::pin(async move { Ok(Some(value)) })
    }
}
