//! End-to-end tests of the `refund` binary against an in-process sandbox: every command, every exit
//! code, the JSON shapes, dry runs, and that no secret ever reaches the output.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

mod batch;
mod batch_crash;
mod batch_ledger;
mod commands;
mod common;
mod dry_run;
mod exit_codes;
mod ledger_cmd;
mod secrets;
