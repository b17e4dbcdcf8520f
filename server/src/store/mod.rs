//! SQLite storage. Every rule that must hold under concurrency runs inside one `BEGIN IMMEDIATE`
//! transaction (SQLite's single writer makes those transitions serial), and a message that carries a
//! code is queued in the same transaction that stores the code.

mod accounts;
mod audit;
mod codes;
mod messages;
mod sessions;
mod unknown_logins;

pub use accounts::{AccountRecord, NewAccount};
pub use audit::{AuditEvent, NewAuditEvent};
pub use messages::{ClaimedMessage, DeliveryState, NewMessage, OutboxEntry};
pub use sessions::SessionRecord;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// A write transaction.
pub type WriteTx = Transaction<'static, Sqlite>;

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
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
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("could not open the database at {url}"))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .context("could not apply the database migrations")?;
        Ok(Self { pool })
    }

    /// Starts a transaction that holds SQLite's write lock from its first statement.
    pub async fn begin_write(&self) -> anyhow::Result<WriteTx> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .context("could not start a write transaction")
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
