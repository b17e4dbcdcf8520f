//! The signed-in account: its page, its delivery preference, its trusted browsers, and where its
//! latest code has got to.

use super::sign_in::describe_browser;
use super::{format_time, parse_email, FlowResult, LatchkeyService};
use crate::auth::audit::AuditKind;
use crate::auth::send_limits::{SendDecision, SendPriority, WINDOW};
use crate::auth::sessions::{hash_token, SessionCheck, TokenHash};
use crate::domain::CodeScope;
use crate::sms::DeliveryChannel;
use crate::store::{AccountRecord, DeliveryState, Failure, Role, SessionRecord, Store};
use app::error::{AppError, Field};
use app::ssr::RequestContext;
use app::types::{AccountView, ActivityItem, CodeDelivery, DeliveryProgress, TrustedDeviceItem};
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Events shown on the account page.
pub(super) const RECENT_ACTIVITY: u32 = 10;

pub(super) async fn code_delivery(
    service: &LatchkeyService,
    ctx: &RequestContext,
    email: Option<&str>,
    purpose: CodeScope,
) -> FlowResult<CodeDelivery> {
    let now = service.clock.now();
    let mut conn = service.store.reader().await?;
    // Who the code is for, where it goes, and whether its progress may be told.
    let (account, destination, proven) = match email {
        Some(email) => {
            let email = parse_email(email)?;
            match Store::account_by_email(&mut conn, &email).await? {
                Some(account) => {
                    let phone = account.phone.e164().to_owned();
                    (Some(account), phone, false)
                }
                // The decoy row an unknown email's request leaves counts here, as a real
                // account's message does.
                None => (None, service.decoy_destination(&email), false),
            }
        }
        None => {
            let account = service
                .code_step_account(&mut conn, ctx, purpose, now)
                .await?;
            let destination = match (purpose, &account.pending_phone) {
                (CodeScope::PhoneChange, Some(new_phone)) => new_phone.e164().to_owned(),
                _ => account.phone.e164().to_owned(),
            };
            (Some(account), destination, true)
        }
    };
    let state = match &account {
        Some(account) => {
            service
                .store
                .latest_delivery(account.id, purpose.as_str())
                .await?
        }
        None => None,
    };
    let recent = Store::recent_sends(
        &mut conn,
        account.as_ref().map_or(0, |account| account.id),
        &destination,
        ctx.client_network,
        SendPriority::Normal.allowance(),
        now - WINDOW,
    )
    .await?;
    // What others asked for is not told (see `issue`): only this client's own wait.
    let decision = service
        .send_limits
        .decide_for_stranger(recent, SendPriority::Normal, now)
        .unwrap_or(SendDecision::Allow);
    let retry_after_secs = match decision {
        SendDecision::Allow => 0,
        SendDecision::Refuse { retry_after, .. } => {
            u64::try_from(retry_after.whole_seconds().max(1)).unwrap_or(1)
        }
    };
    let (progress, failed, unreachable, by_call) = match state {
        Some(DeliveryState::Failed { failure, channel }) => (
            DeliveryProgress::Failed,
            true,
            failure == Failure::Unreachable,
            channel == DeliveryChannel::Voice,
        ),
        Some(DeliveryState::Sent) if proven => (DeliveryProgress::Sent, false, false, false),
        Some(DeliveryState::Delivered) if proven => {
            (DeliveryProgress::Delivered, false, false, false)
        }
        Some(DeliveryState::Underway) if proven => (DeliveryProgress::Sending, false, false, false),
        _ => (DeliveryProgress::Unknown, false, false, false),
    };
    Ok(CodeDelivery {
        progress,
        retry_after_secs,
        failed,
        unreachable,
        by_call,
        voice_available: service.voice_available,
    })
}

pub(super) async fn set_delivery_channel(
    service: &LatchkeyService,
    ctx: &RequestContext,
    channel: &str,
) -> FlowResult<()> {
    let channel = service.requested_channel(Some(channel))?.ok_or_else(|| {
        AppError::field(
            Field::Delivery,
            "Choose how to get codes: a text message or a phone call.",
        )
    })?;
    let account = service.signed_in_account(ctx).await?;
    let mut step = service.step(ctx).await?;
    Store::set_delivery_channel(&mut step.tx, account.id, channel).await?;
    step.audit(
        AuditKind::DeliveryChanged,
        Some(account.id),
        Some(channel.as_str()),
    )
    .await?;
    step.commit().await?;
    tracing::info!(
        account_id = account.id,
        channel = channel.as_str(),
        "delivery preference changed"
    );
    Ok(())
}

pub(super) async fn current_account(
    service: &LatchkeyService,
    ctx: &RequestContext,
) -> FlowResult<AccountView> {
    let account = service.signed_in_account(ctx).await?;
    let recent_activity = service
        .store
        .recent_events(account.id, RECENT_ACTIVITY)
        .await?
        .into_iter()
        .map(|event| ActivityItem {
            at: format_time(event.at),
            description: event.kind.describe().to_owned(),
            client_ip: event.client_ip,
        })
        .collect();
    let this_browser = ctx.device_token.as_deref().map(hash_token);
    let now = service.clock.now();
    let trusted_devices = service
        .store
        .trusted_devices_of(account.id)
        .await?
        .into_iter()
        .filter(|device| service.devices.is_trusted(device.last_used_at, now))
        .map(|device| TrustedDeviceItem {
            id: device.id,
            browser: describe_browser(device.user_agent.as_deref()),
            last_used_at: format_time(device.last_used_at),
            this_browser: this_browser == Some(device.token_hash),
        })
        .collect();
    let delivery_channel = service.preferred_channel(&account);
    Ok(AccountView {
        email: account.email,
        first_name: account.first_name,
        last_name: account.last_name,
        masked_phone: account.phone.masked(),
        delivery_channel,
        voice_available: service.voice_available,
        last_login_at: account.last_login_at.map(format_time),
        previous_login_at: account.previous_login_at.map(format_time),
        recent_activity,
        phone_verified: account.phone_verified_at.is_some(),
        sign_in_code: service.sign_in_code.applies(account.sign_in_code),
        sign_in_code_required: !service.sign_in_code.account_may_choose(),
        is_admin: account.role == Role::Admin,
        trusted_devices,
    })
}

pub(super) async fn forget_device(
    service: &LatchkeyService,
    ctx: &RequestContext,
    device_id: i64,
) -> FlowResult<()> {
    let account = service.signed_in_account(ctx).await?;
    let mut step = service.step(ctx).await?;
    // A device that is already gone is not trusted either: nothing to refuse.
    let forgotten = Store::delete_trusted_device(&mut step.tx, account.id, device_id).await?;
    if forgotten {
        step.audit(AuditKind::DeviceForgotten, Some(account.id), None)
            .await?;
    }
    step.commit().await?;
    Ok(())
}

impl LatchkeyService {
    /// The account a code step of `purpose` in `ctx` is for, read without the write lock: the
    /// pending sign-in's (a signup's phone verification, a sign-in code), else the session's.
    pub(super) async fn code_step_account(
        &self,
        conn: &mut AnyConnection,
        ctx: &RequestContext,
        purpose: CodeScope,
        now: OffsetDateTime,
    ) -> FlowResult<AccountRecord> {
        if matches!(purpose, CodeScope::PhoneVerification | CodeScope::SignIn) {
            if let Some(account) = self.pending_account(conn, ctx, purpose, now).await? {
                return Ok(account);
            }
            if purpose == CodeScope::SignIn {
                return Err(AppError::NoPendingSignIn.into());
            }
        }
        self.signed_in_account(ctx).await
    }

    /// The account of the session in `ctx`, after checking (and refreshing) the session.
    pub(super) async fn signed_in_account(
        &self,
        ctx: &RequestContext,
    ) -> FlowResult<AccountRecord> {
        Ok(self.signed_in(ctx).await?.0)
    }

    /// The session in `ctx` (checked and refreshed), its account, and its token's hash.
    pub(super) async fn signed_in(
        &self,
        ctx: &RequestContext,
    ) -> FlowResult<(AccountRecord, SessionRecord, TokenHash)> {
        let Some(token) = &ctx.session_token else {
            return Err(AppError::NotSignedIn.into());
        };
        let hash = hash_token(token);
        let Some(session) = self.store.session(hash).await? else {
            return Err(AppError::NotSignedIn.into());
        };
        let now = self.clock.now();
        match self
            .sessions
            .check(session.created_at, session.last_seen_at, now)
        {
            SessionCheck::Expired => {
                self.store.delete_session(hash).await?;
                return Err(AppError::NotSignedIn.into());
            }
            SessionCheck::Valid { touch: true } => {
                self.store.touch_session(hash, now).await?;
            }
            SessionCheck::Valid { touch: false } => {}
        }
        let mut conn = self.store.reader().await?;
        let account = Store::account_by_id(&mut conn, session.account_id)
            .await?
            .ok_or(AppError::NotSignedIn)?;
        Ok((account, session, hash))
    }
}
