//! Deleting assets and following the jobs a delete can start.
//!
//! A delete answers 204 when done, or 202 with `{jobId, state}`, a
//! `Location` to poll and a `Retry-After` when references must be updated
//! first. The status URL answers 200 `{jobId, state}` while the job runs
//! (and when it failed), and 303 with a `Location` to the result once it
//! has finished; the 303 is read, not followed (docs: long-running
//! operations of the Author API). Only `PROCESSING` is documented; the
//! states other Adobe jobs use (`QUEUED`, `COMPLETED`, `FAILED`) are
//! understood too, and an unknown state counts as still running.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::{AssetsError, AssetsErrorCode, Result};
use super::ids::{join, same_origin, AssetId, JobRef};
use super::request::{json_object, location, poll_interval, Call};
use super::AssetsClient;

/// Polls are this far apart when the server does not say (`Retry-After`).
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// Polls are never further apart than this, whatever `Retry-After` says.
pub const MAX_POLL: Duration = Duration::from_secs(30);
/// Polls are never closer than this, so a `Retry-After: 0` cannot spin.
pub const MIN_POLL: Duration = Duration::from_millis(100);

/// Where a job stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    pub job_id: String,
    /// As the server names it (`PROCESSING`, `COMPLETED`, `FAILED`, …).
    pub state: String,
    /// Finished, successfully or not.
    pub done: bool,
    /// Finished in failure.
    pub failed: bool,
    /// On a 303: the result's location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The server's wish for the next poll (`Retry-After`), clamped.
    #[serde(skip)]
    pub poll_after: Duration,
    /// Why it failed, from the status body (`detail`, `message`, `errors`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a delete did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Deleted {
    /// Gone. After a job (a waited-for 202): its id and status location.
    #[serde(rename_all = "camelCase")]
    Deleted {
        #[serde(skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// 202: a job finishes the delete; poll `location`.
    #[serde(rename_all = "camelCase")]
    Accepted {
        job_id: String,
        location: String,
        #[serde(skip)]
        poll_after: Duration,
    },
}

fn is_done_state(state: &str) -> (bool, bool) {
    match state.to_ascii_uppercase().as_str() {
        "COMPLETED" | "COMPLETE" | "SUCCEEDED" | "SUCCESS" | "DONE" | "TERMINATED" | "FINISHED" => (true, false),
        "FAILED" | "FAILURE" | "ERROR" | "CANCELLED" | "CANCELED" | "ABORTED" => (true, true),
        _ => (false, false),
    }
}

fn failure_text(body: &Map<String, Value>) -> Option<String> {
    for key in ["detail", "message", "error", "title"] {
        if let Some(Value::String(s)) = body.get(key) {
            return Some(s.clone());
        }
    }
    match body.get("errors") {
        Some(Value::Array(errors)) if !errors.is_empty() => Some(
            errors
                .iter()
                .map(|e| match e {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => failure_text(o).unwrap_or_else(|| e.to_string()),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    }
}

impl AssetsClient {
    /// `DELETE /adobe/assets/{id}?force=…`: 204 gives [`Deleted::Deleted`],
    /// 202 [`Deleted::Accepted`] with the job to follow.
    pub async fn delete_asset(&self, asset: &AssetId, force: bool) -> Result<Deleted> {
        let mut url = join(&self.api.base, &format!("/adobe/assets/{}", asset.segment()));
        url.set_query(Some(if force { "force=true" } else { "force=false" }));
        let call = Call::new(Method::DELETE, url, format!("DELETE {asset}"))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self.api.send(&call).await?;
        if answer.status == StatusCode::NOT_FOUND && call.retried.load(std::sync::atomic::Ordering::Relaxed) {
            let error = AssetsError::from_answer(&call.what, &answer);
            let message =
                format!("{} (an earlier attempt, whose answer was lost, may have deleted it)", error.message());
            return Err(error.with_message(message));
        }
        if ![StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::ACCEPTED].contains(&answer.status) {
            return Err(AssetsError::from_answer(&call.what, &answer));
        }
        if answer.status != StatusCode::ACCEPTED {
            return Ok(Deleted::Deleted { job_id: None, location: None });
        }
        let body = json_object(&answer.body).unwrap_or_default();
        let body_id = body.get("jobId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
        let (job_id, location) = match (body_id, location(&answer.headers)) {
            (id, Some(loc)) => {
                let url = same_origin(&self.api.base, &loc).map_err(|_| {
                    AssetsError::new(
                        AssetsErrorCode::Unknown,
                        format!("{}: 202 names a job location off the AEM origin; not followed", call.what),
                    )
                })?;
                (id.unwrap_or_else(|| JobRef::Location(loc).job_id()), url.to_string())
            }
            (Some(id), None) => {
                let url = JobRef::parse(&id).and_then(|job| job.status_url(&self.api.base)).map_err(|e| {
                    AssetsError::new(AssetsErrorCode::Unknown, format!("{}: 202 with {}", call.what, e))
                })?;
                (id, url.to_string())
            }
            (None, None) => {
                return Err(AssetsError::new(
                    AssetsErrorCode::Unknown,
                    format!("{}: 202 without a job id or a Location to follow", call.what),
                ))
            }
        };
        Ok(Deleted::Accepted {
            job_id,
            location,
            poll_after: poll_interval(&answer, Duration::ZERO, Duration::ZERO, MAX_POLL),
        })
    }

    /// Deletes and, when a job finishes the delete, waits for it
    /// ([`AssetsClient::wait_for_job`]). A failed job fails the call.
    pub async fn delete_asset_and_wait(
        &self,
        asset: &AssetId,
        force: bool,
        timeout: Option<Duration>,
    ) -> Result<Deleted> {
        match self.delete_asset(asset, force).await? {
            Deleted::Accepted { job_id, location, poll_after } => {
                let job = JobRef::Location(location.clone());
                self.wait_for_job_after(&job, timeout, poll_after).await?;
                Ok(Deleted::Deleted { job_id: Some(job_id), location: Some(location) })
            }
            deleted => Ok(deleted),
        }
    }

    /// One poll of a job: 200 (or 202) with its state, 303 when finished.
    pub async fn job_status(&self, job: &JobRef) -> Result<JobStatus> {
        let url = job.status_url(&self.api.base)?;
        let call = Call::new(Method::GET, url, format!("GET status of job {}", job.job_id()))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        let answer = self.api.expect(&call, &[StatusCode::OK, StatusCode::ACCEPTED, StatusCode::SEE_OTHER]).await?;
        let body = json_object(&answer.body).unwrap_or_default();
        let job_id = body.get("jobId").and_then(Value::as_str).map_or_else(|| job.job_id(), String::from);
        let state = body.get("state").and_then(Value::as_str).map(String::from);
        let poll_after = poll_interval(&answer, DEFAULT_POLL, MIN_POLL, MAX_POLL);
        if answer.status == StatusCode::SEE_OTHER {
            // Finished; the result's location is reported, never fetched.
            let result = location(&answer.headers).and_then(|loc| call.url.join(&loc).ok()).map(|u| u.to_string());
            let state = state.filter(|s| !s.is_empty()).unwrap_or_else(|| "COMPLETED".to_string());
            let failed = is_done_state(&state).1;
            let error = if failed { failure_text(&body) } else { None };
            return Ok(JobStatus { job_id, state, done: true, failed, location: result, poll_after, error });
        }
        let Some(state) = state else {
            return Err(AssetsError::new(
                AssetsErrorCode::Unknown,
                format!("{}: the answer names no state", call.what),
            ));
        };
        let (done, failed) = is_done_state(&state);
        let error = if failed { failure_text(&body) } else { None };
        Ok(JobStatus { job_id, state, done, failed, location: None, poll_after, error })
    }

    /// Polls `job` until it finishes, `Retry-After` apart (default 1 s, at
    /// least 100 ms, at most 30 s). A failed job is an `EJOBFAILED` error
    /// carrying its status; `timeout` gives `ETIMEDOUT` with the last one.
    /// Cancel by dropping the future.
    pub async fn wait_for_job(&self, job: &JobRef, timeout: Option<Duration>) -> Result<JobStatus> {
        self.wait_for_job_after(job, timeout, Duration::ZERO).await
    }

    async fn wait_for_job_after(&self, job: &JobRef, timeout: Option<Duration>, first: Duration) -> Result<JobStatus> {
        let last = Arc::new(Mutex::new(None::<JobStatus>));
        let seen = Arc::clone(&last);
        let poll = async move {
            tokio::time::sleep(first).await;
            loop {
                let status = self.job_status(job).await?;
                if status.done {
                    if status.failed {
                        let why = status.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                        let message = format!("Job {} ended {}{why}", status.job_id, status.state);
                        return Err(AssetsError::new(AssetsErrorCode::JobFailed, message).with_job(status));
                    }
                    return Ok(status);
                }
                let wait = status.poll_after;
                *seen.lock().unwrap() = Some(status);
                tokio::time::sleep(wait).await;
            }
        };
        let Some(limit) = timeout else { return poll.await };
        match tokio::time::timeout(limit, poll).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let last = last.lock().unwrap().take();
                let state = last.as_ref().map_or("not yet polled".to_string(), |s| format!("still {}", s.state));
                let error = AssetsError::new(
                    AssetsErrorCode::TimedOut,
                    format!("Job {} {state} after {} ms", job.job_id(), limit.as_millis()),
                );
                Err(match last {
                    Some(status) => error.with_job(status),
                    None => error,
                })
            }
        }
    }
}
