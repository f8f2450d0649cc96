//! `refund digipay refund`.

use refund::Money;
use refund::digipay::{
    DigiPayClient, ENV_BASE_URL, ENV_COMPANY_ID, ENV_TOKEN, WalletRefund, WalletRefundRequest,
};

use crate::cli::{DigipayArgs, DigipayCommand, DigipaySettings, Global};
use crate::error::CliError;
use crate::output::Success;
use crate::settings::{build_error, required};

const PROVIDER: &str = "digipay";

fn sdk(error: refund::Error) -> CliError {
    CliError::sdk(PROVIDER, error)
}

/// The client from flags and environment.
pub(crate) fn client(
    settings: &DigipaySettings,
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
    DigiPayClient::builder()
        .base_url(base_url)
        .token(token)
        .company_id(company_id)
        .timeout(global.timeout)
        .build()
        .map_err(|e| build_error(PROVIDER, ENV_BASE_URL, "--base-url", e))
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
        DigipayCommand::Refund { initial_txn_id, amount, txn_code, payment_mode, note } => {
            let request =
                refund_request(&initial_txn_id, &amount, &txn_code, payment_mode, note.as_deref())?;
            let client = client(&args.settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(&client.prepare_refund_money(&request).map_err(sdk)?));
            }
            let refund = client.refund_money(&request).await.map_err(sdk)?;
            Ok(success(&refund))
        }
    }
}
