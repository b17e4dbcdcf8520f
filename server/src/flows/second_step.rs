//! The flows where a code follows a password or a session: phone verification (finishing a
//! signup, or re-verifying a signed-in account's phone), the code at every sign-in, the choice of
//! that code, and changing the phone number.

use super::codes::{CodeRequest, Notice};
use super::sign_in::WrongPassword;
use super::{FlowError, FlowResult, LatchkeyService, Step};
use crate::auth::audit::AuditKind;
use crate::auth::second_factor::PendingSignIn;
use crate::auth::send_limits::SendPriority;
use crate::auth::sessions::{hash_token, SessionToken};
use crate::domain::{CodeScope, Password, PhoneNumber};
use crate::sms::DeliveryChannel;
use crate::store::{AccountRecord, Store, WriteScope};
use app::error::{AppError, Field};
use app::ssr::{OpenedSession, PendingStep, PhoneVerified, RequestContext};
use app::types::CodeSent;
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// Why a locked account's phone cannot be changed.
const LOCKED: &str = "Your account is locked after wrong passwords. Unlock it with the code we \
                      sent to your phone, then try again.";

pub(super) async fn verify_phone(
    service: &LatchkeyService,
    ctx: &RequestContext,
    code: &str,
) -> FlowResult<PhoneVerified> {
    let code = service.parse_code(CodeScope::PhoneVerification, code)?;
    let (step, account, signing_in) = service.verification_account(ctx, true).await?;
    let (mut step, account) = service
        .redeem_or_refuse(step, Some(account), CodeScope::PhoneVerification, &code)
        .await?;
    Store::mark_phone_verified(&mut step.tx, account.id, step.now).await?;
    step.audit(AuditKind::PhoneVerified, Some(account.id), None)
        .await?;
    let outcome = if signing_in {
        let session = service
            .complete_sign_in(&mut step, &account, "phone verified")
            .await?;
        PhoneVerified::SignedIn(session)
    } else {
        PhoneVerified::Reverified
    };
    step.commit().await?;
    tracing::info!(account_id = account.id, "phone verified");
    Ok(outcome)
}

pub(super) async fn send_phone_verification(
    service: &LatchkeyService,
    ctx: &RequestContext,
    channel: Option<&str>,
) -> FlowResult<CodeSent> {
    let requested = service.requested_channel(channel)?;
    let (step, account, _) = service.verification_account(ctx, false).await?;
    let channel = requested.unwrap_or(service.preferred_channel(&account));
    let request = CodeRequest::to_account(&account, CodeScope::PhoneVerification, channel);
    service.send_code_now(step, request).await
}

pub(super) async fn finish_sign_in(
    service: &LatchkeyService,
    ctx: &RequestContext,
    code: &str,
) -> FlowResult<OpenedSession> {
    let code = service.parse_code(CodeScope::SignIn, code)?;
    // Whose sign-in it is, read first without a lock, so that the step keeps out only that
    // account's writes; then read again inside it.
    let pending = {
        let mut conn = service.store.reader().await?;
        let now = service.clock.now();
        service
            .pending_account(&mut conn, ctx, CodeScope::SignIn, now)
            .await?
            .ok_or(AppError::NoPendingSignIn)?
    };
    let mut step = service
        .step_in(ctx, WriteScope::Account(pending.id))
        .await?;
    let account = service
        .pending_account(&mut step.tx, ctx, CodeScope::SignIn, step.now)
        .await?
        .filter(|account| account.id == pending.id)
        .ok_or(AppError::NoPendingSignIn)?;
    let (mut step, account) = service
        .redeem_or_refuse(step, Some(account), CodeScope::SignIn, &code)
        .await?;
    let session = service
        .complete_sign_in(&mut step, &account, "with a sign-in code")
        .await?;
    step.commit().await?;
    tracing::info!(account_id = account.id, "signed in with a code");
    Ok(session)
}

pub(super) async fn resend_sign_in_code(
    service: &LatchkeyService,
    ctx: &RequestContext,
    channel: Option<&str>,
) -> FlowResult<CodeSent> {
    let requested = service.requested_channel(channel)?;
    let mut step = service.step(ctx).await?;
    let account = service
        .pending_account(&mut step.tx, ctx, CodeScope::SignIn, step.now)
        .await?
        .ok_or(AppError::NoPendingSignIn)?;
    let channel = requested.unwrap_or(service.preferred_channel(&account));
    let request = CodeRequest::to_account(&account, CodeScope::SignIn, channel);
    service.send_code_now(step, request).await
}

pub(super) async fn set_sign_in_code(
    service: &LatchkeyService,
    ctx: &RequestContext,
    enabled: bool,
) -> FlowResult<()> {
    let account = service.signed_in_account(ctx).await?;
    if !enabled && !service.sign_in_code.account_may_choose() {
        return Err(AppError::field(
            Field::Code,
            "This service asks everyone for a code at every sign-in; it cannot be turned off.",
        )
        .into());
    }
    let mut step = service.step(ctx).await?;
    Store::set_sign_in_code(&mut step.tx, account.id, enabled).await?;
    let detail = if enabled { "on" } else { "off" };
    step.audit(AuditKind::SignInCodeChanged, Some(account.id), Some(detail))
        .await?;
    step.commit().await?;
    tracing::info!(
        account_id = account.id,
        enabled,
        "sign-in code setting saved"
    );
    Ok(())
}

pub(super) async fn start_phone_change(
    service: &LatchkeyService,
    ctx: &RequestContext,
    current_password: &str,
    new_phone: &str,
) -> FlowResult<CodeSent> {
    let account = service.signed_in_account(ctx).await?;
    let phone = PhoneNumber::parse(new_phone, service.phone_region)
        .map_err(|error| AppError::field(Field::Phone, error.to_string()))?;
    service
        .destinations
        .check(&phone)
        .map_err(|error| AppError::field(Field::Phone, error.to_string()))?;
    if phone == account.phone {
        return Err(
            AppError::field(Field::Phone, "This is already the number on your account.").into(),
        );
    }
    let password = Password::parse_attempt(current_password)
        .map_err(|error| AppError::field(Field::Password, error.to_string()))?;
    if account.lock.is_locked() {
        // As at sign-in, a locked account's password is not checked.
        return Err(AppError::field(Field::Password, LOCKED).into());
    }
    let Some((tx, account, matches)) = service.verify_then_lock(&account, &password).await? else {
        return Err(AppError::NotSignedIn.into());
    };
    let now = service.clock.now();
    let mut step = Step { tx, ctx, now };
    if account.lock.is_locked() {
        return Err(AppError::field(Field::Password, LOCKED).into());
    }
    if !matches {
        // A wrong password counts toward the lock, as at sign-in: a stolen session is no way
        // to guess the password.
        let counted = service
            .count_wrong_password(
                step,
                &account,
                Some("wrong current password for a phone change"),
            )
            .await?;
        let message = match counted {
            WrongPassword::Counted { .. } => "That is not your current password.",
            WrongPassword::JustLocked { .. } | WrongPassword::AlreadyLocked => LOCKED,
        };
        return Err(AppError::field(Field::Password, message).into());
    }
    Store::set_pending_phone(&mut step.tx, account.id, Some(&phone)).await?;
    step.audit(
        AuditKind::PhoneChangeRequested,
        Some(account.id),
        Some(&format!(
            "to a number ending in {}",
            phone.ending().as_str()
        )),
    )
    .await?;
    let request = CodeRequest {
        account: &account,
        to: &phone,
        scope: CodeScope::PhoneChange,
        channel: DeliveryChannel::Sms,
        binding: "",
        priority: SendPriority::Normal,
        anonymous: false,
    };
    service.send_code_now(step, request).await
}

pub(super) async fn confirm_phone_change(
    service: &LatchkeyService,
    ctx: &RequestContext,
    code: &str,
) -> FlowResult<()> {
    let code = service.parse_code(CodeScope::PhoneChange, code)?;
    let account = service.signed_in_account(ctx).await?;
    let mut step = service
        .step_in(ctx, WriteScope::Account(account.id))
        .await?;
    // Re-read inside the write lock: the pending number is the one the live code went to.
    let Some(account) = Store::account_by_id(&mut step.tx, account.id).await? else {
        return Err(AppError::NotSignedIn.into());
    };
    let Some(new_phone) = account.pending_phone.clone() else {
        return Err(AppError::InvalidCode.into());
    };
    let (mut step, account) = service
        .redeem_or_refuse(step, Some(account), CodeScope::PhoneChange, &code)
        .await?;
    Store::confirm_pending_phone(&mut step.tx, account.id, &new_phone, step.now).await?;
    // Codes sent to the old number must not work any more.
    for scope in CodeScope::ALL.iter().copied() {
        Store::delete_code(&mut step.tx, account.id, scope).await?;
    }
    let detail = format!(
        "number ending in {} replaced by one ending in {}",
        account.phone.ending().as_str(),
        new_phone.ending().as_str()
    );
    step.audit(AuditKind::PhoneChanged, Some(account.id), Some(&detail))
        .await?;
    // The notice goes to the old number: its owner learns of a change they did not make.
    let notified = service
        .queue_notice(
            &mut step,
            &account,
            Notice::PhoneChanged {
                new_ending: new_phone.ending(),
            },
        )
        .await?;
    step.commit().await?;
    if notified {
        service.delivery.notify_one();
    }
    tracing::info!(account_id = account.id, "phone number changed");
    Ok(())
}

impl LatchkeyService {
    /// Sends the code of `scope` and starts a pending sign-in that waits for it; the browser gets
    /// the pending cookie. A send limit that holds back the code leaves the pending sign-in in
    /// place (a new code can be asked for after the wait).
    /// `priority`: `Reserved` for a browser the account trusts (its code may use the reserve).
    pub(super) async fn start_pending_sign_in(
        &self,
        step: &mut Step<'_>,
        account: &AccountRecord,
        scope: CodeScope,
        priority: SendPriority,
    ) -> FlowResult<PendingStep> {
        let request = CodeRequest::to_account(account, scope, self.preferred_channel(account))
            .with_priority(priority);
        let sent = self.issue(step, request).await?;
        let code_delayed_secs = match sent {
            Ok(()) => None,
            Err(AppError::TooManyCodes { retry_after_secs }) => Some(retry_after_secs),
            Err(other) => return Err(other.into()),
        };
        let lifetime = self.code_policies.get(scope).lifetime;
        let token = SessionToken::generate();
        let pending = PendingSignIn {
            account_id: account.id,
            scope,
            expires_at: step.now + lifetime,
        };
        Store::insert_pending_sign_in(&mut step.tx, token.hash(), pending, step.now).await?;
        Ok(PendingStep {
            cookie: self.sessions.set_pending_cookie(&token, lifetime),
            phone_ending: account.phone.ending(),
            code_delayed_secs,
        })
    }

    /// The live pending sign-in of `scope` in `ctx`, and its account, read through `tx` (the write
    /// transaction, or a reader).
    pub(super) async fn pending_account(
        &self,
        tx: &mut AnyConnection,
        ctx: &RequestContext,
        scope: CodeScope,
        now: OffsetDateTime,
    ) -> FlowResult<Option<AccountRecord>> {
        let Some(token) = &ctx.pending_token else {
            return Ok(None);
        };
        let pending = Store::pending_sign_in(tx, hash_token(token)).await?;
        let Some(pending) = pending.filter(|p| p.scope == scope && p.is_live(now)) else {
            return Ok(None);
        };
        Store::account_by_id(tx, pending.account_id)
            .await
            .map_err(FlowError::from)
    }

    /// Finishes a pending sign-in whose code was right: the session opens, the pending cookie goes.
    async fn complete_sign_in(
        &self,
        step: &mut Step<'_>,
        account: &AccountRecord,
        how: &str,
    ) -> FlowResult<OpenedSession> {
        Store::delete_pending_sign_ins_of(&mut step.tx, account.id).await?;
        step.record_login_and_audit(account.id, Some(how)).await?;
        let mut session = self.open_session(step, account.id).await?;
        session.cookies.push(self.sessions.clear_pending_cookie());
        Ok(session)
    }

    /// Whose phone a verification code is for: the pending signup in this browser first (the
    /// browser may be signed in as someone else), else the signed-in account. Also whether the
    /// code finishes a sign-in, and the write transaction to carry on in: one that keeps out only
    /// that account's writes when `one_account` (checking a code), else every other write
    /// (sending one, which the send limits count).
    async fn verification_account<'a>(
        &self,
        ctx: &'a RequestContext,
        one_account: bool,
    ) -> FlowResult<(Step<'a>, AccountRecord, bool)> {
        let scope_of = |account: &AccountRecord| {
            if one_account {
                WriteScope::Account(account.id)
            } else {
                WriteScope::Everything
            }
        };
        let pending = {
            let mut conn = self.store.reader().await?;
            let now = self.clock.now();
            self.pending_account(&mut conn, ctx, CodeScope::PhoneVerification, now)
                .await?
        };
        if let Some(pending) = pending {
            // Read again inside the step: the signup may have ended meanwhile.
            let mut step = self.step_in(ctx, scope_of(&pending)).await?;
            if let Some(account) = self
                .pending_account(&mut step.tx, ctx, CodeScope::PhoneVerification, step.now)
                .await?
                .filter(|account| account.id == pending.id)
            {
                return Ok((step, account, true));
            }
        }
        // Checking the session may refresh it, a write of its own: not inside a transaction.
        let account = self
            .signed_in_account(ctx)
            .await
            .map_err(|error| match error {
                FlowError::Refused(AppError::NotSignedIn) => AppError::NoPendingSignIn.into(),
                other => other,
            })?;
        Ok((self.step_in(ctx, scope_of(&account)).await?, account, false))
    }
}
