//! Code delivery by text message or phone call. `SmsSender` is the boundary every provider
//! implements; `chain` orders the configured providers for failover; `worker` drains the durable
//! queue through them; `outbox` and `log` are development senders that need no account.

pub mod chain;
pub mod code_service;
pub mod destinations;
pub mod encoding;
pub mod log;
pub mod outbox;
pub mod providers;
pub mod receipts;
pub mod templates;
pub mod worker;

use crate::store::DeliveryOutcome;
pub use app::types::DeliveryChannel;
use async_trait::async_trait;
use std::time::Duration;

/// One message to hand to a provider.
#[derive(Debug, Clone)]
pub struct OutgoingSms {
    /// The queue row's id.
    pub id: i64,
    /// E.164.
    pub to: String,
    /// The text to send, or for `Voice` the text to read aloud.
    pub body: String,
    pub purpose: String,
    pub channel: DeliveryChannel,
}

/// What a provider answered for an accepted message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SentReceipt {
    pub provider_message_id: Option<String>,
}

/// Why a provider did not take a message. The variant decides what the queue does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The number cannot receive messages: fail for good.
    #[error("invalid recipient: {0}")]
    InvalidRecipient(String),
    /// Credentials or configuration were refused: fail for good and tell the operator.
    #[error("rejected by the provider: {0}")]
    Rejected(String),
    /// Too many requests: retry, after `retry_after` when the provider said.
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    /// A 5xx, or no connection: the provider did not take the message. Retry.
    #[error("transient failure: {0}")]
    Transient(String),
    /// No answer after the request went out (a timeout, a connection cut): the provider may have
    /// taken the message. Retry, after asking the provider where it can say (`find_sent`).
    #[error("no answer: {0}")]
    Ambiguous(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidRecipient(_) | Self::Rejected(_))
    }

    /// The error of a request that sends no message (a token, a lookup): without an answer it
    /// is transient, never ambiguous.
    pub fn sent_nothing(self) -> Self {
        match self {
            Self::Ambiguous(text) => Self::Transient(text),
            other => other,
        }
    }
}

/// `work` done by `name` within `limit`; past it, `SendError::Ambiguous` (the request may have
/// reached the provider or service).
pub async fn within<T>(
    name: &str,
    limit: Duration,
    work: impl std::future::Future<Output = Result<T, SendError>>,
) -> Result<T, SendError> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(SendError::Ambiguous(format!(
            "{name}: timed out after {} s",
            limit.as_secs_f64()
        )))
    })
}

#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// The provider's name as configured (`outbox`, `twilio`, …); recorded on each message.
    fn name(&self) -> &'static str;
    /// Whether `send` can place a call that reads `Voice` messages aloud.
    fn supports_voice(&self) -> bool {
        false
    }
    /// Sends `message` on its channel. A sender without voice answers `Voice` messages with
    /// `SendError::Rejected`.
    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError>;
    /// Whether this provider already took `message` (sent from `since` on), for a send whose
    /// outcome is unknown: its receipt if it did. `None` where the provider cannot be asked: the
    /// message is then sent again.
    async fn find_sent(
        &self,
        _message: &OutgoingSms,
        _since: time::OffsetDateTime,
    ) -> Result<Option<SentReceipt>, SendError> {
        Ok(None)
    }
    /// Whether this provider reports delivery only when asked (`delivery_outcome`), rather than
    /// by webhook (`receipts`) or not at all.
    fn reports_when_asked(&self) -> bool {
        false
    }
    /// Whether, of the providers that `reports_when_asked`, this one is asked about calls too
    /// (otherwise only about texts).
    fn reports_calls_when_asked(&self) -> bool {
        true
    }
    /// What became of a message this provider accepted, by its id for it: `None` while it is on
    /// its way. Only for providers that `reports_when_asked`.
    async fn delivery_outcome(
        &self,
        _provider_message_id: &str,
    ) -> Result<Option<DeliveryOutcome>, SendError> {
        Ok(None)
    }
}
