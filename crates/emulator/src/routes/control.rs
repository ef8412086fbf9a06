//! `/_emulator/…`: inspection and control, no auth (docs/protocol.md §11).

use std::sync::Arc;

use hyper::Method;
use serde_json::{json, Value};

use super::small_body;
use crate::context::Context;
use crate::http::{self, Outcome, Request};

/// A JSON body; an empty one is `null`.
fn json_body(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))
}

fn minted(result: Result<Value, String>) -> Outcome {
    match result {
        Ok(document) => http::json(200, &document).into(),
        Err(e) => http::json(400, &json!({"error": e})).into(),
    }
}

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let body = match small_body(&mut req).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    let path = req.uri().path().trim_start_matches("/_emulator/");
    match (req.method().clone(), path) {
        (Method::GET, "state") => http::json(200, &ctx.state()).into(),
        (Method::GET, "requests") => http::json(200, &ctx.requests()).into(),
        (Method::POST, "reset") => {
            ctx.reset();
            http::json(200, &json!({"reset": true})).into()
        }
        (Method::GET, "config") => http::json(200, &serde_json::to_value(&*ctx.config()).expect("serialisable")).into(),
        (Method::PATCH, "config") => {
            let patch: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => return http::json(400, &json!({"error": format!("body is not JSON: {e}")})).into(),
            };
            match ctx.patch_config(&patch) {
                Ok(config) => http::json(200, &serde_json::to_value(&*config).expect("serialisable")).into(),
                Err(e) => http::json(400, &json!({"error": e})).into(),
            }
        }
        (Method::GET, "ims") => http::json(200, &ctx.ims.state()).into(),
        (Method::GET, "events") => http::json(200, &ctx.events.state()).into(),
        (Method::POST, "events/idle") => events_idle(ctx, req.uri().query()).await,
        (Method::POST, "ims/service-credentials") => {
            // RSA key generation: off the async threads.
            let ctx = Arc::clone(ctx);
            let document =
                tokio::task::spawn_blocking(move || json_body(&body).and_then(|o| ctx.create_service_credentials(&o)))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
            minted(document)
        }
        (Method::POST, "ims/oauth-clients") => minted(json_body(&body).and_then(|o| ctx.create_oauth_client(&o))),
        (Method::POST, "ims/clients") => match json_body(&body).and_then(|d| ctx.register_credentials(&d)) {
            Ok(client_id) => http::json(200, &json!({"clientId": client_id})).into(),
            Err(e) => http::json(400, &json!({"error": e})).into(),
        },
        (Method::POST, "ims/revoke") => {
            let client =
                json_body(&body).ok().and_then(|b| b.get("clientId").and_then(Value::as_str).map(String::from));
            http::json(200, &json!({"revoked": ctx.ims.revoke(client.as_deref())})).into()
        }
        _ => http::text(404, "Unknown emulator control route").into(),
    }
}

/// Waits until no asset event is pending (`?timeoutMs=`, default 30000),
/// then answers `{idle, events}`: a test's way to await deliveries when the
/// emulator runs in another process.
async fn events_idle(ctx: &Context, query: Option<&str>) -> Outcome {
    let timeout_ms = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "timeoutMs")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .unwrap_or(30_000);
    let idle = tokio::time::timeout(std::time::Duration::from_millis(timeout_ms), ctx.events.idle()).await.is_ok();
    http::json(200, &json!({"idle": idle, "events": ctx.events.state()})).into()
}
