//! Account rows.

use super::Store;
use crate::auth::lockout::LockState;
use crate::clock::{from_unix_millis, unix_millis};
use crate::domain::{Email, PersonName, PhoneNumber};
use crate::sms::DeliveryChannel;
use anyhow::Context;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

pub struct NewAccount<'a> {
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub phone: &'a PhoneNumber,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub delivery_channel: DeliveryChannel,
}

#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub phone: PhoneNumber,
    pub first_name: String,
    pub last_name: String,
    pub lock: LockState,
    pub delivery_channel: DeliveryChannel,
    pub last_login_at: Option<OffsetDateTime>,
    pub previous_login_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "id, email, password_hash, phone_e164, first_name, last_name, failed_logins, \
                       locked_at, last_login_at, previous_login_at, delivery_channel";

fn from_row(row: &sqlx::any::AnyRow) -> Result<AccountRecord, sqlx::Error> {
    let failed: i64 = row.try_get("failed_logins")?;
    let locked_at: Option<i64> = row.try_get("locked_at")?;
    let lock = match locked_at {
        Some(since) => LockState::Locked {
            since: from_unix_millis(since),
        },
        None => LockState::Open {
            failures: u32::try_from(failed).unwrap_or(u32::MAX),
        },
    };
    Ok(AccountRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        phone: PhoneNumber::from_e164(row.try_get("phone_e164")?),
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        lock,
        delivery_channel: DeliveryChannel::parse(&row.try_get::<String, _>("delivery_channel")?)
            .unwrap_or_default(),
        last_login_at: row
            .try_get::<Option<i64>, _>("last_login_at")?
            .map(from_unix_millis),
        previous_login_at: row
            .try_get::<Option<i64>, _>("previous_login_at")?
            .map(from_unix_millis),
    })
}

impl Store {
    /// Inserts the account; `Ok(None)` when the email is already registered.
    pub async fn insert_account(
        conn: &mut AnyConnection,
        account: NewAccount<'_>,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<i64>> {
        let result = sqlx::query_scalar::<_, i64>(
            "INSERT INTO accounts (email, email_normalized, password_hash, phone_e164, first_name, \
             last_name, delivery_channel, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(account.email.as_str())
        .bind(account.email.normalized())
        .bind(account.password_hash)
        .bind(account.phone.e164())
        .bind(account.first_name.as_str())
        .bind(account.last_name.as_str())
        .bind(account.delivery_channel.as_str())
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .fetch_one(conn)
        .await;
        match result {
            Ok(id) => Ok(Some(id)),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(None),
            Err(error) => Err(error).context("could not insert the account"),
        }
    }

    pub async fn account_by_email(
        conn: &mut AnyConnection,
        email: &Email,
    ) -> anyhow::Result<Option<AccountRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE email_normalized = $1"
        ))
        .bind(email.normalized())
        .fetch_optional(conn)
        .await
        .context("could not look up the account by email")?;
        row.as_ref()
            .map(from_row)
            .transpose()
            .context("could not read the account row")
    }

    pub async fn account_by_id(
        conn: &mut AnyConnection,
        id: i64,
    ) -> anyhow::Result<Option<AccountRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await
            .context("could not look up the account by id")?;
        row.as_ref()
            .map(from_row)
            .transpose()
            .context("could not read the account row")
    }

    pub async fn save_lock_state(
        conn: &mut AnyConnection,
        id: i64,
        state: LockState,
    ) -> anyhow::Result<()> {
        let (failures, locked_at) = match state {
            LockState::Open { failures } => (i64::from(failures), None),
            LockState::Locked { since } => (0, Some(unix_millis(since))),
        };
        sqlx::query("UPDATE accounts SET failed_logins = $1, locked_at = $2 WHERE id = $3")
            .bind(failures)
            .bind(locked_at)
            .bind(id)
            .execute(conn)
            .await
            .context("could not save the lock state")?;
        Ok(())
    }

    /// A successful sign-in: the previous time moves down, the count is cleared.
    pub async fn record_login(
        conn: &mut AnyConnection,
        id: i64,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE accounts SET failed_logins = 0, locked_at = NULL, \
             previous_login_at = last_login_at, last_login_at = $1 WHERE id = $2",
        )
        .bind(unix_millis(now))
        .bind(id)
        .execute(conn)
        .await
        .context("could not record the sign-in")?;
        Ok(())
    }

    pub async fn set_password_hash(
        conn: &mut AnyConnection,
        id: i64,
        password_hash: &str,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
        )
        .bind(password_hash)
        .bind(unix_millis(now))
        .bind(id)
        .execute(conn)
        .await
        .context("could not change the password")?;
        Ok(())
    }

    pub async fn set_delivery_channel(
        conn: &mut AnyConnection,
        account_id: i64,
        channel: DeliveryChannel,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET delivery_channel = $1 WHERE id = $2")
            .bind(channel.as_str())
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not save the delivery preference")?;
        Ok(())
    }
}
