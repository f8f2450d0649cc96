//! The PostgreSQL backend: one ledger shared by several instances.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{OpenError, OpenOptions};

pub(crate) type Db = sqlx::Postgres;
#[allow(clippy::duplicate_mod)] // on purpose: the same queries, compiled for this backend
#[path = "sql.rs"]
pub(crate) mod sql;

/// The pool writes go through: each write's statements commit on their own (each is a whole
/// write, its triggers included), from as many connections as the pool holds.
pub(crate) type Writer = sqlx::PgPool;

/// Runs `work` on a connection of the pool.
pub(crate) async fn write<T>(pool: &Writer, work: sql::Work<T>) -> sqlx::Result<T> {
    let mut conn = pool.acquire().await?;
    work(&mut conn).await
}

/// One pool; sqlx's migrator holds an advisory lock, so instances starting together are safe.
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<sql::Pools, OpenError> {
    let connect = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        .connect_with(connect)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(sql::Pools { writer: pool.clone(), read: pool })
}
