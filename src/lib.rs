//! napi bindings: translation only. The emulator and the engine live in
//! `crates/`; values cross the boundary as JSON text so that both sides keep
//! their own types.

#![deny(clippy::all)]

mod emulator;
mod upload;

pub use emulator::*;
pub use upload::*;
