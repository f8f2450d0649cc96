//! `refund batch FILE.csv`.

use crate::cli::{BatchArgs, Global};
use crate::error::CliError;

pub(crate) async fn run(_args: BatchArgs, _global: &Global) -> Result<u8, CliError> {
    Err(CliError::Internal("not wired yet".into()))
}
