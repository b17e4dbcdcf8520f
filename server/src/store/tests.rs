//! Tests of `store`.

use super::*;
use crate::writer_thread::tests::cpus_of_thread;
use crate::writer_thread::{allowed_cpus, WriterCpu};

#[test]
fn the_scheme_chooses_the_backend() {
    assert_eq!(Backend::of_url("sqlite://data/x.db"), Some(Backend::Sqlite));
    assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
    assert_eq!(
        Backend::of_url("postgres://u@localhost/latchkey"),
        Some(Backend::Postgres)
    );
    assert_eq!(
        Backend::of_url("postgresql://u@localhost/latchkey"),
        Some(Backend::Postgres)
    );
    assert_eq!(Backend::of_url("mysql://u@localhost/latchkey"), None);
    assert_eq!(Backend::of_url("data/latchkey.db"), None);
}

#[tokio::test]
async fn sqlite_writes_go_through_one_connection_with_a_larger_cache() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite://{}/x.db", dir.path().display()), 4).await?;
    let cache_size = "PRAGMA cache_size";
    let mut tx = store.begin_write().await?;
    let writer_cache: i64 = sqlx::query_scalar(cache_size).fetch_one(&mut *tx).await?;
    assert_eq!(writer_cache, -i64::from(WRITER_CACHE_KIB));
    // The writer is taken: a second writer waits, a reader does not.
    let second =
        tokio::time::timeout(std::time::Duration::from_millis(200), store.begin_write()).await;
    assert!(second.is_err(), "a second write transaction began");
    let mut reader = store.reader().await?;
    let reader_cache: i64 = sqlx::query_scalar(cache_size)
        .fetch_one(&mut *reader)
        .await?;
    assert_eq!(reader_cache, -2000, "SQLite's default");
    tx.commit().await?;
    drop(store.begin_write().await?);
    Ok(())
}

/// sqlx's SQLite connection threads (`/proc` truncates their names) confined to `cpu` alone.
fn sqlite_threads_pinned_to(cpu: usize) -> anyhow::Result<usize> {
    let mut pinned = 0;
    for task in std::fs::read_dir("/proc/self/task")? {
        let tid = task?.file_name().to_string_lossy().into_owned();
        let name = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"));
        let (Ok(name), Ok(cpus)) = (name, cpus_of_thread(&tid)) else {
            continue; // the thread has ended meanwhile
        };
        if name.starts_with("sqlx-sqlite") && cpus == cpu.to_string() {
            pinned += 1;
        }
    }
    Ok(pinned)
}

#[tokio::test]
async fn the_writer_connection_shares_the_writer_threads_cpu() -> anyhow::Result<()> {
    let allowed = allowed_cpus()?;
    let Some(&cpu) = allowed.last().filter(|_| allowed.len() > 1) else {
        eprintln!("skipped: one CPU, so every thread runs on it");
        return Ok(());
    };
    let writer_thread = WriterThread::start(WriterCpu::Cpu(cpu))?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/x.db", dir.path().display());
    let before = sqlite_threads_pinned_to(cpu)?;
    let store = Store::connect_on(&url, 4, DEFAULT_ACQUIRE_TIMEOUT, &writer_thread).await?;
    assert_eq!(sqlite_threads_pinned_to(cpu)?, before + 1);
    // Readers wanted at once on the writer thread are the ones opened at startup.
    let readers = store.clone();
    writer_thread
        .run(async move {
            let mut held = Vec::new();
            for _ in 0..4 {
                held.push(readers.reader().await?);
            }
            anyhow::Ok(held.len())
        })
        .await??;
    assert_eq!(
        sqlite_threads_pinned_to(cpu)?,
        before + 1,
        "a reader was pinned"
    );
    let mut tx = store.begin_write().await?;
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn the_writer_recovers_from_a_transaction_sqlite_ended_by_itself() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite://{}/x.db", dir.path().display()), 2).await?;
    // As after a full disk: SQLite has rolled the transaction back, sqlx still counts it, and
    // the rollback of the dropped transaction then fails.
    let mut tx = store.begin_write().await?;
    sqlx::query("ROLLBACK").execute(&mut *tx).await?;
    drop(tx);
    let mut tx = store.begin_write().await?;
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    assert!(store.accepts_writes().await);
    Ok(())
}

#[tokio::test]
async fn pruning_writes_through_the_writer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite://{}/x.db", dir.path().display()), 2).await?;
    let cutoff = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    // While the writer is taken (without a lock in SQLite), pruning waits for it.
    let held = store.writer.acquire().await?;
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        futures_util::future::join(
            store.prune_expired_codes(cutoff),
            store.prune_trusted_devices(cutoff),
        ),
    )
    .await;
    assert!(waited.is_err(), "a prune wrote beside the writer");
    drop(held);
    assert_eq!(store.prune_expired_codes(cutoff).await?, 0);
    assert_eq!(store.prune_trusted_devices(cutoff).await?, 0);
    Ok(())
}

#[test]
fn a_sqlite_url_creates_its_file_unless_it_says_otherwise() {
    assert_eq!(
        sqlite_url_creating_the_file("sqlite://data/x.db"),
        "sqlite://data/x.db?mode=rwc"
    );
    assert_eq!(
        sqlite_url_creating_the_file("sqlite://data/x.db?cache=shared"),
        "sqlite://data/x.db?cache=shared&mode=rwc"
    );
    assert_eq!(
        sqlite_url_creating_the_file("sqlite://data/x.db?mode=ro"),
        "sqlite://data/x.db?mode=ro"
    );
}
