//! The SQLite backend: the embedded default.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::oneshot;

use super::{OpenError, OpenOptions};

pub(crate) type Db = sqlx::Sqlite;
/// Taken at once, so a transaction that writes never meets SQLITE_BUSY halfway (a deferred
/// `BEGIN` that turns into a write skips the busy handler).
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
#[allow(clippy::duplicate_mod)] // on purpose: the same queries, compiled for this backend
#[path = "sql.rs"]
pub(crate) mod sql;

/// WAL, `synchronous=FULL` (a commit survives power loss), one writer per process.
///
/// Processes that open a new file at the same moment race to switch it to WAL and to create its
/// tables, and SQLite answers the loser with SQLITE_BUSY at once, without waiting in its busy
/// handler (two batches started together failed in 4 ms, one run in four on a loaded machine).
/// So a busy open is tried again, after a short pause, until the busy timeout has passed.
pub(crate) async fn open(path: &Path, options: &OpenOptions) -> Result<sql::Pools, OpenError> {
    let started = std::time::Instant::now();
    loop {
        match open_once(path, options).await {
            Err(OpenError::Sqlx(sqlx::Error::Database(e)))
                if super::is_busy(e.code().as_deref())
                    && started.elapsed() < options.busy_timeout =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(5..50))).await;
            }
            opened => return opened,
        }
    }
}

async fn open_once(path: &Path, options: &OpenOptions) -> Result<sql::Pools, OpenError> {
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
    Ok(sql::Pools {
        writer: Arc::new(Group {
            pool: write,
            queue: Mutex::default(),
            leader: Default::default(),
        }),
        read,
    })
}

/// Group commit: the writes queued while a commit is under way go together in the next one.
///
/// A commit of SQLite with `synchronous=FULL` waits for the disk (an fsync), and one process
/// has one writer: alone, every refund would wait for two fsyncs in a row, and a batch at 64
/// in flight would crawl at the disk's pace (900 refunds/s measured, docs/performance.md). So a
/// write joins a queue; whoever takes the writer next runs everything queued, each write after
/// the other, in one transaction, commits once, and only then answers each of them: "committed
/// before sent" and "recorded after the answer" hold for every write as they did alone. A write
/// is one statement whose failure undoes only itself (SQLite's ABORT), so one write's refusal
/// (an over-refund) takes nothing else with it.
pub(crate) struct Group {
    pool: SqlitePool,
    queue: Mutex<Vec<Box<dyn Queued>>>,
    /// Held by the write running the queue.
    leader: tokio::sync::Mutex<()>,
}

/// The writer of a SQLite ledger.
pub(crate) type Writer = Arc<Group>;

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

impl Group {
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// Runs `work` in the next group commit; answers after that commit.
pub(crate) async fn write<T: Send + 'static>(
    group: &Writer,
    work: sql::Work<T>,
) -> sqlx::Result<T> {
    let (answer, mut answered) = oneshot::channel();
    group
        .queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Box::new(Write { work, answer }));
    let _leader = group.leader.lock().await;
    // The write before ours may have run ours with its own.
    if let Ok(result) = answered.try_recv() {
        return result;
    }
    let queued = std::mem::take(&mut *group.queue.lock().unwrap_or_else(PoisonError::into_inner));
    run(&group.pool, queued).await;
    answered.await.unwrap_or(Err(sqlx::Error::WorkerCrashed))
}

/// One transaction for every write queued; each is answered after its commit.
async fn run(pool: &SqlitePool, queued: Vec<Box<dyn Queued>>) {
    let mut tx = match pool.begin_with(BEGIN_WRITE).await {
        Ok(tx) => tx,
        Err(e) => return queued.into_iter().for_each(|w| w.fail(&e)),
    };
    let mut done = Vec::with_capacity(queued.len());
    for write in queued {
        done.push(write.run(&mut tx).await);
    }
    match tx.commit().await {
        Ok(()) => done.into_iter().for_each(|d| d.answer(None)),
        Err(e) => done.into_iter().for_each(|d| d.answer(Some(&e))),
    }
}

/// A write waiting in the queue, of any result type.
trait Queued: Send {
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> BoxFuture<'c, Box<dyn Ran>>;
    fn fail(self: Box<Self>, error: &sqlx::Error);
}

/// A write that ran, waiting for its commit.
trait Ran: Send {
    /// `None`: committed.
    fn answer(self: Box<Self>, commit_failed: Option<&sqlx::Error>);
}

struct Write<T> {
    work: sql::Work<T>,
    answer: oneshot::Sender<sqlx::Result<T>>,
}

impl<T: Send + 'static> Queued for Write<T> {
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut sqlx::SqliteConnection,
    ) -> BoxFuture<'c, Box<dyn Ran>> {
        Box::pin(async move {
            let result = (self.work)(conn).await;
            Box::new(Done { result, answer: self.answer }) as Box<dyn Ran>
        })
    }
    fn fail(self: Box<Self>, error: &sqlx::Error) {
        let _ = self.answer.send(Err(copy(error)));
    }
}

struct Done<T> {
    result: sqlx::Result<T>,
    answer: oneshot::Sender<sqlx::Result<T>>,
}

impl<T: Send> Ran for Done<T> {
    fn answer(self: Box<Self>, commit_failed: Option<&sqlx::Error>) {
        let result = match commit_failed {
            Some(error) if self.result.is_ok() => Err(copy(error)),
            _ => self.result,
        };
        let _ = self.answer.send(result);
    }
}

/// The group's error for each write in it (sqlx's errors cannot be cloned; the words stay).
fn copy(error: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("the group commit failed: {error}"))
}
