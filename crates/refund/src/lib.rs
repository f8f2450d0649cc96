//! # refund
//!
//! One Rust SDK for the refund APIs of Indian and Malaysian payment platforms. Each provider is a
//! cargo feature (all on by default) and a module; the shared types (money, errors, traits) are at
//! the root, so you never name `refund-core` yourself.
//!
//! | feature | module | provider | what it refunds |
//! |---|---|---|---|
//! | `aoc` | [`aoc`] | BoostConnect AOC | full and partial refunds of a charge, and their status |
//! | `bos` | [`bos`] | BOS Center | a failed money transfer, with the customer's OTP; dynamic UPI QR codes |
//! | `digipay` | [`digipay`] | DigiPay | wallet refunds to a customer or merchant |
//! | `otp-refund` | [`otp`] | Eko | a failed money transfer, with the customer's OTP, HMAC-signed |
//!
//! Two more features, not in `default`, add the durable refund ledger as `refund::ledger`:
//! `ledger` (an embedded SQLite file) and `ledger-postgres` (also PostgreSQL, for several
//! instances sharing one ledger). Every refund intent is written down before a byte is sent, so
//! a crash, a rerun or a second instance never refunds twice.
//!
//! Every error says what became of the request ([`Error::fate`]): rejected before sending,
//! declined by the provider, not processed (safe to retry), or outcome unknown (read the status
//! first). See the repository's `docs/architecture.md` for the path a refund takes.
//!
//! ```
//! use refund::{Currency, Error, Fate, Money};
//!
//! // Bad input is a typed error before anything is sent.
//! let err: Error = Money::parse("1,000.00", Currency::Inr).unwrap_err().into();
//! assert_eq!(err.fate(), Fate::NotSent);
//! assert_eq!(err.field(), Some("amount"));
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

pub use refund_core::*;

#[cfg(feature = "aoc")]
#[cfg_attr(docsrs, doc(cfg(feature = "aoc")))]
pub use refund_aoc as aoc;

#[cfg(feature = "bos")]
#[cfg_attr(docsrs, doc(cfg(feature = "bos")))]
pub use refund_bos as bos;

#[cfg(feature = "digipay")]
#[cfg_attr(docsrs, doc(cfg(feature = "digipay")))]
pub use refund_digipay as digipay;

#[cfg(feature = "otp-refund")]
#[cfg_attr(docsrs, doc(cfg(feature = "otp-refund")))]
pub use refund_otp as otp;

#[cfg(feature = "ledger")]
#[cfg_attr(docsrs, doc(cfg(feature = "ledger")))]
pub use refund_ledger as ledger;

/// The repository README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
