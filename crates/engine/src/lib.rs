//! The aem-upload-rs transfer core.
//!
//! Plain Rust, no Node types: the AEM direct binary upload protocol, part
//! planning, streaming, retries, the directory walk and naming rules, folder
//! creation and events, and AEM asset events (parsing, signatures, dedupe).
//! The napi binding crate and the JS facade only adapt it.
//!
//! The main entry points: [`upload::Upload`] runs one call's transfer,
//! [`folders::create_folder`] creates a folder, [`walk::walk`] and
//! [`naming`] turn local trees into target paths.

pub mod asset_events;
pub mod buffers;
pub mod credentials;
mod error;
pub mod events;
pub mod folders;
pub mod http;
pub mod journal;
pub mod naming;
pub mod plan;
mod protocol;
pub mod redact;
pub mod source;
mod stream;
pub mod upload;
pub mod walk;

pub use error::{Error, ErrorCode, Result};
