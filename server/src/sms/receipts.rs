//! Delivery receipts: what a provider reports about a message after accepting it. Providers
//! accept most undeliverable messages (a landline, a number out of service, a carrier's refusal)
//! and report the failure later, by calling a webhook. Each provider that does reads and
//! authenticates its own callbacks (a `StatusCallbackReader` beside its adapter in
//! `providers/`); `DeliveryReports` records what they say on the message, where the code page
//! and the admin delivery log read it. A provider that reports only when asked (RingCentral) is
//! asked by `DeliveryQuestions`, for the messages of the last minutes whose fate is unknown.

use crate::clock::Clock;
use crate::sms::{SendError, SmsSender};
pub use crate::store::DeliveryOutcome;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

/// The path a provider posts its delivery receipts to, below `PUBLIC_URL`.
pub fn status_callback_path(provider: &str) -> String {
    format!("/webhooks/{provider}/status")
}

/// The address a provider posts its delivery receipts to: `public_url` and the path.
pub fn status_callback_url(public_url: &str, provider: &str) -> String {
    format!(
        "{}{}",
        public_url.trim_end_matches('/'),
        status_callback_path(provider)
    )
}

/// Records what `provider` reported about its message `provider_message_id`, and logs it:
/// whether the message changed (a repeated or late report, or a message not sent from here,
/// changes nothing).
async fn record_outcome(
    store: &Store,
    provider: &str,
    provider_message_id: &str,
    outcome: &DeliveryOutcome,
    now: time::OffsetDateTime,
) -> anyhow::Result<bool> {
    let recorded = store
        .record_delivery_outcome(provider, provider_message_id, outcome, now)
        .await?;
    match (recorded, outcome) {
        (false, _) => {
            tracing::debug!(
                provider,
                provider_message_id,
                "a delivery report changed nothing (repeated, late, or not ours)"
            );
        }
        (true, DeliveryOutcome::Delivered) => {
            tracing::info!(
                provider,
                provider_message_id,
                "delivered, the provider reports"
            );
        }
        (true, DeliveryOutcome::Failed { failure, reason }) => {
            tracing::warn!(
                provider,
                provider_message_id,
                ?failure,
                reason,
                "a message the provider accepted was not delivered"
            );
        }
    }
    Ok(recorded)
}

/// One message's status, as a callback reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The provider's id for the message (what it answered when it accepted it).
    pub provider_message_id: String,
    /// `None` for a state on the way (queued, handed to the carrier): nothing to record.
    pub outcome: Option<DeliveryOutcome>,
}

/// A callback as it arrived.
pub struct Callback<'a> {
    /// The address the provider called, as it would sign it: `PUBLIC_URL`, the path, the query.
    pub url: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

impl Callback<'_> {
    /// A header's value, if it is there and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Why a callback was not accepted. Neither changes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRefused {
    /// The signature or credentials are missing or are not the provider's.
    #[error("the callback is not signed by the provider")]
    Unauthenticated,
    /// Authenticated, but not shaped as the provider documents its callbacks.
    #[error("the callback is malformed: {0}")]
    Malformed(String),
}

/// Reads one provider's delivery callbacks: authenticates each as the provider documents, then
/// reads which messages it reports on and what became of them.
pub trait StatusCallbackReader: Send + Sync + 'static {
    fn read(&self, callback: &Callback<'_>) -> Result<Vec<StatusReport>, CallbackRefused>;
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Why a delivery callback was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// No configured provider of that name reports by webhook.
    #[error("no configured provider named {0:?} sends delivery receipts here")]
    UnknownProvider(String),
    #[error(transparent)]
    Refused(#[from] CallbackRefused),
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

/// The configured providers' callback readers, and where their reports are recorded.
#[derive(Clone)]
pub struct DeliveryReports {
    readers: Arc<HashMap<&'static str, Arc<dyn StatusCallbackReader>>>,
    store: Store,
    clock: Arc<dyn Clock>,
}

impl DeliveryReports {
    pub fn new(
        readers: impl IntoIterator<Item = (&'static str, Arc<dyn StatusCallbackReader>)>,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            readers: Arc::new(readers.into_iter().collect()),
            store,
            clock,
        }
    }

    /// The providers whose receipts are read, by name.
    pub fn providers(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.readers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    /// Authenticates and reads a callback from `provider`, and records each outcome it reports
    /// on its message. Returns how many messages changed: a repeated receipt, an interim status or
    /// a message this server does not know changes none.
    pub async fn receive(
        &self,
        provider: &str,
        callback: &Callback<'_>,
    ) -> Result<usize, ReceiveError> {
        let reader = self
            .readers
            .get(provider)
            .ok_or_else(|| ReceiveError::UnknownProvider(provider.to_owned()))?;
        let reports = reader.read(callback)?;
        let now = self.clock.now();
        let mut changed = 0;
        for report in reports {
            let Some(outcome) = report.outcome else {
                continue;
            };
            if record_outcome(
                &self.store,
                provider,
                &report.provider_message_id,
                &outcome,
                now,
            )
            .await?
            {
                changed += 1;
            }
        }
        Ok(changed)
    }
}

/// How long after sending a message its fate is asked about: a code outlives neither.
const ASK_FOR: time::Duration = time::Duration::minutes(15);
/// How long after sending (or after the last question) to ask: a delivery takes seconds.
const ASK_AFTER: time::Duration = time::Duration::seconds(10);
/// How many messages one provider is asked about per round, within its request limits
/// (RingCentral allows 50 message-store reads a minute).
const ASK_AT_MOST: u32 = 10;

/// Asks the providers that report delivery only when asked about the messages of the last
/// minutes whose fate is unknown, and records the answers as a receipt would be.
#[derive(Clone)]
pub struct DeliveryQuestions {
    senders: Vec<Arc<dyn SmsSender>>,
    store: Store,
    clock: Arc<dyn Clock>,
}

impl DeliveryQuestions {
    pub fn new(senders: Vec<Arc<dyn SmsSender>>, store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            senders,
            store,
            clock,
        }
    }

    /// One round: each provider is asked about up to `ASK_AT_MOST` messages. Returns how many
    /// messages changed.
    pub async fn ask_once(&self) -> anyhow::Result<usize> {
        let mut changed = 0;
        for sender in &self.senders {
            let provider = sender.name();
            let now = self.clock.now();
            let due = self
                .store
                .messages_to_ask_about(
                    provider,
                    !sender.reports_calls_when_asked(),
                    now - ASK_FOR,
                    now - ASK_AFTER,
                    ASK_AT_MOST,
                )
                .await?;
            for (id, provider_message_id) in due {
                match sender.delivery_outcome(&provider_message_id).await {
                    Ok(Some(outcome)) => {
                        let now = self.clock.now();
                        if record_outcome(
                            &self.store,
                            provider,
                            &provider_message_id,
                            &outcome,
                            now,
                        )
                        .await?
                        {
                            changed += 1;
                        }
                    }
                    Ok(None) => self.store.mark_status_checked(id, self.clock.now()).await?,
                    Err(SendError::RateLimited { .. }) => {
                        // Asked again in a later round, once the provider allows it.
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(provider, provider_message_id, %error, "could not ask the provider about a message");
                        self.store.mark_status_checked(id, self.clock.now()).await?;
                    }
                }
            }
        }
        Ok(changed)
    }

    /// Asks every `every` until `shutdown` turns true; nothing to do without such a provider.
    pub async fn run_until_stopped(
        self,
        mut shutdown: watch::Receiver<bool>,
        every: std::time::Duration,
    ) {
        if self.senders.is_empty() {
            return;
        }
        loop {
            if let Err(error) = self.ask_once().await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "could not ask the providers about deliveries"
                );
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("Basic abc", "Basic abc"));
        assert!(!same_secret("Basic ab", "Basic abc"));
        assert!(!same_secret("", "Basic abc"));
        assert!(!same_secret("Basic abd", "Basic abc"));
    }

    #[test]
    fn each_provider_has_its_own_path() {
        assert_eq!(status_callback_path("twilio"), "/webhooks/twilio/status");
        assert_eq!(
            status_callback_path("bandwidth"),
            "/webhooks/bandwidth/status"
        );
    }
}
