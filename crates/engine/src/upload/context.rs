//! What every step of a call shares: its files and their state, the AEM
//! session and the blob path, the limits, the event sink and the journal.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::blob::BlobClient;
use crate::buffers::BufferPool;
use crate::events::EventSink;
use crate::http::RetryPolicy;
use crate::session::AemSession;
use crate::Error;

use super::cancel::Cancel;
use super::options::{UploadFile, UploadOptions};
use super::resume::Resume;

/// Where one file stands.
#[derive(Default)]
pub(super) struct FileState {
    pub started: AtomicBool,
    pub done: AtomicBool,
    pub transferred: AtomicU64,
    /// Failed attempts of its requests that were retried.
    pub retries: AtomicU32,
}

/// One call's shared context.
pub(super) struct Context {
    /// Initiates, completes and create-asset requests.
    pub session: Arc<AemSession>,
    /// Part PUTs to presigned URLs.
    pub blobs: BlobClient,
    pub files: Vec<UploadFile>,
    pub options: UploadOptions,
    pub sink: Arc<dyn EventSink>,
    pub cancel: Cancel,
    pub state: Vec<FileState>,
    /// Part PUTs in flight across the call (`maxConcurrent`).
    pub part_permits: Semaphore,
    /// Read buffers of large parts, reused for the whole call.
    pub buffers: Arc<BufferPool>,
    pub retry_errors: Mutex<Vec<Error>>,
    /// The open journal, or why it could not be opened.
    pub resume: Result<Option<Resume>, Error>,
}

impl Context {
    pub fn new(
        session: Arc<AemSession>,
        files: Vec<UploadFile>,
        options: UploadOptions,
        sink: Arc<dyn EventSink>,
        cancel: Cancel,
    ) -> Context {
        let resume = Resume::open(options.journal.as_deref(), &files);
        let concurrency = options.max_concurrent.get();
        Context {
            blobs: session.blobs(),
            session,
            buffers: crate::source::read_buffers(concurrency),
            state: files.iter().map(|_| FileState::default()).collect(),
            files,
            sink,
            cancel,
            part_permits: Semaphore::new(concurrency),
            retry_errors: Mutex::new(Vec::new()),
            options,
            resume,
        }
    }

    /// The decoded node name of a file's target (events, forms, messages).
    pub fn target_name(&self, index: usize) -> &str {
        self.files[index].target.node_name()
    }

    /// The policy of initiates, part PUTs and completes.
    pub fn policy(&self) -> RetryPolicy {
        self.options.policy()
    }
}
