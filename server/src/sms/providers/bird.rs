//! Bird (the platform that replaced MessageBird), through its Channels API on `api.bird.com`:
//! `POST /workspaces/{workspace}/channels/{channel}/messages` with `Authorization: AccessKey
//! <key>` and a JSON body naming the receiver (`receiver.contacts[].identifierValue`, E.164 with
//! `+`), the text (`body.type = "text"`) and our own `reference`; `202 Accepted` with the message
//! `id`. Bird picks GSM-7 or UCS-2 itself ("Smart Encoding"). Errors are
//! `{"code", "message", "details": {field: [problems]}}`.
//!
//! Bird reports delivery on the message itself: `GET …/messages/{id}` answers its `status`
//! (`accepted`, `processing`, `sent`, then `delivered`, or `sending_failed` / `delivery_failed`)
//! and a `reason`, so Latchkey asks rather than taking webhooks (about texts only).
//!
//! Calls that read a code aloud, with `BIRD_VOICE_CHANNEL_ID` (a voice channel of the workspace):
//! `POST /workspaces/{workspace}/channels/{voice channel}/calls` with `to` and a `callFlow` of one
//! `say` command (`text`, `locale`, `voice`), `202 Accepted` with the call's `id`
//! (docs.bird.com/api/voice-api: "Initiate an outbound call", "Say Text-To-Speech").

use super::http_client;
use super::{checked_message_id, retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{invalid, required, ConfigError};
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::{DeliveryOutcome, Failure};
use async_trait::async_trait;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://api.bird.com";

#[derive(Debug, Clone)]
pub struct BirdConfig {
    pub base_url: String,
    pub access_key: Credential,
    /// `BIRD_WORKSPACE_ID` and `BIRD_CHANNEL_ID`: the SMS channel installed on a number of the
    /// workspace (UUIDs, from Bird's dashboard).
    pub workspace_id: String,
    pub channel_id: String,
    /// `BIRD_VOICE_CHANNEL_ID`: the voice channel that places calls; none, no calls.
    pub voice_channel_id: Option<String>,
    /// `BIRD_VOICE_LOCALE`: the language calls are read in, such as `en-US` (the default).
    pub voice_locale: String,
}

/// The locales Bird's text-to-speech `say` command takes (its `locale` enumeration).
const VOICE_LOCALES: &[&str] = &[
    "arb",
    "ar-AE",
    "ca-ES",
    "yue-CN",
    "cmn-CN",
    "da-DK",
    "nl-BE",
    "nl-NL",
    "en-AU",
    "en-GB",
    "en-IN",
    "en-NZ",
    "en-ZA",
    "en-US",
    "en-GB-WLS",
    "fi-FI",
    "fr-FR",
    "fr-CA",
    "hi-IN",
    "de-DE",
    "de-AT",
    "is-IS",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "nb-NO",
    "pl-PL",
    "pt-BR",
    "pt-PT",
    "ro-RO",
    "ru-RU",
    "es-ES",
    "es-MX",
    "es-US",
    "sv-SE",
    "tr-TR",
    "cy-GB",
];

pub struct BirdSender {
    client: reqwest::Client,
    config: BirdConfig,
}

/// The message Bird answers with, when created and when asked about.
#[derive(Deserialize)]
struct Message {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    /// Problems by the field they are about, such as `.receiver.contacts[0].identifierValue`.
    #[serde(default)]
    details: Option<BTreeMap<String, serde_json::Value>>,
}

impl ErrorBody {
    /// Whether Bird found fault with the receiver: the number, not our configuration.
    fn about_the_receiver(&self) -> bool {
        self.details
            .as_ref()
            .is_some_and(|details| details.keys().any(|field| field.contains("receiver")))
    }
}

impl BirdSender {
    pub fn new(client: reqwest::Client, config: BirdConfig) -> Self {
        Self { client, config }
    }

    fn messages_url(&self) -> String {
        self.channel_url(&self.config.channel_id, "messages")
    }

    fn channel_url(&self, channel: &str, resource: &str) -> String {
        format!(
            "{}/workspaces/{}/channels/{channel}/{resource}",
            self.config.base_url.trim_end_matches('/'),
            self.config.workspace_id,
        )
    }

    /// Sends `request` with the access key: the answer when it is a success, else its error.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SendError> {
        let response = request
            .header(
                reqwest::header::AUTHORIZATION,
                format!("AccessKey {}", self.config.access_key.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_error("bird", &error))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(Self::error_of(response).await)
        }
    }

    /// The error a non-success answer stands for.
    async fn error_of(response: reqwest::Response) -> SendError {
        let status = response.status();
        let wait = retry_after(&response);
        let error: ErrorBody = response.json().await.unwrap_or_default();
        let described = format!("bird {}: {} {}", status.as_u16(), error.code, error.message)
            .trim_end()
            .to_owned();
        match status.as_u16() {
            429 => SendError::RateLimited { retry_after: wait },
            400 | 422 if error.about_the_receiver() => SendError::InvalidRecipient(described),
            // Credentials, the workspace or channel, its state (409: not active), the payload.
            400..=499 => SendError::Rejected(described),
            _ => SendError::Transient(described),
        }
    }
}

#[async_trait]
impl SmsSender for BirdSender {
    fn name(&self) -> &'static str {
        "bird"
    }

    fn supports_voice(&self) -> bool {
        self.config.voice_channel_id.is_some()
    }

    fn reports_calls_when_asked(&self) -> bool {
        false
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        let (url, body) = match (message.channel, &self.config.voice_channel_id) {
            (DeliveryChannel::Sms, _) => (
                self.messages_url(),
                serde_json::json!({
                    "receiver": {
                        "contacts": [{
                            "identifierKey": "phonenumber",
                            "identifierValue": message.to,
                        }],
                    },
                    "body": {
                        "type": "text",
                        "text": { "text": message.body },
                    },
                    "reference": format!("latchkey-{}", message.id),
                }),
            ),
            (DeliveryChannel::Voice, Some(voice_channel)) => (
                self.channel_url(voice_channel, "calls"),
                serde_json::json!({
                    "to": message.to,
                    "callFlow": [{
                        "command": "say",
                        "options": {
                            "text": message.body,
                            "locale": self.config.voice_locale,
                            "voice": "female",
                        },
                    }],
                }),
            ),
            (DeliveryChannel::Voice, None) => {
                return Err(SendError::Rejected(
                    "bird: no voice channel (BIRD_VOICE_CHANNEL_ID) to call from".to_owned(),
                ))
            }
        };
        let response = self.exchange(self.client.post(url).json(&body)).await?;
        let created: Message = response
            .json()
            .await
            .map_err(|_| SendError::Ambiguous("bird: unreadable success response".to_owned()))?;
        Ok(SentReceipt {
            provider_message_id: Some(created.id),
        })
    }

    fn reports_when_asked(&self) -> bool {
        true
    }

    async fn delivery_outcome(
        &self,
        provider_message_id: &str,
    ) -> Result<Option<DeliveryOutcome>, SendError> {
        // Bird's ids are UUIDs.
        let provider_message_id = checked_message_id("bird", provider_message_id, |b| {
            b.is_ascii_hexdigit() || b == b'-'
        })?;
        let url = format!("{}/{provider_message_id}", self.messages_url());
        let response = self.exchange(self.client.get(url)).await?;
        let stored: Message = response
            .json()
            .await
            .map_err(|_| SendError::Transient("bird: unreadable message".to_owned()))?;
        Ok(match stored.status.as_str() {
            "delivered" => Some(DeliveryOutcome::Delivered),
            "sending_failed" | "delivery_failed" | "rejected" | "skipped" => {
                Some(DeliveryOutcome::Failed {
                    failure: Failure::Undelivered,
                    reason: format!(
                        "bird {} {}",
                        stored.status,
                        stored.reason.unwrap_or_default()
                    )
                    .trim_end()
                    .to_owned(),
                })
            }
            _ => None,
        })
    }
}

impl BirdConfig {
    /// The sender for these settings.
    pub(crate) fn into_sender(self, _clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(channel = %self.channel_id, "SMS provider bird");
        Ok(Arc::new(BirdSender::new(http_client()?, self)))
    }

    /// Reads the `BIRD_*` settings; a missing or malformed one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let uuid = |variable: &'static str| -> Result<String, ConfigError> {
            let value = required(get, "bird", variable)?;
            let is_uuid = value.len() == 36
                && value.bytes().enumerate().all(|(index, byte)| {
                    if matches!(index, 8 | 13 | 18 | 23) {
                        byte == b'-'
                    } else {
                        byte.is_ascii_hexdigit()
                    }
                });
            if is_uuid {
                Ok(value)
            } else {
                Err(invalid(
                    variable,
                    format!("`{value}` is not an id such as a1405560-c8d3-4b1a-877d-3f449ad95352"),
                ))
            }
        };
        let voice_channel_id = match get("BIRD_VOICE_CHANNEL_ID") {
            Some(_) => Some(uuid("BIRD_VOICE_CHANNEL_ID")?),
            None => None,
        };
        let voice_locale = get("BIRD_VOICE_LOCALE").unwrap_or_else(|| "en-US".to_owned());
        if !VOICE_LOCALES.contains(&voice_locale.as_str()) {
            return Err(invalid(
                "BIRD_VOICE_LOCALE",
                format!(
                    "`{voice_locale}` is not a locale Bird reads text in, such as en-US or en-GB"
                ),
            ));
        }
        Ok(Self {
            base_url: get("BIRD_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            access_key: Credential::new(required(get, "bird", "BIRD_ACCESS_KEY")?),
            workspace_id: uuid("BIRD_WORKSPACE_ID")?,
            channel_id: uuid("BIRD_CHANNEL_ID")?,
            voice_channel_id,
            voice_locale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::MockProvider;

    const WORKSPACE: &str = "a1405560-c8d3-4b1a-877d-3f449ad95352";
    const CHANNEL: &str = "614208aa-b153-4d5d-9989-2fddfc0ce4c3";
    const VOICE_CHANNEL: &str = "86cc4dc0-3dc0-41b7-ac43-8ec829ead56f";

    fn sender(base_url: &str) -> BirdSender {
        BirdSender::new(
            reqwest::Client::new(),
            BirdConfig {
                base_url: base_url.to_owned(),
                access_key: Credential::new("AbCdEfGhIjKlMnOpQrStUvWxYz"),
                workspace_id: WORKSPACE.to_owned(),
                channel_id: CHANNEL.to_owned(),
                voice_channel_id: Some(VOICE_CHANNEL.to_owned()),
                voice_locale: "en-GB".to_owned(),
            },
        )
    }

    fn message() -> OutgoingSms {
        OutgoingSms {
            id: 42,
            to: "+31612345678".to_owned(),
            body: "Łódź Konto: your code is 123456".to_owned(),
            purpose: "unlock".to_owned(),
            channel: DeliveryChannel::Sms,
        }
    }

    /// The message object of Bird's Channels API (docs.bird.com/api/channels-api: "Sending SMS
    /// messages" and the message examples of "Receiving messages"), as answered with `202`.
    const ACCEPTED: &str = r#"{
        "id": "96a0b5fa-a986-453d-be5c-3117f989f025",
        "channelId": "614208aa-b153-4d5d-9989-2fddfc0ce4c3",
        "receiver": {"contacts": [{"id": "32cf5eee-f940-422c-ab8c-5f753aad5efd", "identifierKey": "phonenumber", "identifierValue": "+31612345678"}]},
        "body": {"type": "text", "text": {"text": "Łódź Konto: your code is 123456"}},
        "reference": "latchkey-42",
        "status": "accepted",
        "reason": "",
        "direction": "outgoing",
        "lastStatusAt": "2026-11-30T08:32:50.736Z",
        "createdAt": "2026-11-30T08:32:50.736Z",
        "updatedAt": "2026-11-30T08:32:50.736Z"
    }"#;

    #[tokio::test]
    async fn a_text_is_posted_to_the_channel_with_the_access_key_and_our_reference() {
        let mock = MockProvider::start(202, vec![], ACCEPTED).await;
        let receipt = sender(&mock.base_url).send(&message()).await.expect("sent");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("96a0b5fa-a986-453d-be5c-3117f989f025")
        );
        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.path,
            format!("/workspaces/{WORKSPACE}/channels/{CHANNEL}/messages")
        );
        assert_eq!(
            request.header("authorization"),
            Some("AccessKey AbCdEfGhIjKlMnOpQrStUvWxYz")
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(
            body["receiver"]["contacts"][0]["identifierValue"],
            "+31612345678"
        );
        assert_eq!(
            body["receiver"]["contacts"][0]["identifierKey"],
            "phonenumber"
        );
        assert_eq!(body["body"]["type"], "text");
        assert_eq!(
            body["body"]["text"]["text"], "Łódź Konto: your code is 123456",
            "sent as written: Bird chooses the encoding"
        );
        assert_eq!(body["reference"], "latchkey-42");
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        // A malformed-field answer as Bird's API gives it: `code`, `message`, `details` by field.
        let bad_number = MockProvider::start(
            422,
            vec![],
            r#"{"code": "InvalidPayload", "message": "One or more fields provided in the request body are malformed", "details": {".receiver.contacts[0].identifierValue": ["invalid phone number"]}}"#,
        )
        .await;
        assert!(matches!(
            sender(&bad_number.base_url).send(&message()).await,
            Err(SendError::InvalidRecipient(_))
        ));
        let bad_body = MockProvider::start(
            422,
            vec![],
            r#"{"code": "InvalidPayload", "message": "One or more fields provided in the request body are malformed", "details": {".body.type": ["Invalid value"]}}"#,
        )
        .await;
        assert!(matches!(
            sender(&bad_body.base_url).send(&message()).await,
            Err(SendError::Rejected(_))
        ));
        for status in [401, 403, 404, 409] {
            let refused = MockProvider::start(
                status,
                vec![],
                r#"{"code": "Forbidden", "message": "access denied"}"#,
            )
            .await;
            assert!(
                matches!(
                    sender(&refused.base_url).send(&message()).await,
                    Err(SendError::Rejected(_))
                ),
                "{status}"
            );
        }
        let throttled = MockProvider::start(429, vec![("retry-after", "3".to_owned())], "{}").await;
        assert!(matches!(
            sender(&throttled.base_url).send(&message()).await,
            Err(SendError::RateLimited {
                retry_after: Some(wait)
            }) if wait == std::time::Duration::from_secs(3)
        ));
        let down = MockProvider::start(503, vec![], "").await;
        assert!(matches!(
            sender(&down.base_url).send(&message()).await,
            Err(SendError::Transient(_))
        ));
    }

    /// A call as "Initiate an outbound call" shows it: `to` and a `callFlow` of commands, here one
    /// `say` (docs.bird.com/api/voice-api/voice-calls-api), answered `202` with the call.
    #[tokio::test]
    async fn a_code_by_call_is_said_on_the_voice_channel() {
        let mock = MockProvider::start(
            202,
            vec![],
            r#"{"id": "0374a740-390d-4395-a007-8ca87ce9f9c9", "status": "queued"}"#,
        )
        .await;
        let call = OutgoingSms {
            channel: DeliveryChannel::Voice,
            body: "Your Latchkey code is 1. 2. 3. 4. 5. 6.".to_owned(),
            ..message()
        };
        let bird = sender(&mock.base_url);
        assert!(bird.supports_voice());
        let receipt = bird.send(&call).await.expect("called");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("0374a740-390d-4395-a007-8ca87ce9f9c9")
        );
        let request = &mock.requests()[0];
        assert_eq!(
            request.path,
            format!("/workspaces/{WORKSPACE}/channels/{VOICE_CHANNEL}/calls")
        );
        assert_eq!(
            request.header("authorization"),
            Some("AccessKey AbCdEfGhIjKlMnOpQrStUvWxYz")
        );
        let body = request.json();
        assert_eq!(body["to"], "+31612345678");
        assert_eq!(body["callFlow"][0]["command"], "say");
        assert_eq!(
            body["callFlow"][0]["options"]["text"],
            "Your Latchkey code is 1. 2. 3. 4. 5. 6."
        );
        assert_eq!(body["callFlow"][0]["options"]["locale"], "en-GB");

        // Without a voice channel there are no calls, and no request.
        let texts_only = BirdSender::new(
            reqwest::Client::new(),
            BirdConfig {
                voice_channel_id: None,
                ..bird.config.clone()
            },
        );
        assert!(!texts_only.supports_voice());
        let before = mock.requests().len();
        assert!(matches!(
            texts_only.send(&call).await,
            Err(SendError::Rejected(_))
        ));
        assert_eq!(mock.requests().len(), before);
    }

    #[tokio::test]
    async fn delivery_is_read_from_the_message_status() {
        let id = "96a0b5fa-a986-453d-be5c-3117f989f025";
        let answer = |status: &str, reason: &str| {
            ACCEPTED
                .replace(
                    r#""status": "accepted""#,
                    &format!(r#""status": "{status}""#),
                )
                .replace(r#""reason": """#, &format!(r#""reason": "{reason}""#))
        };
        let delivered = MockProvider::start(200, vec![], &answer("delivered", "")).await;
        assert_eq!(
            sender(&delivered.base_url)
                .delivery_outcome(id)
                .await
                .expect("asked"),
            Some(DeliveryOutcome::Delivered)
        );
        let request = &delivered.requests()[0];
        assert_eq!(request.method, "GET");
        assert_eq!(
            request.path,
            format!("/workspaces/{WORKSPACE}/channels/{CHANNEL}/messages/{id}")
        );
        let failed = MockProvider::start(
            200,
            vec![],
            &answer("delivery_failed", "unknown subscriber"),
        )
        .await;
        assert_eq!(
            sender(&failed.base_url)
                .delivery_outcome(id)
                .await
                .expect("asked"),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                reason: "bird delivery_failed unknown subscriber".to_owned()
            })
        );
        let underway = MockProvider::start(200, vec![], &answer("sent", "")).await;
        assert_eq!(
            sender(&underway.base_url)
                .delivery_outcome(id)
                .await
                .expect("asked"),
            None
        );
        assert!(sender(&underway.base_url)
            .delivery_outcome("../../other")
            .await
            .is_err());
    }

    #[test]
    fn settings_name_what_is_missing_or_malformed() {
        let settings = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        let error = BirdConfig::from_lookup(&settings(&[("BIRD_ACCESS_KEY", "k")]))
            .expect_err("no workspace");
        assert_eq!(error.variable, "BIRD_WORKSPACE_ID");
        let error = BirdConfig::from_lookup(&settings(&[
            ("BIRD_ACCESS_KEY", "k"),
            ("BIRD_WORKSPACE_ID", WORKSPACE),
            ("BIRD_CHANNEL_ID", "sms-channel"),
        ]))
        .expect_err("not an id");
        assert_eq!(error.variable, "BIRD_CHANNEL_ID");
        let config = BirdConfig::from_lookup(&settings(&[
            ("BIRD_ACCESS_KEY", "k"),
            ("BIRD_WORKSPACE_ID", WORKSPACE),
            ("BIRD_CHANNEL_ID", CHANNEL),
        ]))
        .expect("complete");
        assert_eq!(config.base_url, DEFAULT_BASE_URL);
        assert_eq!(config.voice_channel_id, None);
        assert_eq!(config.voice_locale, "en-US");
        let error = BirdConfig::from_lookup(&settings(&[
            ("BIRD_ACCESS_KEY", "k"),
            ("BIRD_WORKSPACE_ID", WORKSPACE),
            ("BIRD_CHANNEL_ID", CHANNEL),
            ("BIRD_VOICE_LOCALE", "klingon"),
        ]))
        .expect_err("no such locale");
        assert_eq!(error.variable, "BIRD_VOICE_LOCALE");
        assert!(!format!("{config:?}").contains("\"k\""));
    }
}
