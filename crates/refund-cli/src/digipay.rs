//! `refund digipay ...`.

use crate::cli::{DigipayArgs, Global};
use crate::error::CliError;
use crate::output::Success;

pub(crate) async fn run(_args: DigipayArgs, _global: &Global) -> Result<Success, CliError> {
    Err(CliError::Internal("not wired yet".into()))
}
