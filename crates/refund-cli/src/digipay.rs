//! `refund digipay refund`.

use refund::digipay::{
    DigiPayClient, ENV_BASE_URL, ENV_COMPANY_ID, ENV_TOKEN, WalletRefund, WalletRefundRequest,
};
use refund::ledger::RefundIntent;
use refund::{Money, TransactionId};

use crate::cli::{DigipayArgs, DigipayCommand, DigipaySettings, Global};
use crate::error::CliError;
use crate::ledger;
use crate::output::Success;
use crate::settings::{build_error, required};

/// The client's settings that a builder may refuse, as env var and flag.
const SETTINGS: &[(&str, &str)] =
    &[(ENV_BASE_URL, "--base-url"), (ENV_TOKEN, "--token"), (ENV_COMPANY_ID, "--company-id")];
const PROVIDER: &str = "digipay";

fn sdk(error: refund::Error) -> CliError {
    CliError::sdk(PROVIDER, error)
}

/// The client from flags and environment; `defaults` are the txn code and payment mode of
/// refunds that do not carry their own (core and ledger refunds).
pub(crate) fn client(
    settings: &DigipaySettings,
    defaults: Option<(&str, u32)>,
    global: &Global,
) -> Result<DigiPayClient, CliError> {
    let base_url =
        required(PROVIDER, &settings.base_url, "the DigiPay base URL", ENV_BASE_URL, "--base-url")?;
    let token = required(PROVIDER, &settings.token, "the DigiPay token", ENV_TOKEN, "--token")?;
    let company_id = required(
        PROVIDER,
        &settings.company_id,
        "the DigiPay company id",
        ENV_COMPANY_ID,
        "--company-id",
    )?;
    let mut builder = DigiPayClient::builder()
        .base_url(base_url)
        .token(token)
        .company_id(company_id)
        .timeout(global.timeout);
    if let Some((txn_code, payment_mode)) = defaults {
        builder = builder.txn_code(txn_code).payment_mode(payment_mode);
    }
    builder.build().map_err(|e| build_error(PROVIDER, SETTINGS, e))
}

/// The wallet refund request, validated before anything else.
pub(crate) fn refund_request(
    initial_txn_id: &str,
    amount: &str,
    txn_code: &str,
    payment_mode: u32,
    note: Option<&str>,
) -> Result<WalletRefundRequest, CliError> {
    let amount = Money::parse(amount, refund::Currency::Inr).map_err(|e| sdk(e.into()))?;
    let mut builder = WalletRefundRequest::builder(initial_txn_id, amount)
        .txn_code(txn_code)
        .payment_mode(payment_mode);
    if let Some(note) = note {
        builder = builder.note(note);
    }
    builder.build().map_err(sdk)
}

/// A wallet refund as the command's result.
pub(crate) fn success(refund: &WalletRefund) -> Success {
    let mut success = Success::from_record("refund", &refund.record);
    if refund.record.refund_id.is_none() {
        success = success.field("refund_id", refund.txn_id.clone());
    }
    success.field("txn_number", refund.txn_number.clone())
}

pub(crate) async fn run(args: DigipayArgs, global: &Global) -> Result<Success, CliError> {
    match args.command {
        DigipayCommand::Refund { initial_txn_id, amount, txn_code, payment_mode, note, key } => {
            let request =
                refund_request(&initial_txn_id, &amount, &txn_code, payment_mode, note.as_deref())?;
            let client = client(&args.settings, Some((&txn_code, payment_mode)), global)?;
            if let Some(key) = key.idempotency_key {
                let mut intent =
                    RefundIntent::new(key, TransactionId::new(&initial_txn_id).map_err(sdk)?)
                        .amount(request.amount());
                if let Some(note) = note {
                    intent = intent.note(note);
                }
                if global.dry_run {
                    let wallet = client.wallet_request_from(&intent.request()).map_err(sdk)?;
                    return Ok(Success::dry_run(
                        &client.prepare_refund_money(&wallet).map_err(sdk)?,
                    ));
                }
                let ledger = ledger::open(global).await?;
                let record = ledger.refund(&client, &intent).await?;
                return Ok(ledger::success("refund", &record));
            }
            if global.dry_run {
                return Ok(Success::dry_run(&client.prepare_refund_money(&request).map_err(sdk)?));
            }
            let refund = client.refund_money(&request).await.map_err(sdk)?;
            Ok(success(&refund))
        }
    }
}
