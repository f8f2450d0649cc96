//! The log of refunds the sandbox executed: the proof that a refund ran at most once.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::fault::Provider;

/// One refund the sandbox executed (its books changed), as listed by
/// [`RunningSandbox::executed_refunds`](crate::RunningSandbox::executed_refunds) and
/// `GET /_sandbox/refunds`, in the order they ran.
///
/// A refund the sandbox refused (over-refund, duplicate `spTransID`, wrong OTP, a fault that
/// answers before acting) is not in the log; one whose answer a fault spoiled after the books
/// changed (`commit_then_timeout`, `drop_mid_response`, ...) is.
///
/// ```
/// use refund_sandbox::{ExecutedRefund, Provider};
/// let r = ExecutedRefund {
///     seq: 1, provider: Provider::Aoc, original_id: "AOC-CHARGE-1001".into(), amount_minor: 250,
///     currency: "MYR".into(), key: "sp-1".into(), refund_id: "AOC-CC-00000001".into(),
/// };
/// assert_eq!(serde_json::to_value(&r).unwrap()["provider"], "aoc");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutedRefund {
    /// Position in the log: 1 for the first refund since start or the last reset.
    pub seq: u64,
    /// The provider that executed it.
    pub provider: Provider,
    /// The original transaction refunded: `aocTransID`, `initial_txn_id`, BOS `referenceid`
    /// (decimal text) or Eko `tid`.
    pub original_id: String,
    /// The amount refunded in minor units (BOS and Eko refund the whole transfer).
    pub amount_minor: i64,
    /// ISO currency code.
    pub currency: String,
    /// What identifies the refund request on the wire: AOC `spTransID`, DigiPay `note` (empty when
    /// the request had none), BOS `referenceid`, Eko `tid`.
    pub key: String,
    /// The provider's id of the refund: AOC `clientCorrelator`, DigiPay `txn_id`, BOS
    /// `refundtxnid`, Eko `refund_tid`.
    pub refund_id: String,
}

impl ExecutedRefund {
    /// The `(provider, key)` pairs that occur more than once in `refunds`, with their count, sorted
    /// by provider and key: empty when no refund request was executed twice. A DigiPay refund's key
    /// is its `note`, so give each DigiPay refund a note of its own before relying on this.
    ///
    /// ```
    /// use refund_sandbox::{ExecutedRefund, Provider};
    /// let r = |seq, key: &str| ExecutedRefund {
    ///     seq, provider: Provider::Digipay, original_id: "DP-TXN-2001".into(), amount_minor: 100,
    ///     currency: "INR".into(), key: key.into(), refund_id: format!("r{seq}"),
    /// };
    /// let log = [r(1, "refund-a"), r(2, "refund-b"), r(3, "refund-a")];
    /// let repeated = ExecutedRefund::repeated_keys(&log);
    /// assert_eq!(repeated, [(Provider::Digipay, "refund-a".to_owned(), 2)]);
    /// assert!(ExecutedRefund::repeated_keys(&log[..2]).is_empty());
    /// ```
    pub fn repeated_keys(refunds: &[ExecutedRefund]) -> Vec<(Provider, String, usize)> {
        let mut counts: HashMap<(Provider, &str), usize> = HashMap::new();
        for r in refunds {
            *counts.entry((r.provider, r.key.as_str())).or_insert(0) += 1;
        }
        let mut repeated: Vec<(Provider, String, usize)> = counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((p, key), n)| (p, key.to_owned(), n))
            .collect();
        repeated.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
        repeated
    }
}
