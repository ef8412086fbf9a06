//! What a transfer tells its caller while it runs.

use std::sync::Arc;

use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Per-file events carry the file's index in the call's list. Each file gets
/// `FileStart` (unless it failed pre-validation), progress, then exactly one
/// of `FileEnd`, `FileError`, `FileCancelled`; or only `FileSkipped`.
#[derive(Clone, Debug)]
pub enum Event {
    FileStart {
        file: usize,
    },
    FileProgress {
        file: usize,
        transferred: u64,
        mime_type: Arc<str>,
    },
    /// `retries`: attempts of the file's requests that failed and were
    /// retried (an initiate's count goes to every file it carried).
    FileEnd {
        file: usize,
        mime_type: Arc<str>,
        retries: u32,
    },
    FileError {
        file: usize,
        error: Error,
        mime_type: Option<Arc<str>>,
        retries: u32,
    },
    FileCancelled {
        file: usize,
        mime_type: Option<Arc<str>>,
        retries: u32,
    },
    /// The file's stream source is needed now: its producer should start
    /// pushing (see [`crate::source::StreamSource`]). Not a file event for users.
    SourceWanted {
        file: usize,
    },
    /// Completed in an earlier run, as the journal records: nothing is sent
    /// and no other event follows. Carries the MIME type it landed with.
    FileSkipped {
        file: usize,
        mime_type: Arc<str>,
    },
    /// Only when logging was asked for; never holds a credential or URL query.
    Log {
        level: LogLevel,
        message: String,
    },
}

/// Receives events in order. Must not block: it is called from the transfer's tasks.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

impl<F: Fn(Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}
