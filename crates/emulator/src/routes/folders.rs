//! The Assets HTTP API's folder routes, `/api/assets/{path}` (docs/protocol.md §5).

use std::sync::Arc;
use std::time::Instant;

use hyper::Method;
use serde_json::{json, Value};

use super::{inject_after, inject_before, require_auth, small_body};
use crate::config::FaultRoute;
use crate::context::Context;
use crate::dam::{name_of, parent_of, Folder, DAM_ROOT};
use crate::http::{self, decode_path, encode_path, Outcome, Request};

const PREFIX: &str = "/api/assets";

/// The DAM path of an `/api/assets` request path; reads (`strip_json`) drop a `.json` suffix.
fn dam_path(path: &str, strip_json: bool) -> Option<(String, bool)> {
    let rest = path.strip_prefix(PREFIX)?;
    let (rest, json) = match rest.strip_suffix(".json").filter(|_| strip_json) {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let decoded = decode_path(rest.trim_end_matches('/'))?;
    if !decoded.is_empty() && !decoded.starts_with('/') {
        return None;
    }
    if decoded.split('/').skip(1).any(|s| s.is_empty() || s == "." || s == "..") {
        return None;
    }
    Some((format!("{DAM_ROOT}{decoded}"), json))
}

pub async fn handle(ctx: &Arc<Context>, mut req: Request) -> Outcome {
    let body = match small_body(&mut req).await {
        Ok(body) => body,
        Err(outcome) => return outcome,
    };
    let reading = matches!(*req.method(), Method::GET | Method::HEAD);
    let Some((path, _)) = dam_path(req.uri().path(), reading) else {
        return http::text(400, "Invalid path").into();
    };
    let decision = ctx.decide(FaultRoute::Folder, &format!("{} {path}", req.method()));
    if let Some(outcome) = inject_before(&decision, None).await {
        return outcome;
    }
    if let Err(refusal) = require_auth(ctx, req.headers()) {
        return refusal.into();
    }
    let outcome = match *req.method() {
        Method::POST => create(ctx, &path, &body),
        Method::GET | Method::HEAD => list(ctx, &path, req.uri().query()),
        Method::DELETE => delete(ctx, &path),
        _ => http::text(405, "Method not allowed").into(),
    };
    inject_after(&decision, outcome).await
}

fn create(ctx: &Arc<Context>, path: &str, body: &[u8]) -> Outcome {
    if path == DAM_ROOT {
        return http::json(
            412,
            &json!({"class": ["core/response"], "properties": {"message": "Root folder is not accessible"}}),
        )
        .into();
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return http::text(400, format!("Body is not JSON: {e}")).into(),
    };
    if request.get("class").and_then(Value::as_str) != Some("assetFolder") {
        return http::text(400, "Only {\"class\":\"assetFolder\"} can be created here").into();
    }
    let properties = request.get("properties");
    let title = properties
        .and_then(|p| p.get("jcr:title").or_else(|| p.get("title")))
        .and_then(Value::as_str)
        .unwrap_or_else(|| name_of(path))
        .to_string();
    let config = ctx.config();
    let mut dam = ctx.dam.lock().unwrap();
    if dam.folder_exists(path) || dam.assets.contains_key(path) {
        return http::json(
            409,
            &json!({"class": ["core/response"], "properties": {"message": format!("'{path}' already exists")}}),
        )
        .into();
    }
    if !dam.folder_exists(parent_of(path)) {
        return http::json(config.parent_missing_status, &json!({"class": ["core/response"], "properties": {"message": format!("Parent of '{path}' does not exist")}}))
            .into();
    }
    dam.folders.insert(path.to_string(), Folder { title: title.clone(), created_at: Instant::now() });
    drop(dam);
    ctx.after_change();
    http::json(201, &json!({"class": ["assets/folder"], "properties": {"name": name_of(path), "title": title}})).into()
}

fn api_link(ctx: &Context, path: &str) -> String {
    format!("{}{PREFIX}{}.json", ctx.url, encode_path(path.strip_prefix(DAM_ROOT).unwrap_or(path)))
}

fn list(ctx: &Arc<Context>, path: &str, query: Option<&str>) -> Outcome {
    let dam = ctx.dam.lock().unwrap();
    if let Some(asset) = dam.assets.get(path) {
        return http::json(
            200,
            &json!({
                "class": ["assets/asset"],
                "properties": {"name": name_of(path), "size": asset.binary.size, "metadata": asset.metadata, "assetId": asset.asset_id},
                "links": [{"rel": ["self"], "href": api_link(ctx, path)}],
            }),
        )
        .into();
    }
    if !dam.folder_exists(path) {
        return http::json(404, &json!({"class": ["core/response"], "properties": {"message": "Not found"}})).into();
    }
    let mut offset = 0usize;
    let mut limit = 20usize;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "offset" => offset = v.parse().unwrap_or(0),
            "limit" => limit = v.parse().unwrap_or(20),
            _ => {}
        }
    }
    let prefix = if path == DAM_ROOT { format!("{DAM_ROOT}/") } else { format!("{path}/") };
    let is_child = |p: &str| p.strip_prefix(&prefix).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'));
    let mut children: Vec<Value> = dam
        .folders
        .iter()
        .filter(|(p, _)| is_child(p))
        .map(|(p, f)| json!({"class": ["assets/folder"], "properties": {"name": name_of(p), "title": f.title}, "links": [{"rel": ["self"], "href": api_link(ctx, p)}]}))
        .collect();
    children.extend(dam.assets.iter().filter(|(p, _)| is_child(p)).map(|(p, a)| {
        json!({"class": ["assets/asset"], "properties": {"name": name_of(p), "size": a.binary.size}, "links": [{"rel": ["self"], "href": api_link(ctx, p)}]})
    }));
    let total = children.len();
    let page: Vec<Value> = children.into_iter().skip(offset).take(limit).collect();
    let title = dam.folders.get(path).map(|f| f.title.clone()).unwrap_or_else(|| "Assets".into());
    http::json(
        200,
        &json!({
            "class": ["assets/folder"],
            "properties": {"name": name_of(path), "title": title, "srn:paging": {"total": total, "offset": offset, "limit": limit}},
            "entities": page,
            "links": [{"rel": ["self"], "href": api_link(ctx, path)}],
        }),
    )
    .into()
}

fn delete(ctx: &Arc<Context>, path: &str) -> Outcome {
    if path == DAM_ROOT {
        return http::text(412, "Root folder is not accessible").into();
    }
    let removed = ctx.dam.lock().unwrap().remove_tree(path);
    if let Some(assets) = removed {
        ctx.after_change();
        for (asset_path, asset) in &assets {
            ctx.events.deleted(ctx, asset_path, asset);
        }
        http::json(200, &json!({"class": ["core/response"], "properties": {"message": "Deleted"}})).into()
    } else {
        http::json(404, &json!({"class": ["core/response"], "properties": {"message": "Not found"}})).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_map_to_dam_paths() {
        assert_eq!(dam_path("/api/assets/a/My%20B", true), Some(("/content/dam/a/My B".into(), false)));
        assert_eq!(dam_path("/api/assets/a.json", true), Some(("/content/dam/a".into(), true)));
        assert_eq!(dam_path("/api/assets.json", true), Some(("/content/dam".into(), true)));
        assert_eq!(dam_path("/api/assets/a/../b", true), None);
        assert_eq!(dam_path("/api/assets/a//b", true), None);
        assert_eq!(dam_path("/api/assets/x.json", false), Some(("/content/dam/x.json".into(), false)));
    }
}
