//! The options of a call as the JS facade passes them (the reference's
//! names, numbers as given), converted and clamped here, once, into the
//! engine's (`docs/compat.md §2.3`).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use aem_upload_engine::folders::FolderOptions;
use aem_upload_engine::http::ClientOptions;
use aem_upload_engine::upload::UploadOptions;
use napi_derive::napi;

/// The options of an upload call (validated by JS, not yet converted).
#[napi(object)]
pub struct NativeOptions {
    /// `getMaxConcurrent()`: part PUTs in flight; below 1 or not finite: 1; at most 1024.
    pub max_concurrent: f64,
    /// `getHttpRetryCount()`: retries after the first attempt (default 3).
    pub retry_count: f64,
    /// `getHttpRetryDelay()` in ms (default 5000).
    pub retry_delay: f64,
    /// `getHttpRequestTimeout()` in ms; with `timeout`, the smaller positive one applies.
    pub request_timeout: Option<f64>,
    /// `httpOptions.timeout` in ms.
    pub timeout: Option<f64>,
    /// `httpOptions.cloudClient.eventuallyConsistentCreate`.
    pub eventually_consistent: bool,
    pub log: bool,
    /// Path of the resume journal.
    pub journal: Option<String>,
    /// Whether `progress` events cross to JS (a `fileprogress` listener
    /// exists); `wantEvents` changes it during the call. Default true.
    pub progress: Option<bool>,
    /// Whether `start` events cross to JS (a `filestart` listener exists);
    /// absent: they do.
    pub starts: Option<bool>,
}

/// Folder POST options: `httpOptions.cloudClient` (`retry.count`,
/// `retry.delay`, `retry.delayMultiple`, `timeout`).
#[napi(object)]
pub struct NativeFolderOptions {
    pub retry_count: Option<f64>,
    pub retry_delay: Option<f64>,
    pub retry_delay_multiple: Option<f64>,
    pub timeout: Option<f64>,
    pub eventually_consistent: bool,
}

/// What a call's session is made of: `httpOptions.headers` and the agent's
/// proxy and TLS options.
#[napi(object)]
pub struct NativeSessionOptions {
    pub headers: HashMap<String, String>,
    pub reject_unauthorized: bool,
    pub proxy: Option<String>,
    pub ca: Option<Vec<String>>,
    /// `withMaxAemRequests(n)`: a fixed limit of AEM requests in flight
    /// instead of the adaptive one; clamped to 1..=256.
    pub max_aem_requests: Option<f64>,
}

/// A whole number of at least 0, or `default` (the facade's `nonNegativeInt`).
fn whole(value: Option<f64>, default: u32) -> f64 {
    match value {
        Some(n) if n.is_finite() && n >= 0.0 => n.floor(),
        _ => default.into(),
    }
}

/// A count (saturating).
fn count(value: f64) -> u32 {
    value.min(u32::MAX as f64) as u32
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(value as u64)
}

/// A value when positive and finite (the facade's `positive`).
fn positive(value: Option<f64>) -> Option<f64> {
    value.filter(|n| n.is_finite() && *n > 0.0)
}

/// An idle timeout of `ms` milliseconds; none when that is under 1 ms.
fn idle_timeout(ms: Option<f64>) -> Option<Duration> {
    ms.map(millis).filter(|d| !d.is_zero())
}

impl From<&NativeOptions> for UploadOptions {
    fn from(options: &NativeOptions) -> UploadOptions {
        let n = options.max_concurrent;
        let max_concurrent =
            if n.is_finite() && n >= 1.0 { n.min(UploadOptions::MAX_CONCURRENT as f64).floor() as usize } else { 1 };
        UploadOptions {
            max_concurrent: NonZeroUsize::new(max_concurrent).unwrap_or(NonZeroUsize::MIN),
            retry_count: count(whole(Some(options.retry_count), 3)),
            retry_delay: millis(whole(Some(options.retry_delay), 5000)),
            idle_timeout: idle_timeout(
                [positive(options.request_timeout), positive(options.timeout)].into_iter().flatten().reduce(f64::min),
            ),
            eventually_consistent: options.eventually_consistent,
            log: options.log,
            journal: options.journal.as_ref().map(PathBuf::from),
        }
    }
}

impl From<&NativeFolderOptions> for FolderOptions {
    fn from(options: &NativeFolderOptions) -> FolderOptions {
        FolderOptions {
            attempts: count(whole(options.retry_count, 3)).max(1),
            delay: millis(whole(options.retry_delay, 1000)),
            multiplier: count(whole(options.retry_delay_multiple, 2)).max(1),
            idle_timeout: idle_timeout(Some(positive(options.timeout).unwrap_or(60_000.0))),
            eventually_consistent: options.eventually_consistent,
        }
    }
}

impl From<&NativeSessionOptions> for ClientOptions {
    fn from(options: &NativeSessionOptions) -> ClientOptions {
        ClientOptions {
            accept_invalid_certs: !options.reject_unauthorized,
            ca_pem: options.ca.iter().flatten().map(|c| c.as_bytes().to_vec()).collect(),
            proxy: options.proxy.clone(),
            ..ClientOptions::default()
        }
    }
}
