//! One-time code rows: one per account, purpose and binding (the browser a recovery code was
//! asked for from; `""` for unbound codes). A row names the message that carries its code, and,
//! when a managed verification service sent the code, the service and its verification id.

use super::Store;
use crate::auth::codes::{ActiveCode, CodeHash, IssuedCode};
use crate::clock::{from_unix_millis, unix_millis};
use crate::domain::CodeScope;
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

/// A code row as stored: the code, when it was made, the message that carries it, and the managed
/// service's verification it stands for, if a service sent it.
#[derive(Debug, Clone)]
pub struct StoredCode {
    pub active: ActiveCode,
    pub created_at: OffsetDateTime,
    pub message_id: Option<i64>,
    pub service: Option<ServiceVerification>,
}

/// A verification a managed service started for a code: which service, and its id there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceVerification {
    pub service: String,
    pub verification_id: String,
}

/// A live code a managed service sent, to ask the service about: the number it went to, and
/// when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeToCheck {
    pub binding: String,
    pub verification: ServiceVerification,
    pub to_phone: String,
    pub created_at: OffsetDateTime,
}

const CODE_COLUMNS: &str =
    "code_hash, tries_left, expires_at, created_at, message_id, code_service, verification_id";

fn stored_code(row: &sqlx::any::AnyRow) -> anyhow::Result<StoredCode> {
    let hash: Vec<u8> = row.try_get("code_hash")?;
    let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
        anyhow::bail!("a stored code hash is not 32 bytes");
    };
    let tries_left: i64 = row.try_get("tries_left")?;
    let service: Option<String> = row.try_get("code_service")?;
    let verification_id: Option<String> = row.try_get("verification_id")?;
    Ok(StoredCode {
        active: ActiveCode {
            hash: CodeHash(hash),
            expires_at: from_unix_millis(row.try_get("expires_at")?),
            tries_left: u32::try_from(tries_left).unwrap_or(0),
        },
        created_at: from_unix_millis(row.try_get("created_at")?),
        message_id: row.try_get("message_id")?,
        service: service
            .zip(verification_id)
            .map(|(service, verification_id)| ServiceVerification {
                service,
                verification_id,
            }),
    })
}

impl Store {
    /// Stores `issued`, carried by message `message_id`, replacing any live code for the same
    /// account, purpose and binding.
    pub async fn replace_code(
        conn: &mut AnyConnection,
        (account_id, purpose, binding): (i64, CodeScope, &str),
        issued: &IssuedCode,
        message_id: Option<i64>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO verification_codes (account_id, purpose, binding, code_hash, tries_left, \
             created_at, expires_at, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (account_id, purpose, binding) DO UPDATE SET \
             code_hash = excluded.code_hash, tries_left = excluded.tries_left, \
             created_at = excluded.created_at, expires_at = excluded.expires_at, \
             message_id = excluded.message_id, code_service = NULL, verification_id = NULL",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .bind(issued.hash.0.as_slice())
        .bind(i64::from(issued.tries_left))
        .bind(unix_millis(now))
        .bind(unix_millis(issued.expires_at))
        .bind(message_id)
        .execute(conn)
        .await
        .context("could not store the code")?;
        Ok(())
    }

    /// Records that a managed service sent the code of message `message_id`: from now on the
    /// service answers for it. Nothing happens if the code was replaced or used meanwhile.
    pub async fn attach_verification(
        &self,
        message_id: i64,
        verification: &ServiceVerification,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE verification_codes SET code_service = $1, verification_id = $2 \
             WHERE message_id = $3",
        )
        .bind(&verification.service)
        .bind(&verification.verification_id)
        .bind(message_id)
        .execute(self.writer())
        .await
        .context("could not record the service's verification")?;
        Ok(())
    }

    /// The account's live codes for `purpose` that a managed service sent, the browser with
    /// `binding` may use (its own, then the unbound one), unexpired at `now`.
    pub async fn codes_to_check(
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: CodeScope,
        binding: &str,
        now: OffsetDateTime,
    ) -> anyhow::Result<Vec<CodeToCheck>> {
        let rows = sqlx::query(
            "SELECT c.binding, c.code_service, c.verification_id, c.created_at, m.to_phone \
             FROM verification_codes c JOIN sms_messages m ON m.id = c.message_id \
             WHERE c.account_id = $1 AND c.purpose = $2 AND (c.binding = $3 OR c.binding = '') \
             AND c.verification_id IS NOT NULL AND c.expires_at > $4 \
             ORDER BY CASE WHEN c.binding = '' THEN 1 ELSE 0 END",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .bind(unix_millis(now))
        .fetch_all(conn)
        .await
        .context("could not read the codes a service sent")?;
        rows.iter()
            .map(|row| {
                Ok(CodeToCheck {
                    binding: row.try_get("binding")?,
                    verification: ServiceVerification {
                        service: row.try_get("code_service")?,
                        verification_id: row.try_get("verification_id")?,
                    },
                    to_phone: row.try_get("to_phone")?,
                    created_at: from_unix_millis(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Removes the live codes for the account and purpose that a browser with `binding` may use
    /// (its own, if `binding` is not `""`, and the unbound one) and returns them, own first, in
    /// one statement: every verdict but "wrong, tries left" ends a code, so the check usually
    /// needs nothing more. `restore_code` puts one back for the exception.
    pub async fn take_codes(
        conn: &mut AnyConnection,
        account_id: i64,
        purpose: CodeScope,
        binding: &str,
    ) -> anyhow::Result<(Option<StoredCode>, Option<StoredCode>)> {
        let rows = sqlx::query(&format!(
            "DELETE FROM verification_codes WHERE account_id = $1 AND purpose = $2 \
             AND binding IN ($3, '') RETURNING binding, {CODE_COLUMNS}"
        ))
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .fetch_all(conn)
        .await
        .context("could not read the code")?;
        let (mut own, mut unbound) = (None, None);
        for row in &rows {
            let code_binding: String = row.try_get("binding")?;
            let code = Some(stored_code(row)?);
            if code_binding.is_empty() {
                unbound = code;
            } else {
                own = code;
            }
        }
        Ok((own, unbound))
    }

    /// Puts back a code taken by `take_codes`, with `tries_left` tries.
    pub async fn restore_code(
        conn: &mut AnyConnection,
        (account_id, purpose, binding): (i64, CodeScope, &str),
        code: &StoredCode,
        tries_left: u32,
    ) -> anyhow::Result<()> {
        let (service, verification_id) = match &code.service {
            Some(verification) => (
                Some(verification.service.as_str()),
                Some(verification.verification_id.as_str()),
            ),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO verification_codes (account_id, purpose, binding, code_hash, tries_left, \
             created_at, expires_at, message_id, code_service, verification_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(account_id)
        .bind(purpose.as_str())
        .bind(binding)
        .bind(code.active.hash.0.as_slice())
        .bind(i64::from(tries_left))
        .bind(unix_millis(code.created_at))
        .bind(unix_millis(code.active.expires_at))
        .bind(code.message_id)
        .bind(service)
        .bind(verification_id)
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
