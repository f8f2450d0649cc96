//! Integration tests of refund-core against a real local HTTP server (httpmock).

// Integration tests fail by panicking; unwrap keeps them short.
#![allow(clippy::unwrap_used)]

mod debug_output;
mod token_cache;
mod transport;
