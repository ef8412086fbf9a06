//! An asset's metadata: read (with `If-None-Match`), its tag alone (HEAD),
//! a JSON Patch under `If-Match`, and the read-modify-write that sets
//! values without overwriting another writer's change.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, IF_MATCH, IF_NONE_MATCH};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::{AssetsError, AssetsErrorCode, Result};
use super::ids::{join, AssetId};
use super::patch;
use super::request::{etag, json_object, tag_header, Call};
use super::AssetsClient;
use crate::events::LogLevel;

/// An asset's metadata document and the tag it was read with.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub asset_id: String,
    pub asset_metadata: Map<String, Value>,
    pub repository_metadata: Map<String, Value>,
    /// The `ETag` header, or `repositoryMetadata["repo:etag"]` when the
    /// answer had none (AEM documents that value as the document's tag).
    pub etag: Option<String>,
}

/// What a metadata GET gives.
#[derive(Clone, Debug, PartialEq)]
pub enum MetadataRead {
    Document(Metadata),
    /// 304: the caller's `If-None-Match` tag is still current.
    NotModified {
        etag: Option<String>,
    },
}

impl Metadata {
    /// The document in `body`, answered for `asset`.
    fn parse(asset: &AssetId, what: &str, body: &[u8], header_tag: Option<String>) -> Result<Metadata> {
        let mut object = json_object(body).ok_or_else(|| {
            AssetsError::new(AssetsErrorCode::Unknown, format!("{what}: the answer is not a JSON object"))
        })?;
        let mut group = |key: &str| match object.remove(key) {
            Some(Value::Object(map)) => Ok(map),
            None | Some(Value::Null) => Ok(Map::new()),
            Some(_) => Err(AssetsError::new(
                AssetsErrorCode::Unknown,
                format!("{what}: \"{key}\" in the answer is not an object"),
            )),
        };
        let asset_metadata = group("assetMetadata")?;
        let repository_metadata = group("repositoryMetadata")?;
        let asset_id = match object.remove("assetId") {
            Some(Value::String(id)) => id,
            _ => asset.to_string(),
        };
        let etag = header_tag.or_else(|| match repository_metadata.get("repo:etag") {
            Some(Value::String(tag)) if !tag.is_empty() => Some(tag.clone()),
            _ => None,
        });
        Ok(Metadata { asset_id, asset_metadata, repository_metadata, etag })
    }
}

fn metadata_url(base: &Url, asset: &AssetId) -> Url {
    join(base, &format!("/adobe/assets/{}/metadata", asset.segment()))
}

impl AssetsClient {
    /// `GET /adobe/assets/{id}/metadata`; with `if_none_match`, a 304 gives
    /// [`MetadataRead::NotModified`].
    pub async fn get_metadata(&self, asset: &AssetId, if_none_match: Option<&str>) -> Result<MetadataRead> {
        let what = format!("GET metadata of {asset}");
        let mut call = Call::new(Method::GET, metadata_url(&self.api.base, asset), what)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(tag) = if_none_match {
            call = call.header(IF_NONE_MATCH, tag_header("ifNoneMatch", tag)?);
        }
        let answer = self.api.expect(&call, &[StatusCode::OK, StatusCode::NOT_MODIFIED]).await?;
        if answer.status == StatusCode::NOT_MODIFIED {
            return Ok(MetadataRead::NotModified {
                etag: etag(&answer.headers).or_else(|| if_none_match.map(String::from)),
            });
        }
        Metadata::parse(asset, &call.what, &answer.body, etag(&answer.headers)).map(MetadataRead::Document)
    }

    /// The metadata document, unconditionally.
    async fn read_metadata(&self, asset: &AssetId) -> Result<Metadata> {
        match self.get_metadata(asset, None).await? {
            MetadataRead::Document(doc) => Ok(doc),
            MetadataRead::NotModified { .. } => Err(AssetsError::new(
                AssetsErrorCode::Unknown,
                format!("GET metadata of {asset}: 304 to a request without If-None-Match"),
            )),
        }
    }

    /// `HEAD /adobe/assets/{id}/metadata`: the document's current tag.
    pub async fn head_metadata(&self, asset: &AssetId) -> Result<Option<String>> {
        let call = Call::new(Method::HEAD, metadata_url(&self.api.base, asset), format!("HEAD metadata of {asset}"))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self.api.expect(&call, &[StatusCode::OK]).await?;
        Ok(etag(&answer.headers))
    }

    /// `PATCH /adobe/assets/{id}/metadata` with `ops` (paths normalised, see
    /// [`patch::normalise_ops`]) under `If-Match: if_match` (a tag or `*`).
    /// Without `if_match` the request is sent unconditionally and the
    /// service answers 428 (`EPRECONDITIONREQUIRED`). Returns the new
    /// document; a server that answers without one is read back.
    pub async fn patch_metadata(&self, asset: &AssetId, ops: &Value, if_match: Option<&str>) -> Result<Metadata> {
        let ops = patch::normalise_ops(ops)?;
        self.send_patch(asset, &ops, if_match).await
    }

    async fn send_patch(&self, asset: &AssetId, ops: &[Value], if_match: Option<&str>) -> Result<Metadata> {
        let body = Bytes::from(serde_json::to_vec(ops).expect("JSON values serialise"));
        let mut call =
            Call::new(Method::PATCH, metadata_url(&self.api.base, asset), format!("PATCH metadata of {asset}"))
                .header(ACCEPT, HeaderValue::from_static("application/json"))
                .body("application/json-patch+json", body);
        if let Some(tag) = if_match {
            call = call.header(IF_MATCH, tag_header("ifMatch", tag)?);
        }
        let answer = self.api.expect(&call, &[StatusCode::OK, StatusCode::NO_CONTENT]).await?;
        if answer.status == StatusCode::OK && json_object(&answer.body).is_some() {
            return Metadata::parse(asset, &call.what, &answer.body, etag(&answer.headers));
        }
        self.read_metadata(asset).await
    }

    /// Sets `values` (`{name: value}`, `null` removes) by read-modify-write:
    /// GET for the document and its tag, PATCH the differences under
    /// `If-Match` with that tag, and on 412 (another writer came between)
    /// read again and retry, at most `retries` times, after a short random
    /// pause that spreads competing writers apart. Values already in place
    /// cost no PATCH.
    pub async fn update_metadata(
        &self,
        asset: &AssetId,
        values: &Map<String, Value>,
        retries: u32,
    ) -> Result<Metadata> {
        patch::check_values(values)?;
        let mut attempt = 0;
        loop {
            let current = self.read_metadata(asset).await?;
            let ops = patch::ops_for_values(&current.asset_metadata, values);
            if ops.is_empty() {
                return Ok(current);
            }
            let Some(tag) = current.etag.clone() else {
                return Err(AssetsError::new(
                    AssetsErrorCode::Unknown,
                    format!(
                        "GET metadata of {asset}: the answer has no ETag to update with; \
                         use patchMetadata with ifMatch '*' to write unconditionally"
                    ),
                ));
            };
            match self.send_patch(asset, &ops, Some(&tag)).await {
                Err(e) if e.code() == AssetsErrorCode::PreconditionFailed && attempt < retries => {
                    attempt += 1;
                    self.api.log(
                        LogLevel::Debug,
                        &format!(
                            "PATCH metadata of {asset}: changed by another writer, reading again ({attempt}/{retries})"
                        ),
                    );
                    tokio::time::sleep(contention_pause(attempt)).await;
                }
                Err(e) if e.code() == AssetsErrorCode::PreconditionFailed => {
                    let message = format!(
                        "{}; gave up after {} attempts (other writers kept changing it)",
                        e.message(),
                        attempt + 1
                    );
                    return Err(e.with_message(message));
                }
                other => return other,
            }
        }
    }
}

/// A random pause before retry `attempt` of a contended update: up to
/// 20 ms × 2^attempt, at most 1 s.
fn contention_pause(attempt: u32) -> Duration {
    let ceiling = 20u64.saturating_mul(1 << attempt.min(6)).min(1000);
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    Duration::from_millis(random % (ceiling + 1))
}
