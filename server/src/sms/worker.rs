//! The delivery worker: claims due messages from the queue, sends each outside any transaction
//! through the provider its stage names, then records the outcome: sent, retried later with
//! exponential backoff and jitter, moved on to the next provider, or failed for good (and then, if
//! configured, queued again as a call). Woken at once when a message is queued, and by a poll
//! otherwise. `DELIVERY_LANES` messages are sent at once, each claimed by one lane, so that a
//! provider call that hangs (up to the HTTP client's timeout) holds up one lane, not every code
//! queued behind it.

use super::chain::ProviderChain;
use super::{DeliveryChannel, OutgoingSms, SendError};
use crate::clock::Clock;
use crate::store::{Failure, Store};
use rand::Rng;
use std::sync::Arc;
use time::Duration;
use tokio::sync::{watch, Notify};

/// How many messages are sent at once at the most.
pub const DELIVERY_LANES: usize = 4;

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
    wake: Arc<Notify>,
    /// `SMS_VOICE_FALLBACK`: a text message that fails for good is queued again as a call.
    voice_fallback: bool,
    /// `INSTANCE_ID`: recorded on each claim, so that this instance, restarted, takes back what
    /// it held at once.
    instance: Arc<str>,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        providers: ProviderChain,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        wake: Arc<Notify>,
        voice_fallback: bool,
        instance: &str,
    ) -> Self {
        Self {
            store,
            providers,
            clock,
            policy,
            wake,
            voice_fallback,
            instance: Arc::from(instance),
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

    /// Sends at most one due message.
    pub async fn try_execute_task(&self) -> anyhow::Result<ExecutionOutcome> {
        let now = self.clock.now();
        let Some(message) = self
            .store
            .claim_next_message(now, self.policy.lease, &self.instance)
            .await?
        else {
            return Ok(ExecutionOutcome::EmptyQueue);
        };
        // Another lane looks for the next message while this one is sent.
        self.wake.notify_one();
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
            return Ok(ExecutionOutcome::TaskCompleted);
        };
        let outgoing = OutgoingSms {
            id: message.id,
            to: message.to_phone.clone(),
            body: message.body,
            purpose: message.purpose,
            channel: message.channel,
        };
        let provider = sender.name();
        let started = now;
        let result = match message.ambiguous_since {
            // An earlier attempt may have reached the provider: ask before sending again.
            Some(since) => match sender.find_sent(&outgoing, since).await {
                Ok(Some(receipt)) => {
                    tracing::info!(
                        message_id = message.id,
                        provider,
                        "the provider already had the message from an attempt that got no answer: not sent again"
                    );
                    Ok(receipt)
                }
                Ok(None) => sender.send(&outgoing).await,
                Err(error) => Err(error),
            },
            None => sender.send(&outgoing).await,
        };
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
                return Ok(ExecutionOutcome::TaskCompleted);
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
        Ok(ExecutionOutcome::TaskCompleted)
    }

    /// Sends until the queue is empty.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut sent = 0;
        while self.try_execute_task().await? == ExecutionOutcome::TaskCompleted {
            sent += 1;
        }
        Ok(sent)
    }

    /// Runs `DELIVERY_LANES` lanes until `shutdown` turns true; each finishes the send it is in.
    pub async fn run_until_stopped(
        self,
        shutdown: watch::Receiver<bool>,
        poll: std::time::Duration,
    ) {
        let mut lanes = tokio::task::JoinSet::new();
        for _ in 0..DELIVERY_LANES {
            lanes.spawn(self.clone().run_lane(shutdown.clone(), poll));
        }
        while lanes.join_next().await.is_some() {}
    }

    /// One lane: sends until the queue is empty, then waits to be woken, or for the poll.
    async fn run_lane(self, mut shutdown: watch::Receiver<bool>, poll: std::time::Duration) {
        loop {
            if let Err(error) = self.drain().await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "the delivery worker hit an error"
                );
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                break;
            }
        }
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
}
