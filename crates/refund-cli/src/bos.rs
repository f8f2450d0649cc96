//! `refund bos send-otp|claim|status|qr`.

use refund::bos::{BosClient, DEFAULT_BASE_URL, ENV_BASE_URL, ENV_REGISTRATION_ID, ENV_TOKEN};
use refund::ledger::OtpRefundIntent;
use refund::{Money, Otp, OtpRefundTarget, TransactionId};

use crate::cli::{BosArgs, BosCommand, BosSettings, Global};
use crate::error::CliError;
use crate::ledger;
use crate::output::Success;
use crate::qr;
use crate::settings::{build_error, optional, required, with_default};

/// The client's settings that a builder may refuse, as env var and flag.
const SETTINGS: &[(&str, &str)] = &[
    (ENV_BASE_URL, "--base-url"),
    (ENV_TOKEN, "--token"),
    (ENV_REGISTRATION_ID, "--registration-id"),
];
const PROVIDER: &str = "bos";

fn sdk(error: refund::Error) -> CliError {
    CliError::sdk(PROVIDER, error)
}

/// The client from flags and environment; the base URL defaults to BOS production and the token
/// is optional.
pub(crate) fn client(
    settings: &BosSettings,
    registration_id: Option<String>,
    global: &Global,
) -> Result<BosClient, CliError> {
    let base_url =
        with_default(PROVIDER, &settings.base_url, DEFAULT_BASE_URL, ENV_BASE_URL, "--base-url")?;
    let mut builder = BosClient::builder().base_url(base_url).timeout(global.timeout);
    if let Some(token) = optional(&settings.token) {
        builder = builder.token(token);
    }
    if let Some(id) = registration_id {
        builder = builder.registration_id(id);
    }
    builder.build().map_err(|e| build_error(PROVIDER, SETTINGS, e))
}

pub(crate) async fn run(args: BosArgs, global: &Global) -> Result<Success, CliError> {
    let dry = global.dry_run;
    match args.command {
        BosCommand::SendOtp { reference_id, ackno, key } => {
            let client = client(&args.settings, None, global)?;
            if dry {
                return Ok(Success::dry_run(
                    &client.prepare_send_refund_otp(&reference_id, &ackno).map_err(sdk)?,
                ));
            }
            if let Some(key) = key.idempotency_key {
                let target = OtpRefundTarget::new(TransactionId::new(&reference_id).map_err(sdk)?)
                    .with_acknowledgement(&ackno);
                let ledger = ledger::open(global).await?;
                let record = ledger.send_otp(&client, &OtpRefundIntent::new(&key, target)).await?;
                return Ok(ledger::success("send-otp", &record).note(&format!(
                    "  then: refund bos claim --reference-id {reference_id} --ackno {ackno} --otp <OTP> --idempotency-key {key}"
                )));
            }
            let challenge = client.send_refund_otp(&reference_id, &ackno).await.map_err(sdk)?;
            Ok(Success::new(PROVIDER, "send-otp", "otp_sent")
                .field("original_transaction_id", Some(reference_id.as_str()))
                .field("otp_ref_id", challenge.otp_ref_id.clone())
                .field("message", challenge.message.clone())
                .note(&format!(
                    "  then: refund bos claim --reference-id {reference_id} --ackno {ackno} --otp <OTP>"
                )))
        }
        BosCommand::Claim { reference_id, ackno, otp, key } => {
            let otp = Otp::new(otp).map_err(sdk)?;
            let client = client(&args.settings, None, global)?;
            if dry {
                return Ok(Success::dry_run(
                    &client.prepare_claim_refund(&reference_id, &ackno, &otp).map_err(sdk)?,
                ));
            }
            if let Some(key) = key.idempotency_key {
                let ledger = ledger::open(global).await?;
                let known = ledger.by_key(&key).await?.is_some_and(|r| {
                    r.original_transaction_id == reference_id
                        && r.acknowledgement.as_deref() == Some(&ackno)
                });
                if !known {
                    return Err(CliError::invalid(
                        "idempotency_key",
                        format!(
                            "{key:?} is not the refund of referenceid {reference_id} ackno {ackno} in the ledger: send the OTP first (refund bos send-otp --reference-id {reference_id} --ackno {ackno} --idempotency-key {key})"
                        ),
                    ));
                }
                let record = ledger.confirm_otp(&client, &key, &otp).await?;
                return Ok(ledger::success("claim", &record));
            }
            let record = client.claim_refund(&reference_id, &ackno, &otp).await.map_err(sdk)?;
            Ok(Success::from_record("claim", &record))
        }
        BosCommand::Status { reference_id } => {
            let client = client(&args.settings, None, global)?;
            if dry {
                return Ok(Success::dry_run(&client.prepare_status(&reference_id).map_err(sdk)?));
            }
            let txn = client.status(&reference_id).await.map_err(sdk)?;
            let record = txn.to_refund_record();
            let mut success = Success::from_record("status", &record);
            if record.amount.is_none() {
                success = success
                    .field("amount", txn.amount.map(|m| m.to_fixed_string()))
                    .field("currency", txn.amount.map(|m| m.currency().code()));
            }
            if record.message.is_none() {
                success = success.field("message", txn.message.clone());
            }
            Ok(success.field("txn_status", txn.txn_status.clone()))
        }
        BosCommand::Qr { amount, registration_id, png } => {
            let amount = Money::parse(&amount, refund::Currency::Inr).map_err(|e| sdk(e.into()))?;
            if let Some(path) = &png {
                qr::check_png_path(path)?;
            }
            let registration_id = required(
                PROVIDER,
                &registration_id,
                "the BOS registration id",
                ENV_REGISTRATION_ID,
                "--registration-id",
            )?;
            let client = client(&args.settings, Some(registration_id), global)?;
            if dry {
                return Ok(Success::dry_run(&client.prepare_dynamic_qr(amount).map_err(sdk)?));
            }
            let code = client.dynamic_qr(amount).await.map_err(sdk)?;
            let intent = code.upi_intent.as_str().to_owned();
            let mut success = Success::new(PROVIDER, "qr", "created")
                .field("qr_id", code.id.clone())
                .field("amount", Some(code.amount.to_fixed_string()))
                .field("currency", Some(code.amount.currency().code()))
                .field("message", code.message.clone())
                .field("upi_intent", Some(intent.as_str()))
                .field("expires_at", code.expires_at.clone())
                .raw(code.raw.to_value());
            if let Some(path) = &png {
                qr::write_png(&intent, path)?;
                success = success.field("png", Some(path.display().to_string()));
            }
            Ok(success.note(&qr::to_terminal(&intent)?))
        }
    }
}
