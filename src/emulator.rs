//! `startEmulator` and the handle JS holds (wrapped by `emulator.js`).

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, e.to_string())
}

/// A running emulator.
#[napi]
pub struct NativeEmulator {
    inner: Arc<aem_emulator::Emulator>,
}

#[napi]
impl NativeEmulator {
    /// The AEM origin.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url().to_string()
    }

    /// The blob-storage origin presigned URLs point at.
    #[napi(getter)]
    pub fn blob_url(&self) -> String {
        self.inner.blob_url().to_string()
    }

    /// The state as JSON text.
    #[napi]
    pub fn state_json(&self) -> String {
        self.inner.state().to_string()
    }

    /// The request log as JSON text.
    #[napi]
    pub fn requests_json(&self) -> String {
        self.inner.requests().to_string()
    }

    #[napi]
    pub fn reset(&self) {
        self.inner.reset()
    }

    /// The configuration as JSON text.
    #[napi]
    pub fn config_json(&self) -> String {
        serde_json::to_string(&*self.inner.config()).unwrap_or_default()
    }

    /// Applies a JSON merge patch (as text); returns the new configuration as JSON text.
    #[napi]
    pub fn configure(&self, patch_json: String) -> Result<String> {
        let patch: serde_json::Value = serde_json::from_str(&patch_json).map_err(invalid)?;
        let config = self.inner.configure(&patch).map_err(invalid)?;
        Ok(serde_json::to_string(&*config).unwrap_or_default())
    }

    #[napi]
    pub async fn stop(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        inner.stop().await;
        Ok(())
    }
}

/// Starts an emulator from a JSON configuration (as text).
#[napi]
pub async fn start_emulator(config_json: String) -> Result<NativeEmulator> {
    let config: serde_json::Value = serde_json::from_str(&config_json).map_err(invalid)?;
    let emulator = aem_emulator::Emulator::start_json(config).await.map_err(invalid)?;
    Ok(NativeEmulator { inner: Arc::new(emulator) })
}
