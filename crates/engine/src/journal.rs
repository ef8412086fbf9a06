//! The resume journal: an append-only file of JSON lines, one per file that
//! completed (and one just before each complete is sent), so that a run that
//! was killed can be started again and upload only what did not land.
//!
//! A file matches a record when its target URL, size and, for local files,
//! path and modification time are the same: a file changed since it was
//! recorded is uploaded again. Every record is one `write(2)` of a whole
//! line, so a `SIGKILL` loses at most the line being written; a torn last line
//! is ignored when the journal is read, and a newline is added before the
//! next record so the torn bytes cannot spoil it.
//!
//! One journal belongs to one run at a time; two processes writing the same
//! journal at once are not coordinated.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::source::Source;
use crate::{Error, ErrorCode, Result};

const VERSION: u32 = 1;

/// What makes a file the same file as in an earlier run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileKey {
    pub url: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ms: Option<u64>,
}

impl FileKey {
    /// The key of a file to upload now; local files are stat'ed for their
    /// modification time (a file that cannot be stat'ed gets none, and so
    /// never matches a record of a readable one).
    pub fn of(url: &str, size: u64, source: &Source) -> FileKey {
        let (source, modified_ms) = match source {
            Source::Path(path) => {
                let modified = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_millis() as u64);
                (Some(path.to_string_lossy().into_owned()), modified)
            }
            // The origin URL without its query: a presigned URL's signature changes run to run.
            Source::Url(remote) => (Some(remote.shown()), None),
            Source::Bytes(_) | Source::Stream(_) => (None, None),
        };
        FileKey { url: url.to_string(), size, source, modified_ms }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Kind {
    /// A complete is about to be sent: the asset may exist after a crash.
    Completing,
    /// The complete succeeded.
    Completed,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    v: u32,
    kind: Kind,
    #[serde(flatten)]
    key: FileKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mime_type: Option<String>,
}

/// How an earlier run left a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Landed; carries the MIME type it landed with.
    Completed { mime_type: String },
    /// Its complete was sent but its answer never recorded: if AEM now says
    /// the asset exists, it is this file's.
    Completing,
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    recorded: HashMap<String, (FileKey, Recorded)>,
}

impl Journal {
    /// Opens (creating) the journal at `path` and reads what it holds.
    pub fn open(path: &Path) -> Result<Journal> {
        let fail = |e: std::io::Error| {
            Error::new(ErrorCode::from_io(&e), format!("Cannot use journal '{}': {e}", path.display()))
        };
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(fail)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(fail)?;
        let mut recorded = HashMap::new();
        for line in text.split(|&b| b == b'\n') {
            // A torn or foreign line is skipped: at worst a file is sent again.
            let Ok(record) = serde_json::from_slice::<Record>(line) else { continue };
            if record.v != VERSION {
                continue;
            }
            let state = match record.kind {
                Kind::Completed => Recorded::Completed {
                    mime_type: record.mime_type.unwrap_or_else(|| "application/octet-stream".into()),
                },
                Kind::Completing => Recorded::Completing,
            };
            let url = record.key.url.clone();
            match (recorded.get(&url), &state) {
                // A later "completing" does not undo an earlier "completed" of the same file.
                (Some((key, Recorded::Completed { .. })), Recorded::Completing) if *key == record.key => {}
                _ => {
                    recorded.insert(url, (record.key, state));
                }
            }
        }
        if text.last().is_some_and(|&b| b != b'\n') {
            file.seek(SeekFrom::End(0)).map_err(fail)?;
            file.write_all(b"\n").map_err(fail)?;
        }
        Ok(Journal { path: path.to_path_buf(), file: Mutex::new(file), recorded })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What an earlier run recorded for exactly this file.
    pub fn recorded(&self, key: &FileKey) -> Option<&Recorded> {
        self.recorded.get(&key.url).filter(|(k, _)| k == key).map(|(_, state)| state)
    }

    /// Number of files recorded as completed.
    pub fn completed_count(&self) -> usize {
        self.recorded.values().filter(|(_, s)| matches!(s, Recorded::Completed { .. })).count()
    }

    pub fn record_completing(&self, key: &FileKey) -> Result<()> {
        self.append(Record { v: VERSION, kind: Kind::Completing, key: key.clone(), mime_type: None })
    }

    pub fn record_completed(&self, key: &FileKey, mime_type: &str) -> Result<()> {
        self.append(Record { v: VERSION, kind: Kind::Completed, key: key.clone(), mime_type: Some(mime_type.into()) })
    }

    fn append(&self, record: Record) -> Result<()> {
        let mut line = serde_json::to_vec(&record).map_err(|e| Error::new(ErrorCode::Unknown, e.to_string()))?;
        line.push(b'\n');
        // One write of the whole line (O_APPEND): a kill leaves a whole line or a torn last one.
        self.file.lock().unwrap().write_all(&line).map_err(|e| {
            Error::new(ErrorCode::from_io(&e), format!("Cannot write journal '{}': {e}", self.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(url: &str) -> FileKey {
        FileKey { url: url.into(), size: 3, source: None, modified_ms: None }
    }

    #[test]
    fn records_survive_reopening_and_torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        {
            let journal = Journal::open(&path).unwrap();
            assert_eq!(journal.completed_count(), 0);
            journal.record_completing(&key("http://h/a")).unwrap();
            journal.record_completed(&key("http://h/a"), "image/jpeg").unwrap();
            journal.record_completing(&key("http://h/b")).unwrap();
        }
        // A kill in the middle of a line.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"v\":1,\"kind\":\"compl").unwrap();
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.recorded(&key("http://h/a")), Some(&Recorded::Completed { mime_type: "image/jpeg".into() }));
        assert_eq!(journal.recorded(&key("http://h/b")), Some(&Recorded::Completing));
        assert_eq!(journal.recorded(&key("http://h/c")), None);
        // Same URL, other size: another file.
        assert_eq!(journal.recorded(&FileKey { size: 4, ..key("http://h/a") }), None);
        let local =
            FileKey { source: Some("/tmp/x".into()), modified_ms: Some(1_700_000_000_123), ..key("http://h/d") };
        journal.record_completed(&key("http://h/c"), "text/plain").unwrap();
        journal.record_completed(&local, "text/plain").unwrap();
        drop(journal);
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.completed_count(), 3, "the records after the torn line are intact");
        assert!(journal.recorded(&local).is_some(), "local keys round-trip");
    }

    #[test]
    fn a_changed_local_file_no_longer_matches() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.bin");
        std::fs::write(&file, b"abc").unwrap();
        let before = FileKey::of("http://h/x.bin", 3, &Source::Path(file.clone()));
        assert!(before.modified_ms.is_some());
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        File::options().write(true).open(&file).unwrap().set_modified(later).unwrap();
        assert_ne!(FileKey::of("http://h/x.bin", 3, &Source::Path(file)), before);
    }

    #[test]
    fn an_unusable_path_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = Journal::open(dir.path()).err().unwrap();
        assert!(error.message().starts_with("Cannot use journal"), "{}", error.message());
        assert_eq!(error.code().as_str(), "EISDIR");
    }
}
