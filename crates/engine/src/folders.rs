//! Folder creation through `/api/assets` (`docs/compat.md §5.4`,
//! `docs/protocol.md §5`), over the call's [`AemSession`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::http::{self, Request, RetryOn, RetryPolicy, Trace};
use crate::session::AemSession;
use crate::target::encode_component;
use crate::{Error, ErrorCode, Result};

/// How folder POSTs are retried (`httpOptions.cloudClient`).
#[derive(Clone, Debug)]
pub struct FolderOptions {
    /// Total attempts (default 3).
    pub attempts: u32,
    /// Wait before retry n = `delay * multiplier^(n-1)` (default 1000 ms, ×2).
    pub delay: Duration,
    pub multiplier: u32,
    pub idle_timeout: Option<Duration>,
    /// Also retry 404 (`eventuallyConsistentCreate`).
    pub eventually_consistent: bool,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            attempts: 3,
            delay: Duration::from_millis(1000),
            multiplier: 2,
            idle_timeout: Some(Duration::from_millis(60_000)),
            eventually_consistent: false,
        }
    }
}

impl FolderOptions {
    /// The cloud client's policy. It waits `delay × multiplier^(attempt−1)`:
    /// the first retry waits `delay`.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.attempts, self.delay / self.multiplier.max(1), self.multiplier)
            .with_idle_timeout(self.idle_timeout)
            .with_retry_on(if self.eventually_consistent { RetryOn::TransientAndNotFound } else { RetryOn::Transient })
    }
}

/// The result of one folder POST that did not fail.
#[derive(Debug)]
pub struct FolderCreated {
    /// false: it existed already (409).
    pub created: bool,
    pub elapsed: Duration,
    pub retry_errors: Vec<Error>,
}

/// Collects a folder POST's retried errors as the result reports them.
#[derive(Default)]
struct Retries(Mutex<Vec<Error>>);

impl Trace for Retries {
    fn retried(&self, error: &Error) {
        self.0.lock().unwrap().push(folder_error(error.clone()));
    }
}

/// `POST <prefix>/api/assets/<path minus /content/dam>` for folder `path`
/// (decoded, e.g. `/content/dam/a b`) titled `title`.
pub async fn create_folder(
    session: &AemSession,
    options: &FolderOptions,
    url_prefix: &str,
    path: &str,
    title: &str,
    cancel: &CancellationToken,
) -> Result<FolderCreated> {
    let relative = path.strip_prefix("/content/dam").unwrap_or(path);
    let mut url = format!("{url_prefix}/api/assets");
    for segment in relative.split('/').filter(|s| !s.is_empty()) {
        url.push('/');
        url.push_str(&encode_component(segment, FOLDER_SEGMENT));
    }
    let url = http::parse_url(&url)?;
    let body = Bytes::from(serde_json::json!({"class": "assetFolder", "properties": {"jcr:title": title}}).to_string());
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let request = Request::with_bytes(Method::POST, &url, headers, body);
    let started = Instant::now();
    let retries = Retries::default();
    let outcome = session.send(request, &options.policy(), cancel, &retries).await;
    let retry_errors = retries.0.into_inner().unwrap();
    match outcome {
        Ok(_) => Ok(FolderCreated { created: true, elapsed: started.elapsed(), retry_errors }),
        Err(f) if f.status == Some(StatusCode::CONFLICT) => {
            Ok(FolderCreated { created: false, elapsed: Duration::ZERO, retry_errors })
        }
        Err(f) => Err(folder_error(f.error)),
    }
}

/// Where one folder of [`create_folders`] stands.
#[derive(Clone, Copy)]
enum Slot {
    Waiting,
    Sent,
    Created,
    Failed,
    /// Never sent: its parent failed or was not sent. Never handed over:
    /// the failure before it ends the call.
    Skipped,
}

/// Creates `folders` (decoded path, title), parents before children, and
/// decides as creating them one at a time in list order would: a folder is
/// sent once its parent (the nearest earlier entry with its parent path) was
/// created or found existing; up to `in_flight` requests overlap, none more
/// than `in_flight` places past the first unfinished folder; and the first
/// failure in list order ends the call (requests of later folders still in
/// flight are abandoned). Outcomes come in list order, up to and with that
/// failure.
///
/// One call instead of one per folder: the caller (JS) is free to prepare
/// the upload meanwhile, and no folder waits for it between requests.
pub async fn create_folders(
    session: &AemSession,
    options: &FolderOptions,
    url_prefix: &str,
    folders: &[(String, String)],
    in_flight: usize,
    cancel: &CancellationToken,
) -> Vec<Result<FolderCreated>> {
    let count = folders.len();
    let mut latest = std::collections::HashMap::new();
    let parents: Vec<Option<usize>> = folders
        .iter()
        .enumerate()
        .map(|(i, (path, _))| {
            let parent = path.rsplit_once('/').and_then(|(dir, _)| latest.get(dir).copied());
            latest.insert(path.as_str(), i);
            parent
        })
        .collect();
    let mut slots = vec![Slot::Waiting; count];
    let mut outcomes: Vec<Option<Result<FolderCreated>>> = (0..count).map(|_| None).collect();
    let mut running = FuturesUnordered::new();
    // Folders before this one are finished and not failed.
    let mut handed = 0;
    loop {
        while handed < count {
            match slots[handed] {
                Slot::Created => handed += 1,
                Slot::Failed => return outcomes.into_iter().take(handed + 1).map(|o| o.expect("finished")).collect(),
                Slot::Waiting | Slot::Sent | Slot::Skipped => break,
            }
        }
        if handed == count {
            return outcomes.into_iter().map(|o| o.expect("finished")).collect();
        }
        for i in handed..count.min(handed + in_flight.max(1)) {
            if !matches!(slots[i], Slot::Waiting) {
                continue;
            }
            match parents[i].map(|p| slots[p]) {
                None | Some(Slot::Created) => {
                    let (path, title) = &folders[i];
                    running.push(
                        async move { (i, create_folder(session, options, url_prefix, path, title, cancel).await) },
                    );
                    slots[i] = Slot::Sent;
                }
                Some(Slot::Failed | Slot::Skipped) => slots[i] = Slot::Skipped,
                Some(Slot::Waiting | Slot::Sent) => {}
            }
        }
        // The first unfinished folder is in flight: its parent, earlier in
        // the list, was created, so the loop above sent it.
        let (i, outcome) = running.next().await.expect("the first unfinished folder is in flight");
        slots[i] = if outcome.is_ok() { Slot::Created } else { Slot::Failed };
        outcomes[i] = Some(outcome);
    }
}

/// Characters kept as they are in a folder URL's segments.
const FOLDER_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'(').remove(b')');

/// Folder POSTs map 413 and 429 to `EUNKNOWN` (`docs/compat.md §9.3`).
fn folder_error(error: Error) -> Error {
    match error.code() {
        ErrorCode::TooLarge | ErrorCode::TooManyRequests => Error::new(ErrorCode::Unknown, error.message().to_string()),
        _ => error,
    }
}
