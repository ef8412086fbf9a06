//! `POST <folder>.initiateUpload.json` (docs/protocol.md §1).

use std::sync::Arc;

use hyper::header::{HeaderValue, SET_COOKIE};
use serde::Serialize;

use super::{
    folder_not_found, form_fields, has_forbidden_char, inject_after, inject_before, path_before, require_auth,
    small_body, unix_now,
};
use crate::config::{CompleteUri, DirectBinary, FaultRoute};
use crate::context::{Context, ViolationKind};
use crate::dam::PendingUpload;
use crate::http::{self, encode_path, Outcome, Request};

pub const SELECTOR: &str = ".initiateUpload.json";

/// The affinity cookie AEM sets so that complete reaches the same node.
pub const AFFINITY_COOKIE: &str = "Affinity-cookie";

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let body = match small_body(&mut req).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    let Some(folder) = path_before(req.uri().path(), SELECTOR) else {
        return http::text(400, "Invalid path encoding").into();
    };
    let fields = form_fields(&body);
    let names: Vec<&str> = fields.iter().filter(|(k, _)| k == "fileName").map(|(_, v)| v.as_str()).collect();
    let sizes: Vec<&str> = fields.iter().filter(|(k, _)| k == "fileSize").map(|(_, v)| v.as_str()).collect();
    let key = format!("{folder}|{}", names.join("|"));
    let decision = ctx.decide(FaultRoute::Initiate, &key);
    if let Some(outcome) = inject_before(&decision, None).await {
        return outcome;
    }
    let outcome = answer(ctx, &req, &folder, &names, &sizes);
    inject_after(&decision, outcome).await
}

fn answer(ctx: &Arc<Context>, req: &Request, folder: &str, names: &[&str], sizes: &[&str]) -> Outcome {
    if let Err(refusal) = require_auth(ctx, req.headers()) {
        return refusal.into();
    }
    let config = ctx.config();
    let path = req.uri().path();
    {
        let dam = ctx.dam.lock().unwrap();
        if !dam.folder_exists(folder) || dam.folder_is_fresh(folder, config.faults.folder_not_found_window_ms) {
            return folder_not_found().into();
        }
    }
    let parsed: Vec<Option<u64>> = sizes.iter().map(|s| s.trim().parse::<u64>().ok()).collect();
    if names.is_empty() || names.len() != sizes.len() || parsed.iter().any(Option::is_none) {
        let detail = format!(
            "{} fileName and {} fileSize values; every pair needs both, sizes must be numbers",
            names.len(),
            sizes.len()
        );
        if let Err(refusal) = ctx.violation(ViolationKind::MissingField, "POST", path, detail) {
            return refusal.into();
        }
    }
    if names.len() > config.max_files_per_initiate {
        return http::text(
            400,
            format!("Too many files in one initiate: {} > {}", names.len(), config.max_files_per_initiate),
        )
        .into();
    }
    if let Some(bad) = names.iter().find(|n| n.is_empty() || has_forbidden_char(n)) {
        return http::text(400, format!("Invalid file name '{bad}'")).into();
    }

    let new_uploads: Vec<(FileAnswer, PendingUpload)> = names
        .iter()
        .zip(parsed.iter().chain(std::iter::repeat(&None)))
        .map(|(name, size)| new_upload(ctx, &config, folder, name, size.unwrap_or(0)))
        .collect();

    let affinity = config.affinity_cookie.then(|| format!("author-{}", crate::ids::random_uuid().simple()));
    let mut files = Vec::with_capacity(new_uploads.len());
    {
        let mut dam = ctx.dam.lock().unwrap();
        for (file, mut upload) in new_uploads {
            if config.direct_binary == DirectBinary::Enabled {
                upload.affinity = affinity.clone();
                dam.uploads.insert(file.id.clone(), upload);
            }
            files.push(file);
        }
    }

    let complete_path = format!("{}.completeUpload.json", encode_path(folder));
    let complete_uri = match config.complete_uri {
        CompleteUri::Relative => complete_path,
        CompleteUri::Absolute => format!("{}{complete_path}", ctx.url),
    };
    let answer = match config.direct_binary {
        DirectBinary::Enabled => {
            InitiateAnswer { complete_uri: Some(complete_uri), files: Some(files), folder_path: folder }
        }
        DirectBinary::NoCompleteUri => InitiateAnswer { complete_uri: None, files: Some(files), folder_path: folder },
        DirectBinary::Disabled => InitiateAnswer { complete_uri: None, files: None, folder_path: folder },
    };
    let mut response = http::json(201, &answer);
    if let Some(cookie) = affinity {
        let value = format!("{AFFINITY_COOKIE}={cookie}; Path=/; HttpOnly");
        response.headers_mut().insert(SET_COOKIE, HeaderValue::from_str(&value).expect("cookie is ASCII"));
    }
    response.into()
}

/// The answer's body. Typed rather than built as a `serde_json::Value`:
/// with a hundred files per initiate and a URL per part, building and then
/// copying the tree was most of the route's CPU. Fields stay in the order a
/// `Value` map would print them (sorted), so the bytes are unchanged.
#[derive(Serialize)]
struct InitiateAnswer<'a> {
    #[serde(rename = "completeURI", skip_serializing_if = "Option::is_none")]
    complete_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<FileAnswer<'a>>>,
    #[serde(rename = "folderPath")]
    folder_path: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileAnswer<'a> {
    file_name: &'a str,
    max_part_size: u64,
    mime_type: &'static str,
    min_part_size: u64,
    upload_token: String,
    #[serde(rename = "uploadURIs")]
    upload_uris: Vec<String>,
    /// The pending upload's key, not part of the answer.
    #[serde(skip)]
    id: String,
}

/// One file's entry of the answer, and its pending upload.
fn new_upload<'a>(
    ctx: &Context,
    config: &crate::config::Config,
    folder: &str,
    name: &'a str,
    size: u64,
) -> (FileAnswer<'a>, PendingUpload) {
    let asset_path = format!("{folder}/{name}");
    let id = crate::ids::random_uuid().simple().to_string();
    let uri_count = size.div_ceil(config.min_part_size).clamp(1, config.max_uris);
    let expiry = if ctx.issue_expired(&asset_path) {
        unix_now().saturating_sub(1)
    } else {
        unix_now() + config.url_expiry_seconds
    };
    let upload_uris = (0..uri_count as u32)
        .map(|k| format!("{}{}", ctx.blob_url, ctx.signer.part_url_path(&id, k, expiry)))
        .collect();
    let mime_type = mime_guess::from_path(name).first_raw().unwrap_or("application/octet-stream");
    let upload_token = ctx.signer.upload_token(&id, &asset_path, size);
    let file = FileAnswer {
        file_name: name,
        max_part_size: config.max_part_size,
        mime_type,
        min_part_size: config.min_part_size,
        upload_token,
        upload_uris,
        id,
    };
    let upload = PendingUpload {
        path: asset_path,
        file_size: size,
        mime_type: mime_type.to_string(),
        min_part_size: config.min_part_size,
        max_part_size: config.max_part_size,
        uri_count,
        parts: ctx.storage.new_parts(),
        affinity: None,
    };
    (file, upload)
}
