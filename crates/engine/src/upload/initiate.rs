//! Initiates (`docs/protocol.md §1`): files batched by folder, one POST per
//! batch, and the answer that says where each file's parts go, or that
//! direct binary upload is off.

use bytes::Bytes;
use std::collections::HashMap;

use crate::http;
use crate::protocol::{parse_initiate_answer, FileInit, InitiateAnswer};
use crate::{Error, ErrorCode, Result};

use super::context::Context;
use super::report::FilesTrace;

/// Files per initiate request.
pub const MAX_BATCH: usize = 100;

pub(super) enum BatchOutcome {
    Direct(Vec<FileInit>),
    NoDirectBinary,
    Failed(Error),
    Cancelled,
}

/// Files grouped by folder URL (even when not adjacent), ≤ 100 per batch,
/// list order inside a group, groups in order of first appearance.
pub(super) fn batches(ctx: &Context, eligible: &[usize]) -> Vec<Vec<usize>> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for &index in eligible {
        let folder = ctx.files[index].target.folder_url();
        groups
            .entry(folder)
            .or_insert_with(|| {
                order.push(folder);
                Vec::new()
            })
            .push(index);
    }
    order
        .into_iter()
        .flat_map(|folder| groups.remove(folder).unwrap().chunks(MAX_BATCH).map(<[usize]>::to_vec).collect::<Vec<_>>())
        .collect()
}

/// Initiates one batch. Its files start (`filestart`) as they join it.
pub(super) async fn batch(ctx: &Context, batch: &[usize]) -> BatchOutcome {
    let live: Vec<usize> = batch.iter().copied().filter(|&i| !ctx.cancel.file(i).is_cancelled()).collect();
    if live.is_empty() || ctx.cancel.is_cancelled() {
        return BatchOutcome::Cancelled;
    }
    for &index in batch {
        ctx.start(index);
    }
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for &index in batch {
            form.append_pair("fileName", ctx.target_name(index));
            form.append_pair("fileSize", &ctx.files[index].size.to_string());
        }
        Bytes::from(form.finish())
    };
    let folder = ctx.files[batch[0]].target.folder_url();
    let url = match http::parse_url(&format!("{folder}.initiateUpload.json")) {
        Ok(url) => url,
        Err(error) => return BatchOutcome::Failed(error),
    };
    // Aborted when every file of the batch is cancelled (cancelFile), not only the call.
    let all_cancelled = futures_util::future::join_all(live.iter().map(|&i| ctx.cancel.file(i).cancelled()));
    let policy = ctx.policy();
    let trace = FilesTrace { ctx, files: batch };
    let answer = tokio::select! {
        biased;
        _ = all_cancelled => return BatchOutcome::Cancelled,
        answer = ctx.session.post_form(&url, body, &policy, ctx.cancel.call(), &trace) => answer,
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(failure) => return BatchOutcome::Failed(failure.error),
    };
    match parse_initiate_answer(&answer.body, folder, batch.len()) {
        Ok(InitiateAnswer::Direct(inits)) => BatchOutcome::Direct(inits),
        Ok(InitiateAnswer::NoDirectBinary) => BatchOutcome::NoDirectBinary,
        Err(error) => BatchOutcome::Failed(error),
    }
}

/// A fresh one-file initiate after blob storage refused the file's URLs.
pub(super) async fn again(ctx: &Context, index: usize) -> Result<FileInit> {
    match batch(ctx, &[index]).await {
        BatchOutcome::Direct(mut inits) => Ok(inits.remove(0)),
        BatchOutcome::Failed(error) => Err(error),
        BatchOutcome::Cancelled => Err(http::cancelled_error()),
        BatchOutcome::NoDirectBinary => {
            Err(Error::new(ErrorCode::NotSupported, "Direct binary upload is no longer enabled"))
        }
    }
}
