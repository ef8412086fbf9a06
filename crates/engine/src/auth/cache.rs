//! One token per provider (`docs/auth.md`, "Tokens"): fetched once for any
//! number of concurrent requests (single flight), refreshed before use once
//! 90 % of its lifetime has passed, and refreshed once when AEM answers 401
//! to a request that carried it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::HeaderValue;
use tokio::time::Instant;

use crate::credentials::Credentials;
use crate::{Error, Result};

/// Why a token is fetched (the token callback's `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No token yet.
    Initial,
    /// The token has lived 90 % of its lifetime, or has expired.
    Expiring,
    /// AEM answered 401 to a request that carried the token.
    Unauthorized,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Initial => "initial",
            Reason::Expiring => "expiring",
            Reason::Unauthorized => "unauthorized",
        }
    }
}

/// A fetched token: the `Authorization` value and how long it lives
/// (`None`: until AEM refuses it).
#[derive(Clone)]
pub struct Token {
    pub value: HeaderValue,
    pub lifetime: Option<Duration>,
}

impl Token {
    /// `Bearer <token>`, marked sensitive.
    pub fn bearer(token: &str, lifetime: Option<Duration>) -> Result<Token> {
        if token.trim().is_empty() {
            return Err(super::invalid("The token is empty"));
        }
        Ok(Token { value: super::sensitive(format!("Bearer {}", token.trim()), "token")?, lifetime })
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

/// Where tokens come from: IMS, or the caller's function.
pub trait TokenSource: Send + Sync + fmt::Debug {
    fn fetch(&self, reason: Reason) -> BoxFuture<'_, Result<Token>>;
}

/// The part of a lifetime after which a token is refreshed before use.
const REFRESH_AT: f64 = 0.9;

/// How long a still-valid token is used after a failed early refresh before
/// the next attempt, at most.
const RETRY_EARLY_REFRESH: Duration = Duration::from_secs(30);

struct Held {
    value: HeaderValue,
    /// From then on, the token is refreshed before use.
    refresh_at: Option<Instant>,
    /// From then on, the token is not sent.
    expires_at: Option<Instant>,
    /// AEM refused it.
    refused: bool,
}

impl Held {
    fn new(token: Token, now: Instant) -> Held {
        let refresh_at = token.lifetime.map(|l| now + l.mul_f64(REFRESH_AT));
        Held { value: token.value, refresh_at, expires_at: token.lifetime.map(|l| now + l), refused: false }
    }

    fn fresh(&self, now: Instant) -> bool {
        !self.refused && self.refresh_at.is_none_or(|at| now < at)
    }

    fn usable(&self, now: Instant) -> bool {
        !self.refused && self.expires_at.is_none_or(|at| now < at)
    }
}

#[derive(Default)]
struct State {
    held: Option<Held>,
    /// Completed fetches, so a request that waited for one takes its outcome
    /// instead of fetching again.
    fetches: u64,
    /// The last fetch's error, while no token replaced it.
    failed: Option<Error>,
}

/// A [`TokenSource`] behind a cache, as [`Credentials`].
pub struct TokenCache<S> {
    source: S,
    state: Mutex<State>,
    /// Held while fetching: the single flight.
    flight: tokio::sync::Mutex<()>,
    fetched: AtomicU64,
}

impl<S: TokenSource> TokenCache<S> {
    pub fn new(source: S) -> TokenCache<S> {
        TokenCache {
            source,
            state: Mutex::new(State::default()),
            flight: tokio::sync::Mutex::new(()),
            fetched: AtomicU64::new(0),
        }
    }

    /// How many fetches were made (successful or not).
    pub fn fetches(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    fn fresh(&self) -> Option<HeaderValue> {
        let state = self.state.lock().unwrap();
        state.held.as_ref().filter(|h| h.fresh(Instant::now())).map(|h| h.value.clone())
    }

    /// The fetch count now, to tell later whether a fetch finished meanwhile.
    fn seen(&self) -> u64 {
        self.state.lock().unwrap().fetches
    }

    /// The error of a fetch that finished after `seen`, if it failed.
    fn failed_since(&self, seen: u64) -> Option<Error> {
        let state = self.state.lock().unwrap();
        if state.fetches != seen {
            state.failed.clone()
        } else {
            None
        }
    }

    /// Fetches and stores a token; the caller holds `flight`.
    async fn fetch(&self, reason: Reason) -> Result<HeaderValue> {
        self.fetched.fetch_add(1, Ordering::Relaxed);
        let outcome = self.source.fetch(reason).await;
        let now = Instant::now();
        let mut state = self.state.lock().unwrap();
        state.fetches += 1;
        match outcome {
            Ok(token) => {
                let held = Held::new(token, now);
                let value = held.value.clone();
                state.held = Some(held);
                state.failed = None;
                Ok(value)
            }
            Err(error) => {
                // An early refresh that failed: keep sending the valid token,
                // and try again a little later (IMS may be briefly down).
                if reason == Reason::Expiring {
                    if let Some(held) = state.held.as_mut().filter(|h| h.usable(now)) {
                        let left = held.expires_at.map_or(RETRY_EARLY_REFRESH, |at| (at - now) / 4);
                        held.refresh_at = Some(now + left.min(RETRY_EARLY_REFRESH));
                        return Ok(held.value.clone());
                    }
                }
                state.failed = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn current(&self) -> Result<Option<HeaderValue>> {
        if let Some(value) = self.fresh() {
            return Ok(Some(value));
        }
        let seen = self.seen();
        let _flight = self.flight.lock().await;
        if let Some(value) = self.fresh() {
            return Ok(Some(value));
        }
        if let Some(error) = self.failed_since(seen) {
            return Err(error);
        }
        let reason = if self.state.lock().unwrap().held.is_some() { Reason::Expiring } else { Reason::Initial };
        self.fetch(reason).await.map(Some)
    }

    async fn refused(&self, used: &HeaderValue) -> Result<bool> {
        let seen = self.seen();
        let _flight = self.flight.lock().await;
        {
            let mut state = self.state.lock().unwrap();
            match state.held.as_mut() {
                // Already replaced by another request's refresh: resend with it.
                Some(held) if held.value != *used => return Ok(!held.refused),
                Some(held) => held.refused = true,
                None => {}
            }
        }
        if let Some(error) = self.failed_since(seen) {
            return Err(error);
        }
        let value = self.fetch(Reason::Unauthorized).await?;
        Ok(value != *used)
    }
}

impl<S: TokenSource> fmt::Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

impl<S: TokenSource> Credentials for TokenCache<S> {
    fn authorization(&self) -> BoxFuture<'_, Result<Option<HeaderValue>>> {
        Box::pin(self.current())
    }

    fn unauthorized<'a>(&'a self, used: &'a HeaderValue) -> BoxFuture<'a, Result<bool>> {
        Box::pin(self.refused(used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Tokens `t1`, `t2`, … with the given lifetime; fails while `fail` is set.
    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Option<Duration>,
        fail: std::sync::atomic::AtomicBool,
        reasons: Mutex<Vec<Reason>>,
    }

    impl TokenSource for Arc<Counting> {
        fn fetch(&self, reason: Reason) -> BoxFuture<'_, Result<Token>> {
            Box::pin(async move {
                self.reasons.lock().unwrap().push(reason);
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                if self.fail.load(Ordering::SeqCst) {
                    return Err(Error::new(ErrorCode::NotAuthorized, "refused"));
                }
                Token::bearer(&format!("t{n}"), self.lifetime)
            })
        }
    }

    fn cache(lifetime: Option<Duration>) -> (Arc<Counting>, Arc<TokenCache<Arc<Counting>>>) {
        let source = Arc::new(Counting { lifetime, ..Default::default() });
        (Arc::clone(&source), Arc::new(TokenCache::new(source)))
    }

    #[tokio::test]
    async fn concurrent_first_requests_share_one_fetch() {
        let (source, cache) = cache(None);
        let all = futures_util::future::join_all((0..50).map(|_| cache.authorization())).await;
        assert!(all.iter().all(|v| v.as_ref().unwrap().as_ref().unwrap() == "Bearer t1"));
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
        assert!(all[0].as_ref().unwrap().as_ref().unwrap().is_sensitive());
    }

    #[tokio::test]
    async fn a_failed_fetch_fails_every_waiter_without_fetching_again() {
        let (source, cache) = cache(None);
        source.fail.store(true, Ordering::SeqCst);
        let all = futures_util::future::join_all((0..20).map(|_| cache.authorization())).await;
        assert!(all.iter().all(|r| r.as_ref().unwrap_err().code() == ErrorCode::NotAuthorized));
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
        // A later request tries again.
        source.fail.store(false, Ordering::SeqCst);
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t2");
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_at_ninety_percent_of_the_lifetime() {
        let (source, cache) = cache(Some(Duration::from_secs(100)));
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t1");
        tokio::time::advance(Duration::from_secs(89)).await;
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t2");
        assert_eq!(*source.reasons.lock().unwrap(), [Reason::Initial, Reason::Expiring]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_early_refresh_keeps_the_valid_token_but_not_an_expired_one() {
        let (source, cache) = cache(Some(Duration::from_secs(100)));
        cache.authorization().await.unwrap();
        source.fail.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(95)).await;
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t1");
        // Not asked again at once.
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t1");
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(cache.authorization().await.is_err());
    }

    #[tokio::test]
    async fn concurrent_401s_refresh_once() {
        let (source, cache) = cache(None);
        let used = cache.authorization().await.unwrap().unwrap();
        let all = futures_util::future::join_all((0..30).map(|_| cache.unauthorized(&used))).await;
        assert!(all.iter().all(|r| *r.as_ref().unwrap()));
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
        assert_eq!(cache.authorization().await.unwrap().unwrap(), "Bearer t2");
        assert_eq!(source.reasons.lock().unwrap()[1], Reason::Unauthorized);
        assert!(!format!("{cache:?}").contains("t2"));
    }
}
