//! The ledger's queries, written once and compiled for each backend (see `store/mod.rs`): `Db`,
//! `Writer` and `write` come from the backend module this file is mounted in.
//!
//! Every write of an intent is one statement; the database's triggers record its event and keep
//! its charge's total in the same statement (the migrations). Every change is a conditional
//! `UPDATE … WHERE id = $1 AND version = $2`: of two processes acting on the same intent, exactly
//! one changes it; the other sees nothing changed and reads the row again. `write` runs a write
//! on the backend's writer: PostgreSQL commits each statement on its own; SQLite commits the
//! writes queued together at once (one fsync), each caller answered after that commit.

use futures_util::future::BoxFuture;
use sqlx::Pool;

use super::{Db, Writer, write};
use crate::intent::NewIntent;
use crate::record::{IntentState, ListFilter};
use crate::store::{Begun, Change, EventRow, IntentRow};

/// A connection of this backend.
pub(crate) type Conn = <Db as sqlx::Database>::Connection;

/// One write: statements run on the writer's connection.
pub(crate) type Work<T> =
    Box<dyn for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, sqlx::Result<T>> + Send>;

/// Boxes a write (the closure's higher-ranked signature is inferred from this bound).
fn work<T, F>(f: F) -> Work<T>
where
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, sqlx::Result<T>> + Send + 'static,
{
    Box::new(f)
}

/// The ledger's connections: writes go through the writer, reads through `read`.
#[derive(Debug, Clone)]
pub(crate) struct Pools {
    pub(crate) writer: Writer,
    pub(crate) read: Pool<Db>,
}

impl Pools {
    pub(crate) async fn close(&self) {
        self.writer.close().await;
        self.read.close().await;
    }
}

macro_rules! intent_columns {
    () => {
        "id, idempotency_key, kind, provider, original_transaction_id, acknowledgement, \
         amount_minor, currency, charge_minor, reference, note, otp_ref_id, params_hash, state, \
         attempts, lease_until_ms, refund_id, provider_code, message, last_error_kind, batch_id, \
         batch_row, version, created_at_ms, updated_at_ms"
    };
}

const INSERT_INTENT: &str = concat!(
    "INSERT INTO refund_intents (idempotency_key, kind, provider, original_transaction_id, \
     acknowledgement, amount_minor, currency, charge_minor, reference, note, params_hash, state, \
     attempts, lease_until_ms, batch_id, batch_row, created_at_ms, updated_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING ",
    intent_columns!()
);

const SELECT_BY_KEY: &str =
    concat!("SELECT ", intent_columns!(), " FROM refund_intents WHERE idempotency_key = $1");

const SELECT_BY_ID: &str =
    concat!("SELECT ", intent_columns!(), " FROM refund_intents WHERE id = $1");

const CLAIM: &str = concat!(
    "UPDATE refund_intents SET state = 'sending', attempts = attempts + 1, lease_until_ms = $3, \
     last_error_kind = NULL, last_detail = NULL, version = version + 1, updated_at_ms = $4 \
     WHERE id = $1 AND version = $2 AND state IN ('reserved', 'not_processed') RETURNING ",
    intent_columns!()
);

const CHANGE: &str = concat!(
    "UPDATE refund_intents SET state = $3, refund_id = COALESCE($4, refund_id), \
     provider_code = $5, message = COALESCE($6, message), last_error_kind = $7, \
     otp_ref_id = COALESCE($8, otp_ref_id), last_detail = $10, \
     lease_until_ms = CASE WHEN $3 = 'sending' THEN lease_until_ms ELSE NULL END, \
     version = version + 1, updated_at_ms = $9 \
     WHERE id = $1 AND version = $2 RETURNING ",
    intent_columns!()
);

const LIST: &str = concat!(
    "SELECT ",
    intent_columns!(),
    " FROM refund_intents WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR provider = $2) \
     AND ($3 IS NULL OR created_at_ms >= $3) AND ($4 IS NULL OR batch_id = $4) AND id > $5 \
     ORDER BY id LIMIT $6"
);

/// Intents a status read may settle: pending, unknown, and sending past its lease (a crash).
const UNSETTLED: &str = concat!(
    "SELECT ",
    intent_columns!(),
    " FROM refund_intents WHERE state IN ('unknown', 'pending') \
     OR (state = 'sending' AND (lease_until_ms IS NULL OR lease_until_ms <= $1)) ORDER BY id"
);

/// The message of the triggers' refusal to hold an amount against a charge.
const CHARGE_REFUSED: &str = "refund_ledger: the charge refuses this amount";

/// Writes `new` (or finds its key), and with `claim` also claims it for sending until that time.
pub(crate) async fn begin(
    pools: &Pools,
    new: &NewIntent,
    claim: Option<i64>,
    now: i64,
) -> sqlx::Result<Begun> {
    let new = new.clone();
    write(
        &pools.writer,
        work(move |conn| Box::pin(async move { begin_in(conn, &new, claim, now).await })),
    )
    .await
}

/// Writes every intent as `reserved` (or finds its key).
pub(crate) async fn begin_all(
    pools: &Pools,
    intents: &[NewIntent],
    now: i64,
) -> sqlx::Result<Vec<Begun>> {
    let intents = intents.to_vec();
    write(
        &pools.writer,
        work(move |conn| {
            Box::pin(async move {
                let mut begun = Vec::with_capacity(intents.len());
                for new in &intents {
                    begun.push(begin_in(conn, new, None, now).await?);
                }
                Ok(begun)
            })
        }),
    )
    .await
}

async fn begin_in(
    conn: &mut Conn,
    new: &NewIntent,
    claim: Option<i64>,
    now: i64,
) -> sqlx::Result<Begun> {
    let state = if claim.is_some() { IntentState::Sending } else { IntentState::Reserved };
    let inserted: sqlx::Result<Option<IntentRow>> = sqlx::query_as(INSERT_INTENT)
        .bind(&new.key)
        .bind(new.kind.as_str())
        .bind(new.provider)
        .bind(&new.original)
        .bind(&new.acknowledgement)
        .bind(new.amount.map(minor))
        .bind(new.amount.or(new.charge_amount).map(|m| m.currency().code()))
        .bind(new.charge_amount.map(minor))
        .bind(&new.reference)
        .bind(&new.note)
        .bind(&new.params_hash)
        .bind(state.as_str())
        .bind(i64::from(claim.is_some()))
        .bind(claim)
        .bind(new.batch.as_ref().map(|(id, _)| id.as_str()))
        .bind(new.batch.as_ref().map(|(_, row)| i64::try_from(*row).unwrap_or(i64::MAX)))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await;
    match inserted {
        Ok(Some(row)) => Ok(Begun::Created(row)),
        Ok(None) => {
            let existing: IntentRow =
                sqlx::query_as(SELECT_BY_KEY).bind(&new.key).fetch_one(&mut *conn).await?;
            let claimable =
                matches!(existing.state(), IntentState::Reserved | IntentState::NotProcessed);
            if let Some(lease_until) =
                claim.filter(|_| claimable && existing.params_hash == new.params_hash)
                && let Some(row) = claim_in(conn, &existing, lease_until, now).await?
            {
                return Ok(Begun::Claimed { row });
            }
            Ok(Begun::Existing(existing))
        }
        // The hold trigger refused: the insert was undone whole. Say why.
        Err(sqlx::Error::Database(e)) if e.message().contains(CHARGE_REFUSED) => {
            refusal(conn, new).await
        }
        Err(e) => Err(e),
    }
}

/// Why the charge refused `new`'s amount: another amount or currency on record, or too much held.
async fn refusal(conn: &mut Conn, new: &NewIntent) -> sqlx::Result<Begun> {
    let (charge_minor, held_minor, currency): (Option<i64>, i64, String) = sqlx::query_as(
        "SELECT charge_minor, reserved_minor, currency FROM refund_charges \
         WHERE provider = $1 AND original_transaction_id = $2",
    )
    .bind(new.provider)
    .bind(&new.original)
    .fetch_one(&mut *conn)
    .await?;
    let given = new.charge_amount.map(minor);
    let mismatch = new.amount.is_some_and(|a| a.currency().code() != currency)
        || given.zip(charge_minor).is_some_and(|(given, recorded)| given != recorded);
    Ok(if mismatch {
        Begun::ChargeMismatch { charge_minor, currency }
    } else {
        Begun::OverRefund { charge_minor: charge_minor.or(given).unwrap_or(0), held_minor }
    })
}

/// Claims a reserved or not-processed intent for sending until `lease_until`.
pub(crate) async fn claim(
    pools: &Pools,
    row: &IntentRow,
    lease_until: i64,
    now: i64,
) -> sqlx::Result<Option<IntentRow>> {
    let row = row.clone();
    write(
        &pools.writer,
        work(move |conn| Box::pin(async move { claim_in(conn, &row, lease_until, now).await })),
    )
    .await
}

async fn claim_in(
    conn: &mut Conn,
    row: &IntentRow,
    lease_until: i64,
    now: i64,
) -> sqlx::Result<Option<IntentRow>> {
    sqlx::query_as(CLAIM)
        .bind(row.id)
        .bind(row.version)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
}

/// Applies `change` if the intent's version is still `row`'s; the triggers record the event and
/// release the charge's hold when it becomes declined.
pub(crate) async fn change(
    pools: &Pools,
    row: &IntentRow,
    change: &Change,
    now: i64,
) -> sqlx::Result<Option<IntentRow>> {
    let (id, version, change) = (row.id, row.version, change.clone());
    let to = change.to.unwrap_or(row.state());
    write(
        &pools.writer,
        work(move |conn| {
            Box::pin(async move {
                sqlx::query_as(CHANGE)
                    .bind(id)
                    .bind(version)
                    .bind(to.as_str())
                    .bind(&change.refund_id)
                    .bind(&change.provider_code)
                    .bind(&change.message)
                    .bind(&change.error_kind)
                    .bind(&change.otp_ref_id)
                    .bind(now)
                    .bind(change.detail.as_ref().or(change.message.as_ref()))
                    .fetch_optional(&mut *conn)
                    .await
            })
        }),
    )
    .await
}

pub(crate) async fn get(pools: &Pools, id: i64) -> sqlx::Result<Option<IntentRow>> {
    sqlx::query_as(SELECT_BY_ID).bind(id).fetch_optional(&pools.read).await
}

pub(crate) async fn by_key(pools: &Pools, key: &str) -> sqlx::Result<Option<IntentRow>> {
    sqlx::query_as(SELECT_BY_KEY).bind(key).fetch_optional(&pools.read).await
}

pub(crate) async fn list(pools: &Pools, filter: &ListFilter) -> sqlx::Result<Vec<IntentRow>> {
    sqlx::query_as(LIST)
        .bind(filter.state.map(IntentState::as_str))
        .bind(&filter.provider)
        .bind(filter.since.map(crate::store::millis))
        .bind(&filter.batch_id)
        .bind(filter.after_id.unwrap_or(0))
        .bind(filter.limit.map_or(i64::MAX, i64::from))
        .fetch_all(&pools.read)
        .await
}

pub(crate) async fn unsettled(pools: &Pools, now: i64) -> sqlx::Result<Vec<IntentRow>> {
    sqlx::query_as(UNSETTLED).bind(now).fetch_all(&pools.read).await
}

pub(crate) async fn events(pools: &Pools, id: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(
        "SELECT id, intent_id, at_ms, from_state, to_state, attempt, error_kind, provider_code, \
         detail FROM refund_events WHERE intent_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&pools.read)
    .await
}

fn minor(money: refund_core::Money) -> i64 {
    // Checked when the intent was made (`NewIntent::build`).
    i64::try_from(money.minor_units()).unwrap_or(i64::MAX)
}
