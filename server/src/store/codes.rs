//! One-time code rows: one per account, purpose and binding (the browser a recovery code was
//! asked for from; `""` for unbound codes).

use super::Store;
use crate::auth::codes::{ActiveCode, CodeHash, IssuedCode};
use crate::clock::{from_unix_millis, unix_millis};
use crate::domain::CodeScope;
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

impl Store {
    /// Stores `issued`, replacing any live code for the same account, purpose and binding.
    pub async fn replace_code(
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: CodeScope,
        binding: &str,
        issued: &IssuedCode,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO verification_codes (account_id, purpose, binding, code_hash, tries_left, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (account_id, purpose, binding) DO UPDATE SET \
             code_hash = excluded.code_hash, tries_left = excluded.tries_left, \
             created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .bind(issued.hash.0.as_slice())
        .bind(i64::from(issued.tries_left))
        .bind(unix_millis(now))
        .bind(unix_millis(issued.expires_at))
        .execute(conn)
        .await
        .context("could not store the code")?;
        Ok(())
    }

    /// Removes the live code for the account, purpose and binding and returns it (with its
    /// creation time), in one statement: every verdict but "wrong, tries left" ends the code, so
    /// the check usually needs nothing more. `restore_code` puts it back for the exception.
    pub async fn take_code(
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: CodeScope,
        binding: &str,
    ) -> anyhow::Result<Option<(ActiveCode, OffsetDateTime)>> {
        let row = sqlx::query(
            "DELETE FROM verification_codes WHERE account_id = $1 AND purpose = $2 \
             AND binding = $3 RETURNING code_hash, tries_left, expires_at, created_at",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .fetch_optional(conn)
        .await
        .context("could not read the code")?;
        let Some(row) = row else { return Ok(None) };
        let hash: Vec<u8> = row.try_get("code_hash")?;
        let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
            anyhow::bail!("a stored code hash is not 32 bytes");
        };
        let tries_left: i64 = row.try_get("tries_left")?;
        Ok(Some((
            ActiveCode {
                hash: CodeHash(hash),
                expires_at: from_unix_millis(row.try_get("expires_at")?),
                tries_left: u32::try_from(tries_left).unwrap_or(0),
            },
            from_unix_millis(row.try_get("created_at")?),
        )))
    }

    /// Puts back a code taken by `take_code`, with `tries_left` tries.
    pub async fn restore_code(
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: CodeScope,
        binding: &str,
        code: &ActiveCode,
        tries_left: u32,
        created_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO verification_codes (account_id, purpose, binding, code_hash, tries_left, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .bind(code.hash.0.as_slice())
        .bind(i64::from(tries_left))
        .bind(unix_millis(created_at))
        .bind(unix_millis(code.expires_at))
        .execute(conn)
        .await
        .context("could not count the wrong code")?;
        Ok(())
    }

    /// Deletes the codes that expired before `before` (kept a while after their expiry, so that
    /// their holder is told "expired" rather than "wrong"); how many.
    pub async fn prune_expired_codes(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM verification_codes WHERE expires_at < $1",
            unix_millis(before),
            "expired codes",
        )
        .await
    }

    /// Deletes every code of the account for the purpose, whatever browser it is bound to.
    pub async fn delete_code(
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: CodeScope,
    ) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM verification_codes WHERE account_id = $1 AND purpose = $2")
            .bind(account_id)
            .bind(purpose.as_str())
            .execute(conn)
            .await
            .context("could not delete the code")?;
        Ok(())
    }
}
