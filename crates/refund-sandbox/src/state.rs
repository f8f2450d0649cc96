//! The sandbox's books and bookkeeping, behind one mutex so each request is atomic.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::Value;

use crate::executed::ExecutedRefund;
use crate::fault::{Fault, FaultSpec, Provider, Route, Trigger};
use crate::original::{OriginalTransaction, TransactionError};
use crate::seed;

/// Settings fixed when the sandbox is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) bos_token_required: bool,
    pub(crate) otp_ttl: Duration,
    pub(crate) otp_leading_zero: bool,
    pub(crate) eko_clock_skew_ms: i64,
    pub(crate) rng_seed: u64,
    pub(crate) faults: Vec<(Route, FaultSpec)>,
    /// Original transactions added by the builder; moved into the state when the sandbox starts.
    pub(crate) originals: Vec<OriginalTransaction>,
}

/// An original transaction that partial refunds accumulate against.
#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub(crate) amount_minor: i64,
    pub(crate) refunded_minor: i64,
    pub(crate) refund_count: u32,
}

impl Charge {
    fn new(amount_minor: i64) -> Self {
        Charge { amount_minor, refunded_minor: 0, refund_count: 0 }
    }
}

/// An issued OTP.
#[derive(Debug, Clone)]
pub(crate) struct Otp {
    pub(crate) code: u32,
    pub(crate) ref_id: String,
    pub(crate) expires: Instant,
}

impl Otp {
    pub(crate) fn text(&self) -> String {
        format!("{:06}", self.code)
    }
}

/// A failed BOS transfer waiting for its refund.
#[derive(Debug, Clone)]
pub(crate) struct BosTransfer {
    pub(crate) ackno: u64,
    pub(crate) charge: Charge,
    pub(crate) otp: Option<Otp>,
    pub(crate) refund_txn_id: Option<String>,
    pub(crate) date_refunded: Option<String>,
}

/// An Eko transfer.
#[derive(Debug, Clone)]
pub(crate) struct EkoTransfer {
    pub(crate) tx_status: u8,
    pub(crate) charge: Charge,
    pub(crate) otp: Option<Otp>,
    pub(crate) refund_tid: Option<String>,
}

#[derive(Debug)]
struct ActiveFault {
    spec: FaultSpec,
}

/// Everything mutable.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) aoc_charges: HashMap<String, Charge>,
    /// AOC refund answers by `spTransID`, so a duplicate and `refundStatus` can answer for them.
    pub(crate) aoc_refunds: HashMap<String, Value>,
    pub(crate) digipay_txns: HashMap<String, Charge>,
    /// DigiPay tokens from `authenticate`, with their expiry in Unix seconds.
    pub(crate) digipay_tokens: HashMap<String, i64>,
    pub(crate) bos: BTreeMap<u64, BosTransfer>,
    pub(crate) eko: BTreeMap<String, EkoTransfer>,
    pub(crate) counter: u64,
    pub(crate) otp_rng: fastrand::Rng,
    fault_rng: fastrand::Rng,
    faults: HashMap<Route, ActiveFault>,
    requests: HashMap<Route, u64>,
    /// Original transactions added besides the seeded ones, in order; a reset keeps them.
    originals: Vec<OriginalTransaction>,
    /// Every refund executed since start or the last reset, in order.
    executed: Vec<ExecutedRefund>,
}

impl State {
    /// The seeded books plus `originals`; `Err` names the first one that cannot be added.
    pub(crate) fn new(
        config: &Config,
        originals: Vec<OriginalTransaction>,
    ) -> Result<Self, TransactionError> {
        let mut s = State::seeded(config);
        s.add_originals(originals)?;
        Ok(s)
    }

    /// Back to the seeded books plus every added original transaction, with nothing refunded.
    pub(crate) fn reset(&mut self, config: &Config) {
        let originals = std::mem::take(&mut self.originals);
        *self = State::seeded(config);
        // Each one was checked when it was added, against books that held at least the seeded ones.
        if let Err(e) = self.add_originals(originals) {
            tracing::warn!(error = %e, "sandbox reset dropped added original transactions");
        }
    }

    /// Adds many original transactions, in order, with room made for them first.
    fn add_originals(
        &mut self,
        originals: Vec<OriginalTransaction>,
    ) -> Result<(), TransactionError> {
        let count = |p: Provider| originals.iter().filter(|t| t.provider() == p).count();
        self.aoc_charges.reserve(count(Provider::Aoc));
        self.digipay_txns.reserve(count(Provider::Digipay));
        self.originals.reserve(originals.len());
        for tx in originals {
            self.add_original(tx)?;
        }
        Ok(())
    }

    /// Adds an original transaction to its provider's books. The maps are keyed by id, so the cost
    /// of this and of every request stays the same however many transactions there are.
    pub(crate) fn add_original(&mut self, tx: OriginalTransaction) -> Result<(), TransactionError> {
        tx.check()?;
        let taken = match &tx {
            OriginalTransaction::Aoc { id, .. } => self.aoc_charges.contains_key(id),
            OriginalTransaction::Digipay { id, .. } => self.digipay_txns.contains_key(id),
            OriginalTransaction::Bos { referenceid, .. } => self.bos.contains_key(referenceid),
            OriginalTransaction::Eko { tid, .. } => self.eko.contains_key(tid),
        };
        if taken {
            return Err(TransactionError::DuplicateId { provider: tx.provider(), id: tx.id() });
        }
        match &tx {
            OriginalTransaction::Aoc { id, amount_minor } => {
                self.aoc_charges.insert(id.clone(), Charge::new(*amount_minor));
            }
            OriginalTransaction::Digipay { id, amount_minor } => {
                self.digipay_txns.insert(id.clone(), Charge::new(*amount_minor));
            }
            OriginalTransaction::Bos { referenceid, ackno, amount_minor } => {
                self.bos.insert(*referenceid, BosTransfer::new(*ackno, *amount_minor));
            }
            OriginalTransaction::Eko { tid, amount_minor } => {
                self.eko.insert(tid.clone(), EkoTransfer::new(3, *amount_minor));
            }
        }
        self.originals.push(tx);
        Ok(())
    }

    /// How many original transactions were added for `provider`.
    pub(crate) fn originals_of(&self, provider: Provider) -> usize {
        self.originals.iter().filter(|t| t.provider() == provider).count()
    }

    /// Appends an executed refund (the books just changed) to the log.
    pub(crate) fn record_refund(
        &mut self,
        provider: Provider,
        original_id: &str,
        amount_minor: i64,
        key: &str,
        refund_id: &str,
    ) {
        let seq = self.executed.len() as u64 + 1;
        self.executed.push(ExecutedRefund {
            seq,
            provider,
            original_id: original_id.to_owned(),
            amount_minor,
            currency: provider.currency().to_owned(),
            key: key.to_owned(),
            refund_id: refund_id.to_owned(),
        });
    }

    pub(crate) fn executed_refunds(&self) -> Vec<ExecutedRefund> {
        self.executed.clone()
    }

    /// The seeded books, with the builder's faults.
    fn seeded(config: &Config) -> Self {
        let mut s = State {
            aoc_charges: HashMap::from([
                (seed::AOC_CHARGE_1001.to_owned(), Charge::new(seed::AOC_CHARGE_1001_MINOR)),
                (seed::AOC_CHARGE_1002.to_owned(), Charge::new(seed::AOC_CHARGE_1002_MINOR)),
                (seed::AOC_CHARGE_1003.to_owned(), Charge::new(seed::AOC_CHARGE_1003_MINOR)),
            ]),
            aoc_refunds: HashMap::new(),
            digipay_txns: HashMap::from([
                (seed::DIGIPAY_TXN_2001.to_owned(), Charge::new(seed::DIGIPAY_TXN_2001_MINOR)),
                (seed::DIGIPAY_TXN_2002.to_owned(), Charge::new(seed::DIGIPAY_TXN_2002_MINOR)),
            ]),
            digipay_tokens: HashMap::new(),
            bos: BTreeMap::from([
                (
                    seed::BOS_REFERENCE_1,
                    BosTransfer::new(seed::BOS_ACKNO_1, seed::BOS_AMOUNT_1_MINOR),
                ),
                (
                    seed::BOS_REFERENCE_2,
                    BosTransfer::new(seed::BOS_ACKNO_2, seed::BOS_AMOUNT_2_MINOR),
                ),
            ]),
            eko: BTreeMap::from([
                (
                    seed::EKO_TID_REFUNDABLE_1.to_owned(),
                    EkoTransfer::new(3, seed::EKO_TID_REFUNDABLE_1_MINOR),
                ),
                (
                    seed::EKO_TID_REFUNDABLE_2.to_owned(),
                    EkoTransfer::new(3, seed::EKO_TID_REFUNDABLE_2_MINOR),
                ),
                (
                    seed::EKO_TID_SUCCESS.to_owned(),
                    EkoTransfer::new(0, seed::EKO_TID_SUCCESS_MINOR),
                ),
            ]),
            counter: 0,
            otp_rng: fastrand::Rng::with_seed(config.rng_seed),
            fault_rng: fastrand::Rng::with_seed(config.rng_seed ^ 0x5eed_fa17),
            faults: HashMap::new(),
            requests: HashMap::new(),
            originals: Vec::new(),
            executed: Vec::new(),
        };
        for (route, spec) in &config.faults {
            s.set_fault(*route, spec.clone());
        }
        s
    }

    /// A fresh number for generated ids.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A new OTP code: six digits, never starting with 0 unless `leading_zero` allows it.
    pub(crate) fn new_otp(&mut self, config: &Config) -> Otp {
        let code = if config.otp_leading_zero {
            self.otp_rng.u32(0..100_000)
        } else {
            self.otp_rng.u32(100_000..1_000_000)
        };
        let n = self.next_id();
        Otp { code, ref_id: format!("otpref-{n:06}"), expires: Instant::now() + config.otp_ttl }
    }

    pub(crate) fn set_fault(&mut self, route: Route, spec: FaultSpec) {
        self.faults.insert(route, ActiveFault { spec });
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Counts the request and decides whether a fault fires on it.
    pub(crate) fn on_request(&mut self, route: Route) -> Option<Fault> {
        *self.requests.entry(route).or_insert(0) += 1;
        let active = self.faults.get_mut(&route)?;
        let fire = match &mut active.spec.trigger {
            Trigger::Next(n) => {
                if *n == 0 {
                    false
                } else {
                    *n -= 1;
                    true
                }
            }
            Trigger::Rate(r) => self.fault_rng.f64() < *r,
            Trigger::Always => true,
        };
        let fault = fire.then(|| active.spec.fault.clone());
        if matches!(active.spec.trigger, Trigger::Next(0)) {
            self.faults.remove(&route);
        }
        fault
    }

    pub(crate) fn requests_seen(&self, route: Route) -> u64 {
        self.requests.get(&route).copied().unwrap_or(0)
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<&'static str, u64> {
        Route::ALL.iter().map(|r| (r.as_str(), self.requests_seen(*r))).collect()
    }

    pub(crate) fn books(&self) -> Books {
        fn entries<'a>(
            it: impl Iterator<Item = (String, &'a Charge)>,
            currency: &str,
        ) -> Vec<BookEntry> {
            let mut v: Vec<BookEntry> = it
                .map(|(id, c)| BookEntry {
                    id,
                    currency: currency.to_owned(),
                    original_minor: c.amount_minor,
                    refunded_minor: c.refunded_minor,
                    refund_count: c.refund_count,
                })
                .collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v
        }
        Books {
            aoc: entries(
                self.aoc_charges.iter().map(|(k, c)| (k.clone(), c)),
                Provider::Aoc.currency(),
            ),
            digipay: entries(
                self.digipay_txns.iter().map(|(k, c)| (k.clone(), c)),
                Provider::Digipay.currency(),
            ),
            bos: entries(
                self.bos.iter().map(|(k, t)| (k.to_string(), &t.charge)),
                Provider::Bos.currency(),
            ),
            eko: entries(
                self.eko.iter().map(|(k, t)| (k.clone(), &t.charge)),
                Provider::Eko.currency(),
            ),
        }
    }
}

impl BosTransfer {
    fn new(ackno: u64, amount_minor: i64) -> Self {
        BosTransfer {
            ackno,
            charge: Charge::new(amount_minor),
            otp: None,
            refund_txn_id: None,
            date_refunded: None,
        }
    }
}

impl EkoTransfer {
    fn new(tx_status: u8, amount_minor: i64) -> Self {
        EkoTransfer { tx_status, charge: Charge::new(amount_minor), otp: None, refund_tid: None }
    }
}

/// A snapshot of the sandbox's books: every original transaction (seeded or added) and what was
/// refunded against it.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let sandbox = refund_sandbox::Sandbox::builder().build().start().await?;
/// let books = sandbox.books();
/// assert!(books.aoc.iter().all(|e| e.refunded_minor <= e.original_minor));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Books {
    /// AOC charges, by `aocTransID`.
    pub aoc: Vec<BookEntry>,
    /// DigiPay wallet transactions, by `initial_txn_id`.
    pub digipay: Vec<BookEntry>,
    /// BOS failed transfers, by `referenceid`.
    pub bos: Vec<BookEntry>,
    /// Eko transfers, by `tid`.
    pub eko: Vec<BookEntry>,
}

impl Books {
    /// The entry with this id in any provider's book.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let sandbox = refund_sandbox::Sandbox::builder().build().start().await?;
    /// let e = sandbox.books().entry(refund_sandbox::seed::AOC_CHARGE_1001).cloned();
    /// assert_eq!(e.map(|e| e.original_minor), Some(1000));
    /// # Ok(()) }
    /// ```
    pub fn entry(&self, id: &str) -> Option<&BookEntry> {
        self.aoc.iter().chain(&self.digipay).chain(&self.bos).chain(&self.eko).find(|e| e.id == id)
    }
}

/// One original transaction in [`Books`].
///
/// ```
/// let e = refund_sandbox::BookEntry {
///     id: "AOC-CHARGE-1001".into(), currency: "MYR".into(),
///     original_minor: 1000, refunded_minor: 100, refund_count: 1,
/// };
/// assert!(e.refunded_minor <= e.original_minor);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookEntry {
    /// The provider's id of the original transaction.
    pub id: String,
    /// ISO currency code.
    pub currency: String,
    /// Original amount in minor units.
    pub original_minor: i64,
    /// Total refunded so far in minor units.
    pub refunded_minor: i64,
    /// Number of successful refunds.
    pub refund_count: u32,
}

/// A provider's answer before faults are applied.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, v: &Value) -> Self {
        Reply {
            status,
            headers: vec![(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body: v.to_string().into_bytes(),
        }
    }

    pub(crate) fn ok(v: &Value) -> Self {
        Reply::json(StatusCode::OK, v)
    }
}

/// What a provider route answers: `Err` is a refusal met on the way (bad credentials, a malformed
/// body, an unknown id), sent just as `Ok` is; the split only lets a handler stop early with `?`.
pub(crate) type Answer = Result<Reply, Reply>;
