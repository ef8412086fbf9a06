//! The checks before any request (`docs/compat.md §7`): a file that fails
//! one gets its `fileerror` before any file starts, and sends nothing.

use std::sync::Arc;

use crate::naming::unsupported_name;
use crate::source::{check_readable, size_mismatch, OpenSource, Source};
use crate::{Error, ErrorCode, Result};

use super::context::Context;

/// Calls with at least this many files pre-validate on several threads.
const PARALLEL_FROM: usize = 2048;

/// Pre-validates every file; the caller reports failures in list order.
/// Opening thousands of files is the one step before the first request that
/// scales with the file count, so large calls check slices of the list on
/// blocking threads side by side.
pub(super) async fn all(ctx: &Arc<Context>) -> Vec<Result<()>> {
    let count = ctx.files.len();
    if count < PARALLEL_FROM {
        return (0..count).map(|index| one(ctx, index)).collect();
    }
    // One slice per core: more threads would only add their own stacks
    // and allocator arenas to the peak memory.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let slice = count.div_ceil(threads);
    let slices = (0..count)
        .step_by(slice)
        .map(|start| {
            let ctx = Arc::clone(ctx);
            let end = (start + slice).min(count);
            tokio::task::spawn_blocking(move || (start..end).map(|i| one(&ctx, i)).collect::<Vec<_>>())
        })
        .collect::<Vec<_>>();
    let mut checked = Vec::with_capacity(count);
    for slice in slices {
        match slice.await {
            Ok(results) => checked.extend(results),
            Err(panic) => std::panic::resume_unwind(panic.into_panic()),
        }
    }
    checked
}

/// The first check a file fails, in the order the table lists them.
fn one(ctx: &Context, index: usize) -> Result<()> {
    if ctx.completed_earlier(index).is_some() {
        return Ok(()); // skipped, never sent
    }
    let file = &ctx.files[index];
    if let Some(error) = &file.rejected {
        return Err(error.clone());
    }
    if let Some(reason) = file.target.escape() {
        return Err(Error::new(ErrorCode::InvalidOptions, reason));
    }
    if file.size == 0 {
        return Err(Error::new(ErrorCode::Unknown, "File cannot be uploaded: Empty file"));
    }
    let name = ctx.target_name(index);
    if let Some(message) = unsupported_name(name) {
        return Err(Error::new(ErrorCode::Unknown, message));
    }
    match &file.source {
        Source::Bytes(bytes) if bytes.len() as u64 != file.size => {
            Err(size_mismatch(name, file.size, bytes.len() as u64))
        }
        // An origin is asked when its transfer starts.
        Source::Bytes(_) | Source::Stream(_) | Source::Url(_) => Ok(()),
        // The walk has just seen a regular file of this size: one permission
        // check, not an open, a length and a close (a third of the system
        // calls on thousands of small files). A change since is found when
        // the file is read, as for any file (docs/compat.md §7).
        Source::Path(path) if file.walked => check_readable(path),
        // Opening (and with it the size check) proves the file readable; the
        // handle is dropped so that thousands of files hold no descriptors.
        Source::Path(_) => OpenSource::open(&file.source, name, file.size).map(drop),
    }
}
