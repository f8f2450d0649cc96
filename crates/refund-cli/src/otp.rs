//! `refund otp ...`.

use crate::cli::{Global, OtpArgs};
use crate::error::CliError;
use crate::output::Success;

pub(crate) async fn run(_args: OtpArgs, _global: &Global) -> Result<Success, CliError> {
    Err(CliError::Internal("not wired yet".into()))
}
