//! Uploads, folders, the walk and naming, translated between JS values and
//! the engine's types. Events queue up here, in order, and JS pulls them in
//! batches with `nextEvents()` (a promise that settles as soon as events are
//! waiting), so thousands of files cost a few hundred crossings, not three per
//! file. The call's end is itself an event, so JS sees every file event before
//! it settles. A `Notify` permit is stored when nobody waits, so a wake-up can
//! never be lost between "the queue is empty" and "wait".

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aem_upload_engine::events::Event;
use aem_upload_engine::folders::{self, FolderOptions};
use aem_upload_engine::http::{Client, ClientOptions};
use aem_upload_engine::source::{Source, StreamFeed, StreamSource};
use aem_upload_engine::upload::{Cancel, CancelToken, Upload, UploadFile, UploadOptions};
use aem_upload_engine::walk::{self, Walked};
use aem_upload_engine::{naming, Error as EngineError, ErrorCode};
use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// An engine error as data; the JS facade makes it an `UploadError`.
#[napi(object)]
pub struct NativeError {
    pub code: String,
    pub message: String,
    pub detail: String,
}

impl From<&EngineError> for NativeError {
    fn from(e: &EngineError) -> Self {
        NativeError { code: e.code().as_str().to_string(), message: e.message().to_string(), detail: e.detail() }
    }
}

/// One file of an upload call.
#[napi(object)]
pub struct NativeFile {
    pub target_url: String,
    pub size: f64,
    pub file_path: Option<String>,
    /// Index into the call's `buffers`.
    pub buffer_index: Option<u32>,
    pub create_version: bool,
    pub version_label: Option<String>,
    pub version_comment: Option<String>,
    pub replace: bool,
    pub part_headers: Option<HashMap<String, String>>,
    /// Fails the file in pre-validation with this error.
    pub rejected: Option<NativeError>,
    /// The bytes come from a stream JS pushes with `push()` after a `wanted` event.
    pub stream: Option<bool>,
}

/// The options of an upload call (already validated and defaulted by JS).
#[napi(object)]
pub struct NativeOptions {
    pub max_concurrent: u32,
    pub retry_count: u32,
    pub retry_delay: f64,
    /// Milliseconds; absent or 0: no idle timeout.
    pub idle_timeout: Option<f64>,
    pub headers: HashMap<String, String>,
    pub eventually_consistent: bool,
    pub log: bool,
    pub reject_unauthorized: bool,
    pub proxy: Option<String>,
    pub ca: Option<Vec<String>>,
    /// Path of the resume journal.
    pub journal: Option<String>,
}

/// An event of an upload call. `kind`: start, progress, end, error,
/// cancelled, skipped (completed in an earlier run, per the journal), log, or
/// done (last, with the summary and any call-wide `errors`).
#[napi(object)]
pub struct NativeEvent {
    pub kind: String,
    pub file: Option<u32>,
    pub transferred: Option<f64>,
    pub mime_type: Option<String>,
    pub error: Option<NativeError>,
    pub level: Option<String>,
    pub message: Option<String>,
    pub total_time: Option<f64>,
    pub retry_errors: Option<Vec<NativeError>>,
    pub errors: Option<Vec<NativeError>>,
}

impl NativeEvent {
    fn new(kind: &str) -> Self {
        NativeEvent {
            kind: kind.to_string(),
            file: None,
            transferred: None,
            mime_type: None,
            error: None,
            level: None,
            message: None,
            total_time: None,
            retry_errors: None,
            errors: None,
        }
    }

    fn file(kind: &str, file: usize, mime_type: Option<&Arc<str>>) -> Self {
        NativeEvent { file: Some(file as u32), mime_type: mime_type.map(|m| m.to_string()), ..NativeEvent::new(kind) }
    }
}

impl From<Event> for NativeEvent {
    fn from(event: Event) -> Self {
        match event {
            Event::FileStart { file } => NativeEvent::file("start", file, None),
            Event::FileProgress { file, transferred, mime_type } => NativeEvent {
                transferred: Some(transferred as f64),
                ..NativeEvent::file("progress", file, Some(&mime_type))
            },
            Event::FileEnd { file, mime_type } => NativeEvent::file("end", file, Some(&mime_type)),
            Event::FileError { file, error, mime_type } => {
                NativeEvent { error: Some((&error).into()), ..NativeEvent::file("error", file, mime_type.as_ref()) }
            }
            Event::FileCancelled { file, mime_type } => NativeEvent::file("cancelled", file, mime_type.as_ref()),
            Event::FileSkipped { file, mime_type } => NativeEvent::file("skipped", file, Some(&mime_type)),
            Event::SourceWanted { file } => NativeEvent::file("wanted", file, None),
            Event::Log { level, message } => {
                NativeEvent { level: Some(level.as_str().into()), message: Some(message), ..NativeEvent::new("log") }
            }
        }
    }
}

/// How to connect, from the connection fields both option objects carry.
fn client_options(reject_unauthorized: bool, proxy: &Option<String>, ca: &Option<Vec<String>>) -> ClientOptions {
    ClientOptions {
        accept_invalid_certs: !reject_unauthorized,
        ca_pem: ca.iter().flatten().map(|c| c.as_bytes().to_vec()).collect(),
        proxy: proxy.clone(),
    }
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(if value.is_finite() && value > 0.0 { value as u64 } else { 0 })
}

fn invalid(message: String) -> napi::Error {
    napi::Error::new(Status::InvalidArg, message)
}

/// Events waiting for JS.
#[derive(Default)]
struct EventQueue {
    events: Mutex<Vec<NativeEvent>>,
    ready: tokio::sync::Notify,
}

impl EventQueue {
    fn push(&self, event: NativeEvent) {
        self.events.lock().unwrap().push(event);
        self.ready.notify_one();
    }

    async fn next(&self) -> Vec<NativeEvent> {
        loop {
            let batch = std::mem::take(&mut *self.events.lock().unwrap());
            if !batch.is_empty() {
                return batch;
            }
            self.ready.notified().await;
        }
    }
}

/// A running upload call.
#[napi]
pub struct NativeUpload {
    cancel: Cancel,
    queue: Arc<EventQueue>,
    /// Producers' ends of the call's stream sources, by file index.
    feeds: Mutex<HashMap<u32, StreamFeed>>,
}

#[napi]
impl NativeUpload {
    /// Cancels every file of the call.
    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Cancels one file (by its index in the call).
    #[napi]
    pub fn cancel_file(&self, index: u32) {
        self.cancel.cancel_file(index as usize);
    }

    /// Pushes the next chunk of a stream file (after its `wanted` event),
    /// waiting while the engine's queue is full. `false`: the file no longer
    /// needs the stream (it ended, failed or was cancelled); stop reading it.
    #[napi]
    pub async fn push(&self, file: u32, chunk: Buffer) -> bool {
        let feed = self.feeds.lock().unwrap().get(&file).cloned();
        match feed {
            Some(feed) => feed.push(Bytes::from_owner(chunk)).await,
            None => false,
        }
    }

    /// The stream of a file ended.
    #[napi]
    pub fn end(&self, file: u32) {
        self.feeds.lock().unwrap().remove(&file);
    }

    /// The stream of a file failed; the file fails with this error.
    #[napi]
    pub async fn fail(&self, file: u32, error: NativeError) {
        let feed = self.feeds.lock().unwrap().remove(&file);
        if let Some(feed) = feed {
            feed.fail(EngineError::new(ErrorCode::from_name(&error.code), error.message)).await;
        }
    }

    /// The next batch of events, in order, as soon as there is one. The
    /// last event of a call is `done`; do not ask again after it.
    #[napi]
    pub async fn next_events(&self) -> Vec<NativeEvent> {
        let queue = Arc::clone(&self.queue);
        queue.next().await
    }
}

/// Starts an upload call; pull its events with `nextEvents()` until `done`.
#[napi]
pub fn start_upload(
    files: Vec<NativeFile>,
    buffers: Vec<Buffer>,
    options: NativeOptions,
) -> napi::Result<NativeUpload> {
    let client = Client::new(&client_options(options.reject_unauthorized, &options.proxy, &options.ca))
        .map_err(|e| invalid(e.message().to_string()))?;
    let buffers: Vec<Bytes> = buffers.into_iter().map(Bytes::from_owner).collect();
    let mut feeds = HashMap::new();
    let files = files
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let source = match (f.buffer_index, f.file_path) {
                _ if f.rejected.is_some() => Source::Bytes(Bytes::new()),
                _ if f.stream == Some(true) => {
                    let (source, feed) = StreamSource::new();
                    feeds.insert(index as u32, feed);
                    Source::Stream(source)
                }
                (Some(i), _) => {
                    Source::Bytes(buffers.get(i as usize).cloned().ok_or_else(|| invalid(format!("no buffer {i}")))?)
                }
                (None, Some(path)) => Source::Path(PathBuf::from(path)),
                (None, None) => return Err(invalid("a file needs a path or a buffer".into())),
            };
            Ok(UploadFile {
                target_url: f.target_url,
                size: if f.size.is_finite() && f.size > 0.0 { f.size as u64 } else { 0 },
                source,
                create_version: f.create_version,
                version_label: f.version_label,
                version_comment: f.version_comment,
                replace: f.replace,
                part_headers: f.part_headers.unwrap_or_default().into_iter().collect(),
                rejected: f.rejected.map(|e| EngineError::new(ErrorCode::from_name(&e.code), e.message)),
            })
        })
        .collect::<napi::Result<Vec<_>>>()?;
    let upload_options = UploadOptions {
        max_concurrent: options.max_concurrent.max(1) as usize,
        retry_count: options.retry_count,
        retry_delay: millis(options.retry_delay),
        idle_timeout: options.idle_timeout.map(millis).filter(|d| !d.is_zero()),
        headers: options.headers.into_iter().collect(),
        eventually_consistent: options.eventually_consistent,
        journal: options.journal.as_ref().map(PathBuf::from),
        log: options.log,
    };
    let cancel = Cancel::new(files.len());
    let queue = Arc::new(EventQueue::default());
    let sink = Arc::clone(&queue);
    let upload = Upload::new(
        client,
        files,
        upload_options,
        Arc::new(move |event: Event| sink.push(event.into())),
        cancel.clone(),
    );
    let done_queue = Arc::clone(&queue);
    napi::bindgen_prelude::spawn(async move {
        let summary = upload.run().await;
        drop(upload);
        let done = NativeEvent {
            total_time: Some(summary.total_time.as_millis() as f64),
            retry_errors: Some(summary.retry_errors.iter().map(NativeError::from).collect()),
            errors: Some(summary.errors.iter().map(NativeError::from).collect()),
            ..NativeEvent::new("done")
        };
        done_queue.push(done);
    });
    Ok(NativeUpload { cancel, queue, feeds: Mutex::new(feeds) })
}

/// The outcome of one folder POST.
#[napi(object)]
pub struct NativeFolderResult {
    /// created, exists or failed
    pub status: String,
    pub elapsed_time: f64,
    pub retry_errors: Vec<NativeError>,
    pub error: Option<NativeError>,
}

#[napi(object)]
pub struct NativeFolderOptions {
    pub headers: HashMap<String, String>,
    pub attempts: u32,
    pub delay: f64,
    pub multiplier: u32,
    pub idle_timeout: Option<f64>,
    pub eventually_consistent: bool,
    pub reject_unauthorized: bool,
    pub proxy: Option<String>,
    pub ca: Option<Vec<String>>,
}

/// Creates folders for one call, one at a time (parents first), over one
/// pooled client; `cancel()` aborts the request in flight (it then fails with
/// EUSERCANCELLED) and every later one.
#[napi]
pub struct NativeFolderCreator {
    client: Client,
    options: FolderOptions,
    url_prefix: String,
    cancel: CancelToken,
}

#[napi]
impl NativeFolderCreator {
    #[napi(constructor)]
    pub fn new(options: NativeFolderOptions, url_prefix: String) -> napi::Result<Self> {
        let client = Client::new(&client_options(options.reject_unauthorized, &options.proxy, &options.ca))
            .map_err(|e| invalid(e.message().to_string()))?;
        let options = FolderOptions {
            headers: options.headers.into_iter().collect(),
            attempts: options.attempts.max(1),
            delay: millis(options.delay),
            multiplier: options.multiplier.max(1),
            idle_timeout: options.idle_timeout.map(millis).filter(|d| !d.is_zero()),
            eventually_consistent: options.eventually_consistent,
        };
        Ok(NativeFolderCreator { client, options, url_prefix, cancel: CancelToken::new() })
    }

    /// Creates one folder (decoded DAM path and title).
    #[napi]
    pub async fn create(&self, path: String, title: String) -> NativeFolderResult {
        match folders::create_folder(&self.client, &self.options, &self.url_prefix, &path, &title, &self.cancel).await {
            Ok(created) => NativeFolderResult {
                status: if created.created { "created" } else { "exists" }.into(),
                elapsed_time: created.elapsed.as_millis() as f64,
                retry_errors: created.retry_errors.iter().map(NativeError::from).collect(),
                error: None,
            },
            Err(error) => NativeFolderResult {
                status: "failed".into(),
                elapsed_time: 0.0,
                retry_errors: Vec::new(),
                error: Some((&error).into()),
            },
        }
    }

    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

#[napi(object)]
pub struct NativeWalkedDir {
    pub path: String,
    /// -1: the walked root itself.
    pub parent: i32,
}

#[napi(object)]
pub struct NativeWalkedFile {
    pub path: String,
    pub size: f64,
    pub parent: i32,
}

#[napi(object)]
pub struct NativeWalked {
    /// file or tree
    pub kind: String,
    pub path: String,
    pub directories: Vec<NativeWalkedDir>,
    pub files: Vec<NativeWalkedFile>,
}

#[napi(object)]
pub struct NativeWalkResult {
    pub walked: Vec<NativeWalked>,
    pub warnings: Vec<String>,
    pub error: Option<NativeError>,
}

fn parent(index: Option<usize>) -> i32 {
    index.map_or(-1, |i| i as i32)
}

/// Walks local paths (compat.md §5); limits come back as `error` (ETOOLARGE).
#[napi]
pub async fn walk_paths(paths: Vec<String>, deep: bool, max: u32) -> napi::Result<NativeWalkResult> {
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let result = napi::bindgen_prelude::spawn_blocking(move || walk::walk(&paths, deep, max as usize))
        .await
        .map_err(|e| napi::Error::from_reason(e.to_string()))?;
    let text = |p: &std::path::Path| p.to_string_lossy().into_owned();
    Ok(match result {
        Err(error) => NativeWalkResult { walked: Vec::new(), warnings: Vec::new(), error: Some((&error).into()) },
        Ok(result) => NativeWalkResult {
            walked: result
                .walked
                .iter()
                .map(|w| match w {
                    Walked::File(f) => NativeWalked {
                        kind: "file".into(),
                        path: text(&f.path),
                        directories: Vec::new(),
                        files: vec![NativeWalkedFile { path: text(&f.path), size: f.size as f64, parent: -1 }],
                    },
                    Walked::Tree { root, directories, files } => NativeWalked {
                        kind: "tree".into(),
                        path: text(root),
                        directories: directories
                            .iter()
                            .map(|d| NativeWalkedDir { path: text(&d.path), parent: parent(d.parent) })
                            .collect(),
                        files: files
                            .iter()
                            .map(|f| NativeWalkedFile {
                                path: text(&f.path),
                                size: f.size as f64,
                                parent: parent(f.parent),
                            })
                            .collect(),
                    },
                })
                .collect(),
            warnings: result.warnings,
            error: None,
        },
    })
}

/// The default folder processor (the mandatory step comes after it).
#[napi]
pub fn default_folder_name(name: String, replace: String) -> String {
    naming::default_folder_name(&name, &replace)
}

/// The default asset processor, for the part before the extension.
#[napi]
pub fn default_asset_name(name: String, replace: String) -> String {
    naming::default_asset_name(&name, &replace)
}

/// The mandatory replacement every processed name passes.
#[napi]
pub fn mandatory_name(name: String, replace: String) -> String {
    naming::mandatory(&name, &replace)
}

/// The extension split of Node's `path.parse`: `[name, ext]`.
#[napi]
pub fn split_extension(name: String) -> Vec<String> {
    let (stem, ext) = naming::split_extension(&name);
    vec![stem.to_string(), ext.to_string()]
}

#[napi]
pub fn is_valid_replace_value(value: String) -> bool {
    naming::is_valid_replace_value(&value)
}
