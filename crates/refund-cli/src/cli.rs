//! The command tree (clap derive). Every setting is a flag with an environment fallback; the flag
//! wins. Settings are `Option`s here so that a missing one is a configuration error (exit 3) naming
//! both, not a usage error. Environment values are never shown in `--help` (they may be secrets).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  refund demo                                   # every flow against an in-process sandbox
  refund sandbox --port 8080                    # run the sandbox and print its credentials
  refund aoc refund --aoc-trans-id AOC-CHARGE-1001 --amount 1.00
  refund --json otp send-otp --tid 13192443
  refund --dry-run bos claim --reference-id 12345678931 --ackno 133 --otp 123456
  refund batch refunds.csv --concurrency 16         # resumable: rerun to finish
  refund reconcile                              # settle refunds whose outcome was unknown
  refund ledger list --state needs_review

Exit codes: 0 accepted, 1 internal error, 2 invalid input or usage, 3 configuration or
authentication, 4 declined, 5 unavailable (safe to retry), 6 outcome unknown (check status first).";

/// Refunds, OTPs, status reads and QR codes on BOS Center, BoostConnect AOC, DigiPay and Eko.
#[derive(Debug, Parser)]
#[command(name = "refund", version, after_help = EXAMPLES, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags accepted before or after any subcommand.
#[derive(Debug, Args, Clone)]
pub(crate) struct Global {
    /// Print exactly one JSON object on stdout (success or error) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Build and sign the request, print it with every secret shown as ***, send nothing.
    #[arg(long, global = true)]
    pub(crate) dry_run: bool,
    /// Whole-request timeout in seconds (decimals allowed, e.g. 0.5).
    #[arg(long, global = true, value_name = "SECS", default_value = "30", value_parser = parse_timeout)]
    pub(crate) timeout: Duration,
    /// Log to stderr (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// The refund ledger: a SQLite file path (or sqlite://PATH) or postgres://USER@HOST/DB
    /// [default: ledger.sqlite in the platform's data directory]. Used by batch, reconcile and
    /// ledger, and by single refunds given --idempotency-key.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "REFUND_LEDGER_URL",
        hide_env_values = true
    )]
    pub(crate) ledger: Option<String>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 =
        text.trim().parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("the timeout must be greater than zero".into());
    }
    if secs > MAX_TIMEOUT_SECS {
        return Err(format!("the timeout must be at most {MAX_TIMEOUT_SECS} seconds (one day)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The largest `--timeout`: a refund call that waits longer is stuck, and a larger value (1e19)
/// would overflow the clock when the deadline is computed.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// BoostConnect AOC: partial refunds of a charge and their status.
    #[command(
        after_help = "Examples:\n  refund aoc refund --aoc-trans-id AOC-CHARGE-1001 --amount 1.00\n  refund aoc status --sp-trans-id REF-1"
    )]
    Aoc(AocArgs),
    /// Eko: refund a failed transfer with the customer's OTP (send-otp, then refund).
    #[command(
        after_help = "Examples:\n  refund otp send-otp --tid 13192443\n  refund otp refund --tid 13192443 --otp 123456 --otp-ref-id REF\n  refund otp status --tid 13192443"
    )]
    Otp(OtpArgs),
    /// BOS Center: refund a failed transfer with an OTP, read its status, create a UPI QR code.
    #[command(
        after_help = "Examples:\n  refund bos send-otp --reference-id 12345678931 --ackno 133\n  refund bos claim --reference-id 12345678931 --ackno 133 --otp 123456\n  refund bos status --reference-id 12345678931\n  refund bos qr --amount 10 --png qr.png"
    )]
    Bos(BosArgs),
    /// DigiPay: wallet refunds.
    #[command(
        after_help = "Example:\n  refund digipay refund --initial-txn-id DP-TXN-2001 --amount 100 --txn-code REFUND --payment-mode 1"
    )]
    Digipay(DigipayArgs),
    /// Refund every row of a CSV file through the ledger: resumable, concurrent, exactly once.
    #[command(after_help = BATCH_HELP)]
    Batch(BatchArgs),
    /// Settle every open refund in the ledger (sending, unknown, pending) by status reads.
    #[command(after_help = RECONCILE_HELP)]
    Reconcile(ReconcileArgs),
    /// Read the refund ledger: list, show, export; record a person's decision (resolve).
    #[command(subcommand, after_help = LEDGER_HELP)]
    Ledger(LedgerCommand),
    /// Run the simulator of all four providers on this machine until Ctrl-C.
    #[command(
        after_help = "Example:\n  refund sandbox --port 8080\n\nPrints each provider's base URL, the seeded credentials and transactions; OTPs are logged\non stderr as they are issued."
    )]
    Sandbox(SandboxArgs),
    /// Start the sandbox in-process and walk every flow of every provider with the real clients.
    #[command(
        after_help = "Example:\n  refund demo\n\nExits 0 when every step behaved as expected, 1 otherwise."
    )]
    Demo,
}

// ---------------------------------------------------------------- aoc

/// AOC settings and command.
#[derive(Debug, Args)]
pub(crate) struct AocArgs {
    #[command(flatten)]
    pub(crate) settings: AocSettings,
    #[command(subcommand)]
    pub(crate) command: AocCommand,
}

/// AOC connection settings.
#[derive(Debug, Args, Clone)]
pub(crate) struct AocSettings {
    /// AOC API base URL.
    #[arg(long, env = "AOC_BASE_URL", global = true, hide_env_values = true)]
    pub(crate) base_url: Option<String>,
    /// AOC username.
    #[arg(long, env = "AOC_USERNAME", global = true, hide_env_values = true)]
    pub(crate) username: Option<String>,
    /// AOC API key (secret).
    #[arg(long, env = "AOC_API_KEY", global = true, hide_env_values = true)]
    pub(crate) api_key: Option<Secret>,
}

/// AOC commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AocCommand {
    /// Refund all or part of a charge.
    #[command(
        after_help = "Examples:\n  refund aoc refund --aoc-trans-id AOC-CHARGE-1001 --amount 1.00 --sp-trans-id MY-REF-1\n  refund aoc refund --aoc-trans-id AOC-CHARGE-1001 --amount 1.00 --idempotency-key order-7/refund-1\n\nWithout --sp-trans-id a fresh reference is generated and printed: keep it to read the status.\nWith --idempotency-key the refund goes through the ledger: the same key again sends nothing."
    )]
    Refund {
        /// The charge to refund (AOC's transaction id).
        #[arg(long, value_name = "ID")]
        aoc_trans_id: String,
        /// Amount in MYR, e.g. 1.00.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Your reference for this refund (the status key); generated when absent (derived from
        /// the key with --idempotency-key).
        #[arg(long, value_name = "ID")]
        sp_trans_id: Option<String>,
        #[command(flatten)]
        key: IdempotencyKey,
    },
    /// Read a refund's status by your reference.
    #[command(after_help = "Example:\n  refund aoc status --sp-trans-id MY-REF-1")]
    Status {
        /// The reference given to (or printed by) `refund aoc refund`.
        #[arg(long, value_name = "ID")]
        sp_trans_id: String,
    },
}

// ---------------------------------------------------------------- otp (Eko)

/// Eko settings and command.
#[derive(Debug, Args)]
pub(crate) struct OtpArgs {
    #[command(flatten)]
    pub(crate) settings: OtpSettings,
    #[command(subcommand)]
    pub(crate) command: OtpCommand,
}

/// Eko connection settings.
#[derive(Debug, Args, Clone)]
pub(crate) struct OtpSettings {
    /// Eko API base URL (default: Eko's UAT).
    #[arg(
        long,
        env = "OTP_REFUND_BASE_URL",
        global = true,
        hide_env_values = true,
        help = "Eko API base URL [default: https://staging.eko.in/ekoapi/v3]"
    )]
    pub(crate) base_url: Option<String>,
    /// Eko developer key (secret).
    #[arg(long, env = "OTP_REFUND_DEVELOPER_KEY", global = true, hide_env_values = true)]
    pub(crate) developer_key: Option<Secret>,
    /// Eko access key used to sign requests (secret).
    #[arg(long, env = "OTP_REFUND_ACCESS_KEY", global = true, hide_env_values = true)]
    pub(crate) access_key: Option<Secret>,
    /// Eko initiator id.
    #[arg(long, env = "OTP_REFUND_INITIATOR_ID", global = true, hide_env_values = true)]
    pub(crate) initiator_id: Option<String>,
    /// Eko user code.
    #[arg(long, env = "OTP_REFUND_USER_CODE", global = true, hide_env_values = true)]
    pub(crate) user_code: Option<String>,
}

/// Eko commands.
#[derive(Debug, Subcommand)]
pub(crate) enum OtpCommand {
    /// Send the refund OTP to the customer; prints the otp_ref_id needed by `refund`.
    #[command(
        name = "send-otp",
        after_help = "Examples:\n  refund otp send-otp --tid 13192443\n  refund otp send-otp --tid 13192443 --idempotency-key tid-13192443   # through the ledger"
    )]
    SendOtp {
        /// The failed transfer's transaction id.
        #[arg(long)]
        tid: String,
        #[command(flatten)]
        key: IdempotencyKey,
    },
    /// Refund the transfer with the OTP the customer received.
    #[command(
        after_help = "Examples:\n  refund otp refund --tid 13192443 --otp 123456 --otp-ref-id REF\n  refund otp refund --tid 13192443 --otp 123456 --idempotency-key tid-13192443   # through the ledger"
    )]
    Refund {
        /// The failed transfer's transaction id.
        #[arg(long)]
        tid: String,
        /// The OTP the customer received.
        #[arg(long)]
        otp: String,
        /// The otp_ref_id printed by `send-otp` (kept by the ledger with --idempotency-key).
        #[arg(long, value_name = "REF", required_unless_present = "idempotency_key")]
        otp_ref_id: Option<String>,
        #[command(flatten)]
        key: IdempotencyKey,
    },
    /// Read a transfer's status (Eko's transaction inquiry): tx_status 4 means refunded.
    #[command(after_help = "Example:\n  refund otp status --tid 13192443")]
    Status {
        /// The transfer's transaction id.
        #[arg(long)]
        tid: String,
    },
}

/// `--idempotency-key KEY`: the refund goes through the ledger under this key.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct IdempotencyKey {
    /// Send through the ledger under this key: the same key again prints the recorded result and
    /// sends nothing.
    #[arg(long, value_name = "KEY")]
    pub(crate) idempotency_key: Option<String>,
}

// ---------------------------------------------------------------- bos

/// BOS settings and command.
#[derive(Debug, Args)]
pub(crate) struct BosArgs {
    #[command(flatten)]
    pub(crate) settings: BosSettings,
    #[command(subcommand)]
    pub(crate) command: BosCommand,
}

/// BOS connection settings.
#[derive(Debug, Args, Clone)]
pub(crate) struct BosSettings {
    /// BOS API base URL (default: BOS production).
    #[arg(
        long,
        env = "BOS_BASE_URL",
        global = true,
        hide_env_values = true,
        help = "BOS API base URL [default: https://api.bos.center]"
    )]
    pub(crate) base_url: Option<String>,
    /// Optional bearer token (secret).
    #[arg(long, env = "BOS_TOKEN", global = true, hide_env_values = true)]
    pub(crate) token: Option<Secret>,
}

/// BOS commands.
#[derive(Debug, Subcommand)]
pub(crate) enum BosCommand {
    /// Ask BOS to send the refund OTP for a failed transfer.
    #[command(
        name = "send-otp",
        after_help = "Example:\n  refund bos send-otp --reference-id 12345678931 --ackno 133"
    )]
    SendOtp {
        /// The transfer's reference id (digits).
        #[arg(long, value_name = "N")]
        reference_id: String,
        /// The transfer's acknowledgement number (digits).
        #[arg(long, value_name = "N")]
        ackno: String,
        #[command(flatten)]
        key: IdempotencyKey,
    },
    /// Claim the refund with the OTP.
    #[command(
        after_help = "Example:\n  refund bos claim --reference-id 12345678931 --ackno 133 --otp 123456"
    )]
    Claim {
        /// The transfer's reference id (digits).
        #[arg(long, value_name = "N")]
        reference_id: String,
        /// The transfer's acknowledgement number (digits).
        #[arg(long, value_name = "N")]
        ackno: String,
        /// The OTP (digits).
        #[arg(long, value_name = "N")]
        otp: String,
        #[command(flatten)]
        key: IdempotencyKey,
    },
    /// Read a transfer's status.
    #[command(after_help = "Example:\n  refund bos status --reference-id 12345678931")]
    Status {
        /// The transfer's reference id (digits).
        #[arg(long, value_name = "N")]
        reference_id: String,
    },
    /// Create a dynamic UPI QR code and draw it in the terminal.
    #[command(
        after_help = "Example:\n  refund bos qr --amount 10 --registration-id BOS-554 --png qr.png"
    )]
    Qr {
        /// Amount in rupees, e.g. 10 or 10.50.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Merchant registration id.
        #[arg(long, value_name = "ID", env = "BOS_REGISTRATION_ID", hide_env_values = true)]
        registration_id: Option<String>,
        /// Also write the QR code as a PNG image to FILE.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
    },
}

// ---------------------------------------------------------------- digipay

/// DigiPay settings and command.
#[derive(Debug, Args)]
pub(crate) struct DigipayArgs {
    #[command(flatten)]
    pub(crate) settings: DigipaySettings,
    #[command(subcommand)]
    pub(crate) command: DigipayCommand,
}

/// DigiPay connection settings.
#[derive(Debug, Args, Clone)]
pub(crate) struct DigipaySettings {
    /// DigiPay API base URL.
    #[arg(long, env = "DIGIPAY_BASE_URL", global = true, hide_env_values = true)]
    pub(crate) base_url: Option<String>,
    /// DigiPay API token (secret).
    #[arg(long, env = "DIGIPAY_TOKEN", global = true, hide_env_values = true)]
    pub(crate) token: Option<Secret>,
    /// DigiPay company id.
    #[arg(long, env = "DIGIPAY_COMPANY_ID", global = true, hide_env_values = true)]
    pub(crate) company_id: Option<String>,
}

/// DigiPay commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DigipayCommand {
    /// Refund a wallet transaction, in full or in part.
    #[command(
        after_help = "Example:\n  refund digipay refund --initial-txn-id DP-TXN-2001 --amount 100 --txn-code REFUND --payment-mode 1 --note 'damaged'"
    )]
    Refund {
        /// The original wallet transaction.
        #[arg(long, value_name = "ID")]
        initial_txn_id: String,
        /// Amount in INR, e.g. 100 or 79.10.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// DigiPay transaction code of the refund.
        #[arg(long, value_name = "CODE")]
        txn_code: String,
        /// DigiPay payment mode.
        #[arg(long, value_name = "N")]
        payment_mode: u32,
        /// A note stored with the refund.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        #[command(flatten)]
        key: IdempotencyKey,
    },
}

// ---------------------------------------------------------------- batch, sandbox

/// `refund batch FILE.csv`.
#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    /// CSV with a header row: provider,original_transaction_id,amount and optionally
    /// reference, idempotency_key, charge_amount.
    #[arg(value_name = "FILE.csv")]
    pub(crate) file: PathBuf,
    /// Rows in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: u16,
    /// At most N requests a second to PROVIDER (repeatable), e.g. --rate aoc=20/s.
    #[arg(long, value_name = "PROVIDER=N/s", value_parser = parse_rate)]
    pub(crate) rate: Vec<(String, std::num::NonZeroU32)>,
    /// Also write one line per row to OUT.csv (row, key, provider, original transaction,
    /// amount, state, refund id, provider code, message).
    #[arg(long, value_name = "OUT.csv")]
    pub(crate) report: Option<PathBuf>,
}

fn parse_rate(text: &str) -> Result<(String, std::num::NonZeroU32), String> {
    let (provider, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not PROVIDER=N/s (e.g. aoc=20/s)"))?;
    let provider = provider.trim().to_ascii_lowercase();
    if !matches!(provider.as_str(), "aoc" | "digipay") {
        return Err(format!("{provider:?} cannot be batched: use aoc or digipay"));
    }
    let number = rate.trim().strip_suffix("/s").unwrap_or(rate.trim());
    let n: u32 = number
        .parse()
        .map_err(|_| format!("{rate:?} is not a number of requests per second (e.g. 20/s)"))?;
    let n = std::num::NonZeroU32::new(n).ok_or("the rate must be at least 1/s")?;
    Ok((provider, n))
}

/// `refund reconcile`.
#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    /// Only this provider's intents (aoc, bos, digipay, otp-refund).
    #[arg(long, value_name = "P", value_parser = ["aoc", "bos", "digipay", "otp-refund"])]
    pub(crate) provider: Option<String>,
}

/// `refund ledger ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// List intents, oldest first.
    #[command(
        after_help = "Examples:\n  refund ledger list --state needs_review\n  refund ledger list --provider aoc --since 2026-12-01"
    )]
    List {
        /// Only this state (reserved, sending, succeeded, pending, declined, not_processed,
        /// unknown, needs_review).
        #[arg(long, value_name = "S")]
        state: Option<String>,
        /// Only this provider (aoc, bos, digipay, otp-refund).
        #[arg(long, value_name = "P")]
        provider: Option<String>,
        /// Only intents written on or after DATE (2026-12-01, or an RFC 3339 time).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// At most N intents.
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// One intent and its events (the audit trail), by ledger id or idempotency key.
    #[command(
        after_help = "Examples:\n  refund ledger show 17\n  refund ledger show order-7/refund-1"
    )]
    Show {
        /// The ledger id, or the idempotency key.
        #[arg(value_name = "ID|KEY")]
        id: String,
    },
    /// Every intent, for accounting: CSV with a header row, or a JSON array.
    #[command(
        after_help = "Examples:\n  refund ledger export --format csv > refunds.csv\n  refund ledger export --format json > refunds.json"
    )]
    Export {
        /// csv or json.
        #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
    /// Record a person's decision about an intent no status read can settle.
    #[command(
        after_help = "Example:\n  refund ledger resolve 17 --as succeeded --note 'DigiPay dashboard: txn 8812 refunded'"
    )]
    Resolve {
        /// The ledger id.
        #[arg(value_name = "ID")]
        id: i64,
        /// succeeded or declined (declined releases the intent's hold on its charge).
        #[arg(long = "as", value_name = "STATE", value_parser = ["succeeded", "declined"])]
        resolution: String,
        /// Why: kept in the audit trail.
        #[arg(long, value_name = "TEXT")]
        note: String,
    },
}

const BATCH_HELP: &str = "\
Every row becomes a ledger intent before it is sent; a rerun of the same file is a resume:
finished rows are reported from the ledger without a request, open ones are settled by status
reads first, the rest are sent. Only direct refunds (aoc, digipay) can be batched; OTP refunds
need the customer. Settings come from the environment (AOC_*, DIGIPAY_* with DIGIPAY_TXN_CODE
and DIGIPAY_PAYMENT_MODE).

Columns (header row required): provider, original_transaction_id, amount; optional: reference
(AOC spTransID, DigiPay note), idempotency_key (else derived from the row's content), and
charge_amount (the original charge; the ledger then refuses over-refunds across rows and runs).

Examples:
  refund batch refunds.csv
  refund --json batch refunds.csv --concurrency 16 --rate aoc=20/s --report out.csv

refunds.csv:
  provider,original_transaction_id,amount,reference,charge_amount
  aoc,AOC-CHARGE-1001,1.00,,10.00
  digipay,DP-TXN-2001,10.00,damaged,

One line per row on stdout (one JSON object per line with --json), in row order; progress on
stderr. Ctrl-C stops starting rows and lets those in flight finish; a second Ctrl-C exits at
once (the ledger already holds every intent). The exit code is the worst row's (a row left
unknown or needs_review counts 6); 130 when interrupted.

After a crash (kill -9, a lost machine), the rows it was sending are held for 4 x --timeout
+ 2 s (the client's whole deadline with room to spare); once that is over, the next run
settles them by status reads before sending anything else.";

const RECONCILE_HELP: &str = "\
Reads each open intent's status (AOC refundStatus, BOS TransactStatus, Eko's transaction
inquiry) and records what it proves. DigiPay has no status read: its unknown refunds are listed
as needs_review, to be settled by a person with `refund ledger resolve`. Settings come from the
environment; providers without settings are skipped.

Examples:
  refund reconcile
  refund --json reconcile --provider aoc

Exit codes: 0 when nothing is left open, 6 while an intent is unknown, needs review (from
this run or an earlier one), or is being sent by another process.";

const LEDGER_HELP: &str = "\
Examples:
  refund ledger list --state needs_review
  refund ledger show order-7/refund-1
  refund ledger export --format csv > refunds.csv
  refund ledger resolve 17 --as declined --note 'not in DigiPay: customer refunded by hand'";

/// `refund sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
}

/// A secret setting (a key, a token). Its `Debug` shows `"***"`, so the settings structs that
/// hold one never print it, even in a debug dump.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl AsRef<str> for Secret {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(refund::MASK, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_masks_secrets() {
        let cli = Cli::try_parse_from([
            "refund",
            "aoc",
            "status",
            "--sp-trans-id",
            "x",
            "--api-key",
            "k-123",
            "--username",
            "u",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{cli:?}");
        assert!(!shown.contains("k-123"), "{shown}");
        assert!(shown.contains("api_key: Some(\"***\")"), "{shown}");
        let cli = Cli::try_parse_from([
            "refund",
            "otp",
            "send-otp",
            "--tid",
            "1",
            "--developer-key",
            "d-1",
            "--access-key",
            "a-1",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{cli:?}");
        assert!(!shown.contains("d-1") && !shown.contains("a-1"), "{shown}");
        let bos = BosSettings { base_url: None, token: Some("t-1".into()) };
        let dp = DigipaySettings { base_url: None, token: Some("t-2".into()), company_id: None };
        assert!(!format!("{bos:?}{dp:?}").contains("t-"));
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("abc").is_err());
        assert_eq!(parse_timeout("86400"), Ok(Duration::from_secs(86_400)));
        assert!(parse_timeout("86400.5").is_err());
        assert!(parse_timeout("1e19").is_err());
    }
}
