//! `refund bos ...`.

use crate::cli::{BosArgs, Global};
use crate::error::CliError;
use crate::output::Success;

pub(crate) async fn run(_args: BosArgs, _global: &Global) -> Result<Success, CliError> {
    Err(CliError::Internal("not wired yet".into()))
}
