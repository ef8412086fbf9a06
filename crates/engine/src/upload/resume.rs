//! The call's side of the resume journal (`docs/compat.md §12`): files an
//! earlier run completed are skipped, and every complete is recorded.

use std::path::Path;

use crate::events::{Event, LogLevel};
use crate::journal::{FileKey, Journal, Recorded};
use crate::Error;

use super::context::Context;
use super::options::UploadFile;

/// The open journal and each file's key in it.
pub(super) struct Resume {
    journal: Journal,
    keys: Vec<FileKey>,
}

impl Resume {
    /// Opens the journal at `path`, if there is one.
    pub fn open(path: Option<&Path>, files: &[UploadFile]) -> Result<Option<Resume>, Error> {
        let Some(path) = path else { return Ok(None) };
        let journal = Journal::open(path)?;
        let keys = files.iter().map(|f| FileKey::of(f.target.url(), f.size, &f.source)).collect();
        Ok(Some(Resume { journal, keys }))
    }
}

impl Context {
    fn journaled(&self, index: usize) -> Option<(&Journal, &FileKey)> {
        match &self.resume {
            Ok(Some(resume)) => Some((&resume.journal, &resume.keys[index])),
            _ => None,
        }
    }

    /// The MIME type of a file an earlier run completed, as the journal records it.
    pub fn completed_earlier(&self, index: usize) -> Option<&str> {
        let (journal, key) = self.journaled(index)?;
        match journal.recorded(key) {
            Some(Recorded::Completed { mime_type }) => Some(mime_type),
            _ => None,
        }
    }

    /// Skips a file an earlier run completed (as the journal records it).
    pub fn skip_journaled(&self, index: usize) -> bool {
        let Some(mime_type) = self.completed_earlier(index) else { return false };
        if self.claim_terminal(index) {
            self.log(
                LogLevel::Info,
                format!("Upload SKIPPED '{}': completed in an earlier run (journal)", self.target_name(index)),
            );
            self.emit(Event::FileSkipped { file: index, mime_type: mime_type.into() });
        }
        true
    }

    pub fn journal_completing(&self, index: usize) {
        if let Some((journal, key)) = self.journaled(index) {
            if let Err(error) = journal.record_completing(key) {
                self.log(LogLevel::Warn, error.message().to_string());
            }
        }
    }

    pub fn journal_completed(&self, index: usize, mime_type: &str) {
        if let Some((journal, key)) = self.journaled(index) {
            if let Err(error) = journal.record_completed(key, mime_type) {
                self.log(LogLevel::Warn, error.message().to_string());
            }
        }
    }

    /// A 409 at complete for a file whose complete an earlier run sent but
    /// never saw answered: the asset that exists is this file.
    pub fn completed_before(&self, index: usize) -> bool {
        self.journaled(index).is_some_and(|(journal, key)| journal.recorded(key) == Some(&Recorded::Completing))
    }
}
