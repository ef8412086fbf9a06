//! IMS on the AEM origin (protocol.md, IMS): `POST /ims/exchange/jwt` (service
//! credentials; `expires_in` in milliseconds) and `POST /ims/token/v3` or
//! `/v2` (`client_credentials`; `expires_in` in seconds). Fields come as
//! `application/x-www-form-urlencoded` or `multipart/form-data` (Adobe's own
//! clients send both), and for the token endpoints also in the query.

use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use serde_json::json;

use super::{form_fields, inject_after, inject_before, small_body};
use crate::config::FaultRoute;
use crate::context::Context;
use crate::http::{self, header_str, Outcome, Request};
use crate::ims::{Audience, Fields, Grant, ImsError};

/// The IMS paths: is `path` one of them?
pub fn matches(path: &str) -> bool {
    path.starts_with("/ims/")
}

enum Endpoint {
    ExchangeJwt,
    Token,
}

fn endpoint(path: &str) -> Option<Endpoint> {
    match path.trim_end_matches('/') {
        "/ims/exchange/jwt" | "/ims/exchange/v1/jwt" => Some(Endpoint::ExchangeJwt),
        "/ims/token/v3" | "/ims/token/v2" => Some(Endpoint::Token),
        _ => None,
    }
}

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let body = match small_body(&mut req).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    let Some(endpoint) = endpoint(req.uri().path()) else {
        return ims_error(&ImsError { status: 404, error: "not_found", description: "unknown IMS endpoint".into() });
    };
    if req.method() != Method::POST {
        return ims_error(&ImsError { status: 405, error: "method_not_allowed", description: "use POST".into() });
    }
    let mut fields = match read_form(req.headers(), body).await {
        Ok(fields) => fields,
        Err(detail) => return ims_error(&ImsError { status: 400, error: "bad_request", description: detail }),
    };
    if matches!(endpoint, Endpoint::Token) {
        // The token endpoint also takes its parameters in the query.
        let query = req.uri().query().unwrap_or("");
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if !fields.iter().any(|(name, _)| *name == k) {
                fields.push((k.into_owned(), v.into_owned()));
            }
        }
    }
    let client_id = fields.iter().find(|(k, _)| k == "client_id").map(|(_, v)| v.as_str()).unwrap_or("");
    let decision = ctx.decide(FaultRoute::Ims, &format!("{} {client_id}", req.uri().path()));
    if let Some(outcome) = inject_before(&decision, None).await {
        return outcome;
    }
    if !ctx.ims.has_token_key() {
        // The first grant makes IMS's signing key: off the async threads.
        let ctx = Arc::clone(ctx);
        let _ = tokio::task::spawn_blocking(move || {
            ctx.ims.token_key();
        })
        .await;
    }
    let lifetime = Duration::from_secs(ctx.config().ims.token_lifetime_seconds);
    let outcome = match endpoint {
        Endpoint::ExchangeJwt => {
            let audience = audience(ctx, &req);
            match ctx.ims.exchange_jwt(&Fields(&fields), &audience, lifetime) {
                // Milliseconds here (and only here): IMS's JWT exchange contract.
                Ok(grant) => granted(&grant, grant.lifetime.as_millis() as u64),
                Err(e) => ims_error(&e),
            }
        }
        Endpoint::Token => match ctx.ims.client_credentials(&Fields(&fields), lifetime) {
            Ok(grant) => granted(&grant, grant.lifetime.as_secs()),
            Err(e) => ims_error(&e),
        },
    };
    inject_after(&decision, outcome).await
}

/// Where clients reach this IMS: the emulator's address and the `Host` they sent.
fn audience(ctx: &Context, req: &Request) -> Audience {
    let mut authorities = vec![ctx.url.split_once("://").map(|(_, a)| a).unwrap_or(&ctx.url).to_string()];
    if let Some(host) = header_str(req.headers(), "host") {
        if !authorities.iter().any(|a| a == host) {
            authorities.push(host.to_string());
        }
    }
    Audience { authorities }
}

fn granted(grant: &Grant, expires_in: u64) -> Outcome {
    let mut response =
        http::json(200, &json!({"access_token": grant.access_token, "token_type": "bearer", "expires_in": expires_in}));
    response.headers_mut().insert(hyper::header::CACHE_CONTROL, hyper::header::HeaderValue::from_static("no-store"));
    response.into()
}

fn ims_error(error: &ImsError) -> Outcome {
    http::json(error.status, &error.body()).into()
}

/// The form fields of a urlencoded or multipart body.
async fn read_form(headers: &hyper::HeaderMap, body: bytes::Bytes) -> Result<Vec<(String, String)>, String> {
    let content_type = header_str(headers, "content-type").unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return Ok(form_fields(&body));
    }
    let boundary = multer::parse_boundary(content_type).map_err(|e| format!("bad multipart body: {e}"))?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| format!("bad multipart body: {e}"))? {
        let name = field.name().unwrap_or("").to_string();
        let value = field.text().await.map_err(|e| format!("bad multipart body: {e}"))?;
        fields.push((name, value));
    }
    Ok(fields)
}
