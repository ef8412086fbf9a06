//! What a call tells its caller: file events (exactly one terminal event
//! per file), log lines and retried errors.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::events::{Event, LogLevel};
use crate::http::Trace;
use crate::source::Source;
use crate::{Error, ErrorCode};

use super::context::Context;

/// Retried errors kept for the result (`retryErrors`).
const MAX_RETRY_ERRORS: usize = 1000;

impl Context {
    pub fn emit(&self, event: Event) {
        self.sink.emit(event);
    }

    pub fn log(&self, level: LogLevel, message: String) {
        if self.options.log {
            self.emit(Event::Log { level, message });
        }
    }

    pub fn start(&self, index: usize) {
        if !self.state[index].started.swap(true, Ordering::AcqRel) {
            // Formatted only when logging: thousands of files otherwise pay for lines nobody reads.
            if self.options.log {
                self.log(
                    LogLevel::Info,
                    format!("Upload START '{}': {} bytes", self.target_name(index), self.files[index].size),
                );
            }
            self.emit(Event::FileStart { file: index });
        }
    }

    pub fn progress(&self, index: usize, transferred: u64, mime_type: &Arc<str>) {
        let state = &self.state[index];
        // Never decreasing: after a re-initiate, values not above the last are dropped.
        if state.transferred.fetch_max(transferred, Ordering::AcqRel) < transferred
            && !state.done.load(Ordering::Acquire)
        {
            self.emit(Event::FileProgress { file: index, transferred, mime_type: Arc::clone(mime_type) });
        }
    }

    /// Whether the file has had its terminal event.
    pub fn is_done(&self, index: usize) -> bool {
        self.state[index].done.load(Ordering::Acquire)
    }

    /// Takes the file's one terminal event; false when it was taken before.
    pub fn claim_terminal(&self, index: usize) -> bool {
        let claimed = !self.state[index].done.swap(true, Ordering::AcqRel);
        if claimed {
            self.release_source(index);
        }
        claimed
    }

    /// Asks a stream's producer to start, the first time its bytes are needed.
    pub fn want_source(&self, index: usize) {
        if let Source::Stream(stream) = &self.files[index].source {
            if stream.wanted() {
                self.emit(Event::SourceWanted { file: index });
            }
        }
    }

    /// A finished file's stream is closed, so its producer stops pushing.
    fn release_source(&self, index: usize) {
        if let Source::Stream(stream) = &self.files[index].source {
            let stream = stream.clone();
            tokio::spawn(async move { stream.close().await });
        }
    }

    pub fn end(&self, index: usize, mime_type: Arc<str>) {
        if self.claim_terminal(index) {
            if self.options.log {
                self.log(
                    LogLevel::Info,
                    format!("Upload COMPLETE '{}': {} bytes", self.target_name(index), self.files[index].size),
                );
            }
            self.emit(Event::FileEnd { file: index, mime_type, retries: self.retries_of(index) });
        }
    }

    pub fn fail(&self, index: usize, error: Error, mime_type: Option<Arc<str>>) {
        if error.code() == ErrorCode::UserCancelled {
            return self.cancelled(index, mime_type);
        }
        if self.claim_terminal(index) {
            self.log(LogLevel::Error, format!("Upload FAILED '{}': '{}'", self.target_name(index), error.message()));
            self.emit(Event::FileError { file: index, error, mime_type, retries: self.retries_of(index) });
        }
    }

    pub fn cancelled(&self, index: usize, mime_type: Option<Arc<str>>) {
        if self.claim_terminal(index) {
            self.emit(Event::FileCancelled { file: index, mime_type, retries: self.retries_of(index) });
        }
    }
}

/// Every request of a call reports its retries and, when logging, one line.
impl Trace for Context {
    fn retried(&self, error: &Error) {
        self.log(LogLevel::Warn, format!("Retrying after: {}", error.message()));
        let mut errors = self.retry_errors.lock().unwrap();
        if errors.len() < MAX_RETRY_ERRORS {
            errors.push(error.clone());
        }
    }

    fn logging(&self) -> bool {
        self.options.log
    }

    fn logged(&self, line: String) {
        self.log(LogLevel::Debug, line);
    }
}

/// The requests of some files (one, or an initiate's batch): their retries
/// are counted per file for the report, and reported as the call's too.
pub(super) struct FilesTrace<'a> {
    pub ctx: &'a Context,
    pub files: &'a [usize],
}

impl Trace for FilesTrace<'_> {
    fn retried(&self, error: &Error) {
        for &index in self.files {
            self.ctx.state[index].retries.fetch_add(1, Ordering::Relaxed);
        }
        self.ctx.retried(error);
    }

    fn logging(&self) -> bool {
        self.ctx.logging()
    }

    fn logged(&self, line: String) {
        self.ctx.logged(line)
    }
}

impl Context {
    fn retries_of(&self, index: usize) -> u32 {
        self.state[index].retries.load(Ordering::Relaxed)
    }
}
