//! ipt-bot: configuration, runtime and platform adapters around `ipt-core`.
//!
//! The binary (`main.rs`) is only the command line; everything it runs lives
//! here so that end-to-end tests can start the same runtime in-process.

// matrix-sdk's sync futures are deeply nested; spawning them needs more
// than the default type recursion limit.
#![recursion_limit = "256"]

pub mod config;
pub mod console;
pub mod matrix;
pub mod runtime;
