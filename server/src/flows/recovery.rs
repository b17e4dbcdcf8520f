//! Recovery by code: unlocking a locked account, and resetting a forgotten password.

use super::codes::{CodeRequest, Notice};
use super::{parse_email, FieldErrors, FlowResult, LatchkeyService};
use crate::auth::audit::AuditKind;
use crate::auth::lockout::LockoutPolicy;
use crate::auth::send_limits::SendPriority;
use crate::domain::{CodeScope, Email, Password, VerificationCode};
use crate::store::Store;
use app::error::{AppError, Field};
use app::ssr::RequestContext;
use app::types::CodeSent;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// The binding a recovery code asked for in `ctx` gets, and that a code typed in `ctx` is looked
/// up by: the browser's own for unlock and reset codes, so that no other browser can spend or
/// replace them; none for every other purpose (their codes are already tied to a session or a
/// pending sign-in).
pub(super) fn recovery_binding(scope: CodeScope, ctx: &RequestContext) -> &str {
    match scope {
        CodeScope::Unlock | CodeScope::PasswordReset => {
            ctx.browser_binding.as_deref().unwrap_or("")
        }
        _ => "",
    }
}

pub(super) async fn unlock(
    service: &LatchkeyService,
    ctx: &RequestContext,
    email: &str,
    code: &str,
) -> FlowResult<()> {
    let email = parse_email(email)?;
    let code = service.parse_code(CodeScope::Unlock, code)?;
    // Only this account's writes are kept out: redeeming a code touches no other account.
    let (step, account) = service.step_for_email(ctx, &email).await?;
    let (mut step, account) = service
        .redeem_or_refuse(step, account, CodeScope::Unlock, &code)
        .await?;
    step.save_lock_state_and_audit(
        account.id,
        LockoutPolicy::cleared(),
        AuditKind::AccountUnlocked,
        None,
    )
    .await?;
    step.commit().await?;
    tracing::info!(account_id = account.id, "account unlocked with a code");
    Ok(())
}

pub(super) async fn resend_unlock_code(
    service: &LatchkeyService,
    ctx: &RequestContext,
    email: &str,
    channel: Option<&str>,
) -> FlowResult<CodeSent> {
    let email = parse_email(email)?;
    let requested = service.requested_channel(channel)?;
    let mut step = service.step(ctx).await?;
    let Some(account) = service.account_for(&mut step.tx, &email).await? else {
        return service.answer_unknown_email(step, &email).await;
    };
    let locked = account.lock.is_locked();
    let channel = requested.unwrap_or(service.preferred_channel(&account));
    let sent = if locked {
        // Bound to this browser: no other browser can spend it with a wrong guess, or replace
        // it by asking for another.
        let priority = service
            .recovery_priority(&mut step.tx, ctx, account.id, step.now)
            .await?;
        let request = CodeRequest::to_account(&account, CodeScope::Unlock, channel)
            .bound_to(recovery_binding(CodeScope::Unlock, ctx))
            .with_priority(priority);
        service.issue(&mut step, request).await?
    } else {
        // Nothing to unlock: answer as if a code went out, limits included.
        service
            .send_decoy(
                &mut step,
                Some(account.id),
                account.phone.e164(),
                SendPriority::Normal,
            )
            .await?
    };
    step.commit().await?;
    sent?;
    if locked {
        service.delivery.notify_one();
        tracing::info!(account_id = account.id, "new unlock code queued");
    }
    Ok(CodeSent {
        phone_ending: account.phone.ending(),
    })
}

pub(super) async fn request_password_reset(
    service: &LatchkeyService,
    ctx: &RequestContext,
    email: &str,
    channel: Option<&str>,
) -> FlowResult<CodeSent> {
    let email = parse_email(email)?;
    let requested = service.requested_channel(channel)?;
    let mut step = service.step(ctx).await?;
    let Some(account) = service.account_for(&mut step.tx, &email).await? else {
        return service.answer_unknown_email(step, &email).await;
    };
    let channel = requested.unwrap_or(service.preferred_channel(&account));
    step.audit(AuditKind::ResetRequested, Some(account.id), None)
        .await?;
    let priority = service
        .recovery_priority(&mut step.tx, ctx, account.id, step.now)
        .await?;
    let request = CodeRequest::to_account(&account, CodeScope::PasswordReset, channel)
        .bound_to(recovery_binding(CodeScope::PasswordReset, ctx))
        .with_priority(priority);
    service.send_code_now(step, request).await
}

pub(super) async fn reset_password(
    service: &LatchkeyService,
    ctx: &RequestContext,
    email: &str,
    code: &str,
    new_password: &str,
    new_password_confirm: &str,
) -> FlowResult<()> {
    let mut errors = FieldErrors::default();
    let email = errors.check(Field::Email, Email::parse(email));
    let code = errors.check(
        Field::Code,
        VerificationCode::parse(
            code,
            service.code_policies.get(CodeScope::PasswordReset).length,
        ),
    );
    let password = errors.check(Field::Password, Password::parse_new(new_password));
    if let Some(password) = &password {
        errors.check(
            Field::PasswordConfirm,
            password.confirm(new_password_confirm),
        );
    }
    errors.into_result()?;
    let (Some(email), Some(code), Some(password)) = (email, code, password) else {
        return Err(AppError::Internal.into());
    };

    // Hash before taking the write lock; the hash is thrown away if the code is refused.
    let password_hash = service.passwords.hash(&password).await?;
    let (step, account) = service.step_for_email(ctx, &email).await?;
    let (mut step, account) = service
        .redeem_or_refuse(step, account, CodeScope::PasswordReset, &code)
        .await?;
    // Only step.now, with a right code, is the password compared with the email and the name: before,
    // the answer would tell anyone who knows the email what the account holder is called.
    // Refused here, the transaction is dropped, so the code is not spent.
    if let Err(error) =
        password.check_personal(&account.email, &[&account.first_name, &account.last_name])
    {
        drop(step);
        return Err(AppError::field(Field::Password, error.to_string()).into());
    }
    Store::set_password_hash(&mut step.tx, account.id, &password_hash, step.now).await?;
    Store::set_must_reset_password(&mut step.tx, account.id, false).await?;
    Store::delete_pending_sign_ins_of(&mut step.tx, account.id).await?;
    Store::save_lock_state(&mut step.tx, account.id, LockoutPolicy::cleared()).await?;
    Store::delete_code(&mut step.tx, account.id, CodeScope::Unlock).await?;
    let revoked = Store::delete_sessions_of(&mut step.tx, account.id).await?;
    // Every browser the old password let in is a stranger step.now.
    Store::delete_trusted_devices_of(&mut step.tx, account.id).await?;
    step.audit(AuditKind::PasswordReset, Some(account.id), None)
        .await?;
    if revoked > 0 {
        let detail = format!("{revoked} session(s) ended by the password reset");
        step.audit(AuditKind::SessionRevoked, Some(account.id), Some(&detail))
            .await?;
    }
    let notified = service
        .queue_notice(&mut step, &account, Notice::PasswordChanged)
        .await?;
    step.commit().await?;
    if notified {
        service.delivery.notify_one();
    }
    tracing::info!(
        account_id = account.id,
        revoked_sessions = revoked,
        "password reset"
    );
    Ok(())
}

impl LatchkeyService {
    /// How a recovery code asked for anonymously is sent: `Reserved` from a network where one of
    /// the account's trusted browsers signed in (the owner at home, on a new browser), so that
    /// others' requests cannot use up what the owner needs; `Normal` otherwise.
    pub(super) async fn recovery_priority(
        &self,
        conn: &mut AnyConnection,
        ctx: &RequestContext,
        account_id: i64,
        now: OffsetDateTime,
    ) -> FlowResult<SendPriority> {
        let Some(network) = ctx.client_network else {
            return Ok(SendPriority::Normal);
        };
        let familiar =
            Store::is_familiar_network(conn, account_id, network, now - self.devices.lifetime)
                .await?;
        Ok(if familiar {
            SendPriority::Reserved
        } else {
            SendPriority::Normal
        })
    }
}
