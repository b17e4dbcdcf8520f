//! Session rows, keyed by the token's hash.

use super::Store;
use crate::auth::sessions::TokenHash;
use crate::clock::{from_unix_millis, unix_millis};
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy)]
pub struct SessionRecord {
    pub account_id: i64,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// Until when this session may use the admin area.
    pub elevated_until: Option<OffsetDateTime>,
}

impl Store {
    pub async fn insert_session(
        conn: &mut AnyConnection,
        hash: TokenHash,
        account_id: i64,
        now: OffsetDateTime,
        client_ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at, client_ip, \
             user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash.0.as_slice())
        .bind(account_id)
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(client_ip.map(|ip| ip.to_string()))
        .bind(user_agent)
        .execute(conn)
        .await
        .context("could not store the session")?;
        Ok(())
    }

    pub async fn session(&self, hash: TokenHash) -> anyhow::Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT account_id, created_at, last_seen_at, elevated_until FROM sessions \
             WHERE token_hash = $1",
        )
        .bind(hash.0.as_slice())
        .fetch_optional(self.pool())
        .await
        .context("could not read the session")?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            account_id: row.try_get("account_id")?,
            created_at: from_unix_millis(row.try_get("created_at")?),
            last_seen_at: from_unix_millis(row.try_get("last_seen_at")?),
            elevated_until: row
                .try_get::<Option<i64>, _>("elevated_until")?
                .map(from_unix_millis),
        }))
    }

    pub async fn touch_session(&self, hash: TokenHash, now: OffsetDateTime) -> anyhow::Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(unix_millis(now))
            .bind(hash.0.as_slice())
            .execute(self.writer())
            .await
            .context("could not record session activity")?;
        Ok(())
    }

    pub async fn delete_session(&self, hash: TokenHash) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash.0.as_slice())
            .execute(self.writer())
            .await
            .context("could not delete the session")?;
        Ok(())
    }

    /// Revokes every session of the account; returns how many there were.
    pub async fn delete_sessions_of(
        conn: &mut AnyConnection,
        account_id: i64,
    ) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not revoke the account's sessions")?;
        Ok(done.rows_affected())
    }

    /// Opens the admin area to this session until `until`.
    pub async fn elevate_session(
        conn: &mut AnyConnection,
        hash: TokenHash,
        until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE sessions SET elevated_until = $1 WHERE token_hash = $2")
            .bind(unix_millis(until))
            .bind(hash.0.as_slice())
            .execute(conn)
            .await
            .context("could not record the admin step-up")?;
        Ok(())
    }

    /// How many sessions the account has (live or not yet pruned).
    pub async fn count_sessions_of(&self, account_id: i64) -> anyhow::Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .fetch_one(self.pool())
            .await
            .context("could not count the account's sessions")
    }
}
