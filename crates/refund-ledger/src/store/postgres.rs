//! The PostgreSQL backend: one ledger shared by several instances.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{OpenError, OpenOptions};

pub(crate) type Db = sqlx::Postgres;
pub(crate) const BEGIN_WRITE: &str = "BEGIN";
#[allow(clippy::duplicate_mod)] // on purpose: the same queries, compiled for this backend
#[path = "sql.rs"]
pub(crate) mod sql;

/// One pool; sqlx's migrator holds an advisory lock, so instances starting together are safe.
pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<sql::Pools, OpenError> {
    let connect = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.connect_timeout)
        .connect_with(connect)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(sql::Pools { write: pool.clone(), read: pool })
}
