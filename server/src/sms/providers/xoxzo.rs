//! Xoxzo: text messages by `POST /sms/messages/` (form: `recipient` in E.164, `sender` without `+`,
//! `message`) and calls that read the code aloud by `POST /voice/simple/playbacks/` (form: `caller`,
//! `recipient`, `tts_message`, `tts_lang`); both with HTTP Basic (SID and auth token), both answer
//! `201 Created` with a one-element list (`[{"msgid"}]`, `[{"callid"}]`). Errors are Django REST
//! style: `{"<field>": ["problem"]}` for a bad field, `{"detail"}` for bad credentials.
//!
//! Standard Xoxzo accounts may only send approved templates ("Template SMS is the default for
//! standard accounts, while freeform SMS is available only to approved trusted partners",
//! docs.xoxzo.com/en/sms.html): with `XOXZO_TEMPLATE_ID`, texts go to
//! `POST /sms/templates/<id>/messages/` as JSON `{sender, recipient, variables: {code}}`, the code
//! read back from the message's last line; the template holds the rest of the text.
//!
//! Delivery is read from the message: `GET /sms/messages/<msgid>/` answers its `status` (Xoxzo's
//! help lists `QUEUED`, `DELIVERING`, `OK` for delivered and `FAILED`; its tutorial shows
//! `DELIVERED`), so Latchkey asks about each text (calls are not asked about).

use super::http_client;
use super::{asking_error, checked_message_id, retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{invalid, required, ConfigError};
use crate::sms::templates::MessageTemplates;
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::{DeliveryOutcome, Failure};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://api.xoxzo.com";

#[derive(Debug, Clone)]
pub struct XoxzoConfig {
    pub base_url: String,
    pub sid: String,
    pub auth_token: Credential,
    /// The SMS sender: up to 10 letters and digits, or a number (sent without `+`).
    pub sender: String,
    /// The number calls come from (E.164); calls are off without it.
    pub caller: Option<String>,
    /// The text-to-speech language, such as `en` or `ja`.
    pub tts_lang: String,
    /// An approved SMS template (`XOXZO_TEMPLATE_ID`) with a `code` variable: texts are sent
    /// through it instead of as free text.
    pub template_id: Option<String>,
}

pub struct XoxzoSender {
    client: reqwest::Client,
    config: XoxzoConfig,
}

impl XoxzoSender {
    pub fn new(client: reqwest::Client, config: XoxzoConfig) -> Self {
        Self { client, config }
    }

    /// A text as free text (`/sms/messages/`), or a call (`/voice/simple/playbacks/`).
    fn free_text(&self, message: &OutgoingSms) -> Result<reqwest::RequestBuilder, SendError> {
        let base = self.config.base_url.trim_end_matches('/');
        Ok(match message.channel {
            DeliveryChannel::Sms => self.client.post(format!("{base}/sms/messages/")).form(&[
                ("recipient", message.to.as_str()),
                ("sender", self.config.sender.trim_start_matches('+')),
                ("message", message.body.as_str()),
            ]),
            DeliveryChannel::Voice => {
                let Some(caller) = self.config.caller.as_deref() else {
                    return Err(SendError::Rejected(
                        "xoxzo: calls need XOXZO_CALLER".to_owned(),
                    ));
                };
                self.client
                    .post(format!("{base}/voice/simple/playbacks/"))
                    .form(&[
                        ("caller", caller),
                        ("recipient", message.to.as_str()),
                        ("tts_message", message.body.as_str()),
                        ("tts_lang", self.config.tts_lang.as_str()),
                    ])
            }
        })
    }
}

/// The id in Xoxzo's `[{"msgid": …}]` / `[{"callid": …}]` answer (or a single object).
fn created_id(body: &Value, key: &str) -> Option<String> {
    let created = match body.as_array() {
        Some(list) => list.first()?,
        None => body,
    };
    created.get(key)?.as_str().map(str::to_owned)
}

#[async_trait]
impl SmsSender for XoxzoSender {
    fn name(&self) -> &'static str {
        "xoxzo"
    }

    fn supports_voice(&self) -> bool {
        self.config.caller.is_some()
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
        // Xoxzo's message ids are letters and digits.
        let provider_message_id =
            checked_message_id("xoxzo", provider_message_id, |b| b.is_ascii_alphanumeric())?;
        let base = self.config.base_url.trim_end_matches('/');
        let response = self
            .client
            .get(format!("{base}/sms/messages/{provider_message_id}/"))
            .basic_auth(&self.config.sid, Some(self.config.auth_token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_error("xoxzo", &error))?;
        if !response.status().is_success() {
            return Err(asking_error("xoxzo", &response));
        }
        let stored: Value = response
            .json()
            .await
            .map_err(|_| SendError::Transient("xoxzo: unreadable message".to_owned()))?;
        // One message, or a one-element list as the sending answers are.
        let stored = match stored {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let delivery = stored
            .get("status")
            .or_else(|| stored.get("msgstatus"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        Ok(match delivery.as_str() {
            "OK" | "DELIVERED" => Some(DeliveryOutcome::Delivered),
            "FAILED" | "UNDELIVERED" | "UNDELIVERABLE" => Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                reason: format!("xoxzo {delivery}"),
            }),
            _ => None,
        })
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        let base = self.config.base_url.trim_end_matches('/');
        let request = match (&self.config.template_id, message.channel) {
            (Some(template), DeliveryChannel::Sms) => {
                let Some(code) = MessageTemplates::code_in_text(&message.body) else {
                    return Err(SendError::Rejected(
                        "xoxzo: no code in the message for the template".to_owned(),
                    ));
                };
                self.client
                    .post(format!("{base}/sms/templates/{template}/messages/"))
                    .json(&serde_json::json!({
                        "sender": self.config.sender.trim_start_matches('+'),
                        "recipient": message.to,
                        "variables": {"code": code},
                    }))
            }
            _ => self.free_text(message)?,
        };
        let id_key = match message.channel {
            DeliveryChannel::Sms => "msgid",
            DeliveryChannel::Voice => "callid",
        };
        let response = request
            .basic_auth(&self.config.sid, Some(self.config.auth_token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_error("xoxzo", &error))?;
        let status = response.status();
        if status.is_success() {
            let body: Value = response.json().await.unwrap_or_default();
            let id = created_id(&body, id_key).ok_or_else(|| {
                SendError::Transient("xoxzo: unreadable success response".to_owned())
            })?;
            return Ok(SentReceipt {
                provider_message_id: Some(id),
            });
        }
        let wait = retry_after(&response);
        let body: Value = response.json().await.unwrap_or_default();
        // Only field names are shown: Xoxzo's messages may repeat what was sent.
        let fields: Vec<&str> = body
            .as_object()
            .map(|object| object.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let described = format!("xoxzo {}: {}", status.as_u16(), fields.join(", "));
        Err(match status.as_u16() {
            429 => SendError::RateLimited { retry_after: wait },
            400 if fields.contains(&"recipient") => SendError::InvalidRecipient(described),
            400..=499 => SendError::Rejected(described),
            _ => SendError::Transient(described),
        })
    }
}

impl XoxzoConfig {
    /// The sender for these settings (the clock: for token lifetimes, where the provider has
    /// tokens).
    pub(crate) fn into_sender(self, _clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(sid = %self.sid, "SMS provider xoxzo");
        Ok(Arc::new(XoxzoSender::new(http_client()?, self)))
    }

    /// Reads the `XOXZO_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("XOXZO_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            sid: required(get, "xoxzo", "XOXZO_SID")?,
            auth_token: Credential::new(required(get, "xoxzo", "XOXZO_AUTH_TOKEN")?),
            sender: required(get, "xoxzo", "XOXZO_SENDER")?,
            caller: get("XOXZO_CALLER"),
            tts_lang: get("XOXZO_TTS_LANG").unwrap_or_else(|| "en".to_owned()),
            template_id: match get("XOXZO_TEMPLATE_ID") {
                Some(id)
                    if id.is_empty()
                        || !id.bytes().all(|byte| {
                            byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
                        }) =>
                {
                    return Err(invalid(
                        "XOXZO_TEMPLATE_ID",
                        "the id of an approved template, as the Xoxzo dashboard shows it \
                         (letters, digits, - and _)",
                    ))
                }
                id => id,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::MockProvider;
    use base64::Engine;

    fn sender(base_url: &str, caller: Option<&str>) -> XoxzoSender {
        XoxzoSender::new(
            reqwest::Client::new(),
            XoxzoConfig {
                base_url: base_url.to_owned(),
                sid: "th3ApISiD".to_owned(),
                auth_token: Credential::new("Th3aUthT0k3n"),
                sender: "LATCHKEY".to_owned(),
                caller: caller.map(str::to_owned),
                tts_lang: "en".to_owned(),
                template_id: None,
            },
        )
    }

    fn message(channel: DeliveryChannel) -> OutgoingSms {
        OutgoingSms {
            id: 1,
            to: "+818012345678".to_owned(),
            body: "Latchkey: your code is 123456".to_owned(),
            purpose: "unlock".to_owned(),
            channel,
        }
    }

    fn basic() -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("th3ApISiD:Th3aUthT0k3n")
        )
    }

    #[tokio::test]
    async fn a_text_message_is_posted_as_xoxzo_documents() {
        let mock = MockProvider::start(201, vec![], r#"[{"msgid": "abc123"}]"#).await;
        let receipt = sender(&mock.base_url, None)
            .send(&message(DeliveryChannel::Sms))
            .await
            .expect("sent");
        assert_eq!(receipt.provider_message_id.as_deref(), Some("abc123"));
        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/sms/messages/");
        assert_eq!(request.header("authorization"), Some(basic().as_str()));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.field("recipient"), Some("+818012345678"));
        assert_eq!(request.field("sender"), Some("LATCHKEY"));
        assert_eq!(
            request.field("message"),
            Some("Latchkey: your code is 123456")
        );
    }

    #[tokio::test]
    async fn a_call_reads_the_text_with_text_to_speech() {
        let mock =
            MockProvider::start(201, vec![], r#"[{"callid": "YoUr-5ucc355fuL-c4lL"}]"#).await;
        let xoxzo = sender(&mock.base_url, Some("+81345678901"));
        assert!(xoxzo.supports_voice());
        let receipt = xoxzo
            .send(&message(DeliveryChannel::Voice))
            .await
            .expect("called");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("YoUr-5ucc355fuL-c4lL")
        );
        let request = &mock.requests()[0];
        assert_eq!(request.path, "/voice/simple/playbacks/");
        assert_eq!(request.header("authorization"), Some(basic().as_str()));
        assert_eq!(request.field("caller"), Some("+81345678901"));
        assert_eq!(request.field("recipient"), Some("+818012345678"));
        assert_eq!(
            request.field("tts_message"),
            Some("Latchkey: your code is 123456")
        );
        assert_eq!(request.field("tts_lang"), Some("en"));
    }

    #[tokio::test]
    async fn without_a_caller_there_are_no_calls() {
        let xoxzo = sender("http://127.0.0.1:9", None);
        assert!(!xoxzo.supports_voice());
        let error = xoxzo
            .send(&message(DeliveryChannel::Voice))
            .await
            .expect_err("no caller");
        assert!(matches!(error, SendError::Rejected(_)));
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        let cases: [(u16, &str); 5] = [
            (400, r#"{"recipient": ["Invalid phone number format."]}"#),
            (400, r#"{"message": ["This field is required."]}"#),
            (401, r#"{"detail": "Invalid username/password."}"#),
            (429, r#"{"detail": "Request was throttled."}"#),
            (502, "<html>Bad Gateway</html>"),
        ];
        let mut classes = Vec::new();
        for (status, body) in cases {
            let mock = MockProvider::start(status, vec![], body).await;
            classes.push(
                sender(&mock.base_url, None)
                    .send(&message(DeliveryChannel::Sms))
                    .await
                    .expect_err("an error"),
            );
        }
        assert!(matches!(classes[0], SendError::InvalidRecipient(_)));
        assert!(matches!(classes[1], SendError::Rejected(_)));
        assert!(matches!(classes[2], SendError::Rejected(_)));
        assert!(matches!(classes[3], SendError::RateLimited { .. }));
        assert!(matches!(classes[4], SendError::Transient(_)));
        assert!(!format!("{classes:?}").contains("Th3aUthT0k3n"));
    }

    fn with_template(base_url: &str) -> XoxzoSender {
        XoxzoSender::new(
            reqwest::Client::new(),
            XoxzoConfig {
                template_id: Some("otp-template-1".to_owned()),
                ..sender(base_url, None).config
            },
        )
    }

    fn text_with_code() -> OutgoingSms {
        OutgoingSms {
            body: "Latchkey: your account was locked after failed sign-ins. Unlock code: 482917 (valid 1 hour).\n\n@auth.example.com #482917".to_owned(),
            ..message(DeliveryChannel::Sms)
        }
    }

    // The template send of docs.xoxzo.com/en/sms.html: `POST /sms/templates/<template_id>/messages/`
    // with a JSON body `{"sender", "recipient", "variables"}`.
    #[tokio::test]
    async fn with_a_template_only_the_code_is_sent_as_its_variable() {
        let xoxzo = MockProvider::start(201, vec![], r#"[{"msgid": "0a1b2c"}]"#).await;
        let receipt = with_template(&xoxzo.base_url)
            .send(&text_with_code())
            .await
            .expect("sent");
        assert_eq!(receipt.provider_message_id.as_deref(), Some("0a1b2c"));
        let request = &xoxzo.requests()[0];
        assert_eq!(request.path, "/sms/templates/otp-template-1/messages/");
        assert_eq!(
            request.json(),
            serde_json::json!({
                "sender": "LATCHKEY",
                "recipient": "+818012345678",
                "variables": {"code": "482917"},
            })
        );
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("th3ApISiD:Th3aUthT0k3n")
        );
        assert_eq!(request.header("authorization"), Some(expected.as_str()));
    }

    #[tokio::test]
    async fn a_template_send_is_classified_like_a_free_text_one() {
        let refused =
            MockProvider::start(400, vec![], r#"{"recipient": ["Invalid recipient."]}"#).await;
        assert!(matches!(
            with_template(&refused.base_url)
                .send(&text_with_code())
                .await,
            Err(SendError::InvalidRecipient(_))
        ));
        // A text with no code line cannot fill the template: refused before anything is sent.
        let xoxzo = MockProvider::start(201, vec![], r#"[{"msgid": "0a1b2c"}]"#).await;
        assert!(matches!(
            with_template(&xoxzo.base_url)
                .send(&message(DeliveryChannel::Sms))
                .await,
            Err(SendError::Rejected(_))
        ));
        assert!(xoxzo.requests().is_empty());
    }

    #[test]
    fn a_template_id_must_be_one() {
        let settings = |id: &'static str| {
            move |name: &str| match name {
                "XOXZO_SID" => Some("sid".to_owned()),
                "XOXZO_AUTH_TOKEN" => Some("token".to_owned()),
                "XOXZO_SENDER" => Some("LATCHKEY".to_owned()),
                "XOXZO_TEMPLATE_ID" => Some(id.to_owned()),
                _ => None,
            }
        };
        assert_eq!(
            XoxzoConfig::from_lookup(&settings("otp-1"))
                .expect("valid")
                .template_id
                .as_deref(),
            Some("otp-1")
        );
        let error = XoxzoConfig::from_lookup(&settings("../messages")).expect_err("not an id");
        assert!(error.to_string().contains("XOXZO_TEMPLATE_ID"), "{error}");
    }

    /// `GET /sms/messages/<msgid>/` as Xoxzo's own tutorial shows it (xoxzo/blog.xoxzo.com,
    /// `content/Tutorials/checking-your-sms-status-en.md`), with the statuses of its help page
    /// "What does the delivery status mean?" (`FAILED`, `DELIVERING`, `OK`, `QUEUED`).
    fn stored(status: &str) -> String {
        format!(
            r#"{{"status": "{status}", "sent_time": "2015-08-27 09:22:32", "cost": 10, "sender": "LATCHKEY", "recipient": "+818012345678", "url": "https://api.xoxzo.com/sms/messages/tHi5i5y0urMsGIdt3xT/", "msgid": "tHi5i5y0urMsGIdt3xT"}}"#
        )
    }

    #[tokio::test]
    async fn delivery_is_read_from_the_message_status() {
        let id = "tHi5i5y0urMsGIdt3xT";
        for (status, outcome) in [
            ("DELIVERED", Some(DeliveryOutcome::Delivered)),
            ("OK", Some(DeliveryOutcome::Delivered)),
            (
                "FAILED",
                Some(DeliveryOutcome::Failed {
                    failure: Failure::Undelivered,
                    reason: "xoxzo FAILED".to_owned(),
                }),
            ),
            ("DELIVERING", None),
            ("QUEUED", None),
        ] {
            let mock = MockProvider::start(200, vec![], &stored(status)).await;
            assert_eq!(
                sender(&mock.base_url, None)
                    .delivery_outcome(id)
                    .await
                    .expect("asked"),
                outcome,
                "{status}"
            );
            let request = &mock.requests()[0];
            assert_eq!(request.method, "GET");
            assert_eq!(request.path, format!("/sms/messages/{id}/"));
            assert!(request
                .header("authorization")
                .is_some_and(|value| value.starts_with("Basic ")));
        }
        let mock = MockProvider::start(200, vec![], &stored("OK")).await;
        assert!(sender(&mock.base_url, None)
            .delivery_outcome("../voice/calls")
            .await
            .is_err());
        assert!(mock.requests().is_empty());
    }
}
