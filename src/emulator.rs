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

    /// Mints service credentials registered with the emulator's IMS; options
    /// and result as JSON text (the result holds a private key and a secret).
    #[napi]
    pub fn create_service_credentials(&self, options_json: Option<String>) -> Result<String> {
        let options = parse_json(options_json)?;
        let document = self.inner.create_service_credentials(&options).map_err(invalid)?;
        Ok(document.to_string())
    }

    /// Mints an OAuth server-to-server client; options and result as JSON text.
    #[napi]
    pub fn create_oauth_client(&self, options_json: Option<String>) -> Result<String> {
        let options = parse_json(options_json)?;
        let document = self.inner.create_oauth_client(&options).map_err(invalid)?;
        Ok(document.to_string())
    }

    /// Registers a credentials document (JSON text); returns its client id.
    #[napi]
    pub fn register_credentials(&self, document_json: String) -> Result<String> {
        let document: serde_json::Value = serde_json::from_str(&document_json).map_err(invalid)?;
        self.inner.register_credentials(&document).map_err(invalid)
    }

    /// Revokes the IMS tokens of one client, or of all; returns how many were live.
    #[napi]
    pub fn revoke_tokens(&self, client_id: Option<String>) -> u32 {
        self.inner.revoke_tokens(client_id.as_deref()) as u32
    }

    /// Resolves once no asset event is pending (every uploaded asset
    /// processed, every event delivered, given up or dropped).
    #[napi]
    pub async fn events_idle(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        inner.events_idle().await;
        Ok(())
    }

    #[napi]
    pub async fn stop(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        inner.stop().await;
        Ok(())
    }
}

/// Options as JSON text; absent means all defaults.
fn parse_json(text: Option<String>) -> Result<serde_json::Value> {
    match text {
        Some(text) => serde_json::from_str(&text).map_err(invalid),
        None => Ok(serde_json::Value::Null),
    }
}

/// Starts an emulator from a JSON configuration (as text).
#[napi]
pub async fn start_emulator(config_json: String) -> Result<NativeEmulator> {
    let config: serde_json::Value = serde_json::from_str(&config_json).map_err(invalid)?;
    let emulator = aem_emulator::Emulator::start_json(config).await.map_err(invalid)?;
    Ok(NativeEmulator { inner: Arc::new(emulator) })
}
