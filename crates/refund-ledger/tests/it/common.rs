//! What every ledger test shares: a fresh database per test on each backend, and the sandbox
//! with a client per provider.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use refund_aoc::AocClient;
use refund_bos::BosClient;
use refund_digipay::DigiPayClient;
use refund_ledger::{Ledger, LedgerBuilder};
use refund_otp::OtpRefundClient;
use refund_sandbox::{Fault, FaultSpec, Route, RunningSandbox, Sandbox};
pub(crate) use refund_testkit::sandbox::{inr, myr};
use refund_testkit::{retries, sandbox};

/// Runs each named scenario `async fn name(db: TestDb)` once per backend, as two tests:
/// `name::sqlite` and `name::postgres` (which says it was skipped when no server is configured).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::common::TestDb::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = crate::common::TestDb::postgres().await {
                    super::$name(db).await
                }
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// One test's own database: a SQLite file in a temporary folder, or a PostgreSQL database
/// created for the test and dropped after it.
pub(crate) struct TestDb {
    pub(crate) url: String,
    pub(crate) backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    drop_database: Option<(String, String)>,
}

impl TestDb {
    pub(crate) fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("ledger").join("refunds.sqlite").display().to_string();
        TestDb { url, backend: "sqlite", _dir: Some(dir), drop_database: None }
    }

    /// A new database on the server of `REFUND_TEST_POSTGRES_URL`; `None` (and a note on
    /// stderr) when it is unset, unless `REFUND_TEST_REQUIRE_POSTGRES` says CI needs it.
    pub(crate) async fn postgres() -> Option<TestDb> {
        let admin = std::env::var("REFUND_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
        let required = std::env::var_os("REFUND_TEST_REQUIRE_POSTGRES").is_some();
        let Some(admin) = admin.filter(|_| cfg!(feature = "postgres")) else {
            assert!(
                !required,
                "REFUND_TEST_REQUIRE_POSTGRES is set but the PostgreSQL tests cannot run \
                 (REFUND_TEST_POSTGRES_URL unset, or refund-ledger built without `postgres`)"
            );
            eprintln!("skipped: PostgreSQL ledger test (set REFUND_TEST_POSTGRES_URL to run it)");
            return None;
        };
        Some(TestDb::postgres_on(admin).await)
    }

    /// A new database on the server of the `admin` URL (one that ends in `/DATABASE`).
    pub(crate) async fn postgres_on(admin: String) -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "refund_ledger_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            fastrand::u32(..)
        );
        admin_execute(&admin, &format!("CREATE DATABASE {name}")).await;
        let (base, _) = admin.rsplit_once('/').expect("a URL ending in /DATABASE");
        TestDb {
            url: format!("{base}/{name}"),
            backend: "postgres",
            _dir: None,
            drop_database: Some((admin, name)),
        }
    }

    pub(crate) fn builder(&self) -> LedgerBuilder {
        Ledger::builder(&self.url)
    }

    pub(crate) async fn open(&self) -> Ledger {
        self.builder().open().await.unwrap()
    }

    /// How most scenarios begin: a fresh sandbox with a client per provider, and this ledger.
    pub(crate) async fn start(&self) -> (Env, Ledger) {
        (Env::start().await, self.open().await)
    }

    /// The URL of another empty ledger named `name`, gone with this one: a SQLite file beside
    /// it, or a PostgreSQL schema of this database (cheaper than a database per ledger, whose
    /// drop waits for a checkpoint). For a test that needs a ledger per scenario.
    pub(crate) async fn another_ledger(&self, name: &str) -> String {
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        if self.backend == "sqlite" {
            let (folder, _) = self.url.rsplit_once("/ledger/").expect("TestDb::sqlite's layout");
            return format!("{folder}/{name}/refunds.sqlite");
        }
        admin_execute(&self.url, &format!("CREATE SCHEMA {name}")).await;
        format!("{}?options=-c%20search_path%3D{name}", self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.drop_database.take() {
            // Drop runs outside any runtime's async context: a thread of its own runs the query.
            let _ = std::thread::spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(admin_execute(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ));
            })
            .join();
        }
    }
}

async fn admin_execute(admin: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn =
        sqlx::PgConnection::connect(admin).await.expect("REFUND_TEST_POSTGRES_URL reachable");
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

/// Short timeouts: sandbox delays are set just past them.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(400);

/// The provider acts on the request, but its answer comes only long after [`TIMEOUT`].
pub(crate) const ANSWER_LOST: Fault = Fault::CommitThenTimeout { ms: Some(1500) };

/// The request times out (long after [`TIMEOUT`]) before the provider acts on it.
pub(crate) const NEVER_ARRIVES: Fault = Fault::TimeoutBeforeActing { ms: Some(1500) };

/// The sandbox and one client per provider, pointed at it (`env.aoc` and so on, through
/// [`Clients`]).
pub(crate) struct Env {
    pub(crate) sandbox: RunningSandbox,
    clients: Clients,
}

impl std::ops::Deref for Env {
    type Target = Clients;

    fn deref(&self) -> &Clients {
        &self.clients
    }
}

/// One client per provider, pointed at a sandbox's root URL (in this process or another).
pub(crate) struct Clients {
    pub(crate) aoc: AocClient,
    pub(crate) bos: BosClient,
    pub(crate) digipay: DigiPayClient,
    pub(crate) eko: OtpRefundClient,
}

impl Clients {
    /// Clients of the sandbox at `root` (`http://127.0.0.1:PORT`), each giving up after
    /// `timeout`, with no retries.
    pub(crate) fn new(root: &str, timeout: Duration) -> Clients {
        Clients {
            aoc: sandbox::aoc(root).timeout(timeout).retry_policy(retries(1)).build().unwrap(),
            bos: sandbox::bos(root).timeout(timeout).retry_policy(retries(1)).build().unwrap(),
            digipay: sandbox::digipay(root)
                .txn_code("MR / CR")
                .payment_mode(2)
                .timeout(timeout)
                .retry_policy(retries(1))
                .build()
                .unwrap(),
            eko: sandbox::eko(root).timeout(timeout).retry_policy(retries(1)).build().unwrap(),
        }
    }

    /// Every provider, for `reconcile`.
    pub(crate) fn all(&self) -> [&dyn refund_core::Provider; 4] {
        [&self.aoc, &self.bos, &self.digipay, &self.eko]
    }
}

impl Env {
    pub(crate) async fn start() -> Env {
        Env::with(Sandbox::builder().bos_token_required(true)).await
    }

    pub(crate) async fn with(builder: refund_sandbox::SandboxBuilder) -> Env {
        Env::with_timeout(builder, TIMEOUT).await
    }

    /// The clients with another timeout (the benchmark's, far from any delay it meets).
    pub(crate) async fn with_timeout(
        builder: refund_sandbox::SandboxBuilder,
        timeout: Duration,
    ) -> Env {
        let sandbox = builder.build().start().await.unwrap();
        Env { clients: Clients::new(&sandbox.base_url(), timeout), sandbox }
    }

    /// The next request on `route` meets `fault`.
    pub(crate) fn fail_next(&self, route: Route, fault: Fault) {
        self.sandbox.set_fault(route, FaultSpec::next(1, fault));
    }

    /// The sandbox executed exactly one refund, under `reference` (the intent's).
    pub(crate) fn assert_executed_once(&self, reference: &str) {
        let executed = self.sandbox.executed_refunds();
        assert_eq!(executed.len(), 1, "{executed:?}");
        assert_eq!(executed[0].key, reference, "sent under the intent's reference");
    }

    /// How many refunds the sandbox executed under each key, for keys seen more than once.
    pub(crate) fn repeated(&self) -> Vec<(refund_sandbox::Provider, String, usize)> {
        refund_sandbox::ExecutedRefund::repeated_keys(&self.sandbox.executed_refunds())
    }
}

/// Runs `sql` on the test's database directly, outside the ledger (to prove what the database
/// itself refuses, or to leave it as a newer version would).
pub(crate) async fn raw_execute(db: &TestDb, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    let result = if db.backend == "sqlite" {
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.url)).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.map(drop)
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.map(drop)
    };
    result.map_err(|e| e.to_string())
}
