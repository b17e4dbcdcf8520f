//! Signing in and out: the password check, the lockout it feeds, trusted browsers, and sessions.

use super::codes::CodeRequest;
use super::{busy, parse_email, FlowResult, LatchkeyService, Step};
use crate::auth::audit::AuditKind;
use crate::auth::lockout::{FailureOutcome, LockoutPolicy};
use crate::auth::password_hasher::HashLane;
use crate::auth::send_limits::SendPriority;
use crate::auth::sessions::{hash_token, SessionToken};
use crate::auth::trusted_devices::DeviceFailure;
use crate::domain::{CodeScope, Email, Password};
use crate::store::{AccountRecord, Store, TrustedDevice, WriteScope, WriteTx};
use app::error::{AppError, Field};
use app::ssr::{LoginResult, OpenedSession, RequestContext};
use sqlx::AnyConnection;
use time::OffsetDateTime;

/// A short name for a browser from its user agent: "Firefox on Linux", or the first 60
/// characters of what it sent when no known name is in it.
pub(super) fn describe_browser(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.filter(|agent| !agent.trim().is_empty()) else {
        return "A browser that did not name itself".to_owned();
    };
    // The order matters: Edge and Opera also say Chrome, and Chrome also says Safari.
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => agent.chars().take(60).collect(),
    }
}

pub(super) enum WrongPassword {
    /// Counted; `remaining` more failures lock the account.
    Counted {
        remaining: u32,
    },
    /// This failure locked the account; `code_delayed_secs` when a send limit held back its
    /// unlock code.
    JustLocked {
        code_delayed_secs: Option<u64>,
    },
    AlreadyLocked,
}

pub(super) async fn log_in(
    service: &LatchkeyService,
    ctx: &RequestContext,
    email: &str,
    password: &str,
) -> FlowResult<LoginResult> {
    let email = parse_email(email)?;
    let password = Password::parse_attempt(password)
        .map_err(|error| AppError::field(Field::Password, error.to_string()))?;

    // One connection for both look-ups: the account, read before any lock (the password is
    // checked before the write), and the browser's trust, looked up alike for an unknown email
    // (no account has id 0), so that a device cookie costs both the same.
    let (account, device) = {
        let mut conn = service.store.reader().await?;
        let account = Store::account_by_email(&mut conn, &email).await?;
        let account_id = account.as_ref().map_or(0, |account| account.id);
        let device = service
            .trusted_device(&mut conn, ctx, account_id, service.clock.now())
            .await?;
        (account, device)
    };
    // Before any hashing, and alike for every email: a queue too long to wait in is refused.
    let lane = if device.is_some() {
        HashLane::Trusted
    } else {
        HashLane::Anyone
    };
    service
        .passwords
        .admit(lane)
        .map_err(|overloaded| busy(overloaded, service.clock.now()))?;
    let Some(account) = account else {
        return service.fail_unknown_login(ctx, &email, &password).await;
    };
    // A lock holds for strangers; a trusted browser goes on to the password.
    if account.lock.is_locked() && device.is_none() {
        // The password is not checked while locked and no new code is sent; the dummy
        // verification only makes this answer take as long as any other.
        service.passwords.verify_dummy(&password).await?;
        service
            .audit_alone(
                AuditKind::LoginFailed,
                Some(account.id),
                ctx,
                Some("while locked"),
            )
            .await?;
        return Ok(LoginResult::Locked {
            phone_ending: account.phone.ending(),
            code_delayed_secs: None,
        });
    }

    let matches = service
        .passwords
        .verify_in(lane, &password, &account.password_hash)
        .await?;
    // Most sign-ins touch this account alone. One that sends a code (a second step, or the
    // failure that locks) reaches the send limits, which span accounts: it runs with every write
    // kept out, from the start when that is foreseeable, else again when it gets there.
    let sends_code = if matches {
        account.phone_verified_at.is_none() || service.sign_in_code.applies(account.sign_in_code)
    } else {
        device.is_none()
            && service
                .lockout
                .after_failure(account.lock, service.clock.now())
                .1
                == FailureOutcome::JustLocked
    };
    let first = if sends_code {
        WriteScope::Everything
    } else {
        WriteScope::Account(account.id)
    };
    let device = device.as_ref();
    service
        .widening(first, |scope| {
            finish_log_in(service, ctx, &account, (matches, device), scope)
        })
        .await
}

/// The write of a sign-in whose password was checked (`matches`) against `account` as read
/// before: in a step of `scope`, the account is read again (`lock_again`) and the sign-in, its
/// second step or its failure recorded.
async fn finish_log_in(
    service: &LatchkeyService,
    ctx: &RequestContext,
    account: &AccountRecord,
    (matches, device): (bool, Option<&TrustedDevice>),
    scope: WriteScope,
) -> FlowResult<LoginResult> {
    let Some((tx, current, matches)) = service.lock_again(account, matches, scope).await? else {
        return Err(AppError::InvalidCredentials {
            attempts_left: None,
        }
        .into());
    };
    let now = service.clock.now();
    let mut step = Step { tx, ctx, now };
    if current.lock.is_locked() && device.is_none() {
        step.audit(
            AuditKind::LoginFailed,
            Some(current.id),
            Some("while locked"),
        )
        .await?;
        step.commit().await?;
        return Ok(LoginResult::Locked {
            phone_ending: current.phone.ending(),
            code_delayed_secs: None,
        });
    }
    if matches {
        if current.must_reset_password {
            step.audit(
                AuditKind::LoginFailed,
                Some(current.id),
                Some("password reset required"),
            )
            .await?;
            step.commit().await?;
            return Err(AppError::PasswordResetRequired.into());
        }
        let second_step = if current.phone_verified_at.is_none() {
            Some(CodeScope::PhoneVerification)
        } else if service.sign_in_code.applies(current.sign_in_code) {
            Some(CodeScope::SignIn)
        } else {
            None
        };
        if let Some(scope) = second_step {
            // The right password ends the run of failures; the code still has to follow. A
            // lock that strangers caused stays for strangers, even when a trusted browser
            // signs in past it.
            if !current.lock.is_locked() {
                Store::save_lock_state(&mut step.tx, current.id, LockoutPolicy::cleared()).await?;
            }
            let pending = service
                .start_pending_sign_in(
                    &mut step,
                    &current,
                    scope,
                    if device.is_some() {
                        SendPriority::Reserved
                    } else {
                        SendPriority::Normal
                    },
                )
                .await?;
            step.commit().await?;
            if pending.code_delayed_secs.is_none() {
                service.delivery.notify_one();
            }
            tracing::info!(
                account_id = current.id,
                scope = scope.as_str(),
                "password accepted; waiting for the code"
            );
            return Ok(match scope {
                CodeScope::PhoneVerification => LoginResult::VerifyPhone(pending),
                _ => LoginResult::CodeRequired(pending),
            });
        }
        step.record_login_and_audit(current.id, None).await?;
        let session = service.open_session(&mut step, current.id).await?;
        step.commit().await?;
        tracing::info!(account_id = current.id, "signed in");
        return Ok(LoginResult::SignedIn(session));
    }

    if let Some(device) = device {
        return Err(service
            .count_device_failure(step, &current, device)
            .await?
            .into());
    }
    match service.count_wrong_password(step, &current, None).await? {
        WrongPassword::Counted { remaining } => Err(AppError::InvalidCredentials {
            attempts_left: Some(remaining),
        }
        .into()),
        WrongPassword::JustLocked { code_delayed_secs } => Ok(LoginResult::Locked {
            phone_ending: current.phone.ending(),
            code_delayed_secs,
        }),
        WrongPassword::AlreadyLocked => Ok(LoginResult::Locked {
            phone_ending: current.phone.ending(),
            code_delayed_secs: None,
        }),
    }
}

pub(super) async fn log_out(service: &LatchkeyService, ctx: &RequestContext) -> FlowResult<String> {
    if let Some(token) = &ctx.session_token {
        let hash = hash_token(token);
        if let Some(session) = service.store.session(hash).await? {
            service.store.delete_session(hash).await?;
            service
                .audit_alone(
                    AuditKind::SessionRevoked,
                    Some(session.account_id),
                    ctx,
                    Some("signed out"),
                )
                .await?;
        }
    }
    Ok(service.sessions.clear_cookie())
}

impl LatchkeyService {
    /// Verifies `password` against `account` (before the write lock: hashing is slow), then opens
    /// the write transaction and reads the account again inside it (`lock_again`).
    pub(super) async fn verify_then_lock(
        &self,
        account: &AccountRecord,
        password: &Password,
    ) -> FlowResult<Option<(WriteTx, AccountRecord, bool)>> {
        let matches = self
            .passwords
            .verify_in(HashLane::Anyone, password, &account.password_hash)
            .await?;
        self.lock_again(account, matches, WriteScope::Everything)
            .await
    }

    /// Opens a write transaction of `scope` and reads `account` again inside it, since another
    /// request may have locked it or changed the password since `matches` was found by checking
    /// a password against it. Returns the transaction, the account as it is now, and whether the
    /// password matches the one it still has; `None` if it is gone.
    pub(super) async fn lock_again(
        &self,
        account: &AccountRecord,
        matches: bool,
        scope: WriteScope,
    ) -> FlowResult<Option<(WriteTx, AccountRecord, bool)>> {
        let (tx, current) = self
            .store
            .begin_write_for_account(scope, account.id)
            .await?;
        Ok(current.map(|current| {
            let still_matches = matches && current.password_hash == account.password_hash;
            (tx, current, still_matches)
        }))
    }

    /// Counts a wrong password against `account` (read inside `tx`) and commits: the failure is
    /// audited (with `detail`), and the failure that reaches the threshold locks the account and
    /// queues its unlock code, as for a sign-in.
    pub(super) async fn count_wrong_password(
        &self,
        mut step: Step<'_>,
        account: &AccountRecord,
        detail: Option<&str>,
    ) -> FlowResult<WrongPassword> {
        let (state, outcome) = self.lockout.after_failure(account.lock, step.now);
        step.save_lock_state_and_audit(account.id, state, AuditKind::LoginFailed, detail)
            .await?;
        match outcome {
            FailureOutcome::Counted { remaining } => {
                step.commit().await?;
                tracing::info!(account_id = account.id, remaining, "wrong password counted");
                Ok(WrongPassword::Counted { remaining })
            }
            FailureOutcome::JustLocked => {
                step.audit(AuditKind::AccountLocked, Some(account.id), None)
                    .await?;
                let channel = self.preferred_channel(account);
                let request = CodeRequest::to_account(account, CodeScope::Unlock, channel)
                    .with_priority(SendPriority::Lock);
                let sent = self.issue(&mut step, request).await?;
                step.commit().await?;
                if sent.is_ok() {
                    self.delivery.notify_one();
                    tracing::warn!(
                        account_id = account.id,
                        "account locked after wrong passwords; unlock code queued"
                    );
                } else {
                    // The lock stands; the unlock page says when a code can be asked for.
                    tracing::warn!(
                        account_id = account.id,
                        "account locked after wrong passwords; unlock code held back"
                    );
                }
                Ok(WrongPassword::JustLocked {
                    code_delayed_secs: sent.err().and_then(|error| error.retry_after_secs()),
                })
            }
            FailureOutcome::AlreadyLocked => {
                step.commit().await?;
                Ok(WrongPassword::AlreadyLocked)
            }
        }
    }

    pub(super) async fn open_session(
        &self,
        step: &mut Step<'_>,
        account_id: i64,
    ) -> FlowResult<OpenedSession> {
        let token = SessionToken::generate();
        Store::insert_session(
            &mut step.tx,
            token.hash(),
            account_id,
            step.now,
            step.ctx.client_ip,
            step.ctx.user_agent.as_deref(),
        )
        .await?;
        // The browser completed a sign-in: it is trusted from step.now on, under a new device token.
        let device_token = SessionToken::generate();
        let known = match step.ctx.device_token.as_deref() {
            Some(raw) => Store::trusted_device(&mut step.tx, hash_token(raw), account_id).await?,
            None => None,
        };
        match known {
            Some(device) => {
                Store::rotate_trusted_device(
                    &mut step.tx,
                    device.id,
                    device_token.hash(),
                    step.ctx.user_agent.as_deref(),
                    step.ctx.client_network,
                    step.now,
                )
                .await?
            }
            None => {
                Store::insert_trusted_device(
                    &mut step.tx,
                    account_id,
                    device_token.hash(),
                    step.ctx.user_agent.as_deref(),
                    step.ctx.client_network,
                    step.now,
                )
                .await?
            }
        }
        Ok(OpenedSession {
            cookies: vec![
                self.sessions.set_cookie(&token),
                self.devices.set_cookie(&device_token),
            ],
        })
    }

    /// The browser's device, if its cookie names one the account still trusts.
    pub(super) async fn trusted_device(
        &self,
        conn: &mut AnyConnection,
        ctx: &RequestContext,
        account_id: i64,
        now: OffsetDateTime,
    ) -> FlowResult<Option<TrustedDevice>> {
        let Some(raw) = ctx.device_token.as_deref() else {
            return Ok(None);
        };
        let device = Store::trusted_device(conn, hash_token(raw), account_id).await?;
        Ok(device.filter(|device| self.devices.is_trusted(device.last_used_at, now)))
    }

    /// Counts a wrong password from a trusted browser against that browser alone, and commits;
    /// at the lockout threshold the browser's trust ends. The account's lock is not touched.
    pub(super) async fn count_device_failure(
        &self,
        mut step: Step<'_>,
        account: &AccountRecord,
        device: &TrustedDevice,
    ) -> FlowResult<AppError> {
        step.audit(
            AuditKind::LoginFailed,
            Some(account.id),
            Some("from a trusted browser"),
        )
        .await?;
        match self.devices.after_failure(device.failures, step.now) {
            DeviceFailure::Counted { failures } => {
                Store::set_device_failures(&mut step.tx, device.id, failures).await?;
            }
            DeviceFailure::TrustEnded => {
                Store::delete_trusted_device(&mut step.tx, account.id, device.id).await?;
                step.audit(AuditKind::DeviceTrustEnded, Some(account.id), None)
                    .await?;
                tracing::warn!(account_id = account.id, "a browser lost its trust");
            }
        }
        step.commit().await?;
        // The lock warning speaks of the account, which these failures do not touch.
        Ok(AppError::InvalidCredentials {
            attempts_left: None,
        })
    }

    /// A wrong password for an email with no account: the same work (argon2, one write) and the
    /// same answers as for a real account, "locked" with a decoy ending included.
    pub(super) async fn fail_unknown_login(
        &self,
        ctx: &RequestContext,
        email: &Email,
        password: &Password,
    ) -> FlowResult<LoginResult> {
        self.passwords.verify_dummy(password).await?;
        let key = self.email_key(email);
        let mut step = self.step(ctx).await?;
        let state = Store::unknown_login_state(&mut step.tx, &key).await?;
        let (state, outcome) = self.lockout.after_failure(state, step.now);
        Store::save_unknown_login_state(&mut step.tx, &key, state, step.now).await?;
        step.audit(AuditKind::LoginFailed, None, Some("unknown email"))
            .await?;
        // A real account queues its unlock code here: the send limits must see the same row.
        let decoy = if outcome == FailureOutcome::JustLocked {
            self.send_decoy(
                &mut step,
                None,
                &self.decoy_destination(email),
                SendPriority::Lock,
            )
            .await?
        } else {
            Ok(())
        };
        step.commit().await?;
        match outcome {
            FailureOutcome::Counted { remaining } => Err(AppError::InvalidCredentials {
                attempts_left: Some(remaining),
            }
            .into()),
            FailureOutcome::JustLocked | FailureOutcome::AlreadyLocked => Ok(LoginResult::Locked {
                phone_ending: self.decoy_ending(email),
                code_delayed_secs: decoy.err().and_then(|error| error.retry_after_secs()),
            }),
        }
    }
}
