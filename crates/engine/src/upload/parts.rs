//! A file's part PUTs to its presigned URLs (`docs/protocol.md §2`), over
//! the blob path: no credentials, no AEM headers, no cookies.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use tokio_util::sync::CancellationToken;

use crate::http;
use crate::plan::PartPlan;
use crate::protocol::FileInit;
use crate::source::OpenSource;
use crate::Error;

use super::context::Context;
use super::report::FilesTrace;

pub(super) enum PartsError {
    /// Blob storage answered 403: the URLs expired or were refused.
    Refused,
    Failed(Error),
}

/// Sends every part of a file, up to `maxConcurrent` at a time (one at a
/// time for a stream, which is read once, in order).
pub(super) async fn put_all(
    ctx: &Context,
    index: usize,
    open: &OpenSource,
    plan: &PartPlan,
    init: &FileInit,
    cancel: &CancellationToken,
) -> Result<(), PartsError> {
    let done = &AtomicU64::new(0);
    let part = |k: usize| async move {
        let (start, end) = plan.range(k);
        put(ctx, index, open, &init.uris[k], start, end, &init.mime_type, cancel).await?;
        let transferred = done.fetch_add(end - start, Ordering::AcqRel) + (end - start);
        ctx.progress(index, transferred, &init.mime_type);
        Ok::<(), PartsError>(())
    };
    if plan.count == 1 {
        // Most files of a large call are one part: no stream machinery for them.
        return part(0).await;
    }
    let mut parts = stream::iter(0..plan.count).map(part).buffer_unordered(if open.is_stream() {
        1
    } else {
        ctx.options.max_concurrent.get()
    });
    while let Some(result) = parts.next().await {
        result?;
    }
    Ok(())
}

/// PUTs bytes `[start, end)` to `uri`, within the call's part permits.
#[allow(clippy::too_many_arguments)]
async fn put(
    ctx: &Context,
    index: usize,
    open: &OpenSource,
    uri: &Url,
    start: u64,
    end: u64,
    mime_type: &str,
    cancel: &CancellationToken,
) -> Result<(), PartsError> {
    let _permit = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(PartsError::Failed(http::cancelled_error())),
        permit = ctx.part_permits.acquire() => permit.expect("never closed"),
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(end - start));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    for (name, value) in http::header_map(&ctx.files[index].part_headers) {
        if let Some(name) = name {
            headers.insert(name, value);
        }
    }
    let part = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(http::cancelled_error()),
        part = open.part(start, end, &ctx.buffers) => part,
    };
    let part = part.map_err(PartsError::Failed)?;
    // An expired URL stays expired: a 403 goes straight to a fresh initiate.
    let policy = ctx.policy().with_final_status(StatusCode::FORBIDDEN);
    let body = Box::new(|activity: &http::Activity| part.body(activity));
    let result = ctx.blobs.put(uri, headers, body, &policy, cancel, &FilesTrace { ctx, files: &[index] }).await;
    match result {
        Ok(_) => Ok(()),
        Err(failure) => match part.fault() {
            Some(fault) => Err(PartsError::Failed(fault)),
            None if failure.status == Some(StatusCode::FORBIDDEN) => Err(PartsError::Refused),
            None => Err(PartsError::Failed(failure.error)),
        },
    }
}
