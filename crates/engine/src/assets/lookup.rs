//! An asset's id from its DAM path. The Author API has no lookup; Adobe's
//! documented way is the Sling JSON of the node, `GET <path>.json`, whose
//! `jcr:uuid` after `urn:aaid:aem:` is the asset id.

use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::error::{AssetsError, AssetsErrorCode, Result};
use super::ids::{dam_path_url, AssetId};
use super::request::{json_object, Call};
use super::AssetsClient;

impl AssetsClient {
    /// The id of the asset at `dam_path` (`/content/dam/…`, decoded).
    pub async fn asset_id_for_path(&self, dam_path: &str) -> Result<AssetId> {
        let url = dam_path_url(&self.api.base, dam_path)?;
        let call = Call::new(Method::GET, url, format!("GET {}.json", dam_path.trim_end_matches('/')))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self.api.expect(&call, &[StatusCode::OK]).await?;
        let node = json_object(&answer.body).ok_or_else(|| {
            AssetsError::new(AssetsErrorCode::Unknown, format!("{}: the answer is not a JSON object", call.what))
        })?;
        match node.get("jcr:uuid") {
            Some(Value::String(uuid)) => AssetId::from_uuid(uuid).map_err(|_| {
                AssetsError::new(AssetsErrorCode::Unknown, format!("{}: jcr:uuid is not a UUID", call.what))
            }),
            _ => Err(AssetsError::new(
                AssetsErrorCode::Unknown,
                format!("{}: the node has no jcr:uuid (is it an asset?)", call.what),
            )),
        }
    }
}
