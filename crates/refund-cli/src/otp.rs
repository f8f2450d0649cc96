//! `refund otp send-otp|refund` (Eko).

use refund::Otp;
use refund::otp::{
    EKO_UAT_BASE_URL, ENV_ACCESS_KEY, ENV_BASE_URL, ENV_DEVELOPER_KEY, ENV_INITIATOR_ID,
    ENV_USER_CODE, OtpRefundClient,
};

use crate::cli::{Global, OtpArgs, OtpCommand, OtpSettings};
use crate::error::CliError;
use crate::output::Success;
use crate::settings::{build_error, required, with_default};

const PROVIDER: &str = "otp-refund";

fn sdk(error: refund::Error) -> CliError {
    CliError::sdk(PROVIDER, error)
}

/// The client from flags and environment; the base URL defaults to Eko's UAT.
pub(crate) fn client(settings: &OtpSettings, global: &Global) -> Result<OtpRefundClient, CliError> {
    let base_url =
        with_default(PROVIDER, &settings.base_url, EKO_UAT_BASE_URL, ENV_BASE_URL, "--base-url")?;
    let developer_key = required(
        PROVIDER,
        &settings.developer_key,
        "the Eko developer key",
        ENV_DEVELOPER_KEY,
        "--developer-key",
    )?;
    let access_key = required(
        PROVIDER,
        &settings.access_key,
        "the Eko access key",
        ENV_ACCESS_KEY,
        "--access-key",
    )?;
    let initiator_id = required(
        PROVIDER,
        &settings.initiator_id,
        "the Eko initiator id",
        ENV_INITIATOR_ID,
        "--initiator-id",
    )?;
    let user_code =
        required(PROVIDER, &settings.user_code, "the Eko user code", ENV_USER_CODE, "--user-code")?;
    OtpRefundClient::builder()
        .base_url(base_url)
        .developer_key(developer_key)
        .access_key(access_key)
        .initiator_id(initiator_id)
        .user_code(user_code)
        .timeout(global.timeout)
        .build()
        .map_err(|e| build_error(PROVIDER, ENV_BASE_URL, "--base-url", e))
}

pub(crate) async fn run(args: OtpArgs, global: &Global) -> Result<Success, CliError> {
    match args.command {
        OtpCommand::SendOtp { tid } => {
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(&client.prepare_send_otp(&tid).map_err(sdk)?));
            }
            let challenge = client.send_otp(&tid).await.map_err(sdk)?;
            Ok(Success::new(PROVIDER, "send-otp", "otp_sent")
                .field("original_transaction_id", Some(challenge.tid()))
                .field("otp_ref_id", Some(challenge.otp_ref_id()))
                .field("message", challenge.message())
                .note(&format!(
                    "  then: refund otp refund --tid {} --otp <OTP> --otp-ref-id {}",
                    challenge.tid(),
                    challenge.otp_ref_id()
                )))
        }
        OtpCommand::Refund { tid, otp, otp_ref_id } => {
            let otp = Otp::new(otp).map_err(sdk)?;
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(
                    &client.prepare_refund(&tid, &otp_ref_id, &otp).map_err(sdk)?,
                ));
            }
            let refund = client.refund(&tid, &otp_ref_id, &otp).await.map_err(sdk)?;
            Ok(Success::from_record("refund", &refund.to_record()))
        }
    }
}
