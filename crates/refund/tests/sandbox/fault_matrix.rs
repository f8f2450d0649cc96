//! Fault matrix.
