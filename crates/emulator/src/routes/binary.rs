//! `GET <asset path>`: the stored binary, as AEM serves an asset's original
//! rendition (memory and dir storage only; digest and size keep no bytes);
//! and `GET <DAM path>.json`, the node as Sling renders it, whose `jcr:uuid`
//! is the asset id without `urn:aaid:aem:` (the documented way from a path
//! to an asset id).

use std::sync::Arc;

use hyper::header::{HeaderValue, CONTENT_TYPE, ETAG};
use hyper::Method;
use serde_json::{json, Value};

use super::require_auth;
use crate::context::Context;
use crate::http::{self, decode_path, Outcome, Request};
use crate::storage::BinaryData;

pub async fn handle(ctx: &Arc<Context>, req: Request) -> Outcome {
    if let Err(refusal) = require_auth(ctx, req.headers()) {
        return refusal.into();
    }
    let Some(path) = decode_path(req.uri().path()) else {
        return http::text(400, "Invalid path encoding").into();
    };
    let found = {
        let dam = ctx.dam.lock().unwrap();
        dam.assets.get(&path).map(|a| (a.binary.data.clone(), a.mime_type.clone(), a.etag.clone()))
    };
    let Some((data, mime, etag)) = found else {
        return match path.strip_suffix(".json").and_then(|node| node_json(ctx, node)) {
            Some(node) => http::json(200, &node).into(),
            None => http::text(404, "Not found").into(),
        };
    };
    let bytes = match data {
        BinaryData::Memory(bytes) => bytes,
        BinaryData::File(file) => match tokio::fs::read(&file).await {
            Ok(bytes) => bytes.into(),
            Err(e) => return http::text(500, e.to_string()).into(),
        },
        BinaryData::None => return http::text(501, "This storage mode keeps no bytes").into(),
    };
    let mut response = http::response(200, None, if req.method() == Method::HEAD { Default::default() } else { bytes });
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    response.into()
}

/// The Sling JSON of an asset or folder node, or `None` when there is none.
fn node_json(ctx: &Context, path: &str) -> Option<Value> {
    let dam = ctx.dam.lock().unwrap();
    if let Some(asset) = dam.assets.get(path) {
        let uuid = asset.asset_id.strip_prefix("urn:aaid:aem:").unwrap_or(&asset.asset_id);
        let state = asset.state(std::time::Instant::now());
        // AEM keeps the processing state on the asset's `jcr:content` as
        // `dam:assetState`; the emulator also names it at the top as the
        // Author API does (`aem:assetState`), so a client polling by path
        // reads it without a deeper selector (docs/assets.md, the emulator).
        return Some(json!({
            "jcr:primaryType": "dam:Asset",
            "jcr:mixinTypes": ["mix:referenceable"],
            "jcr:uuid": uuid,
            "jcr:createdBy": "admin",
            "aem:assetState": state,
            "jcr:content": {"jcr:primaryType": "dam:AssetContent", "dam:assetState": state},
        }));
    }
    if dam.folder_exists(path) {
        let title = dam.folders.get(path).map(|f| f.title.clone());
        return Some(json!({"jcr:primaryType": "sling:Folder", "jcr:title": title, "jcr:createdBy": "admin"}));
    }
    None
}
