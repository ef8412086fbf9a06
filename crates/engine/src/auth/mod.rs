//! Authentication built in (`docs/auth.md`): the providers an
//! [`crate::session::AemSession`] asks for the `Authorization` of each AEM
//! request, through the [`Credentials`] seam.
//!
//! - [`basic`]: `Basic base64(user:pass)`, fixed;
//! - [`bearer`]: a local development token, fixed;
//! - [`service`]: service credentials (the Developer Console JSON): an RS256
//!   JWT signed with the integration's key, exchanged at IMS;
//! - [`oauth`]: OAuth server-to-server (`client_credentials`) at IMS;
//! - [`callback`]: tokens from the caller's own function.
//!
//! The three that hold tokens share one [`cache::TokenCache`]: a token per
//! provider, one fetch for any number of waiting requests, a refresh once
//! 90 % of the token's lifetime has passed, and one refresh after AEM answers
//! 401. No provider shows a password, secret, private key or token in its
//! `Debug`, its [`Provider::public`] fields or its errors.

pub mod basic;
pub mod bearer;
pub mod cache;
pub mod callback;
pub mod ims;
pub mod oauth;
pub mod service;

use std::fmt;
use std::sync::Arc;

use reqwest::header::HeaderValue;

use crate::credentials::Credentials;
use crate::{Error, ErrorCode, Result};

pub use cache::{Reason, Token, TokenCache, TokenSource};

/// A provider as callers hold it: the credentials, shared by every call that
/// uses them, with what may be shown about them.
#[derive(Clone)]
pub struct Provider {
    credentials: Arc<dyn Credentials>,
    kind: &'static str,
    public: Vec<(&'static str, String)>,
}

impl Provider {
    fn new(credentials: Arc<dyn Credentials>, kind: &'static str, public: Vec<(&'static str, String)>) -> Provider {
        Provider { credentials, kind, public }
    }

    /// `Basic base64(username:password)`.
    pub fn basic(username: &str, password: &str) -> Result<Provider> {
        let credentials = basic::BasicCredentials::new(username, password)?;
        Ok(Provider::new(Arc::new(credentials), "basic", vec![("username", username.to_string())]))
    }

    /// A fixed bearer token: the token itself, or the Developer Console's
    /// local development token download (`{accessToken}`) as JSON text or a
    /// path to that file.
    pub fn bearer(source: &str) -> Result<Provider> {
        Ok(Provider::new(Arc::new(bearer::bearer_credentials(source)?), "bearer", Vec::new()))
    }

    /// Service credentials from `source` (a path, or the JSON text, wrapped or
    /// bare); bad material fails at the first use, saying which field.
    pub fn service_credentials(source: &str, options: ims::ImsOptions) -> Provider {
        let service = service::ServiceCredentials::new(source, options);
        let mut public = Vec::new();
        if let Some(id) = service.client_id() {
            public.push(("clientId", id.to_string()));
        }
        if let Some(id) = service.technical_account_id() {
            public.push(("technicalAccountId", id.to_string()));
        }
        Provider::new(Arc::new(TokenCache::new(service)), "serviceCredentials", public)
    }

    /// OAuth server-to-server (`client_credentials`).
    pub fn oauth_server_to_server(
        client_id: &str,
        client_secret: &str,
        scopes: Vec<String>,
        options: ims::ImsOptions,
    ) -> Result<Provider> {
        let oauth = oauth::OAuthServerToServer::new(client_id, client_secret, scopes.clone(), options)?;
        let public = vec![("clientId", client_id.to_string()), ("scopes", scopes.join(","))];
        Ok(Provider::new(Arc::new(TokenCache::new(oauth)), "oauthServerToServer", public))
    }

    /// Tokens from `fetch` (the caller's function).
    pub fn callback(fetch: callback::FetchToken) -> Provider {
        Provider::new(Arc::new(TokenCache::new(callback::TokenCallback::new(fetch))), "tokenProvider", Vec::new())
    }

    /// The credentials, for [`crate::session::AemSession::with_credentials`].
    pub fn credentials(&self) -> Arc<dyn Credentials> {
        Arc::clone(&self.credentials)
    }

    /// `basic`, `bearer`, `serviceCredentials`, `oauthServerToServer` or `tokenProvider`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// What may be shown: public identifiers (a user name, a client id).
    pub fn public(&self) -> &[(&'static str, String)] {
        &self.public
    }

    /// The `Authorization` value for the caller's own requests.
    pub async fn authorization(&self) -> Result<Option<HeaderValue>> {
        self.credentials.authorization().await
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Provider");
        s.field("kind", &self.kind);
        for (name, value) in &self.public {
            s.field(name, value);
        }
        s.finish_non_exhaustive()
    }
}

/// `EINVALIDOPTIONS` for bad credentials material.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidOptions, message)
}

/// A header value marked sensitive; a value with characters a header cannot
/// carry fails without showing it.
pub(crate) fn sensitive(value: String, what: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::try_from(value)
        .map_err(|_| invalid(format!("The {what} holds characters an HTTP header cannot carry")))?;
    value.set_sensitive(true);
    Ok(value)
}
