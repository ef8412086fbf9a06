//! `POST <folder>.completeUpload.json` (docs/protocol.md §3): checks the parts,
//! assembles them by index and creates (or versions) the asset.

use std::sync::Arc;

use serde_json::json;

use super::initiate::AFFINITY_COOKIE;
use super::{field, folder_not_found, form_fields, inject_after, inject_before, path_before, require_auth, small_body};
use crate::config::{ExistingAsset, FaultRoute};
use crate::context::{Check, Context, ViolationKind};
use crate::dam::{CompletedUpload, Conflict, PendingUpload};
use crate::events::Events;
use crate::http::{self, header_str, Outcome, Request};

pub const SELECTOR: &str = ".completeUpload.json";

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let body = match small_body(&mut req).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    let Some(folder) = path_before(req.uri().path(), SELECTOR) else {
        return http::text(400, "Invalid path encoding").into();
    };
    let fields = form_fields(&body);
    let key = format!("{folder}/{}", field(&fields, "fileName").unwrap_or(""));
    let decision = ctx.decide(FaultRoute::Complete, &key);
    if let Some(outcome) = inject_before(&decision, None).await {
        return outcome;
    }
    let outcome = answer(ctx, &req, &folder, fields);
    inject_after(&decision, outcome).await
}

fn truthy(value: Option<&str>) -> bool {
    value == Some("true")
}

fn answer(ctx: &Arc<Context>, req: &Request, folder: &str, fields: Vec<(String, String)>) -> Outcome {
    if let Err(refusal) = require_auth(ctx, req.headers()) {
        return refusal.into();
    }
    let config = ctx.config();
    let path = req.uri().path();
    let violation = |kind, detail: String| -> Check { ctx.violation(kind, "POST", path, detail) };

    let missing: Vec<&str> =
        ["fileName", "mimeType", "uploadToken"].into_iter().filter(|f| field(&fields, f).is_none()).collect();
    if !missing.is_empty() {
        if let Err(refusal) = violation(ViolationKind::MissingField, format!("complete without {}", missing.join(", ")))
        {
            return refusal.into();
        }
    }
    let file_name = field(&fields, "fileName").unwrap_or("");
    let token = field(&fields, "uploadToken").unwrap_or("");
    let asset_path = format!("{folder}/{file_name}");

    let mut dam = ctx.dam.lock().unwrap();
    if dam.folder_is_fresh(folder, config.faults.folder_not_found_window_ms) || !dam.folder_exists(folder) {
        return folder_not_found().into();
    }
    let opened = ctx.signer.open_token(token);
    let upload_id = match &opened {
        Some((id, token_path, _)) if *token_path == asset_path => id.clone(),
        Some((_, token_path, _)) => {
            let detail = format!("token was issued for '{token_path}', not '{asset_path}'");
            if let Err(refusal) = violation(ViolationKind::BadToken, detail) {
                return refusal.into();
            }
            return http::text(400, "Upload token does not match the file").into();
        }
        None => {
            if let Err(refusal) = violation(ViolationKind::BadToken, "unknown or forged uploadToken".into()) {
                return refusal.into();
            }
            return http::text(400, "Invalid upload token").into();
        }
    };
    if let Some(done) = dam.completed.get(token) {
        // An identical repeat (a client retry) gets the same answer.
        let same = done
            .fields
            .iter()
            .filter(|(k, _)| k != "uploadDuration")
            .eq(fields.iter().filter(|(k, _)| k != "uploadDuration"));
        return if same {
            http::json(200, &done.answer).into()
        } else {
            http::text(409, "Upload token already completed with different fields").into()
        };
    }
    let Some(upload) = dam.uploads.get(&upload_id) else {
        if let Err(refusal) = violation(ViolationKind::BadToken, "uploadToken of no pending upload".into()) {
            return refusal.into();
        }
        return http::text(400, "Invalid upload token").into();
    };
    if config.require_affinity_cookie {
        if let Some(affinity) = &upload.affinity {
            let cookie = header_str(req.headers(), "cookie").unwrap_or("");
            let wanted = format!("{AFFINITY_COOKIE}={affinity}");
            if !cookie.split(';').any(|c| c.trim() == wanted) {
                return http::text(400, "Complete reached a node without the upload's affinity cookie").into();
            }
        }
    }

    for (kind, detail) in part_problems(upload, field(&fields, "fileSize")) {
        if let Err(refusal) = violation(kind, detail) {
            return refusal.into();
        }
    }

    let create_version = truthy(field(&fields, "createVersion"));
    let replace = truthy(field(&fields, "replace"));
    let conflict = if !dam.assets.contains_key(&asset_path) {
        None
    } else if create_version {
        let non_empty = |name| field(&fields, name).filter(|v| !v.is_empty()).map(String::from);
        Some(Conflict::NewVersion { label: non_empty("versionLabel"), comment: non_empty("versionComment") })
    } else if replace {
        Some(Conflict::Replace)
    } else if config.existing_asset == ExistingAsset::Overwrite {
        Some(Conflict::Overwrite)
    } else {
        return http::json(409, &json!({"error": format!("Asset '{asset_path}' already exists")})).into();
    };

    let upload = dam.uploads.remove(&upload_id).expect("checked above");
    let target = ctx.storage.dir_path(&asset_path);
    let binary = match upload.parts.finish(target.as_deref()) {
        Ok(binary) => binary,
        Err(e) => return http::text(500, format!("Could not store the binary: {e}")).into(),
    };
    let mime_type = field(&fields, "mimeType").map(String::from).unwrap_or(upload.mime_type);
    let processed_at = ctx.processed_at();
    let asset = dam.store_asset(&asset_path, binary, mime_type, conflict, processed_at);
    let answer = json!({"path": asset_path, "assetId": asset.asset_id, "etag": asset.etag});
    dam.completed.insert(token.to_string(), CompletedUpload { fields, answer: answer.clone() });
    drop(dam);
    ctx.after_change();
    Events::landed(ctx, &asset_path, processed_at);
    http::json(200, &answer).into()
}

/// The strict checks on the parts received (docs/protocol.md §11).
fn part_problems(upload: &PendingUpload, file_size: Option<&str>) -> Vec<(ViolationKind, String)> {
    let mut problems = Vec::new();
    let sizes = upload.parts.sizes();
    let highest = sizes.keys().next_back().copied();
    let contiguous = sizes.keys().enumerate().all(|(i, k)| i as u32 == *k);
    if !contiguous || (sizes.is_empty() && upload.file_size > 0) {
        let have: Vec<String> = sizes.keys().map(u32::to_string).collect();
        problems.push((
            ViolationKind::MissingParts,
            format!("parts received: [{}] of {} URIs", have.join(","), upload.uri_count),
        ));
    }
    for (index, size) in &sizes {
        if Some(*index) != highest && *size < upload.min_part_size {
            problems.push((
                ViolationKind::PartSize,
                format!("part {index} is {size} bytes, below minPartSize {}", upload.min_part_size),
            ));
        }
        if *size > upload.max_part_size {
            problems.push((
                ViolationKind::PartSize,
                format!("part {index} is {size} bytes, above maxPartSize {}", upload.max_part_size),
            ));
        }
    }
    let received: u64 = sizes.values().sum();
    let declared = file_size.and_then(|s| s.trim().parse::<u64>().ok());
    if declared != Some(upload.file_size) || received != upload.file_size {
        problems.push((
            ViolationKind::SizeMismatch,
            format!(
                "complete fileSize {:?}, initiated {}, parts hold {received}",
                file_size.unwrap_or("<none>"),
                upload.file_size
            ),
        ));
    }
    problems
}
