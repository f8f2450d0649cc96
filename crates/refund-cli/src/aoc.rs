//! `refund aoc refund|status`.

use refund::aoc::{AocClient, AocRefundRequest, ENV_API_KEY, ENV_BASE_URL, ENV_USERNAME};
use refund::ledger::RefundIntent;
use refund::{Money, RefundReference, TransactionId};

use crate::cli::{AocArgs, AocCommand, AocSettings, Global};
use crate::error::{CliError, FollowUp};
use crate::ledger;
use crate::output::Success;
use crate::settings::{build_error, required};

/// The client's settings that a builder may refuse, as env var and flag.
const SETTINGS: &[(&str, &str)] =
    &[(ENV_BASE_URL, "--base-url"), (ENV_USERNAME, "--username"), (ENV_API_KEY, "--api-key")];
const PROVIDER: &str = "aoc";

fn sdk(error: refund::Error) -> CliError {
    CliError::sdk(PROVIDER, error)
}

/// The client from flags and environment; a missing setting names both.
pub(crate) fn client(settings: &AocSettings, global: &Global) -> Result<AocClient, CliError> {
    let base_url =
        required(PROVIDER, &settings.base_url, "the AOC base URL", ENV_BASE_URL, "--base-url")?;
    let username =
        required(PROVIDER, &settings.username, "the AOC username", ENV_USERNAME, "--username")?;
    let api_key =
        required(PROVIDER, &settings.api_key, "the AOC API key", ENV_API_KEY, "--api-key")?;
    AocClient::builder()
        .base_url(base_url)
        .username(username)
        .api_key(api_key)
        .timeout(global.timeout)
        .build()
        .map_err(|e| build_error(PROVIDER, SETTINGS, e))
}

/// The refund request, validated before any client exists (bad input exits 2 even without settings).
pub(crate) fn refund_request(
    aoc_trans_id: &str,
    amount: &str,
    sp_trans_id: Option<&str>,
) -> Result<AocRefundRequest, CliError> {
    let id = TransactionId::new(aoc_trans_id).map_err(|e| rename(e, "aoc_trans_id"))?;
    let amount = Money::parse(amount, refund::Currency::Myr).map_err(|e| sdk(e.into()))?;
    let mut request = AocRefundRequest::new(id, amount);
    if let Some(sp) = sp_trans_id {
        request = request
            .with_sp_trans_id(RefundReference::new(sp).map_err(|e| rename(e, "sp_trans_id"))?);
    }
    Ok(request)
}

/// Names the field as the flag's user knows it.
fn rename(error: refund::Error, field: &str) -> CliError {
    match error {
        refund::Error::InvalidInput { reason, .. } => {
            sdk(refund::Error::invalid_input(field, reason))
        }
        other => sdk(other),
    }
}

pub(crate) async fn run(args: AocArgs, global: &Global) -> Result<Success, CliError> {
    match args.command {
        AocCommand::Refund { aoc_trans_id, amount, sp_trans_id, key } => {
            let mut request = refund_request(&aoc_trans_id, &amount, sp_trans_id.as_deref())?;
            let intent = key.idempotency_key.map(|key| {
                let intent =
                    RefundIntent::new(key, request.aoc_trans_id().clone()).amount(request.amount());
                match sp_trans_id {
                    Some(_) => intent.reference(request.sp_trans_id().clone()),
                    None => intent,
                }
            });
            if let Some(intent) = &intent {
                // The dry run shows the spTransID the ledger would send.
                request = request.with_sp_trans_id(intent.effective_reference());
            }
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(&client.prepare_refund(&request).map_err(sdk)?));
            }
            if let Some(intent) = intent {
                let ledger = ledger::open(global).await?;
                let record = ledger.refund(&client, &intent).await?;
                return Ok(ledger::success("refund", &record));
            }
            let sp = request.sp_trans_id().as_str();
            let record = client.refund(&request).await.map_err(|e| {
                sdk(e).with_follow_up(FollowUp {
                    reference: sp.to_owned(),
                    status_command: format!("refund aoc status --sp-trans-id {sp}"),
                    retry_flag: Some("--sp-trans-id"),
                })
            })?;
            let mut success = Success::from_record("refund", &record);
            if record.reference.is_none() {
                success = success.field("reference", Some(request.sp_trans_id().as_str()));
            }
            Ok(success.note(&format!(
                "  read its status with: refund aoc status --sp-trans-id {}",
                request.sp_trans_id().as_str()
            )))
        }
        AocCommand::Status { sp_trans_id } => {
            let reference =
                RefundReference::new(&sp_trans_id).map_err(|e| rename(e, "sp_trans_id"))?;
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(
                    &client.prepare_refund_status(&reference).map_err(sdk)?,
                ));
            }
            let record = client.refund_status(&reference).await.map_err(sdk)?;
            Ok(Success::from_record("status", &record))
        }
    }
}
