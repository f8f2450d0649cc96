//! What every ledger test shares: a fresh database per test on each backend, and the sandbox
//! with a client per provider.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use refund_aoc::AocClient;
use refund_bos::BosClient;
use refund_core::{Currency, Money, RetryPolicy};
use refund_digipay::DigiPayClient;
use refund_ledger::{Ledger, LedgerBuilder};
use refund_otp::OtpRefundClient;
use refund_sandbox::{RunningSandbox, Sandbox, seed};

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

/// The sandbox and one client per provider, pointed at it.
pub(crate) struct Env {
    pub(crate) sandbox: RunningSandbox,
    pub(crate) aoc: AocClient,
    pub(crate) bos: BosClient,
    pub(crate) digipay: DigiPayClient,
    pub(crate) eko: OtpRefundClient,
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
        let root = sandbox.base_url();
        Env {
            aoc: AocClient::builder()
                .base_url(format!("{root}/aoc"))
                .username(seed::AOC_USERNAME)
                .api_key(seed::AOC_API_KEY)
                .timeout(timeout)
                .retry_policy(one_attempt())
                .build()
                .unwrap(),
            bos: BosClient::builder()
                .base_url(format!("{root}/bos"))
                .token(seed::BOS_TOKEN)
                .registration_id(seed::BOS_REGISTRATION_ID)
                .timeout(timeout)
                .retry_policy(one_attempt())
                .build()
                .unwrap(),
            digipay: DigiPayClient::builder()
                .base_url(format!("{root}/digipay"))
                .company_id(seed::DIGIPAY_COMPANY_ID)
                .token(seed::DIGIPAY_TOKEN)
                .txn_code("MR / CR")
                .payment_mode(2)
                .timeout(timeout)
                .retry_policy(one_attempt())
                .build()
                .unwrap(),
            eko: OtpRefundClient::builder()
                .base_url(format!("{root}/eko/v3"))
                .developer_key(seed::EKO_DEVELOPER_KEY)
                .access_key(seed::EKO_ACCESS_KEY)
                .initiator_id(seed::EKO_INITIATOR_ID)
                .user_code(seed::EKO_USER_CODE)
                .timeout(timeout)
                .retry_policy(one_attempt())
                .build()
                .unwrap(),
            sandbox,
        }
    }

    /// How many refunds the sandbox executed under each key, for keys seen more than once.
    pub(crate) fn repeated(&self) -> Vec<(refund_sandbox::Provider, String, usize)> {
        refund_sandbox::ExecutedRefund::repeated_keys(&self.sandbox.executed_refunds())
    }
}

/// No retries inside the client: each test decides what a second attempt is.
pub(crate) fn one_attempt() -> RetryPolicy {
    RetryPolicy::default().max_attempts(1)
}

pub(crate) fn myr(text: &str) -> Money {
    Money::parse(text, Currency::Myr).unwrap()
}

pub(crate) fn inr(text: &str) -> Money {
    Money::parse(text, Currency::Inr).unwrap()
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
