//! Hardening of the `refund` command (issue 9, items 4 and 5), separate from the contract tests in
//! `tests/it`:
//!
//! - `bad_input`: every command family with at least 30 malformed values (amounts, ids, OTPs,
//!   base URLs, unknown flags): exit 2 (3 for a setting), one JSON error of kind `invalid_input`
//!   (`config` for a setting) naming the field, and zero requests at the sandbox.
//! - `canaries`: every command, the demo and the error paths, with every secret set to a canary via
//!   the environment and via flags, `-v`/`-vvv` and `RUST_LOG=trace`: no canary, no Eko
//!   `secret-key` signature for any millisecond of the run, no base64 of an access key, and no OTP
//!   in stdout or stderr.
//!
//! Run with `cargo test -p refund-cli --test hardening -- --nocapture` to see the counts.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a panic is the failure report")]

mod bad_input;
mod canaries;
