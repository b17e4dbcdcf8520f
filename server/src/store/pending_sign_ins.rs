//! Pending sign-ins: a right password waiting for the code that completes the sign-in, keyed by
//! the hash of the token in the browser's pending cookie.

use super::Store;
use crate::auth::second_factor::PendingSignIn;
use crate::auth::sessions::TokenHash;
use crate::clock::{from_unix_millis, unix_millis};
use crate::domain::CodeScope;
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

impl Store {
    /// Starts a pending sign-in; any earlier one of the account is replaced (only the newest
    /// browser to give the password may finish).
    pub async fn insert_pending_sign_in(
        conn: &mut AnyConnection,
        hash: TokenHash,
        pending: PendingSignIn,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM pending_sign_ins WHERE account_id = $1")
            .bind(pending.account_id)
            .execute(&mut *conn)
            .await
            .context("could not replace the pending sign-in")?;
        sqlx::query(
            "INSERT INTO pending_sign_ins (token_hash, account_id, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash.0.as_slice())
        .bind(pending.account_id)
        .bind(pending.scope.as_str())
        .bind(unix_millis(now))
        .bind(unix_millis(pending.expires_at))
        .execute(conn)
        .await
        .context("could not store the pending sign-in")?;
        Ok(())
    }

    pub async fn pending_sign_in(
        conn: &mut AnyConnection,
        hash: TokenHash,
    ) -> anyhow::Result<Option<PendingSignIn>> {
        let row = sqlx::query(
            "SELECT account_id, scope, expires_at FROM pending_sign_ins WHERE token_hash = $1",
        )
        .bind(hash.0.as_slice())
        .fetch_optional(conn)
        .await
        .context("could not read the pending sign-in")?;
        let Some(row) = row else { return Ok(None) };
        let Some(scope) = CodeScope::from_name(&row.try_get::<String, _>("scope")?) else {
            return Ok(None);
        };
        Ok(Some(PendingSignIn {
            account_id: row.try_get("account_id")?,
            scope,
            expires_at: from_unix_millis(row.try_get("expires_at")?),
        }))
    }

    /// Ends every pending sign-in of the account (finished, or no longer allowed).
    pub async fn delete_pending_sign_ins_of(
        conn: &mut AnyConnection,
        account_id: i64,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM pending_sign_ins WHERE account_id = $1")
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not end the pending sign-in")?;
        Ok(())
    }
}
