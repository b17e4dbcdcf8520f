//! Request rate limits shared by every instance on PostgreSQL: the token bucket of
//! `web::rate_limit` (a capacity of `per_minute` tokens, refilled continuously, one taken per
//! request), kept in a row per client network and kind of request, and refilled and taken from in
//! one statement, so that instances never race and each limited request costs one small write.

use super::{Backend, Store};
use crate::clock::unix_millis;
use anyhow::Context;
use time::{Duration, OffsetDateTime};

/// One token, in the thousandths the table counts in.
const TOKEN: i64 = 1000;

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
        // Refilled: what was there, plus per_minute tokens a minute since (in thousandths:
        // per_minute / 60 a millisecond), at most the capacity.
        const REFILLED: &str =
            "LEAST($2, b.milli_tokens + GREATEST($3 - b.updated_at, 0) * $4 / 60)";
        let (milli_tokens, allowed): (i64, bool) = sqlx::query_as(&format!(
            "INSERT INTO rate_limit_buckets AS b (bucket, milli_tokens, updated_at, allowed) \
             VALUES ($1, $2 - {TOKEN}, $3, TRUE) \
             ON CONFLICT (bucket) DO UPDATE SET \
             allowed = {REFILLED} >= {TOKEN}, \
             milli_tokens = {REFILLED} - CASE WHEN {REFILLED} >= {TOKEN} THEN {TOKEN} ELSE 0 END, \
             updated_at = GREATEST($3, b.updated_at) \
             RETURNING milli_tokens, allowed"
        ))
        .bind(bucket)
        .bind(per_minute * TOKEN)
        .bind(unix_millis(now))
        .bind(per_minute)
        .fetch_one(self.writer())
        .await
        .context("could not take a token from the shared rate limit")?;
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
