//! Upload calls, translated between JS values and the engine's types. Events queue up here, in order, and JS pulls them in
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
use aem_upload_engine::remote::RemoteSource;
use aem_upload_engine::source::{resolve_path, Source, StreamFeed, StreamSource};
use aem_upload_engine::upload::{Cancel, Upload, UploadFile, UploadOptions};
use aem_upload_engine::{Error as EngineError, ErrorCode};
use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

use crate::error::{invalid, NativeError};
use crate::options::NativeOptions;
use crate::plan::NativeTargets;
use crate::session::NativeSession;

/// One file of an upload call; its target is the call's `NativeTargets`
/// entry of the same index. Files cross as one JSON array: thousands of
/// them cost one string instead of a dozen property reads each.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileSpec {
    /// Absent from a planned call's shared options (`startPlannedUpload`).
    #[serde(default)]
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
    /// Retried attempts of a finished file's requests (end, error, cancelled).
    #[serde(skip_serializing_if = "Option::is_none")]
    retries: Option<u32>,
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
            retries: None,
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
            Event::FileEnd { file, mime_type, retries } => {
                EventRecord { retries: Some(retries), ..EventRecord::file("end", file, Some(mime_type)) }
            }
            Event::FileError { file, error, mime_type, retries } => EventRecord {
                error: Some((&error).into()),
                retries: Some(retries),
                ..EventRecord::file("error", file, mime_type)
            },
            Event::FileCancelled { file, mime_type, retries } => {
                EventRecord { retries: Some(retries), ..EventRecord::file("cancelled", file, mime_type) }
            }
            Event::FileSkipped { file, mime_type } => EventRecord::file("skipped", file, Some(mime_type)),
            Event::SourceWanted { file } => EventRecord::file("wanted", file, None),
            Event::Log { level, message } => {
                EventRecord { level: Some(level.as_str()), message: Some(message), ..EventRecord::new("log") }
            }
        }
    }
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
    /// Set while no `filestart` listener exists: a start event then costs
    /// its record, a JSON object and a parse per file for nothing.
    unwanted_starts: std::sync::atomic::AtomicBool,
    events: Mutex<Vec<EventRecord>>,
    ready: tokio::sync::Notify,
    /// When the last batch was taken.
    last_batch: Mutex<Option<tokio::time::Instant>>,
}

impl EventQueue {
    /// An engine event, unless it is progress nobody wants.
    fn push_event(&self, event: Event) {
        let unwanted = match event {
            Event::FileProgress { .. } => &self.unwanted_progress,
            Event::FileStart { .. } => &self.unwanted_starts,
            _ => return self.push(event.into()),
        };
        if !unwanted.load(std::sync::atomic::Ordering::Relaxed) {
            self.push(event.into());
        }
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
    /// Opens a gated call's transfer (`proceed`); dropped unsent, it withdraws it.
    gate: Mutex<Option<tokio::sync::oneshot::Sender<bool>>>,
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

    /// Whether `progress` (or `start`) events should cross to JS from now on.
    #[napi]
    pub fn want_events(&self, kind: String, wanted: bool) {
        let flag = match kind.as_str() {
            "progress" => &self.queue.unwanted_progress,
            "start" => &self.queue.unwanted_starts,
            _ => return,
        };
        flag.store(!wanted, std::sync::atomic::Ordering::Relaxed);
    }

    /// Lets a call started with `gated` send its first request (true), or
    /// withdraws it (false): nothing is sent, and `done` is its only event.
    #[napi]
    pub fn proceed(&self, go: bool) {
        if let Some(gate) = self.gate.lock().unwrap().take() {
            let _ = gate.send(go);
        }
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

/// Starts an upload call over a call's session, with the targets resolved
/// for its files; pull its events with `nextEvents()` until `done`. A
/// `gated` call pre-validates its files and then waits for `proceed()`.
#[napi]
pub fn start_upload(
    files: String,
    buffers: Vec<Buffer>,
    options: NativeOptions,
    session: &NativeSession,
    targets: &NativeTargets,
    gated: Option<bool>,
) -> napi::Result<NativeUpload> {
    let files: Vec<FileSpec> =
        serde_json::from_str(&files).map_err(|e| invalid(format!("upload files are not valid JSON: {e}")))?;
    let targets = targets.take().ok_or_else(|| invalid("the targets are not usable (or were used before)"))?;
    if targets.len() != files.len() {
        return Err(invalid("a target is needed for every file"));
    }
    // One origin client for the call's URL sources, made only if there are any.
    let origin = match files.iter().any(|f| f.source_url.is_some()) {
        true => Some(session.origin()?),
        false => None,
    };
    let buffers: Vec<Bytes> = buffers.into_iter().map(Bytes::from_owner).collect();
    let mut feeds = HashMap::new();
    let files = files
        .into_iter()
        .zip(targets)
        .enumerate()
        .map(|(index, (mut f, target))| {
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
                (None, None) => return Err(invalid("a file needs a path or a buffer")),
            };
            Ok(UploadFile {
                target,
                size: if f.size.is_finite() && f.size > 0.0 { f.size as u64 } else { 0 },
                source,
                create_version: f.create_version,
                version_label: f.version_label,
                version_comment: f.version_comment,
                replace: f.replace,
                part_headers: f.part_headers.unwrap_or_default().into_iter().collect(),
                rejected: f.rejected.map(|e| EngineError::new(ErrorCode::from_name(&e.code), e.message)),
                // A spec's file is opened to be checked; the plan's own start knows what the walk saw.
                walked: false,
            })
        })
        .collect::<napi::Result<Vec<_>>>()?;
    Ok(launch(files, feeds, &options, session, gated))
}

/// Starts the upload of a FileSystemUpload plan's files straight from the
/// plan the engine made (`targets` from `NativePlan::targets`), every file
/// with the same `fileOptions`: no per-file spec crosses from JS, so the
/// call starts (and pre-validates) while JS builds its result records. The
/// sources are the walked paths made absolute as `path.resolve` does;
/// `count` is how many files JS holds, which must be the plan's.
#[napi]
pub fn start_planned_upload(
    targets: &NativeTargets,
    count: u32,
    file_options: String,
    options: NativeOptions,
    session: &NativeSession,
    gated: Option<bool>,
) -> napi::Result<NativeUpload> {
    // The options' fields of a spec, without a source or a size.
    let shared: FileSpec =
        serde_json::from_str(&file_options).map_err(|e| invalid(format!("file options are not valid JSON: {e}")))?;
    let walked = targets.take_walked();
    let targets = targets.take().ok_or_else(|| invalid("the targets are not usable (or were used before)"))?;
    if walked.len() != targets.len() || targets.len() != count as usize {
        return Err(invalid("a planned call needs the plan's own files"));
    }
    let part_headers: Vec<(String, String)> = shared.part_headers.unwrap_or_default().into_iter().collect();
    let cwd = std::env::current_dir().map_err(|e| invalid(format!("no current directory: {e}")))?;
    let files = walked
        .into_iter()
        .zip(targets)
        .map(|((path, size), target)| UploadFile {
            create_version: shared.create_version,
            version_label: shared.version_label.clone(),
            version_comment: shared.version_comment.clone(),
            replace: shared.replace,
            part_headers: part_headers.clone(),
            walked: true,
            ..UploadFile::to(target, size, Source::Path(resolve_path(&cwd, &path)))
        })
        .collect();
    Ok(launch(files, HashMap::new(), &options, session, gated))
}

/// Runs `files` as one call on the runtime and hands JS its events' queue.
fn launch(
    files: Vec<UploadFile>,
    feeds: HashMap<u32, StreamFeed>,
    options: &NativeOptions,
    session: &NativeSession,
    gated: Option<bool>,
) -> NativeUpload {
    let upload_options = UploadOptions::from(options);
    let cancel = Cancel::new(files.len());
    let queue = Arc::new(EventQueue::default());
    queue.unwanted_progress.store(options.progress == Some(false), std::sync::atomic::Ordering::Relaxed);
    queue.unwanted_starts.store(options.starts == Some(false), std::sync::atomic::Ordering::Relaxed);
    let sink = Arc::clone(&queue);
    let done_queue = Arc::clone(&queue);
    let (session, call_cancel) = (session.session(), cancel.clone());
    let (gate, opened) = tokio::sync::oneshot::channel::<bool>();
    let gate = match gated {
        Some(true) => Some(gate),
        _ => {
            let _ = gate.send(true);
            None
        }
    };
    let gate = Mutex::new(gate);
    napi::bindgen_prelude::spawn(async move {
        // Built here, not on the JS thread: opening the journal and keying
        // thousands of files takes milliseconds JS spends on result records.
        let upload = Upload::new(
            session,
            files,
            upload_options,
            Arc::new(move |event: Event| sink.push_event(event)),
            call_cancel,
        );
        let summary = upload.run_when(async move { opened.await.unwrap_or(false) }).await.unwrap_or_default();
        drop(upload);
        let done = EventRecord {
            total_time: Some(summary.total_time.as_millis() as u64),
            retry_errors: Some(summary.retry_errors.iter().map(NativeError::from).collect()),
            errors: Some(summary.errors.iter().map(NativeError::from).collect()),
            ..EventRecord::new("done")
        };
        done_queue.push(done);
    });
    NativeUpload { cancel, gate, queue, feeds: Mutex::new(feeds) }
}
