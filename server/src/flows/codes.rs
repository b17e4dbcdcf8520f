//! Codes: issuing one (after the send limits), queueing its message, and redeeming one; and the
//! notices texted after a password or phone change. Where a managed verification service issues
//! a scope's codes (`CODE_ISSUER`), its message is handed to the service, and a code entered is
//! put to the service before the write transaction that redeems it.

use super::recovery::recovery_binding;
use super::{FlowError, FlowResult, LatchkeyService, Step};
use crate::auth::audit::AuditKind;
use crate::auth::codes::{CodePolicy, CodeVerdict, ServiceAnswer};
use crate::auth::send_limits::{LimitKind, SendDecision, SendPriority, WINDOW};
use crate::domain::{CodeScope, PhoneNumber, VerificationCode};
use crate::sms::code_service::VerificationCheck;
use crate::sms::{within, DeliveryChannel, SendError};
use crate::store::{AccountRecord, NewMessage, Store, StoredCode, WriteScope, WriteTx};
use app::error::{AppError, Field};
use app::types::{CodeSent, PhoneEnding};
use time::OffsetDateTime;

/// What a submitted code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CodeCheck {
    Accepted,
    /// The right code, after its lifetime.
    Expired,
    /// Wrong, spent, or there was none.
    Wrong,
}

/// What a verification service answered for one of its verifications.
#[derive(Debug, Clone)]
pub(super) struct ServiceAnswerFor {
    pub(super) verification_id: String,
    pub(super) answer: ServiceAnswer,
}

/// The wait suggested when a verification service cannot check a code.
const ISSUER_RETRY_AFTER_SECS: u64 = 30;

/// A code to issue: for which account, to which number (the account's own, or a new one being
/// confirmed), in which scope, and by which channel.
pub(super) struct CodeRequest<'a> {
    pub(super) account: &'a AccountRecord,
    pub(super) to: &'a PhoneNumber,
    pub(super) scope: CodeScope,
    pub(super) channel: DeliveryChannel,
    /// The browser the code is bound to (`""`: unbound; see `recovery_binding`).
    pub(super) binding: &'a str,
    pub(super) priority: SendPriority,
    /// Asked for by someone who has not shown the password (the unlock and reset pages).
    pub(super) anonymous: bool,
}

impl<'a> CodeRequest<'a> {
    /// A code to the account's own phone.
    pub(super) fn to_account(
        account: &'a AccountRecord,
        scope: CodeScope,
        channel: DeliveryChannel,
    ) -> Self {
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
    pub(super) fn bound_to(self, binding: &'a str) -> Self {
        Self {
            binding,
            anonymous: true,
            ..self
        }
    }

    pub(super) fn with_priority(self, priority: SendPriority) -> Self {
        Self { priority, ..self }
    }
}

/// How a message is weighed against the send limits.
#[derive(Debug, Clone, Copy)]
pub(super) struct SendTerms {
    pub(super) priority: SendPriority,
    /// Asked for by someone who has not shown the password: limits that reflect others'
    /// requests are not told (see `SendLimits::decide_for_stranger`).
    pub(super) anonymous: bool,
}

/// What the send limits say of one message.
pub(super) enum SendCheck {
    Allowed,
    /// Held back by a limit the requester may not be told of: answered as sent, nothing sent.
    Quiet(LimitKind),
    /// Held back: the error says how long to wait.
    Refused(LimitKind, AppError),
}

/// A security notice sent by text message (not a code).
#[derive(Debug, Clone)]
pub(super) enum Notice {
    PasswordChanged,
    /// To the old number, after a change to a number ending in `new_ending`.
    PhoneChanged {
        new_ending: PhoneEnding,
    },
}

impl LatchkeyService {
    pub(super) fn parse_code(
        &self,
        scope: CodeScope,
        input: &str,
    ) -> Result<VerificationCode, AppError> {
        VerificationCode::parse(input, self.code_policies.get(scope).length)
            .map_err(|error| AppError::field(Field::Code, error.to_string()))
    }

    /// A channel asked for in a request (`sms` or `voice`; empty: none), checked against what
    /// this server can do.
    pub(super) fn requested_channel(
        &self,
        input: Option<&str>,
    ) -> Result<Option<DeliveryChannel>, AppError> {
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
    pub(super) fn preferred_channel(&self, account: &AccountRecord) -> DeliveryChannel {
        match account.delivery_channel {
            DeliveryChannel::Voice if self.voice_available => DeliveryChannel::Voice,
            _ => DeliveryChannel::Sms,
        }
    }

    /// Issues the requested code, replacing any earlier one of its scope, and queues its message;
    /// all inside the caller's transaction, after the send limits allow it. The caller wakes the
    /// worker after committing. `Ok(Err(..))` when a limit holds: nothing was issued or queued.
    pub(super) async fn issue(
        &self,
        step: &mut Step<'_>,
        request: CodeRequest<'_>,
    ) -> FlowResult<Result<(), AppError>> {
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
            step.audit(
                AuditKind::LimitHit,
                Some(account.id),
                Some("destination refused"),
            )
            .await?;
            return Ok(Err(AppError::UndeliverablePhone));
        }
        let check = self
            .check_send_limits(
                step,
                Some(account.id),
                to.e164(),
                SendTerms {
                    priority,
                    anonymous,
                },
            )
            .await?;
        if let SendCheck::Refused(limit, _) | SendCheck::Quiet(limit) = &check {
            step.audit(AuditKind::LimitHit, Some(account.id), Some(limit.as_str()))
                .await?;
        }
        match check {
            SendCheck::Allowed => {}
            // An anonymous requester is not told that others have used up the account's hour:
            // that would tell them the account exists and is busy. Nothing is sent.
            SendCheck::Quiet(_) => return Ok(Ok(())),
            SendCheck::Refused(_, error) => return Ok(Err(error)),
        }
        let policy = self.code_policies.get(purpose);
        let issued = policy.issue(&self.code_hasher, account.id, purpose, step.now);
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
        // With a verification service, the service sends a code of its own; this one goes out
        // only if the service cannot (see `sms::worker`).
        let code_service = self
            .issuers
            .for_scope(purpose)
            .map(|service| service.name());
        let message_id = Store::enqueue_message(
            &mut step.tx,
            NewMessage {
                account_id: Some(account.id),
                to_phone: to.e164(),
                body: &body,
                purpose: purpose.as_str(),
                channel,
                fallback_body,
                client_ip: step.ctx.client_ip,
                client_network: step.ctx.client_network,
                allowance: priority.allowance(),
                code_service,
            },
            step.now,
        )
        .await?;
        Store::replace_code(
            &mut step.tx,
            (account.id, purpose, binding),
            &issued,
            Some(message_id),
            step.now,
        )
        .await?;
        step.audit(
            AuditKind::CodeSent,
            Some(account.id),
            Some(purpose.as_str()),
        )
        .await?;
        Ok(Ok(()))
    }

    /// Redeems `code` for `account` (looked up by email, `None` if there is none): the account when
    /// the code is accepted (and consumed); `None` when there is no such account or the code is
    /// wrong, expired or spent, with the rejection recorded. All inside the caller's transaction.
    pub(super) async fn redeem_code(
        &self,
        step: &mut Step<'_>,
        account: Option<AccountRecord>,
        purpose: CodeScope,
        code: &VerificationCode,
        answers: &[ServiceAnswerFor],
    ) -> FlowResult<Result<AccountRecord, AppError>> {
        let check = match &account {
            Some(account) => {
                self.consume_code(
                    &mut step.tx,
                    (account.id, purpose, recovery_binding(purpose, step.ctx)),
                    code,
                    answers,
                    step.now,
                )
                .await?
            }
            None => CodeCheck::Wrong,
        };
        let account_id = account.as_ref().map(|account| account.id);
        let refusal = match (check, account) {
            (CodeCheck::Accepted, Some(account)) => return Ok(Ok(account)),
            (CodeCheck::Expired, _) => AppError::ExpiredCode,
            _ => AppError::InvalidCode,
        };
        step.audit(AuditKind::CodeRejected, account_id, Some(purpose.as_str()))
            .await?;
        tracing::info!(account_id, purpose = purpose.as_str(), "code rejected");
        Ok(Err(refusal))
    }

    /// Issues the requested code, commits, and wakes the worker: the answer to "send me a code".
    pub(super) async fn send_code_now(
        &self,
        mut step: Step<'_>,
        request: CodeRequest<'_>,
    ) -> FlowResult<CodeSent> {
        let (account_id, scope, phone_ending) =
            (request.account.id, request.scope, request.to.ending());
        let sent = self.issue(&mut step, request).await?;
        step.commit().await?;
        sent?;
        self.delivery.notify_one();
        tracing::info!(account_id, scope = scope.as_str(), "code queued");
        Ok(CodeSent { phone_ending })
    }

    /// `redeem_code` for a known account: the transaction and the account when the code is
    /// accepted; otherwise the rejection (and the spent try) is committed and the answer is
    /// `InvalidCode`, or `ExpiredCode` for the right code too late. For a scope a verification
    /// service issues, the service is asked first, outside the transaction: `step` is given up
    /// while it answers, and the account read again in the transaction that follows.
    pub(super) async fn redeem_or_refuse<'a>(
        &self,
        step: Step<'a>,
        account: Option<AccountRecord>,
        scope: CodeScope,
        code: &VerificationCode,
    ) -> FlowResult<(Step<'a>, AccountRecord)> {
        let (mut step, account, answers) = self.ask_issuer(step, account, scope, code).await?;
        match self
            .redeem_code(&mut step, account, scope, code, &answers)
            .await?
        {
            Ok(account) => Ok((step, account)),
            Err(refusal) => {
                step.commit().await?;
                Err(refusal.into())
            }
        }
    }

    /// For a scope a verification service issues: the service's answers for the account's live
    /// codes it sent that this browser may use, asked with no transaction open. A check that has
    /// no code to ask about (an unknown email, no live code) waits as long as checks lately took,
    /// so that its timing tells nothing. A service that cannot answer refuses the request, with
    /// nothing spent.
    async fn ask_issuer<'a>(
        &self,
        mut step: Step<'a>,
        account: Option<AccountRecord>,
        scope: CodeScope,
        code: &VerificationCode,
    ) -> FlowResult<(Step<'a>, Option<AccountRecord>, Vec<ServiceAnswerFor>)> {
        if self.issuers.for_scope(scope).is_none() {
            return Ok((step, account, Vec::new()));
        }
        let to_check = match &account {
            Some(account) => {
                let binding = recovery_binding(scope, step.ctx);
                Store::codes_to_check(&mut step.tx, account.id, scope, binding, step.now).await?
            }
            None => Vec::new(),
        };
        let (ctx, write_scope) = (step.ctx, step.tx.scope());
        // The write lock is not held while a service answers.
        drop(step);
        let mut answers = Vec::new();
        if to_check.is_empty() {
            tokio::time::sleep(self.issuers.usual_check_time(scope)).await;
        }
        for candidate in &to_check {
            let Some(service) = self.issuers.by_name(&candidate.verification.service) else {
                continue;
            };
            let request = VerificationCheck {
                to: &candidate.to_phone,
                verification_id: &candidate.verification.verification_id,
                code: code.expose(),
                age: (self.clock.now() - candidate.created_at)
                    .try_into()
                    .unwrap_or_default(),
            };
            let started = std::time::Instant::now();
            let limit = self.issuers.timeout_of(service.name());
            let answer = within(service.name(), limit, service.check(&request)).await;
            self.issuers.record_check(service.name(), started.elapsed());
            let answer = answer.map_err(|error| self.issuer_unavailable(service.name(), &error))?;
            answers.push(ServiceAnswerFor {
                verification_id: candidate.verification.verification_id.clone(),
                answer,
            });
            if answer == ServiceAnswer::Approved {
                break;
            }
        }
        let mut step = self.step_in(ctx, write_scope).await?;
        let account = match account {
            Some(account) => Store::account_by_id(&mut step.tx, account.id).await?,
            None => None,
        };
        Ok((step, account, answers))
    }

    fn issuer_unavailable(&self, service: &str, error: &SendError) -> FlowError {
        tracing::warn!(service, %error, "the verification service could not check a code: nothing was counted");
        let retry_after_secs = match error {
            SendError::RateLimited {
                retry_after: Some(wait),
            } => wait.as_secs().clamp(1, 300),
            _ => ISSUER_RETRY_AFTER_SECS,
        };
        AppError::CodeServiceUnavailable { retry_after_secs }.into()
    }

    /// Applies the send limits to a message for `account_id` at `to_phone` (see `SendCheck`).
    pub(super) async fn check_send_limits(
        &self,
        step: &mut Step<'_>,
        account_id: Option<i64>,
        to_phone: &str,
        SendTerms {
            priority,
            anonymous,
        }: SendTerms,
    ) -> FlowResult<SendCheck> {
        // The limits count every account's messages: only a step that keeps out every other
        // write may judge them.
        if step.tx.scope() != WriteScope::Everything {
            return Err(FlowError::NeedsEverything);
        }
        // Row ids start at 1: 0 matches no account.
        let recent = Store::recent_sends(
            &mut step.tx,
            account_id.unwrap_or(0),
            to_phone,
            step.ctx.client_network,
            priority.allowance(),
            step.now - WINDOW,
        )
        .await?;
        let decision = if anonymous {
            match self
                .send_limits
                .decide_for_stranger(recent, priority, step.now)
            {
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
            self.send_limits.decide(recent, priority, step.now)
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

    /// Judges `code` against the account's live codes for `purpose` that this browser may use:
    /// the one bound to `binding` (if not `""`) and the unbound one. Accepted if it matches
    /// either: both are then used up, since the purpose is done and a code left over must not do
    /// it again (reset the password once more, within its hour). A wrong code spends a try of the
    /// browser's own code if it has one, else of the unbound one, and leaves the other as it was.
    /// A code a verification service sent is judged by the service's answer in `answers`.
    pub(super) async fn consume_code(
        &self,
        tx: &mut WriteTx,
        (account_id, purpose, binding): (i64, CodeScope, &str),
        code: &VerificationCode,
        answers: &[ServiceAnswerFor],
        now: OffsetDateTime,
    ) -> FlowResult<CodeCheck> {
        // Taken out of the table at once; put back unless spent or used.
        let (own, unbound) = Store::take_codes(tx, account_id, purpose, binding).await?;
        let submitted = self.code_hasher.hash(account_id, purpose, code);
        let verdicts: Vec<(&str, StoredCode, CodeVerdict)> = [
            own.map(|stored| (binding, stored)),
            unbound.map(|stored| ("", stored)),
        ]
        .into_iter()
        .flatten()
        .map(|(binding, stored)| {
            let verdict = match &stored.service {
                None => CodePolicy::judge(&stored.active, &submitted, now),
                Some(verification) => {
                    // Not asked (the service was asked about the other code, or is gone): wrong.
                    let answer = answers
                        .iter()
                        .find(|answer| answer.verification_id == verification.verification_id)
                        .map_or(ServiceAnswer::Wrong, |answer| answer.answer);
                    CodePolicy::judge_answer(&stored.active, answer, now)
                }
            };
            (binding, stored, verdict)
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
        // Taken out already: an accepted code puts nothing back.
        if outcome == CodeCheck::Accepted {
            return Ok(outcome);
        }
        // The code that pays for a wrong entry: the browser's own, else the unbound one.
        let spender = match outcome {
            CodeCheck::Wrong => verdicts.first().map(|(binding, ..)| *binding),
            _ => None,
        };
        for (code_binding, stored, verdict) in &verdicts {
            let tries_left = match verdict {
                // Used, or past its lifetime: gone either way.
                CodeVerdict::Accepted | CodeVerdict::Expired | CodeVerdict::WrongAfterExpiry => {
                    continue
                }
                CodeVerdict::WrongAndSpent if spender == Some(*code_binding) => continue,
                CodeVerdict::Wrong { tries_left } if spender == Some(*code_binding) => *tries_left,
                // Not the one judged: back as it was.
                CodeVerdict::Wrong { .. } | CodeVerdict::WrongAndSpent => stored.active.tries_left,
            };
            Store::restore_code(tx, (account_id, purpose, code_binding), stored, tries_left)
                .await?;
        }
        Ok(outcome)
    }

    /// Queues a notice to the account's phone (subject to the destination guard, not to the send
    /// limits: notices follow actions that already needed a code). True if queued.
    pub(super) async fn queue_notice(
        &self,
        step: &mut Step<'_>,
        account: &AccountRecord,
        notice: Notice,
    ) -> FlowResult<bool> {
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
            &mut step.tx,
            NewMessage {
                account_id: Some(account.id),
                to_phone: account.phone.e164(),
                body: &body,
                purpose,
                channel: DeliveryChannel::Sms,
                fallback_body: None,
                client_ip: step.ctx.client_ip,
                client_network: step.ctx.client_network,
                allowance: SendPriority::Normal.allowance(),
                code_service: None,
            },
            step.now,
        )
        .await?;
        Ok(true)
    }
}
