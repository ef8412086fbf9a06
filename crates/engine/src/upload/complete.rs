//! The complete POST that makes a file an asset (`docs/protocol.md §3`).

use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::http;
use crate::protocol::{check_complete_answer, FileInit};
use crate::Result;

use super::context::Context;
use super::report::FilesTrace;

/// How long a complete already sent may still answer after a cancel: long
/// enough for AEM on a normal day, short enough that a cancel settles within
/// a second. Its answer decides the file (`fileend` if it landed).
const CANCEL_GRACE: Duration = Duration::from_millis(500);

/// Completes a file whose parts have all landed.
pub(super) async fn complete(
    ctx: &Context,
    index: usize,
    init: &FileInit,
    duration_ms: u128,
    cancel: &CancellationToken,
) -> Result<()> {
    // How many completes overlap is the session's AEM limit (crate::aem_limit).
    if cancel.is_cancelled() {
        return Err(http::cancelled_error());
    }
    let form = form(ctx, index, init, duration_ms);
    let policy = ctx.policy().with_cancel_grace(CANCEL_GRACE);
    let answer = ctx
        .session
        .post_form(&init.complete_url, form, &policy, cancel, &FilesTrace { ctx, files: &[index] })
        .await
        .map_err(|f| f.error)?;
    check_complete_answer(&answer.body)
}

fn form(ctx: &Context, index: usize, init: &FileInit, duration_ms: u128) -> Bytes {
    let file = &ctx.files[index];
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("fileName", ctx.target_name(index));
    form.append_pair("fileSize", &file.size.to_string());
    form.append_pair("mimeType", &init.mime_type);
    form.append_pair("createVersion", if file.create_version { "true" } else { "false" });
    if let Some(label) = file.version_label.as_deref().filter(|s| !s.is_empty()) {
        form.append_pair("versionLabel", label);
    }
    if let Some(comment) = file.version_comment.as_deref().filter(|s| !s.is_empty()) {
        form.append_pair("versionComment", comment);
    }
    form.append_pair("replace", if file.replace { "true" } else { "false" });
    form.append_pair("uploadToken", &init.token);
    form.append_pair("uploadDuration", &duration_ms.to_string());
    Bytes::from(form.finish())
}
