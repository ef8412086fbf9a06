//! The Author API's failures: a stable code per kind, the HTTP status that
//! caused it, and the server's problem details (RFC 7807), all redacted.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::jobs::JobStatus;
use crate::http::Answer;
use crate::redact::redact;
use crate::{Error, ErrorCode};

/// The stable codes of [`AssetsError`] (`AssetsError.code` in JS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AssetsErrorCode {
    /// 400, or input refused before any request.
    InvalidOptions,
    /// 401 (after the one refresh), or credentials that could not be had.
    NotAuthorized,
    /// 403: the client id is not allowed, or the account may not write.
    Forbidden,
    NotFound,
    /// 406.
    NotSupported,
    /// 409.
    AlreadyExists,
    /// 412: the asset changed since the tag was read.
    PreconditionFailed,
    /// 428: a PATCH without `If-Match`.
    PreconditionRequired,
    /// 429 after the retries.
    TooManyRequests,
    /// A job ended in failure.
    JobFailed,
    /// No byte moved for the idle timeout, or a wait ran out.
    TimedOut,
    Cancelled,
    Unknown,
    /// A transport failure as the OS names it (`ECONNRESET`, `ECONNREFUSED`, …).
    System(&'static str),
}

impl AssetsErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetsErrorCode::InvalidOptions => "EINVALIDOPTIONS",
            AssetsErrorCode::NotAuthorized => "ENOTAUTHORIZED",
            AssetsErrorCode::Forbidden => "EFORBIDDEN",
            AssetsErrorCode::NotFound => "ENOTFOUND",
            AssetsErrorCode::NotSupported => "ENOTSUPPORTED",
            AssetsErrorCode::AlreadyExists => "EALREADYEXISTS",
            AssetsErrorCode::PreconditionFailed => "EPRECONDITIONFAILED",
            AssetsErrorCode::PreconditionRequired => "EPRECONDITIONREQUIRED",
            AssetsErrorCode::TooManyRequests => "ETOOMANYREQUESTS",
            AssetsErrorCode::JobFailed => "EJOBFAILED",
            AssetsErrorCode::TimedOut => "ETIMEDOUT",
            AssetsErrorCode::Cancelled => "EUSERCANCELLED",
            AssetsErrorCode::Unknown => "EUNKNOWN",
            AssetsErrorCode::System(code) => code,
        }
    }

    /// The code of a failed HTTP status.
    pub fn from_status(status: u16) -> AssetsErrorCode {
        match status {
            400 => AssetsErrorCode::InvalidOptions,
            401 => AssetsErrorCode::NotAuthorized,
            403 => AssetsErrorCode::Forbidden,
            404 => AssetsErrorCode::NotFound,
            406 => AssetsErrorCode::NotSupported,
            409 => AssetsErrorCode::AlreadyExists,
            412 => AssetsErrorCode::PreconditionFailed,
            428 => AssetsErrorCode::PreconditionRequired,
            429 => AssetsErrorCode::TooManyRequests,
            _ => AssetsErrorCode::Unknown,
        }
    }

    fn from_engine(code: ErrorCode) -> AssetsErrorCode {
        match code {
            ErrorCode::InvalidOptions => AssetsErrorCode::InvalidOptions,
            ErrorCode::NotAuthorized => AssetsErrorCode::NotAuthorized,
            ErrorCode::Forbidden => AssetsErrorCode::Forbidden,
            ErrorCode::NotFound => AssetsErrorCode::NotFound,
            ErrorCode::TooManyRequests => AssetsErrorCode::TooManyRequests,
            ErrorCode::TimedOut => AssetsErrorCode::TimedOut,
            ErrorCode::UserCancelled => AssetsErrorCode::Cancelled,
            ErrorCode::System(code) => AssetsErrorCode::System(code),
            _ => AssetsErrorCode::Unknown,
        }
    }
}

impl fmt::Display for AssetsErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 7807 problem details as the server sent them. Every field is
/// optional: real Author API answers omit `type`, and some send `{}`.
/// Members beyond the five standard ones are kept in `extensions`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// The problem in a JSON body, if the body is a JSON object (whatever
    /// its media type: servers label problem details loosely). Strings are
    /// redacted, in case a server echoes a header back.
    pub fn parse(body: &[u8]) -> Option<Problem> {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else { return None };
        let mut text = |key: &str| match object.remove(key) {
            Some(Value::String(s)) => Some(redact(&s)),
            Some(Value::Null) | None => None,
            Some(other) => Some(redact(&other.to_string())),
        };
        let (type_, title, detail, instance) = (text("type"), text("title"), text("detail"), text("instance"));
        let status = match object.remove("status") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let extensions = object.into_iter().map(|(k, v)| (k, redact_value(v))).collect();
        Some(Problem { type_, title, status, detail, instance, extensions })
    }

    /// What a person should read: the detail, else the title.
    fn summary(&self) -> Option<&str> {
        self.detail.as_deref().or(self.title.as_deref()).filter(|s| !s.trim().is_empty())
    }
}

fn redact_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(redact(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, redact_value(v))).collect()),
        other => other,
    }
}

/// An Author API failure. Its message names the operation and the asset and
/// never carries a credential or a URL query.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", .0.message)]
pub struct AssetsError(Box<Inner>);

#[derive(Clone, Debug)]
struct Inner {
    code: AssetsErrorCode,
    status: Option<u16>,
    message: String,
    problem: Option<Problem>,
    current_etag: Option<String>,
    job: Option<JobStatus>,
    detail: String,
}

impl AssetsError {
    pub fn new(code: AssetsErrorCode, message: impl Into<String>) -> AssetsError {
        AssetsError(Box::new(Inner {
            code,
            status: None,
            message: redact(&message.into()),
            problem: None,
            current_etag: None,
            job: None,
            detail: String::new(),
        }))
    }

    /// Input refused before any request.
    pub(crate) fn invalid(message: impl Into<String>) -> AssetsError {
        AssetsError::new(AssetsErrorCode::InvalidOptions, message)
    }

    /// The failure a final non-2xx answer stands for; `what` names the
    /// operation (`GET metadata of urn:aaid:aem:…`).
    pub(crate) fn from_answer(what: &str, answer: &Answer) -> AssetsError {
        let status = answer.status.as_u16();
        let problem = Problem::parse(&answer.body);
        let reason = answer.status.canonical_reason().unwrap_or("");
        let mut message = format!("{what}: {status} {reason}").trim_end().to_string();
        if let Some(summary) = problem.as_ref().and_then(Problem::summary) {
            message.push_str(": ");
            message.push_str(summary);
        }
        let mut error = AssetsError::new(AssetsErrorCode::from_status(status), message);
        error.0.status = Some(status);
        error.0.problem = problem;
        if status == 412 {
            error.0.current_etag = super::request::etag(&answer.headers);
        }
        error
    }

    /// A failure of the transport (or of the credentials) while doing `what`.
    pub(crate) fn from_engine(what: &str, error: &Error) -> AssetsError {
        let mut out =
            AssetsError::new(AssetsErrorCode::from_engine(error.code()), format!("{what}: {}", error.message()));
        out.0.detail = error.detail();
        out
    }

    pub(crate) fn with_job(mut self, job: JobStatus) -> AssetsError {
        self.0.job = Some(job);
        self
    }

    pub(crate) fn with_message(mut self, message: impl Into<String>) -> AssetsError {
        self.0.message = redact(&message.into());
        self
    }

    pub fn code(&self) -> AssetsErrorCode {
        self.0.code
    }

    /// The HTTP status of the answer that failed the call, if one came.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn problem(&self) -> Option<&Problem> {
        self.0.problem.as_ref()
    }

    /// On a 412: the asset's current tag, when the server sent one.
    pub fn current_etag(&self) -> Option<&str> {
        self.0.current_etag.as_deref()
    }

    /// On `JobFailed` or a wait that timed out: the job's last status.
    pub fn job(&self) -> Option<&JobStatus> {
        self.0.job.as_ref()
    }

    /// Redacted diagnostics (the chain of causes of a transport failure).
    pub fn detail(&self) -> &str {
        &self.0.detail
    }
}

pub type Result<T, E = AssetsError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_read_loosely_and_redacted() {
        let p =
            Problem::parse(br#"{"title":"Bad Request","status":"400","detail":"sent Bearer abc.def","x":1}"#).unwrap();
        assert_eq!(p.title.as_deref(), Some("Bad Request"));
        assert_eq!(p.status, Some(400));
        assert!(!p.detail.as_deref().unwrap().contains("abc.def"));
        assert_eq!(p.extensions["x"], 1);
        assert_eq!(Problem::parse(b"{}"), Some(Problem::default()));
        assert_eq!(Problem::parse(b"<html>"), None);
        assert_eq!(Problem::parse(b"[1]"), None);
    }

    #[test]
    fn statuses_map_to_the_documented_codes() {
        let pairs = [
            (400, "EINVALIDOPTIONS"),
            (401, "ENOTAUTHORIZED"),
            (403, "EFORBIDDEN"),
            (404, "ENOTFOUND"),
            (406, "ENOTSUPPORTED"),
            (409, "EALREADYEXISTS"),
            (412, "EPRECONDITIONFAILED"),
            (428, "EPRECONDITIONREQUIRED"),
            (429, "ETOOMANYREQUESTS"),
            (500, "EUNKNOWN"),
            (418, "EUNKNOWN"),
        ];
        for (status, code) in pairs {
            assert_eq!(AssetsErrorCode::from_status(status).as_str(), code);
        }
    }
}
