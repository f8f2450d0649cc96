//! Storage: opening a SQLite or PostgreSQL ledger, and one set of queries for both.
//!
//! The queries live once, in `sql.rs`, which is compiled once per backend (`sqlite::sql`,
//! `postgres::sql`) against that backend's concrete sqlx types: no generic trait bounds, no
//! `Any` driver, and no second copy of any query. Both backends take `$1`-style parameters.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use refund_core::{BoxError, Currency, Fate, Money};

use crate::error::{LedgerError, Result};
use crate::intent::NewIntent;
use crate::record::{IntentEvent, IntentKind, IntentRecord, IntentState, ListFilter};

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("refund-ledger needs a backend: enable the `sqlite` or `postgres` feature");

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// The schema version this build writes: the newest migration's number.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// How a ledger is opened.
#[derive(Debug, Clone)]
pub(crate) struct OpenOptions {
    pub(crate) busy_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_connections: u32,
}

/// An open ledger database.
#[derive(Debug, Clone)]
pub(crate) enum Store {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::sql::Pools),
    #[cfg(feature = "postgres")]
    Postgres(postgres::sql::Pools),
}

/// Calls the same function of `sql.rs` on whichever backend the store is.
macro_rules! dispatch {
    ($store:expr, $function:ident($($arg:expr),*)) => {
        match $store {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(pools) => sqlite::sql::$function(pools, $($arg),*).await,
            #[cfg(feature = "postgres")]
            Store::Postgres(pools) => postgres::sql::$function(pools, $($arg),*).await,
        }
    };
}

/// What writing a new intent found.
#[derive(Debug)]
pub(crate) enum Begun {
    /// Written now (as `reserved`, or already claimed as `sending`).
    Created(IntentRow),
    /// The key was there with the same parameters, claimable, and is now claimed for sending.
    Claimed { row: IntentRow },
    /// The key was there; nothing changed.
    Existing(IntentRow),
    /// The charge refuses this amount: (charge, held) in minor units. Nothing was written.
    OverRefund { charge_minor: i64, held_minor: i64 },
    /// The charge is recorded with another amount or currency. Nothing was written.
    ChargeMismatch { charge_minor: Option<i64>, currency: String },
}

/// A change of an intent's state (or of its OTP reference), with the event that records it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Change {
    pub(crate) to: Option<IntentState>,
    pub(crate) refund_id: Option<String>,
    pub(crate) provider_code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) error_kind: Option<String>,
    pub(crate) otp_ref_id: Option<String>,
    pub(crate) detail: Option<String>,
}

impl Store {
    pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<(Store, String)> {
        match Location::parse(url)? {
            #[cfg(feature = "sqlite")]
            Location::Sqlite(path) => {
                if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).map_err(|e| {
                        LedgerError::config(
                            format!("cannot create the ledger's folder {}: {e}", folder.display()),
                            Some(Box::new(e)),
                        )
                    })?;
                }
                let shown = path.display().to_string();
                let pools = sqlite::open(&path, options).await.map_err(|e| opened(&shown, e))?;
                Ok((Store::Sqlite(pools), shown))
            }
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => {
                let shown = masked(&url);
                let pools = postgres::open(&url, options).await.map_err(|e| opened(&shown, e))?;
                Ok((Store::Postgres(pools), shown))
            }
        }
    }

    pub(crate) async fn begin(&self, new: &NewIntent, claim: Option<SystemTime>) -> Result<Begun> {
        retrying(|| async { dispatch!(self, begin(new, claim.map(millis), now_ms())) })
            .await
            .map_err(before_sending)
    }

    pub(crate) async fn begin_all(&self, intents: &[NewIntent]) -> Result<Vec<Begun>> {
        retrying(|| async { dispatch!(self, begin_all(intents, now_ms())) })
            .await
            .map_err(before_sending)
    }

    pub(crate) async fn claim(
        &self,
        row: &IntentRow,
        lease_until: SystemTime,
    ) -> Result<Option<IntentRow>> {
        retrying(|| async { dispatch!(self, claim(row, millis(lease_until), now_ms())) })
            .await
            .map_err(before_sending)
    }

    /// Applies `change` if the intent is still as `row` shows it (its version); `None` if
    /// another process changed it first. `fate` is what a failure here means for the money.
    pub(crate) async fn change(
        &self,
        row: &IntentRow,
        change: &Change,
        fate: Fate,
    ) -> Result<Option<IntentRow>> {
        retrying(|| async { dispatch!(self, change(row, change, now_ms())) })
            .await
            .map_err(|e| storage(fate, e))
    }

    pub(crate) async fn get(&self, id: i64) -> Result<Option<IntentRow>> {
        dispatch!(self, get(id)).map_err(before_sending)
    }

    pub(crate) async fn by_key(&self, key: &str) -> Result<Option<IntentRow>> {
        dispatch!(self, by_key(key)).map_err(before_sending)
    }

    pub(crate) async fn list(&self, filter: &ListFilter) -> Result<Vec<IntentRow>> {
        dispatch!(self, list(filter)).map_err(before_sending)
    }

    pub(crate) async fn unsettled(&self) -> Result<Vec<IntentRow>> {
        dispatch!(self, unsettled(now_ms())).map_err(before_sending)
    }

    pub(crate) async fn events(&self, id: i64) -> Result<Vec<EventRow>> {
        dispatch!(self, events(id)).map_err(before_sending)
    }

    pub(crate) async fn close(&self) {
        match self {
            #[cfg(feature = "sqlite")]
            Store::Sqlite(pools) => pools.close().await,
            #[cfg(feature = "postgres")]
            Store::Postgres(pools) => pools.close().await,
        }
    }
}

/// Runs a write transaction again when PostgreSQL aborted it to break a deadlock (two batches
/// writing the same rows in different orders) or a serialization conflict: it was rolled back
/// whole, so running it again is safe. A few tries, a few milliseconds apart.
async fn retrying<T, F, Fut>(mut transaction: F) -> sqlx::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<T>>,
{
    let mut tries = 0;
    loop {
        match transaction().await {
            Err(sqlx::Error::Database(db))
                if tries < 5 && matches!(db.code().as_deref(), Some("40P01" | "40001")) =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=10) * tries)).await;
            }
            other => return other,
        }
    }
}

/// Where a ledger URL points.
enum Location {
    #[cfg(feature = "sqlite")]
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Location {
    fn parse(url: &str) -> Result<Location> {
        let url = url.trim();
        if url.is_empty() {
            return Err(LedgerError::config("the ledger URL is empty", None));
        }
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Ok(Location::Postgres(url.to_owned()));
            #[cfg(not(feature = "postgres"))]
            return Err(LedgerError::config(
                "this build has no PostgreSQL support: enable the `ledger-postgres` feature of \
                 `refund` (or `postgres` of `refund-ledger`)",
                None,
            ));
        }
        let path = if let Some(rest) =
            lower.strip_prefix("sqlite:").map(|_| &url["sqlite:".len()..])
        {
            rest.strip_prefix("//").unwrap_or(rest)
        } else if url.contains("://") {
            let scheme = url.split("://").next().unwrap_or_default();
            return Err(LedgerError::config(
                format!(
                    "unsupported ledger URL scheme {scheme:?}: use a file path, sqlite://PATH or \
                     postgres://USER@HOST/DB"
                ),
                None,
            ));
        } else {
            url
        };
        if path.is_empty() || path.contains(":memory:") || path.contains('?') {
            return Err(LedgerError::config(
                format!(
                    "{url:?} is not a SQLite file path: the ledger must be a file on disk (an \
                     in-memory database forgets every intent when the process ends)"
                ),
                None,
            ));
        }
        #[cfg(feature = "sqlite")]
        return Ok(Location::Sqlite(Path::new(path).to_path_buf()));
        #[cfg(not(feature = "sqlite"))]
        return Err(LedgerError::config(
            format!("{url:?} is a SQLite ledger, but this build has only PostgreSQL"),
            None,
        ));
    }
}

/// The URL with its password masked, for messages.
#[cfg(feature = "postgres")]
fn masked(url: &str) -> String {
    match refund_core::url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some(refund_core::MASK));
            }
            parsed.to_string()
        }
        Err(_) => "postgres://(unparsable URL)".to_owned(),
    }
}

/// An error while opening, in the ledger's terms.
fn opened(location: &str, err: OpenError) -> LedgerError {
    match err {
        OpenError::Migrate(sqlx::migrate::MigrateError::VersionMissing(found)) => {
            LedgerError::SchemaTooNew {
                location: location.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            }
        }
        OpenError::Migrate(e) => LedgerError::config(
            format!("cannot prepare the ledger at {location}: {e}"),
            Some(Box::new(e)),
        ),
        OpenError::Sqlx(e) => {
            let message = match &e {
                sqlx::Error::Database(db) if is_busy(db.code().as_deref()) => format!(
                    "the SQLite file {location} is locked by another process (waited for the busy timeout)"
                ),
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
                    format!("cannot reach the ledger at {location}: {e}")
                }
                sqlx::Error::Configuration(_) => {
                    return LedgerError::config(
                        format!("the ledger URL {location} is malformed: {e}"),
                        Some(Box::new(e)),
                    );
                }
                _ => format!("cannot open the ledger at {location}: {e}"),
            };
            LedgerError::Unavailable { message, source: Some(Box::new(e)) }
        }
    }
}

/// SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
pub(super) fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// What can go wrong while opening.
#[derive(Debug)]
pub(crate) enum OpenError {
    Sqlx(sqlx::Error),
    Migrate(sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for OpenError {
    fn from(e: sqlx::Error) -> Self {
        OpenError::Sqlx(e)
    }
}

impl From<sqlx::migrate::MigrateError> for OpenError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => OpenError::Sqlx(inner),
            other => OpenError::Migrate(other),
        }
    }
}

/// A storage failure before any request went out.
fn before_sending(e: sqlx::Error) -> LedgerError {
    storage(Fate::NotSent, e)
}

fn storage(fate: Fate, e: sqlx::Error) -> LedgerError {
    let message = match fate {
        Fate::Unknown => format!(
            "{e}; the provider's answer is not recorded: the intent stays `sending` until \
             reconcile reads its status"
        ),
        _ => e.to_string(),
    };
    LedgerError::Storage { fate, message, source: Some(Box::new(e) as BoxError) }
}

pub(crate) fn now_ms() -> i64 {
    millis(SystemTime::now())
}

pub(crate) fn millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The stored columns of an intent, as both backends return them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct IntentRow {
    pub(crate) id: i64,
    pub(crate) idempotency_key: String,
    pub(crate) kind: String,
    pub(crate) provider: String,
    pub(crate) original_transaction_id: String,
    pub(crate) acknowledgement: Option<String>,
    pub(crate) amount_minor: Option<i64>,
    pub(crate) currency: Option<String>,
    pub(crate) charge_minor: Option<i64>,
    pub(crate) reference: String,
    pub(crate) note: Option<String>,
    pub(crate) otp_ref_id: Option<String>,
    pub(crate) params_hash: String,
    pub(crate) state: String,
    pub(crate) attempts: i64,
    pub(crate) lease_until_ms: Option<i64>,
    pub(crate) refund_id: Option<String>,
    pub(crate) provider_code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) last_error_kind: Option<String>,
    pub(crate) batch_id: Option<String>,
    pub(crate) batch_row: Option<i64>,
    pub(crate) version: i64,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

impl IntentRow {
    pub(crate) fn state(&self) -> IntentState {
        // Only this crate writes the column, from `IntentState::as_str`.
        self.state.parse().unwrap_or(IntentState::NeedsReview)
    }

    pub(crate) fn lease_live(&self) -> bool {
        self.state() == IntentState::Sending
            && self.lease_until_ms.is_some_and(|until| until > now_ms())
    }

    pub(crate) fn money(&self, minor: Option<i64>) -> Option<Money> {
        let currency: Currency = self.currency.as_deref()?.parse().ok()?;
        Some(Money::from_minor_units(u64::try_from(minor?).ok()?, currency))
    }

    pub(crate) fn to_record(&self) -> IntentRecord {
        IntentRecord {
            id: self.id,
            idempotency_key: self.idempotency_key.clone(),
            kind: if self.kind == IntentKind::Otp.as_str() {
                IntentKind::Otp
            } else {
                IntentKind::Direct
            },
            provider: self.provider.clone(),
            original_transaction_id: self.original_transaction_id.clone(),
            acknowledgement: self.acknowledgement.clone(),
            amount: self.money(self.amount_minor),
            charge_amount: self.money(self.charge_minor),
            reference: self.reference.clone(),
            note: self.note.clone(),
            otp_ref_id: self.otp_ref_id.clone(),
            state: self.state(),
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            lease_until: self.lease_until_ms.map(time),
            refund_id: self.refund_id.clone(),
            provider_code: self.provider_code.clone(),
            message: self.message.clone(),
            last_error_kind: self.last_error_kind.clone(),
            batch: self
                .batch_id
                .clone()
                .map(|id| (id, u64::try_from(self.batch_row.unwrap_or(0)).unwrap_or(0))),
            created_at: time(self.created_at_ms),
            updated_at: time(self.updated_at_ms),
            replayed: false,
        }
    }
}

/// The stored columns of an event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    intent_id: i64,
    at_ms: i64,
    from_state: Option<String>,
    to_state: String,
    attempt: i64,
    error_kind: Option<String>,
    provider_code: Option<String>,
    detail: Option<String>,
}

impl EventRow {
    pub(crate) fn to_event(&self) -> IntentEvent {
        IntentEvent {
            id: self.id,
            intent_id: self.intent_id,
            at: time(self.at_ms),
            from: self.from_state.as_deref().and_then(|s| s.parse().ok()),
            to: self.to_state.parse().unwrap_or(IntentState::NeedsReview),
            attempt: u32::try_from(self.attempt).unwrap_or(u32::MAX),
            error_kind: self.error_kind.clone(),
            provider_code: self.provider_code.clone(),
            detail: self.detail.clone(),
        }
    }
}
