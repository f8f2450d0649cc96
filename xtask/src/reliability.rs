//! `cargo xtask reliability`: regenerate the fault matrix in `docs/reliability.md`.
//!
//! The matrix is produced by the sandbox test itself (`crates/refund/tests/sandbox/fault_matrix.rs`),
//! which checks every cell against the documented promises and, with `REFUND_BLESS=1`, rewrites the
//! table between `<!-- fault-matrix:start -->` and `<!-- fault-matrix:end -->`. Without it the same
//! test fails when the docs and the behaviour disagree, so the table cannot drift.

use crate::{Result, run_cargo};

/// Runs the fault-matrix test with `REFUND_BLESS=1`.
pub(crate) fn reliability() -> Result {
    run_cargo(
        &["test", "-p", "refund", "--test", "sandbox", "fault_matrix"],
        &[("REFUND_BLESS", "1")],
    )?;
    eprintln!(
        "docs/reliability.md: fault matrix regenerated (review with `git diff docs/reliability.md`)"
    );
    Ok(())
}
