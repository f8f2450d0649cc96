//! `refund demo`.

use crate::cli::Global;
use crate::error::CliError;

pub(crate) async fn run(_global: &Global) -> Result<u8, CliError> {
    Err(CliError::Internal("not wired yet".into()))
}
