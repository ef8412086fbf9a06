//! `/_emulator/…`: inspection and control, no auth (docs/protocol.md §11).

use std::sync::Arc;

use hyper::Method;
use serde_json::{json, Value};

use super::small_body;
use crate::context::Context;
use crate::http::{self, Outcome, Request};

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
        _ => http::text(404, "Unknown emulator control route").into(),
    }
}
