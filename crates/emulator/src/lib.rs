//! A local AEM as a Cloud Service for tests and development.
//!
//! It speaks the direct binary upload protocol exactly (initiate, presigned
//! part PUTs on a separate blob origin, complete), the create-asset servlet
//! fallback, the `/api/assets` folder API and the Assets Author API
//! (metadata with ETags, JSON Patch, deletes with jobs); records every protocol
//! violation a client commits; and injects seeded, reproducible faults.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = aem_emulator::Emulator::start(aem_emulator::Config::default()).await?;
//! println!("AEM at {}, blobs at {}", emulator.url(), emulator.blob_url());
//! let state = emulator.state(); // folders, assets with SHA-256, violations …
//! # let _ = state;
//! emulator.stop().await;
//! # Ok(()) }
//! ```

// Route checks return `Err(Response)`: a refusal built once on a cold path and
// sent as is. Boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod auth;
mod author;
pub mod config;
mod context;
mod dam;
mod events;
pub mod faults;
mod http;
mod ids;
pub mod ims;
pub mod keys;
mod limits;
mod routes;
mod server;
pub mod signing;
pub mod storage;

use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, StorageMode};
pub use context::ViolationKind;

use context::{Context, Journal};
use dam::Dam;
use faults::AttemptCounter;
use signing::Signer;
use storage::Storage;

/// Why the emulator could not start or take a configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error("could not bind {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("storage: {0}")]
    Storage(std::io::Error),
}

/// A running emulator. Dropping it without [`Emulator::stop`] leaves it
/// running until the runtime ends.
pub struct Emulator {
    ctx: Arc<Context>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Emulator {
    /// Binds both origins and starts serving on the current tokio runtime.
    pub async fn start(config: Config) -> Result<Emulator, Error> {
        let bind = |port: u16| {
            let addr = format!("{}:{port}", config.host);
            async move { TcpListener::bind(&addr).await.map_err(|source| Error::Bind { addr, source }) }
        };
        let aem = bind(config.port).await?;
        let blob = bind(config.blob_port).await?;
        let origin = |l: &TcpListener| -> Result<String, Error> {
            let addr = l.local_addr().map_err(|source| Error::Bind { addr: config.host.clone(), source })?;
            Ok(format!("http://{addr}"))
        };
        let (url, blob_url) = (origin(&aem)?, origin(&blob)?);
        let secret = match &config.secret {
            Some(s) => s.clone().into_bytes(),
            None => uuid::Uuid::new_v4().as_bytes().to_vec(),
        };
        let storage = Arc::new(Storage::new(config.storage.clone()).map_err(Error::Storage)?);
        // `dir` storage keeps what it held, metadata included, across restarts.
        let dam = match storage.mode() {
            StorageMode::Dir(root) => Dam::restore(root).map_err(Error::Storage)?,
            _ => Dam::default(),
        };
        let ctx = Arc::new(Context {
            config: RwLock::new(Arc::new(config)),
            dam: Mutex::new(dam),
            journal: Mutex::new(Journal::default()),
            signer: Signer::new(&secret),
            storage,
            attempts: AttemptCounter::default(),
            ims: ims::Ims::default(),
            events: events::Events::default(),
            url,
            blob_url,
            dirty: std::sync::atomic::AtomicBool::new(false),
            limits: limits::Limits::default(),
        });
        let credentials = ctx.config().ims.credentials.clone();
        for document in &credentials {
            ctx.register_credentials(document).map_err(|e| Error::Config(format!("ims.credentials: {e}")))?;
        }
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(server::serve(aem, server::Origin::Aem, Arc::clone(&ctx), rx.clone())),
            tokio::spawn(server::serve(blob, server::Origin::Blob, Arc::clone(&ctx), rx.clone())),
        ];
        tasks.push(events::Events::start(&ctx));
        if matches!(ctx.storage.mode(), StorageMode::Dir(_)) {
            tasks.push(tokio::spawn(flush_index_periodically(Arc::clone(&ctx), rx)));
        }
        Ok(Emulator { ctx, shutdown, tasks: Mutex::new(tasks) })
    }

    /// Parses a JSON configuration and starts.
    pub async fn start_json(config: Value) -> Result<Emulator, Error> {
        Emulator::start(Config::from_json(config).map_err(Error::Config)?).await
    }

    /// The AEM origin, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.ctx.url
    }

    /// The blob-storage origin presigned URLs point at.
    pub fn blob_url(&self) -> &str {
        &self.ctx.blob_url
    }

    /// Folders, assets, pending uploads, counters, violations and injected faults.
    pub fn state(&self) -> Value {
        self.ctx.state()
    }

    /// The bounded request log.
    pub fn requests(&self) -> Value {
        self.ctx.requests()
    }

    pub fn reset(&self) {
        self.ctx.reset()
    }

    pub fn config(&self) -> Arc<Config> {
        self.ctx.config()
    }

    /// Applies a JSON merge patch to the running configuration (faults, strictness, sizes …).
    pub fn configure(&self, patch: &Value) -> Result<Arc<Config>, Error> {
        self.ctx.patch_config(patch).map_err(Error::Config)
    }

    /// Mints service credentials (the AEM Developer Console's JSON: a fresh
    /// RSA key pair, its certificate, client id and secret) registered with
    /// this emulator's IMS, `imsEndpoint` pointing here. `options` may be
    /// `null`; see [`ims::credentials::ServiceOptions`].
    pub fn create_service_credentials(&self, options: &Value) -> Result<Value, Error> {
        self.ctx.create_service_credentials(options).map_err(Error::Config)
    }

    /// Mints a registered OAuth server-to-server client
    /// `{clientId, clientSecret, scopes, imsEndpoint}`.
    pub fn create_oauth_client(&self, options: &Value) -> Result<Value, Error> {
        self.ctx.create_oauth_client(options).map_err(Error::Config)
    }

    /// Registers credentials made earlier (either shape above, or the Adobe
    /// I/O OAuth JSON); returns the client id.
    pub fn register_credentials(&self, document: &Value) -> Result<String, Error> {
        self.ctx.register_credentials(document).map_err(Error::Config)
    }

    /// Revokes the access tokens of one client (or every client): requests
    /// carrying them get 401 from then on. Returns how many live tokens ended.
    pub fn revoke_tokens(&self, client_id: Option<&str>) -> usize {
        self.ctx.ims.revoke(client_id)
    }

    /// Resolves once no asset event is pending: every uploaded asset
    /// processed, every event delivered, given up or dropped, the webhook's
    /// handshake done. `state()["events"]` then says how it went.
    pub async fn events_idle(&self) {
        self.ctx.events.idle().await
    }

    /// Stops accepting, drops open connections and waits for the listeners to close.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        self.ctx.events.stop();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        for task in tasks {
            let _ = task.await;
        }
        let _ = self.ctx.flush_index();
    }
}

/// Keeps the dir-mode sidecar index current without rewriting it per change.
async fn flush_index_periodically(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => { let _ = ctx.flush_index(); }
            _ = shutdown.changed() => return,
        }
    }
}
