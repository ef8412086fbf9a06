//! `GET /prod/keys/pub-key-<id>.pem`: the public keys of the emulator's
//! event signatures, at the paths its deliveries name in
//! `x-adobe-public-key1-path` / `-2-path`, as `static.adobeioevents.com`
//! serves Adobe's (SPKI PEM, no auth). A receiver's `keyBaseUrl` is the
//! emulator's AEM origin.

use std::sync::Arc;

use hyper::Method;

use crate::context::Context;
use crate::events::keys::KEY_PATH_PREFIX;
use crate::http::{self, Outcome, Request};

pub fn matches(path: &str) -> bool {
    path.starts_with(KEY_PATH_PREFIX)
}

pub async fn handle(ctx: &Arc<Context>, req: Request) -> Outcome {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return http::text(405, "Method not allowed").into();
    }
    let keys = Arc::clone(ctx.events.keys());
    let path = req.uri().path().to_string();
    // The first fetch may make the key pairs: off the async threads.
    let pem = tokio::task::spawn_blocking(move || keys.pem_at(&path)).await.ok().flatten();
    match pem {
        Some(pem) => {
            let body = if req.method() == Method::HEAD { String::new() } else { pem };
            http::response(200, Some("application/x-pem-file"), body).into()
        }
        None => http::text(404, "No such key").into(),
    }
}
