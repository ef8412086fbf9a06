//! Tokens from the caller's own function (`tokenProvider(fn)` in JS): asked
//! with the [`Reason`], answering a token and, optionally, when it expires.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use super::cache::{Reason, Token, TokenSource};
use crate::Result;

/// What the function gives: a token and when it expires (`None`: until AEM refuses it).
pub struct CallbackToken {
    pub token: String,
    pub expires_at: Option<SystemTime>,
}

/// The caller's function.
pub type FetchToken = Box<dyn Fn(Reason) -> BoxFuture<'static, Result<CallbackToken>> + Send + Sync>;

pub struct TokenCallback {
    fetch: FetchToken,
}

impl TokenCallback {
    pub fn new(fetch: FetchToken) -> TokenCallback {
        TokenCallback { fetch }
    }
}

impl fmt::Debug for TokenCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCallback").finish_non_exhaustive()
    }
}

impl TokenSource for TokenCallback {
    fn fetch(&self, reason: Reason) -> BoxFuture<'_, Result<Token>> {
        let call = (self.fetch)(reason);
        Box::pin(async move {
            let given = call.await?;
            // An expiry already past gives a zero lifetime: refreshed at the next use.
            let lifetime = given.expires_at.map(|at| at.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO));
            Token::bearer(&given.token, lifetime)
        })
    }
}
