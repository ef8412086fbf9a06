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
use aem_upload_engine::http::{Client, ClientOptions, RetryPolicy};
use aem_upload_engine::remote::{Origin, RemoteSource};
use aem_upload_engine::source::{Source, StreamFeed, StreamSource};
use aem_upload_engine::upload::{Cancel, CancelToken, Upload, UploadFile, UploadOptions};
use aem_upload_engine::walk::{self, Walked};
use aem_upload_engine::{naming, Error as EngineError, ErrorCode};
use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

/// An engine error as data; the JS facade makes it an `UploadError`. It also
/// crosses inside the JSON of files (`rejected`, without `detail`) and events.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct NativeError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub detail: String,
}

impl From<&EngineError> for NativeError {
    fn from(e: &EngineError) -> Self {
        NativeError { code: e.code().as_str().to_string(), message: e.message().to_string(), detail: e.detail() }
    }
}

/// One file of an upload call. Files cross as one JSON array: thousands of
/// them cost one string instead of a dozen property reads each.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileSpec {
    target_url: String,
    size: f64,
    file_path: Option<String>,
    /// Index into the call's `buffers`.
    buffer_index: Option<u32>,
    #[serde(default)]
    create_version: bool,
    version_label: Option<String>,
    version_comment: Option<String>,
    #[serde(default)]
    replace: bool,
    part_headers: Option<HashMap<String, String>>,
    /// Fails the file in pre-validation with this error.
    rejected: Option<NativeError>,
    /// The bytes come from a stream JS pushes with `push()` after a `wanted` event.
    stream: Option<bool>,
    /// The bytes come from this http(s) URL (docs/remote-sources.md).
    source_url: Option<String>,
    /// Headers for the origin only.
    source_headers: Option<HashMap<String, String>>,
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
    /// Whether `progress` events cross to JS (a `fileprogress` listener
    /// exists); `wantProgress` changes it during the call. Default true.
    pub progress: Option<bool>,
}

/// An event of an upload call. `kind`: start, progress, end, error,
/// cancelled, skipped (completed in an earlier run, per the journal), log, or
/// done (last, with the summary and any call-wide `errors`). A batch crosses
/// as one JSON array (absent fields left out): three events per file as napi
/// objects cost more than the transfer of a small file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventRecord {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transferred: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mime_type: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<NativeError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_errors: Option<Vec<NativeError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<NativeError>>,
}

impl EventRecord {
    fn new(kind: &'static str) -> Self {
        EventRecord {
            kind,
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

    fn file(kind: &'static str, file: usize, mime_type: Option<Arc<str>>) -> Self {
        EventRecord { file: Some(file as u32), mime_type, ..EventRecord::new(kind) }
    }
}

impl From<Event> for EventRecord {
    fn from(event: Event) -> Self {
        match event {
            Event::FileStart { file } => EventRecord::file("start", file, None),
            Event::FileProgress { file, transferred, mime_type } => {
                EventRecord { transferred: Some(transferred), ..EventRecord::file("progress", file, Some(mime_type)) }
            }
            Event::FileEnd { file, mime_type } => EventRecord::file("end", file, Some(mime_type)),
            Event::FileError { file, error, mime_type } => {
                EventRecord { error: Some((&error).into()), ..EventRecord::file("error", file, mime_type) }
            }
            Event::FileCancelled { file, mime_type } => EventRecord::file("cancelled", file, mime_type),
            Event::FileSkipped { file, mime_type } => EventRecord::file("skipped", file, Some(mime_type)),
            Event::SourceWanted { file } => EventRecord::file("wanted", file, None),
            Event::Log { level, message } => {
                EventRecord { level: Some(level.as_str()), message: Some(message), ..EventRecord::new("log") }
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
        ..ClientOptions::default()
    }
}

fn millis(value: f64) -> Duration {
    Duration::from_millis(if value.is_finite() && value > 0.0 { value as u64 } else { 0 })
}

fn invalid(message: String) -> napi::Error {
    napi::Error::new(Status::InvalidArg, message)
}

/// At most one batch of events crosses to JS per this interval. Each
/// crossing wakes the JS thread and settles a promise; on 5,000 small files
/// batches taken as soon as one event waited averaged 6 events over ~2,000
/// crossings. A sparse event still crosses at once.
const BATCH_INTERVAL: Duration = Duration::from_millis(1);

/// Events waiting for JS.
#[derive(Default)]
struct EventQueue {
    /// Set while no `fileprogress` listener exists: progress events are then
    /// dropped before they become records. With nobody listening, a large
    /// file's progress only woke the JS thread (and, thousands of wake-ups
    /// in, made V8 optimise the event loop with TurboFan, which paged in
    /// ~4 MB of its code at the end of an 8 GiB upload).
    unwanted_progress: std::sync::atomic::AtomicBool,
    events: Mutex<Vec<EventRecord>>,
    ready: tokio::sync::Notify,
    /// When the last batch was taken.
    last_batch: Mutex<Option<tokio::time::Instant>>,
}

impl EventQueue {
    /// An engine event, unless it is progress nobody wants.
    fn push_event(&self, event: Event) {
        if matches!(event, Event::FileProgress { .. })
            && self.unwanted_progress.load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        self.push(event.into());
    }

    fn push(&self, event: EventRecord) {
        self.events.lock().unwrap().push(event);
        self.ready.notify_one();
    }

    async fn next(&self) -> Vec<EventRecord> {
        while self.events.lock().unwrap().is_empty() {
            self.ready.notified().await;
        }
        let last = *self.last_batch.lock().unwrap();
        if let Some(due) = last.map(|at| at + BATCH_INTERVAL) {
            tokio::time::sleep_until(due).await;
        }
        *self.last_batch.lock().unwrap() = Some(tokio::time::Instant::now());
        std::mem::take(&mut *self.events.lock().unwrap())
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

    /// Whether `progress` events should cross to JS from now on.
    #[napi]
    pub fn want_progress(&self, wanted: bool) {
        self.queue.unwanted_progress.store(!wanted, std::sync::atomic::Ordering::Relaxed);
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

    /// The next batch of events, in order, as soon as there is one, as a
    /// JSON array of event records. The last event of a call is `done`; do
    /// not ask again after it.
    #[napi]
    pub async fn next_events(&self) -> String {
        let queue = Arc::clone(&self.queue);
        let batch = queue.next().await;
        serde_json::to_string(&batch).expect("event records serialise")
    }
}

/// Starts an upload call; pull its events with `nextEvents()` until `done`.
#[napi]
pub fn start_upload(files: String, buffers: Vec<Buffer>, options: NativeOptions) -> napi::Result<NativeUpload> {
    let files: Vec<FileSpec> =
        serde_json::from_str(&files).map_err(|e| invalid(format!("upload files are not valid JSON: {e}")))?;
    let connect = client_options(options.reject_unauthorized, &options.proxy, &options.ca);
    let client = Client::new(&connect).map_err(|e| invalid(e.message().to_string()))?;
    // One origin client for the call's URL sources, made only if there are any.
    let origin = match files.iter().any(|f| f.source_url.is_some()) {
        true => Some(Origin::new(&connect).map_err(|e| invalid(e.message().to_string()))?),
        false => None,
    };
    let buffers: Vec<Bytes> = buffers.into_iter().map(Bytes::from_owner).collect();
    let mut feeds = HashMap::new();
    let files = files
        .into_iter()
        .enumerate()
        .map(|(index, mut f)| {
            let source = match (f.buffer_index, f.file_path.take()) {
                _ if f.rejected.is_some() => Source::Bytes(Bytes::new()),
                _ if f.source_url.is_some() => {
                    let origin = Arc::clone(origin.as_ref().expect("made for URL sources"));
                    let headers: Vec<(String, String)> =
                        f.source_headers.take().unwrap_or_default().into_iter().collect();
                    match RemoteSource::new(origin, f.source_url.as_deref().unwrap_or_default(), &headers) {
                        Ok(remote) => Source::Url(remote),
                        Err(error) => {
                            f.rejected = Some(NativeError::from(&error));
                            Source::Bytes(Bytes::new())
                        }
                    }
                }
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
    queue.unwanted_progress.store(options.progress == Some(false), std::sync::atomic::Ordering::Relaxed);
    let sink = Arc::clone(&queue);
    let done_queue = Arc::clone(&queue);
    let call_cancel = cancel.clone();
    napi::bindgen_prelude::spawn(async move {
        // Built here, not on the JS thread: checking thousands of target URLs
        // takes milliseconds that JS spends on the call's result records.
        let upload = Upload::new(
            client,
            files,
            upload_options,
            Arc::new(move |event: Event| sink.push_event(event)),
            call_cancel,
        );
        let summary = upload.run().await;
        drop(upload);
        let done = EventRecord {
            total_time: Some(summary.total_time.as_millis() as u64),
            retry_errors: Some(summary.retry_errors.iter().map(NativeError::from).collect()),
            errors: Some(summary.errors.iter().map(NativeError::from).collect()),
            ..EventRecord::new("done")
        };
        done_queue.push(done);
    });
    Ok(NativeUpload { cancel, queue, feeds: Mutex::new(feeds) })
}

/// What the origins of URL sources without a `fileSize` say: per file, in
/// order, `{size}` or `{error}` (docs/remote-sources.md §1). Probes run up to
/// `maxConcurrent` at once, with the call's retries and timeouts.
#[napi]
pub async fn probe_sources(files: String, options: NativeOptions) -> napi::Result<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probed {
        source_url: String,
        source_headers: Option<HashMap<String, String>>,
    }
    #[derive(Serialize)]
    struct Outcome {
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<NativeError>,
    }
    use futures_util::StreamExt;
    let files: Vec<Probed> =
        serde_json::from_str(&files).map_err(|e| invalid(format!("sources are not valid JSON: {e}")))?;
    let connect = client_options(options.reject_unauthorized, &options.proxy, &options.ca);
    let origin = Origin::new(&connect).map_err(|e| invalid(e.message().to_string()))?;
    let policy = RetryPolicy::new(
        options.retry_count,
        millis(options.retry_delay),
        options.idle_timeout.map(millis).filter(|d| !d.is_zero()),
    );
    let cancel = CancelToken::new();
    let outcomes: Vec<Outcome> = futures_util::stream::iter(files)
        .map(|file| {
            let (origin, policy, cancel) = (Arc::clone(&origin), policy.clone(), cancel.clone());
            async move {
                let headers: Vec<(String, String)> = file.source_headers.unwrap_or_default().into_iter().collect();
                let probed = match RemoteSource::new(origin, &file.source_url, &headers) {
                    Ok(remote) => remote.probe(&policy, &cancel).await.and_then(|probe| {
                        probe.length.ok_or_else(|| {
                            EngineError::new(
                                ErrorCode::InvalidOptions,
                                format!(
                                    "The origin {} gives no length for the file, and fileSize is not set",
                                    remote.shown()
                                ),
                            )
                        })
                    }),
                    Err(error) => Err(error),
                };
                match probed {
                    Ok(size) => Outcome { size: Some(size), error: None },
                    Err(error) => Outcome { size: None, error: Some(NativeError::from(&error)) },
                }
            }
        })
        .buffered(options.max_concurrent.max(1) as usize)
        .collect()
        .await;
    serde_json::to_string(&outcomes).map_err(|e| napi::Error::from_reason(e.to_string()))
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

/// Creates the folders of one call over one pooled client; `cancel()`
/// aborts the requests in flight (they then fail with EUSERCANCELLED) and
/// every later one.
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

    /// Creates folders in list order, parents first, up to `inFlight` at a
    /// time (`folders::create_folders`): outcomes in list order, ending at
    /// the first failure.
    #[napi]
    pub async fn create_all(
        &self,
        paths: Vec<String>,
        titles: Vec<String>,
        in_flight: u32,
    ) -> napi::Result<Vec<NativeFolderResult>> {
        if paths.len() != titles.len() {
            return Err(invalid("createAll needs a title for every path".into()));
        }
        let list: Vec<(String, String)> = paths.into_iter().zip(titles).collect();
        let outcomes = folders::create_folders(
            &self.client,
            &self.options,
            &self.url_prefix,
            &list,
            in_flight as usize,
            &self.cancel,
        )
        .await;
        Ok(outcomes.into_iter().map(folder_result).collect())
    }

    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

fn folder_result(outcome: aem_upload_engine::Result<folders::FolderCreated>) -> NativeFolderResult {
    match outcome {
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

#[derive(Serialize)]
struct WalkedDirRecord {
    path: String,
    /// -1: the walked root itself.
    parent: i64,
}

#[derive(Serialize)]
struct WalkedFileRecord {
    path: String,
    size: u64,
    parent: i64,
}

#[derive(Serialize)]
struct WalkedRecord {
    /// file or tree
    kind: &'static str,
    path: String,
    directories: Vec<WalkedDirRecord>,
    files: Vec<WalkedFileRecord>,
}

#[derive(Serialize)]
struct WalkRecord {
    walked: Vec<WalkedRecord>,
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<NativeError>,
}

fn parent(index: Option<usize>) -> i64 {
    index.map_or(-1, |i| i as i64)
}

/// Walks local paths (compat.md §5); limits come back as `error` (ETOOLARGE).
/// The answer is JSON text: `{walked: [{kind, path, directories: [{path,
/// parent}], files: [{path, size, parent}]}], warnings, error?}`, one string
/// for any number of files.
#[napi]
pub async fn walk_paths(paths: Vec<String>, deep: bool, max: u32) -> napi::Result<String> {
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let result = napi::bindgen_prelude::spawn_blocking(move || walk::walk(&paths, deep, max as usize))
        .await
        .map_err(|e| napi::Error::from_reason(e.to_string()))?;
    let text = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let record = match result {
        Err(error) => WalkRecord { walked: Vec::new(), warnings: Vec::new(), error: Some((&error).into()) },
        Ok(result) => WalkRecord {
            walked: result
                .walked
                .iter()
                .map(|w| match w {
                    Walked::File(f) => WalkedRecord {
                        kind: "file",
                        path: text(&f.path),
                        directories: Vec::new(),
                        files: vec![WalkedFileRecord { path: text(&f.path), size: f.size, parent: -1 }],
                    },
                    Walked::Tree { root, directories, files } => WalkedRecord {
                        kind: "tree",
                        path: text(root),
                        directories: directories
                            .iter()
                            .map(|d| WalkedDirRecord { path: text(&d.path), parent: parent(d.parent) })
                            .collect(),
                        files: files
                            .iter()
                            .map(|f| WalkedFileRecord { path: text(&f.path), size: f.size, parent: parent(f.parent) })
                            .collect(),
                    },
                })
                .collect(),
            warnings: result.warnings,
            error: None,
        },
    };
    Ok(serde_json::to_string(&record).expect("walk records serialise"))
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

/// Node names under the default processors for many local names in one
/// crossing (thousands of files would otherwise cost three calls each):
/// `names` is a JSON array of local file (or, with `folders`, directory)
/// names; the answer is a JSON array of node names. `processor_replace` is
/// the value the default processor reads, `replace` the mandatory step's.
#[napi]
pub fn default_node_names(
    names: String,
    folders: bool,
    processor_replace: String,
    replace: String,
) -> napi::Result<String> {
    let names: Vec<String> = serde_json::from_str(&names).map_err(|e| invalid(format!("names: {e}")))?;
    let named: Vec<String> = names
        .iter()
        .map(|name| {
            if folders {
                naming::default_folder_node_name(name, &processor_replace, &replace)
            } else {
                naming::default_asset_node_name(name, &processor_replace, &replace)
            }
        })
        .collect();
    Ok(serde_json::to_string(&named).expect("strings serialise"))
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
