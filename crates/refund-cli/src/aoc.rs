//! `refund aoc ...`.

use crate::cli::{AocArgs, Global};
use crate::error::CliError;
use crate::output::Success;

pub(crate) async fn run(_args: AocArgs, _global: &Global) -> Result<Success, CliError> {
    Err(CliError::Internal("not wired yet".into()))
}
