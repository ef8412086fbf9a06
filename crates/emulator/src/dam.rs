//! The emulated repository: folders, assets with versions, and uploads that
//! have been initiated but not completed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use crate::storage::{Binary, PartStore};

pub const DAM_ROOT: &str = "/content/dam";

pub struct Folder {
    pub title: String,
    pub created_at: Instant,
}

pub struct Asset {
    pub asset_id: String,
    pub binary: Binary,
    pub mime_type: String,
    pub etag: String,
    pub versions: Vec<Version>,
    pub metadata: serde_json::Map<String, Value>,
    pub created: SystemTime,
    pub modified: SystemTime,
    /// Until when AEM's asset processing runs on the latest binary
    /// (`aem:assetState: "processing"`); `None`: processed.
    pub processing_until: Option<Instant>,
}

impl Asset {
    /// `aem:assetState` at `now`: `processing`, then `processed`.
    pub fn state(&self, now: Instant) -> &'static str {
        match self.processing_until {
            Some(until) if now < until => "processing",
            _ => "processed",
        }
    }
}

/// A previous binary kept by `createVersion`.
pub struct Version {
    pub label: Option<String>,
    pub comment: Option<String>,
    pub size: u64,
    pub sha256: Option<String>,
    pub created: SystemTime,
}

/// An upload between initiate and complete.
pub struct PendingUpload {
    pub path: String,
    pub file_size: u64,
    pub mime_type: String,
    pub min_part_size: u64,
    pub max_part_size: u64,
    pub uri_count: u64,
    pub parts: Arc<PartStore>,
    pub affinity: Option<String>,
}

/// A create-asset servlet upload sent in chunks.
pub struct ChunkedCreate {
    pub total: u64,
    pub received: u64,
    pub next_index: u32,
    pub parts: Arc<PartStore>,
}

/// What a complete answered, so an identical repeat gets the same answer.
pub struct CompletedUpload {
    pub fields: Vec<(String, String)>,
    pub answer: Value,
}

#[derive(Default)]
pub struct Dam {
    pub folders: BTreeMap<String, Folder>,
    pub assets: BTreeMap<String, Asset>,
    pub uploads: HashMap<String, PendingUpload>,
    pub completed: HashMap<String, CompletedUpload>,
    pub chunked: HashMap<String, ChunkedCreate>,
    /// Part URLs refused as expired (path and query), to spot reuse.
    pub expired_refused: HashSet<String>,
    /// Author API delete jobs, by job id.
    pub jobs: HashMap<String, crate::author::DeleteJob>,
}

/// How an existing asset is treated at complete.
pub enum Conflict {
    NewVersion { label: Option<String>, comment: Option<String> },
    Replace,
    Overwrite,
}

pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

pub fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub fn new_asset_id() -> String {
    format!("urn:aaid:aem:{}", crate::ids::random_uuid())
}

pub fn new_etag() -> String {
    format!("\"{}\"", crate::ids::random_uuid().simple())
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Dam {
    pub fn folder_exists(&self, path: &str) -> bool {
        path == DAM_ROOT || self.folders.contains_key(path)
    }

    /// Whether `path` was created less than `window_ms` ago.
    pub fn folder_is_fresh(&self, path: &str, window_ms: u64) -> bool {
        window_ms > 0 && self.folders.get(path).is_some_and(|f| f.created_at.elapsed().as_millis() < window_ms as u128)
    }

    /// Stores a finished binary at `path`, honouring a conflict policy for an
    /// existing asset; the asset is processing until `processed_at` (`None`:
    /// processed at once). Returns the asset.
    pub fn store_asset(
        &mut self,
        path: &str,
        binary: Binary,
        mime_type: String,
        conflict: Option<Conflict>,
        processed_at: Option<Instant>,
    ) -> &Asset {
        let now = SystemTime::now();
        match (self.assets.get_mut(path), conflict) {
            (Some(asset), Some(Conflict::NewVersion { label, comment })) => {
                asset.versions.push(Version {
                    label,
                    comment,
                    size: asset.binary.size,
                    sha256: asset.binary.sha256.clone(),
                    created: asset.modified,
                });
                asset.binary = binary;
                asset.mime_type = mime_type;
                asset.etag = new_etag();
                asset.modified = now;
                asset.processing_until = processed_at;
            }
            (Some(asset), Some(Conflict::Overwrite)) | (Some(asset), None) => {
                asset.binary = binary;
                asset.mime_type = mime_type;
                asset.etag = new_etag();
                asset.modified = now;
                asset.processing_until = processed_at;
            }
            (_, _) => {
                self.assets.insert(
                    path.to_string(),
                    Asset {
                        asset_id: new_asset_id(),
                        binary,
                        mime_type,
                        etag: new_etag(),
                        versions: Vec::new(),
                        metadata: serde_json::Map::new(),
                        created: now,
                        modified: now,
                        processing_until: processed_at,
                    },
                );
            }
        }
        &self.assets[path]
    }

    /// Removes an asset, or a folder with everything below it: the assets
    /// removed (by path), or `None` when nothing was there.
    pub fn remove_tree(&mut self, path: &str) -> Option<Vec<(String, Asset)>> {
        if let Some(asset) = self.assets.remove(path) {
            return Some(vec![(path.to_string(), asset)]);
        }
        if !self.folders.contains_key(path) {
            return None;
        }
        let prefix = format!("{path}/");
        self.folders.retain(|p, _| p != path && !p.starts_with(&prefix));
        let below: Vec<String> = self
            .assets
            .range(prefix.clone()..)
            .map(|(p, _)| p.clone())
            .take_while(|p| p.starts_with(&prefix))
            .collect();
        Some(below.into_iter().filter_map(|p| self.assets.remove(&p).map(|a| (p, a))).collect())
    }

    /// The repository as `/_emulator/state` shows it.
    pub fn state(&self) -> Value {
        let now = Instant::now();
        let folders: Vec<Value> =
            self.folders.iter().map(|(path, f)| json!({"path": path, "title": f.title})).collect();
        let assets: Vec<Value> = self
            .assets
            .iter()
            .map(|(path, a)| {
                json!({
                    "path": path,
                    "assetId": a.asset_id,
                    "size": a.binary.size,
                    "sha256": a.binary.sha256,
                    "mimeType": a.mime_type,
                    "etag": a.etag,
                    "versions": a.versions.iter().map(|v| json!({
                        "label": v.label, "comment": v.comment, "size": v.size,
                        "sha256": v.sha256, "created": millis(v.created),
                    })).collect::<Vec<_>>(),
                    "metadata": a.metadata,
                    "assetState": a.state(now),
                    "created": millis(a.created),
                    "modified": millis(a.modified),
                })
            })
            .collect();
        let mut pending: Vec<Value> = self
            .uploads
            .values()
            .map(|u| {
                let sizes = u.parts.sizes();
                json!({
                    "path": u.path,
                    "fileSize": u.file_size,
                    "partsReceived": sizes.len(),
                    "bytesReceived": sizes.values().sum::<u64>(),
                })
            })
            .collect();
        pending.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
        json!({"folders": folders, "assets": assets, "pendingUploads": pending, "jobs": self.jobs_state()})
    }

    /// The repository a `dir` storage root kept in its index
    /// (`<root>/.aem-emulator/index.json`) when an emulator last ran on it:
    /// folders, and assets whose binaries are still in place, with their
    /// ids, tags, versions and metadata. Empty when there is no index.
    pub fn restore(root: &std::path::Path) -> std::io::Result<Dam> {
        let mut dam = Dam::default();
        let index = match std::fs::read(root.join(".aem-emulator").join("index.json")) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(dam),
            Err(e) => return Err(e),
        };
        let index: Value = serde_json::from_slice(&index)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("index.json: {e}")))?;
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let time = |v: &Value, key: &str| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(v.get(key).and_then(Value::as_u64).unwrap_or(0))
        };
        for folder in index["folders"].as_array().into_iter().flatten() {
            if let (Some(path), Some(title)) = (text(folder, "path"), text(folder, "title")) {
                dam.folders.insert(path, Folder { title, created_at: Instant::now() });
            }
        }
        for entry in index["assets"].as_array().into_iter().flatten() {
            let (Some(path), Some(asset_id), Some(etag)) =
                (text(entry, "path"), text(entry, "assetId"), text(entry, "etag"))
            else {
                continue;
            };
            let file = root.join(path.trim_start_matches('/'));
            let Ok(size) = std::fs::metadata(&file).map(|m| m.len()) else { continue };
            let versions = entry["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| Version {
                    label: text(v, "label"),
                    comment: text(v, "comment"),
                    size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
                    sha256: text(v, "sha256"),
                    created: time(v, "created"),
                })
                .collect();
            let asset = Asset {
                asset_id,
                binary: Binary { size, sha256: text(entry, "sha256"), data: crate::storage::BinaryData::File(file) },
                mime_type: text(entry, "mimeType").unwrap_or_else(|| "application/octet-stream".into()),
                etag,
                versions,
                metadata: entry["metadata"].as_object().cloned().unwrap_or_default(),
                created: time(entry, "created"),
                modified: time(entry, "modified"),
                // What was kept across a restart was processed before it.
                processing_until: None,
            };
            dam.assets.insert(path, asset);
        }
        Ok(dam)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::BinaryData;

    fn binary(size: u64) -> Binary {
        Binary { size, sha256: Some(format!("{size}")), data: BinaryData::None }
    }

    #[test]
    fn paths() {
        assert_eq!(parent_of("/content/dam/a/b.jpg"), "/content/dam/a");
        assert_eq!(name_of("/content/dam/a/b.jpg"), "b.jpg");
        assert_eq!(parent_of("/x"), "/");
    }

    #[test]
    fn versions_keep_id_and_replace_renews_it() {
        let mut dam = Dam::default();
        let id = dam.store_asset("/content/dam/a", binary(1), "x".into(), None, None).asset_id.clone();
        let etag = dam.assets["/content/dam/a"].etag.clone();
        let v = dam.store_asset(
            "/content/dam/a",
            binary(2),
            "x".into(),
            Some(Conflict::NewVersion { label: Some("v1".into()), comment: None }),
            None,
        );
        assert_eq!(v.asset_id, id);
        assert_ne!(v.etag, etag);
        assert_eq!(v.versions.len(), 1);
        assert_eq!(v.versions[0].size, 1);
        dam.assets.remove("/content/dam/a");
        let r = dam.store_asset("/content/dam/a", binary(3), "x".into(), Some(Conflict::Replace), None);
        assert_ne!(r.asset_id, id);
    }

    #[test]
    fn delete_is_recursive() {
        let mut dam = Dam::default();
        for p in ["/content/dam/a", "/content/dam/a/b", "/content/dam/ab"] {
            dam.folders.insert(p.into(), Folder { title: p.into(), created_at: Instant::now() });
        }
        dam.store_asset("/content/dam/a/b/c.jpg", binary(1), "x".into(), None, None);
        dam.store_asset("/content/dam/ab/c.jpg", binary(1), "x".into(), None, None);
        let removed = dam.remove_tree("/content/dam/a").unwrap();
        assert_eq!(removed.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), vec!["/content/dam/a/b/c.jpg"]);
        assert_eq!(dam.folders.keys().collect::<Vec<_>>(), vec!["/content/dam/ab"]);
        assert_eq!(dam.assets.len(), 1);
        assert!(dam.remove_tree("/content/dam/a").is_none());
    }
}
