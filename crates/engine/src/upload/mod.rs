//! The transfer of one call (`docs/protocol.md §1–§6`), as steps around one
//! shared context (`context`):
//!
//! - `prevalidate`: the checks before any request (`docs/compat.md §7`);
//! - `initiate`: files batched by folder, and the initiate POSTs;
//! - `file`: one file from its initiate answer to its terminal event, with
//!   `parts` (its PUTs to presigned URLs) and `complete`;
//! - `create_asset`: the servlet fallback when direct binary upload is off;
//! - `resume`: the journal; `report`: events, logs and retried errors.
//!
//! Concurrency: initiates overlap once the first answer has decided the mode;
//! part PUTs of all files share `max_concurrent` permits; initiates,
//! completes and create-asset requests share the session's AEM limit, which
//! adapts to AEM's 429s (`crate::aem_limit`). Every file ends with exactly one terminal event.

mod cancel;
mod complete;
mod context;
mod create_asset;
mod file;
mod initiate;
mod options;
mod parts;
mod prevalidate;
mod report;
mod resume;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

pub use cancel::{Cancel, CancelToken};
pub use create_asset::CHUNK as CREATE_ASSET_CHUNK;
pub use initiate::MAX_BATCH;
pub use options::{Summary, UploadFile, UploadOptions};

use crate::events::{EventSink, LogLevel};
use crate::session::AemSession;
use crate::{Error, ErrorCode};
use context::Context;
use initiate::BatchOutcome;

/// Files initiated but not yet finished, so URLs are not handed out long before
/// use. Each costs a spawned task of a few KiB: 1000 measured 4-5 MB more peak
/// RSS on 5,000 small files than 200, at the same speed.
const INITIATED_WINDOW: usize = 200;
/// Initiates in flight once the mode is known.
const INITIATES_IN_FLIGHT: usize = 4;

/// One call's transfer.
pub struct Upload {
    ctx: Arc<Context>,
}

impl Upload {
    /// A transfer of `files` over `session`, reporting to `sink`.
    pub fn new(
        session: Arc<AemSession>,
        files: Vec<UploadFile>,
        options: UploadOptions,
        sink: Arc<dyn EventSink>,
        cancel: Cancel,
    ) -> Upload {
        Upload { ctx: Arc::new(Context::new(session, files, options, sink, cancel)) }
    }

    /// Runs the transfer step; every file gets exactly one terminal event before it returns.
    pub async fn run(&self) -> Summary {
        self.run_when(std::future::ready(true)).await.unwrap_or_default()
    }

    /// Pre-validates at once, then waits for `go` before the first request:
    /// the caller's own preparation (FileSystemUpload's folders) overlaps
    /// with opening thousands of files. `go` resolving false withdraws the
    /// call before anything is sent: `None`, and no file events.
    pub async fn run_when(&self, go: impl std::future::Future<Output = bool>) -> Option<Summary> {
        let ctx = &self.ctx;
        if let Err(error) = &ctx.resume {
            return Some(Summary { total_time: Duration::ZERO, retry_errors: Vec::new(), errors: vec![error.clone()] });
        }
        let prevalidating = Instant::now();
        let checked = prevalidate::all(ctx).await;
        let prevalidated = prevalidating.elapsed();
        if !go.await {
            return None;
        }
        // The transfer's time, with its pre-validation but not the wait.
        let started = Instant::now().checked_sub(prevalidated).unwrap_or_else(Instant::now);
        let mut eligible = Vec::new();
        for (index, check) in checked.into_iter().enumerate() {
            if ctx.skip_journaled(index) {
                continue;
            }
            match check {
                Ok(()) => eligible.push(index),
                Err(error) => ctx.fail(index, error, None),
            }
        }
        let mut batches = initiate::batches(ctx, &eligible).into_iter();
        let mut tasks = Vec::new();
        let window = Arc::new(Semaphore::new(INITIATED_WINDOW));
        if let Some(first) = batches.next() {
            match initiate::batch(ctx, &first).await {
                BatchOutcome::NoDirectBinary => {
                    ctx.log(
                        LogLevel::Info,
                        "Direct binary upload is not enabled; using the create-asset servlet".into(),
                    );
                    create_asset::all(ctx, &eligible).await;
                    return Some(finish(ctx, started));
                }
                outcome => tasks.extend(dispatch(ctx, &first, outcome, None)),
            }
            let mut rest = stream::iter(batches)
                .map(|batch| {
                    let window = Arc::clone(&window);
                    async move {
                        let permit = tokio::select! {
                            biased;
                            _ = ctx.cancel.call().cancelled() => None,
                            permit = window.acquire_many_owned(batch.len() as u32) => permit.ok(),
                        };
                        let outcome = initiate::batch(ctx, &batch).await;
                        dispatch(ctx, &batch, outcome, permit)
                    }
                })
                .buffered(INITIATES_IN_FLIGHT);
            while let Some(started) = rest.next().await {
                // A finished task's memory (sized for its largest state, a few
                // KiB) stays until its handle goes: keeping every handle to the
                // end grew memory by ~3 KiB per file of the call.
                tasks.retain(|task| !task.is_finished());
                tasks.extend(started);
            }
        }
        for task in tasks {
            let _ = task.await;
        }
        Some(finish(ctx, started))
    }
}

/// Starts the file tasks of an initiated batch, or fails its files.
fn dispatch(
    ctx: &Arc<Context>,
    batch: &[usize],
    outcome: BatchOutcome,
    mut window: Option<OwnedSemaphorePermit>,
) -> Vec<JoinHandle<()>> {
    match outcome {
        BatchOutcome::Direct(inits) => batch
            .iter()
            .zip(inits)
            .map(|(&index, init)| {
                let ctx = Arc::clone(ctx);
                let permit = window.as_mut().and_then(|w| w.split(1));
                tokio::spawn(async move {
                    file::transfer(ctx, index, init).await;
                    drop(permit);
                })
            })
            .collect(),
        BatchOutcome::NoDirectBinary => {
            let error =
                Error::new(ErrorCode::NotSupported, "Target AEM instance does not have direct binary upload enabled");
            batch.iter().for_each(|&i| ctx.fail(i, error.clone(), None));
            Vec::new()
        }
        BatchOutcome::Failed(error) => {
            batch.iter().for_each(|&i| ctx.fail(i, error.clone(), None));
            Vec::new()
        }
        BatchOutcome::Cancelled => Vec::new(),
    }
}

/// Gives every file without a terminal event one, and the summary.
fn finish(ctx: &Context, started: Instant) -> Summary {
    for index in 0..ctx.files.len() {
        if !ctx.is_done(index) {
            if ctx.cancel.file(index).is_cancelled() {
                ctx.cancelled(index, None);
            } else {
                ctx.fail(index, Error::new(ErrorCode::Unknown, "File was not transferred"), None);
            }
        }
    }
    Summary {
        total_time: started.elapsed(),
        retry_errors: std::mem::take(&mut *ctx.retry_errors.lock().unwrap()),
        errors: Vec::new(),
    }
}
