//! The ledger against real databases (a SQLite file, a PostgreSQL server) and the sandbox, which
//! speaks each provider's wire format. Every scenario runs once per backend.

// Tests unwrap: a failed setup step stops the test with its message.
#![allow(clippy::unwrap_used)]

mod common;
mod crash;
mod flows;
mod instances;
mod open;
mod otp;
mod process;
