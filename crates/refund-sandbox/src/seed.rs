//! Seeded credentials and transactions. Every sandbox starts from exactly this data, so tests, docs and
//! the demo can name it.
//!
//! ```
//! use refund_sandbox::seed;
//! assert_eq!(seed::AOC_CHARGE_1002, "AOC-CHARGE-1002");
//! assert_eq!(seed::AOC_CHARGE_1002_MINOR, 5000);
//! ```

/// AOC `username` accepted by the sandbox.
pub const AOC_USERNAME: &str = "sandbox";
/// AOC `apiKey` accepted by the sandbox.
pub const AOC_API_KEY: &str = "sandbox-aoc-api-key";
/// AOC charge of 10.00 MYR.
pub const AOC_CHARGE_1001: &str = "AOC-CHARGE-1001";
/// Amount of [`AOC_CHARGE_1001`] in sen (10.00 MYR).
pub const AOC_CHARGE_1001_MINOR: i64 = 1000;
/// AOC charge of 50.00 MYR.
pub const AOC_CHARGE_1002: &str = "AOC-CHARGE-1002";
/// Amount of [`AOC_CHARGE_1002`] in sen (50.00 MYR).
pub const AOC_CHARGE_1002_MINOR: i64 = 5000;
/// AOC charge of 5.00 MYR.
pub const AOC_CHARGE_1003: &str = "AOC-CHARGE-1003";
/// Amount of [`AOC_CHARGE_1003`] in sen (5.00 MYR).
pub const AOC_CHARGE_1003_MINOR: i64 = 500;
/// Currency of every seeded AOC charge.
pub const AOC_CURRENCY: &str = "MYR";

/// DigiPay static token (`Authorization: Token sandbox-digipay-token`).
pub const DIGIPAY_TOKEN: &str = "sandbox-digipay-token";
/// DigiPay `CompanyID` header value.
pub const DIGIPAY_COMPANY_ID: &str = "sandbox-company";
/// DigiPay client id for `POST /digipay/v3/auth/authenticate` (HTTP Basic user).
pub const DIGIPAY_CLIENT_ID: &str = "sandbox-client";
/// DigiPay client secret for `POST /digipay/v3/auth/authenticate` (HTTP Basic password).
pub const DIGIPAY_CLIENT_SECRET: &str = "sandbox-client-secret";
/// DigiPay wallet transaction of 100.00 INR.
pub const DIGIPAY_TXN_2001: &str = "DP-TXN-2001";
/// Amount of [`DIGIPAY_TXN_2001`] in paise (100.00 INR).
pub const DIGIPAY_TXN_2001_MINOR: i64 = 10000;
/// DigiPay wallet transaction of 79.10 INR (a float trap: 79.1 must not become 79.09999).
pub const DIGIPAY_TXN_2002: &str = "DP-TXN-2002";
/// Amount of [`DIGIPAY_TXN_2002`] in paise (79.10 INR).
pub const DIGIPAY_TXN_2002_MINOR: i64 = 7910;

/// BOS bearer token (`Authorization: Bearer sandbox-bos-token`).
pub const BOS_TOKEN: &str = "sandbox-bos-token";
/// BOS merchant registration id, the only one the QR call accepts.
pub const BOS_REGISTRATION_ID: &str = "BOS-554";
/// BOS failed transfer in refund-pending state: `referenceid`.
pub const BOS_REFERENCE_1: u64 = 12_345_678_931;
/// `ackno` of [`BOS_REFERENCE_1`].
pub const BOS_ACKNO_1: u64 = 133;
/// Amount of [`BOS_REFERENCE_1`] in paise (500 INR).
pub const BOS_AMOUNT_1_MINOR: i64 = 50_000;
/// BOS failed transfer in refund-pending state: `referenceid`.
pub const BOS_REFERENCE_2: u64 = 12_345_678_926;
/// `ackno` of [`BOS_REFERENCE_2`].
pub const BOS_ACKNO_2: u64 = 127;
/// Amount of [`BOS_REFERENCE_2`] in paise (250 INR).
pub const BOS_AMOUNT_2_MINOR: i64 = 25_000;

/// Eko `developer_key` header value.
pub const EKO_DEVELOPER_KEY: &str = "sandbox-eko-developer-key";
/// Eko access key, the secret behind the `secret-key` signature.
pub const EKO_ACCESS_KEY: &str = "sandbox-eko-access-key";
/// Eko `initiator_id`.
pub const EKO_INITIATOR_ID: &str = "9962981729";
/// Eko `user_code`.
pub const EKO_USER_CODE: &str = "20810200";
/// Eko transfer in `tx_status` 3 (refund pending), 5000.00 INR.
pub const EKO_TID_REFUNDABLE_1: &str = "13192443";
/// Amount of [`EKO_TID_REFUNDABLE_1`] in paise.
pub const EKO_TID_REFUNDABLE_1_MINOR: i64 = 500_000;
/// Eko transfer in `tx_status` 3 (refund pending), 1200.00 INR.
pub const EKO_TID_REFUNDABLE_2: &str = "13192444";
/// Amount of [`EKO_TID_REFUNDABLE_2`] in paise.
pub const EKO_TID_REFUNDABLE_2_MINOR: i64 = 120_000;
/// Eko transfer in `tx_status` 0 (success): not refundable.
pub const EKO_TID_SUCCESS: &str = "13192445";
/// Amount of [`EKO_TID_SUCCESS`] in paise (750.00 INR).
pub const EKO_TID_SUCCESS_MINOR: i64 = 75_000;

/// Default seed of the sandbox's random number generators (OTPs, fault rates).
pub const DEFAULT_RNG_SEED: u64 = 20_241_122;
