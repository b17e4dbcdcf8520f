//! The delivery worker: claims due messages from the queue one at a time, sends each outside any
//! transaction, then records the outcome: sent, retried later with exponential backoff and jitter,
//! or failed for good. Woken at once when a message is queued, and by a poll otherwise.

use super::{OutgoingSms, SendError, SmsSender};
use crate::clock::Clock;
use crate::store::Store;
use rand::Rng;
use std::sync::Arc;
use time::Duration;
use tokio::sync::{watch, Notify};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionOutcome {
    TaskCompleted,
    EmptyQueue,
}

#[derive(Clone)]
pub struct DeliveryWorker {
    store: Store,
    sender: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        sender: Arc<dyn SmsSender>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            sender,
            clock,
            policy,
            wake,
        }
    }

    /// Sends at most one due message.
    pub async fn try_execute_task(&self) -> anyhow::Result<ExecutionOutcome> {
        let now = self.clock.now();
        let Some(message) = self
            .store
            .claim_next_message(now, self.policy.lease)
            .await?
        else {
            return Ok(ExecutionOutcome::EmptyQueue);
        };
        let outgoing = OutgoingSms {
            id: message.id,
            to: message.to_phone,
            body: message.body,
            purpose: message.purpose,
        };
        let provider = self.sender.name();
        let result = self.sender.send(&outgoing).await;
        let now = self.clock.now();
        match result {
            Ok(receipt) => {
                self.store
                    .mark_message_sent(
                        message.id,
                        provider,
                        receipt.provider_message_id.as_deref(),
                        now,
                    )
                    .await?;
            }
            Err(error) if error.is_permanent() || message.attempts >= self.policy.max_attempts => {
                if matches!(error, SendError::Rejected(_)) {
                    tracing::error!(message_id = message.id, provider, %error, "the SMS provider rejected our credentials or configuration");
                } else {
                    tracing::warn!(message_id = message.id, provider, %error, attempts = message.attempts, "message failed for good");
                }
                self.store
                    .mark_message_failed(message.id, provider, &error.to_string(), now)
                    .await?;
            }
            Err(error) => {
                let delay = match &error {
                    SendError::RateLimited {
                        retry_after: Some(after),
                    } => Duration::try_from(*after).unwrap_or(self.policy.max_delay),
                    _ => self
                        .policy
                        .backoff(message.attempts, rand::thread_rng().gen_range(-0.25..=0.25)),
                };
                tracing::warn!(message_id = message.id, provider, %error, attempts = message.attempts, retry_in = %delay, "message will be retried");
                self.store
                    .schedule_message_retry(
                        message.id,
                        provider,
                        &error.to_string(),
                        now + delay,
                        now,
                    )
                    .await?;
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

    /// Runs until `shutdown` turns true.
    pub async fn run_until_stopped(
        self,
        mut shutdown: watch::Receiver<bool>,
        poll: std::time::Duration,
    ) {
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
    fn jitter_stays_within_a_quarter() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(2, 0.25), Duration::seconds(5));
        assert_eq!(policy.backoff(2, -0.9), Duration::seconds(3));
    }
}
