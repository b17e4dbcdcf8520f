//! The admin area: who may enter (the admin role, then an `admin_step_up` code that elevates the
//! session for a while), account search and view, the actions on an account (each audited with
//! the admin's id), and the 30-day counts.

use super::codes::CodeRequest;
use super::{format_time, FlowError, FlowResult, LatchkeyService, Step};
use crate::auth::audit::AuditKind;
use crate::auth::lockout::LockoutPolicy;
use crate::auth::second_factor::ElevationPolicy;
use crate::auth::sessions::TokenHash;
use crate::domain::{CodeScope, PhoneNumber};
use crate::store::{
    AccountRecord, AccountSearch, NewAuditEvent, Role, SessionRecord, Store, WriteScope, WriteTx,
};
use app::error::{AppError, Field};
use app::ssr::RequestContext;
use app::types::{
    AccountStatus, AccountSummary, AdminAccess, AdminAccountView, AdminAction, AdminEvent,
    AdminMessage, AdminOverview, CodeSent, DayCounts,
};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Days in the admin overview.
const OVERVIEW_DAYS: i64 = 30;

/// Search results shown at most.
const SEARCH_LIMIT: u32 = 25;

/// Events and messages shown on an account.
const ACCOUNT_EVENTS: u32 = 20;

const ACCOUNT_MESSAGES: u32 = 10;

/// Reads a search as part of an email, or (only digits, with spaces, `+`, `-`, brackets ignored)
/// as the end of a phone number.
fn parse_search(query: &str) -> Result<AccountSearch<'_>, AppError> {
    let query = query.trim();
    let refuse = || {
        AppError::field(
            Field::Query,
            "Enter at least 3 characters of an email, or the last 3 or more digits of a phone number.",
        )
    };
    if query.chars().count() < 3 || query.chars().count() > 254 {
        return Err(refuse());
    }
    let phone_like = query
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'));
    if phone_like {
        let digits = query.trim_start_matches(|c: char| !c.is_ascii_digit());
        if digits.chars().all(|c| c.is_ascii_digit()) && digits.len() >= 3 {
            return Ok(AccountSearch::PhoneSuffix(digits));
        }
        return Err(AppError::field(
            Field::Query,
            "Enter the last digits of the phone number without spaces or dashes, such as 1234.",
        ));
    }
    Ok(AccountSearch::Email(query))
}

fn status_of(account: &AccountRecord) -> AccountStatus {
    if account.lock.is_locked() {
        AccountStatus::Locked
    } else if account.phone_verified_at.is_none() {
        AccountStatus::Unverified
    } else if account.must_reset_password {
        AccountStatus::MustResetPassword
    } else {
        AccountStatus::Active
    }
}

fn day_label(day: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    OffsetDateTime::from_unix_timestamp(day * 86_400)
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_default()
}

/// A stored destination with all but its last four digits hidden.
fn mask_number(number: &str) -> String {
    PhoneNumber::from_e164(number.to_owned()).masked()
}

pub(super) async fn admin_gate(
    service: &LatchkeyService,
    ctx: &RequestContext,
) -> FlowResult<AdminAccess> {
    let (admin, session, _) = service.admin_session(ctx).await?;
    let now = service.clock.now();
    match session.elevated_until {
        Some(until) if ElevationPolicy::is_elevated(Some(until), now) => Ok(AdminAccess::Open {
            elevated_until: format_time(until),
            overview: service.overview(now).await?,
        }),
        _ => Ok(AdminAccess::StepUpRequired {
            phone_ending: admin.phone.ending(),
        }),
    }
}

pub(super) async fn send_admin_code(
    service: &LatchkeyService,
    ctx: &RequestContext,
) -> FlowResult<CodeSent> {
    let (admin, _, _) = service.admin_session(ctx).await?;
    let step = service.step(ctx).await?;
    let channel = service.preferred_channel(&admin);
    let request = CodeRequest::to_account(&admin, CodeScope::AdminStepUp, channel);
    service.send_code_now(step, request).await
}

pub(super) async fn admin_step_up(
    service: &LatchkeyService,
    ctx: &RequestContext,
    code: &str,
) -> FlowResult<()> {
    let code = service.parse_code(CodeScope::AdminStepUp, code)?;
    let (admin, _, hash) = service.admin_session(ctx).await?;
    let step = service.step_in(ctx, WriteScope::Account(admin.id)).await?;
    let (mut step, admin) = service
        .redeem_or_refuse(step, Some(admin), CodeScope::AdminStepUp, &code)
        .await?;
    let until = service.elevation.grant(step.now);
    Store::elevate_session(&mut step.tx, hash, until).await?;
    step.audit(
        AuditKind::AdminElevated,
        Some(admin.id),
        Some(&format!("until {}", format_time(until))),
    )
    .await?;
    step.commit().await?;
    tracing::info!(admin_id = admin.id, "admin area opened");
    Ok(())
}

pub(super) async fn admin_search(
    service: &LatchkeyService,
    ctx: &RequestContext,
    query: &str,
) -> FlowResult<Vec<AccountSummary>> {
    service.elevated_admin(ctx).await?;
    let lowered = query.to_lowercase();
    let search = parse_search(&lowered)?;
    let mut conn = service.store.reader().await?;
    let accounts = Store::search_accounts(&mut conn, search, SEARCH_LIMIT).await?;
    Ok(accounts
        .into_iter()
        .map(|account| AccountSummary {
            id: account.id,
            status: status_of(&account),
            name: format!("{} {}", account.first_name, account.last_name),
            masked_phone: account.phone.masked(),
            email: account.email,
        })
        .collect())
}

pub(super) async fn admin_account(
    service: &LatchkeyService,
    ctx: &RequestContext,
    account_id: i64,
) -> FlowResult<AdminAccountView> {
    service.elevated_admin(ctx).await?;
    let mut conn = service.store.reader().await?;
    let account = Store::account_by_id(&mut conn, account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    let events = service
        .store
        .recent_events(account.id, ACCOUNT_EVENTS)
        .await?
        .into_iter()
        .map(|event| AdminEvent {
            at: format_time(event.at),
            kind: event.kind.as_str().to_owned(),
            description: event.kind.describe().to_owned(),
            detail: event.detail,
            client_ip: event.client_ip,
            actor_id: event.actor_id,
        })
        .collect();
    let messages = service
        .store
        .recent_messages_of(account.id, ACCOUNT_MESSAGES)
        .await?
        .into_iter()
        .map(|message| AdminMessage {
            at: format_time(message.created_at),
            purpose: message.purpose,
            channel: message.channel,
            status: message.status,
            failure: message.failure,
            masked_phone: mask_number(&message.to_phone),
        })
        .collect();
    let active_sessions = service.store.count_sessions_of(account.id).await?;
    Ok(AdminAccountView {
        id: account.id,
        status: status_of(&account),
        locked: account.lock.is_locked(),
        is_admin: account.role == Role::Admin,
        name: format!("{} {}", account.first_name, account.last_name),
        masked_phone: account.phone.masked(),
        phone_verified_at: account.phone_verified_at.map(format_time),
        last_login_at: account.last_login_at.map(format_time),
        created_at: format_time(account.created_at),
        active_sessions: u64::try_from(active_sessions).unwrap_or(0),
        email: account.email,
        events,
        messages,
    })
}

pub(super) async fn admin_act(
    service: &LatchkeyService,
    ctx: &RequestContext,
    account_id: i64,
    action: AdminAction,
) -> FlowResult<()> {
    let admin = service.elevated_admin(ctx).await?;
    let mut step = service.step(ctx).await?;
    let account = Store::account_by_id(&mut step.tx, account_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match action {
        AdminAction::Unlock => {
            Store::save_lock_state(&mut step.tx, account.id, LockoutPolicy::cleared()).await?;
            Store::delete_code(&mut step.tx, account.id, CodeScope::Unlock).await?;
            service
                .audit_admin_action(
                    &mut step,
                    (AuditKind::AdminUnlocked, "unlocked"),
                    account.id,
                    &admin,
                )
                .await?;
        }
        AdminAction::ForcePasswordReset => {
            Store::set_must_reset_password(&mut step.tx, account.id, true).await?;
            let ended = service.end_all_sessions(&mut step.tx, account.id).await?;
            service
                .audit_admin_action(
                    &mut step,
                    (
                        AuditKind::AdminForcedReset,
                        &format!("password reset required; {ended} session(s) ended"),
                    ),
                    account.id,
                    &admin,
                )
                .await?;
        }
        AdminAction::RevokeSessions => {
            let ended = service.end_all_sessions(&mut step.tx, account.id).await?;
            service
                .audit_admin_action(
                    &mut step,
                    (
                        AuditKind::AdminRevokedSessions,
                        &format!("{ended} session(s) ended"),
                    ),
                    account.id,
                    &admin,
                )
                .await?;
        }
    }
    step.commit().await?;
    tracing::warn!(
        admin_id = admin.id,
        account_id = account.id,
        ?action,
        "admin action"
    );
    Ok(())
}

impl LatchkeyService {
    /// The signed-in admin's session; `Forbidden` for anyone else.
    async fn admin_session(
        &self,
        ctx: &RequestContext,
    ) -> FlowResult<(AccountRecord, SessionRecord, TokenHash)> {
        let (account, session, hash) = self.signed_in(ctx).await?;
        if account.role != Role::Admin {
            return Err(AppError::Forbidden.into());
        }
        Ok((account, session, hash))
    }

    /// The admin, if this session's step-up still holds.
    async fn elevated_admin(&self, ctx: &RequestContext) -> FlowResult<AccountRecord> {
        let (admin, session, _) = self.admin_session(ctx).await?;
        if !ElevationPolicy::is_elevated(session.elevated_until, self.clock.now()) {
            return Err(AppError::StepUpRequired.into());
        }
        Ok(admin)
    }

    /// Records an admin's action on `account_id`.
    async fn audit_admin_action(
        &self,
        step: &mut Step<'_>,
        (kind, detail): (AuditKind, &str),
        account_id: i64,
        admin: &AccountRecord,
    ) -> FlowResult<()> {
        let detail = format!("{detail} (by admin #{})", admin.id);
        let event = NewAuditEvent {
            kind,
            account_id: Some(account_id),
            detail: Some(&detail),
            client_ip: step.ctx.client_ip,
            user_agent: step.ctx.user_agent.as_deref(),
            actor_id: Some(admin.id),
        };
        Store::record_event(&mut step.tx, event, step.now)
            .await
            .map_err(FlowError::from)
    }

    async fn overview(&self, now: OffsetDateTime) -> FlowResult<AdminOverview> {
        let today = now.unix_timestamp().div_euclid(86_400);
        let first_day = today - (OVERVIEW_DAYS - 1);
        let since =
            OffsetDateTime::from_unix_timestamp(first_day * 86_400).map_err(anyhow::Error::from)?;
        let kinds = [
            AuditKind::LoginSucceeded,
            AuditKind::LoginFailed,
            AuditKind::AccountLocked,
        ];
        let mut events: HashMap<(i64, &'static str), i64> = HashMap::new();
        for (day, kind, count) in self.store.daily_event_counts(since, &kinds).await? {
            *events.entry((day, kind.as_str())).or_default() += count;
        }
        let messages: HashMap<i64, (i64, i64)> = self
            .store
            .daily_message_counts(since)
            .await?
            .into_iter()
            .map(|(day, sent, failed)| (day, (sent, failed)))
            .collect();
        let count = |value: i64| u64::try_from(value).unwrap_or(0);
        let days = (first_day..=today)
            .map(|day| {
                let event =
                    |kind: AuditKind| count(*events.get(&(day, kind.as_str())).unwrap_or(&0));
                let (sent, failed) = messages.get(&day).copied().unwrap_or((0, 0));
                DayCounts {
                    day: day_label(day),
                    sign_ins: event(AuditKind::LoginSucceeded),
                    failures: event(AuditKind::LoginFailed),
                    locks: event(AuditKind::AccountLocked),
                    messages_sent: count(sent),
                    messages_failed: count(failed),
                }
            })
            .collect();
        Ok(AdminOverview { days })
    }

    /// Ends every session and pending sign-in of the account; returns how many sessions ended.
    async fn end_all_sessions(&self, tx: &mut WriteTx, account_id: i64) -> FlowResult<u64> {
        Store::delete_pending_sign_ins_of(tx, account_id).await?;
        Store::delete_sessions_of(tx, account_id)
            .await
            .map_err(FlowError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_emails_or_phone_endings() {
        assert_eq!(
            parse_search("ada@example"),
            Ok(AccountSearch::Email("ada@example"))
        );
        assert_eq!(
            parse_search(" 1234 "),
            Ok(AccountSearch::PhoneSuffix("1234"))
        );
        assert_eq!(
            parse_search("+14155551234"),
            Ok(AccountSearch::PhoneSuffix("14155551234"))
        );
        for refused in ["", "ab", "12", "12 34", "  "] {
            assert!(parse_search(refused).is_err(), "{refused:?}");
        }
    }
}
