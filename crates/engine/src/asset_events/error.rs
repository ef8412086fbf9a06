//! The one error type of asset events, with stable codes.

use std::fmt;

/// `EINVALIDEVENT`: the body is not an AEM asset event; `ESIGNATURE`: the
/// delivery is not proven to come from Adobe I/O Events for this client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventErrorCode {
    InvalidEvent,
    Signature,
}

impl EventErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            EventErrorCode::InvalidEvent => "EINVALIDEVENT",
            EventErrorCode::Signature => "ESIGNATURE",
        }
    }
}

impl fmt::Display for EventErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused event or delivery: a code, a short machine-readable `reason`
/// and a message for people. Messages name fields, header names and key
/// paths, never a signature value or a body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EventError {
    code: EventErrorCode,
    reason: &'static str,
    message: String,
}

/// The `reason`s of `ESIGNATURE`.
pub mod reason {
    /// No complete pair of signature and key-path headers.
    pub const HEADERS: &str = "headers";
    /// `recipient_client_id` missing or not the expected client id.
    pub const RECIPIENT: &str = "recipient";
    /// A key path that would leave the key host (absolute URL, `..`, odd characters).
    pub const KEY_PATH: &str = "key-path";
    /// The key host answered that it has no such key, or the key is not an RSA public key.
    pub const KEY: &str = "key";
    /// The key could not be fetched right now (network, timeout, 5xx): a retry may succeed.
    pub const KEY_UNAVAILABLE: &str = "key-unavailable";
    /// No signature matches the body.
    pub const MISMATCH: &str = "mismatch";
    /// The reason of every `EINVALIDEVENT`.
    pub const INVALID: &str = "invalid";
}

impl EventError {
    pub fn invalid(message: impl Into<String>) -> Self {
        EventError { code: EventErrorCode::InvalidEvent, reason: reason::INVALID, message: message.into() }
    }

    pub fn signature(reason: &'static str, message: impl Into<String>) -> Self {
        EventError { code: EventErrorCode::Signature, reason, message: message.into() }
    }

    pub fn code(&self) -> EventErrorCode {
        self.code
    }

    pub fn reason(&self) -> &'static str {
        self.reason
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same delivery may succeed later (so a receiver should ask
    /// I/O Events to retry it instead of refusing it for good).
    pub fn is_transient(&self) -> bool {
        self.reason == reason::KEY_UNAVAILABLE
    }

    /// The same error with `context` before its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}
