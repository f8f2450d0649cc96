//! Shared by the CLI's test binaries (`tests/it`, `tests/hardening`) through `#[path]`.

/// Every variable the CLI or the SDK reads: removed before each run so the developer's shell
/// cannot leak in. One list, so a new setting is cleared everywhere.
pub(crate) const ALL_VARS: [&str; 21] = [
    "AOC_BASE_URL",
    "AOC_USERNAME",
    "AOC_API_KEY",
    "BOS_BASE_URL",
    "BOS_TOKEN",
    "BOS_REGISTRATION_ID",
    "DIGIPAY_BASE_URL",
    "DIGIPAY_TOKEN",
    "DIGIPAY_COMPANY_ID",
    "DIGIPAY_CLIENT_ID",
    "DIGIPAY_CLIENT_SECRET",
    "DIGIPAY_AUTH_SCHEME",
    "DIGIPAY_TXN_CODE",
    "DIGIPAY_PAYMENT_MODE",
    "OTP_REFUND_BASE_URL",
    "OTP_REFUND_DEVELOPER_KEY",
    "OTP_REFUND_ACCESS_KEY",
    "OTP_REFUND_INITIATOR_ID",
    "OTP_REFUND_USER_CODE",
    "REFUND_LEDGER_URL",
    "RUST_LOG",
];
