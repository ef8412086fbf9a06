//! The aem-upload-rs transfer core.
//!
//! Plain Rust, no Node types: the AEM direct binary upload protocol, part
//! planning, streaming, retries, the directory walk and naming rules, folder
//! creation and events, and AEM asset events (parsing, signatures, dedupe).
//! The napi binding crate and the JS facade only adapt it.
//!
//! The main entry points: an [`session::AemSession`] (a pooled
//! [`http::Client`], the user's headers and [`credentials::Credentials`])
//! carries every AEM request of a call; [`upload::Upload`] runs one call's
//! transfer over it and [`folders::create_folders`] creates folders;
//! [`walk::walk`] and [`tree::TreePlan`] turn local trees into folders and
//! [`target::Target`]s without sending anything; [`assets::AssetsClient`]
//! speaks the Assets Author API.

pub mod aem_limit;
pub mod asset_events;
pub mod assets;
pub mod auth;
pub mod blob;
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
pub mod remote;
pub mod session;
pub mod source;
mod stream;
pub mod target;
pub mod tree;
pub mod upload;
pub mod walk;

pub use error::{Error, ErrorCode, Result};
