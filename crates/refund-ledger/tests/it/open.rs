//! Opening a ledger that cannot be opened: a clear, typed error, and nothing sent.

use std::time::Duration;

use refund_core::Fate;
use refund_ledger::{Ledger, LedgerError};

use crate::common::{TestDb, on_both_backends, raw_execute};

on_both_backends!(a_database_written_by_a_newer_version_is_refused);

#[tokio::test]
async fn malformed_urls_are_configuration_errors() {
    for url in
        ["", "   ", "ftp://host/x", ":memory:", "sqlite::memory:", "sqlite://", "mysql://u@h/db"]
    {
        let err = Ledger::open(url).await.unwrap_err();
        assert!(matches!(err, LedgerError::Config { .. }), "{url:?}: {err}");
        assert_eq!(err.fate(), Fate::NotSent);
    }
    if cfg!(feature = "postgres") {
        let err = Ledger::open("postgres://user@host:notaport/db").await.unwrap_err();
        assert_eq!(err.kind(), "config", "{err}");
    }
}

#[tokio::test]
async fn a_folder_that_cannot_be_created_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let err = Ledger::open(file.join("ledger").join("refunds.sqlite").display().to_string())
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Config { .. }), "{err}");
    assert!(err.to_string().contains("cannot create the ledger's folder"), "{err}");
}

#[tokio::test]
async fn a_new_file_and_its_folders_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("refunds.sqlite");
    let ledger = Ledger::open(format!("sqlite://{}", path.display())).await.unwrap();
    assert!(path.exists());
    assert_eq!(ledger.location(), path.display().to_string());
}

/// Instances started together on a new file race to switch it to WAL and create its tables;
/// SQLite answers the losers SQLITE_BUSY at once, without its busy handler. Every one must open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_opening_a_new_sqlite_file_at_once_all_open() {
    for _ in 0..20 {
        let db = TestDb::sqlite();
        let opens = (0..6).map(|_| tokio::spawn(db.builder().open()));
        for opened in futures_util::future::join_all(opens).await {
            opened.unwrap().unwrap();
        }
    }
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_is_unavailable() {
    use sqlx::Connection;
    let db = TestDb::sqlite();
    db.open().await.close().await;
    // Another writer holds the file's write lock.
    let mut holder =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.url)).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE; INSERT INTO refund_charges (provider, original_transaction_id, currency) VALUES ('x', 'y', 'MYR');")
        .execute(&mut holder)
        .await
        .unwrap();
    let err = db.builder().busy_timeout(Duration::from_millis(200)).open().await.unwrap_err();
    assert!(matches!(err, LedgerError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("locked by another process"), "{err}");
    sqlx::raw_sql("ROLLBACK").execute(&mut holder).await.unwrap();
    db.open().await;
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_unavailable() {
    if !cfg!(feature = "postgres") {
        eprintln!("skipped: refund-ledger built without `postgres`");
        return;
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let started = std::time::Instant::now();
    let err = Ledger::builder(format!("postgres://postgres@127.0.0.1:{port}/test"))
        .connect_timeout(Duration::from_millis(500))
        .open()
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::Unavailable { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

async fn a_database_written_by_a_newer_version_is_refused(db: TestDb) {
    db.open().await.close().await;
    let checksum = if db.backend == "sqlite" { "X'00'" } else { "'\\x00'::bytea" };
    raw_execute(
        &db,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'from the future', TRUE, {checksum}, 0)"
        ),
    )
    .await
    .unwrap();
    let err = db.builder().open().await.unwrap_err();
    match &err {
        LedgerError::SchemaTooNew { found, supported, .. } => {
            assert_eq!((*found, *supported), (99, 1))
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("upgrade refund-ledger"), "{err}");
}
