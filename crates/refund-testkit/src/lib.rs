//! What the workspace's test suites share, so that each thing is written once.
//!
//! - [`logs`]: every log event of the test process, at TRACE, in one buffer (the secrets tests).
//!
//! A dev-dependency only (`publish = false`); `cargo xtask tidy` refuses it anywhere else.

pub mod logs;
