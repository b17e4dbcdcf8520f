//! MessageBird (classic REST API): `POST /messages` with `Authorization: AccessKey <key>` and a JSON
//! body with `originator`, `recipients` (MSISDNs: digits without `+`), `body` and `datacoding`
//! (`plain` for GSM-7 text, else `unicode`: the default, `plain`, garbles other characters);
//! `201 Created` with the message `id`. Calls that read a code aloud: `POST /voicemessages` with `recipients`, `body`
//! and `language`, also `201 Created` with an `id`. Errors are
//! `{"errors": [{code, description, parameter}]}`.
//!
//! Delivery is read from the message itself: `GET /messages/{id}` answers each recipient's
//! `status` (`sent`, `buffered`, then `delivered`, or `expired` / `delivery_failed`), so Latchkey
//! asks about each text (calls are not asked about).

use super::http_client;
use super::{asking_error, checked_message_id, retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{required, ConfigError};
use crate::sms::encoding::Encoding;
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::{DeliveryOutcome, Failure};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://rest.messagebird.com";

#[derive(Debug, Clone)]
pub struct MessageBirdConfig {
    pub base_url: String,
    pub access_key: Credential,
    /// A phone number with country code, or an alphanumeric sender of at most 11 characters.
    pub originator: String,
    /// The language calls are read in, such as `en-gb` (`MESSAGEBIRD_VOICE_LANGUAGE`).
    pub voice_language: String,
}

pub struct MessageBirdSender {
    client: reqwest::Client,
    config: MessageBirdConfig,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// A text as `GET /messages/{id}` answers it: only its recipients matter here.
#[derive(Deserialize)]
struct Stored {
    recipients: StoredRecipients,
}

#[derive(Deserialize)]
struct StoredRecipients {
    #[serde(default)]
    items: Vec<StoredRecipient>,
}

#[derive(Deserialize)]
struct StoredRecipient {
    #[serde(default)]
    status: String,
    #[serde(default, rename = "statusReason")]
    status_reason: Option<String>,
    #[serde(default, rename = "statusErrorCode")]
    status_error_code: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    code: u32,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameter: Option<String>,
}

impl MessageBirdSender {
    pub fn new(client: reqwest::Client, config: MessageBirdConfig) -> Self {
        Self { client, config }
    }

    fn authorization(&self) -> String {
        format!("AccessKey {}", self.config.access_key.expose())
    }
}

#[async_trait]
impl SmsSender for MessageBirdSender {
    fn name(&self) -> &'static str {
        "messagebird"
    }

    fn supports_voice(&self) -> bool {
        true
    }

    fn reports_when_asked(&self) -> bool {
        true
    }

    fn reports_calls_when_asked(&self) -> bool {
        false
    }

    async fn delivery_outcome(
        &self,
        provider_message_id: &str,
    ) -> Result<Option<DeliveryOutcome>, SendError> {
        // MessageBird's ids are 32 hexadecimal digits; the text's one recipient tells.
        let id = checked_message_id("messagebird", provider_message_id, |b| {
            b.is_ascii_alphanumeric()
        })?;
        let base = self.config.base_url.trim_end_matches('/');
        let response = self
            .client
            .get(format!("{base}/messages/{id}"))
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_error("messagebird", &error))?;
        if !response.status().is_success() {
            return Err(asking_error("messagebird", &response));
        }
        let stored: Stored = response
            .json()
            .await
            .map_err(|_| SendError::Transient("messagebird: unreadable message".to_owned()))?;
        let Some(recipient) = stored.recipients.items.into_iter().next() else {
            return Ok(None);
        };
        Ok(match recipient.status.as_str() {
            "delivered" => Some(DeliveryOutcome::Delivered),
            "delivery_failed" | "expired" => {
                let code = match recipient.status_error_code {
                    Some(serde_json::Value::Number(code)) => code.to_string(),
                    Some(serde_json::Value::String(code)) => code,
                    _ => String::new(),
                };
                let reason = [
                    recipient.status.as_str(),
                    recipient.status_reason.as_deref().unwrap_or_default(),
                    code.as_str(),
                ]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
                Some(DeliveryOutcome::Failed {
                    failure: Failure::Undelivered,
                    reason: format!("messagebird {reason}"),
                })
            }
            _ => None,
        })
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        let base = self.config.base_url.trim_end_matches('/');
        let recipient = message.to.trim_start_matches('+');
        let (url, body) = match message.channel {
            DeliveryChannel::Sms => (
                format!("{base}/messages"),
                serde_json::json!({
                    "originator": self.config.originator,
                    "recipients": [recipient],
                    "body": message.body,
                    "datacoding": match Encoding::of(&message.body) {
                        Encoding::Gsm7 => "plain",
                        Encoding::Ucs2 => "unicode",
                    },
                }),
            ),
            DeliveryChannel::Voice => (
                format!("{base}/voicemessages"),
                serde_json::json!({
                    "originator": self.config.originator,
                    "recipients": [recipient],
                    "body": message.body,
                    "language": self.config.voice_language,
                    "voice": "female",
                }),
            ),
        };
        let response = self
            .client
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|error| transport_error("messagebird", &error))?;
        let status = response.status();
        if status.is_success() {
            let created: Created = response.json().await.map_err(|_| {
                SendError::Transient("messagebird: unreadable success response".to_owned())
            })?;
            return Ok(SentReceipt {
                provider_message_id: Some(created.id),
            });
        }
        let wait = retry_after(&response);
        let errors: Errors = response.json().await.unwrap_or_default();
        let first = errors.errors.first();
        let described = format!(
            "messagebird {}: {} {}",
            status.as_u16(),
            first
                .map(|error| error.code.to_string())
                .unwrap_or_default(),
            first
                .and_then(|error| error.description.clone())
                .unwrap_or_default()
        );
        let about_recipients = first.is_some_and(|error| {
            matches!(error.code, 9 | 10) && error.parameter.as_deref() == Some("recipients")
        });
        Err(match status.as_u16() {
            429 => SendError::RateLimited { retry_after: wait },
            _ if first.is_some_and(|error| error.code == 99) => SendError::Transient(described),
            400..=499 if about_recipients => SendError::InvalidRecipient(described),
            400..=499 => SendError::Rejected(described),
            _ => SendError::Transient(described),
        })
    }
}

impl MessageBirdConfig {
    /// The sender for these settings (the clock: for token lifetimes, where the provider has
    /// tokens).
    pub(crate) fn into_sender(self, _clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(originator = %self.originator, "SMS provider messagebird");
        Ok(Arc::new(MessageBirdSender::new(http_client()?, self)))
    }

    /// Reads the `MESSAGEBIRD_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("MESSAGEBIRD_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            access_key: Credential::new(required(get, "messagebird", "MESSAGEBIRD_ACCESS_KEY")?),
            originator: required(get, "messagebird", "MESSAGEBIRD_ORIGINATOR")?,
            voice_language: get("MESSAGEBIRD_VOICE_LANGUAGE").unwrap_or_else(|| "en-gb".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::MockProvider;

    fn sender(base_url: &str) -> MessageBirdSender {
        MessageBirdSender::new(
            reqwest::Client::new(),
            MessageBirdConfig {
                base_url: base_url.to_owned(),
                access_key: Credential::new("live_abcdef"),
                originator: "Latchkey".to_owned(),
                voice_language: "en-gb".to_owned(),
            },
        )
    }

    fn message() -> OutgoingSms {
        OutgoingSms {
            id: 1,
            to: "+31612345678".to_owned(),
            body: "Latchkey: your code is 123456".to_owned(),
            purpose: "unlock".to_owned(),
            channel: DeliveryChannel::Sms,
        }
    }

    #[tokio::test]
    async fn a_voice_code_is_a_voice_message_read_aloud() {
        let mock = MockProvider::start(201, vec![], r#"{"id": "vm-1", "href": "x"}"#).await;
        let call = OutgoingSms {
            channel: DeliveryChannel::Voice,
            ..message()
        };
        let receipt = sender(&mock.base_url).send(&call).await.expect("called");
        assert_eq!(receipt.provider_message_id.as_deref(), Some("vm-1"));
        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/voicemessages");
        assert_eq!(
            request.header("authorization"),
            Some("AccessKey live_abcdef")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(body["recipients"][0], message().to.trim_start_matches('+'));
        assert_eq!(body["body"], message().body.as_str());
        assert_eq!(body["language"], "en-gb");
    }

    #[tokio::test]
    async fn a_message_is_posted_with_the_access_key_and_digits_only() {
        let mock = MockProvider::start(
            201,
            vec![],
            r#"{"id": "6fe65f90454aa61536e6a88b88972670", "originator": "Latchkey", "recipients": {"items": [{"recipient": 31612345678, "status": "sent"}], "totalCount": 1}}"#,
        )
        .await;
        let receipt = sender(&mock.base_url).send(&message()).await.expect("sent");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("6fe65f90454aa61536e6a88b88972670")
        );

        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/messages");
        assert_eq!(
            request.header("authorization"),
            Some("AccessKey live_abcdef")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(body["originator"], "Latchkey");
        assert_eq!(body["recipients"], serde_json::json!(["31612345678"]));
        assert_eq!(body["body"], "Latchkey: your code is 123456");
        assert_eq!(body["datacoding"], "plain");
    }

    /// `datacoding`: "defaults to plain (GSM 03.38 characters only) … unicode … or auto"
    /// (developers.messagebird.com/api/sms-messaging, the message object).
    #[tokio::test]
    async fn text_outside_gsm7_is_sent_as_unicode() {
        let mock = MockProvider::start(201, vec![], r#"{"id": "m1"}"#).await;
        let polish = OutgoingSms {
            body: "Łódź Konto: your code is 123456".to_owned(),
            ..message()
        };
        sender(&mock.base_url).send(&polish).await.expect("sent");
        let body = mock.requests()[0].json();
        assert_eq!(body["datacoding"], "unicode");
        assert_eq!(body["body"], "Łódź Konto: your code is 123456");
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        let bad_key = MockProvider::start(401, vec![], r#"{"errors": [{"code": 2, "description": "Request not allowed (incorrect access_key)", "parameter": "access_key"}]}"#).await;
        assert!(matches!(
            sender(&bad_key.base_url).send(&message()).await,
            Err(SendError::Rejected(_))
        ));
        let no_recipient = MockProvider::start(422, vec![], r#"{"errors": [{"code": 9, "description": "no (correct) recipients found", "parameter": "recipients"}]}"#).await;
        assert!(matches!(
            sender(&no_recipient.base_url).send(&message()).await,
            Err(SendError::InvalidRecipient(_))
        ));
        let no_balance = MockProvider::start(
            422,
            vec![],
            r#"{"errors": [{"code": 25, "description": "Not enough balance", "parameter": null}]}"#,
        )
        .await;
        assert!(matches!(
            sender(&no_balance.base_url).send(&message()).await,
            Err(SendError::Rejected(_))
        ));
        let internal = MockProvider::start(
            500,
            vec![],
            r#"{"errors": [{"code": 99, "description": "Internal error", "parameter": null}]}"#,
        )
        .await;
        assert!(matches!(
            sender(&internal.base_url).send(&message()).await,
            Err(SendError::Transient(_))
        ));
        let throttled = MockProvider::start(429, vec![], "{}").await;
        assert!(matches!(
            sender(&throttled.base_url).send(&message()).await,
            Err(SendError::RateLimited { .. })
        ));
    }

    /// The message object of the official Go SDK's fixture (`sms/testdata/messageObject.json`),
    /// with the recipient's status as later reported; `statusReason` and `statusErrorCode` as
    /// developers.messagebird.com/api/sms-messaging lists them for a recipient.
    fn stored(status: &str, extra: &str) -> String {
        format!(
            r#"{{"body": "Hello World", "createdDatetime": "2022-01-05T10:02:59+00:00", "datacoding": "plain", "direction": "mt", "gateway": 239, "href": "https://rest.messagebird.com/messages/6fe65f90454aa61536e6a88b88972670", "id": "6fe65f90454aa61536e6a88b88972670", "mclass": 1, "originator": "TestName", "recipients": {{"items": [{{"recipient": 31612345678, "status": "{status}", "statusDatetime": "2022-01-05T10:03:09+00:00", "messagePartCount": 1{extra}}}], "totalCount": 1, "totalDeliveredCount": 0, "totalDeliveryFailedCount": 0, "totalSentCount": 1}}, "reference": null, "scheduledDatetime": null, "type": "sms", "typeDetails": {{}}, "validity": null}}"#
        )
    }

    #[tokio::test]
    async fn delivery_is_read_from_the_recipients_status() {
        let id = "6fe65f90454aa61536e6a88b88972670";
        let delivered = MockProvider::start(200, vec![], &stored("delivered", "")).await;
        assert_eq!(
            sender(&delivered.base_url)
                .delivery_outcome(id)
                .await
                .expect("asked"),
            Some(DeliveryOutcome::Delivered)
        );
        let request = &delivered.requests()[0];
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, format!("/messages/{id}"));
        assert_eq!(
            request.header("authorization"),
            Some("AccessKey live_abcdef")
        );
        let failed = MockProvider::start(
            200,
            vec![],
            &stored(
                "delivery_failed",
                r#", "statusReason": "unknown subscriber", "statusErrorCode": 1"#,
            ),
        )
        .await;
        assert_eq!(
            sender(&failed.base_url)
                .delivery_outcome(id)
                .await
                .expect("asked"),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                reason: "messagebird delivery_failed unknown subscriber 1".to_owned()
            })
        );
        let underway = MockProvider::start(200, vec![], &stored("buffered", "")).await;
        assert_eq!(
            sender(&underway.base_url)
                .delivery_outcome(id)
                .await
                .expect("asked"),
            None
        );
        assert!(sender(&underway.base_url)
            .delivery_outcome("../voicemessages")
            .await
            .is_err());
        assert!(sender(&underway.base_url).reports_when_asked());
        assert!(!sender(&underway.base_url).reports_calls_when_asked());
    }
}
