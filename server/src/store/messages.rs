//! The SMS delivery queue and the development outbox.

use super::{Backend, Store};
use crate::auth::send_limits::{RecentCounts, RecentSends};
use crate::clock::{from_unix_millis, unix_millis};
use anyhow::Context;
use app::types::DeliveryChannel;
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

pub struct NewMessage<'a> {
    pub account_id: Option<i64>,
    pub to_phone: &'a str,
    pub body: &'a str,
    pub purpose: &'a str,
    pub channel: DeliveryChannel,
    /// The spoken text of the same code, queued as a call if the text message fails for good.
    pub fallback_body: Option<&'a str>,
    /// The client whose request caused the message (kept with it).
    pub client_ip: Option<IpAddr>,
    /// That client's network, which the per-client send limit counts (see `ClientIp`).
    pub client_network: Option<IpAddr>,
    /// The target's allowance it comes out of (`SendPriority::allowance`).
    pub allowance: &'static str,
    /// The managed verification service that is to send a code of its own instead of `body`
    /// (`CODE_ISSUER`); `body` goes out through the SMS providers if the service cannot.
    pub code_service: Option<&'static str>,
}

/// A message the worker has claimed (status `sending`, leased until `lease` runs out).
#[derive(Debug, Clone)]
pub struct ClaimedMessage {
    pub id: i64,
    pub to_phone: String,
    pub body: String,
    pub purpose: String,
    pub channel: DeliveryChannel,
    /// The position in the provider list this message is on.
    pub stage: usize,
    /// Attempts at this stage, including this one.
    pub attempts: u32,
    pub fallback_body: Option<String>,
    /// Since when an earlier attempt's outcome is unknown (it got no answer, or its worker died):
    /// the provider may already have it.
    pub ambiguous_since: Option<OffsetDateTime>,
    /// The managed verification service that is to send its own code first (see `NewMessage`).
    pub code_service: Option<String>,
}

/// Why a message failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The number cannot receive messages on the message's channel.
    Unreachable,
    /// Every provider failed or refused it.
    Undelivered,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Undelivered => "undelivered",
        }
    }
}

/// What a provider reported, after accepting a message, about what became of it (a delivery
/// receipt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// It reached the handset (for a call: the call was answered and completed).
    Delivered,
    /// It did not arrive, and will not: `reason` is the provider's status and error code.
    Failed { failure: Failure, reason: String },
}

/// Where a flow's latest code message stands, as far as the person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Queued, or being sent.
    Underway,
    /// Handed to a provider (or the development outbox).
    Sent,
    /// The provider reported it delivered to the handset.
    Delivered,
    Failed {
        failure: Failure,
        channel: DeliveryChannel,
    },
}

#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub to_phone: String,
    pub body: String,
    pub purpose: String,
    pub channel: DeliveryChannel,
    pub created_at: OffsetDateTime,
}

/// How a client network is written in `sms_messages.client_network`.
fn network_key(network: Option<IpAddr>) -> Option<String> {
    network.map(|network| network.to_string())
}

fn window(row: sqlx::any::AnyRow) -> anyhow::Result<RecentSends> {
    let count: i64 = row.try_get(0)?;
    let oldest: Option<i64> = row.try_get(1)?;
    let newest: Option<i64> = row.try_get(2)?;
    Ok(RecentSends {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        oldest: oldest.map(from_unix_millis),
        newest: newest.map(from_unix_millis),
    })
}

/// The messages at one stage of one channel (and, with `and_later`, at every later stage): those
/// one provider sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageFilter {
    pub channel: DeliveryChannel,
    pub stage: usize,
    pub and_later: bool,
}

impl StageFilter {
    /// The SQL condition these messages meet, built from an enum's own name and a number. A
    /// message a verification service is to send is not at any provider's stage yet.
    fn condition(&self) -> String {
        let comparison = if self.and_later { ">=" } else { "=" };
        format!(
            "(code_service IS NULL AND channel = '{}' AND stage {comparison} {})",
            self.channel.as_str(),
            self.stage
        )
    }
}

/// ` AND …`, leaving out of a query the messages at the stages in `busy` and those the
/// verification services in `busy_services` are to send, but for those to one of `captured` (E.164
/// numbers, a `+` and digits; anything else is dropped, so that only such numbers ever reach the
/// SQL; service names likewise must be lowercase letters and `_`). Empty when nothing is busy.
fn leaving_out(busy: &[StageFilter], busy_services: &[&str], captured: &[String]) -> String {
    let mut conditions: Vec<String> = busy.iter().map(StageFilter::condition).collect();
    conditions.extend(
        busy_services
            .iter()
            .filter(|name| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .map(|name| format!("(code_service = '{name}')")),
    );
    if conditions.is_empty() {
        return String::new();
    }
    let numbers: Vec<String> = captured
        .iter()
        .filter(|number| {
            number.len() > 1
                && number.starts_with('+')
                && number[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(|number| format!("'{number}'"))
        .collect();
    let captured = if numbers.is_empty() {
        String::new()
    } else {
        format!(" OR to_phone IN ({})", numbers.join(", "))
    };
    format!(" AND (NOT ({}){captured})", conditions.join(" OR "))
}

impl Store {
    /// Queues a message; part of the caller's transaction.
    pub async fn enqueue_message(
        conn: &mut AnyConnection,
        message: NewMessage<'_>,
        now: OffsetDateTime,
    ) -> anyhow::Result<i64> {
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO sms_messages (account_id, to_phone, body, purpose, channel, fallback_body, \
             client_ip, client_network, allowance, status, created_at, updated_at, \
             next_attempt_at, code_service) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11, $12, $13) \
             RETURNING id",
        )
        .bind(message.account_id)
        .bind(message.to_phone)
        .bind(message.body)
        .bind(message.purpose)
        .bind(message.channel.as_str())
        .bind(message.fallback_body)
        .bind(message.client_ip.map(|ip| ip.to_string()))
        .bind(network_key(message.client_network))
        .bind(message.allowance)
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(message.code_service)
        .fetch_one(&mut *conn)
        .await
        .context("could not queue the message")?;
        Store::count_send(conn, message.client_network, now).await?;
        Ok(id)
    }

    /// Records a request that sends nothing but counts against the send limits (see the
    /// migration). Never claimed by the worker.
    pub async fn record_decoy(
        conn: &mut AnyConnection,
        account_id: Option<i64>,
        to_phone: &str,
        (client_ip, client_network): (Option<IpAddr>, Option<IpAddr>),
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO sms_messages (account_id, to_phone, body, purpose, client_ip, \
             client_network, status, created_at, updated_at, next_attempt_at) \
             VALUES ($1, $2, NULL, 'decoy', $3, $4, 'decoy', $5, $6, $7)",
        )
        .bind(account_id)
        .bind(to_phone)
        .bind(client_ip.map(|ip| ip.to_string()))
        .bind(network_key(client_network))
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .execute(&mut *conn)
        .await
        .context("could not record a decoy send")?;
        Store::count_send(conn, client_network, now).await
    }

    /// Messages queued since `since` to this account or this number (exactly, for the cooldown):
    /// caused by this client network, and by anyone out of `allowance` (decoys left out); then by this client network to anyone, and
    /// in all (by the minute: `send_counters`). Read inside the caller's write transaction so
    /// that concurrent requests count each other.
    pub async fn recent_sends(
        conn: &mut AnyConnection,
        account_id: i64,
        to_phone: &str,
        client_network: Option<IpAddr>,
        allowance: &str,
        since: OffsetDateTime,
    ) -> anyhow::Result<RecentCounts> {
        let target_by_client = window(
            sqlx::query(
                "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM sms_messages \
                 WHERE created_at > $1 AND (account_id = $2 OR to_phone = $3) \
                 AND COALESCE(client_network, '') = $4",
            )
            .bind(unix_millis(since))
            .bind(account_id)
            .bind(to_phone)
            .bind(network_key(client_network).unwrap_or_default())
            .fetch_one(&mut *conn)
            .await
            .context("could not count this client's recent messages to this account")?,
        )?;
        let target = window(
            sqlx::query(
                "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM sms_messages \
                 WHERE created_at > $1 AND (account_id = $2 OR to_phone = $3) \
                 AND status <> 'decoy' AND allowance = $4",
            )
            .bind(unix_millis(since))
            .bind(account_id)
            .bind(to_phone)
            .bind(allowance)
            .fetch_one(&mut *conn)
            .await
            .context("could not count the recent messages to this account")?,
        )?;
        let client = match client_network {
            Some(network) => Store::counted_sends(conn, Some(network), since).await?,
            None => RecentSends::default(),
        };
        let global = Store::counted_sends(conn, None, since).await?;
        Ok(RecentCounts {
            target_by_client,
            target,
            client,
            global,
        })
    }

    /// Atomically takes the next due message for `instance`: a queued one whose time has come, or
    /// a `sending` one whose lease ran out (its worker died), which is then ambiguous from when
    /// that worker took it; none at the stages in `busy` (those of providers with all the sends
    /// they may have in flight) unless it is to one of `captured` (test numbers, whose messages
    /// no provider sends). One statement, so two workers never take the same.
    pub async fn claim_next_message(
        &self,
        now: OffsetDateTime,
        lease: Duration,
        instance: &str,
        busy: &[StageFilter],
        busy_services: &[&str],
        captured: &[String],
    ) -> anyhow::Result<Option<ClaimedMessage>> {
        // PostgreSQL: a second worker skips the row the first one has locked, instead of
        // waiting for it and then claiming it again.
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let skip = leaving_out(busy, busy_services, captured);
        let row = sqlx::query(&format!(
            "UPDATE sms_messages SET status = 'sending', attempts = attempts + 1, \
             next_attempt_at = $1, updated_at = $2, claimed_by = $4, \
             ambiguous_since = CASE WHEN status = 'sending' \
                 THEN COALESCE(ambiguous_since, updated_at) ELSE ambiguous_since END \
             WHERE id = (SELECT id FROM sms_messages \
                         WHERE status IN ('queued', 'sending') AND next_attempt_at <= $3{skip} \
                         ORDER BY next_attempt_at, id LIMIT 1{lock}) \
             RETURNING id, to_phone, body, purpose, channel, stage, attempts, fallback_body, \
             ambiguous_since, code_service"
        ))
        .bind(unix_millis(now + lease))
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(instance)
        .fetch_optional(self.writer())
        .await
        .context("could not claim a queued message")?;
        let Some(row) = row else { return Ok(None) };
        let attempts: i64 = row.try_get("attempts")?;
        let stage: i64 = row.try_get("stage")?;
        let channel: String = row.try_get("channel")?;
        Ok(Some(ClaimedMessage {
            id: row.try_get("id")?,
            to_phone: row.try_get("to_phone")?,
            body: row
                .try_get::<Option<String>, _>("body")?
                .unwrap_or_default(),
            purpose: row.try_get("purpose")?,
            channel: DeliveryChannel::parse(&channel).unwrap_or_default(),
            stage: usize::try_from(stage).unwrap_or(0),
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            fallback_body: row.try_get("fallback_body")?,
            ambiguous_since: row
                .try_get::<Option<i64>, _>("ambiguous_since")?
                .map(from_unix_millis),
            code_service: row.try_get("code_service")?,
        }))
    }

    /// At `instance`'s start: the messages it was sending when it stopped are due now, instead of
    /// when their lease runs out. Returns how many.
    pub async fn release_in_flight(
        &self,
        instance: &str,
        now: OffsetDateTime,
    ) -> anyhow::Result<u64> {
        let result = sqlx::query(
            "UPDATE sms_messages SET next_attempt_at = $1 WHERE status = 'sending' \
             AND claimed_by = $2 AND next_attempt_at > $1",
        )
        .bind(unix_millis(now))
        .bind(instance)
        .execute(self.writer())
        .await
        .context("could not release the messages in flight")?;
        Ok(result.rows_affected())
    }

    pub async fn mark_message_sent(
        &self,
        id: i64,
        provider: &str,
        provider_message_id: Option<&str>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sms_messages SET status = 'sent', body = NULL, fallback_body = NULL, provider = $1, \
             provider_message_id = $2, last_error = NULL, ambiguous_since = NULL, sent_at = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(provider)
        .bind(provider_message_id)
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(id)
        .execute(self.writer())
        .await
        .context("could not mark the message sent")?;
        Ok(())
    }

    /// Queues the message again for `at`. `ambiguous_since`: the attempt got no answer, so the
    /// provider may have taken it (kept from an earlier ambiguous attempt if there was one).
    pub async fn schedule_message_retry(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        at: OffsetDateTime,
        ambiguous_since: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sms_messages SET status = 'queued', provider = $1, last_error = $2, \
             next_attempt_at = $3, updated_at = $4, \
             ambiguous_since = COALESCE(ambiguous_since, $6) WHERE id = $5",
        )
        .bind(provider)
        .bind(error)
        .bind(unix_millis(at))
        .bind(unix_millis(now))
        .bind(id)
        .bind(ambiguous_since.map(unix_millis))
        .execute(self.writer())
        .await
        .context("could not reschedule the message")?;
        Ok(())
    }

    /// Moves a message to the provider at `next_stage`: queued again at once, attempts restarted.
    /// A code a verification service could not send moves to the first provider (stage 0) with
    /// Latchkey's own code; no provider there has had the message, so none is asked for it.
    pub async fn fail_over_message(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        next_stage: usize,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sms_messages SET status = 'queued', stage = $1, attempts = 0, provider = $2, \
             last_error = $3, next_attempt_at = $4, updated_at = $5, code_service = NULL, \
             ambiguous_since = NULL WHERE id = $6",
        )
        .bind(i64::try_from(next_stage).unwrap_or(i64::MAX))
        .bind(provider)
        .bind(error)
        .bind(unix_millis(now))
        .bind(unix_millis(now))
        .bind(id)
        .execute(self.writer())
        .await
        .context("could not move the message to the next provider")?;
        Ok(())
    }

    /// Fails a message for good. With `voice_fallback`, queues the same code as a call in the
    /// same transaction; returns that call's id.
    pub async fn mark_message_failed(
        &self,
        id: i64,
        provider: &str,
        error: &str,
        failure: Failure,
        voice_fallback: bool,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let fallback_id = if voice_fallback {
            let fallback = sqlx::query_scalar::<_, i64>(
                "INSERT INTO sms_messages (account_id, to_phone, body, purpose, channel, status, \
                 created_at, updated_at, next_attempt_at) \
                 SELECT account_id, to_phone, fallback_body, purpose, 'voice', 'queued', $1, $1, $1 \
                 FROM sms_messages WHERE id = $2 AND status = 'sending' AND channel = 'sms' \
                 AND fallback_body IS NOT NULL RETURNING id",
            )
            .bind(unix_millis(now))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .context("could not queue the voice fallback")?;
            if fallback.is_some() {
                // A call costs like a text: it counts against the global budget too.
                Store::count_send(&mut tx, None, now).await?;
            }
            fallback
        } else {
            None
        };
        sqlx::query(
            "UPDATE sms_messages SET status = 'failed', body = NULL, fallback_body = NULL, \
             provider = $1, last_error = $2, failure = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(provider)
        .bind(error)
        .bind(failure.as_str())
        .bind(unix_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("could not mark the message failed")?;
        tx.commit().await.context("could not record the failure")?;
        Ok(fallback_id)
    }

    /// Whether the newest real message for this account and purpose failed. Decoys and older
    /// messages do not count.
    pub async fn latest_delivery(
        &self,
        account_id: i64,
        purpose: &str,
    ) -> anyhow::Result<Option<DeliveryState>> {
        let row: Option<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT status, channel, failure, delivered_at FROM sms_messages WHERE account_id = $1 \
             AND purpose = $2 AND status <> 'decoy' ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(purpose)
        .fetch_optional(self.pool())
        .await
        .context("could not read the delivery status")?;
        Ok(row.map(|(status, channel, failure, delivered_at)| {
            if status == "failed" {
                DeliveryState::Failed {
                    failure: if failure.as_deref() == Some("unreachable") {
                        Failure::Unreachable
                    } else {
                        Failure::Undelivered
                    },
                    channel: DeliveryChannel::parse(&channel).unwrap_or_default(),
                }
            } else if status == "sent" && delivered_at.is_some() {
                DeliveryState::Delivered
            } else if status == "sent" {
                DeliveryState::Sent
            } else {
                DeliveryState::Underway
            }
        }))
    }

    /// Records what a provider reported about a message it accepted, found by the provider's name
    /// and its id for the message. Only a message still `sent` and not yet delivered changes: a
    /// repeated or out-of-order receipt changes nothing. Returns whether the message changed.
    pub async fn record_delivery_outcome(
        &self,
        provider: &str,
        provider_message_id: &str,
        outcome: &DeliveryOutcome,
        now: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let query = match outcome {
            DeliveryOutcome::Delivered => sqlx::query(
                "UPDATE sms_messages SET delivered_at = $1, updated_at = $1 \
                 WHERE provider = $2 AND provider_message_id = $3 AND status = 'sent' \
                 AND delivered_at IS NULL",
            )
            .bind(unix_millis(now))
            .bind(provider)
            .bind(provider_message_id),
            DeliveryOutcome::Failed { failure, reason } => sqlx::query(
                "UPDATE sms_messages SET status = 'failed', failure = $1, last_error = $2, \
                 updated_at = $3 WHERE provider = $4 AND provider_message_id = $5 \
                 AND status = 'sent' AND delivered_at IS NULL",
            )
            .bind(failure.as_str())
            .bind(reason)
            .bind(unix_millis(now))
            .bind(provider)
            .bind(provider_message_id),
        };
        let result = query
            .execute(self.writer())
            .await
            .context("could not record the delivery receipt")?;
        Ok(result.rows_affected() > 0)
    }

    /// Messages `provider` accepted from `sent_from` on whose fate is not known, neither sent nor
    /// asked about since `quiet_since`: (id, the provider's id), oldest first.
    pub async fn messages_to_ask_about(
        &self,
        provider: &str,
        texts_only: bool,
        sent_from: OffsetDateTime,
        quiet_since: OffsetDateTime,
        limit: u32,
    ) -> anyhow::Result<Vec<(i64, String)>> {
        let texts_only = if texts_only {
            " AND channel = 'sms'"
        } else {
            ""
        };
        sqlx::query_as(&format!(
            "SELECT id, provider_message_id FROM sms_messages WHERE provider = $1 \
             AND status = 'sent' AND delivered_at IS NULL AND provider_message_id IS NOT NULL \
             AND sent_at >= $2 AND sent_at <= $3{texts_only} \
             AND (status_checked_at IS NULL OR status_checked_at < $3) ORDER BY sent_at LIMIT $4",
        ))
        .bind(provider)
        .bind(unix_millis(sent_from))
        .bind(unix_millis(quiet_since))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .context("could not read the messages to ask about")
    }

    /// Notes that the provider was asked about message `id` at `now`.
    pub async fn mark_status_checked(&self, id: i64, now: OffsetDateTime) -> anyhow::Result<()> {
        sqlx::query("UPDATE sms_messages SET status_checked_at = $1 WHERE id = $2")
            .bind(unix_millis(now))
            .bind(id)
            .execute(self.writer())
            .await
            .context("could not note the status check")?;
        Ok(())
    }

    /// Records a message "sent" through the development outbox.
    pub async fn insert_outbox_entry(
        &self,
        message_id: i64,
        to_phone: &str,
        body: &str,
        purpose: &str,
        channel: DeliveryChannel,
        now: OffsetDateTime,
    ) -> anyhow::Result<i64> {
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO dev_outbox (message_id, to_phone, body, purpose, channel, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(message_id)
        .bind(to_phone)
        .bind(body)
        .bind(purpose)
        .bind(channel.as_str())
        .bind(unix_millis(now))
        .fetch_one(self.writer())
        .await
        .context("could not write to the development outbox")?;
        Ok(id)
    }

    /// The newest outbox entries first.
    pub async fn outbox_entries(&self, limit: u32) -> anyhow::Result<Vec<OutboxEntry>> {
        let rows = sqlx::query(
            "SELECT id, to_phone, body, purpose, channel, created_at FROM dev_outbox \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .context("could not read the development outbox")?;
        rows.iter()
            .map(|row| {
                Ok(OutboxEntry {
                    id: row.try_get("id")?,
                    to_phone: row.try_get("to_phone")?,
                    body: row.try_get("body")?,
                    purpose: row.try_get("purpose")?,
                    channel: DeliveryChannel::parse(&row.try_get::<String, _>("channel")?)
                        .unwrap_or_default(),
                    created_at: from_unix_millis(row.try_get("created_at")?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("could not read an outbox row")
    }

    /// The account's newest real messages first (decoys left out), for the admin area.
    pub async fn recent_messages_of(
        &self,
        account_id: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<MessageSummary>> {
        let rows = sqlx::query(
            "SELECT created_at, purpose, channel, \
             CASE WHEN status = 'sent' AND delivered_at IS NOT NULL THEN 'delivered' ELSE status END \
             AS status, failure, to_phone FROM sms_messages \
             WHERE account_id = $1 AND status <> 'decoy' ORDER BY id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .context("could not read the account's messages")?;
        rows.iter()
            .map(|row| {
                Ok(MessageSummary {
                    created_at: from_unix_millis(row.try_get("created_at")?),
                    purpose: row.try_get("purpose")?,
                    channel: DeliveryChannel::parse(&row.try_get::<String, _>("channel")?)
                        .unwrap_or_default(),
                    status: row.try_get("status")?,
                    failure: row.try_get("failure")?,
                    to_phone: row.try_get("to_phone")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("could not read a message row")
    }

    /// Per day (UTC, as days since 1970) since `since`: messages sent (by when they were sent)
    /// and messages that failed for good (by when they failed).
    pub async fn daily_message_counts(
        &self,
        since: OffsetDateTime,
    ) -> anyhow::Result<Vec<(i64, i64, i64)>> {
        let since = unix_millis(since);
        let sent: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT sent_at / 86400000 AS day, COUNT(*) FROM sms_messages \
             WHERE status = 'sent' AND sent_at >= $1 GROUP BY sent_at / 86400000",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await
        .context("could not count the messages sent per day")?;
        let failed: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT updated_at / 86400000 AS day, COUNT(*) FROM sms_messages \
             WHERE status = 'failed' AND updated_at >= $1 GROUP BY updated_at / 86400000",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await
        .context("could not count the failed messages per day")?;
        let mut days: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for (day, count) in sent {
            days.entry(day).or_default().0 += count;
        }
        for (day, count) in failed {
            days.entry(day).or_default().1 += count;
        }
        Ok(days
            .into_iter()
            .map(|(day, (sent, failed))| (day, sent, failed))
            .collect())
    }
}

/// One message as the admin area lists it.
#[derive(Debug, Clone)]
pub struct MessageSummary {
    pub created_at: OffsetDateTime,
    pub purpose: String,
    pub channel: DeliveryChannel,
    /// `queued`, `sending`, `sent`, `delivered` (sent, and a receipt said it arrived) or `failed`.
    pub status: String,
    pub failure: Option<String>,
    pub to_phone: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_stages_are_left_out_but_for_captured_numbers_and_only_numbers_reach_the_sql() {
        assert_eq!(leaving_out(&[], &[], &["+15555550100".to_owned()]), "");
        let busy = [
            StageFilter {
                channel: DeliveryChannel::Sms,
                stage: 0,
                and_later: false,
            },
            StageFilter {
                channel: DeliveryChannel::Voice,
                stage: 1,
                and_later: true,
            },
        ];
        assert_eq!(
            leaving_out(&busy, &[], &[]),
            " AND (NOT ((code_service IS NULL AND channel = 'sms' AND stage = 0) \
             OR (code_service IS NULL AND channel = 'voice' AND stage >= 1)))"
        );
        assert_eq!(
            leaving_out(
                &busy[..1],
                &[],
                &["+15555550100".to_owned(), "+1'); DROP".to_owned()]
            ),
            " AND (NOT ((code_service IS NULL AND channel = 'sms' AND stage = 0)) \
             OR to_phone IN ('+15555550100'))"
        );
        assert_eq!(
            leaving_out(&[], &["twilio_verify", "x'); DROP"], &[]),
            " AND (NOT ((code_service = 'twilio_verify')))"
        );
    }
}
