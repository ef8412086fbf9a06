//! What one call is given: its options and its files, and what it reports
//! besides its events.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::{RetryOn, RetryPolicy};
use crate::source::Source;
use crate::target::Target;
use crate::Error;

/// Options of one call (`docs/compat.md §2`). Headers and credentials are
/// the [`crate::session::AemSession`]'s.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// Part PUTs in flight across the call.
    pub max_concurrent: NonZeroUsize,
    pub retry_count: u32,
    pub retry_delay: Duration,
    pub idle_timeout: Option<Duration>,
    /// `cloudClient.eventuallyConsistentCreate`: retry any non-2xx, 404 included.
    pub eventually_consistent: bool,
    /// Emit `Event::Log` lines.
    pub log: bool,
    /// Resume journal: files it records as completed are skipped, and every
    /// file that completes is recorded (see [`crate::journal`]).
    pub journal: Option<PathBuf>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            max_concurrent: NonZeroUsize::new(5).expect("not zero"),
            retry_count: 3,
            retry_delay: Duration::from_millis(5000),
            idle_timeout: Some(Duration::from_millis(60_000)),
            eventually_consistent: false,
            log: false,
            journal: None,
        }
    }
}

impl UploadOptions {
    /// The most part PUTs in flight a call accepts; more is clamped to it.
    pub const MAX_CONCURRENT: usize = 1024;

    /// The policy of initiates, part PUTs and completes (`docs/compat.md §2.3`).
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy::new(self.retry_count.saturating_add(1), self.retry_delay, 2)
            .with_idle_timeout(self.idle_timeout)
            .with_retry_on(if self.eventually_consistent { RetryOn::AnyStatus } else { RetryOn::Transient })
    }
}

/// One file of a call.
#[derive(Clone, Debug)]
pub struct UploadFile {
    /// Where it goes.
    pub target: Target,
    pub size: u64,
    pub source: Source,
    pub create_version: bool,
    pub version_label: Option<String>,
    pub version_comment: Option<String>,
    pub replace: bool,
    /// Added to every part PUT of the file.
    pub part_headers: Vec<(String, String)>,
    /// A failure found before the call (e.g. an unreadable blob): the file
    /// fails in pre-validation, in list order, and sends nothing.
    pub rejected: Option<Error>,
    /// The walk that planned the call found a regular file of `size` bytes
    /// at this path moments ago: pre-validation only asks whether it can
    /// still be read, instead of opening it and asking its length again.
    pub walked: bool,
}

impl UploadFile {
    /// A file with no versioning, replace or part headers, going to `target`.
    pub fn to(target: Target, size: u64, source: Source) -> UploadFile {
        UploadFile {
            target,
            size,
            source,
            create_version: false,
            version_label: None,
            version_comment: None,
            replace: false,
            part_headers: Vec::new(),
            rejected: None,
            walked: false,
        }
    }

    /// [`UploadFile::to`] the target URL `target_url`; a URL that does not
    /// resolve fails the file in pre-validation.
    pub fn new(target_url: impl Into<String>, size: u64, source: Source) -> UploadFile {
        let target_url = target_url.into();
        match Target::parse(&target_url) {
            Ok(target) => UploadFile::to(target, size, source),
            Err(_) => {
                let (target, error) = Target::unresolved(target_url);
                UploadFile { rejected: Some(error), ..UploadFile::to(target, size, source) }
            }
        }
    }
}

/// What the transfer step reports besides its events.
#[derive(Debug, Default)]
pub struct Summary {
    /// Time of the transfer step.
    pub total_time: Duration,
    /// Errors of attempts that were retried (at most 1000).
    pub retry_errors: Vec<Error>,
    /// Failures of the call as a whole (a journal that cannot be used); no
    /// file was sent and no file event was emitted.
    pub errors: Vec<Error>,
}
