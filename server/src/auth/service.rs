//! `LatchkeyService`: the account flows behind the server functions. It parses input into domain
//! types, asks the pure rules (`lockout`, `codes`, `sessions`) what to do, and applies each
//! transition, with any message it sends, in one write transaction.
//!
//! Unknown emails are answered exactly like real ones: the same error for a wrong password (after
//! the same argon2 work), and a decoy phone ending, derived from the email with the server secret,
//! wherever a real ending would be shown.

use super::codes::{CodeHasher, CodePolicy, CodeVerdict};
use super::lockout::{FailureOutcome, LockoutPolicy};
use super::password_hasher::PasswordHasher;
use super::secret::ServerSecret;
use super::send_limits::{SendDecision, SendLimits, WINDOW};
use super::sessions::{hash_token, SessionCheck, SessionPolicy, SessionToken};
use crate::clock::Clock;
use crate::domain::{
    CodePurpose, Email, Password, PersonName, PhoneNumber, PhoneRegion, VerificationCode,
};
use crate::sms::destinations::DestinationPolicy;
use crate::sms::templates::MessageTemplates;
use crate::store::{AccountRecord, NewAccount, NewMessage, Store, WriteTx};
use app::error::{AppError, Field, FieldError};
use app::ssr::{AccountService, LoginResult, OpenedSession, RequestContext, SignupForm};
use app::types::{AccountView, CodeSent, PhoneEnding};
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
    pub code_policy: CodePolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    pub send_limits: SendLimits,
    pub destinations: DestinationPolicy,
    pub templates: MessageTemplates,
    pub secret: ServerSecret,
    pub phone_region: PhoneRegion,
    pub clock: Arc<dyn Clock>,
    /// Wakes the delivery worker after a message is queued.
    pub delivery: Arc<Notify>,
}

/// Logs an unexpected failure once, here at the boundary, and hides it from the client.
fn internal(error: anyhow::Error) -> AppError {
    tracing::error!(error = format!("{error:#}"), "request failed");
    AppError::Internal
}

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

    fn parse_code(&self, input: &str) -> Result<VerificationCode, AppError> {
        VerificationCode::parse(input, self.code_policy.length)
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

    async fn begin(&self) -> Result<WriteTx, AppError> {
        self.store.begin_write().await.map_err(internal)
    }

    /// Issues a code for `purpose`, replacing any earlier one, and queues its message; all inside
    /// the caller's transaction, after the send limits allow it. The caller wakes the worker after
    /// committing. `Ok(Err(..))` when a limit holds: nothing was issued or queued.
    async fn issue_code(
        &self,
        tx: &mut WriteTx,
        account: &AccountRecord,
        purpose: CodePurpose,
        ctx: &RequestContext,
        now: OffsetDateTime,
    ) -> anyhow::Result<Result<(), AppError>> {
        if self.destinations.check(&account.phone).is_err() {
            return Ok(Err(AppError::UndeliverablePhone));
        }
        let (target, ip, global) = Store::recent_sends(
            tx,
            account.id,
            account.phone.e164(),
            ctx.client_ip,
            now - WINDOW,
        )
        .await?;
        if let SendDecision::Refuse { limit, retry_after } =
            self.send_limits.decide(target, ip, global, now)
        {
            tracing::warn!(
                account_id = account.id,
                purpose = purpose.as_str(),
                limit = limit.as_str(),
                retry_after_secs = retry_after.whole_seconds(),
                "send limit hit: no code sent"
            );
            return Ok(Err(AppError::TooManyCodes {
                retry_after_secs: u64::try_from(retry_after.whole_seconds()).unwrap_or(1),
            }));
        }
        let issued = self
            .code_policy
            .issue(&self.code_hasher, account.id, purpose, now);
        Store::replace_code(tx, account.id, purpose, &issued, now).await?;
        let body = self.templates.code_message(purpose, &issued.code);
        Store::enqueue_message(
            tx,
            NewMessage {
                account_id: Some(account.id),
                to_phone: account.phone.e164(),
                body: &body,
                purpose: purpose.as_str(),
                client_ip: ctx.client_ip,
            },
            now,
        )
        .await?;
        Ok(Ok(()))
    }

    /// Judges `code` against the account's live code for `purpose` and records the outcome (a
    /// right or spent code is deleted, a wrong one loses a try). True when accepted.
    async fn consume_code(
        &self,
        tx: &mut WriteTx,
        account_id: i64,
        purpose: CodePurpose,
        code: &VerificationCode,
        now: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let Some(active) = Store::active_code(tx, account_id, purpose).await? else {
            return Ok(false);
        };
        let submitted = self.code_hasher.hash(account_id, purpose, code);
        match CodePolicy::judge(&active, &submitted, now) {
            CodeVerdict::Accepted => {
                Store::delete_code(tx, account_id, purpose).await?;
                Ok(true)
            }
            CodeVerdict::Expired | CodeVerdict::WrongAndSpent => {
                Store::delete_code(tx, account_id, purpose).await?;
                Ok(false)
            }
            CodeVerdict::Wrong { tries_left } => {
                Store::set_code_tries_left(tx, account_id, purpose, tries_left).await?;
                Ok(false)
            }
        }
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
        Ok(OpenedSession {
            set_cookie: self.sessions.set_cookie(&token),
        })
    }

    async fn commit(&self, tx: WriteTx) -> Result<(), AppError> {
        tx.commit().await.map_err(|error| internal(error.into()))
    }
}

#[async_trait]
impl AccountService for LatchkeyService {
    #[tracing::instrument(skip_all)]
    async fn sign_up(
        &self,
        ctx: &RequestContext,
        form: SignupForm,
    ) -> Result<OpenedSession, AppError> {
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
        errors.into_result()?;
        let (Some(first_name), Some(last_name), Some(email), Some(phone), Some(password)) =
            (first_name, last_name, email, phone, password)
        else {
            return Err(AppError::Internal);
        };

        let password_hash = self.passwords.hash(&password).await.map_err(internal)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let account = NewAccount {
            email: &email,
            password_hash: &password_hash,
            phone: &phone,
            first_name: &first_name,
            last_name: &last_name,
        };
        let Some(account_id) = Store::insert_account(&mut tx, account, now)
            .await
            .map_err(internal)?
        else {
            return Err(AppError::EmailTaken);
        };
        Store::record_login(&mut tx, account_id, now)
            .await
            .map_err(internal)?;
        let session = self
            .open_session(&mut tx, account_id, ctx, now)
            .await
            .map_err(internal)?;
        self.commit(tx).await?;
        tracing::info!(account_id, "account created");
        Ok(session)
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

        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(|error| internal(error.into()))?;
        let found = Store::account_by_email(&mut conn, &email)
            .await
            .map_err(internal)?;
        drop(conn);
        let Some(account) = found else {
            self.passwords
                .verify_dummy(&password)
                .await
                .map_err(internal)?;
            return Err(AppError::InvalidCredentials);
        };
        if account.lock.is_locked() {
            // The password is not checked at all while locked, and no new code is sent.
            return Ok(LoginResult::Locked(account.phone.ending()));
        }

        let matches = self
            .passwords
            .verify(&password, &account.password_hash)
            .await
            .map_err(internal)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        // Re-read inside the write lock: another request may have locked the account or changed
        // the password while this one was hashing.
        let Some(current) = Store::account_by_id(&mut tx, account.id)
            .await
            .map_err(internal)?
        else {
            return Err(AppError::InvalidCredentials);
        };
        if current.lock.is_locked() {
            return Ok(LoginResult::Locked(current.phone.ending()));
        }
        if matches && current.password_hash == account.password_hash {
            Store::record_login(&mut tx, current.id, now)
                .await
                .map_err(internal)?;
            let session = self
                .open_session(&mut tx, current.id, ctx, now)
                .await
                .map_err(internal)?;
            self.commit(tx).await?;
            tracing::info!(account_id = current.id, "signed in");
            return Ok(LoginResult::SignedIn(session));
        }

        let (state, outcome) = self.lockout.after_failure(current.lock, now);
        Store::save_lock_state(&mut tx, current.id, state)
            .await
            .map_err(internal)?;
        match outcome {
            FailureOutcome::Counted { remaining } => {
                self.commit(tx).await?;
                tracing::info!(account_id = current.id, remaining, "failed sign-in counted");
                Err(AppError::InvalidCredentials)
            }
            FailureOutcome::JustLocked => {
                let sent = self
                    .issue_code(&mut tx, &current, CodePurpose::Unlock, ctx, now)
                    .await
                    .map_err(internal)?;
                self.commit(tx).await?;
                if sent.is_ok() {
                    self.delivery.notify_one();
                    tracing::warn!(
                        account_id = current.id,
                        "account locked after failed sign-ins; unlock code queued"
                    );
                } else {
                    // The lock stands; "Resend code" says when a code can be sent.
                    tracing::warn!(
                        account_id = current.id,
                        "account locked after failed sign-ins; unlock code held back by a send limit"
                    );
                }
                Ok(LoginResult::Locked(current.phone.ending()))
            }
            FailureOutcome::AlreadyLocked => {
                self.commit(tx).await?;
                Ok(LoginResult::Locked(current.phone.ending()))
            }
        }
    }

    #[tracing::instrument(skip_all)]
    async fn unlock(&self, _ctx: &RequestContext, email: &str, code: &str) -> Result<(), AppError> {
        let email = parse_email(email)?;
        let code = self.parse_code(code)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let Some(account) = self.account_for(&mut tx, &email).await? else {
            return Err(AppError::InvalidCode);
        };
        let accepted = self
            .consume_code(&mut tx, account.id, CodePurpose::Unlock, &code, now)
            .await
            .map_err(internal)?;
        if accepted {
            Store::save_lock_state(&mut tx, account.id, LockoutPolicy::cleared())
                .await
                .map_err(internal)?;
        }
        self.commit(tx).await?;
        if accepted {
            tracing::info!(account_id = account.id, "account unlocked with a code");
            Ok(())
        } else {
            tracing::info!(account_id = account.id, "unlock code rejected");
            Err(AppError::InvalidCode)
        }
    }

    #[tracing::instrument(skip_all)]
    async fn resend_unlock_code(
        &self,
        ctx: &RequestContext,
        email: &str,
    ) -> Result<CodeSent, AppError> {
        let email = parse_email(email)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let Some(account) = self.account_for(&mut tx, &email).await? else {
            return Ok(CodeSent {
                phone_ending: self.decoy_ending(&email),
            });
        };
        let locked = account.lock.is_locked();
        if locked {
            self.issue_code(&mut tx, &account, CodePurpose::Unlock, ctx, now)
                .await
                .map_err(internal)??;
        }
        self.commit(tx).await?;
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
    ) -> Result<CodeSent, AppError> {
        let email = parse_email(email)?;
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let Some(account) = self.account_for(&mut tx, &email).await? else {
            return Ok(CodeSent {
                phone_ending: self.decoy_ending(&email),
            });
        };
        self.issue_code(&mut tx, &account, CodePurpose::PasswordReset, ctx, now)
            .await
            .map_err(internal)??;
        self.commit(tx).await?;
        self.delivery.notify_one();
        tracing::info!(account_id = account.id, "password reset code queued");
        Ok(CodeSent {
            phone_ending: account.phone.ending(),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn reset_password(
        &self,
        _ctx: &RequestContext,
        email: &str,
        code: &str,
        new_password: &str,
        new_password_confirm: &str,
    ) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.check(Field::Email, Email::parse(email));
        let code = errors.check(
            Field::Code,
            VerificationCode::parse(code, self.code_policy.length),
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
        let Some(account) = self.account_for(&mut tx, &email).await? else {
            return Err(AppError::InvalidCode);
        };
        let accepted = self
            .consume_code(&mut tx, account.id, CodePurpose::PasswordReset, &code, now)
            .await
            .map_err(internal)?;
        if !accepted {
            self.commit(tx).await?;
            tracing::info!(account_id = account.id, "password reset code rejected");
            return Err(AppError::InvalidCode);
        }
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
        Store::save_lock_state(&mut tx, account.id, LockoutPolicy::cleared())
            .await
            .map_err(internal)?;
        Store::delete_code(&mut tx, account.id, CodePurpose::Unlock)
            .await
            .map_err(internal)?;
        let revoked = Store::delete_sessions_of(&mut tx, account.id)
            .await
            .map_err(internal)?;
        self.commit(tx).await?;
        tracing::info!(
            account_id = account.id,
            revoked_sessions = revoked,
            "password reset"
        );
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn log_out(&self, ctx: &RequestContext) -> Result<String, AppError> {
        if let Some(token) = &ctx.session_token {
            self.store
                .delete_session(hash_token(token))
                .await
                .map_err(internal)?;
        }
        Ok(self.sessions.clear_cookie())
    }

    #[tracing::instrument(skip_all)]
    async fn current_account(&self, ctx: &RequestContext) -> Result<AccountView, AppError> {
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
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(|error| internal(error.into()))?;
        let Some(account) = Store::account_by_id(&mut conn, session.account_id)
            .await
            .map_err(internal)?
        else {
            return Err(AppError::NotSignedIn);
        };
        Ok(AccountView {
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            masked_phone: account.phone.masked(),
            last_login_at: account.last_login_at.map(format_time),
            previous_login_at: account.previous_login_at.map(format_time),
        })
    }
}
