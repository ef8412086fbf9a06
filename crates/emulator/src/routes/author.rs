//! The Assets Author API on the AEM origin (protocol.md, "Assets Author
//! API"), for every asset the emulator holds however it was uploaded:
//!
//! - `GET|HEAD /adobe/assets/{assetId}/metadata`: 200 with `ETag`, 304 when
//!   `If-None-Match` matches, 404, 406 when `Accept` rules out JSON;
//! - `PATCH` same: JSON Patch under `If-Match` (428 without, 412 with the
//!   current `ETag` on a mismatch), atomic, 200 with the new document;
//! - `GET|HEAD /adobe/assets/{assetId}`: the binary (the emulator has no
//!   renditions: the original stands in for the web-optimised one), with
//!   `ETag`, 304 on `If-None-Match`, 406 when `Accept` rules out its type;
//! - `DELETE /adobe/assets/{assetId}?force=`: 204, or 202 and a job for a
//!   referenced asset (without `force`) or with `asyncDelete`;
//! - `GET /adobe/assets/jobs/{jobId}/status`: 200 while running, then 303 to
//!   `…/result`; `GET …/result`: the outcome.
//!
//! Callers need the AEM credentials and a registered `X-Api-Key` (403
//! otherwise). Errors are `application/problem+json`. Faults: route `author`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION, RETRY_AFTER};
use hyper::{HeaderMap, Method};
use serde_json::{json, Value};

use super::{inject_after, inject_before, require_auth, small_body};
use crate::author::{self, json_patch, ASSET_ID_PREFIX};
use crate::config::FaultRoute;
use crate::context::Context;
use crate::http::{self, decode_path, header_str, Outcome, Request, Response};
use crate::storage::BinaryData;

pub const PREFIX: &str = "/adobe/assets/";

pub fn matches(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// What a request path addresses.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Metadata(String),
    Asset(String),
    JobStatus(String),
    JobResult(String),
}

fn target(path: &str) -> Option<Target> {
    let rest = path.strip_prefix(PREFIX)?;
    let segments: Vec<String> = rest.split('/').map(decode_path).collect::<Option<_>>()?;
    match segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["jobs", job, "status"] => Some(Target::JobStatus(job.to_string())),
        ["jobs", job, "result"] => Some(Target::JobResult(job.to_string())),
        [id, "metadata"] => Some(Target::Metadata(id.to_string())),
        [id] if !id.is_empty() => Some(Target::Asset(id.to_string())),
        _ => None,
    }
}

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let body = match small_body(&mut req).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    // The fault key tells concurrent writers of one asset apart by their patch.
    let mut key = format!("{} {}", req.method(), req.uri().path());
    if !body.is_empty() {
        key.push(' ');
        key.push_str(&digest(&body));
    }
    let decision = ctx.decide(FaultRoute::Author, &key);
    if let Some(outcome) = inject_before(&decision, None).await {
        return outcome;
    }
    let instance = req.uri().path().to_string();
    let outcome = match answer(ctx, &req, &body).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(&instance),
    };
    inject_after(&decision, outcome.into()).await
}

/// A short hex digest of a request body.
fn digest(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// An RFC 7807 problem: the answer to every refused Author API request.
struct Problem {
    status: u16,
    detail: String,
    headers: Vec<(hyper::header::HeaderName, HeaderValue)>,
}

fn problem(status: u16, detail: impl Into<String>) -> Problem {
    Problem { status, detail: detail.into(), headers: Vec::new() }
}

impl Problem {
    fn with(mut self, name: hyper::header::HeaderName, value: &str) -> Problem {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    fn into_response(self, instance: &str) -> Response {
        let status = hyper::StatusCode::from_u16(self.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        });
        let mut response = http::response(
            self.status,
            Some("application/problem+json"),
            serde_json::to_vec(&body).expect("JSON serialises"),
        );
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

type Answer = Result<Response, Problem>;

async fn answer(ctx: &Arc<Context>, req: &Request, body: &[u8]) -> Answer {
    if let Err(refusal) = require_auth(ctx, req.headers()) {
        // The AEM challenge, in the Author API's problem shape.
        let challenge = refusal.headers().get(hyper::header::WWW_AUTHENTICATE).cloned();
        let mut denied = problem(401, "Authentication failed: send a valid Authorization header");
        if let Some(challenge) = challenge {
            denied.headers.push((hyper::header::WWW_AUTHENTICATE, challenge));
        }
        return Err(denied);
    }
    check_api_key(ctx, req.headers())?;
    let Some(target) = target(req.uri().path()) else {
        return Err(problem(404, "No such Author API resource"));
    };
    // Due jobs end before anything reads the DAM, so a finished delete is seen at once.
    finish_due_jobs(ctx);
    let method = req.method();
    match (&target, method) {
        (Target::Metadata(id), &Method::GET | &Method::HEAD) => get_metadata(ctx, req, id),
        (Target::Metadata(id), &Method::PATCH) => patch_metadata(ctx, req, id, body),
        (Target::Asset(id), &Method::GET | &Method::HEAD) => rendition(ctx, req, id).await,
        (Target::Asset(id), &Method::DELETE) => {
            check_experimental(ctx, req.headers())?;
            delete(ctx, req, id)
        }
        (Target::JobStatus(job), &Method::GET) => {
            check_experimental(ctx, req.headers())?;
            job_status(ctx, job)
        }
        (Target::JobResult(job), &Method::GET) => job_result(ctx, job),
        (target, _) => {
            let allow = match target {
                Target::Metadata(_) => "GET, HEAD, PATCH",
                Target::Asset(_) => "GET, HEAD, DELETE",
                Target::JobStatus(_) | Target::JobResult(_) => "GET",
            };
            Err(problem(405, format!("{method} is not supported here")).with(ALLOW, allow))
        }
    }
}

/// The allow-list of client ids (protocol.md: "a registered `X-Api-Key`").
fn check_api_key(ctx: &Context, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(key) = header_str(headers, "x-api-key").map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(problem(403, "X-Api-Key is missing: send the client id registered for this environment"));
    };
    if api_key_registered(ctx, key) {
        Ok(())
    } else {
        Err(problem(403, "The X-Api-Key is not a client id registered for this environment"))
    }
}

/// Whether `key` was registered: in the configuration (`author.apiKeys`),
/// or as the client id of a client the emulator's IMS knows, as a real
/// environment allow-lists the Developer Console project set up for it.
fn api_key_registered(ctx: &Context, key: &str) -> bool {
    ctx.config().author.api_keys.iter().any(|k| k == key) || ctx.ims.is_client(key)
}

fn check_experimental(ctx: &Context, headers: &HeaderMap) -> Result<(), Problem> {
    if ctx.config().author.require_experimental && header_str(headers, "x-adobe-accept-experimental") != Some("1") {
        return Err(problem(400, "X-Adobe-Accept-Experimental: 1 is required for this operation"));
    }
    Ok(())
}

fn check_asset_id(id: &str) -> Result<(), Problem> {
    let uuid = id.strip_prefix(ASSET_ID_PREFIX).unwrap_or("");
    if uuid.len() == 36 && uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Ok(())
    } else {
        Err(problem(400, format!("{id:?} is not an asset id (urn:aaid:aem:<uuid>)")))
    }
}

fn not_found(id: &str) -> Problem {
    problem(404, format!("Asset {id} not found"))
}

/// 406 unless `Accept` (when sent) allows JSON.
fn check_accept(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let acceptable = accept.split(',').any(|range| {
        let range = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(range.as_str(), "*/*" | "application/*" | "application/json" | "")
    });
    if acceptable {
        Ok(())
    } else {
        Err(problem(406, "Metadata is only available as application/json"))
    }
}

fn repository_id(ctx: &Context) -> &str {
    ctx.repository_id()
}

fn with_etag(mut response: Response, etag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

fn get_metadata(ctx: &Context, req: &Request, id: &str) -> Answer {
    check_asset_id(id)?;
    check_accept(req.headers())?;
    let dam = ctx.dam.lock().unwrap();
    let (path, asset) = dam.asset_by_id(id).ok_or_else(|| not_found(id))?;
    if let Some(tags) = header_str(req.headers(), IF_NONE_MATCH.as_str()) {
        if author::none_match(tags, &asset.etag) {
            return Ok(with_etag(http::no_content(304), &asset.etag));
        }
    }
    let document = author::document(path, asset, repository_id(ctx));
    let etag = asset.etag.clone();
    drop(dam);
    let mut response = http::json(200, &document);
    if req.method() == Method::HEAD {
        response = http::response(200, Some("application/json"), bytes::Bytes::new());
    }
    Ok(with_etag(response, &etag))
}

/// Whether `Accept` (when sent) allows `mime`.
fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else { return true };
    let major = mime.split('/').next().unwrap_or("");
    accept.split(',').any(|range| {
        let range = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        range.is_empty() || range == "*/*" || range == mime || range.strip_suffix("/*") == Some(major)
    })
}

async fn rendition(ctx: &Context, req: &Request, id: &str) -> Answer {
    check_asset_id(id)?;
    let (data, mime, etag) = {
        let dam = ctx.dam.lock().unwrap();
        let (_, asset) = dam.asset_by_id(id).ok_or_else(|| not_found(id))?;
        (asset.binary.data.clone(), asset.mime_type.to_ascii_lowercase(), asset.etag.clone())
    };
    if !accepts(req.headers(), &mime) {
        return Err(problem(406, format!("The asset is {mime}, which the Accept header rules out")));
    }
    if header_str(req.headers(), IF_NONE_MATCH.as_str()).is_some_and(|tags| author::none_match(tags, &etag)) {
        return Ok(with_etag(http::no_content(304), &etag));
    }
    let bytes: bytes::Bytes = match data {
        BinaryData::Memory(bytes) => bytes,
        BinaryData::File(file) => {
            tokio::fs::read(&file).await.map_err(|e| problem(500, format!("reading the binary: {e}")))?.into()
        }
        BinaryData::None => return Err(problem(501, "This storage mode keeps no bytes")),
    };
    let body = if req.method() == Method::HEAD { bytes::Bytes::new() } else { bytes };
    let mut response = http::response(200, None, body);
    // The type came from the uploader's complete: it may not be a valid header value.
    let content_type = HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    Ok(with_etag(response, &etag))
}

fn patch_metadata(ctx: &Context, req: &Request, id: &str, body: &[u8]) -> Answer {
    check_asset_id(id)?;
    check_accept(req.headers())?;
    // An unknown asset is 404 whatever else is wrong with the request.
    if ctx.dam.lock().unwrap().asset_by_id(id).is_none() {
        return Err(not_found(id));
    }
    let content_type = header_str(req.headers(), CONTENT_TYPE.as_str()).unwrap_or("");
    if !content_type.trim().to_ascii_lowercase().starts_with("application/json-patch+json") {
        return Err(problem(415, "PATCH takes Content-Type: application/json-patch+json"));
    }
    let Some(if_match) = header_str(req.headers(), IF_MATCH.as_str()) else {
        return Err(problem(428, "This request must be conditional: send If-Match with the ETag you read, or *"));
    };
    let ops: Value =
        serde_json::from_slice(body).map_err(|e| problem(400, format!("The body is not JSON Patch: {e}")))?;
    // The tag check and the write happen under one lock: of two writers
    // holding the same tag, exactly one wins and the other gets 412.
    let mut dam = ctx.dam.lock().unwrap();
    let path = dam.path_of_id(id).ok_or_else(|| not_found(id))?;
    let asset = dam.assets.get_mut(&path).expect("found by id");
    if !author::if_match(if_match, &asset.etag) {
        return Err(problem(412, "The asset changed since that ETag was read: read it again").with(ETAG, &asset.etag));
    }
    let patched = json_patch::apply(&asset.metadata, &ops).map_err(|e| problem(400, e.0))?;
    let changed = patched != asset.metadata;
    let before = changed.then(|| std::mem::replace(&mut asset.metadata, patched));
    if changed {
        asset.etag = crate::dam::new_etag();
        asset.modified = SystemTime::now();
    }
    let document = author::document(&path, asset, repository_id(ctx));
    let etag = asset.etag.clone();
    drop(dam);
    if let Some(before) = before {
        ctx.after_change();
        ctx.events.metadata_updated(ctx, &document, &before);
    }
    Ok(with_etag(http::json(200, &document), &etag))
}

fn delete(ctx: &Arc<Context>, req: &Request, id: &str) -> Answer {
    check_asset_id(id)?;
    let mut force = false;
    for (key, value) in form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        if key == "force" {
            force = match value.as_ref() {
                "true" => true,
                "false" => false,
                other => return Err(problem(400, format!("force must be true or false, not {other:?}"))),
            };
        }
    }
    let config = ctx.config();
    let mut dam = ctx.dam.lock().unwrap();
    let path = dam.path_of_id(id).ok_or_else(|| not_found(id))?;
    let referenced = config.author.referenced.iter().any(|r| *r == path || r == id);
    let runs_for = match (config.async_delete, referenced && !force) {
        (Some(ms), _) => Some(ms),
        (None, true) => Some(config.author.job_ms),
        (None, false) => None,
    };
    let Some(ms) = runs_for else {
        let removed = dam.assets.remove(&path);
        drop(dam);
        if let Some(asset) = removed {
            author::remove_file_of(&asset);
            ctx.events.deleted(ctx, &path, &asset);
        }
        ctx.after_change();
        return Ok(http::no_content(204));
    };
    let job_id = dam.start_delete_job(id, &path, Duration::from_millis(ms));
    let retry_after = dam.jobs[&job_id].retry_after(Instant::now());
    drop(dam);
    // The asset goes when the job ends, whether or not anyone polls.
    let finisher = Arc::clone(ctx);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        finish_due_jobs(&finisher);
    });
    let mut response = http::json(202, &json!({"jobId": job_id, "state": "PROCESSING"}));
    let headers = response.headers_mut();
    headers.insert(LOCATION, job_location(&job_id, "status"));
    headers.insert(RETRY_AFTER, retry_after.into());
    Ok(response)
}

fn job_location(job_id: &str, what: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{PREFIX}jobs/{}/{what}", http::encode_path(job_id)))
        .expect("encoded paths are header-safe")
}

fn finish_due_jobs(ctx: &Context) {
    let removed = ctx.dam.lock().unwrap().finish_due_jobs(Instant::now());
    if !removed.is_empty() {
        ctx.after_change();
    }
    for (path, asset) in &removed {
        author::remove_file_of(asset);
        ctx.events.deleted(ctx, path, asset);
    }
}

fn job_status(ctx: &Context, job_id: &str) -> Answer {
    let dam = ctx.dam.lock().unwrap();
    let job = dam.jobs.get(job_id).ok_or_else(|| problem(404, format!("No job {job_id}")))?;
    let body = json!({"jobId": job_id, "state": job.state()});
    if job.done {
        let mut response = http::json(303, &body);
        response.headers_mut().insert(LOCATION, job_location(job_id, "result"));
        return Ok(response);
    }
    let mut response = http::json(200, &body);
    response.headers_mut().insert(RETRY_AFTER, job.retry_after(Instant::now()).into());
    Ok(response)
}

fn job_result(ctx: &Context, job_id: &str) -> Answer {
    let dam = ctx.dam.lock().unwrap();
    let job = dam.jobs.get(job_id).ok_or_else(|| problem(404, format!("No job {job_id}")))?;
    let mut body = json!({"jobId": job_id, "state": job.state()});
    if job.done {
        body["result"] = json!({"assetId": job.asset_id, "path": job.path, "deleted": true});
    }
    Ok(http::json(200, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let id = "urn:aaid:aem:0b5e3f1c-3c1d-4b4e-9a43-6b2f5a1c9e01";
        assert_eq!(target(&format!("/adobe/assets/{id}/metadata")), Some(Target::Metadata(id.into())));
        assert_eq!(target("/adobe/assets/urn%3Aaaid%3Aaem%3Ax"), Some(Target::Asset("urn:aaid:aem:x".into())));
        assert_eq!(target("/adobe/assets/jobs/j1/status"), Some(Target::JobStatus("j1".into())));
        assert_eq!(target("/adobe/assets/jobs/j1/result"), Some(Target::JobResult("j1".into())));
        assert_eq!(target("/adobe/assets/"), None);
        assert_eq!(target("/adobe/assets/a/b/c"), None);
        assert!(check_asset_id(id).is_ok());
        assert!(check_asset_id("urn:aaid:aem:../../x").is_err() && check_asset_id("x").is_err());
    }
}
