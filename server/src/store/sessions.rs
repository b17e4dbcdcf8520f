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
            "SELECT account_id, created_at, last_seen_at FROM sessions WHERE token_hash = $1",
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
        }))
    }

    pub async fn touch_session(&self, hash: TokenHash, now: OffsetDateTime) -> anyhow::Result<()> {
        let _gate = self.write_gate().await;
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(unix_millis(now))
            .bind(hash.0.as_slice())
            .execute(self.pool())
            .await
            .context("could not record session activity")?;
        Ok(())
    }

    pub async fn delete_session(&self, hash: TokenHash) -> anyhow::Result<()> {
        let _gate = self.write_gate().await;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash.0.as_slice())
            .execute(self.pool())
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
}
