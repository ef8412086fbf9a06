//! OAuth server-to-server: the `client_credentials` grant at
//! `<imsEndpoint>/ims/token/v3`, whose `expires_in` is in seconds.

use std::fmt;

use futures_util::future::BoxFuture;

use super::cache::{Reason, Token, TokenSource};
use super::ims::{ExpiresIn, Ims, ImsOptions, DEFAULT_ENDPOINT};
use crate::Result;

/// A client id, its secret and the scopes to ask for.
pub struct OAuthServerToServer {
    client_id: String,
    client_secret: String,
    scope: String,
    ims: Ims,
}

impl OAuthServerToServer {
    pub fn new(client_id: &str, client_secret: &str, scopes: Vec<String>, options: ImsOptions) -> Result<Self> {
        if client_id.trim().is_empty() {
            return Err(super::invalid("oauthServerToServer(): clientId is missing"));
        }
        if client_secret.trim().is_empty() {
            return Err(super::invalid("oauthServerToServer(): clientSecret is missing"));
        }
        let scopes: Vec<String> = scopes.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if scopes.is_empty() {
            return Err(super::invalid("oauthServerToServer(): scopes is missing"));
        }
        let endpoint = options.endpoint.clone().filter(|e| !e.trim().is_empty());
        let ims = Ims::new(endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT), &options);
        Ok(OAuthServerToServer {
            client_id: client_id.trim().to_string(),
            client_secret: client_secret.trim().to_string(),
            scope: scopes.join(","),
            ims,
        })
    }
}

impl fmt::Debug for OAuthServerToServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthServerToServer")
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("ims", &self.ims.base())
            .finish_non_exhaustive()
    }
}

impl TokenSource for OAuthServerToServer {
    fn fetch(&self, _reason: Reason) -> BoxFuture<'_, Result<Token>> {
        Box::pin(async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
                ("scope", self.scope.as_str()),
            ];
            let what = format!("client_credentials grant for client {}", self.client_id);
            let granted =
                self.ims.grant("/ims/token/v3", &form, ExpiresIn::Seconds, &what, &[&self.client_secret]).await?;
            Token::bearer(&granted.access_token, granted.lifetime)
        })
    }
}
