//! The development outbox: a sender that "delivers" by writing the message to the `dev_outbox`
//! table (shown at /dev/outbox) and logging that it did. It never contacts anything.

use super::{OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::clock::Clock;
use crate::domain::PhoneNumber;
use crate::store::Store;
use async_trait::async_trait;
use std::sync::Arc;

pub struct OutboxSender {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Where the outbox page is, for the log line.
    page_url: String,
}

impl OutboxSender {
    pub fn new(store: Store, clock: Arc<dyn Clock>, page_url: String) -> Self {
        Self {
            store,
            clock,
            page_url,
        }
    }
}

#[async_trait]
impl SmsSender for OutboxSender {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn supports_voice(&self) -> bool {
        true
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        let entry = self
            .store
            .insert_outbox_entry(
                message.id,
                &message.to,
                &message.body,
                &message.purpose,
                message.channel,
                self.clock.now(),
            )
            .await
            .map_err(|error| SendError::Transient(format!("{error:#}")))?;
        tracing::info!(
            message_id = message.id,
            to = %PhoneNumber::from_e164(message.to.clone()),
            purpose = %message.purpose,
            channel = message.channel.as_str(),
            "development outbox: message stored; read it at {}",
            self.page_url
        );
        Ok(SentReceipt {
            provider_message_id: Some(format!("outbox-{entry}")),
        })
    }
}
