//! The audit log: security events with time, account, client IP and user agent.

use super::{is_postgres, Store};
use crate::auth::audit::AuditKind;
use crate::clock::{from_unix_millis, unix_millis};
use anyhow::Context;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use std::net::IpAddr;
use std::sync::LazyLock;
use time::OffsetDateTime;

pub struct NewAuditEvent<'a> {
    pub kind: AuditKind,
    pub account_id: Option<i64>,
    pub detail: Option<&'a str>,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
    /// The admin who acted, for an admin action on someone's account.
    pub actor_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: OffsetDateTime,
    pub kind: AuditKind,
    pub detail: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub actor_id: Option<i64>,
}

impl Store {
    /// Records an event; part of the caller's transaction when there is one.
    pub async fn record_event(
        conn: &mut AnyConnection,
        event: NewAuditEvent<'_>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let kind = event.kind;
        bind_event(sqlx::query(&INSERT_EVENT), event, now)
            .execute(conn)
            .await
            .with_context(|| format!("could not record the {} event", kind.as_str()))?;
        Ok(())
    }

    /// The account's newest events first.
    pub async fn recent_events(
        &self,
        account_id: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT at, kind, detail, client_ip, user_agent, actor_id FROM audit_events \
             WHERE account_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .context("could not read the account's activity")?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let Some(kind) = AuditKind::parse(&kind) else {
                continue;
            };
            events.push(AuditEvent {
                at: from_unix_millis(row.try_get("at")?),
                kind,
                detail: row.try_get("detail")?,
                client_ip: row.try_get("client_ip")?,
                user_agent: row.try_get("user_agent")?,
                actor_id: row.try_get("actor_id")?,
            });
        }
        Ok(events)
    }

    /// Deletes events older than `before`; returns how many.
    pub async fn prune_events(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM audit_events WHERE at < $1",
            unix_millis(before),
            "the audit log",
        )
        .await
    }

    /// Deletes sessions created before `before` (past any absolute lifetime); returns how many.
    pub async fn prune_sessions(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM sessions WHERE created_at < $1",
            unix_millis(before),
            "expired sessions",
        )
        .await
    }

    /// Deletes accounts created before `before` whose phone was never verified (their codes,
    /// sessions and pending sign-ins go with them); returns how many.
    pub async fn prune_unverified_signups(&self, before: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM accounts WHERE phone_verified_at IS NULL AND created_at < $1",
            unix_millis(before),
            "unfinished signups",
        )
        .await
    }

    /// Deletes pending sign-ins that expired before `now`; returns how many.
    pub async fn prune_pending_sign_ins(&self, now: OffsetDateTime) -> anyhow::Result<u64> {
        self.prune(
            "DELETE FROM pending_sign_ins WHERE expires_at <= $1",
            unix_millis(now),
            "expired pending sign-ins",
        )
        .await
    }

    /// Per day (UTC, as days since 1970) since `since`: how many events of each of `kinds`.
    pub async fn daily_event_counts(
        &self,
        since: OffsetDateTime,
        kinds: &[AuditKind],
    ) -> anyhow::Result<Vec<(i64, AuditKind, i64)>> {
        let rows = sqlx::query(
            "SELECT at / 86400000 AS day, kind, COUNT(*) AS n FROM audit_events \
             WHERE at >= $1 GROUP BY at / 86400000, kind",
        )
        .bind(unix_millis(since))
        .fetch_all(self.pool())
        .await
        .context("could not count the events per day")?;
        let mut counts = Vec::new();
        for row in rows {
            let Some(kind) = AuditKind::parse(&row.try_get::<String, _>("kind")?) else {
                continue;
            };
            if kinds.contains(&kind) {
                counts.push((row.try_get("day")?, kind, row.try_get("n")?));
            }
        }
        Ok(counts)
    }
}

/// The statement that records one event, its values bound as `$1` to `$7` (`bind_event`).
static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| insert_event_sql(1));

/// The statement that records one event, its values bound from `$first` on (`bind_event`).
pub(super) fn insert_event_sql(first: usize) -> String {
    let values: Vec<String> = (first..first + 7).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO audit_events (at, account_id, kind, detail, client_ip, user_agent, \
         actor_id) VALUES ({})",
        values.join(", ")
    )
}

/// `write` (its parameters `$1` to `$params`) and the recording of an event, as one statement
/// (PostgreSQL): `write` in a data-modifying `WITH`, then the event's `INSERT`, its values from
/// `$params + 1` on (`bind_event`).
pub(super) fn recording_sql(write: &str, params: usize) -> String {
    format!("WITH done AS ({write}) {}", insert_event_sql(params + 1))
}

/// Runs `write`, its parameters bound by `bind`, and records `event`: in PostgreSQL one
/// statement, `recording` (made by `recording_sql`), so one round trip (each costs CPU in the
/// database and here); in SQLite, which has no data-modifying `WITH`, the two in turn.
pub(super) async fn execute_recording<'q>(
    conn: &mut AnyConnection,
    (write, recording): (&'q str, &'q str),
    bind: impl Fn(Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>>,
    event: NewAuditEvent<'q>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    if !is_postgres(conn) {
        bind(sqlx::query(write)).execute(&mut *conn).await?;
        return Store::record_event(conn, event, now).await;
    }
    bind_event(bind(sqlx::query(recording)), event, now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Binds `event`, recorded at `now`, to the placeholders of `insert_event_sql`.
pub(super) fn bind_event<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    event: NewAuditEvent<'q>,
    now: OffsetDateTime,
) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(unix_millis(now))
        .bind(event.account_id)
        .bind(event.kind.as_str())
        .bind(event.detail)
        .bind(event.client_ip.map(|ip| ip.to_string()))
        .bind(event.user_agent)
        .bind(event.actor_id)
}
