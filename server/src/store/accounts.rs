//! Account rows.

use super::audit::{execute_recording, recording_sql};
use super::{NewAuditEvent, Store};
use crate::auth::lockout::LockState;
use crate::clock::{from_unix_millis, unix_millis};
use crate::domain::{Email, PersonName, PhoneNumber};
use anyhow::Context;
use app::types::DeliveryChannel;
use sqlx::{AnyConnection, Row};
use std::sync::LazyLock;
use time::OffsetDateTime;

pub struct NewAccount<'a> {
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub phone: &'a PhoneNumber,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub delivery_channel: DeliveryChannel,
}

/// What an account may do: every account is a user; admins may also open the admin area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "admin" => Self::Admin,
            _ => Self::User,
        }
    }
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
    pub created_at: OffsetDateTime,
    /// When the phone was last proven with a code; `None`: the signup is unfinished.
    pub phone_verified_at: Option<OffsetDateTime>,
    /// The account's own choice of a code at every sign-in; `None`: the deployment default.
    pub sign_in_code: Option<bool>,
    pub role: Role,
    /// The new number a phone change waits to confirm.
    pub pending_phone: Option<PhoneNumber>,
    /// An admin forced a password reset: the password does not sign in until it is reset.
    pub must_reset_password: bool,
}

const COLUMNS: &str =
    "id, email, password_hash, phone_e164, first_name, last_name, failed_logins, \
                       locked_at, last_login_at, previous_login_at, delivery_channel, created_at, \
                       phone_verified_at, sign_in_code, role, pending_phone_e164, \
                       must_reset_password";

/// Sets an account's lock state: `$1` failures, locked since `$2` (or not), account `$3`.
const SAVE_LOCK_STATE: &str =
    "UPDATE accounts SET failed_logins = $1, locked_at = $2 WHERE id = $3";

/// `SAVE_LOCK_STATE` and the statement that records an event, its values bound from `$4` on, in
/// one statement (PostgreSQL).
static SAVE_LOCK_STATE_RECORDING: LazyLock<String> =
    LazyLock::new(|| recording_sql(SAVE_LOCK_STATE, 3));

const RECORD_LOGIN: &str = "UPDATE accounts SET failed_logins = 0, locked_at = NULL, \
     previous_login_at = last_login_at, last_login_at = $1 WHERE id = $2";

/// `RECORD_LOGIN` and the statement that records an event, its values bound from `$3` on, in
/// one statement (PostgreSQL).
static RECORD_LOGIN_RECORDING: LazyLock<String> = LazyLock::new(|| recording_sql(RECORD_LOGIN, 2));

/// `lock_account_by_email`'s statement: one row, the key locked, and the account's columns
/// (null if no account has the email once locked).
static LOCK_ACCOUNT_BY_EMAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH cluster AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared($1)), \
         target AS MATERIALIZED (SELECT COALESCE((SELECT id FROM accounts \
             WHERE email_normalized = $2), $3) AS key FROM cluster), \
         locked AS MATERIALIZED (SELECT key, pg_advisory_xact_lock(key) FROM target) \
         SELECT locked.key AS lock_key, account.* FROM locked LEFT JOIN LATERAL \
             (SELECT {COLUMNS} FROM accounts WHERE id = locked.key \
              AND email_normalized = $2 FOR UPDATE) AS account ON TRUE"
    )
});

/// `lock_account_by_id`'s statement: one row, the account's columns null if it is gone.
static LOCK_ACCOUNT_BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH cluster AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared($1)), \
         locked AS MATERIALIZED (SELECT $2::BIGINT AS key, pg_advisory_xact_lock($2) FROM cluster) \
         SELECT account.* FROM locked LEFT JOIN LATERAL \
             (SELECT {COLUMNS} FROM accounts WHERE id = locked.key FOR UPDATE) AS account ON TRUE"
    )
});

/// The columns `failed_logins` and `locked_at` of `state`.
fn lock_columns(state: LockState) -> (i64, Option<i64>) {
    match state {
        LockState::Open { failures } => (i64::from(failures), None),
        LockState::Locked { since } => (0, Some(unix_millis(since))),
    }
}

/// The account in a row of a statement that takes the locks and reads the account in a `LEFT
/// JOIN` (`LOCK_ACCOUNT_BY_EMAIL`, `LOCK_ACCOUNT_BY_ID`): `None` when its columns are null.
fn locked_account(row: &sqlx::any::AnyRow) -> anyhow::Result<Option<AccountRecord>> {
    match row.try_get::<Option<i64>, _>("id")? {
        Some(_) => Ok(Some(
            from_row(row).context("could not read the account row")?,
        )),
        None => Ok(None),
    }
}

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
        created_at: from_unix_millis(row.try_get("created_at")?),
        phone_verified_at: row
            .try_get::<Option<i64>, _>("phone_verified_at")?
            .map(from_unix_millis),
        sign_in_code: row
            .try_get::<Option<i64>, _>("sign_in_code")?
            .map(|choice| choice != 0),
        role: Role::parse(&row.try_get::<String, _>("role")?),
        pending_phone: row
            .try_get::<Option<String>, _>("pending_phone_e164")?
            .map(PhoneNumber::from_e164),
        must_reset_password: row.try_get::<i64, _>("must_reset_password")? != 0,
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
        Self::account_by_normalized_email(conn, email.normalized()).await
    }

    pub(super) async fn account_by_normalized_email(
        conn: &mut AnyConnection,
        normalized_email: &str,
    ) -> anyhow::Result<Option<AccountRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE email_normalized = $1"
        ))
        .bind(normalized_email)
        .fetch_optional(conn)
        .await
        .context("could not look up the account by email")?;
        row.as_ref()
            .map(from_row)
            .transpose()
            .context("could not read the account row")
    }

    /// PostgreSQL, one statement: the cluster lock (`cluster_lock`, shared), the look-up of the
    /// account with `normalized_email`, that account's lock (or, with no account, the email's:
    /// `unknown_key`), and the account row once locked. Returns the key locked and the account,
    /// if it still has that email. Each materialised CTE is evaluated before the one that reads
    /// it; the row is read `FOR UPDATE`, so it is the newest version, whatever committed while
    /// the statement waited for the locks (the look-up itself saw the database as it was when
    /// the statement began).
    pub(super) async fn lock_account_by_email(
        conn: &mut AnyConnection,
        cluster_lock: i64,
        normalized_email: &str,
        unknown_key: i64,
    ) -> anyhow::Result<(i64, Option<AccountRecord>)> {
        let row = sqlx::query(&LOCK_ACCOUNT_BY_EMAIL)
            .bind(cluster_lock)
            .bind(normalized_email)
            .bind(unknown_key)
            .fetch_one(conn)
            .await
            .context("could not take the write lock")?;
        let key: i64 = row.try_get("lock_key")?;
        Ok((key, locked_account(&row)?))
    }

    /// PostgreSQL, one statement: the cluster lock (`cluster_lock`, shared), the lock of account
    /// `id`, and its row once locked (`None` if it is gone). The row is read `FOR UPDATE`, after
    /// the locks (the materialised CTE it reads is evaluated first), so it is the newest version,
    /// whatever committed while the statement waited.
    pub(super) async fn lock_account_by_id(
        conn: &mut AnyConnection,
        cluster_lock: i64,
        id: i64,
    ) -> anyhow::Result<Option<AccountRecord>> {
        let row = sqlx::query(&LOCK_ACCOUNT_BY_ID)
            .bind(cluster_lock)
            .bind(id)
            .fetch_one(conn)
            .await
            .context("could not take the write lock")?;
        locked_account(&row)
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
        let (failures, locked_at) = lock_columns(state);
        sqlx::query(SAVE_LOCK_STATE)
            .bind(failures)
            .bind(locked_at)
            .bind(id)
            .execute(conn)
            .await
            .context("could not save the lock state")?;
        Ok(())
    }

    /// `save_lock_state`, and `record_event` of `event`: in PostgreSQL one statement, so one
    /// round trip (each costs CPU in the database and here); in SQLite, which has no
    /// data-modifying `WITH`, the two in turn.
    pub async fn save_lock_state_recording(
        conn: &mut AnyConnection,
        id: i64,
        state: LockState,
        event: NewAuditEvent<'_>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let (failures, locked_at) = lock_columns(state);
        let kind = event.kind;
        execute_recording(
            conn,
            (SAVE_LOCK_STATE, &SAVE_LOCK_STATE_RECORDING),
            |query| query.bind(failures).bind(locked_at).bind(id),
            event,
            now,
        )
        .await
        .with_context(|| {
            format!(
                "could not save the lock state and record the {} event",
                kind.as_str()
            )
        })
    }

    /// A successful sign-in (the previous time moves down, the count of failures is cleared)
    /// and `record_event` of `event`, in one round trip where the database allows
    /// (`execute_recording`).
    pub async fn record_login_recording(
        conn: &mut AnyConnection,
        id: i64,
        event: NewAuditEvent<'_>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        execute_recording(
            conn,
            (RECORD_LOGIN, &RECORD_LOGIN_RECORDING),
            |query| query.bind(unix_millis(now)).bind(id),
            event,
            now,
        )
        .await
        .context("could not record the sign-in and its event")
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

    /// The phone was proven with a code now.
    pub async fn mark_phone_verified(
        conn: &mut AnyConnection,
        account_id: i64,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET phone_verified_at = $1 WHERE id = $2")
            .bind(unix_millis(now))
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not record the phone verification")?;
        Ok(())
    }

    /// The account's own choice of a code at every sign-in.
    pub async fn set_sign_in_code(
        conn: &mut AnyConnection,
        account_id: i64,
        enabled: bool,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET sign_in_code = $1 WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not save the sign-in code setting")?;
        Ok(())
    }

    /// Gives the account with `email` the role; `Ok(None)` when there is no such account.
    pub async fn set_role(
        conn: &mut AnyConnection,
        email: &Email,
        role: Role,
    ) -> anyhow::Result<Option<i64>> {
        sqlx::query_scalar::<_, i64>(
            "UPDATE accounts SET role = $1 WHERE email_normalized = $2 RETURNING id",
        )
        .bind(role.as_str())
        .bind(email.normalized())
        .fetch_optional(conn)
        .await
        .context("could not change the role")
    }

    /// Remembers the number a phone change waits to confirm.
    pub async fn set_pending_phone(
        conn: &mut AnyConnection,
        account_id: i64,
        phone: Option<&PhoneNumber>,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET pending_phone_e164 = $1 WHERE id = $2")
            .bind(phone.map(PhoneNumber::e164))
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not save the new phone number")?;
        Ok(())
    }

    /// The pending number becomes the account's (proven now).
    pub async fn confirm_pending_phone(
        conn: &mut AnyConnection,
        account_id: i64,
        phone: &PhoneNumber,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE accounts SET phone_e164 = $1, phone_verified_at = $2, \
             pending_phone_e164 = NULL WHERE id = $3",
        )
        .bind(phone.e164())
        .bind(unix_millis(now))
        .bind(account_id)
        .execute(conn)
        .await
        .context("could not change the phone number")?;
        Ok(())
    }

    pub async fn set_must_reset_password(
        conn: &mut AnyConnection,
        account_id: i64,
        required: bool,
    ) -> anyhow::Result<()> {
        sqlx::query("UPDATE accounts SET must_reset_password = $1 WHERE id = $2")
            .bind(i64::from(required))
            .bind(account_id)
            .execute(conn)
            .await
            .context("could not save the forced password reset")?;
        Ok(())
    }

    /// Accounts whose email contains `email_part` (lower case), or whose phone ends in
    /// `phone_digits`; at most `limit`, newest first.
    pub async fn search_accounts(
        conn: &mut AnyConnection,
        search: AccountSearch<'_>,
        limit: u32,
    ) -> anyhow::Result<Vec<AccountRecord>> {
        let (condition, pattern) = match search {
            AccountSearch::Email(part) => (
                "email_normalized LIKE $1 ESCAPE '\\'",
                format!("%{}%", escape_like(part)),
            ),
            AccountSearch::PhoneSuffix(digits) => ("phone_e164 LIKE $1", format!("%{digits}")),
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM accounts WHERE {condition} ORDER BY id DESC LIMIT $2"
        ))
        .bind(pattern)
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .context("could not search the accounts")?;
        rows.iter()
            .map(from_row)
            .collect::<Result<_, _>>()
            .context("could not read an account row")
    }
}

/// What the admin search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSearch<'a> {
    /// Part of an email address, lower case.
    Email(&'a str),
    /// The last digits of a phone number.
    PhoneSuffix(&'a str),
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE … ESCAPE '\'` pattern.
fn escape_like(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
