//! napi bindings: translation only. The emulator and the engine live in
//! `crates/`; values cross the boundary as JSON text so that both sides keep
//! their own types.

#![deny(clippy::all)]

mod asset_events;
mod assets;
mod auth;
mod emulator;
mod error;
mod options;
mod plan;
mod session;
mod upload;

pub use asset_events::*;
pub use assets::*;
pub use auth::*;
pub use emulator::*;
pub use error::*;
pub use options::*;
pub use plan::*;
pub use session::*;
pub use upload::*;

/// The runtime every native task runs on: one worker per core, at most four
/// (uploads and the emulator are I/O bound, and on a small machine extra
/// workers only add cross-thread wake-ups). `AEM_UPLOAD_RS_WORKERS` overrides
/// the count, for tuning.
#[napi_derive::module_init]
fn init_runtime() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
    let workers = std::env::var("AEM_UPLOAD_RS_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(cores);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("aem-upload-rs")
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}
