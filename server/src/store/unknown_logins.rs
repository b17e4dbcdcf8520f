//! Lock states of emails that have no account (see `LatchkeyService::log_in`).

use super::Store;
use crate::auth::lockout::LockState;
use crate::clock::{from_unix_millis, unix_millis};
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

impl Store {
    pub async fn unknown_login_state(
        conn: &mut AnyConnection,
        key: &[u8; 32],
    ) -> anyhow::Result<LockState> {
        let row = sqlx::query(
            "SELECT failures, locked_at FROM unknown_login_failures WHERE email_key = $1",
        )
        .bind(key.as_slice())
        .fetch_optional(conn)
        .await
        .context("could not read the failures of an unknown email")?;
        let Some(row) = row else {
            return Ok(LockState::Open { failures: 0 });
        };
        let locked_at: Option<i64> = row.try_get("locked_at")?;
        let failures: i64 = row.try_get("failures")?;
        Ok(match locked_at {
            Some(since) => LockState::Locked {
                since: from_unix_millis(since),
            },
            None => LockState::Open {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
            },
        })
    }

    pub async fn save_unknown_login_state(
        conn: &mut AnyConnection,
        key: &[u8; 32],
        state: LockState,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let (failures, locked_at) = match state {
            LockState::Open { failures } => (i64::from(failures), None),
            LockState::Locked { since } => (0, Some(unix_millis(since))),
        };
        sqlx::query(
            "INSERT INTO unknown_login_failures (email_key, failures, locked_at, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (email_key) DO UPDATE SET failures = excluded.failures, \
             locked_at = excluded.locked_at, updated_at = excluded.updated_at",
        )
        .bind(key.as_slice())
        .bind(failures)
        .bind(locked_at)
        .bind(unix_millis(now))
        .execute(conn)
        .await
        .context("could not count a failure of an unknown email")?;
        Ok(())
    }

    /// Forgets an email's failures (it now has an account).
    pub async fn forget_unknown_login(
        conn: &mut AnyConnection,
        key: &[u8; 32],
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM unknown_login_failures WHERE email_key = $1")
            .bind(key.as_slice())
            .execute(conn)
            .await
            .context("could not clear the failures of an email")?;
        Ok(())
    }

    pub async fn prune_unknown_logins(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM unknown_login_failures WHERE updated_at < $1",
            unix_millis(before),
            "the failures of unknown emails",
        )
        .await
    }
}
