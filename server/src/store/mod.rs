//! SQLite storage. Every rule that must hold under concurrency runs inside one `BEGIN IMMEDIATE`
//! transaction (SQLite's single writer makes those transitions serial), and a message that carries a
//! code is queued in the same transaction that stores the code.
//!
//! Writers queue for SQLite's write lock in this process, on an async lock (the write gate), instead
//! of in SQLite's busy handler: the handler polls with sleeps of up to 100 ms, so under load a
//! waiting writer would sleep long after the lock came free.
//!
//! The write-ahead log is copied back into the database by a background task (`checkpoint`, every
//! second), so that no writer waits for a checkpoint and its fsync while holding the gate; a
//! writer checkpoints itself only if the log ever grows past `WAL_AUTOCHECKPOINT_PAGES`.

mod accounts;
mod audit;
mod codes;
mod messages;
mod sessions;
mod unknown_logins;

pub use accounts::{AccountRecord, NewAccount};
pub use audit::{AuditEvent, NewAuditEvent};
pub use messages::{ClaimedMessage, DeliveryState, Failure, NewMessage, OutboxEntry};
pub use sessions::SessionRecord;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// WAL pages past which a committing writer checkpoints the log itself (SQLite's default: 1000).
const WAL_AUTOCHECKPOINT_PAGES: &str = "20000";

/// A write transaction; it holds the write gate until it is committed or dropped.
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _gate: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// Held by whoever writes; see the module comment.
    gate: Arc<Mutex<()>>,
}

impl Store {
    /// Opens (creating if missing) the database at `url` and applies the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("DATABASE_URL is not a valid SQLite URL: {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("could not open the database at {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("could not apply the database migrations")?;
        Ok(Self {
            pool,
            gate: Arc::new(Mutex::new(())),
        })
    }

    /// Starts a transaction that holds SQLite's write lock from its first statement.
    pub async fn begin_write(&self) -> anyhow::Result<WriteTx> {
        let gate = Arc::clone(&self.gate).lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("could not start a write transaction")?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// The write gate, for a single statement that writes outside a transaction.
    async fn write_gate(&self) -> OwnedMutexGuard<()> {
        Arc::clone(&self.gate).lock_owned().await
    }

    /// Copies what it can of the write-ahead log into the database without blocking writers
    /// (`PASSIVE`); returns the pages now in the log and how many of them are copied.
    pub async fn checkpoint(&self) -> anyhow::Result<(i64, i64)> {
        let (_busy, log, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await
                .context("could not checkpoint the write-ahead log")?;
        Ok((log, copied))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether the database answers and the migrations are applied.
    pub async fn is_ready(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&self.pool)
            .await
            .map(|applied| applied > 0)
            .unwrap_or(false)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
