//! What the Assets Author API keeps and computes beside the DAM: the metadata
//! document of an asset, entity-tag matching, and the jobs that asynchronous
//! deletes start (protocol.md, "Assets Author API"). The HTTP side is
//! `routes::author`.

use std::time::{Duration, Instant, SystemTime};

pub mod json_patch;

use serde_json::{json, Value};

use crate::dam::{name_of, Asset, Dam};

pub const ASSET_ID_PREFIX: &str = "urn:aaid:aem:";

/// A delete that updates references first: the asset goes when it finishes.
pub struct DeleteJob {
    pub asset_id: String,
    pub path: String,
    pub finishes_at: Instant,
    pub done: bool,
}

impl DeleteJob {
    pub fn state(&self) -> &'static str {
        if self.done {
            "COMPLETED"
        } else {
            "PROCESSING"
        }
    }

    /// Whole seconds until it should be done, rounded up (`Retry-After`).
    pub fn retry_after(&self, now: Instant) -> u64 {
        self.finishes_at.saturating_duration_since(now).as_millis().div_ceil(1000) as u64
    }
}

impl Dam {
    /// The DAM path and asset of an asset id.
    pub fn asset_by_id(&self, asset_id: &str) -> Option<(&String, &Asset)> {
        self.assets.iter().find(|(_, a)| a.asset_id == asset_id)
    }

    pub fn path_of_id(&self, asset_id: &str) -> Option<String> {
        self.asset_by_id(asset_id).map(|(path, _)| path.clone())
    }

    /// Starts a delete job; returns its id.
    pub fn start_delete_job(&mut self, asset_id: &str, path: &str, runs_for: Duration) -> String {
        let job_id = crate::ids::random_uuid().to_string();
        let job = DeleteJob {
            asset_id: asset_id.to_string(),
            path: path.to_string(),
            finishes_at: Instant::now() + runs_for,
            done: false,
        };
        self.jobs.insert(job_id.clone(), job);
        job_id
    }

    /// Finishes every job whose time has come: its asset is deleted (unless
    /// another asset took its path meanwhile). Returns the assets that went
    /// (their binaries are the caller's to remove, outside the lock).
    pub fn finish_due_jobs(&mut self, now: Instant) -> Vec<(String, Asset)> {
        let mut removed = Vec::new();
        let due: Vec<(String, String)> = self
            .jobs
            .values_mut()
            .filter(|job| !job.done && job.finishes_at <= now)
            .map(|job| {
                job.done = true;
                (job.path.clone(), job.asset_id.clone())
            })
            .collect();
        for (path, asset_id) in due {
            if self.assets.get(&path).is_some_and(|a| a.asset_id == asset_id) {
                if let Some(asset) = self.assets.remove(&path) {
                    removed.push((path, asset));
                }
            }
        }
        removed
    }

    /// Jobs as `/_emulator/state` shows them.
    pub fn jobs_state(&self) -> Vec<Value> {
        let mut jobs: Vec<Value> = self
            .jobs
            .iter()
            .map(|(id, job)| json!({"jobId": id, "assetId": job.asset_id, "path": job.path, "state": job.state()}))
            .collect();
        jobs.sort_by(|a, b| a["jobId"].as_str().cmp(&b["jobId"].as_str()));
        jobs
    }
}

/// Removes a deleted asset's binary from `dir` storage.
pub fn remove_file_of(asset: &Asset) {
    if let crate::storage::BinaryData::File(path) = &asset.binary.data {
        let _ = std::fs::remove_file(path);
    }
}

/// The metadata document: `{assetId, assetMetadata, repositoryMetadata}`,
/// the last computed from the asset and read-only. `repository_id` is the
/// author host (`repo:repositoryId`).
pub fn document(path: &str, asset: &Asset, repository_id: &str) -> Value {
    let parent = crate::dam::parent_of(path);
    json!({
        "assetId": asset.asset_id,
        "assetMetadata": asset.metadata,
        "repositoryMetadata": {
            "repo:assetId": asset.asset_id,
            "repo:name": name_of(path),
            "repo:path": path,
            "repo:parentPath": parent,
            "repo:size": asset.binary.size,
            "dc:format": asset.mime_type,
            "repo:assetClass": "file",
            "repo:createDate": rfc3339(asset.created),
            "repo:modifyDate": rfc3339(asset.modified),
            "repo:repositoryId": repository_id,
            "repo:etag": asset.etag,
            "aem:assetState": asset.state(Instant::now()),
        },
    })
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, RFC 9110).
pub fn none_match(header: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header.trim() == "*" || header.split(',').any(|t| opaque(t) == opaque(etag))
}

/// Whether an `If-Match` value matches `etag` (strong comparison: a weak tag never does).
pub fn if_match(header: &str, etag: &str) -> bool {
    header.trim() == "*" || header.split(',').any(|t| t.trim() == etag)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as the Author API writes dates.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_251_199_123); // leap year, last of Feb
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59.123Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn tags() {
        assert!(none_match("\"a\"", "\"a\"") && none_match("W/\"a\", \"b\"", "\"a\"") && none_match("*", "\"a\""));
        assert!(!none_match("\"b\"", "\"a\""));
        assert!(if_match("\"x\", \"a\"", "\"a\"") && if_match(" * ", "\"a\""));
        assert!(!if_match("W/\"a\"", "\"a\"") && !if_match("\"b\"", "\"a\""));
    }
}
