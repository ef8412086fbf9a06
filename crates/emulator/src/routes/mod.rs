//! One module per route family. `dispatch_aem` and `dispatch_blob` pick the
//! route; each route reads its request, draws its faults and answers.
//!
//! Route families plug in here as modules with a `matches` test (or a
//! selector) and a `handle` function.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Method;

use crate::auth;
use crate::context::Context;
use crate::faults::{Decision, Fault};
use crate::http::{self, Outcome, Request, Response};

mod author;
mod binary;
mod blob;
mod complete;
mod control;
mod create_asset;
mod event_keys;
mod folders;
mod ims;
mod initiate;

/// Route names as the request log and counters show them.
pub mod names {
    pub const AUTHOR: &str = "author";
    pub const INITIATE: &str = "initiate";
    pub const PART: &str = "part";
    pub const COMPLETE: &str = "complete";
    pub const FOLDER: &str = "folder";
    pub const CREATE_ASSET: &str = "createasset";
    pub const CONTROL: &str = "control";
    pub const IMS: &str = "ims";
    pub const BINARY: &str = "binary";
    pub const EVENT_KEYS: &str = "eventkeys";
    pub const UNKNOWN: &str = "unknown";
}

/// Picks the route for a request on the AEM origin.
pub fn route_of(method: &Method, path: &str) -> &'static str {
    if path.starts_with("/_emulator/") {
        names::CONTROL
    } else if ims::matches(path) {
        names::IMS
    } else if event_keys::matches(path) {
        names::EVENT_KEYS
    } else if path == "/api/assets" || path.starts_with("/api/assets/") || path.starts_with("/api/assets.") {
        names::FOLDER
    } else if author::matches(path) {
        names::AUTHOR
    } else if *method == Method::POST && path.ends_with(initiate::SELECTOR) {
        names::INITIATE
    } else if *method == Method::POST && path.ends_with(complete::SELECTOR) {
        names::COMPLETE
    } else if *method == Method::POST && path.ends_with(create_asset::SELECTOR) {
        names::CREATE_ASSET
    } else if *method == Method::GET || *method == Method::HEAD {
        names::BINARY
    } else {
        names::UNKNOWN
    }
}

pub async fn dispatch_aem(ctx: &Arc<Context>, route: &'static str, req: Request) -> Outcome {
    match route {
        names::AUTHOR => author::handle(ctx, req).await,
        names::CONTROL => control::handle(ctx, req).await,
        names::FOLDER => folders::handle(ctx, req).await,
        names::IMS => ims::handle(ctx, req).await,
        names::INITIATE => initiate::handle(ctx, req).await,
        names::COMPLETE => complete::handle(ctx, req).await,
        names::CREATE_ASSET => create_asset::handle(ctx, req).await,
        names::BINARY => binary::handle(ctx, req).await,
        names::EVENT_KEYS => event_keys::handle(ctx, req).await,
        _ => http::text(404, "Not found").into(),
    }
}

pub async fn dispatch_blob(ctx: &Arc<Context>, req: Request) -> Outcome {
    blob::handle(ctx, req).await
}

/// Refuses a request without valid credentials.
pub fn require_auth(ctx: &Context, req_headers: &hyper::HeaderMap) -> Result<(), Response> {
    let config = ctx.config();
    auth::authenticate(&config.auth, &ctx.ims, req_headers).map_err(|denied| auth::challenge(&config.auth, denied))
}

/// Applies the parts of a fault decision that come before the route's own
/// logic: latency, then a status answer or a dropped connection. A request
/// body still unread is drained first, so the client is not cut off mid-send.
pub async fn inject_before(decision: &Decision, body: Option<&mut Incoming>) -> Option<Outcome> {
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.fault.as_ref()? {
        Fault::ResetBefore => Some(Outcome::Reset),
        Fault::ResetMid => None,
        status => {
            if let Some(body) = body {
                http::drain(body, None).await;
            }
            Some(match status {
                Fault::Status429 { retry_after_seconds } => {
                    let mut response = http::json(429, &serde_json::json!({"error": "injected 429"}));
                    response.headers_mut().insert(hyper::header::RETRY_AFTER, (*retry_after_seconds).into());
                    response.into()
                }
                _ => http::json(503, &serde_json::json!({"error": "injected 503"})).into(),
            })
        }
    }
}

/// Applies the parts of a fault decision that shape the answer: a response
/// cut off mid-body, or one that trickles out.
pub async fn inject_after(decision: &Decision, outcome: Outcome) -> Outcome {
    let Outcome::Respond(mut response) = outcome else { return outcome };
    if decision.fault == Some(Fault::ResetMid) {
        response = http::truncated_response(response).await;
    }
    if let Some(rate) = decision.slow_bytes_per_second {
        response = http::slow_response(response, rate).await;
    }
    Outcome::Respond(response)
}

/// The page AEM answers for an initiate or complete in a missing folder.
pub fn folder_not_found() -> Response {
    http::html(
        404,
        "<html><head><title>404 Specified folder not found</title></head>\
         <body><h1>Specified folder not found</h1></body></html>",
    )
}

/// Reads a small request body whole; a broken body drops the connection.
pub async fn small_body(req: &mut Request) -> Result<bytes::Bytes, Outcome> {
    match http::read_body(req.body_mut(), 16 * 1024 * 1024, None).await {
        Ok(body) => Ok(body),
        Err(http::BodyError::Broken) => Err(Outcome::Reset),
        Err(http::BodyError::TooLarge) => Err(http::text(413, "Request body too large").into()),
    }
}

/// The first value of each form field, in order of appearance.
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The decoded DAM path of a request path with a selector suffix removed.
pub fn path_before(path: &str, selector: &str) -> Option<String> {
    http::decode_path(path.strip_suffix(selector)?)
}

/// Characters a client must not send in an asset name (docs/compat.md §7), and `/`.
pub fn has_forbidden_char(name: &str) -> bool {
    name.chars().any(|c| matches!(c, '/' | '[' | ']' | '{' | '}' | '&' | ':' | '\\' | '?' | '#' | '|' | '*' | '%'))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_picked_by_selector() {
        assert_eq!(route_of(&Method::POST, "/content/dam/a.initiateUpload.json"), names::INITIATE);
        assert_eq!(route_of(&Method::POST, "/content/dam/a.completeUpload.json"), names::COMPLETE);
        assert_eq!(route_of(&Method::POST, "/content/dam/a.createasset.html"), names::CREATE_ASSET);
        assert_eq!(route_of(&Method::POST, "/api/assets/a"), names::FOLDER);
        assert_eq!(route_of(&Method::GET, "/api/assets.json"), names::FOLDER);
        assert_eq!(route_of(&Method::GET, "/_emulator/state"), names::CONTROL);
        assert_eq!(route_of(&Method::POST, "/ims/exchange/jwt"), names::IMS);
        assert_eq!(route_of(&Method::POST, "/ims/token/v3"), names::IMS);
        assert_eq!(route_of(&Method::GET, "/content/dam/a.jpg"), names::BINARY);
        assert_eq!(route_of(&Method::GET, "/prod/keys/pub-key-Ptc2pD9vT9.pem"), names::EVENT_KEYS);
        assert_eq!(route_of(&Method::PATCH, "/adobe/assets/urn:aaid:aem:x/metadata"), names::AUTHOR);
        assert_eq!(route_of(&Method::PUT, "/content/dam/a.jpg"), names::UNKNOWN);
    }

    #[test]
    fn form_parsing_decodes_plus_and_percent() {
        let fields = form_fields(b"fileName=a+b%23.jpg&fileSize=3&fileName=c");
        assert_eq!(field(&fields, "fileName"), Some("a b#.jpg"));
        assert_eq!(fields.len(), 3);
        assert_eq!(
            path_before("/content/dam/x%20y.initiateUpload.json", ".initiateUpload.json").as_deref(),
            Some("/content/dam/x y")
        );
        assert!(has_forbidden_char("a#b") && has_forbidden_char("a/b") && !has_forbidden_char("a,b=c@d+e;f"));
    }
}
