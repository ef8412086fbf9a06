//! One error type for the engine, with a stable public code per failure.

use std::fmt;

/// The stable codes callers see (`UploadError.code` in JS).
///
/// The first ten are the exported `DirectBinaryUploadErrorCodes` of
/// `@adobe/aem-upload`; the rest are produced but not exported, as in the
/// reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    Unknown,
    NotFound,
    NotSupported,
    InvalidOptions,
    NotAuthorized,
    UnexpectedApiState,
    AlreadyExists,
    Forbidden,
    UserCancelled,
    TooLarge,
    TooManyRequests,
    TimedOut,
    /// An OS or Node code kept as is (`ENOENT`, `EACCES`, `EISDIR`, `ECONNRESET`, …).
    System(&'static str),
}

impl ErrorCode {
    /// The code as JS sees it, e.g. `EALREADYEXISTS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unknown => "EUNKNOWN",
            ErrorCode::NotFound => "ENOTFOUND",
            ErrorCode::NotSupported => "ENOTSUPPORTED",
            ErrorCode::InvalidOptions => "EINVALIDOPTIONS",
            ErrorCode::NotAuthorized => "ENOTAUTHORIZED",
            ErrorCode::UnexpectedApiState => "EUNEXPECTEDAPISTATE",
            ErrorCode::AlreadyExists => "EALREADYEXISTS",
            ErrorCode::Forbidden => "EFORBIDDEN",
            ErrorCode::UserCancelled => "EUSERCANCELLED",
            ErrorCode::TooLarge => "ETOOLARGE",
            ErrorCode::TooManyRequests => "ETOOMANYREQUESTS",
            ErrorCode::TimedOut => "ETIMEDOUT",
            ErrorCode::System(code) => code,
        }
    }

    /// The code named `name` (as [`ErrorCode::as_str`] gives it); unknown names give `Unknown`.
    pub fn from_name(name: &str) -> ErrorCode {
        const ALL: [ErrorCode; 12] = [
            ErrorCode::Unknown,
            ErrorCode::NotFound,
            ErrorCode::NotSupported,
            ErrorCode::InvalidOptions,
            ErrorCode::NotAuthorized,
            ErrorCode::UnexpectedApiState,
            ErrorCode::AlreadyExists,
            ErrorCode::Forbidden,
            ErrorCode::UserCancelled,
            ErrorCode::TooLarge,
            ErrorCode::TooManyRequests,
            ErrorCode::TimedOut,
        ];
        // Codes a JS source (a stream, a Blob) may fail with, kept as Node names them.
        const SYSTEM: [&str; 22] = [
            "ENOENT",
            "EACCES",
            "EISDIR",
            "ENOTDIR",
            "EIO",
            "EMFILE",
            "ENFILE",
            "ENOSPC",
            "EBUSY",
            "EAGAIN",
            "ELOOP",
            "ENAMETOOLONG",
            "ECONNRESET",
            "ECONNREFUSED",
            "ECONNABORTED",
            "EHOSTUNREACH",
            "ENETUNREACH",
            "EPIPE",
            "EPERM",
            "ERR_INVALID_URL",
            "ERR_STREAM_PREMATURE_CLOSE",
            "ABORT_ERR",
        ];
        if let Some(code) = ALL.iter().find(|c| c.as_str() == name) {
            return *code;
        }
        SYSTEM.iter().find(|c| **c == name).map_or(ErrorCode::Unknown, |c| ErrorCode::System(c))
    }

    /// The Node-style code of an I/O error.
    pub fn from_io(error: &std::io::Error) -> ErrorCode {
        use std::io::ErrorKind::*;
        ErrorCode::System(match error.kind() {
            NotFound => "ENOENT",
            PermissionDenied => "EACCES",
            IsADirectory => "EISDIR",
            ConnectionReset => "ECONNRESET",
            ConnectionRefused => "ECONNREFUSED",
            ConnectionAborted => "ECONNABORTED",
            BrokenPipe => "EPIPE",
            TimedOut => return ErrorCode::TimedOut,
            _ => return ErrorCode::Unknown,
        })
    }

    /// The code for a failed HTTP status (docs/compat.md §9.3).
    pub fn from_http_status(status: u16) -> ErrorCode {
        match status {
            400 => ErrorCode::InvalidOptions,
            401 => ErrorCode::NotAuthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::AlreadyExists,
            413 => ErrorCode::TooLarge,
            429 => ErrorCode::TooManyRequests,
            501 => ErrorCode::NotSupported,
            _ => ErrorCode::Unknown,
        }
    }

    /// The inverse of [`ErrorCode::from_http_status`]; codes without a status give 500.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidOptions => 400,
            ErrorCode::NotAuthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::AlreadyExists => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::NotSupported => 501,
            _ => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An engine failure: a stable code, a message that names the file and the
/// step (never a credential or URL signature), and the cause when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    code: ErrorCode,
    message: String,
    /// Redacted diagnostics kept when the error is cloned.
    detail: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Clone for Error {
    /// A copy with the same code, message and diagnostics (the cause is kept as text).
    fn clone(&self) -> Self {
        Error { code: self.code, message: self.message.clone(), detail: self.detail(), source: None }
    }
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), detail: String::new(), source: None }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// An HTTP failure with the reference's message.
    pub fn http_status(status: u16) -> Self {
        Error::new(ErrorCode::from_http_status(status), format!("Request failed with status code {status}"))
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Diagnostics for `innerStack`: the chain of causes, already redacted.
    pub fn detail(&self) -> String {
        let mut out = self.detail.clone();
        let mut cause = self.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static));
        while let Some(err) = cause {
            if !out.is_empty() {
                out.push_str("\ncaused by: ");
            }
            out.push_str(&crate::redact::redact(&err.to_string()));
            cause = err.source();
        }
        out
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_map_round_trips() {
        for status in [400, 401, 403, 404, 409, 413, 429, 501] {
            assert_eq!(ErrorCode::from_http_status(status).http_status(), status);
        }
        assert_eq!(ErrorCode::from_http_status(502), ErrorCode::Unknown);
        assert_eq!(ErrorCode::Unknown.http_status(), 500);
        assert_eq!(ErrorCode::from_name("EUSERCANCELLED"), ErrorCode::UserCancelled);
        assert_eq!(ErrorCode::from_name("ENOENT").as_str(), "ENOENT");
        assert_eq!(ErrorCode::from_name("whatever"), ErrorCode::Unknown);
        let err = Error::http_status(409);
        assert_eq!(err.code().as_str(), "EALREADYEXISTS");
        assert_eq!(err.to_string(), "Request failed with status code 409");
    }
}
