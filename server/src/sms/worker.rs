//! The delivery worker: claims due messages from the queue, sends each outside any transaction
//! through the provider its stage names, within that provider's timeout, then records the outcome:
//! sent, retried later with exponential backoff and jitter, moved on to the next provider, or
//! failed for good (and then, if configured, queued again as a call). Woken at once when a message
//! is queued, and by a poll otherwise.
//!
//! Sends run concurrently, bounded by `InFlightLimits`: at most `in_flight` at once, of which one
//! provider holds at most `per_provider`. A provider at its bound has its messages left in the
//! queue, so a provider that hangs holds back its own messages only, never another's.
//!
//! A code whose scope a managed verification service issues (`CODE_ISSUER`) is first handed to
//! that service, which sends a code of its own; if the service refuses it, or fails twice, the
//! message goes on as Latchkey's own code through the providers (when they are a fallback), or
//! fails.

use super::chain::ProviderChain;
use super::code_service::CodeIssuers;
use super::{within, DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::clock::Clock;
use crate::domain::CodeScope;
use crate::store::{ClaimedMessage, Failure, ServiceVerification, StageFilter, Store};
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use time::Duration;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

/// How many sends one instance has in flight at once (`SMS_MAX_IN_FLIGHT`), and how many of them
/// one provider may hold (`SMS_MAX_IN_FLIGHT_PER_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightLimits {
    pub in_flight: usize,
    pub per_provider: usize,
}

impl Default for InFlightLimits {
    fn default() -> Self {
        Self {
            in_flight: 32,
            per_provider: 16,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a message fails for good.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each later one.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a claimed message stays with its worker before another may take it over.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::seconds(2),
            max_delay: Duration::minutes(5),
            lease: Duration::minutes(2),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempts` (1-based), with ±25% jitter.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(20);
        let raw = self.base_delay * 2f64.powi(exponent as i32);
        let capped = if raw > self.max_delay {
            self.max_delay
        } else {
            raw
        };
        capped * (1.0 + jitter.clamp(-0.25, 0.25))
    }
}

/// What to do with a message after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep {
    /// Try the same provider again after this long.
    Retry(Duration),
    /// Go on to the provider at this stage, now.
    FailOver(usize),
    /// Give up: every provider was tried, or the number cannot receive messages.
    Fail,
}

impl RetryPolicy {
    /// The step after `error` on attempt `attempts` at stage `stage` of `stages`. A recipient that
    /// cannot receive is final (another provider would not help); refused credentials move on at
    /// once; anything else is retried until this provider's attempts run out, then moves on.
    pub fn next_step(
        &self,
        error: &SendError,
        attempts: u32,
        stage: usize,
        stages: usize,
        jitter: f64,
    ) -> NextStep {
        let move_on = || {
            if stage + 1 < stages {
                NextStep::FailOver(stage + 1)
            } else {
                NextStep::Fail
            }
        };
        match error {
            SendError::InvalidRecipient(_) => NextStep::Fail,
            SendError::Rejected(_) => move_on(),
            _ if attempts >= self.max_attempts => move_on(),
            SendError::RateLimited {
                retry_after: Some(after),
            } => NextStep::Retry(Duration::try_from(*after).unwrap_or(self.max_delay)),
            _ => NextStep::Retry(self.backoff(attempts, jitter)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionOutcome {
    TaskCompleted,
    EmptyQueue,
}

#[derive(Clone)]
pub struct DeliveryWorker {
    store: Store,
    providers: ProviderChain,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    limits: InFlightLimits,
    wake: Arc<Notify>,
    /// `SMS_VOICE_FALLBACK`: a text message that fails for good is queued again as a call.
    voice_fallback: bool,
    /// `INSTANCE_ID`: recorded on each claim, so that this instance, restarted, takes back what
    /// it held at once.
    instance: Arc<str>,
    /// The managed verification services that send some scopes' codes.
    issuers: CodeIssuers,
}

/// Attempts a verification service gets at a code before it goes out as Latchkey's own.
const SERVICE_ATTEMPTS: u32 = 2;

/// What the worker needs besides the store, the providers and the clock.
#[derive(Debug, Clone, Default)]
pub struct WorkerSettings {
    pub policy: RetryPolicy,
    pub limits: InFlightLimits,
    /// `SMS_VOICE_FALLBACK`.
    pub voice_fallback: bool,
    /// `INSTANCE_ID`.
    pub instance: String,
    /// `CODE_ISSUER`: the services that send some scopes' codes.
    pub issuers: CodeIssuers,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        providers: ProviderChain,
        clock: Arc<dyn Clock>,
        wake: Arc<Notify>,
        settings: WorkerSettings,
    ) -> Self {
        Self {
            store,
            providers,
            clock,
            policy: settings.policy,
            limits: settings.limits,
            wake,
            voice_fallback: settings.voice_fallback,
            instance: Arc::from(settings.instance),
            issuers: settings.issuers,
        }
    }

    /// At start: the messages this instance was sending when it stopped (a crash, a kill) are
    /// taken back at once rather than after their lease; being ambiguous, each is looked up at its
    /// provider before it is sent again.
    pub async fn release_in_flight(&self) -> anyhow::Result<u64> {
        let released = self
            .store
            .release_in_flight(&self.instance, self.clock.now())
            .await?;
        if released > 0 {
            tracing::warn!(
                released,
                instance = %self.instance,
                "messages this instance was sending when it stopped are taken back now"
            );
        }
        Ok(released)
    }

    /// Sends at most one due message, whatever its provider.
    pub async fn try_execute_task(&self) -> anyhow::Result<ExecutionOutcome> {
        let Some(message) = self.claim(&[], &[], &[]).await? else {
            return Ok(ExecutionOutcome::EmptyQueue);
        };
        self.deliver(message).await?;
        Ok(ExecutionOutcome::TaskCompleted)
    }

    /// The next due message, if there is one outside the `busy` stages and not for one of the
    /// `busy_services` (or to one of `captured`).
    async fn claim(
        &self,
        busy: &[StageFilter],
        busy_services: &[&str],
        captured: &[String],
    ) -> anyhow::Result<Option<ClaimedMessage>> {
        self.store
            .claim_next_message(
                self.clock.now(),
                self.policy.lease,
                &self.instance,
                busy,
                busy_services,
                captured,
            )
            .await
    }

    /// The verification service that is to send `message`: none for a test number's, whose
    /// messages stay on the server.
    fn service_for<'a>(&self, message: &'a ClaimedMessage) -> Option<&'a str> {
        message
            .code_service
            .as_deref()
            .filter(|_| !self.providers.is_test_number(&message.to_phone))
    }

    /// Hands a code to its verification service; records the outcome: sent (the code row now
    /// answers through the service), retried, handed to the providers, or failed.
    async fn deliver_by_service(&self, message: &ClaimedMessage, name: &str) -> anyhow::Result<()> {
        let now = self.clock.now();
        let service = self.issuers.by_name(name).cloned();
        let request = CodeScope::from_name(&message.purpose).and_then(|scope| {
            self.issuers
                .start_request(&message.to_phone, scope, message.channel, message.id)
        });
        let (Some(service), Some(request)) = (service, request) else {
            // The service is not configured any more (a restart with other settings).
            tracing::warn!(
                message_id = message.id,
                service = name,
                "the code's service is not configured: it goes out as Latchkey's own"
            );
            return self
                .store
                .fail_over_message(message.id, name, "service not configured", 0, now)
                .await;
        };
        let limit = self.issuers.timeout_of(name);
        let result = within(name, limit, service.start(&request)).await;
        let now = self.clock.now();
        let error = match result {
            Ok(verification_id) => {
                let verification = ServiceVerification {
                    service: name.to_owned(),
                    verification_id,
                };
                self.store
                    .attach_verification(message.id, &verification)
                    .await?;
                return self
                    .store
                    .mark_message_sent(
                        message.id,
                        service.name(),
                        Some(&verification.verification_id),
                        now,
                    )
                    .await;
            }
            Err(error) => error,
        };
        if matches!(error, SendError::Rejected(_)) {
            tracing::error!(message_id = message.id, service = name, %error, "the verification service rejected our credentials or configuration");
        }
        let policy = RetryPolicy {
            max_attempts: SERVICE_ATTEMPTS,
            ..self.policy
        };
        let jitter = rand::thread_rng().gen_range(-0.25..=0.25);
        match policy.next_step(&error, message.attempts, 0, 1, jitter) {
            NextStep::Retry(delay) => {
                tracing::warn!(message_id = message.id, service = name, %error, attempts = message.attempts, retry_in = %delay, "the verification service will be asked again");
                self.store
                    .schedule_message_retry(
                        message.id,
                        name,
                        &error.to_string(),
                        now + delay,
                        None,
                        now,
                    )
                    .await
            }
            NextStep::FailOver(_) | NextStep::Fail => {
                let unreachable = matches!(error, SendError::InvalidRecipient(_));
                if self.issuers.falls_back() && !unreachable {
                    tracing::warn!(message_id = message.id, service = name, %error, "the verification service did not send the code: Latchkey's own goes out through the SMS providers");
                    return self
                        .store
                        .fail_over_message(message.id, name, &error.to_string(), 0, now)
                        .await;
                }
                tracing::warn!(message_id = message.id, service = name, %error, "the verification service did not send the code, and there is no fallback");
                let failure = if unreachable {
                    Failure::Unreachable
                } else {
                    Failure::Undelivered
                };
                self.store
                    .mark_message_failed(message.id, name, &error.to_string(), failure, false, now)
                    .await
                    .map(|_| ())
            }
        }
    }

    /// Sends a claimed message and records the outcome.
    async fn deliver(&self, message: ClaimedMessage) -> anyhow::Result<()> {
        if let Some(name) = self.service_for(&message) {
            let name = name.to_owned();
            return self.deliver_by_service(&message, &name).await;
        }
        let now = self.clock.now();
        let stages = self.providers.stage_count(message.channel);
        let Some(sender) = self
            .providers
            .sender(&message.to_phone, message.channel, message.stage)
        else {
            tracing::error!(
                message_id = message.id,
                "no configured provider can place calls; the voice message failed"
            );
            self.store
                .mark_message_failed(
                    message.id,
                    "none",
                    "no configured provider places calls",
                    Failure::Undelivered,
                    false,
                    now,
                )
                .await?;
            return Ok(());
        };
        let outgoing = OutgoingSms {
            id: message.id,
            to: message.to_phone.clone(),
            body: message.body.clone(),
            purpose: message.purpose.clone(),
            channel: message.channel,
        };
        let provider = sender.name();
        let started = now;
        let limit = self.providers.timeout_of(sender.as_ref());
        let result = within(
            provider,
            limit,
            self.send(sender.as_ref(), &message, &outgoing),
        )
        .await;
        let now = self.clock.now();
        let error = match result {
            Ok(receipt) => {
                self.store
                    .mark_message_sent(
                        message.id,
                        provider,
                        receipt.provider_message_id.as_deref(),
                        now,
                    )
                    .await?;
                return Ok(());
            }
            Err(error) => error,
        };
        if matches!(error, SendError::Rejected(_)) {
            tracing::error!(message_id = message.id, provider, %error, "the SMS provider rejected our credentials or configuration");
        }
        let jitter = rand::thread_rng().gen_range(-0.25..=0.25);
        // A test number's capture has no next provider.
        let stages = if self.providers.is_test_number(&message.to_phone) {
            1
        } else {
            stages
        };
        match self
            .policy
            .next_step(&error, message.attempts, message.stage, stages, jitter)
        {
            NextStep::Retry(delay) => {
                tracing::warn!(message_id = message.id, provider, %error, attempts = message.attempts, retry_in = %delay, "message will be retried");
                self.store
                    .schedule_message_retry(
                        message.id,
                        provider,
                        &error.to_string(),
                        now + delay,
                        matches!(error, SendError::Ambiguous(_)).then_some(started),
                        now,
                    )
                    .await?;
            }
            NextStep::FailOver(next) => {
                tracing::warn!(message_id = message.id, provider, %error, attempts = message.attempts, "moving the message to the next provider");
                self.store
                    .fail_over_message(message.id, provider, &error.to_string(), next, now)
                    .await?;
            }
            NextStep::Fail => {
                let fall_back = self.voice_fallback
                    && message.channel == DeliveryChannel::Sms
                    && message.fallback_body.is_some()
                    && self.providers.voice_available();
                tracing::warn!(message_id = message.id, provider, %error, attempts = message.attempts, voice_fallback = fall_back, "message failed for good");
                let failure = if matches!(error, SendError::InvalidRecipient(_)) {
                    Failure::Unreachable
                } else {
                    Failure::Undelivered
                };
                let call = self
                    .store
                    .mark_message_failed(
                        message.id,
                        provider,
                        &error.to_string(),
                        failure,
                        fall_back,
                        now,
                    )
                    .await?;
                if let Some(call) = call {
                    tracing::info!(
                        message_id = message.id,
                        call_id = call,
                        "the code will be read out by a call instead"
                    );
                }
            }
        }
        Ok(())
    }

    /// One attempt at `sender`: after an attempt that got no answer, the provider is asked first
    /// whether it already has the message.
    async fn send(
        &self,
        sender: &dyn SmsSender,
        message: &ClaimedMessage,
        outgoing: &OutgoingSms,
    ) -> Result<SentReceipt, SendError> {
        let Some(since) = message.ambiguous_since else {
            return sender.send(outgoing).await;
        };
        match sender.find_sent(outgoing, since).await? {
            Some(receipt) => {
                tracing::info!(
                    message_id = message.id,
                    provider = sender.name(),
                    "the provider already had the message from an attempt that got no answer: not sent again"
                );
                Ok(receipt)
            }
            None => sender.send(outgoing).await,
        }
    }

    /// Sends until the queue is empty, one message at a time.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut sent = 0;
        while self.try_execute_task().await? == ExecutionOutcome::TaskCompleted {
            sent += 1;
        }
        Ok(sent)
    }

    /// Sends until `shutdown` turns true, within `InFlightLimits`, then waits for the sends in flight.
    /// Between wake-ups the queue is looked at every `poll`.
    pub async fn run_until_stopped(
        self,
        mut shutdown: watch::Receiver<bool>,
        poll: std::time::Duration,
    ) {
        let in_flight = Arc::new(Semaphore::new(self.limits.in_flight.max(1)));
        let mut per_provider: HashMap<&'static str, Arc<Semaphore>> = HashMap::new();
        let captured = self.providers.test_numbers();
        let mut sends = tokio::task::JoinSet::new();
        while !*shutdown.borrow() {
            // Every send in flight: wait for one to end, or for the end.
            let permit = tokio::select! {
                permit = Arc::clone(&in_flight).acquire_owned() => permit,
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
            };
            let Ok(permit) = permit else { break };
            match self
                .start_next(permit, &mut per_provider, &captured, &mut sends)
                .await
            {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    "the delivery worker hit an error"
                ),
            }
            // Nothing to start: wait for a message, a send to finish, the poll, or the end.
            tokio::select! {
                _ = self.wake.notified() => {}
                Some(_) = sends.join_next() => {}
                _ = tokio::time::sleep(poll) => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
            while sends.try_join_next().is_some() {}
        }
        while sends.join_next().await.is_some() {}
    }

    /// Claims the next message whose provider has room and starts sending it, holding `permit`
    /// and one of its provider's. `false` when there is none to start.
    async fn start_next(
        &self,
        permit: OwnedSemaphorePermit,
        per_provider: &mut HashMap<&'static str, Arc<Semaphore>>,
        captured: &[String],
        sends: &mut tokio::task::JoinSet<()>,
    ) -> anyhow::Result<bool> {
        let full: Vec<&'static str> = per_provider
            .iter()
            .filter(|(_, permits)| permits.available_permits() == 0)
            .map(|(name, _)| *name)
            .collect();
        let busy: Vec<StageFilter> = full
            .iter()
            .flat_map(|name| self.providers.stages_of(name))
            .collect();
        let busy_services: Vec<&str> = full
            .iter()
            .copied()
            .filter(|name| self.issuers.by_name(name).is_some())
            .collect();
        let Some(message) = self.claim(&busy, &busy_services, captured).await? else {
            return Ok(false);
        };
        let provider = match self.service_for(&message) {
            Some(name) => self
                .issuers
                .by_name(name)
                .map_or("none", |service| service.name()),
            None => self
                .providers
                .sender(&message.to_phone, message.channel, message.stage)
                .map_or("none", |sender| sender.name()),
        };
        let permits = per_provider
            .entry(provider)
            .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_provider.max(1))));
        // Only this loop takes permits, so one is free unless the message is a test number's
        // (captured whatever its stage): that one waits its turn in its own task.
        let held = Arc::clone(permits).try_acquire_owned().ok();
        let permits = Arc::clone(permits);
        let worker = self.clone();
        sends.spawn(async move {
            let _provider_permit = match held {
                Some(held) => Ok(held),
                None => permits.acquire_owned().await,
            };
            let _permit = permit;
            if let Err(error) = worker.deliver(message).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "the delivery worker hit an error"
                );
            }
            // The next message may be waiting for this one's room.
            worker.wake.notify_one();
        });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, 0.0), Duration::seconds(2));
        assert_eq!(policy.backoff(2, 0.0), Duration::seconds(4));
        assert_eq!(policy.backoff(4, 0.0), Duration::seconds(16));
        assert_eq!(policy.backoff(30, 0.0), Duration::minutes(5));
    }

    #[test]
    fn failures_retry_then_move_on_then_fail() {
        let policy = RetryPolicy::default();
        let outage = SendError::Transient("503".into());
        assert_eq!(
            policy.next_step(&outage, 1, 0, 2, 0.0),
            NextStep::Retry(Duration::seconds(2))
        );
        assert_eq!(
            policy.next_step(&outage, 5, 0, 2, 0.0),
            NextStep::FailOver(1)
        );
        assert_eq!(policy.next_step(&outage, 5, 1, 2, 0.0), NextStep::Fail);
        let refused = SendError::Rejected("401".into());
        assert_eq!(
            policy.next_step(&refused, 1, 0, 2, 0.0),
            NextStep::FailOver(1)
        );
        assert_eq!(policy.next_step(&refused, 1, 1, 2, 0.0), NextStep::Fail);
        let landline = SendError::InvalidRecipient("21614".into());
        assert_eq!(policy.next_step(&landline, 1, 0, 3, 0.0), NextStep::Fail);
        let limited = SendError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(30)),
        };
        assert_eq!(
            policy.next_step(&limited, 2, 0, 1, 0.0),
            NextStep::Retry(Duration::seconds(30))
        );
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(2, 0.25), Duration::seconds(5));
        assert_eq!(policy.backoff(2, -0.9), Duration::seconds(3));
    }

    /// A provider that never answers.
    struct Silent;

    #[async_trait::async_trait]
    impl SmsSender for Silent {
        fn name(&self) -> &'static str {
            "silent"
        }
        async fn send(&self, _: &OutgoingSms) -> Result<SentReceipt, SendError> {
            std::future::pending().await
        }
    }

    async fn queue_texts(store: &Store, count: usize) -> anyhow::Result<()> {
        for n in 0..count {
            let mut tx = store.begin_write().await?;
            Store::enqueue_message(
                &mut tx,
                crate::store::NewMessage {
                    account_id: None,
                    to_phone: &format!("+1415555017{n}"),
                    body: "code",
                    purpose: "unlock",
                    channel: DeliveryChannel::Sms,
                    fallback_body: None,
                    client_ip: None,
                    client_network: None,
                    allowance: "lock",
                    code_service: None,
                },
                crate::clock::SystemClock.now(),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn count(store: &Store, status: &str) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM sms_messages WHERE status = $1")
                .bind(status)
                .fetch_one(store.pool())
                .await?,
        )
    }

    #[tokio::test]
    async fn once_stopping_no_message_is_taken_and_the_sends_in_flight_end_at_their_timeout(
    ) -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = Store::connect(&format!("sqlite://{}/w.db", dir.path().display()), 2).await?;
        let providers =
            ProviderChain::new(vec![Arc::new(Silent)])?.with_timeouts(HashMap::from([(
                "silent",
                std::time::Duration::from_secs(1),
            )]));
        let worker = DeliveryWorker::new(
            store.clone(),
            providers,
            Arc::new(crate::clock::SystemClock),
            Arc::new(Notify::new()),
            WorkerSettings {
                limits: InFlightLimits {
                    in_flight: 2,
                    per_provider: 2,
                },
                instance: "test".to_owned(),
                ..WorkerSettings::default()
            },
        );
        queue_texts(&store, 3).await?;
        let (stop, stopped) = watch::channel(false);
        let running =
            tokio::spawn(worker.run_until_stopped(stopped, std::time::Duration::from_millis(50)));
        let started = std::time::Instant::now();
        while count(&store, "sending").await? < 2 {
            anyhow::ensure!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "never sending"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // The bound holds: the third waits in the queue.
        assert_eq!(count(&store, "queued").await?, 1);
        stop.send(true)?;
        tokio::time::timeout(std::time::Duration::from_secs(5), running).await??;
        // The two in flight were cut at the provider's timeout and queued again; the third was
        // never taken.
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sms_messages WHERE attempts > 0")
            .fetch_one(store.pool())
            .await?;
        assert_eq!(taken, 2);
        assert_eq!(count(&store, "queued").await?, 3);
        Ok(())
    }
}
