//! The log sender: "delivers" a message by writing it, code included, to the log. For development
//! without a database viewer; startup warns that codes end up in the log.

use super::{OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::domain::PhoneNumber;
use async_trait::async_trait;

pub struct LogSender;

#[async_trait]
impl SmsSender for LogSender {
    fn name(&self) -> &'static str {
        "log"
    }

    fn supports_voice(&self) -> bool {
        true
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        tracing::info!(
            message_id = message.id,
            to = %PhoneNumber::from_e164(message.to.clone()),
            purpose = %message.purpose,
            channel = message.channel.as_str(),
            text = %message.body,
            "log provider: message"
        );
        Ok(SentReceipt {
            provider_message_id: None,
        })
    }
}
