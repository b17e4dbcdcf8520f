//! Vonage SMS API: `POST /sms/json`, HTTP Basic (API key and secret), a form with `from`, `to`
//! (E.164 digits without `+`) and `text`, with `type=unicode` when the text is not GSM-7 (Vonage
//! garbles it otherwise). Vonage answers 200 even for most failures: each part of the message has
//! a `status` ("0" is success; the others are classified below), and the message is sent only if
//! every part is.

use super::http_client;
use super::{retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{required, ConfigError};
use crate::sms::encoding::Encoding;
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

#[derive(Debug, Clone)]
pub struct VonageConfig {
    pub base_url: String,
    pub api_key: String,
    pub api_secret: Credential,
    /// A number or an alphanumeric sender ID.
    pub from: String,
}

pub struct VonageSender {
    client: reqwest::Client,
    config: VonageConfig,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    messages: Vec<MessageStatus>,
}

#[derive(Deserialize)]
struct MessageStatus {
    status: String,
    #[serde(rename = "message-id", default)]
    message_id: Option<String>,
    #[serde(rename = "error-text", default)]
    error_text: Option<String>,
}

impl VonageSender {
    pub fn new(client: reqwest::Client, config: VonageConfig) -> Self {
        Self { client, config }
    }
}

/// What a non-zero message status means (Vonage SMS API status codes).
fn classify(status: &str, text: String) -> SendError {
    match status {
        // Throttled; too many concurrent binds ("back off and retry").
        "1" | "10" => SendError::RateLimited { retry_after: None },
        // Invalid parameters (the number), invalid message (unknown prefix), number barred,
        // non-whitelisted destination.
        "3" | "6" | "7" | "29" => SendError::InvalidRecipient(text),
        "5" => SendError::Transient(text),
        // Missing parameters, credentials, barred account, quota, HTTP not enabled, too long,
        // signature, sender address: our configuration or our request.
        _ => SendError::Rejected(text),
    }
}

#[async_trait]
impl SmsSender for VonageSender {
    fn name(&self) -> &'static str {
        "vonage"
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        if message.channel == DeliveryChannel::Voice {
            return Err(SendError::Rejected(
                "vonage: calls are not supported".to_owned(),
            ));
        }
        let url = format!("{}/sms/json", self.config.base_url.trim_end_matches('/'));
        let to = message.to.trim_start_matches('+');
        let mut form = vec![
            ("from", self.config.from.as_str()),
            ("to", to),
            ("text", message.body.as_str()),
        ];
        if Encoding::of(&message.body) == Encoding::Ucs2 {
            form.push(("type", "unicode"));
        }
        let response = self
            .client
            .post(url)
            .basic_auth(&self.config.api_key, Some(self.config.api_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|error| transport_error("vonage", &error))?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => {}
            429 => {
                return Err(SendError::RateLimited {
                    retry_after: retry_after(&response),
                })
            }
            401 | 403 => return Err(SendError::Rejected(format!("vonage {status}"))),
            400..=499 => return Err(SendError::Rejected(format!("vonage {status}"))),
            _ => return Err(SendError::Transient(format!("vonage {status}"))),
        }
        let reply: Reply = response
            .json()
            .await
            .map_err(|_| SendError::Transient("vonage: unreadable response".to_owned()))?;
        if reply.messages.is_empty() {
            return Err(SendError::Transient(
                "vonage: no message status in the response".to_owned(),
            ));
        }
        // One entry per part: a part that failed fails the message.
        if let Some(failed) = reply.messages.iter().find(|part| part.status != "0") {
            let text = format!(
                "vonage status {}: {}",
                failed.status,
                failed.error_text.as_deref().unwrap_or_default()
            );
            return Err(classify(&failed.status, text));
        }
        Ok(SentReceipt {
            provider_message_id: reply
                .messages
                .into_iter()
                .next()
                .and_then(|part| part.message_id),
        })
    }
}

impl VonageConfig {
    /// The sender for these settings (the clock: for token lifetimes, where the provider has
    /// tokens).
    pub(crate) fn into_sender(self, _clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(api_key = %self.api_key, "SMS provider vonage");
        Ok(Arc::new(VonageSender::new(http_client()?, self)))
    }

    /// Reads the `VONAGE_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("VONAGE_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_key: required(get, "vonage", "VONAGE_API_KEY")?,
            api_secret: Credential::new(required(get, "vonage", "VONAGE_API_SECRET")?),
            from: required(get, "vonage", "VONAGE_FROM")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::MockProvider;
    use base64::Engine;

    fn sender(base_url: &str) -> VonageSender {
        VonageSender::new(
            reqwest::Client::new(),
            VonageConfig {
                base_url: base_url.to_owned(),
                api_key: "abcd1234".to_owned(),
                api_secret: Credential::new("abcdef0123456789"),
                from: "Latchkey".to_owned(),
            },
        )
    }

    fn message() -> OutgoingSms {
        OutgoingSms {
            id: 1,
            to: "+447400123456".to_owned(),
            body: "Latchkey: your code is 123456".to_owned(),
            purpose: "unlock".to_owned(),
            channel: DeliveryChannel::Sms,
        }
    }

    #[tokio::test]
    async fn a_message_is_posted_with_digits_only_and_its_id_recorded() {
        let mock = MockProvider::start(
            200,
            vec![],
            r#"{"message-count": "1", "messages": [{"to": "447400123456", "message-id": "0C000000F00ABD35", "status": "0", "remaining-balance": "3.14", "message-price": "0.03", "network": "12345"}]}"#,
        )
        .await;
        let receipt = sender(&mock.base_url).send(&message()).await.expect("sent");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("0C000000F00ABD35")
        );

        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/sms/json");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("abcd1234:abcdef0123456789")
        );
        assert_eq!(request.header("authorization"), Some(expected.as_str()));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.field("to"), Some("447400123456"));
        assert_eq!(request.field("from"), Some("Latchkey"));
        assert_eq!(request.field("text"), Some("Latchkey: your code is 123456"));
    }

    #[tokio::test]
    async fn a_failure_reported_with_http_200_is_still_a_failure() {
        let mock = MockProvider::start(
            200,
            vec![],
            r#"{"messages": [{"status": "2", "error-text": "Missing from param"}]}"#,
        )
        .await;
        let error = sender(&mock.base_url)
            .send(&message())
            .await
            .expect_err("status 2");
        assert!(
            matches!(error, SendError::Rejected(ref text) if text.contains("Missing from param"))
        );
    }

    #[tokio::test]
    async fn each_status_maps_to_its_class() {
        for (status, expected) in [
            ("1", "rate"),
            ("10", "rate"),
            ("3", "recipient"),
            ("6", "recipient"),
            ("4", "rejected"),
            ("5", "transient"),
        ] {
            let body = format!(r#"{{"messages": [{{"status": "{status}", "error-text": "x"}}]}}"#);
            let mock = MockProvider::start(200, vec![], &body).await;
            let error = sender(&mock.base_url)
                .send(&message())
                .await
                .expect_err("an error");
            let class = match error {
                SendError::RateLimited { .. } => "rate",
                SendError::InvalidRecipient(_) => "recipient",
                SendError::Rejected(_) => "rejected",
                SendError::Transient(_) => "transient",
            };
            assert_eq!(class, expected, "status {status}");
        }
        let throttled = MockProvider::start(429, vec![("retry-after", "3".to_owned())], "{}").await;
        let error = sender(&throttled.base_url)
            .send(&message())
            .await
            .expect_err("429");
        assert!(
            matches!(error, SendError::RateLimited { retry_after: Some(wait) } if wait.as_secs() == 3)
        );
        let down = MockProvider::start(500, vec![], "{}").await;
        assert!(matches!(
            sender(&down.base_url).send(&message()).await,
            Err(SendError::Transient(_))
        ));
    }

    /// "If your message contains characters outside this range, then you will need to set the
    /// type to unicode" (developer.vonage.com/en/api/sms, `type`).
    #[tokio::test]
    async fn text_outside_gsm7_is_sent_as_unicode_and_gsm7_text_is_not() {
        let answer = r#"{"message-count": "1", "messages": [{"to": "447400123456", "message-id": "1", "status": "0"}]}"#;
        let mock = MockProvider::start(200, vec![], answer).await;
        let polish = OutgoingSms {
            body: "Łódź Konto: your code is 123456".to_owned(),
            ..message()
        };
        sender(&mock.base_url).send(&polish).await.expect("sent");
        sender(&mock.base_url).send(&message()).await.expect("sent");
        let requests = mock.requests();
        assert_eq!(requests[0].field("type"), Some("unicode"));
        assert_eq!(
            requests[0].field("text"),
            Some("Łódź Konto: your code is 123456")
        );
        assert_eq!(requests[1].field("type"), None);
    }

    /// One `messages[]` entry per part, each with its own `status` (developer.vonage.com/en/api/sms,
    /// the response's `messages`).
    #[tokio::test]
    async fn a_message_with_a_part_that_failed_is_not_sent() {
        let answer = r#"{"message-count": "2", "messages": [{"to": "447400123456", "message-id": "1", "status": "0"}, {"to": "447400123456", "status": "5", "error-text": "Internal Error"}]}"#;
        let mock = MockProvider::start(200, vec![], answer).await;
        let error = sender(&mock.base_url)
            .send(&message())
            .await
            .expect_err("the second part failed");
        assert!(matches!(error, SendError::Transient(ref text) if text.contains("Internal Error")));
    }
}
