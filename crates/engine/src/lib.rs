//! The aem-upload-rs transfer core.
//!
//! Plain Rust, no Node types: the AEM direct binary upload protocol, part
//! planning, streaming, retries, the directory walk and naming rules, folder
//! creation and events. The napi binding crate and the JS facade only adapt it.
//!
//! This crate is being built up issue by issue; today it holds the error model
//! that every layer above maps onto the public `E…` codes.

mod error;

pub use error::{Error, ErrorCode, Result};
