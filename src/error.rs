//! Engine errors as data; the JS facade makes them `UploadError`s.

use aem_upload_engine::Error as EngineError;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::{Deserialize, Serialize};

/// An engine error as data. It also crosses inside the JSON of files
/// (`rejected`, without `detail`), events, walks and targets.
#[napi(object)]
#[derive(Serialize, Deserialize)]
pub struct NativeError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub detail: String,
}

impl From<&EngineError> for NativeError {
    fn from(e: &EngineError) -> Self {
        NativeError { code: e.code().as_str().to_string(), message: e.message().to_string(), detail: e.detail() }
    }
}

pub(crate) fn invalid(message: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(Status::InvalidArg, message.to_string())
}
