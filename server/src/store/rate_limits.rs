//! Request rate limits shared by every instance on PostgreSQL: the token bucket of
//! `web::rate_limit` (a capacity of `per_minute` tokens, refilled continuously, one taken per
//! request), kept in a row per client network and kind of request, and refilled and taken from in
//! one statement, so that instances never race and each limited request costs one small write.
//!
//! The statement runs on connections the limits keep (`BucketConnections`, taken from the pool
//! once and held), not on one borrowed from the pool for each request: sqlx tests every
//! connection handed back to its pool with a round trip, which would double the database work of
//! a limited request.

use super::{Backend, Store, PING_AFTER_IDLE};
use crate::clock::unix_millis;
use anyhow::Context;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::LazyLock;
use std::time::Instant;
use time::{Duration, OffsetDateTime};
use tokio::sync::{Mutex, MutexGuard};

/// At most how many of each instance's database connections the shared limits hold.
const BUCKET_CONNECTIONS: usize = 2;

/// A held connection, and when it was last used.
type Held = Option<(PoolConnection<Any>, Instant)>;

/// The connections the shared limits keep out of the pool, each taken on first use: a quarter of
/// the pool, at most `BUCKET_CONNECTIONS`, none from a pool of fewer than four. A request that
/// finds them all in use borrows one from the pool, as every request does when none are kept.
/// A held connection that fails, or whose statement is abandoned (the caller stopped waiting),
/// goes back to the pool, which tests it and closes it if broken; the next use takes another.
/// One that sat idle for `PING_AFTER_IDLE` is tested before use, as the pool tests its own.
#[derive(Debug)]
pub(super) struct BucketConnections {
    slots: Vec<Mutex<Held>>,
    /// Set by `release`: from then on no connection is held.
    released: AtomicBool,
}

impl BucketConnections {
    pub(super) fn for_pool_of(max_connections: u32) -> Self {
        let held = usize::try_from(max_connections / 4).unwrap_or(BUCKET_CONNECTIONS);
        Self {
            slots: (0..held.min(BUCKET_CONNECTIONS))
                .map(|_| Mutex::new(None))
                .collect(),
            released: AtomicBool::new(false),
        }
    }

    /// Hands every held connection back to the pool: a pool closes only once each of its
    /// connections is back.
    pub(super) async fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
        for slot in &self.slots {
            drop(slot.lock().await.take());
        }
    }

    /// A free slot; `None` when every slot is in use (or none are kept): the request then
    /// borrows a connection from the pool, rather than queue behind the others.
    fn free_slot(&self) -> Option<MutexGuard<'_, Held>> {
        if self.released.load(Ordering::SeqCst) {
            return None;
        }
        self.slots.iter().find_map(|slot| slot.try_lock().ok())
    }
}

/// The slot's connection, tested first if it sat idle, or a new one from `pool`.
async fn connection_in(held: &mut Held, pool: &AnyPool) -> anyhow::Result<PoolConnection<Any>> {
    if let Some((mut conn, last_used)) = held.take() {
        use sqlx::Connection;
        if last_used.elapsed() < PING_AFTER_IDLE || conn.ping().await.is_ok() {
            return Ok(conn);
        }
    }
    pool.acquire().await.context(NO_CONNECTION)
}

/// The error when the pool has no connection for the shared rate limit.
const NO_CONNECTION: &str = "could not get a database connection for the shared rate limit";

/// One token, in the thousandths the table counts in.
const TOKEN: i64 = 1000;

/// Takes a token from bucket `$1` of capacity `$2` thousandths at `$3` (unix ms), refilled at
/// `$4` tokens a minute; returns what is left and whether a token was taken. Built once.
static TAKE_TOKEN: LazyLock<String> = LazyLock::new(|| {
    // Refilled: what was there, plus per_minute tokens a minute since (in thousandths:
    // per_minute / 60 a millisecond), at most the capacity.
    const REFILLED: &str = "LEAST($2, b.milli_tokens + GREATEST($3 - b.updated_at, 0) * $4 / 60)";
    format!(
        "INSERT INTO rate_limit_buckets AS b (bucket, milli_tokens, updated_at, allowed) \
         VALUES ($1, $2 - {TOKEN}, $3, TRUE) \
         ON CONFLICT (bucket) DO UPDATE SET \
         allowed = {REFILLED} >= {TOKEN}, \
         milli_tokens = {REFILLED} - CASE WHEN {REFILLED} >= {TOKEN} THEN {TOKEN} ELSE 0 END, \
         updated_at = GREATEST($3, b.updated_at) \
         RETURNING milli_tokens, allowed"
    )
});

impl Store {
    /// Takes a token from `bucket` at `now`: `Ok(())`, or `Err(wait)` until one is there. A bucket
    /// seen for the first time is full. PostgreSQL only.
    pub async fn take_shared_token(
        &self,
        bucket: &str,
        per_minute: u32,
        now: OffsetDateTime,
    ) -> anyhow::Result<Result<(), Duration>> {
        anyhow::ensure!(
            self.backend() == Backend::Postgres,
            "shared rate limits need PostgreSQL"
        );
        let per_minute = i64::from(per_minute.max(1));
        let mut slot = self.bucket_connections.free_slot();
        let mut conn = match slot.as_deref_mut() {
            Some(held) => connection_in(held, self.writer()).await?,
            None => self.writer().acquire().await.context(NO_CONNECTION)?,
        };
        let (milli_tokens, allowed): (i64, bool) = sqlx::query_as(&TAKE_TOKEN)
            .bind(bucket)
            .bind(per_minute * TOKEN)
            .bind(unix_millis(now))
            .bind(per_minute)
            .fetch_one(&mut *conn)
            .await
            .context("could not take a token from the shared rate limit")?;
        if let Some(held) = slot.as_deref_mut() {
            *held = Some((conn, Instant::now()));
        }
        if allowed {
            return Ok(Ok(()));
        }
        // Milliseconds until the bucket holds a whole token again.
        let missing = (TOKEN - milli_tokens).max(1);
        Ok(Err(Duration::milliseconds(missing * 60 / per_minute)))
    }

    /// Deletes the shared buckets untouched since `before`: full again by then, as good as new.
    pub async fn prune_rate_limit_buckets(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM rate_limit_buckets WHERE updated_at < $1",
            unix_millis(before),
            "rate limit buckets",
        )
        .await
    }
}
