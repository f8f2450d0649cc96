//! What the ledger stores and answers: intents, their states and their events.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use refund_core::{Fate, Money};

/// Where a refund intent stands.
///
/// ```text
///  reserved ──claim──▶ sending ──answer──▶ succeeded | pending | declined | not_processed | unknown
///     ▲                                                                │            │
///     └──────────── re-sent under the same reference ◀─────────────────┘            │
///  pending, unknown, sending with an expired lease ──status read──▶ succeeded | declined
///                                                   (AOC "no such refund": not_processed)
///                                                   no read can tell: needs_review ──resolve──▶ succeeded | declined
/// ```
///
/// ```
/// use refund_ledger::IntentState;
/// assert_eq!("needs_review".parse::<IntentState>()?, IntentState::NeedsReview);
/// assert!(IntentState::Succeeded.is_final());
/// assert!(!IntentState::Declined.holds_reservation());
/// # Ok::<(), refund_ledger::LedgerError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntentState {
    /// Written down; nothing sent yet (a batch row, or an OTP refund whose OTP was sent).
    Reserved,
    /// Claimed by one process, which is sending it now. Past its lease (a crash), it counts as
    /// [`IntentState::Unknown`].
    Sending,
    /// The provider refunded it.
    Succeeded,
    /// The provider accepted it and has not finished: a status read settles it.
    Pending,
    /// The provider refused it, or a status read showed it never took effect. No money moved.
    Declined,
    /// It was not processed (not sent, or refused before processing): safe to send again, under
    /// the same reference.
    NotProcessed,
    /// It may have been processed: a status read settles it; it is never re-sent before.
    Unknown,
    /// No status read can tell (DigiPay has none): a person settles it with `resolve`.
    NeedsReview,
}

impl IntentState {
    /// Every state, in the order of the machine.
    pub const ALL: [IntentState; 8] = [
        IntentState::Reserved,
        IntentState::Sending,
        IntentState::Succeeded,
        IntentState::Pending,
        IntentState::Declined,
        IntentState::NotProcessed,
        IntentState::Unknown,
        IntentState::NeedsReview,
    ];

    /// The stable snake_case name stored in the ledger (`"not_processed"`).
    ///
    /// ```
    /// assert_eq!(refund_ledger::IntentState::NotProcessed.as_str(), "not_processed");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            IntentState::Reserved => "reserved",
            IntentState::Sending => "sending",
            IntentState::Succeeded => "succeeded",
            IntentState::Pending => "pending",
            IntentState::Declined => "declined",
            IntentState::NotProcessed => "not_processed",
            IntentState::Unknown => "unknown",
            IntentState::NeedsReview => "needs_review",
        }
    }

    /// Succeeded or declined: nothing more will happen to it.
    ///
    /// ```
    /// assert!(!refund_ledger::IntentState::Pending.is_final());
    /// ```
    pub const fn is_final(self) -> bool {
        matches!(self, IntentState::Succeeded | IntentState::Declined)
    }

    /// Whether its amount counts against the original charge (the over-refund guard). Only a
    /// declined intent gives its reservation back; a person declares an abandoned one declined.
    ///
    /// ```
    /// assert!(refund_ledger::IntentState::Unknown.holds_reservation());
    /// ```
    pub const fn holds_reservation(self) -> bool {
        !matches!(self, IntentState::Declined)
    }

    /// What this state says became of the money, as the SDK's [`Fate`], for an answer that the
    /// ledger gives from its records: declined is [`Fate::Declined`], not processed (and
    /// reserved) [`Fate::NotProcessed`], everything that may have moved money [`Fate::Unknown`].
    ///
    /// ```
    /// use refund_core::Fate;
    /// assert_eq!(refund_ledger::IntentState::NeedsReview.fate(), Fate::Unknown);
    /// ```
    pub const fn fate(self) -> Fate {
        match self {
            IntentState::Declined => Fate::Declined,
            IntentState::Reserved | IntentState::NotProcessed => Fate::NotProcessed,
            _ => Fate::Unknown,
        }
    }
}

impl fmt::Display for IntentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IntentState {
    type Err = crate::LedgerError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        IntentState::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            crate::LedgerError::invalid_input(
                "state",
                format!(
                    "{text:?} is not a state; use one of {}",
                    IntentState::ALL.map(IntentState::as_str).join(", ")
                ),
            )
        })
    }
}

/// How an intent refunds: in one call, or with the customer's OTP.
///
/// ```
/// assert_eq!(refund_ledger::IntentKind::Otp.as_str(), "otp");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntentKind {
    /// One call: [`refund_core::DirectRefund`] (AOC, DigiPay).
    Direct,
    /// Send an OTP, then confirm with it: [`refund_core::OtpRefund`] (BOS, Eko).
    Otp,
}

impl IntentKind {
    /// `"direct"` or `"otp"`.
    ///
    /// ```
    /// assert_eq!(refund_ledger::IntentKind::Direct.as_str(), "direct");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            IntentKind::Direct => "direct",
            IntentKind::Otp => "otp",
        }
    }
}

impl fmt::Display for IntentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refund intent as the ledger holds it. Never a secret: no key, token, signature or OTP.
///
/// ```no_run
/// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
/// if let Some(record) = ledger.by_key("order-7/refund-1").await? {
///     println!("{} {} {}: {}", record.id, record.provider, record.original_transaction_id, record.state);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IntentRecord {
    /// The ledger's id.
    pub id: i64,
    /// The caller's idempotency key (unique in the ledger).
    pub idempotency_key: String,
    /// Direct or OTP.
    pub kind: IntentKind,
    /// The provider (`"aoc"`, `"bos"`, `"digipay"`, `"otp-refund"`).
    pub provider: String,
    /// The original transaction (AOC `aocTransID`, BOS `referenceid`, DigiPay `initial_txn_id`,
    /// Eko `tid`).
    pub original_transaction_id: String,
    /// The acknowledgement number, where the provider needs one (BOS `ackno`).
    pub acknowledgement: Option<String>,
    /// The amount to refund (none: the provider refunds the whole transfer).
    pub amount: Option<Money>,
    /// The original charge's amount, when the caller gave it (the over-refund guard).
    pub charge_amount: Option<Money>,
    /// The provider-side reference fixed when the intent was made: AOC's `spTransID`; it is also
    /// in DigiPay's note. Every attempt carries it.
    pub reference: String,
    /// The note sent with the refund (DigiPay), which carries the reference.
    pub note: Option<String>,
    /// Eko's OTP session reference, once the OTP was sent.
    pub otp_ref_id: Option<String>,
    /// Where it stands.
    pub state: IntentState,
    /// How many times it was claimed for sending.
    pub attempts: u32,
    /// Until when the process sending it holds it (state `sending`).
    pub lease_until: Option<SystemTime>,
    /// The provider's id of the refund, once known.
    pub refund_id: Option<String>,
    /// The provider's last code (`"00"`, `"AOC1015"`, `"tx_status:4"`).
    pub provider_code: Option<String>,
    /// The provider's last message, or the last error's text.
    pub message: Option<String>,
    /// The last error's kind (`"declined"`, `"outcome_unknown"`, ...), if the last attempt failed.
    pub last_error_kind: Option<String>,
    /// The batch it belongs to, if any, and its row there.
    pub batch: Option<(String, u64)>,
    /// When it was written down.
    pub created_at: SystemTime,
    /// When it last changed.
    pub updated_at: SystemTime,
    /// True when this answer came from the ledger and this call sent nothing.
    pub replayed: bool,
}

impl IntentRecord {
    /// Whether it is `sending` with a lease that has run out: its sender is gone (a crash), so it
    /// counts as outcome unknown until a status read settles it.
    ///
    /// ```no_run
    /// # fn demo(record: refund_ledger::IntentRecord) {
    /// if record.lease_expired() { println!("{} needs reconcile", record.id); }
    /// # }
    /// ```
    pub fn lease_expired(&self) -> bool {
        self.state == IntentState::Sending
            && self.lease_until.is_none_or(|until| until <= SystemTime::now())
    }
}

/// One transition of an intent: the audit trail.
///
/// ```no_run
/// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
/// for event in ledger.events(1).await? {
///     println!("{:?} → {} (attempt {})", event.from, event.to, event.attempt);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntentEvent {
    /// The event's id (increasing).
    pub id: i64,
    /// The intent.
    pub intent_id: i64,
    /// When.
    pub at: SystemTime,
    /// The state before (none for the first event).
    pub from: Option<IntentState>,
    /// The state after.
    pub to: IntentState,
    /// The attempt it belongs to.
    pub attempt: u32,
    /// The error's kind, when an error caused it (`"outcome_unknown"`), or `"resolved"` for a
    /// person's decision.
    pub error_kind: Option<String>,
    /// The provider's code, if any.
    pub provider_code: Option<String>,
    /// What happened, in words (a person's note for a resolution).
    pub detail: Option<String>,
}

/// Which intents [`crate::Ledger::list`] returns. Every condition is optional.
///
/// ```
/// use refund_ledger::{IntentState, ListFilter};
/// let filter = ListFilter::new().state(IntentState::NeedsReview).provider("digipay").limit(50);
/// # let _ = filter;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub(crate) state: Option<IntentState>,
    pub(crate) provider: Option<String>,
    pub(crate) since: Option<SystemTime>,
    pub(crate) batch_id: Option<String>,
    pub(crate) after_id: Option<i64>,
    pub(crate) limit: Option<u32>,
}

impl ListFilter {
    /// Everything.
    ///
    /// ```
    /// let all = refund_ledger::ListFilter::new();
    /// # let _ = all;
    /// ```
    pub fn new() -> Self {
        ListFilter::default()
    }
    refund_core::with_setters! {
        /// Only intents in this state.
        ///
        /// ```
        /// let f = refund_ledger::ListFilter::new().state(refund_ledger::IntentState::Unknown);
        /// # let _ = f;
        /// ```
        state => state: IntentState,
        /// Only this provider's intents (`"aoc"`).
        ///
        /// ```
        /// let f = refund_ledger::ListFilter::new().provider("aoc");
        /// # let _ = f;
        /// ```
        provider => provider: String,
        /// Only intents written down at or after `since`.
        ///
        /// ```
        /// let f = refund_ledger::ListFilter::new().since(std::time::SystemTime::UNIX_EPOCH);
        /// # let _ = f;
        /// ```
        since => since: SystemTime,
        /// Only one batch's intents.
        ///
        /// ```
        /// let f = refund_ledger::ListFilter::new().batch("refunds-2026-12-06.csv");
        /// # let _ = f;
        /// ```
        batch => batch_id: String,
        /// Only intents with an id above `id` (to page through a large ledger).
        ///
        /// ```
        /// let next_page = refund_ledger::ListFilter::new().after(1000).limit(1000);
        /// # let _ = next_page;
        /// ```
        after => after_id: i64,
        /// At most `limit` intents (in id order).
        ///
        /// ```
        /// let f = refund_ledger::ListFilter::new().limit(10);
        /// # let _ = f;
        /// ```
        limit => limit: u32,
    }
}

/// A person's decision about an intent no status read could settle.
///
/// ```
/// assert_eq!(refund_ledger::Resolution::Declined.state().as_str(), "declined");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resolution {
    /// The refund went through (the person saw it in the provider's records).
    Succeeded,
    /// It did not, and will not be sent: its reservation is released.
    Declined,
}

impl Resolution {
    /// The state it leads to.
    ///
    /// ```
    /// assert!(refund_ledger::Resolution::Succeeded.state().is_final());
    /// ```
    pub const fn state(self) -> IntentState {
        match self {
            Resolution::Succeeded => IntentState::Succeeded,
            Resolution::Declined => IntentState::Declined,
        }
    }
}

/// What [`crate::Ledger::reconcile`] did.
///
/// ```no_run
/// # async fn demo(ledger: refund_ledger::Ledger, aoc: refund_aoc::AocClient) -> Result<(), refund_ledger::LedgerError> {
/// let report = ledger.reconcile(&[&aoc]).await?;
/// for change in &report.changed {
///     println!("{}: {} → {} ({})", change.record.id, change.from, change.record.state, change.detail);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Intents whose state changed.
    pub changed: Vec<ReconcileChange>,
    /// Intents looked at and left as they were, with the reason (still pending, the status read
    /// failed).
    pub unchanged: Vec<ReconcileChange>,
    /// Open intents of providers that were not given (left alone).
    pub skipped: usize,
}

/// One intent in a [`ReconcileReport`].
///
/// ```no_run
/// # fn demo(change: refund_ledger::ReconcileChange) {
/// println!("{} was {}: {}", change.record.idempotency_key, change.from, change.detail);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReconcileChange {
    /// The intent as it is now.
    pub record: IntentRecord,
    /// Its state before.
    pub from: IntentState,
    /// What the status read said, or why nothing changed.
    pub detail: String,
}
