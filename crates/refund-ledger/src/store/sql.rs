//! The ledger's queries, written once and compiled for each backend (see `store/mod.rs`): `Db`
//! and `BEGIN_WRITE` come from the backend module this file is mounted in.
//!
//! Every change of an intent is a conditional `UPDATE … WHERE id = $1 AND version = $2`: of two
//! processes acting on the same intent, exactly one changes it; the other sees nothing changed
//! and reads the row again. Every change writes its event in the same transaction.

use sqlx::{Pool, Transaction};

use super::{BEGIN_WRITE, Db};
use crate::intent::NewIntent;
use crate::record::{IntentState, ListFilter};
use crate::store::{Begun, Change, EventRow, IntentRow};

type Tx = Transaction<'static, Db>;

/// The pools of one ledger: writes go through `write` (one connection on SQLite, which runs
/// one write transaction at a time anyway), reads through `read`.
#[derive(Debug, Clone)]
pub(crate) struct Pools {
    pub(crate) write: Pool<Db>,
    pub(crate) read: Pool<Db>,
}

impl Pools {
    pub(crate) async fn close(&self) {
        self.write.close().await;
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
     version = version + 1, updated_at_ms = $4 \
     WHERE id = $1 AND version = $2 AND state IN ('reserved', 'not_processed') RETURNING ",
    intent_columns!()
);

const CHANGE: &str = concat!(
    "UPDATE refund_intents SET state = $3, refund_id = COALESCE($4, refund_id), \
     provider_code = COALESCE($5, provider_code), message = COALESCE($6, message), \
     last_error_kind = $7, otp_ref_id = COALESCE($8, otp_ref_id), \
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

const INSERT_EVENT: &str = "INSERT INTO refund_events (intent_id, at_ms, from_state, to_state, \
     attempt, error_kind, provider_code, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The two events of an intent written and claimed at once, in one statement: a round trip
/// fewer on every refund (5% of its CPU time on PostgreSQL, docs/performance.md).
const INSERT_CREATED_CLAIMED: &str = "INSERT INTO refund_events (intent_id, at_ms, from_state, \
     to_state, attempt) VALUES ($1, $2, NULL, 'reserved', 0), ($1, $2, 'reserved', 'sending', 1)";

const ENSURE_CHARGE: &str = "INSERT INTO refund_charges (provider, original_transaction_id, \
     currency, charge_minor, reserved_minor) VALUES ($1, $2, $3, $4, 0) \
     ON CONFLICT (provider, original_transaction_id) DO NOTHING";

/// Holds `$3` more against the charge, atomically: the row lock (PostgreSQL) or the write lock
/// (SQLite) makes the check and the addition one step across processes and instances.
const HOLD_ON_CHARGE: &str = "UPDATE refund_charges \
     SET reserved_minor = reserved_minor + $3, charge_minor = COALESCE(charge_minor, $4) \
     WHERE provider = $1 AND original_transaction_id = $2 AND currency = $5 \
     AND ($4 IS NULL OR charge_minor IS NULL OR charge_minor = $4) \
     AND reserved_minor + $3 <= COALESCE(charge_minor, $4, reserved_minor + $3) \
     RETURNING reserved_minor";

const RELEASE_FROM_CHARGE: &str = "UPDATE refund_charges SET reserved_minor = reserved_minor - $3 \
     WHERE provider = $1 AND original_transaction_id = $2";

/// Writes `new` (or finds its key), and with `claim` also claims it for sending until that time.
pub(crate) async fn begin(
    pools: &Pools,
    new: &NewIntent,
    claim: Option<i64>,
    now: i64,
) -> sqlx::Result<Begun> {
    let mut tx = pools.write.begin_with(BEGIN_WRITE).await?;
    let begun = begin_in(&mut tx, new, claim, now).await?;
    finish(tx, matches!(begun, Begun::Created(_) | Begun::Claimed { .. })).await?;
    Ok(begun)
}

/// Writes every intent as `reserved` (or finds its key), in one transaction.
pub(crate) async fn begin_all(
    pools: &Pools,
    intents: &[NewIntent],
    now: i64,
) -> sqlx::Result<Vec<Begun>> {
    let mut tx = pools.write.begin_with(BEGIN_WRITE).await?;
    let mut begun = Vec::with_capacity(intents.len());
    for new in intents {
        begun.push(begin_in(&mut tx, new, None, now).await?);
    }
    tx.commit().await?;
    Ok(begun)
}

async fn finish(tx: Tx, commit: bool) -> sqlx::Result<()> {
    if commit { tx.commit().await } else { tx.rollback().await }
}

async fn begin_in(
    tx: &mut Tx,
    new: &NewIntent,
    claim: Option<i64>,
    now: i64,
) -> sqlx::Result<Begun> {
    let state = if claim.is_some() { IntentState::Sending } else { IntentState::Reserved };
    let inserted: Option<IntentRow> = sqlx::query_as(INSERT_INTENT)
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
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = inserted else {
        let existing: IntentRow =
            sqlx::query_as(SELECT_BY_KEY).bind(&new.key).fetch_one(&mut **tx).await?;
        let claimable =
            matches!(existing.state(), IntentState::Reserved | IntentState::NotProcessed);
        if let Some(lease_until) =
            claim.filter(|_| claimable && existing.params_hash == new.params_hash)
            && let Some(row) = claim_in(tx, &existing, lease_until, now).await?
        {
            return Ok(Begun::Claimed { row });
        }
        return Ok(Begun::Existing(existing));
    };
    if let Some(refusal) = hold_on_charge(tx, new).await? {
        // Never committed: the intent was not made, so it leaves no trace and no event.
        sqlx::query("DELETE FROM refund_intents WHERE id = $1")
            .bind(row.id)
            .execute(&mut **tx)
            .await?;
        return Ok(refusal);
    }
    if claim.is_some() {
        sqlx::query(INSERT_CREATED_CLAIMED).bind(row.id).bind(now).execute(&mut **tx).await?;
    } else {
        insert_event(tx, &row, (None, IntentState::Reserved), 0, now, &Change::default()).await?;
    }
    Ok(Begun::Created(row))
}

/// Holds the new intent's amount against its charge; `Some` is a refusal.
async fn hold_on_charge(tx: &mut Tx, new: &NewIntent) -> sqlx::Result<Option<Begun>> {
    let Some(amount) = new.amount else { return Ok(None) };
    let currency = amount.currency().code();
    let charge = new.charge_amount.map(minor);
    sqlx::query(ENSURE_CHARGE)
        .bind(new.provider)
        .bind(&new.original)
        .bind(currency)
        .bind(charge)
        .execute(&mut **tx)
        .await?;
    let held: Option<i64> = sqlx::query_scalar(HOLD_ON_CHARGE)
        .bind(new.provider)
        .bind(&new.original)
        .bind(minor(amount))
        .bind(charge)
        .bind(currency)
        .fetch_optional(&mut **tx)
        .await?;
    if held.is_some() {
        return Ok(None);
    }
    let (charge_minor, held_minor, recorded_currency): (Option<i64>, i64, String) = sqlx::query_as(
        "SELECT charge_minor, reserved_minor, currency FROM refund_charges \
         WHERE provider = $1 AND original_transaction_id = $2",
    )
    .bind(new.provider)
    .bind(&new.original)
    .fetch_one(&mut **tx)
    .await?;
    let mismatch = recorded_currency != currency
        || charge.zip(charge_minor).is_some_and(|(given, recorded)| given != recorded);
    Ok(Some(if mismatch {
        Begun::ChargeMismatch { charge_minor, currency: recorded_currency }
    } else {
        Begun::OverRefund { charge_minor: charge_minor.or(charge).unwrap_or(0), held_minor }
    }))
}

/// Claims a reserved or not-processed intent for sending until `lease_until`.
pub(crate) async fn claim(
    pools: &Pools,
    row: &IntentRow,
    lease_until: i64,
    now: i64,
) -> sqlx::Result<Option<IntentRow>> {
    let mut tx = pools.write.begin_with(BEGIN_WRITE).await?;
    let claimed = claim_in(&mut tx, row, lease_until, now).await?;
    finish(tx, claimed.is_some()).await?;
    Ok(claimed)
}

async fn claim_in(
    tx: &mut Tx,
    row: &IntentRow,
    lease_until: i64,
    now: i64,
) -> sqlx::Result<Option<IntentRow>> {
    let claimed: Option<IntentRow> = sqlx::query_as(CLAIM)
        .bind(row.id)
        .bind(row.version)
        .bind(lease_until)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(claimed) = &claimed {
        let transition = (Some(row.state()), IntentState::Sending);
        insert_event(tx, claimed, transition, claimed.attempts, now, &Change::default()).await?;
    }
    Ok(claimed)
}

/// Applies `change` if the intent's version is still `row`'s, releasing its hold on the charge
/// when it becomes declined.
pub(crate) async fn change(
    pools: &Pools,
    row: &IntentRow,
    change: &Change,
    now: i64,
) -> sqlx::Result<Option<IntentRow>> {
    let to = change.to.unwrap_or(row.state());
    let mut tx = pools.write.begin_with(BEGIN_WRITE).await?;
    let updated: Option<IntentRow> = sqlx::query_as(CHANGE)
        .bind(row.id)
        .bind(row.version)
        .bind(to.as_str())
        .bind(&change.refund_id)
        .bind(&change.provider_code)
        .bind(&change.message)
        .bind(&change.error_kind)
        .bind(&change.otp_ref_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(updated) = updated else {
        tx.rollback().await?;
        return Ok(None);
    };
    if let Some(amount) =
        row.amount_minor.filter(|_| row.state().holds_reservation() && !to.holds_reservation())
    {
        sqlx::query(RELEASE_FROM_CHARGE)
            .bind(&row.provider)
            .bind(&row.original_transaction_id)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
    }
    insert_event(&mut tx, &updated, (Some(row.state()), to), updated.attempts, now, change).await?;
    tx.commit().await?;
    Ok(Some(updated))
}

async fn insert_event(
    tx: &mut Tx,
    row: &IntentRow,
    (from, to): (Option<IntentState>, IntentState),
    attempt: i64,
    now: i64,
    change: &Change,
) -> sqlx::Result<()> {
    sqlx::query(INSERT_EVENT)
        .bind(row.id)
        .bind(now)
        .bind(from.map(IntentState::as_str))
        .bind(to.as_str())
        .bind(attempt)
        .bind(&change.error_kind)
        .bind(&change.provider_code)
        .bind(change.detail.as_ref().or(change.message.as_ref()))
        .execute(&mut **tx)
        .await?;
    Ok(())
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
