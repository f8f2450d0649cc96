//! The SQLite backend: the embedded default.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{OpenError, OpenOptions};

pub(crate) type Db = sqlx::Sqlite;
/// Taken at once, so a transaction that writes never meets SQLITE_BUSY halfway (a deferred
/// `BEGIN` that turns into a write skips the busy handler).
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
#[allow(clippy::duplicate_mod)] // on purpose: the same queries, compiled for this backend
#[path = "sql.rs"]
pub(crate) mod sql;

/// WAL, `synchronous=FULL` (a commit survives power loss), one writer per process.
pub(crate) async fn open(path: &Path, options: &OpenOptions) -> Result<sql::Pools, OpenError> {
    let connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);
    // SQLite runs one write transaction at a time: a queue in the pool is fairer and faster
    // than several connections sleeping in SQLite's busy handler. Other processes still meet
    // the busy handler, up to `busy_timeout`.
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(options.busy_timeout.max(options.connect_timeout) * 4)
        .connect_with(connect.clone())
        .await?;
    // Several processes opening a new file at once race to create the tables; the loser's
    // migration fails on a table that now exists, and the next try finds it applied.
    let mut tries = 0;
    loop {
        match sqlx::migrate!("./migrations/sqlite").run(&write).await {
            Ok(()) => break,
            Err(
                e @ (sqlx::migrate::MigrateError::VersionMissing(_)
                | sqlx::migrate::MigrateError::VersionMismatch(_)),
            ) => return Err(e.into()),
            Err(_) if tries < 3 => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
    // A file another process holds the write lock of (past the busy timeout) is refused here,
    // before any intent, rather than at the first refund.
    write.begin_with(BEGIN_WRITE).await?.rollback().await?;
    let read = SqlitePoolOptions::new()
        .max_connections(options.max_connections.clamp(1, 8))
        .connect_with(connect)
        .await?;
    Ok(sql::Pools { write, read })
}
