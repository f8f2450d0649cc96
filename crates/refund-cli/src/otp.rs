//! `refund otp send-otp|refund` (Eko).

use refund::ledger::OtpRefundIntent;
use refund::otp::{
    EKO_UAT_BASE_URL, ENV_ACCESS_KEY, ENV_BASE_URL, ENV_DEVELOPER_KEY, ENV_INITIATOR_ID,
    ENV_USER_CODE, OtpRefundClient,
};
use refund::{Otp, OtpRefundTarget, TransactionId};

use crate::cli::{Global, OtpArgs, OtpCommand, OtpSettings};
use crate::error::{CliError, FollowUp};
use crate::ledger;
use crate::output::Success;
use crate::settings::{build_error, required, with_default};

/// The client's settings that a builder may refuse, as env var and flag.
const SETTINGS: &[(&str, &str)] = &[
    (ENV_BASE_URL, "--base-url"),
    (ENV_DEVELOPER_KEY, "--developer-key"),
    (ENV_ACCESS_KEY, "--access-key"),
    (ENV_INITIATOR_ID, "--initiator-id"),
    (ENV_USER_CODE, "--user-code"),
];
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
        .map_err(|e| build_error(PROVIDER, SETTINGS, e))
}

pub(crate) async fn run(args: OtpArgs, global: &Global) -> Result<Success, CliError> {
    match args.command {
        OtpCommand::SendOtp { tid, key } => {
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(&client.prepare_send_otp(&tid).map_err(sdk)?));
            }
            if let Some(key) = key.idempotency_key {
                let target = OtpRefundTarget::new(TransactionId::new(&tid).map_err(sdk)?);
                let ledger = ledger::open(global).await?;
                let record = ledger.send_otp(&client, &OtpRefundIntent::new(&key, target)).await?;
                return Ok(ledger::success("send-otp", &record)
                    .field("otp_ref_id", record.otp_ref_id.clone())
                    .note(&format!(
                        "  then: refund otp refund --tid {tid} --otp <OTP> --idempotency-key {key}"
                    )));
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
        OtpCommand::Refund { tid, otp, otp_ref_id, key } => {
            let otp = Otp::new(otp).map_err(sdk)?;
            let client = client(&args.settings, global)?;
            if let Some(key) = key.idempotency_key {
                let ledger = ledger::open(global).await?;
                let recorded = ledger.by_key(&key).await?;
                let record = recorded.ok_or_else(|| {
                    CliError::invalid(
                        "idempotency_key",
                        format!("{key:?} is not in the ledger: send the OTP first (refund otp send-otp --tid {tid} --idempotency-key {key})"),
                    )
                })?;
                if record.original_transaction_id != tid {
                    return Err(CliError::invalid(
                        "tid",
                        format!(
                            "{key:?} is the refund of tid {}, not {tid}",
                            record.original_transaction_id
                        ),
                    ));
                }
                if global.dry_run {
                    let otp_ref_id = otp_ref_id.or(record.otp_ref_id).unwrap_or_default();
                    return Ok(Success::dry_run(
                        &client.prepare_refund(&tid, &otp_ref_id, &otp).map_err(sdk)?,
                    ));
                }
                let record = ledger.confirm_otp(&client, &key, &otp).await?;
                return Ok(ledger::success("refund", &record));
            }
            let otp_ref_id = otp_ref_id.unwrap_or_default();
            if global.dry_run {
                return Ok(Success::dry_run(
                    &client.prepare_refund(&tid, &otp_ref_id, &otp).map_err(sdk)?,
                ));
            }
            let refund = client.refund(&tid, &otp_ref_id, &otp).await.map_err(|e| {
                sdk(e).with_follow_up(FollowUp {
                    reference: tid.clone(),
                    status_command: format!("refund otp status --tid {tid}"),
                    retry_flag: None,
                })
            })?;
            Ok(Success::from_record("refund", &refund.to_record()))
        }
        OtpCommand::Status { tid } => {
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(&client.prepare_transaction(&tid).map_err(sdk)?));
            }
            let transaction = client.transaction(&tid).await.map_err(sdk)?;
            Ok(Success::from_record("status", &transaction.to_record())
                .field("tx_status", Some(transaction.tx_status.code().to_string())))
        }
    }
}
