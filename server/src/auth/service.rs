//! `LatchkeyService`: the account flows behind the server functions. It parses input into domain
//! types, asks the pure rules (`lockout`, `codes`, `sessions`) what to do, and applies each
//! transition, with any message it sends, in one write transaction.
//!
//! Unknown emails are answered exactly like real ones: the same error for a wrong password (after
//! the same argon2 work), and a decoy phone ending, derived from the email with the server secret,
//! wherever a real ending would be shown.

mod admin;
mod second_step;

use super::audit::AuditKind;
use super::codes::{ActiveCode, CodeHasher, CodePolicy, CodeVerdict, ScopePolicies};
use super::lockout::{FailureOutcome, LockoutPolicy};
use super::password_hasher::{HashLane, Overloaded, PasswordHasher};
use super::second_factor::{ElevationPolicy, SignInCodePolicy};
use super::secret::ServerSecret;
use super::send_limits::{LimitKind, SendDecision, SendLimits, SendPriority, WINDOW};
use super::sessions::{hash_token, SessionCheck, SessionPolicy, SessionToken, TokenHash};
use super::trusted_devices::{DeviceFailure, DevicePolicy};
use crate::clock::Clock;
use crate::domain::{
    CodeScope, Email, Password, PersonName, PhoneNumber, PhoneRegion, VerificationCode,
};
use crate::sms::destinations::DestinationPolicy;
use crate::sms::templates::MessageTemplates;
use crate::sms::DeliveryChannel;
use crate::store::{
    AccountRecord, DeliveryState, Failure, NewAccount, NewAuditEvent, NewMessage, Role,
    SessionRecord, Store, TrustedDevice, WriteTx,
};
use app::error::{AppError, Field, FieldError};
use app::ssr::{
    AccountService, LoginResult, OpenedSession, PendingStep, PhoneVerified, RequestContext,
    SignupForm,
};
use app::types::{
    AccountSummary, AccountView, ActivityItem, AdminAccess, AdminAccountView, AdminAction,
    CodeDelivery, CodeSent, DeliveryProgress, FieldCheck, PhoneEnding, TrustedDeviceItem,
};
use async_trait::async_trait;
use sqlx::AnyConnection;
use std::fmt::Display;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Everything the service needs; built once at startup.
pub struct LatchkeyService {
    pub store: Store,
    pub passwords: PasswordHasher,
    pub code_hasher: CodeHasher,
    /// Each code scope's length, lifetime and tries.
    pub code_policies: ScopePolicies,
    /// `SIGN_IN_CODE`: whether sign-ins ask for a code.
    pub sign_in_code: SignInCodePolicy,
    /// How long an admin step-up opens the admin area.
    pub elevation: ElevationPolicy,
    pub lockout: LockoutPolicy,
    /// What a trusted browser may do (see `trusted_devices`).
    pub devices: DevicePolicy,
    pub sessions: SessionPolicy,
    pub send_limits: SendLimits,
    pub destinations: DestinationPolicy,
    pub templates: MessageTemplates,
    pub secret: ServerSecret,
    pub phone_region: PhoneRegion,
    pub clock: Arc<dyn Clock>,
    /// Wakes the delivery worker after a message is queued.
    pub delivery: Arc<Notify>,
    /// Some configured provider places calls, so codes can go by voice.
    pub voice_available: bool,
    /// `SMS_VOICE_FALLBACK`: each text message carries the spoken form of its code, for a call if
    /// the text fails for good.
    pub voice_fallback: bool,
}

/// A sign-in refused before hashing because the queue is too long. Logged at most once a
/// second, with how many were refused since the last line: a flood must not flood the log too.
fn busy(overloaded: Overloaded, now: OffsetDateTime) -> AppError {
    use std::sync::atomic::{AtomicU64, Ordering};
    static REFUSED: AtomicU64 = AtomicU64::new(0);
    static LAST_LINE_SECS: AtomicU64 = AtomicU64::new(0);
    let wait = overloaded.expected_wait;
    let refused = REFUSED.fetch_add(1, Ordering::Relaxed) + 1;
    let now_secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    if LAST_LINE_SECS.swap(now_secs, Ordering::Relaxed) != now_secs {
        REFUSED.fetch_sub(refused, Ordering::Relaxed);
        tracing::warn!(
            refused,
            expected_wait_ms = wait.as_millis(),
            "password hashing queue too long: sign-ins refused before hashing"
        );
    }
    AppError::Busy {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// Logs a failure once, here at the boundary, and hides its details from the client: the
/// database being unable to work now (see `store::is_unavailable`) is `503` with a wait, anything
/// else `500`.
fn internal(error: anyhow::Error) -> AppError {
    if crate::store::is_unavailable(&error) {
        tracing::warn!(
            error = format!("{error:#}"),
            "request failed: the database is unavailable"
        );
        return AppError::StorageUnavailable {
            retry_after_secs: STORAGE_RETRY_AFTER_SECS,
        };
    }
    tracing::error!(error = format!("{error:#}"), "request failed");
    AppError::Internal
}

/// The wait suggested when the database is unavailable: long enough not to add to the load of a
/// database coming back, short enough that a passing fault costs little.
const STORAGE_RETRY_AFTER_SECS: u64 = 5;

/// Gathers every field's problem so that a form is answered with all of them at once.
#[derive(Default)]
struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    fn check<T, E: Display>(&mut self, field: Field, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError::new(field, error.to_string()));
                None
            }
        }
    }

    fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::InvalidInput { fields: self.0 })
        }
    }
}

fn parse_email(input: &str) -> Result<Email, AppError> {
    Email::parse(input).map_err(|error| AppError::field(Field::Email, error.to_string()))
}

fn format_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

impl LatchkeyService {
    /// The ending shown for an email with no account: stable for that email, unguessable without
    /// the server secret.
    fn decoy_ending(&self, email: &Email) -> PhoneEnding {
        let hash = self
            .secret
            .keyed_hash("latchkey/decoy-phone/v1", &[email.normalized().as_bytes()]);
        let value = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]) % 10_000;
        PhoneEnding::of_number(&format!("{value:04}"))
    }

    fn parse_code(&self, scope: CodeScope, input: &str) -> Result<VerificationCode, AppError> {
        VerificationCode::parse(input, self.code_policies.get(scope).length)
            .map_err(|error| AppError::field(Field::Code, error.to_string()))
    }

    /// The account with this email, read inside the caller's transaction.
    async fn account_for(
        &self,
        tx: &mut WriteTx,
        email: &Email,
    ) -> Result<Option<AccountRecord>, AppError> {
        Store::account_by_email(tx, email).await.map_err(internal)
    }

    /// The account with `email`, read without the write lock (an email always names the same
    /// account, so it can be looked up before a transaction that then works on the account's id).
    async fn account_outside_tx(&self, email: &Email) -> Result<Option<AccountRecord>, AppError> {
        let mut conn = self.store.reader().await.map_err(internal)?;
        Store::account_by_email(&mut conn, email)
            .await
            .map_err(internal)
    }

    /// Records a security event with the request's client IP and user agent.
    async fn audit(
        &self,
        conn: &mut AnyConnection,
        kind: AuditKind,
        account_id: Option<i64>,
        ctx: &RequestContext,
        detail: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), AppError> {
        let event = NewAuditEvent {
            kind,
            account_id,
            detail,
            client_ip: ctx.client_ip,
            user_agent: ctx.user_agent.as_deref(),
            actor_id: None,
        };
        Store::record_event(conn, event, now)
            .await
            .map_err(internal)
    }

    /// Records a security event that happens outside any transaction.
    async fn audit_alone(
        &self,
        kind: AuditKind,
        account_id: Option<i64>,
        ctx: &RequestContext,
        detail: Option<&str>,
    ) -> Result<(), AppError> {
        let mut tx = self.begin().await?;
        self.audit(&mut tx, kind, account_id, ctx, detail, self.clock.now())
            .await?;
        self.commit(tx).await
    }

    /// A channel asked for in a request (`sms` or `voice`; empty: none), checked against what
    /// this server can do.
    fn requested_channel(&self, input: Option<&str>) -> Result<Option<DeliveryChannel>, AppError> {
        let Some(input) = input.map(str::trim).filter(|input| !input.is_empty()) else {
            return Ok(None);
        };
        let channel = DeliveryChannel::parse(input).ok_or_else(|| {
            AppError::field(
                Field::Delivery,
                "Choose how to get codes: a text message or a phone call.",
            )
        })?;
        if channel == DeliveryChannel::Voice && !self.voice_available {
            return Err(AppError::VoiceUnavailable);
        }
        Ok(Some(channel))
    }

    /// The account's preferred channel, or text messages if calls are not available (any more).
    fn preferred_channel(&self, account: &AccountRecord) -> DeliveryChannel {
        match account.delivery_channel {
            DeliveryChannel::Voice if self.voice_available => DeliveryChannel::Voice,
            _ => DeliveryChannel::Sms,
        }
    }

    async fn begin(&self) -> Result<WriteTx, AppError> {
        self.store.begin_write().await.map_err(internal)
    }

    /// Issues the requested code, replacing any earlier one of its scope, and queues its message;
    /// all inside the caller's transaction, after the send limits allow it. The caller wakes the
    /// worker after committing. `Ok(Err(..))` when a limit holds: nothing was issued or queued.
    async fn issue(
        &self,
        tx: &mut WriteTx,
        request: CodeRequest<'_>,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> anyhow::Result<Result<(), AppError>> {
        let CodeRequest {
            account,
            to,
            scope: purpose,
            channel,
            binding,
            priority,
            anonymous,
        } = request;
        if self.destinations.check(to).is_err() {
            self.audit(
                tx,
                AuditKind::LimitHit,
                Some(account.id),
                ctx,
                Some("destination refused"),
                now,
            )
            .await
            .map_err(|_| anyhow::anyhow!("could not record the refused destination"))?;
            return Ok(Err(AppError::UndeliverablePhone));
        }
        let check = self
            .check_send_limits(
                tx,
                Some(account.id),
                to.e164(),
                ctx,
                SendTerms {
                    priority,
                    anonymous,
                },
                now,
            )
            .await?;
        if let SendCheck::Refused(limit, _) | SendCheck::Quiet(limit) = &check {
            self.audit(
                tx,
                AuditKind::LimitHit,
                Some(account.id),
                ctx,
                Some(limit.as_str()),
                now,
            )
            .await
            .map_err(|_| anyhow::anyhow!("could not record the send limit"))?;
        }
        match check {
            SendCheck::Allowed => {}
            // An anonymous requester is not told that others have used up the account's hour:
            // that would tell them the account exists and is busy. Nothing is sent.
            SendCheck::Quiet(_) => return Ok(Ok(())),
            SendCheck::Refused(_, error) => return Ok(Err(error)),
        }
        let policy = self.code_policies.get(purpose);
        let issued = policy.issue(&self.code_hasher, account.id, purpose, now);
        Store::replace_code(tx, account.id, purpose, binding, &issued, now).await?;
        let spoken = self
            .templates
            .voice_message(purpose, &issued.code, policy.lifetime);
        let (body, fallback_body) = match channel {
            DeliveryChannel::Sms => (
                self.templates
                    .code_message(purpose, &issued.code, policy.lifetime),
                self.voice_fallback.then_some(spoken.as_str()),
            ),
            DeliveryChannel::Voice => (spoken.clone(), None),
        };
        Store::enqueue_message(
            tx,
            NewMessage {
                account_id: Some(account.id),
                to_phone: to.e164(),
                body: &body,
                purpose: purpose.as_str(),
                channel,
                fallback_body,
                client_ip: ctx.client_ip,
                client_network: ctx.client_network,
                allowance: priority.allowance(),
            },
            now,
        )
        .await?;
        self.audit(
            tx,
            AuditKind::CodeSent,
            Some(account.id),
            ctx,
            Some(purpose.as_str()),
            now,
        )
        .await
        .map_err(|_| anyhow::anyhow!("could not record the code sent"))?;
        Ok(Ok(()))
    }

    /// Redeems `code` for `account` (looked up by email, `None` if there is none): the account when
    /// the code is accepted (and consumed); `None` when there is no such account or the code is
    /// wrong, expired or spent, with the rejection recorded. All inside the caller's transaction.
    async fn redeem_code(
        &self,
        tx: &mut WriteTx,
        account: Option<AccountRecord>,
        purpose: CodeScope,
        code: &VerificationCode,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> Result<Result<AccountRecord, AppError>, AppError> {
        let check = match &account {
            Some(account) => self
                .consume_code(
                    tx,
                    account.id,
                    purpose,
                    recovery_binding(purpose, ctx),
                    code,
                    now,
                )
                .await
                .map_err(internal)?,
            None => CodeCheck::Wrong,
        };
        let account_id = account.as_ref().map(|account| account.id);
        let refusal = match (check, account) {
            (CodeCheck::Accepted, Some(account)) => return Ok(Ok(account)),
            (CodeCheck::Expired, _) => AppError::ExpiredCode,
            _ => AppError::InvalidCode,
        };
        self.audit(
            tx,
            AuditKind::CodeRejected,
            account_id,
            ctx,
            Some(purpose.as_str()),
            now,
        )
        .await?;
        tracing::info!(account_id, purpose = purpose.as_str(), "code rejected");
        Ok(Err(refusal))
    }

    /// Issues the requested code, commits, and wakes the worker: the answer to "send me a code".
    async fn send_code_now(
        &self,
        mut tx: WriteTx,
        request: CodeRequest<'_>,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> Result<CodeSent, AppError> {
        let (account_id, scope, phone_ending) =
            (request.account.id, request.scope, request.to.ending());
        let sent = self
            .issue(&mut tx, request, ctx, now)
            .await
            .map_err(internal)?;
        self.commit(tx).await?;
        sent?;
        self.delivery.notify_one();
        tracing::info!(account_id, scope = scope.as_str(), "code queued");
        Ok(CodeSent { phone_ending })
    }

    /// `redeem_code` for a known account: the transaction and the account when the code is
    /// accepted; otherwise the rejection (and the spent try) is committed and the answer is
    /// `InvalidCode`, or `ExpiredCode` for the right code too late.
    async fn redeem_or_refuse(
        &self,
        mut tx: WriteTx,
        account: Option<AccountRecord>,
        scope: CodeScope,
        code: &VerificationCode,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> Result<(WriteTx, AccountRecord), AppError> {
        match self
            .redeem_code(&mut tx, account, scope, code, ctx, now)
            .await?
        {
            Ok(account) => Ok((tx, account)),
            Err(refusal) => {
                self.commit(tx).await?;
                Err(refusal)
            }
        }
    }

    /// Verifies `password` against `account` (before the write lock: hashing is slow), then opens
    /// the write transaction and reads the account again inside it, since another request may
    /// have locked it or changed the password meanwhile. Returns the transaction, the account as
    /// it is now, and whether the password matches the one it still has; `None` if it is gone.
    async fn verify_then_lock(
        &self,
        account: &AccountRecord,
        password: &Password,
    ) -> Result<Option<(WriteTx, AccountRecord, bool)>, AppError> {
        self.verify_then_lock_in(HashLane::Anyone, account, password)
            .await
    }

    /// `verify_then_lock`, the hash waiting in `lane`.
    async fn verify_then_lock_in(
        &self,
        lane: HashLane,
        account: &AccountRecord,
        password: &Password,
    ) -> Result<Option<(WriteTx, AccountRecord, bool)>, AppError> {
        let matches = self
            .passwords
            .verify_in(lane, password, &account.password_hash)
            .await
            .map_err(internal)?;
        let mut tx = self.begin().await?;
        let current = Store::account_by_id(&mut tx, account.id)
            .await
            .map_err(internal)?;
        Ok(current.map(|current| {
            let still_matches = matches && current.password_hash == account.password_hash;
            (tx, current, still_matches)
        }))
    }

    /// Counts a wrong password against `account` (read inside `tx`) and commits: the failure is
    /// audited (with `detail`), and the failure that reaches the threshold locks the account and
    /// queues its unlock code, as for a sign-in.
    async fn count_wrong_password(
        &self,
        mut tx: WriteTx,
        account: &AccountRecord,
        ctx: &RequestContext,
        detail: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<WrongPassword, AppError> {
        let (state, outcome) = self.lockout.after_failure(account.lock, now);
        Store::save_lock_state(&mut tx, account.id, state)
            .await
            .map_err(internal)?;
        self.audit(
            &mut tx,
            AuditKind::LoginFailed,
            Some(account.id),
            ctx,
            detail,
            now,
        )
        .await?;
        match outcome {
            FailureOutcome::Counted { remaining } => {
                self.commit(tx).await?;
                tracing::info!(account_id = account.id, remaining, "wrong password counted");
                Ok(WrongPassword::Counted { remaining })
            }
            FailureOutcome::JustLocked => {
                self.audit(
                    &mut tx,
                    AuditKind::AccountLocked,
                    Some(account.id),
                    ctx,
                    None,
                    now,
                )
                .await?;
                let channel = self.preferred_channel(account);
                let request = CodeRequest::to_account(account, CodeScope::Unlock, channel)
                    .with_priority(SendPriority::Lock);
                let sent = self
                    .issue(&mut tx, request, ctx, now)
                    .await
                    .map_err(internal)?;
                self.commit(tx).await?;
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
                self.commit(tx).await?;
                Ok(WrongPassword::AlreadyLocked)
            }
        }
    }

    /// Applies the send limits to a message for `account_id` at `to_phone` (see `SendCheck`).
    async fn check_send_limits(
        &self,
        tx: &mut WriteTx,
        account_id: Option<i64>,
        to_phone: &str,
        ctx: &RequestContext,
        SendTerms {
            priority,
            anonymous,
        }: SendTerms,
        now: OffsetDateTime,
    ) -> anyhow::Result<SendCheck> {
        // Row ids start at 1: 0 matches no account.
        let recent = Store::recent_sends(
            tx,
            account_id.unwrap_or(0),
            to_phone,
            ctx.client_network,
            priority.allowance(),
            now - WINDOW,
        )
        .await?;
        let decision = if anonymous {
            match self.send_limits.decide_for_stranger(recent, priority, now) {
                Some(decision) => decision,
                None => {
                    tracing::warn!(
                        account_id,
                        "send limit hit (others' requests): nothing sent, nothing told"
                    );
                    return Ok(SendCheck::Quiet(LimitKind::TargetAllClients));
                }
            }
        } else {
            self.send_limits.decide(recent, priority, now)
        };
        let SendDecision::Refuse { limit, retry_after } = decision else {
            return Ok(SendCheck::Allowed);
        };
        tracing::warn!(
            account_id,
            limit = limit.as_str(),
            retry_after_secs = retry_after.whole_seconds(),
            "send limit hit: nothing sent"
        );
        let error = AppError::TooManyCodes {
            retry_after_secs: u64::try_from(retry_after.whole_seconds()).unwrap_or(1),
        };
        Ok(SendCheck::Refused(limit, error))
    }

    /// For a request that sends nothing (an unknown email, or a resend for an account that is not
    /// locked): the same send limits and the same kind of row as a real code, so that neither the
    /// answers nor their timing show the difference. The row is never sent.
    async fn send_decoy(
        &self,
        tx: &mut WriteTx,
        account_id: Option<i64>,
        to_phone: &str,
        priority: SendPriority,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> anyhow::Result<Result<(), AppError>> {
        // As for a real code asked for anonymously (see `issue`).
        match self
            .check_send_limits(
                tx,
                account_id,
                to_phone,
                ctx,
                SendTerms {
                    priority,
                    anonymous: true,
                },
                now,
            )
            .await?
        {
            SendCheck::Allowed => {}
            SendCheck::Quiet(_) => return Ok(Ok(())),
            SendCheck::Refused(_, error) => return Ok(Err(error)),
        }
        Store::record_decoy(
            tx,
            account_id,
            to_phone,
            (ctx.client_ip, ctx.client_network),
            now,
        )
        .await?;
        Ok(Ok(()))
    }

    /// The answer to "send me a code" for an email with no account: a decoy row under the same
    /// limits as a real code, and the email's decoy phone ending.
    async fn answer_unknown_email(
        &self,
        mut tx: WriteTx,
        email: &Email,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> Result<CodeSent, AppError> {
        // The work a real account's request does besides its code, so that both take as long:
        // the look-up of the account's networks (no account has id 0), a code's hash, and an
        // audit row (a request for an email with no account is worth recording anyway).
        self.recovery_priority(&mut tx, ctx, 0, now).await?;
        let _ = self.code_policies.get(CodeScope::Unlock).issue(
            &self.code_hasher,
            0,
            CodeScope::Unlock,
            now,
        );
        self.audit(
            &mut tx,
            AuditKind::UnknownEmail,
            None,
            ctx,
            Some("a code was asked for"),
            now,
        )
        .await?;
        let decoy = self
            .send_decoy(
                &mut tx,
                None,
                &self.decoy_destination(email),
                SendPriority::Normal,
                ctx,
                now,
            )
            .await
            .map_err(internal)?;
        self.commit(tx).await?;
        decoy?;
        Ok(CodeSent {
            phone_ending: self.decoy_ending(email),
        })
    }

    /// Where the decoy rows of an email with no account point.
    fn decoy_destination(&self, email: &Email) -> String {
        format!("decoy:{}", hex::encode(self.email_key(email)))
    }

    /// Judges `code` against the account's live codes for `purpose` that this browser may use:
    /// the one bound to `binding` (if not `""`) and the unbound one. Accepted if it matches
    /// either (that one is consumed, the other left as it was); a wrong code spends a try of the
    /// browser's own code if it has one, else of the unbound one.
    async fn consume_code(
        &self,
        tx: &mut WriteTx,
        account_id: i64,
        purpose: CodeScope,
        binding: &str,
        code: &VerificationCode,
        now: OffsetDateTime,
    ) -> anyhow::Result<CodeCheck> {
        // Taken out of the table at once; put back unless spent or used.
        let own = if binding.is_empty() {
            None
        } else {
            Store::take_code(tx, account_id, purpose, binding).await?
        };
        let unbound = Store::take_code(tx, account_id, purpose, "").await?;
        let submitted = self.code_hasher.hash(account_id, purpose, code);
        let verdicts: Vec<(&str, ActiveCode, OffsetDateTime, CodeVerdict)> = [
            own.map(|(active, at)| (binding, active, at)),
            unbound.map(|(active, at)| ("", active, at)),
        ]
        .into_iter()
        .flatten()
        .map(|(binding, active, at)| {
            let verdict = CodePolicy::judge(&active, &submitted, now);
            (binding, active, at, verdict)
        })
        .collect();
        if verdicts.is_empty() {
            return Ok(CodeCheck::Wrong);
        }
        let outcome = if verdicts
            .iter()
            .any(|(.., verdict)| *verdict == CodeVerdict::Accepted)
        {
            CodeCheck::Accepted
        } else if verdicts
            .iter()
            .any(|(.., verdict)| *verdict == CodeVerdict::Expired)
        {
            CodeCheck::Expired
        } else {
            CodeCheck::Wrong
        };
        // The code that pays for a wrong entry: the browser's own, else the unbound one.
        let spender = match outcome {
            CodeCheck::Wrong => verdicts.first().map(|(binding, ..)| *binding),
            _ => None,
        };
        for (code_binding, active, created_at, verdict) in &verdicts {
            let tries_left = match verdict {
                // Used, or past its lifetime: gone either way.
                CodeVerdict::Accepted | CodeVerdict::Expired | CodeVerdict::WrongAfterExpiry => {
                    continue
                }
                CodeVerdict::WrongAndSpent if spender == Some(*code_binding) => continue,
                CodeVerdict::Wrong { tries_left } if spender == Some(*code_binding) => *tries_left,
                // Not the one judged: back as it was.
                CodeVerdict::Wrong { .. } | CodeVerdict::WrongAndSpent => active.tries_left,
            };
            Store::restore_code(
                tx,
                account_id,
                purpose,
                code_binding,
                active,
                tries_left,
                *created_at,
            )
            .await?;
        }
        Ok(outcome)
    }

    async fn open_session(
        &self,
        tx: &mut WriteTx,
        account_id: i64,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> anyhow::Result<OpenedSession> {
        let token = SessionToken::generate();
        Store::insert_session(
            tx,
            token.hash(),
            account_id,
            now,
            ctx.client_ip,
            ctx.user_agent.as_deref(),
        )
        .await?;
        // The browser completed a sign-in: it is trusted from now on, under a new device token.
        let device_token = SessionToken::generate();
        let known = match ctx.device_token.as_deref() {
            Some(raw) => Store::trusted_device(tx, hash_token(raw), account_id).await?,
            None => None,
        };
        match known {
            Some(device) => {
                Store::rotate_trusted_device(
                    tx,
                    device.id,
                    device_token.hash(),
                    ctx.user_agent.as_deref(),
                    ctx.client_network,
                    now,
                )
                .await?
            }
            None => {
                Store::insert_trusted_device(
                    tx,
                    account_id,
                    device_token.hash(),
                    ctx.user_agent.as_deref(),
                    ctx.client_network,
                    now,
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
    async fn trusted_device(
        &self,
        conn: &mut AnyConnection,
        ctx: &RequestContext,
        account_id: i64,
        now: OffsetDateTime,
    ) -> Result<Option<TrustedDevice>, AppError> {
        let Some(raw) = ctx.device_token.as_deref() else {
            return Ok(None);
        };
        let device = Store::trusted_device(conn, hash_token(raw), account_id)
            .await
            .map_err(internal)?;
        Ok(device.filter(|device| self.devices.is_trusted(device.last_used_at, now)))
    }

    /// How a recovery code asked for anonymously is sent: `Reserved` from a network where one of
    /// the account's trusted browsers signed in (the owner at home, on a new browser), so that
    /// others' requests cannot use up what the owner needs; `Normal` otherwise.
    async fn recovery_priority(
        &self,
        conn: &mut AnyConnection,
        ctx: &RequestContext,
        account_id: i64,
        now: OffsetDateTime,
    ) -> Result<SendPriority, AppError> {
        let Some(network) = ctx.client_network else {
            return Ok(SendPriority::Normal);
        };
        let familiar =
            Store::is_familiar_network(conn, account_id, network, now - self.devices.lifetime)
                .await
                .map_err(internal)?;
        Ok(if familiar {
            SendPriority::Reserved
        } else {
            SendPriority::Normal
        })
    }

    /// Counts a wrong password from a trusted browser against that browser alone, and commits;
    /// at the lockout threshold the browser's trust ends. The account's lock is not touched.
    async fn count_device_failure(
        &self,
        mut tx: WriteTx,
        account: &AccountRecord,
        device: &TrustedDevice,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> Result<AppError, AppError> {
        self.audit(
            &mut tx,
            AuditKind::LoginFailed,
            Some(account.id),
            ctx,
            Some("from a trusted browser"),
            now,
        )
        .await?;
        match self.devices.after_failure(device.failures, now) {
            DeviceFailure::Counted { failures } => {
                Store::set_device_failures(&mut tx, device.id, failures)
                    .await
                    .map_err(internal)?;
            }
            DeviceFailure::TrustEnded => {
                Store::delete_trusted_device(&mut tx, account.id, device.id)
                    .await
                    .map_err(internal)?;
                self.audit(
                    &mut tx,
                    AuditKind::DeviceTrustEnded,
                    Some(account.id),
                    ctx,
                    None,
                    now,
                )
                .await?;
                tracing::warn!(account_id = account.id, "a browser lost its trust");
            }
        }
        self.commit(tx).await?;
        // The lock warning speaks of the account, which these failures do not touch.
        Ok(AppError::InvalidCredentials {
            attempts_left: None,
        })
    }

    async fn commit(&self, tx: WriteTx) -> Result<(), AppError> {
        tx.commit().await.map_err(|error| internal(error.into()))
    }
}

/// A short name for a browser from its user agent: "Firefox on Linux", or the first 60
/// characters of what it sent when no known name is in it.
fn describe_browser(user_agent: Option<&str>) -> String {
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

/// A signup form whose every field passed its rules.
struct ValidSignup {
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    phone: PhoneNumber,
    password: Password,
    delivery: DeliveryChannel,
}

impl LatchkeyService {
    /// Every rule a signup form must pass, with every field's problem at once. The live check of a
    /// single field (`check_signup_field`) runs the same rules.
    fn validate_signup(&self, form: &SignupForm) -> Result<ValidSignup, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let first_name = errors.check(
            Field::FirstName,
            PersonName::parse(&form.first_name, "first name"),
        );
        let last_name = errors.check(
            Field::LastName,
            PersonName::parse(&form.last_name, "last name"),
        );
        let email = errors.check(Field::Email, Email::parse(&form.email));
        let phone = errors.check(
            Field::Phone,
            PhoneNumber::parse(&form.phone, self.phone_region),
        );
        if let Some(phone) = &phone {
            errors.check(Field::Phone, self.destinations.check(phone));
        }
        let delivery = errors
            .check(
                Field::Delivery,
                self.requested_channel(Some(&form.delivery)),
            )
            .flatten()
            .unwrap_or_default();
        let password = errors.check(Field::Password, Password::parse_new(&form.password));
        if let Some(password) = &password {
            errors.check(
                Field::PasswordConfirm,
                password.confirm(&form.password_confirm),
            );
            errors.check(
                Field::Password,
                password.check_personal(&form.email, &[&form.first_name, &form.last_name]),
            );
        }
        match (first_name, last_name, email, phone, password) {
            (Some(first_name), Some(last_name), Some(email), Some(phone), Some(password))
                if errors.0.is_empty() =>
            {
                Ok(ValidSignup {
                    first_name,
                    last_name,
                    email,
                    phone,
                    password,
                    delivery,
                })
            }
            _ => Err(errors.0),
        }
    }
}

#[async_trait]
impl AccountService for LatchkeyService {
    #[tracing::instrument(skip_all)]
    async fn sign_up(
        &self,
        ctx: &RequestContext,
        form: SignupForm,
    ) -> Result<PendingStep, AppError> {
        let ValidSignup {
            first_name,
            last_name,
            email,
            phone,
            password,
            delivery,
        } = self
            .validate_signup(&form)
            .map_err(|fields| AppError::InvalidInput { fields })?;

        let password_hash = self.passwords.hash(&password).await.map_err(internal)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let account = NewAccount {
            email: &email,
            password_hash: &password_hash,
            phone: &phone,
            first_name: &first_name,
            last_name: &last_name,
            delivery_channel: delivery,
        };
        let Some(account_id) = Store::insert_account(&mut tx, account, now)
            .await
            .map_err(internal)?
        else {
            return Err(AppError::EmailTaken);
        };
        Store::forget_unknown_login(&mut tx, &self.email_key(&email))
            .await
            .map_err(internal)?;
        self.audit(
            &mut tx,
            AuditKind::SignedUp,
            Some(account_id),
            ctx,
            None,
            now,
        )
        .await?;
        let Some(created) = Store::account_by_id(&mut tx, account_id)
            .await
            .map_err(internal)?
        else {
            return Err(internal(anyhow::anyhow!("the new account is missing")));
        };
        // The account is not active yet: the phone's code finishes the signup and signs in.
        let step = self
            .start_pending_sign_in(
                &mut tx,
                &created,
                CodeScope::PhoneVerification,
                SendPriority::Normal,
                ctx,
                now,
            )
            .await?;
        self.commit(tx).await?;
        if step.code_delayed_secs.is_none() {
            self.delivery.notify_one();
        }
        tracing::info!(
            account_id,
            "account created; phone verification code queued"
        );
        Ok(step)
    }

    #[tracing::instrument(skip_all)]
    async fn log_in(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: &str,
    ) -> Result<LoginResult, AppError> {
        let email = parse_email(email)?;
        let password = Password::parse_attempt(password)
            .map_err(|error| AppError::field(Field::Password, error.to_string()))?;

        let account = self.account_outside_tx(&email).await?;
        // Looked up alike for an unknown email (no account has id 0), so that a device cookie
        // costs both the same.
        let device = {
            let mut conn = self.store.reader().await.map_err(internal)?;
            let account_id = account.as_ref().map_or(0, |account| account.id);
            self.trusted_device(&mut conn, ctx, account_id, self.clock.now())
                .await?
        };
        // Before any hashing, and alike for every email: a queue too long to wait in is refused.
        let lane = if device.is_some() {
            HashLane::Trusted
        } else {
            HashLane::Anyone
        };
        self.passwords
            .admit(lane)
            .map_err(|overloaded| busy(overloaded, self.clock.now()))?;
        let Some(account) = account else {
            return self.fail_unknown_login(ctx, &email, &password).await;
        };
        // A lock holds for strangers; a trusted browser goes on to the password.
        if account.lock.is_locked() && device.is_none() {
            // The password is not checked while locked and no new code is sent; the dummy
            // verification only makes this answer take as long as any other.
            self.passwords
                .verify_dummy(&password)
                .await
                .map_err(internal)?;
            self.audit_alone(
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

        let Some((mut tx, current, matches)) =
            self.verify_then_lock_in(lane, &account, &password).await?
        else {
            return Err(AppError::InvalidCredentials {
                attempts_left: None,
            });
        };
        let now = self.clock.now();
        if current.lock.is_locked() && device.is_none() {
            self.audit(
                &mut tx,
                AuditKind::LoginFailed,
                Some(current.id),
                ctx,
                Some("while locked"),
                now,
            )
            .await?;
            self.commit(tx).await?;
            return Ok(LoginResult::Locked {
                phone_ending: current.phone.ending(),
                code_delayed_secs: None,
            });
        }
        if matches {
            if current.must_reset_password {
                self.audit(
                    &mut tx,
                    AuditKind::LoginFailed,
                    Some(current.id),
                    ctx,
                    Some("password reset required"),
                    now,
                )
                .await?;
                self.commit(tx).await?;
                return Err(AppError::PasswordResetRequired);
            }
            let second_step = if current.phone_verified_at.is_none() {
                Some(CodeScope::PhoneVerification)
            } else if self.sign_in_code.applies(current.sign_in_code) {
                Some(CodeScope::SignIn)
            } else {
                None
            };
            if let Some(scope) = second_step {
                // The right password ends the run of failures; the code still has to follow. A
                // lock that strangers caused stays for strangers, even when a trusted browser
                // signs in past it.
                if !current.lock.is_locked() {
                    Store::save_lock_state(&mut tx, current.id, LockoutPolicy::cleared())
                        .await
                        .map_err(internal)?;
                }
                let step = self
                    .start_pending_sign_in(
                        &mut tx,
                        &current,
                        scope,
                        if device.is_some() {
                            SendPriority::Reserved
                        } else {
                            SendPriority::Normal
                        },
                        ctx,
                        now,
                    )
                    .await?;
                self.commit(tx).await?;
                if step.code_delayed_secs.is_none() {
                    self.delivery.notify_one();
                }
                tracing::info!(
                    account_id = current.id,
                    scope = scope.as_str(),
                    "password accepted; waiting for the code"
                );
                return Ok(match scope {
                    CodeScope::PhoneVerification => LoginResult::VerifyPhone(step),
                    _ => LoginResult::CodeRequired(step),
                });
            }
            Store::record_login(&mut tx, current.id, now)
                .await
                .map_err(internal)?;
            let session = self
                .open_session(&mut tx, current.id, ctx, now)
                .await
                .map_err(internal)?;
            self.audit(
                &mut tx,
                AuditKind::LoginSucceeded,
                Some(current.id),
                ctx,
                None,
                now,
            )
            .await?;
            self.commit(tx).await?;
            tracing::info!(account_id = current.id, "signed in");
            return Ok(LoginResult::SignedIn(session));
        }

        if let Some(device) = &device {
            return Err(self
                .count_device_failure(tx, &current, device, ctx, now)
                .await?);
        }
        match self
            .count_wrong_password(tx, &current, ctx, None, now)
            .await?
        {
            WrongPassword::Counted { remaining } => Err(AppError::InvalidCredentials {
                attempts_left: Some(remaining),
            }),
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

    #[tracing::instrument(skip_all)]
    async fn unlock(&self, ctx: &RequestContext, email: &str, code: &str) -> Result<(), AppError> {
        let email = parse_email(email)?;
        let code = self.parse_code(CodeScope::Unlock, code)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let account = self.account_for(&mut tx, &email).await?;
        let (mut tx, account) = self
            .redeem_or_refuse(tx, account, CodeScope::Unlock, &code, ctx, now)
            .await?;
        Store::save_lock_state(&mut tx, account.id, LockoutPolicy::cleared())
            .await
            .map_err(internal)?;
        self.audit(
            &mut tx,
            AuditKind::AccountUnlocked,
            Some(account.id),
            ctx,
            None,
            now,
        )
        .await?;
        self.commit(tx).await?;
        tracing::info!(account_id = account.id, "account unlocked with a code");
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn resend_unlock_code(
        &self,
        ctx: &RequestContext,
        email: &str,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        let email = parse_email(email)?;
        let requested = self.requested_channel(channel)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let Some(account) = self.account_for(&mut tx, &email).await? else {
            return self.answer_unknown_email(tx, &email, ctx, now).await;
        };
        let locked = account.lock.is_locked();
        let channel = requested.unwrap_or(self.preferred_channel(&account));
        let sent = if locked {
            // Bound to this browser: no other browser can spend it with a wrong guess, or replace
            // it by asking for another.
            let priority = self
                .recovery_priority(&mut tx, ctx, account.id, now)
                .await?;
            let request = CodeRequest::to_account(&account, CodeScope::Unlock, channel)
                .bound_to(recovery_binding(CodeScope::Unlock, ctx))
                .with_priority(priority);
            self.issue(&mut tx, request, ctx, now)
                .await
                .map_err(internal)?
        } else {
            // Nothing to unlock: answer as if a code went out, limits included.
            self.send_decoy(
                &mut tx,
                Some(account.id),
                account.phone.e164(),
                SendPriority::Normal,
                ctx,
                now,
            )
            .await
            .map_err(internal)?
        };
        self.commit(tx).await?;
        sent?;
        if locked {
            self.delivery.notify_one();
            tracing::info!(account_id = account.id, "new unlock code queued");
        }
        Ok(CodeSent {
            phone_ending: account.phone.ending(),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn request_password_reset(
        &self,
        ctx: &RequestContext,
        email: &str,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        let email = parse_email(email)?;
        let requested = self.requested_channel(channel)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let Some(account) = self.account_for(&mut tx, &email).await? else {
            return self.answer_unknown_email(tx, &email, ctx, now).await;
        };
        let channel = requested.unwrap_or(self.preferred_channel(&account));
        self.audit(
            &mut tx,
            AuditKind::ResetRequested,
            Some(account.id),
            ctx,
            None,
            now,
        )
        .await?;
        let priority = self
            .recovery_priority(&mut tx, ctx, account.id, now)
            .await?;
        let request = CodeRequest::to_account(&account, CodeScope::PasswordReset, channel)
            .bound_to(recovery_binding(CodeScope::PasswordReset, ctx))
            .with_priority(priority);
        self.send_code_now(tx, request, ctx, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn reset_password(
        &self,
        ctx: &RequestContext,
        email: &str,
        code: &str,
        new_password: &str,
        new_password_confirm: &str,
    ) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.check(Field::Email, Email::parse(email));
        let code = errors.check(
            Field::Code,
            VerificationCode::parse(
                code,
                self.code_policies.get(CodeScope::PasswordReset).length,
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
            return Err(AppError::Internal);
        };

        // Hash before taking the write lock; the hash is thrown away if the code is refused.
        let password_hash = self.passwords.hash(&password).await.map_err(internal)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let account = self.account_for(&mut tx, &email).await?;
        let (mut tx, account) = self
            .redeem_or_refuse(tx, account, CodeScope::PasswordReset, &code, ctx, now)
            .await?;
        // Only now, with a right code, is the password compared with the email and the name: before,
        // the answer would tell anyone who knows the email what the account holder is called.
        // Refused here, the transaction is dropped, so the code is not spent.
        if let Err(error) =
            password.check_personal(&account.email, &[&account.first_name, &account.last_name])
        {
            drop(tx);
            return Err(AppError::field(Field::Password, error.to_string()));
        }
        Store::set_password_hash(&mut tx, account.id, &password_hash, now)
            .await
            .map_err(internal)?;
        Store::set_must_reset_password(&mut tx, account.id, false)
            .await
            .map_err(internal)?;
        Store::delete_pending_sign_ins_of(&mut tx, account.id)
            .await
            .map_err(internal)?;
        Store::save_lock_state(&mut tx, account.id, LockoutPolicy::cleared())
            .await
            .map_err(internal)?;
        Store::delete_code(&mut tx, account.id, CodeScope::Unlock)
            .await
            .map_err(internal)?;
        let revoked = Store::delete_sessions_of(&mut tx, account.id)
            .await
            .map_err(internal)?;
        // Every browser the old password let in is a stranger now.
        Store::delete_trusted_devices_of(&mut tx, account.id)
            .await
            .map_err(internal)?;
        self.audit(
            &mut tx,
            AuditKind::PasswordReset,
            Some(account.id),
            ctx,
            None,
            now,
        )
        .await?;
        if revoked > 0 {
            let detail = format!("{revoked} session(s) ended by the password reset");
            self.audit(
                &mut tx,
                AuditKind::SessionRevoked,
                Some(account.id),
                ctx,
                Some(&detail),
                now,
            )
            .await?;
        }
        let notified = self
            .queue_notice(&mut tx, &account, Notice::PasswordChanged, ctx, now)
            .await?;
        self.commit(tx).await?;
        if notified {
            self.delivery.notify_one();
        }
        tracing::info!(
            account_id = account.id,
            revoked_sessions = revoked,
            "password reset"
        );
        Ok(())
    }

    fn check_email(&self, email: &str) -> Result<String, AppError> {
        parse_email(email).map(|email| email.as_str().to_owned())
    }

    async fn check_signup_field(
        &self,
        field: &str,
        value: &str,
        mut form: SignupForm,
    ) -> Result<FieldCheck, AppError> {
        let (field, slot) = match field {
            "first_name" => (Field::FirstName, &mut form.first_name),
            "last_name" => (Field::LastName, &mut form.last_name),
            "email" => (Field::Email, &mut form.email),
            "phone" => (Field::Phone, &mut form.phone),
            "password" => (Field::Password, &mut form.password),
            "password_confirm" => (Field::PasswordConfirm, &mut form.password_confirm),
            _ => {
                return Err(AppError::MalformedRequest {
                    detail: "field must be first_name, last_name, email, phone, password or \
                             password_confirm"
                        .to_owned(),
                })
            }
        };
        value.clone_into(slot);
        let message = match self.validate_signup(&form) {
            Ok(_) => None,
            Err(errors) => errors
                .into_iter()
                .find(|error| error.field == field)
                .map(|error| error.message),
        };
        let note = match (field, &message) {
            (Field::Phone, None) => PhoneNumber::parse(value, self.phone_region)
                .ok()
                .map(|phone| phone.read_back()),
            _ => None,
        };
        Ok(FieldCheck { message, note })
    }

    #[tracing::instrument(skip_all)]
    async fn log_out(&self, ctx: &RequestContext) -> Result<String, AppError> {
        if let Some(token) = &ctx.session_token {
            let hash = hash_token(token);
            if let Some(session) = self.store.session(hash).await.map_err(internal)? {
                self.store.delete_session(hash).await.map_err(internal)?;
                self.audit_alone(
                    AuditKind::SessionRevoked,
                    Some(session.account_id),
                    ctx,
                    Some("signed out"),
                )
                .await?;
            }
        }
        Ok(self.sessions.clear_cookie())
    }

    #[tracing::instrument(skip_all)]
    async fn code_delivery(
        &self,
        ctx: &RequestContext,
        email: Option<&str>,
        flow: &str,
    ) -> Result<CodeDelivery, AppError> {
        let purpose = CodeScope::parse(flow).ok_or_else(|| AppError::MalformedRequest {
            detail: "flow must be a code scope: phone_verification, sign_in, unlock, \
                     password_reset, phone_change or admin_step_up"
                .to_owned(),
        })?;
        let now = self.clock.now();
        let mut conn = self.store.reader().await.map_err(internal)?;
        // Who the code is for, where it goes, and whether its progress may be told.
        let (account, destination, proven) = match email {
            Some(email) => {
                let email = parse_email(email)?;
                match Store::account_by_email(&mut conn, &email)
                    .await
                    .map_err(internal)?
                {
                    Some(account) => {
                        let phone = account.phone.e164().to_owned();
                        (Some(account), phone, false)
                    }
                    // The decoy row an unknown email's request leaves counts here, as a real
                    // account's message does.
                    None => (None, self.decoy_destination(&email), false),
                }
            }
            None => {
                let account = self.code_step_account(&mut conn, ctx, purpose, now).await?;
                let destination = match (purpose, &account.pending_phone) {
                    (CodeScope::PhoneChange, Some(new_phone)) => new_phone.e164().to_owned(),
                    _ => account.phone.e164().to_owned(),
                };
                (Some(account), destination, true)
            }
        };
        let state = match &account {
            Some(account) => self
                .store
                .latest_delivery(account.id, purpose.as_str())
                .await
                .map_err(internal)?,
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
        .await
        .map_err(internal)?;
        // What others asked for is not told (see `issue`): only this client's own wait.
        let decision = self
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
            Some(DeliveryState::Underway) if proven => {
                (DeliveryProgress::Sending, false, false, false)
            }
            _ => (DeliveryProgress::Unknown, false, false, false),
        };
        Ok(CodeDelivery {
            progress,
            retry_after_secs,
            failed,
            unreachable,
            by_call,
            voice_available: self.voice_available,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn set_delivery_channel(
        &self,
        ctx: &RequestContext,
        channel: &str,
    ) -> Result<(), AppError> {
        let channel = self.requested_channel(Some(channel))?.ok_or_else(|| {
            AppError::field(
                Field::Delivery,
                "Choose how to get codes: a text message or a phone call.",
            )
        })?;
        let account = self.signed_in_account(ctx).await?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        Store::set_delivery_channel(&mut tx, account.id, channel)
            .await
            .map_err(internal)?;
        self.audit(
            &mut tx,
            AuditKind::DeliveryChanged,
            Some(account.id),
            ctx,
            Some(channel.as_str()),
            now,
        )
        .await?;
        self.commit(tx).await?;
        tracing::info!(
            account_id = account.id,
            channel = channel.as_str(),
            "delivery preference changed"
        );
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn current_account(&self, ctx: &RequestContext) -> Result<AccountView, AppError> {
        let account = self.signed_in_account(ctx).await?;
        let recent_activity = self
            .store
            .recent_events(account.id, RECENT_ACTIVITY)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|event| ActivityItem {
                at: format_time(event.at),
                description: event.kind.describe().to_owned(),
                client_ip: event.client_ip,
            })
            .collect();
        let this_browser = ctx.device_token.as_deref().map(hash_token);
        let now = self.clock.now();
        let trusted_devices = self
            .store
            .trusted_devices_of(account.id)
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|device| self.devices.is_trusted(device.last_used_at, now))
            .map(|device| TrustedDeviceItem {
                id: device.id,
                browser: describe_browser(device.user_agent.as_deref()),
                last_used_at: format_time(device.last_used_at),
                this_browser: this_browser == Some(device.token_hash),
            })
            .collect();
        let delivery_channel = self.preferred_channel(&account);
        Ok(AccountView {
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            masked_phone: account.phone.masked(),
            delivery_channel,
            voice_available: self.voice_available,
            last_login_at: account.last_login_at.map(format_time),
            previous_login_at: account.previous_login_at.map(format_time),
            recent_activity,
            phone_verified: account.phone_verified_at.is_some(),
            sign_in_code: self.sign_in_code.applies(account.sign_in_code),
            sign_in_code_required: !self.sign_in_code.account_may_choose(),
            is_admin: account.role == Role::Admin,
            trusted_devices,
        })
    }

    #[tracing::instrument(skip_all)]
    async fn forget_device(&self, ctx: &RequestContext, device_id: i64) -> Result<(), AppError> {
        let account = self.signed_in_account(ctx).await?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        // A device that is already gone is not trusted either: nothing to refuse.
        let forgotten = Store::delete_trusted_device(&mut tx, account.id, device_id)
            .await
            .map_err(internal)?;
        if forgotten {
            self.audit(
                &mut tx,
                AuditKind::DeviceForgotten,
                Some(account.id),
                ctx,
                None,
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn verify_phone(
        &self,
        ctx: &RequestContext,
        code: &str,
    ) -> Result<PhoneVerified, AppError> {
        self.verify_phone_step(ctx, code).await
    }

    #[tracing::instrument(skip_all)]
    async fn send_phone_verification(
        &self,
        ctx: &RequestContext,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        self.send_phone_verification_step(ctx, channel).await
    }

    #[tracing::instrument(skip_all)]
    async fn finish_sign_in(
        &self,
        ctx: &RequestContext,
        code: &str,
    ) -> Result<OpenedSession, AppError> {
        self.finish_sign_in_step(ctx, code).await
    }

    #[tracing::instrument(skip_all)]
    async fn resend_sign_in_code(
        &self,
        ctx: &RequestContext,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        self.resend_sign_in_code_step(ctx, channel).await
    }

    #[tracing::instrument(skip_all)]
    async fn set_sign_in_code(&self, ctx: &RequestContext, enabled: bool) -> Result<(), AppError> {
        self.set_sign_in_code_step(ctx, enabled).await
    }

    #[tracing::instrument(skip_all)]
    async fn start_phone_change(
        &self,
        ctx: &RequestContext,
        current_password: &str,
        new_phone: &str,
    ) -> Result<CodeSent, AppError> {
        self.start_phone_change_step(ctx, current_password, new_phone)
            .await
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_phone_change(&self, ctx: &RequestContext, code: &str) -> Result<(), AppError> {
        self.confirm_phone_change_step(ctx, code).await
    }

    #[tracing::instrument(skip_all)]
    async fn admin_gate(&self, ctx: &RequestContext) -> Result<AdminAccess, AppError> {
        self.admin_access_step(ctx).await
    }

    #[tracing::instrument(skip_all)]
    async fn send_admin_code(&self, ctx: &RequestContext) -> Result<CodeSent, AppError> {
        self.send_admin_code_step(ctx).await
    }

    #[tracing::instrument(skip_all)]
    async fn admin_step_up(&self, ctx: &RequestContext, code: &str) -> Result<(), AppError> {
        self.admin_step_up_step(ctx, code).await
    }

    #[tracing::instrument(skip_all)]
    async fn admin_search(
        &self,
        ctx: &RequestContext,
        query: &str,
    ) -> Result<Vec<AccountSummary>, AppError> {
        self.admin_search_step(ctx, query).await
    }

    #[tracing::instrument(skip_all)]
    async fn admin_account(
        &self,
        ctx: &RequestContext,
        account_id: i64,
    ) -> Result<AdminAccountView, AppError> {
        self.admin_account_step(ctx, account_id).await
    }

    #[tracing::instrument(skip_all)]
    async fn admin_act(
        &self,
        ctx: &RequestContext,
        account_id: i64,
        action: AdminAction,
    ) -> Result<(), AppError> {
        self.admin_act_step(ctx, account_id, action).await
    }
}

impl LatchkeyService {
    /// The account a code step of `purpose` in `ctx` is for, read without the write lock: the
    /// pending sign-in's (a signup's phone verification, a sign-in code), else the session's.
    async fn code_step_account(
        &self,
        conn: &mut AnyConnection,
        ctx: &RequestContext,
        purpose: CodeScope,
        now: OffsetDateTime,
    ) -> Result<AccountRecord, AppError> {
        if matches!(purpose, CodeScope::PhoneVerification | CodeScope::SignIn) {
            if let Some(account) = self.pending_account(conn, ctx, purpose, now).await? {
                return Ok(account);
            }
            if purpose == CodeScope::SignIn {
                return Err(AppError::NoPendingSignIn);
            }
        }
        self.signed_in_account(ctx).await
    }

    /// The account of the session in `ctx`, after checking (and refreshing) the session.
    async fn signed_in_account(&self, ctx: &RequestContext) -> Result<AccountRecord, AppError> {
        Ok(self.signed_in(ctx).await?.0)
    }

    /// The session in `ctx` (checked and refreshed), its account, and its token's hash.
    async fn signed_in(
        &self,
        ctx: &RequestContext,
    ) -> Result<(AccountRecord, SessionRecord, TokenHash), AppError> {
        let Some(token) = &ctx.session_token else {
            return Err(AppError::NotSignedIn);
        };
        let hash = hash_token(token);
        let Some(session) = self.store.session(hash).await.map_err(internal)? else {
            return Err(AppError::NotSignedIn);
        };
        let now = self.clock.now();
        match self
            .sessions
            .check(session.created_at, session.last_seen_at, now)
        {
            SessionCheck::Expired => {
                self.store.delete_session(hash).await.map_err(internal)?;
                return Err(AppError::NotSignedIn);
            }
            SessionCheck::Valid { touch: true } => {
                self.store
                    .touch_session(hash, now)
                    .await
                    .map_err(internal)?;
            }
            SessionCheck::Valid { touch: false } => {}
        }
        let mut conn = self.store.reader().await.map_err(internal)?;
        let account = Store::account_by_id(&mut conn, session.account_id)
            .await
            .map_err(internal)?
            .ok_or(AppError::NotSignedIn)?;
        Ok((account, session, hash))
    }
}

/// Events shown on the account page.
const RECENT_ACTIVITY: u32 = 10;

/// What counting a wrong password did.
/// What a submitted code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeCheck {
    Accepted,
    /// The right code, after its lifetime.
    Expired,
    /// Wrong, spent, or there was none.
    Wrong,
}

enum WrongPassword {
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

/// A code to issue: for which account, to which number (the account's own, or a new one being
/// confirmed), in which scope, and by which channel.
struct CodeRequest<'a> {
    account: &'a AccountRecord,
    to: &'a PhoneNumber,
    scope: CodeScope,
    channel: DeliveryChannel,
    /// The browser the code is bound to (`""`: unbound; see `recovery_binding`).
    binding: &'a str,
    priority: SendPriority,
    /// Asked for by someone who has not shown the password (the unlock and reset pages).
    anonymous: bool,
}

impl<'a> CodeRequest<'a> {
    /// A code to the account's own phone.
    fn to_account(account: &'a AccountRecord, scope: CodeScope, channel: DeliveryChannel) -> Self {
        Self {
            account,
            to: &account.phone,
            scope,
            channel,
            binding: "",
            priority: SendPriority::Normal,
            anonymous: false,
        }
    }

    /// The same code, asked for anonymously and usable only from the browser with `binding`.
    fn bound_to(self, binding: &'a str) -> Self {
        Self {
            binding,
            anonymous: true,
            ..self
        }
    }

    fn with_priority(self, priority: SendPriority) -> Self {
        Self { priority, ..self }
    }
}

/// The binding a recovery code asked for in `ctx` gets, and that a code typed in `ctx` is looked
/// up by: the browser's own for unlock and reset codes, so that no other browser can spend or
/// replace them; none for every other purpose (their codes are already tied to a session or a
/// pending sign-in).
fn recovery_binding(scope: CodeScope, ctx: &RequestContext) -> &str {
    match scope {
        CodeScope::Unlock | CodeScope::PasswordReset => {
            ctx.browser_binding.as_deref().unwrap_or("")
        }
        _ => "",
    }
}

/// How a message is weighed against the send limits.
#[derive(Debug, Clone, Copy)]
struct SendTerms {
    priority: SendPriority,
    /// Asked for by someone who has not shown the password: limits that reflect others'
    /// requests are not told (see `SendLimits::decide_for_stranger`).
    anonymous: bool,
}

/// What the send limits say of one message.
enum SendCheck {
    Allowed,
    /// Held back by a limit the requester may not be told of: answered as sent, nothing sent.
    Quiet(LimitKind),
    /// Held back: the error says how long to wait.
    Refused(LimitKind, AppError),
}

/// A security notice sent by text message (not a code).
#[derive(Debug, Clone)]
enum Notice {
    PasswordChanged,
    /// To the old number, after a change to a number ending in `new_ending`.
    PhoneChanged {
        new_ending: PhoneEnding,
    },
}

impl LatchkeyService {
    /// The key under which an email's failures are counted while it has no account.
    fn email_key(&self, email: &Email) -> [u8; 32] {
        self.secret.keyed_hash(
            "latchkey/unknown-login/v1",
            &[email.normalized().as_bytes()],
        )
    }

    /// A wrong password for an email with no account: the same work (argon2, one write) and the
    /// same answers as for a real account, "locked" with a decoy ending included.
    async fn fail_unknown_login(
        &self,
        ctx: &RequestContext,
        email: &Email,
        password: &Password,
    ) -> Result<LoginResult, AppError> {
        self.passwords
            .verify_dummy(password)
            .await
            .map_err(internal)?;
        let now = self.clock.now();
        let key = self.email_key(email);
        let mut tx = self.begin().await?;
        let state = Store::unknown_login_state(&mut tx, &key)
            .await
            .map_err(internal)?;
        let (state, outcome) = self.lockout.after_failure(state, now);
        Store::save_unknown_login_state(&mut tx, &key, state, now)
            .await
            .map_err(internal)?;
        self.audit(
            &mut tx,
            AuditKind::LoginFailed,
            None,
            ctx,
            Some("unknown email"),
            now,
        )
        .await?;
        // A real account queues its unlock code here: the send limits must see the same row.
        let decoy = if outcome == FailureOutcome::JustLocked {
            self.send_decoy(
                &mut tx,
                None,
                &self.decoy_destination(email),
                SendPriority::Lock,
                ctx,
                now,
            )
            .await
            .map_err(internal)?
        } else {
            Ok(())
        };
        self.commit(tx).await?;
        match outcome {
            FailureOutcome::Counted { remaining } => Err(AppError::InvalidCredentials {
                attempts_left: Some(remaining),
            }),
            FailureOutcome::JustLocked | FailureOutcome::AlreadyLocked => Ok(LoginResult::Locked {
                phone_ending: self.decoy_ending(email),
                code_delayed_secs: decoy.err().and_then(|error| error.retry_after_secs()),
            }),
        }
    }

    /// Queues a notice to the account's phone (subject to the destination guard, not to the send
    /// limits: notices follow actions that already needed a code). True if queued.
    async fn queue_notice(
        &self,
        tx: &mut WriteTx,
        account: &AccountRecord,
        notice: Notice,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> Result<bool, AppError> {
        if self.destinations.check(&account.phone).is_err() {
            return Ok(false);
        }
        let (body, purpose) = match notice {
            Notice::PasswordChanged => {
                (self.templates.password_changed_notice(), "password_changed")
            }
            Notice::PhoneChanged { new_ending } => (
                self.templates.phone_changed_notice(new_ending.as_str()),
                "phone_changed",
            ),
        };
        Store::enqueue_message(
            tx,
            NewMessage {
                account_id: Some(account.id),
                to_phone: account.phone.e164(),
                body: &body,
                purpose,
                channel: DeliveryChannel::Sms,
                fallback_body: None,
                client_ip: ctx.client_ip,
                client_network: ctx.client_network,
                allowance: SendPriority::Normal.allowance(),
            },
            now,
        )
        .await
        .map_err(internal)?;
        Ok(true)
    }
}
