//! `POST <parent>.createasset.html` (docs/protocol.md §6): the servlet clients fall
//! back to without direct binary access. Multipart, optionally chunked; the
//! file part is streamed into a part store like direct-binary parts.

use std::sync::Arc;

use futures_util::StreamExt;
use http_body_util::BodyStream;

use super::{inject_after, inject_before, path_before, require_auth};
use crate::config::FaultRoute;
use crate::context::{Context, ViolationKind};
use crate::dam::ChunkedCreate;
use crate::http::{self, header_str, Outcome, Request};
use crate::storage::PartWriter;

pub const SELECTOR: &str = ".createasset.html";

#[derive(Default)]
struct Fields {
    offset: Option<u64>,
    chunk_length: Option<u64>,
    file_length: Option<u64>,
    file_name: Option<String>,
    mime_type: Option<String>,
    written: u64,
}

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let Some(parent) = path_before(req.uri().path(), SELECTOR) else {
        return http::text(400, "Invalid path encoding").into();
    };
    // The servlet is used one request at a time, so parent and length make a stable key.
    let key = format!("{parent}#{}", header_str(req.headers(), "content-length").unwrap_or("-"));
    let decision = ctx.decide(FaultRoute::CreateAsset, &key);
    if let Some(outcome) = inject_before(&decision, Some(req.body_mut())).await {
        return outcome;
    }
    if let Err(refusal) = require_auth(ctx, req.headers()) {
        http::drain(req.body_mut(), None).await;
        return refusal.into();
    }
    let outcome = receive(ctx, req, &parent).await;
    inject_after(&decision, outcome).await
}

async fn receive(ctx: &Arc<Context>, mut req: Request, parent: &str) -> Outcome {
    let path = req.uri().path().to_string();
    let boundary = header_str(req.headers(), "content-type").and_then(|ct| multer::parse_boundary(ct).ok());
    let Some(boundary) = boundary else {
        http::drain(req.body_mut(), None).await;
        return http::text(400, "Expected multipart/form-data").into();
    };
    if !ctx.dam.lock().unwrap().folder_exists(parent) {
        http::drain(req.body_mut(), None).await;
        return http::text(404, format!("Folder '{parent}' not found")).into();
    }
    let stream = BodyStream::new(req.into_body())
        .filter_map(|frame| async move { frame.map(|f| f.into_data().ok()).transpose() });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Fields::default();
    let mut writer: Option<PartWriter> = None;
    let mut chunked_state: Option<(String, u32)> = None;

    loop {
        let mut part = match multipart.next_field().await {
            Ok(Some(part)) => part,
            Ok(None) => break,
            Err(e) => return malformed(e),
        };
        let name = part.name().unwrap_or("").to_string();
        if name != "file" {
            let value = match part.text().await {
                Ok(v) => v,
                Err(e) => return malformed(e),
            };
            let number = || value.trim().parse::<u64>().ok();
            match name.as_str() {
                "file@Offset" => fields.offset = number(),
                "chunk@Length" => fields.chunk_length = number(),
                "file@Length" => fields.file_length = number(),
                _ => {}
            }
            continue;
        }
        let Some(file_name) = part.file_name().map(String::from).filter(|n| !n.is_empty()) else {
            return http::text(400, "The file part needs a filename").into();
        };
        fields.mime_type = part.content_type().map(|m| m.essence_str().to_string());
        let asset_path = format!("{parent}/{file_name}");
        fields.file_name = Some(file_name);
        let (parts, index) = match (fields.offset, fields.chunk_length, fields.file_length) {
            (Some(offset), Some(_), Some(total)) => {
                let mut dam = ctx.dam.lock().unwrap();
                if offset == 0 {
                    dam.chunked.insert(
                        asset_path.clone(),
                        ChunkedCreate { total, received: 0, next_index: 0, parts: ctx.storage.new_parts() },
                    );
                }
                match dam.chunked.get(&asset_path) {
                    Some(c) if c.received == offset && c.total == total => {
                        chunked_state = Some((asset_path.clone(), c.next_index));
                        (Arc::clone(&c.parts), c.next_index)
                    }
                    Some(c) => {
                        return http::text(
                            400,
                            format!("Chunk at offset {offset} does not continue the {} bytes received", c.received),
                        )
                        .into()
                    }
                    None => return http::text(400, format!("Chunk at offset {offset} without a first chunk")).into(),
                }
            }
            (None, None, None) => (ctx.storage.new_parts(), 0),
            _ => return http::text(400, "file@Offset, chunk@Length and file@Length go together").into(),
        };
        let mut w = match parts.begin(index, fields.chunk_length, None) {
            Ok(w) => w,
            Err(e) => return http::text(500, e.to_string()).into(),
        };
        loop {
            match part.chunk().await {
                Ok(Some(bytes)) => {
                    if w.write(&bytes).is_err() {
                        return http::text(400, "chunk@Length does not match the file part").into();
                    }
                }
                Ok(None) => break,
                Err(e) => return malformed(e),
            }
        }
        fields.written = w.written();
        writer = Some(w);
        if chunked_state.is_none() {
            chunked_state = Some((asset_path, u32::MAX));
            // Single requests keep their store beside the writer.
            ctx.dam.lock().unwrap().chunked.insert(
                chunked_state.as_ref().unwrap().0.clone(),
                ChunkedCreate { total: fields.written, received: 0, next_index: 0, parts },
            );
        }
    }

    let (Some(writer), Some((asset_path, _))) = (writer, chunked_state) else {
        if let Err(refusal) =
            ctx.violation(ViolationKind::MissingField, "POST", &path, "multipart body without a file part")
        {
            return refusal.into();
        }
        return http::text(400, "No file part").into();
    };
    if writer.commit().is_err() {
        return http::text(400, "chunk@Length does not match the file part").into();
    }
    let mut dam = ctx.dam.lock().unwrap();
    let Some(state) = dam.chunked.get_mut(&asset_path) else {
        return http::text(409, "Chunked upload was restarted").into();
    };
    state.received += fields.written;
    state.next_index += 1;
    if state.received < state.total {
        return http::html(200, "<html><body>Chunk received</body></html>").into();
    }
    let state = dam.chunked.remove(&asset_path).expect("present");
    let target = ctx.storage.dir_path(&asset_path);
    let binary = match state.parts.finish(target.as_deref()) {
        Ok(b) => b,
        Err(e) => return http::text(500, format!("Could not store the binary: {e}")).into(),
    };
    let mime_type = fields
        .mime_type
        .filter(|m| m != "application/octet-stream")
        .or_else(|| mime_guess::from_path(&asset_path).first_raw().map(String::from))
        .unwrap_or_else(|| "application/octet-stream".into());
    let existed = dam.assets.contains_key(&asset_path);
    let processed_at = ctx.processed_at();
    dam.store_asset(&asset_path, binary, mime_type, None, processed_at);
    drop(dam);
    ctx.after_change();
    crate::events::Events::landed(ctx, &asset_path, processed_at);
    let status = if existed { 200 } else { 201 };
    http::html(
        status,
        format!("<html><body><div id=\"Status\">{status}</div><div id=\"Path\">{asset_path}</div></body></html>"),
    )
    .into()
}

/// A multipart error: the connection failed (nothing to answer), or the body
/// itself is broken, for example cut off before its closing boundary.
fn malformed(error: multer::Error) -> Outcome {
    match error {
        multer::Error::StreamReadFailed(_) => Outcome::Reset,
        e => http::text(400, format!("Malformed multipart body: {e}")).into(),
    }
}
