//! Placeholder
pub use refund_core::*;
