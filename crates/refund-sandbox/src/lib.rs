#![doc = include_str!("../README.md")]

mod aoc;
mod bos;
mod clock;
mod digipay;
mod eko;
mod executed;
mod fault;
mod money;
mod original;
pub mod seed;
mod server;
mod state;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

pub use executed::ExecutedRefund;
pub use fault::{Fault, FaultSpec, Provider, Route, Trigger, UnknownRoute};
pub use original::{OriginalTransaction, TransactionError};
pub use state::{BookEntry, Books};

use server::{App, Shared};
use state::{Config, State};

/// A configured, not yet started sandbox. Build one with [`Sandbox::builder`].
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let sandbox = refund_sandbox::Sandbox::builder().build().start().await?;
/// println!("{}", sandbox.describe());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sandbox {
    config: Config,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::builder().build()
    }
}

impl Sandbox {
    /// A builder with the defaults: BOS token required, OTPs valid 10 minutes, Eko clock window ±5 minutes,
    /// no faults, RNG seed [`seed::DEFAULT_RNG_SEED`].
    ///
    /// ```
    /// let sandbox = refund_sandbox::Sandbox::builder().bos_token_required(false).build();
    /// # let _ = sandbox;
    /// ```
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder {
            config: Config {
                bos_token_required: true,
                otp_ttl: Duration::from_secs(600),
                otp_leading_zero: false,
                eko_clock_skew_ms: 5 * 60 * 1000,
                rng_seed: seed::DEFAULT_RNG_SEED,
                faults: Vec::new(),
                originals: Vec::new(),
            },
        }
    }

    /// Starts the server on `127.0.0.1` with a free port.
    ///
    /// Fails with [`std::io::ErrorKind::InvalidInput`] (its source a [`TransactionError`]) when an
    /// original transaction given to the builder repeats an id or has an amount out of range.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let sandbox = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(sandbox.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> std::io::Result<RunningSandbox> {
        self.start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the server on `addr` (port 0 picks a free port).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let addr: std::net::SocketAddr = "127.0.0.1:8099".parse().unwrap();
    /// let sandbox = refund_sandbox::Sandbox::default().start_on(addr).await?;
    /// assert_eq!(sandbox.addr().port(), 8099);
    /// # Ok(()) }
    /// ```
    pub async fn start_on(self, addr: SocketAddr) -> std::io::Result<RunningSandbox> {
        let app = Shared::new(self.config)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let router = server::router(app.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                tracing::warn!(error = %e, "sandbox server stopped");
            }
        });
        tracing::info!(base_url = %format!("http://{addr}"), "refund sandbox listening");
        Ok(RunningSandbox { addr, app, shutdown: Some(tx), task: Some(task) })
    }
}

/// Configures a [`Sandbox`].
///
/// ```
/// use std::time::Duration;
/// use refund_sandbox::{Fault, FaultSpec, Route, Sandbox};
/// let sandbox = Sandbox::builder()
///     .bos_token_required(true)
///     .otp_ttl(Duration::from_secs(60))
///     .fault(Route::AocRefund, FaultSpec::next(1, Fault::ServiceUnavailable))
///     .build();
/// # let _ = sandbox;
/// ```
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    config: Config,
}

impl SandboxBuilder {
    /// Whether BOS calls need `Authorization: Bearer sandbox-bos-token` (default `true`).
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().bos_token_required(false);
    /// ```
    pub fn bos_token_required(mut self, required: bool) -> Self {
        self.config.bos_token_required = required;
        self
    }

    /// How long an issued OTP stays valid (default 10 minutes).
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().otp_ttl(std::time::Duration::from_millis(1));
    /// ```
    pub fn otp_ttl(mut self, ttl: Duration) -> Self {
        self.config.otp_ttl = ttl;
        self
    }

    /// Issue OTPs that start with `0` (`012345`), to exercise the leading-zero hazard of OTPs sent as JSON
    /// numbers. Default `false`: OTPs are six digits from `100000` to `999999`.
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().otp_leading_zero(true);
    /// ```
    pub fn otp_leading_zero(mut self, leading_zero: bool) -> Self {
        self.config.otp_leading_zero = leading_zero;
        self
    }

    /// How far Eko's `secret-key-timestamp` may be from the server's clock (default 5 minutes).
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().eko_clock_window(std::time::Duration::from_secs(30));
    /// ```
    pub fn eko_clock_window(mut self, window: Duration) -> Self {
        self.config.eko_clock_skew_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// Seed of the random generators (OTP codes, fault rates). Same seed, same OTP sequence.
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().rng_seed(42);
    /// ```
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.config.rng_seed = seed;
        self
    }

    /// Injects a fault on `route` from the start (one fault per route; a later call replaces it).
    ///
    /// ```
    /// use refund_sandbox::{Fault, FaultSpec, Route, Sandbox};
    /// let _ = Sandbox::builder().fault(Route::DigipayRefund, FaultSpec::rate(0.2, Fault::ServiceUnavailable));
    /// ```
    pub fn fault(mut self, route: Route, spec: FaultSpec) -> Self {
        self.config.faults.retain(|(r, _)| *r != route);
        self.config.faults.push((route, spec));
        self
    }

    /// Adds an original transaction besides the seeded ones (see [`OriginalTransaction`]); a reset
    /// keeps it. The id must be new to its provider and the amount positive, else
    /// [`Sandbox::start`] fails.
    ///
    /// ```
    /// use refund_sandbox::{OriginalTransaction, Sandbox};
    /// let tx = OriginalTransaction::Eko { tid: "77000001".into(), amount_minor: 100 };
    /// let _ = Sandbox::builder().transaction(tx);
    /// ```
    pub fn transaction(mut self, tx: OriginalTransaction) -> Self {
        self.config.originals.push(tx);
        self
    }

    /// Adds many original transactions at once, in order (100,000 AOC charges start in well under a
    /// second).
    ///
    /// ```
    /// use refund_sandbox::{OriginalTransaction, Sandbox};
    /// let charges = (0..1000)
    ///     .map(|i| OriginalTransaction::Aoc { id: format!("LOAD-{i}"), amount_minor: 1000 });
    /// let _ = Sandbox::builder().transactions(charges);
    /// ```
    pub fn transactions(mut self, txs: impl IntoIterator<Item = OriginalTransaction>) -> Self {
        self.config.originals.extend(txs);
        self
    }

    /// Adds an AOC charge (`aocTransID` = `id`, in MYR), refundable in parts up to `amount_minor`.
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().aoc_charge("AOC-LEDGER-1", 2500);
    /// ```
    pub fn aoc_charge(self, id: impl Into<String>, amount_minor: i64) -> Self {
        self.transaction(OriginalTransaction::Aoc { id: id.into(), amount_minor })
    }

    /// Adds a DigiPay wallet transaction (`initial_txn_id` = `id`, in INR), refundable in parts.
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().digipay_transaction("DP-LEDGER-1", 10_000);
    /// ```
    pub fn digipay_transaction(self, id: impl Into<String>, amount_minor: i64) -> Self {
        self.transaction(OriginalTransaction::Digipay { id: id.into(), amount_minor })
    }

    /// Adds an Eko transfer in `tx_status` 3 (refund pending, refundable whole with an OTP), in
    /// INR.
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().eko_transfer("77000001", 50_000);
    /// ```
    pub fn eko_transfer(self, tid: impl Into<String>, amount_minor: i64) -> Self {
        self.transaction(OriginalTransaction::Eko { tid: tid.into(), amount_minor })
    }

    /// Adds a failed BOS transfer, refund pending like the seeded ones (refundable whole with an
    /// OTP), in INR.
    ///
    /// ```
    /// let _ = refund_sandbox::Sandbox::builder().bos_transfer(90_000_000_001, 901, 10_000);
    /// ```
    pub fn bos_transfer(self, referenceid: u64, ackno: u64, amount_minor: i64) -> Self {
        self.transaction(OriginalTransaction::Bos { referenceid, ackno, amount_minor })
    }

    /// Finishes the configuration.
    ///
    /// ```
    /// let _sandbox = refund_sandbox::Sandbox::builder().build();
    /// ```
    pub fn build(self) -> Sandbox {
        Sandbox { config: self.config }
    }
}

/// A sandbox serving requests. Dropping it stops the server; [`RunningSandbox::shutdown`] does so gracefully.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let sandbox = refund_sandbox::Sandbox::default().start().await?;
/// let aoc = sandbox.aoc_base_url(); // give this to the AOC client
/// # let _ = aoc;
/// sandbox.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RunningSandbox {
    addr: SocketAddr,
    app: App,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    /// The address the server listens on.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let port = refund_sandbox::Sandbox::default().start().await?.addr().port();
    /// # let _ = port; Ok(()) }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// let books = format!("{}/_sandbox/books", s.base_url());
    /// # let _ = books; Ok(()) }
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// AOC base URL: `{base}/aoc` (the client appends `/api/refund`).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(s.aoc_base_url().ends_with("/aoc"));
    /// # Ok(()) }
    /// ```
    pub fn aoc_base_url(&self) -> String {
        format!("{}/aoc", self.base_url())
    }

    /// BOS base URL: `{base}/bos` (the client appends `/api/BOS/...`).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(s.bos_base_url().ends_with("/bos"));
    /// # Ok(()) }
    /// ```
    pub fn bos_base_url(&self) -> String {
        format!("{}/bos", self.base_url())
    }

    /// DigiPay base URL: `{base}/digipay` (the client appends `/digipay/v3/...`).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(s.digipay_base_url().ends_with("/digipay"));
    /// # Ok(()) }
    /// ```
    pub fn digipay_base_url(&self) -> String {
        format!("{}/digipay", self.base_url())
    }

    /// Eko base URL: `{base}/eko/v3` (the client appends `/customer/payment/refund/...`).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(s.eko_base_url().ends_with("/eko/v3"));
    /// # Ok(()) }
    /// ```
    pub fn eko_base_url(&self) -> String {
        format!("{}/eko/v3", self.base_url())
    }

    /// The current OTP (six digits as text) of a BOS `referenceid` or an Eko `tid`; `None` when none
    /// was issued (or after it was used). AOC and DigiPay have no OTPs.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use refund_sandbox::{Provider, seed};
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert_eq!(s.otp(Provider::Bos, &seed::BOS_REFERENCE_1.to_string()), None);
    /// # Ok(()) }
    /// ```
    pub fn otp(&self, provider: Provider, id: &str) -> Option<String> {
        self.app.otp(provider, id).map(|(otp, _)| otp)
    }

    /// The `otp_ref_id` of the current OTP (Eko returns it from the OTP call; BOS has none on the wire).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use refund_sandbox::{Provider, seed};
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert_eq!(s.otp_ref_id(Provider::Eko, seed::EKO_TID_REFUNDABLE_1), None);
    /// # Ok(()) }
    /// ```
    pub fn otp_ref_id(&self, provider: Provider, id: &str) -> Option<String> {
        self.app.otp(provider, id).map(|(_, r)| r)
    }

    /// Makes the current OTP of `id` expire now (the next claim answers "expired"). False when none exists.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use refund_sandbox::{Provider, seed};
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(!s.expire_otp(Provider::Eko, seed::EKO_TID_REFUNDABLE_1));
    /// # Ok(()) }
    /// ```
    pub fn expire_otp(&self, provider: Provider, id: &str) -> bool {
        self.app.expire_otp(provider, id)
    }

    /// Sets (replaces) the fault on `route`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use refund_sandbox::{Fault, FaultSpec, Route};
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: None }));
    /// # Ok(()) }
    /// ```
    pub fn set_fault(&self, route: Route, spec: FaultSpec) {
        self.app.lock().set_fault(route, spec);
    }

    /// Removes every fault.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// s.clear_faults();
    /// # Ok(()) }
    /// ```
    pub fn clear_faults(&self) {
        self.app.lock().clear_faults();
    }

    /// How many requests reached `route` (faulted ones included) since start or the last reset.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert_eq!(s.requests_seen(refund_sandbox::Route::AocRefund), 0);
    /// # Ok(()) }
    /// ```
    pub fn requests_seen(&self, route: Route) -> u64 {
        self.app.lock().requests_seen(route)
    }

    /// Total requests over every provider route.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert_eq!(s.total_requests(), 0);
    /// # Ok(()) }
    /// ```
    pub fn total_requests(&self) -> u64 {
        let st = self.app.lock();
        Route::ALL.iter().map(|r| st.requests_seen(*r)).sum()
    }

    /// A snapshot of the books.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert_eq!(s.books().aoc.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn books(&self) -> Books {
        self.app.lock().books()
    }

    /// Restores the seeded books and the added original transactions (nothing refunded), forgets
    /// OTPs, refunds, the executed-refund log and request counts, and re-applies the faults given
    /// to the builder.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// s.reset();
    /// # Ok(()) }
    /// ```
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Adds an original transaction to the running sandbox's books (kept across
    /// [`reset`](Self::reset)). `Err` when its provider already has that id or the amount is out of
    /// range; nothing changes then.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use refund_sandbox::{OriginalTransaction, seed};
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// s.add_transaction(OriginalTransaction::Aoc { id: "AOC-LATE-1".into(), amount_minor: 700 })
    ///     .expect("a new id");
    /// let taken = OriginalTransaction::Aoc { id: seed::AOC_CHARGE_1001.into(), amount_minor: 1 };
    /// assert!(s.add_transaction(taken).is_err());
    /// # Ok(()) }
    /// ```
    pub fn add_transaction(&self, tx: OriginalTransaction) -> Result<(), TransactionError> {
        self.app.add_transaction(tx)
    }

    /// Every refund executed since start or the last reset, in order (see [`ExecutedRefund`]). No
    /// entry's `(provider, key)` repeating proves no refund request ran twice:
    /// `ExecutedRefund::repeated_keys(&s.executed_refunds()).is_empty()`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use refund_sandbox::ExecutedRefund;
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// // ... refunds ...
    /// assert!(ExecutedRefund::repeated_keys(&s.executed_refunds()).is_empty());
    /// # Ok(()) }
    /// ```
    pub fn executed_refunds(&self) -> Vec<ExecutedRefund> {
        self.app.lock().executed_refunds()
    }

    /// Human text listing the base URLs, credentials and seeded transactions (`refund sandbox` prints it).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let s = refund_sandbox::Sandbox::default().start().await?;
    /// assert!(s.describe().contains("AOC-CHARGE-1001"));
    /// # Ok(()) }
    /// ```
    pub fn describe(&self) -> String {
        describe_text(&self.base_url(), &self.app.lock())
    }

    /// Stops accepting connections, waits up to one second for requests in flight, then aborts them.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// refund_sandbox::Sandbox::default().start().await?.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(1), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The text of [`RunningSandbox::describe`] for a server at `base`.
pub(crate) fn describe_text(base: &str, state: &State) -> String {
    use seed::*;
    let m = |minor: i64| money::format_two(minor);
    let mut s = String::new();
    // One line for the added transactions, however many: `GET /_sandbox/books` lists them.
    let added = |s: &mut String, provider: Provider| {
        let n = state.originals_of(provider);
        if n > 0 {
            let _ = writeln!(
                s,
                "         + {n} added original transactions (GET {base}/_sandbox/books)"
            );
        }
    };
    let _ = writeln!(s, "refund sandbox listening on {base}");
    let _ = writeln!(s);
    let _ = writeln!(s, "AOC      base URL {base}/aoc");
    let _ = writeln!(s, "         username {AOC_USERNAME}  apiKey {AOC_API_KEY}");
    for (id, amt) in [
        (AOC_CHARGE_1001, AOC_CHARGE_1001_MINOR),
        (AOC_CHARGE_1002, AOC_CHARGE_1002_MINOR),
        (AOC_CHARGE_1003, AOC_CHARGE_1003_MINOR),
    ] {
        let _ = writeln!(s, "         charge {id}  {} {AOC_CURRENCY}", m(amt));
    }
    added(&mut s, Provider::Aoc);
    let _ = writeln!(s, "BOS      base URL {base}/bos");
    let _ = writeln!(s, "         bearer token {BOS_TOKEN}  RegistrationID {BOS_REGISTRATION_ID}");
    for (r, a, amt) in [
        (BOS_REFERENCE_1, BOS_ACKNO_1, BOS_AMOUNT_1_MINOR),
        (BOS_REFERENCE_2, BOS_ACKNO_2, BOS_AMOUNT_2_MINOR),
    ] {
        let _ = writeln!(s, "         refund-pending referenceid {r} ackno {a}  {} INR", m(amt));
    }
    added(&mut s, Provider::Bos);
    let _ =
        writeln!(s, "         OTPs: GET {base}/_sandbox/otp/bos/<referenceid> (also on the log)");
    let _ = writeln!(s, "DigiPay  base URL {base}/digipay");
    let _ = writeln!(s, "         token {DIGIPAY_TOKEN}  CompanyID {DIGIPAY_COMPANY_ID}");
    let _ = writeln!(s, "         client id {DIGIPAY_CLIENT_ID}  secret {DIGIPAY_CLIENT_SECRET}");
    for (id, amt) in
        [(DIGIPAY_TXN_2001, DIGIPAY_TXN_2001_MINOR), (DIGIPAY_TXN_2002, DIGIPAY_TXN_2002_MINOR)]
    {
        let _ = writeln!(s, "         wallet transaction {id}  {} INR", m(amt));
    }
    added(&mut s, Provider::Digipay);
    let _ = writeln!(s, "Eko      base URL {base}/eko/v3");
    let _ = writeln!(s, "         developer_key {EKO_DEVELOPER_KEY}  access key {EKO_ACCESS_KEY}");
    let _ = writeln!(s, "         initiator_id {EKO_INITIATOR_ID}  user_code {EKO_USER_CODE}");
    let _ = writeln!(
        s,
        "         tid {EKO_TID_REFUNDABLE_1}  {} INR  refund pending",
        m(EKO_TID_REFUNDABLE_1_MINOR)
    );
    let _ = writeln!(
        s,
        "         tid {EKO_TID_REFUNDABLE_2}  {} INR  refund pending",
        m(EKO_TID_REFUNDABLE_2_MINOR)
    );
    let _ = writeln!(
        s,
        "         tid {EKO_TID_SUCCESS}  {} INR  success (not refundable)",
        m(EKO_TID_SUCCESS_MINOR)
    );
    added(&mut s, Provider::Eko);
    let _ = writeln!(s, "         OTPs: GET {base}/_sandbox/otp/eko/<tid> (also on the log)");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Control  {base}/_sandbox/books, /_sandbox/requests, POST /_sandbox/faults, POST /_sandbox/reset"
    );
    s
}
