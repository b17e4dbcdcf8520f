//! `LatchkeyService`: the account flows behind the server functions. It parses input into domain
//! types, asks the pure rules (`lockout`, `codes`, `sessions`) what to do, and applies each
//! transition, with any message it sends, in one write transaction.
//!
//! Unknown emails are answered exactly like real ones: the same error for a wrong password (after
//! the same argon2 work), and a decoy phone ending, derived from the email with the server secret,
//! wherever a real ending would be shown.

mod account;
mod admin;
mod codes;
mod decoys;
mod recovery;
mod second_step;
mod sign_in;
mod sign_up;

use crate::auth::audit::AuditKind;
use crate::auth::codes::{CodeHasher, ScopePolicies};
use crate::auth::lockout::{LockState, LockoutPolicy};
use crate::auth::password_hasher::{Overloaded, PasswordHasher};
use crate::auth::second_factor::{ElevationPolicy, SignInCodePolicy};
use crate::auth::secret::ServerSecret;
use crate::auth::send_limits::SendLimits;
use crate::auth::sessions::SessionPolicy;
use crate::auth::trusted_devices::DevicePolicy;
use crate::clock::Clock;
use crate::domain::{Email, PhoneRegion};
use crate::sms::code_service::CodeIssuers;
use crate::sms::destinations::DestinationPolicy;
use crate::sms::templates::MessageTemplates;
use crate::store::{email_lock_key, AccountRecord, NewAuditEvent, Store, WriteScope, WriteTx};
use app::error::{AppError, Field, FieldError};
use app::ssr::AccountService;
use app::ssr::{
    LoginResult, OpenedSession, PendingStep, PhoneVerified, RequestContext, SignupForm,
};
use app::types::{
    AccountSummary, AccountView, AdminAccess, AdminAccountView, AdminAction, CodeDelivery,
    CodeScope, CodeSent, FieldCheck,
};
use async_trait::async_trait;
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
    /// `CODE_ISSUER`: the scopes whose codes a managed verification service issues and checks.
    pub issuers: CodeIssuers,
}

/// A sign-in refused before hashing because the queue is too long. Logged at most once a
/// second, with how many were refused since the last line: a flood must not flood the log too.
pub(super) fn busy(overloaded: Overloaded, now: OffsetDateTime) -> AppError {
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

/// Why a step of a flow did not go through: a refusal the person is told about, or a fault of
/// the server. `?` turns a store's or the database's error into a fault and an `AppError` into a
/// refusal; the flow's answer becomes an `AppError` once, in the table of contents below, where a
/// fault is logged and hidden from the client (`internal`).
#[derive(Debug)]
pub(super) enum FlowError {
    Refused(AppError),
    Internal(anyhow::Error),
    /// The step reached a rule that spans accounts (the send limits) in a transaction that
    /// keeps out only one account's writes: nothing was kept; the flow runs again in a
    /// transaction of `WriteScope::Everything` (see `LatchkeyService::widening`).
    NeedsEverything,
}

pub(super) type FlowResult<T> = Result<T, FlowError>;

impl From<AppError> for FlowError {
    fn from(error: AppError) -> Self {
        Self::Refused(error)
    }
}

impl From<anyhow::Error> for FlowError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

impl From<sqlx::Error> for FlowError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.into())
    }
}

impl From<FlowError> for AppError {
    fn from(error: FlowError) -> Self {
        match error {
            FlowError::Refused(error) => error,
            FlowError::Internal(error) => internal(error),
            FlowError::NeedsEverything => internal(anyhow::anyhow!(
                "a step needed a wider write lock and was not run again"
            )),
        }
    }
}

/// One request's write, the unit of work of a flow: its transaction, the request it serves, and
/// the time it happens at (read once, so that every row it writes agrees). A flow opens one with
/// `LatchkeyService::step`, hands it to the helpers that write, and ends it with `commit`;
/// dropped without, it rolls back.
pub(super) struct Step<'a> {
    pub(super) tx: WriteTx,
    pub(super) ctx: &'a RequestContext,
    pub(super) now: OffsetDateTime,
}

impl Step<'_> {
    /// Records a security event of this request, with its client IP and user agent.
    pub(super) async fn audit(
        &mut self,
        kind: AuditKind,
        account_id: Option<i64>,
        detail: Option<&str>,
    ) -> FlowResult<()> {
        let event = event_of(self.ctx, kind, account_id, detail);
        Ok(Store::record_event(&mut self.tx, event, self.now).await?)
    }

    /// Saves the lock state of account `account_id` and records `kind` about it, as `audit`
    /// does: one round trip to the database where it can be (`Store::save_lock_state_recording`).
    pub(super) async fn save_lock_state_and_audit(
        &mut self,
        account_id: i64,
        state: LockState,
        kind: AuditKind,
        detail: Option<&str>,
    ) -> FlowResult<()> {
        let event = event_of(self.ctx, kind, Some(account_id), detail);
        Ok(
            Store::save_lock_state_recording(&mut self.tx, account_id, state, event, self.now)
                .await?,
        )
    }

    /// Records a sign-in of account `account_id` (`Store::record_login_recording`) and its
    /// `LoginSucceeded` event (with `detail`), in one round trip where the database allows.
    pub(super) async fn record_login_and_audit(
        &mut self,
        account_id: i64,
        detail: Option<&str>,
    ) -> FlowResult<()> {
        let event = event_of(
            self.ctx,
            AuditKind::LoginSucceeded,
            Some(account_id),
            detail,
        );
        Ok(Store::record_login_recording(&mut self.tx, account_id, event, self.now).await?)
    }

    pub(super) async fn commit(self) -> FlowResult<()> {
        Ok(self.tx.commit().await?)
    }
}

/// An event of request `ctx`, with its client IP and user agent.
fn event_of<'e>(
    ctx: &'e RequestContext,
    kind: AuditKind,
    account_id: Option<i64>,
    detail: Option<&'e str>,
) -> NewAuditEvent<'e> {
    NewAuditEvent {
        kind,
        account_id,
        detail,
        client_ip: ctx.client_ip,
        user_agent: ctx.user_agent.as_deref(),
        actor_id: None,
    }
}

/// Logs a failure once, here at the boundary, and hides its details from the client: the
/// database being unable to work now (see `store::is_unavailable`) is `503` with a wait, anything
/// else `500`.
pub(crate) fn internal(error: anyhow::Error) -> AppError {
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
pub(super) const STORAGE_RETRY_AFTER_SECS: u64 = 5;

/// Gathers every field's problem so that a form is answered with all of them at once.
#[derive(Default)]
pub(super) struct FieldErrors(Vec<FieldError>);

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

pub(super) fn parse_email(input: &str) -> Result<Email, AppError> {
    Email::parse(input).map_err(|error| AppError::field(Field::Email, error.to_string()))
}

pub(super) fn format_time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

impl LatchkeyService {
    /// The account with this email, read inside the caller's transaction.
    pub(super) async fn account_for(
        &self,
        tx: &mut WriteTx,
        email: &Email,
    ) -> FlowResult<Option<AccountRecord>> {
        Store::account_by_email(tx, email)
            .await
            .map_err(FlowError::from)
    }

    /// Records a security event that happens outside any transaction.
    pub(super) async fn audit_alone(
        &self,
        kind: AuditKind,
        account_id: Option<i64>,
        ctx: &RequestContext,
        detail: Option<&str>,
    ) -> FlowResult<()> {
        let mut step = self.step(ctx).await?;
        step.audit(kind, account_id, detail).await?;
        step.commit().await
    }

    /// Opens the write of request `ctx`, at the time now (read before the write lock is taken).
    pub(super) async fn step<'a>(&self, ctx: &'a RequestContext) -> FlowResult<Step<'a>> {
        self.step_in(ctx, WriteScope::Everything).await
    }

    /// A step that keeps out only the writes of `scope` (see `store::WriteScope`).
    pub(super) async fn step_in<'a>(
        &self,
        ctx: &'a RequestContext,
        scope: WriteScope,
    ) -> FlowResult<Step<'a>> {
        let tx = self
            .store
            .begin_write_in(scope)
            .await
            .map_err(FlowError::from)?;
        let now = self.clock.now();
        Ok(Step { tx, ctx, now })
    }

    /// A step for the account with `email`, keeping out only that account's writes (or, for an
    /// email with no account, that email's), and the account as read inside it. Should the
    /// account have appeared, gone or changed its email between the look-up that chose the locks
    /// and the read inside them, the step is taken again for `Everything`.
    pub(super) async fn step_for_email<'a>(
        &self,
        ctx: &'a RequestContext,
        email: &Email,
    ) -> FlowResult<(Step<'a>, Option<AccountRecord>)> {
        let unknown_key = email_lock_key(&self.email_key(email));
        let (tx, account) = self
            .store
            .begin_write_for_email(email.normalized(), unknown_key)
            .await?;
        let step = Step {
            tx,
            ctx,
            now: self.clock.now(),
        };
        if self.scope_of(email, account.as_ref()) == step.tx.scope() {
            return Ok((step, account));
        }
        drop(step);
        let mut step = self.step(ctx).await?;
        let account = self.account_for(&mut step.tx, email).await?;
        Ok((step, account))
    }

    /// The write scope of a step about `email`, whose account is `account`.
    fn scope_of(&self, email: &Email, account: Option<&AccountRecord>) -> WriteScope {
        match account {
            Some(account) => WriteScope::Account(account.id),
            None => WriteScope::Email(email_lock_key(&self.email_key(email))),
        }
    }

    /// Runs `run` in the write scope `first`, and once more in `Everything` if it reached a rule
    /// that spans accounts.
    pub(super) async fn widening<'a, T, F, Fut>(
        &self,
        first: WriteScope,
        mut run: F,
    ) -> FlowResult<T>
    where
        F: FnMut(WriteScope) -> Fut,
        Fut: std::future::Future<Output = FlowResult<T>> + 'a,
    {
        match run(first).await {
            Err(FlowError::NeedsEverything) if first != WriteScope::Everything => {
                run(WriteScope::Everything).await
            }
            other => other,
        }
    }
}

/// The table of contents: each flow is a function in the file its line names.
#[async_trait]
impl AccountService for LatchkeyService {
    #[tracing::instrument(skip_all)]
    async fn sign_up(
        &self,
        ctx: &RequestContext,
        form: SignupForm,
    ) -> Result<PendingStep, AppError> {
        sign_up::sign_up(self, ctx, form)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn log_in(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: &str,
    ) -> Result<LoginResult, AppError> {
        sign_in::log_in(self, ctx, email, password)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn unlock(&self, ctx: &RequestContext, email: &str, code: &str) -> Result<(), AppError> {
        recovery::unlock(self, ctx, email, code)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn resend_unlock_code(
        &self,
        ctx: &RequestContext,
        email: &str,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        recovery::resend_unlock_code(self, ctx, email, channel)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn request_password_reset(
        &self,
        ctx: &RequestContext,
        email: &str,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        recovery::request_password_reset(self, ctx, email, channel)
            .await
            .map_err(AppError::from)
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
        recovery::reset_password(self, ctx, email, code, new_password, new_password_confirm)
            .await
            .map_err(AppError::from)
    }

    fn check_email(&self, email: &str) -> Result<String, AppError> {
        sign_up::check_email(email)
    }

    async fn check_signup_field(
        &self,
        field: &str,
        value: &str,
        form: SignupForm,
    ) -> Result<FieldCheck, AppError> {
        sign_up::check_signup_field(self, field, value, form)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn log_out(&self, ctx: &RequestContext) -> Result<String, AppError> {
        sign_in::log_out(self, ctx).await.map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn code_delivery(
        &self,
        ctx: &RequestContext,
        email: Option<&str>,
        scope: CodeScope,
    ) -> Result<CodeDelivery, AppError> {
        account::code_delivery(self, ctx, email, scope)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn set_delivery_channel(
        &self,
        ctx: &RequestContext,
        channel: &str,
    ) -> Result<(), AppError> {
        account::set_delivery_channel(self, ctx, channel)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn current_account(&self, ctx: &RequestContext) -> Result<AccountView, AppError> {
        account::current_account(self, ctx)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn forget_device(&self, ctx: &RequestContext, device_id: i64) -> Result<(), AppError> {
        account::forget_device(self, ctx, device_id)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn verify_phone(
        &self,
        ctx: &RequestContext,
        code: &str,
    ) -> Result<PhoneVerified, AppError> {
        second_step::verify_phone(self, ctx, code)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn send_phone_verification(
        &self,
        ctx: &RequestContext,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        second_step::send_phone_verification(self, ctx, channel)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn finish_sign_in(
        &self,
        ctx: &RequestContext,
        code: &str,
    ) -> Result<OpenedSession, AppError> {
        second_step::finish_sign_in(self, ctx, code)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn resend_sign_in_code(
        &self,
        ctx: &RequestContext,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError> {
        second_step::resend_sign_in_code(self, ctx, channel)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn set_sign_in_code(&self, ctx: &RequestContext, enabled: bool) -> Result<(), AppError> {
        second_step::set_sign_in_code(self, ctx, enabled)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn start_phone_change(
        &self,
        ctx: &RequestContext,
        current_password: &str,
        new_phone: &str,
    ) -> Result<CodeSent, AppError> {
        second_step::start_phone_change(self, ctx, current_password, new_phone)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn confirm_phone_change(&self, ctx: &RequestContext, code: &str) -> Result<(), AppError> {
        second_step::confirm_phone_change(self, ctx, code)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn admin_gate(&self, ctx: &RequestContext) -> Result<AdminAccess, AppError> {
        admin::admin_gate(self, ctx).await.map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn send_admin_code(&self, ctx: &RequestContext) -> Result<CodeSent, AppError> {
        admin::send_admin_code(self, ctx)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn admin_step_up(&self, ctx: &RequestContext, code: &str) -> Result<(), AppError> {
        admin::admin_step_up(self, ctx, code)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn admin_search(
        &self,
        ctx: &RequestContext,
        query: &str,
    ) -> Result<Vec<AccountSummary>, AppError> {
        admin::admin_search(self, ctx, query)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn admin_account(
        &self,
        ctx: &RequestContext,
        account_id: i64,
    ) -> Result<AdminAccountView, AppError> {
        admin::admin_account(self, ctx, account_id)
            .await
            .map_err(AppError::from)
    }

    #[tracing::instrument(skip_all)]
    async fn admin_act(
        &self,
        ctx: &RequestContext,
        account_id: i64,
        action: AdminAction,
    ) -> Result<(), AppError> {
        admin::admin_act(self, ctx, account_id, action)
            .await
            .map_err(AppError::from)
    }
}
