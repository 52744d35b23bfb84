//! ipt-bot: configuration, runtime and platform adapters around `ipt-core`.
//!
//! The binary (`main.rs`) is only the command line; everything it runs lives
//! here so that end-to-end tests can start the same runtime in-process.

pub mod config;
pub mod console;
pub mod runtime;
