//! Original transactions added besides the seeded ones (builder, `RunningSandbox::add_transaction`,
//! `POST /_sandbox/transactions`), and the checks they pass before they enter the books.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::fault::Provider;

/// An original transaction to add to the sandbox's books, besides the seeded ones. Refunds run
/// against it exactly as against a seeded one, and
/// [`RunningSandbox::reset`](crate::RunningSandbox::reset) keeps it (with nothing refunded).
///
/// The builder has one shortcut per variant
/// ([`SandboxBuilder::aoc_charge`](crate::SandboxBuilder::aoc_charge) and so on); a running sandbox
/// takes it in [`RunningSandbox::add_transaction`](crate::RunningSandbox::add_transaction).
///
/// ```
/// use refund_sandbox::{OriginalTransaction, Provider};
/// let tx = OriginalTransaction::Bos { referenceid: 90_000_000_001, ackno: 901, amount_minor: 10 };
/// assert_eq!(tx.provider(), Provider::Bos);
/// assert_eq!((tx.id().as_str(), tx.currency()), ("90000000001", "INR"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginalTransaction {
    /// An AOC charge (`aocTransID`), refundable in parts up to its amount, in MYR.
    Aoc {
        /// The `aocTransID`.
        id: String,
        /// The charge in sen.
        amount_minor: i64,
    },
    /// A DigiPay wallet transaction (`initial_txn_id`), refundable in parts up to its amount, in
    /// INR.
    Digipay {
        /// The `initial_txn_id`.
        id: String,
        /// The transaction in paise.
        amount_minor: i64,
    },
    /// A failed BOS transfer, refund pending (refunded whole, with an OTP), in INR.
    Bos {
        /// The `referenceid`.
        referenceid: u64,
        /// The `ackno` that must come with it.
        ackno: u64,
        /// The transfer in paise.
        amount_minor: i64,
    },
    /// An Eko transfer in `tx_status` 3, refund pending (refunded whole, with an OTP), in INR.
    Eko {
        /// The `tid`.
        tid: String,
        /// The transfer in paise.
        amount_minor: i64,
    },
}

impl OriginalTransaction {
    /// The largest accepted amount, in minor units (10^15: ten trillion rupees or ringgit). It
    /// keeps every sum the sandbox makes (refunded so far plus a requested amount, an amount plus
    /// Eko's fee) far from `i64::MAX`.
    ///
    /// ```
    /// assert_eq!(refund_sandbox::OriginalTransaction::MAX_AMOUNT_MINOR, 1_000_000_000_000_000);
    /// ```
    pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

    /// The provider whose books it goes into.
    ///
    /// ```
    /// use refund_sandbox::{OriginalTransaction, Provider};
    /// let tx = OriginalTransaction::Eko { tid: "77000001".into(), amount_minor: 100 };
    /// assert_eq!(tx.provider(), Provider::Eko);
    /// ```
    pub fn provider(&self) -> Provider {
        match self {
            OriginalTransaction::Aoc { .. } => Provider::Aoc,
            OriginalTransaction::Digipay { .. } => Provider::Digipay,
            OriginalTransaction::Bos { .. } => Provider::Bos,
            OriginalTransaction::Eko { .. } => Provider::Eko,
        }
    }

    /// Its id as it appears in [`Books`](crate::Books) (a BOS `referenceid` as decimal text).
    ///
    /// ```
    /// use refund_sandbox::OriginalTransaction;
    /// let tx = OriginalTransaction::Aoc { id: "AOC-X".into(), amount_minor: 100 };
    /// assert_eq!(tx.id(), "AOC-X");
    /// ```
    pub fn id(&self) -> String {
        match self {
            OriginalTransaction::Aoc { id, .. } | OriginalTransaction::Digipay { id, .. } => {
                id.clone()
            }
            OriginalTransaction::Bos { referenceid, .. } => referenceid.to_string(),
            OriginalTransaction::Eko { tid, .. } => tid.clone(),
        }
    }

    /// Its amount in minor units.
    ///
    /// ```
    /// use refund_sandbox::OriginalTransaction;
    /// let tx = OriginalTransaction::Digipay { id: "DP-X".into(), amount_minor: 7910 };
    /// assert_eq!(tx.amount_minor(), 7910);
    /// ```
    pub fn amount_minor(&self) -> i64 {
        match self {
            OriginalTransaction::Aoc { amount_minor, .. }
            | OriginalTransaction::Digipay { amount_minor, .. }
            | OriginalTransaction::Bos { amount_minor, .. }
            | OriginalTransaction::Eko { amount_minor, .. } => *amount_minor,
        }
    }

    /// Its ISO currency code: `MYR` for AOC, `INR` for the others (as for the seeded data).
    ///
    /// ```
    /// use refund_sandbox::OriginalTransaction;
    /// let tx = OriginalTransaction::Aoc { id: "AOC-X".into(), amount_minor: 100 };
    /// assert_eq!(tx.currency(), "MYR");
    /// ```
    pub fn currency(&self) -> &'static str {
        self.provider().currency()
    }

    /// The checks that need no books: a non-empty id and an amount from 1 to
    /// [`Self::MAX_AMOUNT_MINOR`].
    pub(crate) fn check(&self) -> Result<(), TransactionError> {
        let provider = self.provider();
        let empty_id = match self {
            OriginalTransaction::Aoc { id, .. } | OriginalTransaction::Digipay { id, .. } => {
                id.is_empty()
            }
            OriginalTransaction::Bos { .. } => false,
            OriginalTransaction::Eko { tid, .. } => tid.is_empty(),
        };
        if empty_id {
            return Err(TransactionError::EmptyId { provider });
        }
        let amount_minor = self.amount_minor();
        if !(1..=Self::MAX_AMOUNT_MINOR).contains(&amount_minor) {
            return Err(TransactionError::AmountOutOfRange {
                provider,
                id: self.id(),
                amount_minor,
            });
        }
        Ok(())
    }
}

/// Why an [`OriginalTransaction`] was not added. `POST /_sandbox/transactions` answers it as HTTP
/// 400 `{"error": "<this error's text>"}`; [`Sandbox::start`](crate::Sandbox::start) fails with
/// [`std::io::ErrorKind::InvalidInput`] carrying it.
///
/// ```
/// use refund_sandbox::{Provider, TransactionError};
/// let e = TransactionError::DuplicateId { provider: Provider::Aoc, id: "AOC-CHARGE-1001".into() };
/// assert_eq!(e.to_string(), "aoc already has an original transaction with id `AOC-CHARGE-1001`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionError {
    /// The provider's books already hold this id (seeded or added before).
    DuplicateId {
        /// The provider.
        provider: Provider,
        /// The id (a BOS `referenceid` as decimal text).
        id: String,
    },
    /// The amount is zero, negative, or above [`OriginalTransaction::MAX_AMOUNT_MINOR`].
    AmountOutOfRange {
        /// The provider.
        provider: Provider,
        /// The id.
        id: String,
        /// The amount given.
        amount_minor: i64,
    },
    /// The id is empty.
    EmptyId {
        /// The provider.
        provider: Provider,
    },
}

impl fmt::Display for TransactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionError::DuplicateId { provider, id } => {
                write!(f, "{provider} already has an original transaction with id `{id}`")
            }
            TransactionError::AmountOutOfRange { provider, id, amount_minor } => write!(
                f,
                "{provider} `{id}`: amount_minor {amount_minor} is out of range: it must be a \
                 positive count of minor units, at most {}",
                OriginalTransaction::MAX_AMOUNT_MINOR
            ),
            TransactionError::EmptyId { provider } => {
                write!(f, "{provider}: the id must not be empty")
            }
        }
    }
}

impl std::error::Error for TransactionError {}

/// The body of `POST /_sandbox/transactions`. `referenceid` and `tid` are accepted for `id`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTransaction {
    provider: String,
    #[serde(alias = "referenceid", alias = "tid")]
    id: Value,
    amount_minor: Value,
    ackno: Option<Value>,
}

/// Reads the body of `POST /_sandbox/transactions`; `Err` is the message of the 400 answer. The
/// checks that need the books (duplicates, amount range) come after, in `State::add_original`.
pub(crate) fn from_json(body: &[u8]) -> Result<OriginalTransaction, String> {
    let b: NewTransaction =
        serde_json::from_slice(body).map_err(|e| format!("invalid transaction body: {e}"))?;
    let provider: Provider = b.provider.parse().map_err(|_| {
        format!("unknown provider `{}`: expected aoc, bos, digipay or eko", b.provider)
    })?;
    let amount_minor = b
        .amount_minor
        .as_i64()
        .ok_or("amount_minor must be an integer count of minor units (1000 is 10.00)")?;
    if provider != Provider::Bos && b.ackno.is_some() {
        return Err(format!("ackno is for bos only, not {provider}"));
    }
    let text_id = || {
        b.id.as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("id must be a string for {provider}"))
    };
    Ok(match provider {
        Provider::Aoc => OriginalTransaction::Aoc { id: text_id()?, amount_minor },
        Provider::Digipay => OriginalTransaction::Digipay { id: text_id()?, amount_minor },
        Provider::Eko => OriginalTransaction::Eko { tid: text_id()?, amount_minor },
        Provider::Bos => OriginalTransaction::Bos {
            referenceid: b
                .id
                .as_u64()
                .ok_or("id (the referenceid) must be a JSON number for bos")?,
            ackno: b
                .ackno
                .as_ref()
                .and_then(Value::as_u64)
                .ok_or("ackno is required for bos and must be a JSON number")?,
            amount_minor,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_provider() {
        let aoc = from_json(br#"{"provider":"aoc","id":"AOC-X","amount_minor":1000}"#);
        assert_eq!(aoc, Ok(OriginalTransaction::Aoc { id: "AOC-X".into(), amount_minor: 1000 }));
        let bos = from_json(br#"{"provider":"bos","referenceid":42,"ackno":7,"amount_minor":5}"#);
        assert_eq!(
            bos,
            Ok(OriginalTransaction::Bos { referenceid: 42, ackno: 7, amount_minor: 5 })
        );
        let eko = from_json(br#"{"provider":"otp","tid":"77","amount_minor":5}"#);
        assert_eq!(eko, Ok(OriginalTransaction::Eko { tid: "77".into(), amount_minor: 5 }));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        for (body, needle) in [
            (&br#"{"provider":"paypal","id":"X","amount_minor":1}"#[..], "unknown provider"),
            (br#"{"provider":"aoc","id":"X","amount_minor":10.5}"#, "integer"),
            (br#"{"provider":"aoc","id":"X","amount_minor":"10"}"#, "integer"),
            (br#"{"provider":"aoc","id":7,"amount_minor":1}"#, "id must be a string"),
            (br#"{"provider":"bos","id":"7","ackno":1,"amount_minor":1}"#, "JSON number"),
            (br#"{"provider":"bos","id":7,"amount_minor":1}"#, "ackno is required"),
            (br#"{"provider":"aoc","id":"X","ackno":1,"amount_minor":1}"#, "bos only"),
            (br#"{"provider":"aoc","id":"X","amount":1}"#, "unknown field"),
            (br#"{"provider":"aoc","id":"X"}"#, "missing field"),
            (b"not json", "invalid transaction body"),
        ] {
            let err = from_json(body).expect_err("rejected");
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn check_rejects_empty_ids_and_amounts_out_of_range() {
        let tx = |amount_minor| OriginalTransaction::Aoc { id: "A".into(), amount_minor };
        assert_eq!(tx(1).check(), Ok(()));
        assert_eq!(tx(OriginalTransaction::MAX_AMOUNT_MINOR).check(), Ok(()));
        for bad in [0, -1, OriginalTransaction::MAX_AMOUNT_MINOR + 1, i64::MAX] {
            assert!(
                matches!(tx(bad).check(), Err(TransactionError::AmountOutOfRange { .. })),
                "{bad}"
            );
        }
        let empty = OriginalTransaction::Eko { tid: String::new(), amount_minor: 1 };
        assert_eq!(empty.check(), Err(TransactionError::EmptyId { provider: Provider::Eko }));
    }
}
