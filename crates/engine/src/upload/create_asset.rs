//! The create-asset servlet fallback (`docs/protocol.md §6`), used for the
//! whole call when the first initiate says direct binary upload is off:
//! one file at a time, in chunks of 10 MiB, as multipart forms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use reqwest::Method;
use tokio_util::sync::CancellationToken;

use crate::http::{self, Request, RetryPolicy};
use crate::source::OpenSource;
use crate::Result;

use super::context::Context;
use super::report::FilesTrace;

/// Chunk size of the create-asset servlet.
pub const CHUNK: u64 = 10 * 1024 * 1024;

/// Sends every eligible file through the servlet, one request at a time.
pub(super) async fn all(ctx: &Context, eligible: &[usize]) {
    for &index in eligible {
        let cancel = ctx.cancel.file(index).clone();
        if cancel.is_cancelled() {
            continue;
        }
        let name = ctx.target_name(index);
        let mime: Arc<str> = mime_guess::from_path(name).first_raw().unwrap_or("application/octet-stream").into();
        ctx.start(index);
        match one(ctx, index, name, &mime, &cancel).await {
            Ok(()) => {
                ctx.journal_completed(index, &mime);
                ctx.end(index, mime)
            }
            Err(error) => ctx.fail(index, error, Some(mime)),
        }
    }
}

/// The servlet's own policy: 5 retries from 100 ms, doubling.
fn policy(ctx: &Context) -> RetryPolicy {
    RetryPolicy::new(6, Duration::from_millis(50), 2).with_idle_timeout(ctx.options.idle_timeout)
}

async fn one(ctx: &Context, index: usize, name: &str, mime: &Arc<str>, cancel: &CancellationToken) -> Result<()> {
    let file = &ctx.files[index];
    ctx.want_source(index);
    let open = OpenSource::open_async(&file.source, name, file.size, &ctx.policy(), cancel).await?;
    let url = http::parse_url(&format!("{}.createasset.html", file.target.folder_url()))?;
    let chunked = file.size > CHUNK;
    let policy = policy(ctx);
    let mut offset = 0;
    while offset < file.size {
        let end = (offset + CHUNK).min(file.size);
        let data = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(http::cancelled_error()),
            data = open.read(offset, end) => data?,
        };
        let boundary = format!("----aemuploadrs{:x}{offset:x}", Instant::now().elapsed().as_nanos() ^ index as u128);
        let mut fields: Vec<(&str, String)> = vec![("_charset_", "utf-8".into())];
        if chunked {
            fields.push(("file@Offset", offset.to_string()));
            fields.push(("chunk@Length", (end - offset).to_string()));
            fields.push(("file@Length", file.size.to_string()));
        }
        let body = multipart(&boundary, &fields, name, mime, &data);
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).expect("ASCII boundary"),
        );
        if chunked {
            headers.insert(
                "x-chunked-content-type",
                HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            headers.insert("x-chunked-total-size", HeaderValue::from(file.size));
        }
        let request = Request::with_bytes(Method::POST, &url, headers, body);
        ctx.session.send(request, &policy, cancel, &FilesTrace { ctx, files: &[index] }).await.map_err(|f| f.error)?;
        offset = end;
        ctx.progress(index, offset, mime);
    }
    open.check_unchanged().await
}

fn multipart(boundary: &str, fields: &[(&str, String)], file_name: &str, mime: &str, data: &Bytes) -> Bytes {
    let mut body = Vec::with_capacity(data.len() + 512);
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    let quoted = file_name.replace('"', "%22").replace(['\r', '\n'], " ");
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{quoted}\"\r\nContent-Type: {mime}\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Bytes::from(body)
}
