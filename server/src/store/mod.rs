//! Storage, in SQLite (the embedded default) or PostgreSQL (several instances sharing one
//! database), behind one API. The SQL is shared, written with `$1`-style parameters that both
//! accept; the few statements that differ are chosen by `Backend`, and each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`, version for version).
//!
//! Every rule that must hold under concurrency runs inside one write transaction, and the write
//! transactions a rule could see each other in never overlap, in any instance. SQLite has one
//! writer (`BEGIN IMMEDIATE`): no two write transactions overlap. In PostgreSQL each write
//! transaction first takes transaction-scoped advisory locks for its `WriteScope`: a transaction
//! whose rules span accounts (send limits, the SMS budget, unknown-email lockouts, signups, admin
//! actions) takes the cluster lock exclusively (`begin_write`), and overlaps nothing; one that
//! touches one account's rows only (its lockout, codes, sessions, second steps) takes the
//! cluster lock shared and that account's lock (`begin_write_in`; for a request that names an
//! email, `begin_write_for_email` finds, locks and reads the account in one statement), and
//! overlaps only the transactions of other accounts. Counters shared by those (`send_counters`)
//! are atomic upserts. So a rule reads the state every earlier write it depends on left, and a message that
//! carries a code is queued in the same transaction that stores the code. Single statements
//! outside a transaction are atomic on their own (claiming a queued message uses `FOR UPDATE SKIP
//! LOCKED` in PostgreSQL).
//!
//! SQLite only: every write goes through one connection, the writer (a pool of one), so writers
//! queue for it in this process, asynchronously, instead of in SQLite's busy handler, which
//! polls with sleeps of up to 100 ms. Only the writer changes the database, so its page cache
//! (`WRITER_CACHE_KIB`) stays valid from one transaction to the next; SQLite empties a
//! connection's cache whenever another connection has written. Reads outside a transaction use
//! the other connections, all opened at startup. The write-ahead log is copied back into the
//! database by a background task (`checkpoint`, every second), so that no writer waits for a
//! checkpoint and its fsync while holding the writer. The writer is opened from the writer
//! thread when there is one (`connect_on`, see `writer_thread`), so that it shares its CPU.

mod accounts;
mod audit;
mod codes;
mod failure;
mod messages;
mod pending_sign_ins;
mod rate_limits;
mod send_counters;
mod sessions;
mod trusted_devices;
mod unknown_logins;

pub use accounts::{AccountRecord, AccountSearch, NewAccount, Role};
pub use audit::{AuditEvent, NewAuditEvent};
pub use codes::{CodeToCheck, ServiceVerification, StoredCode};
pub use failure::is_unavailable;
pub use messages::{
    ClaimedMessage, DeliveryOutcome, DeliveryState, Failure, MessageSummary, NewMessage,
    OutboxEntry, StageFilter,
};
pub use sessions::SessionRecord;
pub use trusted_devices::TrustedDevice;

use crate::writer_thread::WriterThread;
use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;

/// SQLite: the writer's page cache, in KiB (a reading connection keeps SQLite's default, 2 MiB).
/// Pages are cached as they are read, so a small database never fills it.
const WRITER_CACHE_KIB: u32 = 64 * 1024;

/// WAL pages past which a committing SQLite writer checkpoints the log itself (default: 1000).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// How long a request waits for a database connection by default (`DATABASE_ACQUIRE_TIMEOUT`):
/// when the database cannot be reached, or every connection is busy, the request is answered
/// `503` after this wait instead of hanging.
pub const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The size of the row `accepts_writes` writes: two pages of SQLite's default 4 KiB, so a
/// database that cannot grow by that fails it.
const HEALTH_PROBE_BYTES: usize = 8192;

/// The key of the PostgreSQL advisory lock that write transactions hold (any fixed number; it
/// only has to be the same in every instance).
const POSTGRES_WRITE_LOCK: i64 = 0x4c61_7463_686b;

/// How long a PostgreSQL connection may sit idle in the pool before it is pinged on its next use:
/// long enough that a busy pool never pings, short enough that connections the database dropped
/// while the server was quiet (a restart, a failover) are found before a request meets them.
const PING_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Which database the store talks to, from the scheme of `DATABASE_URL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite:` or `postgres://` (also `postgresql://`); anything else is refused.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// What a write transaction keeps others out of (in PostgreSQL; SQLite's writes never overlap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope {
    /// Every other write transaction: for rules that span accounts.
    Everything,
    /// The write transactions of one account (by id), and those of `Everything`.
    Account(i64),
    /// The write transactions about one email with no account (its key: `email_lock_key`), and
    /// those of `Everything`.
    Email(i64),
}

impl WriteScope {
    /// The advisory lock key of one account or email; `None` for `Everything`. Accounts take
    /// positive keys (their ids), emails negative ones, the cluster lock a fixed one far above
    /// any id.
    fn key(self) -> Option<i64> {
        match self {
            Self::Everything => None,
            Self::Account(id) => Some(id),
            Self::Email(key) => Some(key),
        }
    }
}

/// Whether `conn` is to PostgreSQL (else SQLite), for the few statements that differ.
fn is_postgres(conn: &AnyConnection) -> bool {
    conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME
}

/// The lock key of an email with no account, from a keyed hash of it: always negative.
pub fn email_lock_key(hashed_email: &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(hashed_email) {
        *slot = *byte;
    }
    i64::from_be_bytes(bytes) | i64::MIN
}

/// A write transaction; in SQLite it holds the writer until it is committed or dropped.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    scope: WriteScope,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// What this transaction keeps others out of.
    pub fn scope(&self) -> WriteScope {
        self.scope
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    /// Reads outside a write transaction (and, in PostgreSQL, everything).
    pool: AnyPool,
    /// SQLite: the one connection that writes; PostgreSQL: the same pool. See the module comment.
    writer: AnyPool,
    backend: Backend,
    /// PostgreSQL: the connections the shared rate limits hold (`rate_limits`).
    bucket_connections: std::sync::Arc<rate_limits::BucketConnections>,
}

impl Store {
    /// Connects to the database at `url` (creating a SQLite file if missing) with at most
    /// `max_connections` connections, and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Self::connect_on(
            url,
            max_connections,
            DEFAULT_ACQUIRE_TIMEOUT,
            &WriterThread::none(),
        )
        .await
    }

    /// `connect`, waiting at most `acquire_timeout` for a connection, with SQLite's writer
    /// connection opened from `writer_thread`, so that sqlx's thread for that connection shares
    /// the writer thread's CPU (see `writer_thread`).
    pub async fn connect_on(
        url: &str,
        max_connections: u32,
        acquire_timeout: std::time::Duration,
        writer_thread: &WriterThread,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).with_context(|| {
            format!("DATABASE_URL must start with sqlite: or postgres://, not {url}")
        })?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_creating_the_file(url),
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .with_context(|| format!("DATABASE_URL is not a valid {} URL", backend.name()))?;
        if backend == Backend::Postgres {
            check_postgres_answers(&options).await?;
        }
        if backend == Backend::Sqlite {
            check_sqlite_file_is_writable(&url)?;
        }
        let pools = PoolSettings {
            backend,
            acquire_timeout,
        };
        let pool = pools.open(options.clone(), max_connections, None).await?;
        let migrations = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrations
            .run(&pool)
            .await
            .context("could not apply the database migrations")?;
        let writer = match backend {
            Backend::Sqlite => {
                writer_thread
                    .run(async move { pools.open(options, 1, Some(WRITER_CACHE_KIB)).await })
                    .await??
            }
            Backend::Postgres => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
            bucket_connections: std::sync::Arc::new(rate_limits::BucketConnections::for_pool_of(
                max_connections,
            )),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that no other write transaction overlaps (see the module comment).
    pub async fn begin_write(&self) -> anyhow::Result<WriteTx> {
        self.begin_write_in(WriteScope::Everything).await
    }

    /// Starts a transaction that no other write transaction of `scope` overlaps, nor any of
    /// `Everything` (see the module comment).
    pub async fn begin_write_in(&self, scope: WriteScope) -> anyhow::Result<WriteTx> {
        let mut tx = WriteTx {
            tx: self.begin_writing().await?,
            scope,
        };
        if self.backend == Backend::Postgres {
            // The cluster lock first, then the scope's own: always in this order, so that no two
            // transactions wait for each other.
            let locked =
                match scope.key() {
                    None => {
                        sqlx::query("SELECT pg_advisory_xact_lock($1)")
                            .bind(POSTGRES_WRITE_LOCK)
                            .execute(&mut *tx)
                            .await
                    }
                    // One round trip; the materialised CTE is taken before the outer lock.
                    Some(key) => sqlx::query(
                        "WITH cluster AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared($1)) \
                     SELECT pg_advisory_xact_lock($2) FROM cluster",
                    )
                    .bind(POSTGRES_WRITE_LOCK)
                    .bind(key)
                    .execute(&mut *tx)
                    .await,
                };
            locked.context("could not take the write lock")?;
        }
        Ok(tx)
    }

    /// Starts a transaction of `scope` (see `begin_write_in`) and reads the account `id` in it,
    /// as the write transactions before it left the account; `None` if it is gone. In
    /// PostgreSQL, for the scope of that account, the locks are taken and the account read in
    /// one statement (`lock_account_by_id`).
    pub async fn begin_write_for_account(
        &self,
        scope: WriteScope,
        id: i64,
    ) -> anyhow::Result<(WriteTx, Option<AccountRecord>)> {
        if self.backend == Backend::Postgres && scope == WriteScope::Account(id) {
            let mut tx = WriteTx {
                tx: self.begin_writing().await?,
                scope,
            };
            let account = Self::lock_account_by_id(&mut tx, POSTGRES_WRITE_LOCK, id).await?;
            return Ok((tx, account));
        }
        let mut tx = self.begin_write_in(scope).await?;
        let account = Self::account_by_id(&mut tx, id).await?;
        Ok((tx, account))
    }

    /// Starts a transaction about the account with `normalized_email`, and reads that account
    /// in it: of scope `Account(its id)`, or `Email(unknown_key)` when no account has that email
    /// (see `WriteTx::scope`). In PostgreSQL the account is looked up, locked and read in the
    /// statement that takes the cluster lock, one round trip (`lock_account_by_email`). The
    /// look-up sees the database as it was before any wait for the locks, so the account read
    /// may not match the scope (it appeared, went, or changed its email meanwhile): the caller
    /// compares them and, should they differ, starts over with `Everything`.
    pub async fn begin_write_for_email(
        &self,
        normalized_email: &str,
        unknown_key: i64,
    ) -> anyhow::Result<(WriteTx, Option<AccountRecord>)> {
        let mut tx = self.begin_writing().await?;
        let (key, account) = match self.backend {
            // The writer is held from `BEGIN IMMEDIATE`: what is read is what is there.
            Backend::Sqlite => {
                let account = Self::account_by_normalized_email(&mut tx, normalized_email).await?;
                (
                    account.as_ref().map_or(unknown_key, |account| account.id),
                    account,
                )
            }
            Backend::Postgres => {
                let (key, account) = Self::lock_account_by_email(
                    &mut tx,
                    POSTGRES_WRITE_LOCK,
                    normalized_email,
                    unknown_key,
                )
                .await?;
                // No account when the statement began: one may have been created since, which
                // a read in a statement of its own sees.
                let account = match account {
                    None if key == unknown_key => {
                        Self::account_by_normalized_email(&mut tx, normalized_email).await?
                    }
                    account => account,
                };
                (key, account)
            }
        };
        let scope = if key == unknown_key {
            WriteScope::Email(key)
        } else {
            WriteScope::Account(key)
        };
        Ok((WriteTx { tx, scope }, account))
    }

    /// A transaction on the writer, before any lock: SQLite's writer is taken at once (`BEGIN
    /// IMMEDIATE`); PostgreSQL's locks are the caller's.
    ///
    /// The `BEGIN` runs in a task of its own, so that it finishes whatever becomes of the request
    /// (a client that goes away drops it): sqlx counts a PostgreSQL transaction only once the
    /// database has answered `BEGIN`, and a connection dropped in between went back to the pool
    /// still inside the transaction, for the next user's statements to join and never commit. A
    /// transaction begun for a request that is gone is dropped in the task, which rolls it back.
    async fn begin_writing(&self) -> anyhow::Result<Transaction<'static, Any>> {
        let (writer, backend) = (self.writer.clone(), self.backend);
        tokio::spawn(async move {
            match backend {
                Backend::Sqlite => writer.begin_with("BEGIN IMMEDIATE").await,
                Backend::Postgres => writer.begin().await,
            }
        })
        .await
        .context("the task starting a write transaction failed")?
        .context("could not start a write transaction")
    }

    /// Where a single statement that writes outside a transaction runs: SQLite's writer, or
    /// PostgreSQL's pool.
    fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Runs `delete`, a `DELETE` whose one parameter is the cut-off, on the writer (as every
    /// write); returns how many rows went. `what` names them in the error.
    async fn prune(&self, delete: &'static str, cutoff: i64, what: &str) -> anyhow::Result<u64> {
        let done = sqlx::query(delete)
            .bind(cutoff)
            .execute(self.writer())
            .await
            .with_context(|| format!("could not prune {what}"))?;
        Ok(done.rows_affected())
    }

    /// SQLite: copies what it can of the write-ahead log into the database without blocking
    /// writers (`PASSIVE`); returns the pages now in the log and how many of them are copied.
    /// PostgreSQL checkpoints by itself: `(0, 0)`.
    pub async fn checkpoint(&self) -> anyhow::Result<(i64, i64)> {
        if self.backend != Backend::Sqlite {
            return Ok((0, 0));
        }
        let (_busy, log, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&self.pool)
                .await
                .context("could not checkpoint the write-ahead log")?;
        Ok((log, copied))
    }

    /// A connection for reads outside any write transaction (no lock is taken).
    pub async fn reader(&self) -> anyhow::Result<PoolConnection<Any>> {
        self.pool
            .acquire()
            .await
            .context("could not get a database connection")
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers and the migrations are applied.
    pub async fn is_ready(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await
            .map(|applied| applied > 0)
            .unwrap_or(false)
    }

    /// Whether a write of a few pages commits now: a row of `HEALTH_PROBE_BYTES` written and
    /// deleted in one write transaction. A full disk, an I/O error or a read-only database fails
    /// it, where reads still succeed.
    pub async fn accepts_writes(&self) -> bool {
        let probe = async {
            let mut tx = self.begin_write().await?;
            sqlx::query("INSERT INTO health_probe (id, filler) VALUES (1, $1)")
                .bind("x".repeat(HEALTH_PROBE_BYTES))
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM health_probe")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            anyhow::Ok(())
        };
        match probe.await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "the database refuses writes");
                false
            }
        }
    }

    pub async fn close(&self) {
        self.bucket_connections.release().await;
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// What every pool of the store shares.
#[derive(Clone, Copy)]
struct PoolSettings {
    backend: Backend,
    acquire_timeout: std::time::Duration,
}

impl PoolSettings {
    /// Opens a pool of at most `connections`; `cache_kib` sets a SQLite connection's page cache.
    async fn open(
        self,
        options: AnyConnectOptions,
        connections: u32,
        cache_kib: Option<u32>,
    ) -> anyhow::Result<AnyPool> {
        let backend = self.backend;
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(self.acquire_timeout);
        // A SQLite connection is a file handle in this process: nothing to ping, and nothing
        // grows stale (the writer keeps its warm cache). All are opened now, from this task:
        // sqlx's thread for a connection runs on the CPUs of the thread that opened it, so a
        // reader opened later from the writer thread would be pinned with it. A PostgreSQL
        // connection is pinged before use only after it sat idle (`PING_AFTER_IDLE`): one that
        // was in use a moment ago was tested when it came back (sqlx pings every connection
        // handed back), and a ping before every use would be one more round trip per statement
        // outside a transaction, and per transaction.
        let pool = match backend {
            Backend::Sqlite => pool
                .min_connections(connections)
                .test_before_acquire(false)
                .max_lifetime(None)
                .idle_timeout(None),
            Backend::Postgres => pool
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_AFTER_IDLE {
                            use sqlx::Connection;
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                }),
        };
        pool.after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(sqlite_pragmas(cache_kib).as_str()).await?;
                }
                Ok(())
            })
        })
        .after_release(|conn, _meta| Box::pin(left_outside_any_transaction(conn)))
        .connect_with(options)
        .await
        .with_context(|| format!("could not open the {} database", backend.name()))
    }
}

/// Whether a connection handed back to its pool is fit for the next request: `false` closes it,
/// and the pool opens a new one when one is next wanted.
///
/// A write transaction that failed is rolled back when it is dropped. But after some errors
/// (a full disk, an I/O error) the database has already ended the transaction itself; the
/// rollback then fails, and sqlx goes on counting the connection as inside a transaction, where
/// every later `BEGIN` is refused. SQLite's one writer would refuse every write until a restart.
async fn left_outside_any_transaction(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // The rollback of a dropped transaction is queued; a round trip after it settles the count.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "a database connection was left inside a transaction the database had already ended \
             (after a storage error); it is closed and will be opened afresh"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Fails at once, naming the path and the reason, when the SQLite file or its directory cannot
/// be written (a read-only mount, missing permission): otherwise every connection fails and
/// startup waits out the pool's timeout with only "pool timed out" to show for it. SQLite writes
/// the `-wal` and `-shm` files beside the database, so the directory must be writable too.
fn check_sqlite_file_is_writable(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    let path = std::path::Path::new(path);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("the SQLite database {} cannot be written", path.display()))?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let probe = directory.join(format!(".latchkey-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&probe)
        .with_context(|| {
            format!(
                "the directory of the SQLite database, {}, cannot be written (SQLite keeps its \
                 -wal and -shm files there)",
                directory.display()
            )
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The file path of a `sqlite:` URL; `None` for an in-memory database or another scheme.
pub(crate) fn sqlite_path(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:" && !url.contains("mode=memory")).then_some(path)
}

/// How long startup waits for PostgreSQL to accept one connection.
const POSTGRES_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens (and closes) one connection, so that a database that cannot be reached fails startup
/// at once with the reason (refused, unknown host, bad password…), instead of after the pool's
/// acquire timeout with only "pool timed out".
async fn check_postgres_answers(options: &AnyConnectOptions) -> anyhow::Result<()> {
    use sqlx::{ConnectOptions, Connection};
    let connection = tokio::time::timeout(POSTGRES_CONNECT_TIMEOUT, options.connect())
        .await
        .with_context(|| {
            format!(
                "could not open the PostgreSQL database: no answer within {} s",
                POSTGRES_CONNECT_TIMEOUT.as_secs()
            )
        })?
        .context("could not open the PostgreSQL database")?;
    connection
        .close()
        .await
        .context("could not close the first PostgreSQL connection")
}

/// Every SQLite connection: write-ahead log, foreign keys, a busy timeout for the rare writer
/// outside this process (another instance on the same file, the `sqlite3` shell), and the page
/// cache size in KiB when it is not the default.
fn sqlite_pragmas(cache_kib: Option<u32>) -> String {
    let cache = cache_kib
        .map(|kib| format!(" PRAGMA cache_size = -{kib};"))
        .unwrap_or_default();
    format!(
        "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};{cache}"
    )
}

/// The SQLite URL with `mode=rwc` (create the file if missing) unless it names a mode itself.
fn sqlite_url_creating_the_file(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests;
