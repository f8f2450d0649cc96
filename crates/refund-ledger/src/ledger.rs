//! The refund flows: write the intent down, claim it, send it, record the outcome; and settle
//! what a crash or a lost answer left open.

use std::fmt;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use refund_core::{
    DeclineReason, DirectRefund, Fate, Money, Otp, OtpChallenge, OtpRefund, OtpRefundTarget,
    Provider, ProviderReply, RefundRecord, RefundReference, RefundRequest, RefundStatus, StatusKey,
    StatusQuery, TransactionId,
};

use crate::error::{LedgerError, Result};
use crate::intent::{NewIntent, OtpRefundIntent, RefundIntent};
use crate::record::{
    IntentEvent, IntentKind, IntentRecord, IntentState, ListFilter, ReconcileChange,
    ReconcileReport, Resolution,
};
use crate::store::{Begun, Change, IntentRow, OpenOptions, Store};

/// How long a process may hold an intent it is sending, unless told otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// How many status reads `reconcile` runs at once.
const RECONCILE_CONCURRENCY: usize = 8;

/// The longest provider message kept in the ledger, in characters.
const MESSAGE_CHARS: usize = 500;

/// A durable record of refund intents, on SQLite or PostgreSQL.
///
/// Every refund is two commits: the intent is written down and claimed before the request is
/// built; the provider's answer is recorded after it arrives. A process
/// killed in between leaves the intent `sending` with a lease that runs out; [`Ledger::reconcile`]
/// (or the next submission of the same key) then reads the provider's status before anything
/// else, and nothing is sent twice.
///
/// Cloning is cheap: clones share the connection pools.
///
/// ```no_run
/// use refund_core::{Currency, Money, TransactionId};
/// use refund_ledger::{Ledger, RefundIntent};
///
/// # async fn demo(aoc: refund_aoc::AocClient) -> Result<(), Box<dyn std::error::Error>> {
/// let ledger = Ledger::open("refunds.sqlite").await?; // or "postgres://user@host/db"
/// let intent = RefundIntent::new("order-7/refund-1", TransactionId::new("AOC-CHARGE-1001")?)
///     .amount(Money::parse("1.00", Currency::Myr)?)
///     .charge_amount(Money::parse("10.00", Currency::Myr)?);
/// match ledger.refund(&aoc, &intent).await {
///     Ok(record) => println!("{}: {}", record.state, record.refund_id.unwrap_or_default()),
///     // The error keeps the fate: declined, not processed (submit the same intent again),
///     // or unknown (reconcile first).
///     Err(err) => println!("{} ({}): {err}", err.kind(), err.fate().as_str()),
/// }
/// let report = ledger.reconcile(&[&aoc]).await?;
/// println!("{} settled", report.changed.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Ledger {
    store: Store,
    location: String,
    lease: Duration,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pools: a PostgreSQL pool's options would show the URL's password.
        f.debug_struct("Ledger")
            .field("location", &self.location)
            .field("lease", &self.lease)
            .finish()
    }
}

/// Opens a [`Ledger`] with settings other than the defaults.
///
/// ```no_run
/// # async fn demo() -> Result<(), refund_ledger::LedgerError> {
/// use std::time::Duration;
/// let ledger = refund_ledger::Ledger::builder("postgres://postgres@127.0.0.1:5432/refunds")
///     .lease(Duration::from_secs(120))
///     .max_connections(16)
///     .open()
///     .await?;
/// # let _ = ledger; Ok(()) }
/// ```
#[derive(Clone)]
pub struct LedgerBuilder {
    url: String,
    lease: Duration,
    options: OpenOptions,
}

impl fmt::Debug for LedgerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LedgerBuilder")
            .field(
                "url",
                &if self.url.contains('@') { "(a URL with credentials)" } else { &self.url },
            )
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl LedgerBuilder {
    /// How long a process may hold an intent it is sending (default [`DEFAULT_LEASE`]). The
    /// ledger gives up waiting for the provider's answer a little before it runs out (the
    /// outcome is then unknown), so no request outlives its lease; after it, another process
    /// may settle the intent by a status read. Set it above the client's own total deadline
    /// (timeout times attempts).
    ///
    /// ```
    /// let b = refund_ledger::Ledger::builder("refunds.sqlite").lease(std::time::Duration::from_secs(60));
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
    /// How long a SQLite write waits for another process's write to finish (default 5 s).
    ///
    /// ```
    /// let b = refund_ledger::Ledger::builder("refunds.sqlite").busy_timeout(std::time::Duration::from_secs(1));
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.options.busy_timeout = timeout;
        self
    }
    /// How long to wait for a connection (default 5 s): an unreachable server fails after it.
    ///
    /// ```
    /// let b = refund_ledger::Ledger::builder("postgres://u@db/x").connect_timeout(std::time::Duration::from_secs(2));
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }
    /// The most connections to PostgreSQL (default 16), or SQLite readers (at most 8; SQLite has
    /// one writer per process).
    ///
    /// ```
    /// let b = refund_ledger::Ledger::builder("postgres://u@db/x").max_connections(32);
    /// # let _ = b;
    /// ```
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.options.max_connections = max.max(1);
        self
    }
    /// Opens the ledger: creates the SQLite file and its folder if needed, and brings the schema
    /// up to date.
    ///
    /// Fails with [`LedgerError::Config`] (a malformed URL, a folder that cannot be created),
    /// [`LedgerError::SchemaTooNew`] (written by a newer version) or [`LedgerError::Unavailable`]
    /// (a server that cannot be reached, a SQLite file locked by another process).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), refund_ledger::LedgerError> {
    /// let ledger = refund_ledger::Ledger::builder("data/refunds.sqlite").open().await?;
    /// # let _ = ledger; Ok(()) }
    /// ```
    pub async fn open(self) -> Result<Ledger> {
        if self.lease < Duration::from_secs(1) {
            return Err(LedgerError::invalid_input("lease", "must be at least one second"));
        }
        let (store, location) = Store::open(&self.url, &self.options).await?;
        Ok(Ledger { store, location, lease: self.lease })
    }
}

/// What is being asked of the provider.
#[derive(Clone, Copy)]
enum Sender<'a> {
    /// A refund in one call.
    Direct(&'a dyn DirectRefund),
    /// Send (or resend) the OTP; never claims the intent.
    SendOtp(&'a dyn OtpRefund),
    /// Confirm with the customer's OTP.
    Confirm(&'a dyn OtpRefund, &'a Otp),
}

impl<'a> Sender<'a> {
    fn provider(self) -> &'a dyn Provider {
        match self {
            Sender::Direct(p) => p,
            Sender::SendOtp(p) | Sender::Confirm(p, _) => p,
        }
    }
    fn kind(self) -> IntentKind {
        match self {
            Sender::Direct(_) => IntentKind::Direct,
            Sender::SendOtp(_) | Sender::Confirm(..) => IntentKind::Otp,
        }
    }
}

impl Ledger {
    /// Opens (and creates, and migrates) the ledger at `url` with the default settings: a file
    /// path or `sqlite://PATH` for SQLite, `postgres://…` for PostgreSQL.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), refund_ledger::LedgerError> {
    /// let ledger = refund_ledger::Ledger::open("refunds.sqlite").await?;
    /// println!("ledger at {}", ledger.location());
    /// # Ok(()) }
    /// ```
    pub async fn open(url: impl Into<String>) -> Result<Ledger> {
        Ledger::builder(url).open().await
    }

    /// A builder for a ledger at `url`.
    ///
    /// ```
    /// let builder = refund_ledger::Ledger::builder("refunds.sqlite");
    /// # let _ = builder;
    /// ```
    pub fn builder(url: impl Into<String>) -> LedgerBuilder {
        LedgerBuilder {
            url: url.into(),
            lease: DEFAULT_LEASE,
            options: OpenOptions {
                busy_timeout: Duration::from_secs(5),
                connect_timeout: Duration::from_secs(5),
                max_connections: 16,
            },
        }
    }

    /// Where the ledger is: the SQLite file's path, or the PostgreSQL URL with its password masked.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) {
    /// eprintln!("ledger: {}", ledger.location());
    /// # }
    /// ```
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Refunds `intent` through `provider`, exactly once whatever happens around it.
    ///
    /// - A new key: the intent is written down and claimed, then sent; its outcome is recorded.
    /// - The same key with the same parameters: the recorded outcome is returned and nothing is
    ///   sent ([`IntentRecord::replayed`]); an intent that was not processed is sent again under
    ///   the same reference; one whose outcome is unknown is first settled by the provider's
    ///   status read, and sent again only if the read proves it never arrived (AOC).
    /// - The same key with other parameters: [`LedgerError::Conflict`]; another process sending
    ///   it now: [`LedgerError::InProgress`].
    ///
    /// `Ok` holds a succeeded or pending record. Every error keeps its fate
    /// ([`LedgerError::fate`]).
    ///
    /// ```no_run
    /// # use refund_core::{Currency, Money, TransactionId};
    /// # async fn demo(ledger: refund_ledger::Ledger, digipay: refund_digipay::DigiPayClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let intent = refund_ledger::RefundIntent::new("return-42", TransactionId::new("DP-TXN-2001")?)
    ///     .amount(Money::parse("100", Currency::Inr)?);
    /// let record = ledger.refund(&digipay, &intent).await?;
    /// assert!(!record.replayed);
    /// let again = ledger.refund(&digipay, &intent).await?; // sends nothing
    /// assert!(again.replayed);
    /// # Ok(()) }
    /// ```
    pub async fn refund(
        &self,
        provider: &dyn DirectRefund,
        intent: &RefundIntent,
    ) -> Result<IntentRecord> {
        let new = intent.to_new(provider.capabilities().provider)?;
        let begun = self.store.begin(&new, Some(self.lease_until())).await?;
        match self.accept(&new, begun)? {
            (row, true) => self.send(Sender::Direct(provider), row).await,
            (row, false) => self.drive(Sender::Direct(provider), row).await,
        }
    }

    /// Writes `intent` down as `reserved` without sending anything (a batch registers every row
    /// first). A later [`Ledger::refund`] of the same intent sends it. An existing key with the
    /// same parameters returns its record, in whatever state it is.
    ///
    /// ```no_run
    /// # use refund_core::TransactionId;
    /// # async fn demo(ledger: refund_ledger::Ledger, aoc: refund_aoc::AocClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let intent = refund_ledger::RefundIntent::new("row-2", TransactionId::new("AOC-CHARGE-1002")?);
    /// let record = ledger.reserve(&aoc, &intent).await?;
    /// println!("{} is {}", record.idempotency_key, record.state);
    /// # Ok(()) }
    /// ```
    pub async fn reserve(
        &self,
        provider: &dyn Provider,
        intent: &RefundIntent,
    ) -> Result<IntentRecord> {
        let mut results = self.reserve_all([(provider, intent)]).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(LedgerError::NotFound(intent.idempotency_key().to_owned())))
    }

    /// [`Ledger::reserve`] for many intents in one transaction: one result per intent, in order
    /// (a conflict or an over-refund refuses that intent only).
    ///
    /// ```no_run
    /// # use refund_core::TransactionId;
    /// # async fn demo(ledger: refund_ledger::Ledger, aoc: refund_aoc::AocClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let rows = [
    ///     refund_ledger::RefundIntent::new("row-2", TransactionId::new("AOC-CHARGE-1001")?),
    ///     refund_ledger::RefundIntent::new("row-3", TransactionId::new("AOC-CHARGE-1002")?),
    /// ];
    /// for result in ledger.reserve_all(rows.iter().map(|r| (&aoc as &dyn refund_core::Provider, r))).await? {
    ///     println!("{:?}", result.map(|r| r.state));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reserve_all<'a>(
        &self,
        intents: impl IntoIterator<Item = (&'a dyn Provider, &'a RefundIntent)>,
    ) -> Result<Vec<Result<IntentRecord>>> {
        let mut news = Vec::new();
        let mut results: Vec<Option<Result<IntentRecord>>> = Vec::new();
        for (provider, intent) in intents {
            match intent.to_new(provider.capabilities().provider) {
                Ok(new) => {
                    news.push(new);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut begun = self.store.begin_all(&news).await?.into_iter().zip(&news);
        Ok(results
            .into_iter()
            .map(|slot| {
                slot.unwrap_or_else(|| match begun.next() {
                    Some((begun, new)) => self.accept(new, begun).map(|(row, fresh)| {
                        let mut record = row.to_record();
                        record.replayed = !fresh;
                        record
                    }),
                    None => {
                        Err(LedgerError::invalid_input("intents", "internal: a result is missing"))
                    }
                })
            })
            .collect())
    }

    /// Sends (or resends) the customer's OTP for `intent`, writing the intent down first.
    ///
    /// `Ok` holds the intent: `reserved` (or `not_processed`) with the OTP sent and Eko's
    /// `otp_ref_id` recorded; or, for a key whose refund already succeeded, that record, with
    /// nothing sent. Repeating it is safe: an OTP moves no money.
    ///
    /// ```no_run
    /// # use refund_core::{OtpRefundTarget, TransactionId};
    /// # async fn demo(ledger: refund_ledger::Ledger, eko: refund_otp::OtpRefundClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let intent = refund_ledger::OtpRefundIntent::new(
    ///     "tid-13192443",
    ///     OtpRefundTarget::new(TransactionId::new("13192443")?),
    /// );
    /// let record = ledger.send_otp(&eko, &intent).await?;
    /// println!("OTP sent; confirm with key {}", record.idempotency_key);
    /// # Ok(()) }
    /// ```
    pub async fn send_otp(
        &self,
        provider: &dyn OtpRefund,
        intent: &OtpRefundIntent,
    ) -> Result<IntentRecord> {
        let new = intent.to_new(provider.capabilities().provider)?;
        let begun = self.store.begin(&new, None).await?;
        let (row, _) = self.accept(&new, begun)?;
        self.drive(Sender::SendOtp(provider), row).await
    }

    /// Confirms the OTP refund under `idempotency_key` with the customer's `otp`.
    ///
    /// The confirmation goes out at most once per intent once it may have reached the
    /// provider: a repeat returns the recorded outcome, and an outcome left unknown is settled
    /// by the provider's status read, never by confirming again. Only a confirmation that was
    /// not processed may be made again: a wrong or expired OTP leaves the intent
    /// `not_processed` (the error says declined, with the reason), so the customer can confirm
    /// with a new OTP under the same key.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger, eko: refund_otp::OtpRefundClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let otp = refund_core::Otp::new("123456")?;
    /// let record = ledger.confirm_otp(&eko, "tid-13192443", &otp).await?;
    /// println!("{}", record.state);
    /// # Ok(()) }
    /// ```
    pub async fn confirm_otp(
        &self,
        provider: &dyn OtpRefund,
        idempotency_key: &str,
        otp: &Otp,
    ) -> Result<IntentRecord> {
        let row = self.store.by_key(idempotency_key).await?.ok_or_else(|| {
            LedgerError::NotFound(format!("{idempotency_key:?} (send the OTP first)"))
        })?;
        self.drive(Sender::Confirm(provider, otp), row).await
    }

    /// Settles every intent left open: `sending` past its lease (a crash), `unknown` and
    /// `pending`, by each provider's status read (AOC `refundStatus` by `spTransID`, BOS
    /// `TransactStatus`, Eko's transaction inquiry). An intent of a provider without a status
    /// read (DigiPay) goes to `needs_review` for a person ([`Ledger::resolve`]); it is never sent
    /// again. An AOC refund the provider has never seen becomes `not_processed`, to be sent again
    /// (under the same `spTransID`) by the next [`Ledger::refund`] of its key. Intents of
    /// providers not in `providers` are left alone and counted in
    /// [`ReconcileReport::skipped`].
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger, aoc: refund_aoc::AocClient, eko: refund_otp::OtpRefundClient) -> Result<(), refund_ledger::LedgerError> {
    /// let report = ledger.reconcile(&[&aoc, &eko]).await?;
    /// for change in report.changed {
    ///     println!("{} {} → {}: {}", change.record.id, change.from, change.record.state, change.detail);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reconcile(&self, providers: &[&dyn Provider]) -> Result<ReconcileReport> {
        let rows = self.store.unsettled().await?;
        let mut report = ReconcileReport::default();
        let mut todo = Vec::new();
        for row in rows {
            match providers.iter().find(|p| p.capabilities().provider == row.provider) {
                Some(provider) if !row.lease_live() => todo.push((*provider, row)),
                Some(_) => {}
                None => report.skipped += 1,
            }
        }
        let settled: Vec<Result<(IntentState, IntentRow, String)>> =
            futures_util::stream::iter(todo)
                .map(|(provider, row)| async move {
                    let from = row.state();
                    let (row, detail) = self.settle(provider, row).await?;
                    Ok((from, row, detail))
                })
                .buffered(RECONCILE_CONCURRENCY)
                .collect()
                .await;
        for result in settled {
            let (from, row, detail) = result?;
            let change = ReconcileChange { record: row.to_record(), from, detail };
            if change.record.state == from {
                report.unchanged.push(change);
            } else {
                report.changed.push(change);
            }
        }
        Ok(report)
    }

    /// Records a person's decision about an intent no status read could settle (a DigiPay
    /// refund whose answer was lost, say), with their `note`. Also how a person abandons an
    /// intent that was never processed: resolve it as declined, and its reservation is released.
    /// Final intents and one being sent now cannot be resolved.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
    /// use refund_ledger::Resolution;
    /// let record = ledger.resolve(17, Resolution::Succeeded, "DigiPay dashboard shows txn 8812 refunded").await?;
    /// assert_eq!(record.state.as_str(), "succeeded");
    /// # Ok(()) }
    /// ```
    pub async fn resolve(
        &self,
        id: i64,
        resolution: Resolution,
        note: &str,
    ) -> Result<IntentRecord> {
        let note = note.trim();
        if note.is_empty() {
            return Err(LedgerError::invalid_input(
                "note",
                "say why: the note is the audit trail of the decision",
            ));
        }
        let row = self.store.get(id).await?.ok_or_else(|| LedgerError::NotFound(id.to_string()))?;
        let state = row.state();
        if state.is_final() {
            return Err(LedgerError::invalid_input(
                "id",
                format!("intent {id} is already {state}: there is nothing to resolve"),
            ));
        }
        if row.lease_live() {
            return Err(LedgerError::InProgress { record: Box::new(row.to_record()) });
        }
        let decision = format!("resolved by a person as {}: {}", resolution.state(), clip(note));
        let change = Change {
            to: Some(resolution.state()),
            error_kind: Some("resolved".to_owned()),
            // The record's last word is the person's, not the lost answer's error.
            message: Some(decision.clone()),
            detail: Some(decision),
            ..Change::default()
        };
        match self.store.change(&row, &change, Fate::NotSent).await? {
            Some(row) => Ok(row.to_record()),
            None => Err(LedgerError::InProgress {
                record: Box::new(self.reload(id).await?.to_record()),
            }),
        }
    }

    /// The intent with this id.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
    /// if let Some(record) = ledger.get(1).await? { println!("{}", record.state); }
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: i64) -> Result<Option<IntentRecord>> {
        Ok(self.store.get(id).await?.map(|row| row.to_record()))
    }

    /// The intent under this idempotency key.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
    /// let record = ledger.by_key("order-7/refund-1").await?;
    /// # let _ = record; Ok(()) }
    /// ```
    pub async fn by_key(&self, key: &str) -> Result<Option<IntentRecord>> {
        Ok(self.store.by_key(key).await?.map(|row| row.to_record()))
    }

    /// The intents `filter` selects, in id order.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
    /// use refund_ledger::{IntentState, ListFilter};
    /// for record in ledger.list(&ListFilter::new().state(IntentState::NeedsReview)).await? {
    ///     println!("{} {} {}", record.id, record.provider, record.original_transaction_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<IntentRecord>> {
        Ok(self.store.list(filter).await?.iter().map(IntentRow::to_record).collect())
    }

    /// Every transition of the intent `id`, oldest first: the audit trail.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) -> Result<(), refund_ledger::LedgerError> {
    /// for event in ledger.events(1).await? { println!("{:?} → {}", event.from, event.to); }
    /// # Ok(()) }
    /// ```
    pub async fn events(&self, id: i64) -> Result<Vec<IntentEvent>> {
        Ok(self.store.events(id).await?.iter().map(|e| e.to_event()).collect())
    }

    /// Closes the connections, waiting for those in use.
    ///
    /// ```no_run
    /// # async fn demo(ledger: refund_ledger::Ledger) { ledger.close().await; }
    /// ```
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Turns what writing a new intent found into the row to go on with and whether this call
    /// wrote (or claimed) it, or a refusal.
    fn accept(&self, new: &NewIntent, begun: Begun) -> Result<(IntentRow, bool)> {
        match begun {
            Begun::Created(row) | Begun::Claimed { row, .. } => {
                step("intent_committed", &row);
                Ok((row, true))
            }
            Begun::Existing(row) if row.params_hash == new.params_hash => Ok((row, false)),
            Begun::Existing(row) => Err(LedgerError::Conflict {
                key: new.key.clone(),
                differs: differences(new, &row),
                existing: Box::new(row.to_record()),
            }),
            Begun::OverRefund { charge_minor, held_minor } => {
                let money = |minor: i64| {
                    Money::from_minor_units(u64::try_from(minor).unwrap_or(0), currency_of(new))
                };
                Err(LedgerError::OverRefund {
                    provider: new.provider.to_owned(),
                    original_transaction_id: new.original.clone(),
                    charge: money(charge_minor),
                    held: money(held_minor),
                    requested: new.amount.unwrap_or_else(|| money(0)),
                })
            }
            Begun::ChargeMismatch { charge_minor, currency } => Err(LedgerError::invalid_input(
                "charge_amount",
                format!(
                    "{} {} is recorded with {} {currency}; every refund of one charge must give the same charge amount and currency",
                    new.provider,
                    new.original,
                    charge_minor
                        .map_or_else(|| "no amount".to_owned(), |m| format!("{m} minor units of")),
                ),
            )),
        }
    }

    /// Takes an existing intent as far as it can go without sending anything twice.
    async fn drive(&self, sender: Sender<'_>, mut row: IntentRow) -> Result<IntentRecord> {
        let provider = sender.provider().capabilities().provider;
        if row.provider != provider || row.kind != sender.kind().as_str() {
            return Err(LedgerError::invalid_input(
                "idempotency_key",
                format!(
                    "{:?} is a {} refund of {}, not a {} refund of {provider}",
                    row.idempotency_key,
                    row.kind,
                    row.provider,
                    sender.kind()
                ),
            ));
        }
        let mut settled_once = false;
        loop {
            match row.state() {
                IntentState::Succeeded | IntentState::Pending => return Ok(replayed(&row)),
                IntentState::Declined | IntentState::NeedsReview => return Err(recorded(&row)),
                IntentState::Sending if row.lease_live() => {
                    return Err(LedgerError::InProgress { record: Box::new(row.to_record()) });
                }
                IntentState::Sending | IntentState::Unknown => {
                    // Settled at most once per call: a read that cannot tell leaves it as it is.
                    if settled_once {
                        return Err(recorded(&row));
                    }
                    settled_once = true;
                    let version = row.version;
                    row = self.settle(sender.provider(), row).await?.0;
                    if row.version == version {
                        return Err(recorded(&row));
                    }
                }
                IntentState::Reserved | IntentState::NotProcessed => {
                    if let Sender::SendOtp(otp_provider) = sender {
                        return self.send_otp_now(otp_provider, row).await;
                    }
                    match self.store.claim(&row, self.lease_until()).await? {
                        Some(claimed) => return self.send(sender, claimed).await,
                        None => row = self.reload(row.id).await?,
                    }
                }
            }
        }
    }

    /// Sends a claimed intent and records its outcome.
    async fn send(&self, sender: Sender<'_>, claimed: IntentRow) -> Result<IntentRecord> {
        step("sending", &claimed);
        let provider = sender.provider().capabilities().provider;
        let call = async {
            match sender {
                Sender::Direct(p) => p.refund(&refund_request(&claimed)?).await,
                Sender::Confirm(p, otp) => {
                    p.confirm_otp(&challenge(provider, &claimed)?, otp).await
                }
                Sender::SendOtp(_) => {
                    Err(refund_core::Error::invalid_input("operation", "an OTP is not a refund"))
                }
            }
        };
        let budget = self.call_budget(&claimed);
        let result = if budget.is_zero() {
            // Committing the claim took the whole lease: another process may settle it now, so
            // nothing goes out. Recorded as not sent.
            Err(refund_core::Error::config(
                "the ledger's lease ran out while the claim was committed; nothing was sent",
            ))
        } else {
            tokio::time::timeout(budget, call).await.unwrap_or_else(|_| {
            Err(refund_core::Error::outcome_unknown(
                ProviderReply::new(provider, "refund"),
                format!(
                    "no answer within the ledger's lease ({} s); the request may have reached the provider",
                    budget.as_secs()
                ),
                None,
            ))
            })
        };
        step("answer_received", &claimed);
        let change = outcome(&result);
        let fate = match &result {
            Err(e) if e.fate() == Fate::NotSent => Fate::NotSent,
            _ => Fate::Unknown,
        };
        let row = match self.store.change(&claimed, &change, fate).await? {
            Some(row) => row,
            // Someone settled it first (our lease ran out): theirs is the record.
            None => self.reload(claimed.id).await?,
        };
        step("outcome_committed", &row);
        let record = row.to_record();
        match result {
            Ok(_) if matches!(record.state, IntentState::Succeeded | IntentState::Pending) => {
                Ok(record)
            }
            Ok(_) => Err(LedgerError::Recorded { record: Box::new(record) }),
            Err(source) => Err(LedgerError::Refund { record: Box::new(record), source }),
        }
    }

    /// Sends the OTP of a reserved (or not processed) OTP intent and records Eko's reference.
    async fn send_otp_now(&self, provider: &dyn OtpRefund, row: IntentRow) -> Result<IntentRecord> {
        let challenge = match target(&row) {
            Ok(target) => provider.send_otp(&target).await,
            Err(e) => Err(e),
        }
        .map_err(|source| LedgerError::Refund { record: Box::new(row.to_record()), source })?;
        let change = Change {
            otp_ref_id: challenge.otp_ref_id,
            message: challenge.message.map(|m| clip(&m)),
            detail: Some("OTP sent to the customer".to_owned()),
            ..Change::default()
        };
        match self.store.change(&row, &change, Fate::NotSent).await? {
            Some(row) => Ok(row.to_record()),
            None => Ok(self.reload(row.id).await?.to_record()),
        }
    }

    /// Reads the provider's status for an open intent and records what it proves. Returns the
    /// row as it is now (unchanged when the read could not tell) and what happened, in words.
    async fn settle(&self, provider: &dyn Provider, row: IntentRow) -> Result<(IntentRow, String)> {
        let caps = provider.capabilities();
        let (to, detail, answer) = match (provider.as_status_read(), caps.status_key) {
            (Some(reader), Some(key)) => {
                let query = match key {
                    StatusKey::RefundReference => {
                        RefundReference::new(row.reference.clone()).map(StatusQuery::Reference)
                    }
                    _ => TransactionId::new(row.original_transaction_id.clone())
                        .map(StatusQuery::OriginalTransaction),
                };
                let answer = match query {
                    Ok(query) => reader.refund_status(&query).await,
                    Err(e) => Err(e),
                };
                match answer {
                    Ok(answer) => {
                        let (to, detail) = settled_state(&answer.status, caps.idempotent_refund);
                        (to, detail, Some(answer))
                    }
                    Err(e) => {
                        return Ok((row, format!("the status read failed, nothing changed: {e}")));
                    }
                }
            }
            _ => (
                IntentState::NeedsReview,
                format!(
                    "{} has no status read, so no program can tell whether it went through: a person \
                     settles it (resolve); it is never sent again",
                    caps.display_name
                ),
                None,
            ),
        };
        if to == row.state() {
            return Ok((row, detail));
        }
        let change = Change {
            to: Some(to),
            refund_id: answer.as_ref().and_then(|a| a.refund_id.clone()),
            provider_code: answer.as_ref().and_then(|a| a.provider_code.clone()),
            message: answer.as_ref().and_then(|a| a.message.as_deref().map(clip)),
            detail: Some(detail.clone()),
            ..Change::default()
        };
        let settled = match self.store.change(&row, &change, Fate::NotSent).await? {
            Some(row) => row,
            None => self.reload(row.id).await?,
        };
        step("settled", &settled);
        Ok((settled, detail))
    }

    async fn reload(&self, id: i64) -> Result<IntentRow> {
        self.store.get(id).await?.ok_or_else(|| LedgerError::NotFound(id.to_string()))
    }

    fn lease_until(&self) -> SystemTime {
        SystemTime::now() + self.lease
    }

    /// The longest the ledger waits for an answer: until a little before the lease stored with
    /// the claim runs out, so that no other process settles an intent whose request may still be
    /// on its way. Counted from the stored lease, not from now + lease: the time the claim took
    /// to commit (a queue of writers, a busy file) is already gone from it.
    fn call_budget(&self, claimed: &IntentRow) -> Duration {
        let margin = (self.lease / 4).min(Duration::from_secs(5));
        let left = claimed
            .lease_until_ms
            .map(crate::store::time)
            .and_then(|until| until.duration_since(SystemTime::now()).ok())
            .unwrap_or_default();
        left.saturating_sub(margin)
    }
}

/// What a status read proves about an open intent.
fn settled_state(status: &RefundStatus, keyed: bool) -> (IntentState, String) {
    match status {
        RefundStatus::Succeeded => (IntentState::Succeeded, "the status read shows it refunded".into()),
        RefundStatus::Failed => (IntentState::Declined, "the status read shows the refund failed".into()),
        RefundStatus::NotRefunded if keyed => (
            IntentState::NotProcessed,
            "the provider has no refund under this reference: it never arrived; it is sent again, \
             under the same reference, when its key is submitted again"
                .into(),
        ),
        RefundStatus::NotRefunded => (
            IntentState::Declined,
            "the status read shows the transfer still awaits its refund: the claim did not take effect"
                .into(),
        ),
        RefundStatus::Pending => (IntentState::Pending, "the provider is still processing it".into()),
        other => (
            IntentState::NeedsReview,
            format!("the status read answered {:?}, which proves neither outcome: a person settles it", other.as_str()),
        ),
    }
}

/// The state, ids and words an answer (or error) leaves an intent in.
fn outcome(result: &refund_core::Result<RefundRecord>) -> Change {
    match result {
        Ok(record) => Change {
            to: Some(match record.status {
                RefundStatus::Succeeded => IntentState::Succeeded,
                RefundStatus::Pending => IntentState::Pending,
                RefundStatus::Failed => IntentState::Declined,
                _ => IntentState::Unknown,
            }),
            refund_id: record.refund_id.clone(),
            provider_code: record.provider_code.clone(),
            message: record.message.as_deref().map(clip),
            ..Change::default()
        },
        Err(e) => Change {
            to: Some(match e.fate() {
                // A wrong or expired OTP refused this confirmation, not the refund: the customer
                // may confirm again with a new OTP.
                Fate::Declined
                    if matches!(
                        e.decline_reason(),
                        Some(DeclineReason::InvalidOtp | DeclineReason::OtpExpired)
                    ) =>
                {
                    IntentState::NotProcessed
                }
                Fate::Declined => IntentState::Declined,
                Fate::NotSent | Fate::NotProcessed => IntentState::NotProcessed,
                _ => IntentState::Unknown,
            }),
            provider_code: e.reply().and_then(|r| r.code()).map(str::to_owned),
            message: Some(clip(&e.to_string())),
            error_kind: Some(e.kind().to_owned()),
            ..Change::default()
        },
    }
}

fn refund_request(row: &IntentRow) -> refund_core::Result<RefundRequest> {
    let mut request = RefundRequest::new(TransactionId::new(row.original_transaction_id.clone())?)
        .with_reference(RefundReference::new(row.reference.clone())?);
    if let Some(amount) = row.money(row.amount_minor) {
        request = request.with_amount(amount);
    }
    if let Some(note) = &row.note {
        request = request.with_note(note.clone());
    }
    Ok(request)
}

fn target(row: &IntentRow) -> refund_core::Result<OtpRefundTarget> {
    let mut target = OtpRefundTarget::new(TransactionId::new(row.original_transaction_id.clone())?);
    if let Some(ack) = &row.acknowledgement {
        target = target.with_acknowledgement(ack.clone());
    }
    Ok(target)
}

fn challenge(provider: &'static str, row: &IntentRow) -> refund_core::Result<OtpChallenge> {
    let mut challenge = OtpChallenge::new(provider, target(row)?);
    if let Some(otp_ref_id) = &row.otp_ref_id {
        challenge = challenge.with_otp_ref_id(otp_ref_id.clone());
    }
    Ok(challenge)
}

fn replayed(row: &IntentRow) -> IntentRecord {
    let mut record = row.to_record();
    record.replayed = true;
    record
}

fn recorded(row: &IntentRow) -> LedgerError {
    LedgerError::Recorded { record: Box::new(replayed(row)) }
}

fn currency_of(new: &NewIntent) -> refund_core::Currency {
    new.amount.or(new.charge_amount).map_or(refund_core::Currency::Inr, |m| m.currency())
}

/// What differs between a new intent and the one already under its key, in words.
fn differences(new: &NewIntent, row: &IntentRow) -> String {
    let existing = row.to_record();
    let mut out = Vec::new();
    if row.provider != new.provider {
        out.push(format!("provider {} ≠ {}", row.provider, new.provider));
    }
    if row.kind != new.kind.as_str() {
        out.push(format!("kind {} ≠ {}", row.kind, new.kind));
    }
    if row.original_transaction_id != new.original {
        out.push(format!(
            "original transaction {} ≠ {}",
            row.original_transaction_id, new.original
        ));
    }
    if existing.amount != new.amount {
        let show = |m: Option<Money>| m.map_or_else(|| "none".to_owned(), |m| m.to_string());
        out.push(format!("amount {} ≠ {}", show(existing.amount), show(new.amount)));
    }
    if row.reference != new.reference {
        out.push(format!("reference {} ≠ {}", row.reference, new.reference));
    }
    if row.note != new.note || row.acknowledgement != new.acknowledgement {
        out.push("note or acknowledgement".to_owned());
    }
    if out.is_empty() { "its parameters".to_owned() } else { out.join(", ") }
}

/// At most [`MESSAGE_CHARS`] characters of a message.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Marks a step of a refund on the log (`refund_ledger` target, debug level): where a process
/// was when it stopped, and what crash tests stop it at.
fn step(name: &'static str, row: &IntentRow) {
    tracing::debug!(step = name, id = row.id, key = %row.idempotency_key, state = %row.state, attempt = row.attempts, "ledger step");
}
