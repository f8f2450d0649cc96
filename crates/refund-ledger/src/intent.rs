//! What a caller asks the ledger to do: a refund intent, before it is written down.

use refund_core::{Money, OtpRefundTarget, RefundReference, RefundRequest, TransactionId};
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};
use crate::record::IntentKind;

/// The longest idempotency key, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// A refund intent: what to refund, under the caller's idempotency key, before the ledger
/// writes it down. `T` is what is refunded: a [`DirectTarget`] ([`RefundIntent`]: AOC, DigiPay)
/// or an [`OtpRefundTarget`] ([`OtpRefundIntent`]: BOS, Eko).
///
/// The same key is the same refund, wherever and however often it is submitted.
///
/// ```
/// use refund_core::{Currency, Money, TransactionId};
/// use refund_ledger::RefundIntent;
/// let intent = RefundIntent::new("order-7/refund-1", TransactionId::new("AOC-CHARGE-1001")?)
///     .amount(Money::parse("1.00", Currency::Myr)?)
///     .charge_amount(Money::parse("10.00", Currency::Myr)?)
///     .note("damaged item");
/// assert_eq!(intent.idempotency_key(), "order-7/refund-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent<T> {
    key: String,
    target: T,
    amount: Option<Money>,
    charge_amount: Option<Money>,
    batch: Option<(String, u64)>,
}

/// A refund in one call (AOC, DigiPay).
///
/// The provider-side reference (AOC's `spTransID`) is derived from the key unless the caller
/// gives one, so the same key always goes out under the same reference, in any process, on any
/// run. The note sent to DigiPay carries that reference, so a person can find the refund in
/// DigiPay's records.
pub type RefundIntent = Intent<DirectTarget>;

/// A refund with the customer's OTP (BOS, Eko). One intent covers the OTP request (which may be
/// repeated) and its confirmation (which is never repeated once it may have reached the provider).
///
/// ```
/// use refund_core::{OtpRefundTarget, TransactionId};
/// let target = OtpRefundTarget::new(TransactionId::new("12345678931")?).with_acknowledgement("133");
/// let intent = refund_ledger::OtpRefundIntent::new("bos-12345678931", target);
/// # let _ = intent; Ok::<(), refund_core::Error>(())
/// ```
pub type OtpRefundIntent = Intent<OtpRefundTarget>;

/// What a [`RefundIntent`] refunds: the original transaction, and optionally the caller's own
/// reference and a note.
///
/// ```
/// # use refund_core::TransactionId;
/// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?).note("recall");
/// # let _ = intent; Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectTarget {
    original: TransactionId,
    reference: Option<RefundReference>,
    note: Option<String>,
}

impl<T> Intent<T> {
    fn with_target(idempotency_key: impl Into<String>, target: T) -> Self {
        Intent {
            key: idempotency_key.into(),
            target,
            amount: None,
            charge_amount: None,
            batch: None,
        }
    }
    refund_core::with_setters! {
        /// The amount to refund (for an OTP refund, what it returns, when known: for the guard and
        /// the books; BOS and Eko refund the whole transfer).
        ///
        /// ```
        /// # use refund_core::{Currency, Money, TransactionId};
        /// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?)
        ///     .amount(Money::parse("1.00", Currency::Myr)?);
        /// # let _ = intent; Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        amount => amount: Money,
        /// The original charge's amount. With it, the ledger refuses (before anything is sent) a
        /// refund that would take what is held against the charge past it, across threads, processes
        /// and instances.
        ///
        /// ```
        /// # use refund_core::{Currency, Money, TransactionId};
        /// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?)
        ///     .amount(Money::parse("1.00", Currency::Myr)?)
        ///     .charge_amount(Money::parse("10.00", Currency::Myr)?);
        /// # let _ = intent; Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        charge_amount => charge_amount: Money,
    }
    /// Marks it as row `row` of batch `batch_id` (for listing and resuming a batch).
    ///
    /// ```
    /// # use refund_core::TransactionId;
    /// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?).batch("b.csv", 2);
    /// # let _ = intent; Ok::<(), refund_core::Error>(())
    /// ```
    #[must_use]
    pub fn batch(mut self, batch_id: impl Into<String>, row: u64) -> Self {
        self.batch = Some((batch_id.into(), row));
        self
    }
    /// The idempotency key.
    ///
    /// ```
    /// # use refund_core::TransactionId;
    /// assert_eq!(refund_ledger::RefundIntent::new("k", TransactionId::new("T")?).idempotency_key(), "k");
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    pub fn idempotency_key(&self) -> &str {
        &self.key
    }

    /// Validates it and fixes what the ledger stores.
    fn build(
        &self,
        kind: IntentKind,
        provider: &'static str,
        target: Target<'_>,
        reference: String,
        note: Option<String>,
    ) -> Result<NewIntent> {
        NewIntent::build(
            &self.key,
            kind,
            provider,
            target,
            (self.amount, self.charge_amount),
            reference,
            note,
            self.batch.clone(),
        )
    }
}

impl Intent<DirectTarget> {
    /// A refund of `original` under `idempotency_key`.
    ///
    /// ```
    /// # use refund_core::TransactionId;
    /// let intent = refund_ledger::RefundIntent::new("k-1", TransactionId::new("DP-TXN-2001")?);
    /// # let _ = intent; Ok::<(), refund_core::Error>(())
    /// ```
    pub fn new(idempotency_key: impl Into<String>, original: TransactionId) -> Self {
        Intent::with_target(idempotency_key, DirectTarget { original, reference: None, note: None })
    }
    /// The caller's own provider-side reference (AOC `spTransID`), instead of one derived from
    /// the key.
    ///
    /// ```
    /// # use refund_core::{RefundReference, TransactionId};
    /// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?)
    ///     .reference(RefundReference::new("SP-2026-0001")?);
    /// # let _ = intent; Ok::<(), refund_core::Error>(())
    /// ```
    #[must_use]
    pub fn reference(mut self, reference: RefundReference) -> Self {
        self.target.reference = Some(reference);
        self
    }
    /// A note for the provider (DigiPay); the reference is appended to it.
    ///
    /// ```
    /// # use refund_core::TransactionId;
    /// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?).note("recall");
    /// # let _ = intent; Ok::<(), refund_core::Error>(())
    /// ```
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.target.note = Some(note.into());
        self
    }

    /// The provider-side reference this intent goes out under: the caller's, or the one derived
    /// from its key (the same on every run).
    ///
    /// ```
    /// # use refund_core::TransactionId;
    /// let intent = refund_ledger::RefundIntent::new("order-7", TransactionId::new("T")?);
    /// assert_eq!(intent.effective_reference(), intent.clone().effective_reference());
    /// assert!(intent.effective_reference().as_str().starts_with("lg"));
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    pub fn effective_reference(&self) -> RefundReference {
        match &self.target.reference {
            Some(reference) => reference.clone(),
            // Always valid: `lg` and hex digits.
            None => RefundReference::new(derived_reference(&self.key))
                .unwrap_or_else(|_| RefundReference::generate()),
        }
    }

    /// The request this intent sends, exactly (what a dry run shows): its reference, and the note
    /// that carries it.
    ///
    /// ```
    /// # use refund_core::TransactionId;
    /// let intent = refund_ledger::RefundIntent::new("k", TransactionId::new("T")?).note("recall");
    /// let request = intent.request();
    /// assert_eq!(request.reference(), &intent.effective_reference());
    /// assert_eq!(request.note(), Some(format!("recall [{}]", request.reference()).as_str()));
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    pub fn request(&self) -> RefundRequest {
        let reference = self.effective_reference();
        let note = self.sent_note(reference.as_str());
        let request = RefundRequest::new(self.target.original.clone())
            .with_reference(reference)
            .with_note(note);
        match self.amount {
            Some(amount) => request.with_amount(amount),
            None => request,
        }
    }

    /// The note sent with the refund: the caller's, followed by the reference a person looks for.
    fn sent_note(&self, reference: &str) -> String {
        match &self.target.note {
            Some(note) => format!("{note} [{reference}]"),
            None => reference.to_owned(),
        }
    }

    pub(crate) fn to_new(&self, provider: &'static str) -> Result<NewIntent> {
        let reference = self.effective_reference().as_str().to_owned();
        let note = Some(self.sent_note(&reference));
        let target = Target { original: self.target.original.as_str(), acknowledgement: None };
        self.build(IntentKind::Direct, provider, target, reference, note)
    }
}

impl Intent<OtpRefundTarget> {
    /// A refund of `target` (BOS: `referenceid` with `ackno` as its acknowledgement; Eko: `tid`)
    /// under `idempotency_key`.
    ///
    /// ```
    /// use refund_core::{OtpRefundTarget, TransactionId};
    /// let intent = refund_ledger::OtpRefundIntent::new(
    ///     "transfer-13192443/refund",
    ///     OtpRefundTarget::new(TransactionId::new("13192443")?),
    /// );
    /// # let _ = intent; Ok::<(), refund_core::Error>(())
    /// ```
    pub fn new(idempotency_key: impl Into<String>, target: OtpRefundTarget) -> Self {
        Intent::with_target(idempotency_key, target)
    }

    pub(crate) fn to_new(&self, provider: &'static str) -> Result<NewIntent> {
        let target = Target {
            original: self.target.transaction_id().as_str(),
            acknowledgement: self.target.acknowledgement(),
        };
        self.build(IntentKind::Otp, provider, target, derived_reference(&self.key), None)
    }
}

/// The reference of a key without one of its own: `lg` + 26 hex digits of the key's SHA-256,
/// a valid AOC `spTransID` that is the same wherever the key is submitted.
fn derived_reference(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(13).map(|b| format!("{b:02x}")).collect();
    format!("lg{hex}")
}

/// What a refund is made of.
pub(crate) struct Target<'a> {
    pub(crate) original: &'a str,
    pub(crate) acknowledgement: Option<&'a str>,
}

/// An intent ready to be written: validated, with its reference fixed and its parameters hashed.
#[derive(Debug, Clone)]
pub(crate) struct NewIntent {
    pub(crate) key: String,
    pub(crate) kind: IntentKind,
    pub(crate) provider: &'static str,
    pub(crate) original: String,
    pub(crate) acknowledgement: Option<String>,
    pub(crate) amount: Option<Money>,
    pub(crate) charge_amount: Option<Money>,
    pub(crate) reference: String,
    pub(crate) note: Option<String>,
    pub(crate) params_hash: String,
    pub(crate) batch: Option<(String, u64)>,
}

impl NewIntent {
    #[allow(clippy::too_many_arguments)] // one private constructor shared by both intent kinds
    fn build(
        key: &str,
        kind: IntentKind,
        provider: &'static str,
        target: Target<'_>,
        (amount, charge_amount): (Option<Money>, Option<Money>),
        reference: String,
        note: Option<String>,
        batch: Option<(String, u64)>,
    ) -> Result<NewIntent> {
        check_key(key)?;
        if let Some(amount) = amount {
            if amount.is_zero() {
                return Err(LedgerError::invalid_input("amount", "must be greater than zero"));
            }
            if let Some(charge) = charge_amount {
                if charge.currency() != amount.currency() {
                    return Err(LedgerError::invalid_input(
                        "charge_amount",
                        format!(
                            "is in {} but the refund is in {}",
                            charge.currency(),
                            amount.currency()
                        ),
                    ));
                }
                if amount.minor_units() > charge.minor_units() {
                    return Err(LedgerError::invalid_input(
                        "amount",
                        format!("{amount} is more than the charge's {charge}"),
                    ));
                }
            }
        } else if charge_amount.is_some() {
            return Err(LedgerError::invalid_input(
                "charge_amount",
                "needs the refund's amount too: the guard counts amounts against the charge",
            ));
        }
        for money in [amount, charge_amount].into_iter().flatten() {
            if i64::try_from(money.minor_units()).is_err() {
                return Err(LedgerError::invalid_input("amount", "is too large"));
            }
        }
        // The parameters that make two submissions the same refund. Not the note's reference
        // suffix (derived from the key) nor the charge amount or batch (bookkeeping).
        let mut hasher = Sha256::new();
        for part in [
            "v1",
            kind.as_str(),
            provider,
            target.original,
            target.acknowledgement.unwrap_or("-"),
            &amount.map_or_else(
                || "-".to_owned(),
                |a| format!("{} {}", a.minor_units(), a.currency()),
            ),
            &reference,
            note.as_deref().unwrap_or("-"),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let params_hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(NewIntent {
            key: key.to_owned(),
            kind,
            provider,
            original: target.original.to_owned(),
            acknowledgement: target.acknowledgement.map(str::to_owned),
            amount,
            charge_amount,
            reference,
            note,
            params_hash,
            batch,
        })
    }
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(LedgerError::invalid_input("idempotency_key", "must not be empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(LedgerError::invalid_input(
            "idempotency_key",
            format!("must be at most {MAX_KEY_LEN} bytes"),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(LedgerError::invalid_input(
            "idempotency_key",
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::Currency;

    fn myr(text: &str) -> Money {
        Money::parse(text, Currency::Myr).unwrap()
    }

    #[test]
    fn the_reference_is_derived_from_the_key_alone() {
        let a =
            RefundIntent::new("order-7", TransactionId::new("T").unwrap()).to_new("aoc").unwrap();
        let b =
            RefundIntent::new("order-7", TransactionId::new("T").unwrap()).to_new("aoc").unwrap();
        assert_eq!(a.reference, b.reference);
        assert_eq!(a.reference.len(), 28);
        assert!(RefundReference::new(a.reference.clone()).is_ok());
        let other =
            RefundIntent::new("order-8", TransactionId::new("T").unwrap()).to_new("aoc").unwrap();
        assert_ne!(a.reference, other.reference);
        assert_eq!(a.note.as_deref(), Some(a.reference.as_str()));
    }

    #[test]
    fn the_hash_covers_what_makes_a_refund_and_nothing_else() {
        let base = || RefundIntent::new("k", TransactionId::new("T").unwrap()).amount(myr("1.00"));
        let hash = |i: RefundIntent| i.to_new("aoc").unwrap().params_hash;
        let same = hash(base());
        assert_eq!(same, hash(base().charge_amount(myr("10.00")).batch("b", 1)));
        assert_ne!(same, hash(base().amount(myr("2.00"))));
        assert_ne!(same, hash(base().note("n")));
        assert_ne!(
            same,
            hash(RefundIntent::new("k", TransactionId::new("U").unwrap()).amount(myr("1.00")))
        );
        assert_ne!(same, base().to_new("digipay").unwrap().params_hash);
    }

    #[test]
    fn bad_intents_are_refused_before_anything_is_written() {
        let t = || TransactionId::new("T").unwrap();
        let field = |i: RefundIntent| match i.to_new("aoc") {
            Err(LedgerError::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(RefundIntent::new("", t())), "idempotency_key");
        assert_eq!(field(RefundIntent::new("a\nb", t())), "idempotency_key");
        assert_eq!(field(RefundIntent::new("k".repeat(256), t())), "idempotency_key");
        assert_eq!(
            field(RefundIntent::new("k", t()).amount(myr("2.00")).charge_amount(myr("1.00"))),
            "amount"
        );
        assert_eq!(field(RefundIntent::new("k", t()).charge_amount(myr("1.00"))), "charge_amount");
        let inr = Money::parse("1.00", Currency::Inr).unwrap();
        assert_eq!(
            field(RefundIntent::new("k", t()).amount(myr("1.00")).charge_amount(inr)),
            "charge_amount"
        );
        assert_eq!(
            field(RefundIntent::new("k", t()).amount(Money::from_minor_units(0, Currency::Myr))),
            "amount"
        );
        assert_eq!(
            field(
                RefundIntent::new("k", t())
                    .amount(Money::from_minor_units(u64::MAX, Currency::Myr))
            ),
            "amount"
        );
    }
}
