//! Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP
//! Basic (account SID and auth token), a form with `To` (E.164), `Body`, and either `From` or
//! `MessagingServiceSid`; `201 Created` with the message `sid`. Calls that read a code aloud:
//! `POST …/Calls.json` with `To`, `From` and `Twiml` (`<Response><Say>…</Say></Response>`).
//! Errors carry `{code, message}`: classified by HTTP status first and Twilio's code second, as
//! Twilio advises.

use super::http_client;
use super::{retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{invalid, required, ConfigError};
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Who the message is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSenderId {
    /// A Twilio number (E.164), alphanumeric sender ID or short code.
    From(String),
    /// A Messaging Service (`MG…`), which picks the number.
    MessagingService(String),
}

#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Credential,
    pub sender: TwilioSenderId,
    /// The number calls come from when `sender` is a Messaging Service (`TWILIO_VOICE_FROM`).
    pub voice_from: Option<String>,
}

pub struct TwilioSender {
    client: reqwest::Client,
    config: TwilioConfig,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize, Default)]
struct TwilioError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// Twilio error codes that mean the recipient cannot receive the message: not a valid number
/// (21211, 21214, 21217), unsubscribed (21610), unreachable (21612), not a mobile number (21614),
/// a landline (21635). Not 21408, "permissions disabled for the destination region": that is the
/// account's Messaging Geo Permissions, a setting, so the next provider is tried and the
/// operator told.
const RECIPIENT_CODES: [u32; 7] = [21211, 21214, 21217, 21610, 21612, 21614, 21635];

impl TwilioSender {
    pub fn new(client: reqwest::Client, config: TwilioConfig) -> Self {
        Self { client, config }
    }

    /// The number calls are placed from, if there is one.
    fn caller(&self) -> Option<&str> {
        self.config
            .voice_from
            .as_deref()
            .or(match &self.config.sender {
                TwilioSenderId::From(from) if from.starts_with('+') => Some(from.as_str()),
                _ => None,
            })
    }
}

/// TwiML that says `text`, with XML's special characters escaped.
fn say(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    format!("<Response><Say>{escaped}</Say></Response>")
}

#[async_trait]
impl SmsSender for TwilioSender {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn supports_voice(&self) -> bool {
        self.caller().is_some()
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        let account = format!(
            "{}/2010-04-01/Accounts/{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let (url, form) = match message.channel {
            DeliveryChannel::Sms => {
                let sender = match &self.config.sender {
                    TwilioSenderId::From(from) => ("From", from.clone()),
                    TwilioSenderId::MessagingService(sid) => ("MessagingServiceSid", sid.clone()),
                };
                (
                    format!("{account}/Messages.json"),
                    vec![
                        ("To", message.to.clone()),
                        sender,
                        ("Body", message.body.clone()),
                    ],
                )
            }
            DeliveryChannel::Voice => {
                let Some(caller) = self.caller() else {
                    return Err(SendError::Rejected(
                        "twilio: calls need TWILIO_VOICE_FROM".to_owned(),
                    ));
                };
                (
                    format!("{account}/Calls.json"),
                    vec![
                        ("To", message.to.clone()),
                        ("From", caller.to_owned()),
                        ("Twiml", say(&message.body)),
                    ],
                )
            }
        };
        let response = self
            .client
            .post(url)
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|error| transport_error("twilio", &error))?;
        let status = response.status();
        if status.is_success() {
            let created: Created = response.json().await.map_err(|_| {
                SendError::Transient("twilio: unreadable success response".to_owned())
            })?;
            return Ok(SentReceipt {
                provider_message_id: Some(created.sid),
            });
        }
        let wait = retry_after(&response);
        let error: TwilioError = response.json().await.unwrap_or_default();
        let described = format!(
            "twilio {}: {} {}",
            status.as_u16(),
            error.code.map(|code| code.to_string()).unwrap_or_default(),
            error.message.unwrap_or_default()
        );
        Err(match status.as_u16() {
            429 => SendError::RateLimited { retry_after: wait },
            401 | 403 => SendError::Rejected(described),
            400 | 404
                if error
                    .code
                    .is_some_and(|code| RECIPIENT_CODES.contains(&code)) =>
            {
                SendError::InvalidRecipient(described)
            }
            400..=499 => SendError::Rejected(described),
            _ => SendError::Transient(described),
        })
    }
}

impl TwilioConfig {
    /// The sender for these settings (the clock: for token lifetimes, where the provider has
    /// tokens).
    pub(crate) fn into_sender(self, _clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(account = %self.account_sid, "SMS provider twilio");
        Ok(Arc::new(TwilioSender::new(http_client()?, self)))
    }

    /// Reads the `TWILIO_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let sender = match (get("TWILIO_FROM"), get("TWILIO_MESSAGING_SERVICE_SID")) {
            (Some(from), None) => TwilioSenderId::From(from),
            (None, Some(service)) => TwilioSenderId::MessagingService(service),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "TWILIO_FROM",
                    "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID, not both",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "TWILIO_FROM",
                    "the twilio provider needs TWILIO_FROM (a Twilio number) or TWILIO_MESSAGING_SERVICE_SID",
                ))
            }
        };
        Ok(Self {
            base_url: get("TWILIO_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            account_sid: required(get, "twilio", "TWILIO_ACCOUNT_SID")?,
            auth_token: Credential::new(required(get, "twilio", "TWILIO_AUTH_TOKEN")?),
            sender,
            voice_from: get("TWILIO_VOICE_FROM"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::{Headers, MockProvider};
    use base64::Engine;

    fn sender(base_url: &str, from: TwilioSenderId) -> TwilioSender {
        TwilioSender::new(
            reqwest::Client::new(),
            TwilioConfig {
                base_url: base_url.to_owned(),
                account_sid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
                auth_token: Credential::new("secret-token"),
                sender: from,
                voice_from: None,
            },
        )
    }

    fn message() -> OutgoingSms {
        OutgoingSms {
            id: 1,
            to: "+14155552345".to_owned(),
            body: "Latchkey: your code is 123456".to_owned(),
            purpose: "unlock".to_owned(),
            channel: DeliveryChannel::Sms,
        }
    }

    #[tokio::test]
    async fn a_message_is_posted_as_twilio_documents_and_its_sid_recorded() {
        let mock = MockProvider::start(
            201,
            vec![],
            r#"{"sid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "queued", "num_segments": "1"}"#,
        )
        .await;
        let receipt = sender(&mock.base_url, TwilioSenderId::From("+14155550000".into()))
            .send(&message())
            .await
            .expect("sent");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        );

        let requests = mock.requests();
        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.path,
            "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json"
        );
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:secret-token")
        );
        assert_eq!(
            request.header("authorization"),
            Some(expected_auth.as_str())
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.field("To"), Some("+14155552345"));
        assert_eq!(request.field("From"), Some("+14155550000"));
        assert_eq!(request.field("Body"), Some("Latchkey: your code is 123456"));
        assert_eq!(request.field("MessagingServiceSid"), None);
    }

    #[tokio::test]
    async fn a_voice_code_is_a_call_that_says_the_text() {
        let mock = MockProvider::start(
            201,
            vec![],
            r#"{"sid": "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "queued"}"#,
        )
        .await;
        let twilio = sender(&mock.base_url, TwilioSenderId::From("+14155550000".into()));
        assert!(twilio.supports_voice());
        let call = OutgoingSms {
            channel: DeliveryChannel::Voice,
            body: "Your code is 1, 2, 3. <Again> & again".to_owned(),
            ..message()
        };
        let receipt = twilio.send(&call).await.expect("called");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        );
        let request = &mock.requests()[0];
        assert_eq!(
            request.path,
            "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Calls.json"
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.field("To"), Some("+14155552345"));
        assert_eq!(request.field("From"), Some("+14155550000"));
        assert_eq!(
            request.field("Twiml"),
            Some("<Response><Say>Your code is 1, 2, 3. &lt;Again&gt; &amp; again</Say></Response>")
        );
    }

    #[tokio::test]
    async fn a_messaging_service_alone_places_no_calls() {
        let twilio = sender(
            "http://127.0.0.1:9",
            TwilioSenderId::MessagingService("MGbbbb".into()),
        );
        assert!(!twilio.supports_voice());
    }

    #[tokio::test]
    async fn a_messaging_service_replaces_from() {
        let mock = MockProvider::start(201, vec![], r#"{"sid": "SMb"}"#).await;
        sender(
            &mock.base_url,
            TwilioSenderId::MessagingService("MGbbbb".into()),
        )
        .send(&message())
        .await
        .expect("sent");
        let request = &mock.requests()[0];
        assert_eq!(request.field("MessagingServiceSid"), Some("MGbbbb"));
        assert_eq!(request.field("From"), None);
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        let cases: [(u16, Headers, &str); 6] = [
            (
                400,
                vec![],
                r#"{"code": 21211, "message": "The 'To' number +1asd is not a valid phone number.", "status": 400}"#,
            ),
            (
                400,
                vec![],
                r#"{"code": 21614, "message": "not a mobile number", "status": 400}"#,
            ),
            (
                401,
                vec![],
                r#"{"code": 20003, "message": "Authentication Error", "status": 401}"#,
            ),
            (
                400,
                vec![],
                r#"{"code": 21212, "message": "invalid From", "status": 400}"#,
            ),
            (
                429,
                vec![("retry-after", "7".to_owned())],
                r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#,
            ),
            (
                503,
                vec![],
                r#"{"code": 20500, "message": "Internal Server Error", "status": 503}"#,
            ),
        ];
        let mut classes = Vec::new();
        for (status, headers, body) in cases {
            let mock = MockProvider::start(status, headers, body).await;
            let error = sender(&mock.base_url, TwilioSenderId::From("+14155550000".into()))
                .send(&message())
                .await
                .expect_err("an error");
            classes.push(error);
        }
        assert!(matches!(classes[0], SendError::InvalidRecipient(_)));
        assert!(matches!(classes[1], SendError::InvalidRecipient(_)));
        assert!(matches!(classes[2], SendError::Rejected(_)));
        assert!(matches!(classes[3], SendError::Rejected(_)));
        assert!(matches!(
            classes[4],
            SendError::RateLimited { retry_after: Some(wait) } if wait.as_secs() == 7
        ));
        assert!(matches!(classes[5], SendError::Transient(_)));
        assert!(!format!("{:?}", classes).contains("secret-token"));
    }

    /// twilio.com/docs/api/errors/21408 (Messaging Geo Permissions, a Console setting) and
    /// twilio.com/docs/api/errors/21635 ("'To' number cannot be a landline").
    #[tokio::test]
    async fn a_region_the_account_may_not_send_to_is_configuration_and_a_landline_the_number() {
        let geo = MockProvider::start(
            400,
            vec![],
            r#"{"code": 21408, "message": "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +4477009000.", "more_info": "https://www.twilio.com/docs/errors/21408", "status": 400}"#,
        )
        .await;
        let error = sender(&geo.base_url, TwilioSenderId::From("+14155550000".into()))
            .send(&message())
            .await
            .expect_err("refused");
        assert!(matches!(error, SendError::Rejected(_)), "{error:?}");
        let landline = MockProvider::start(
            400,
            vec![],
            r#"{"code": 21635, "message": "'To' number cannot be a landline", "more_info": "https://www.twilio.com/docs/errors/21635", "status": 400}"#,
        )
        .await;
        let error = sender(
            &landline.base_url,
            TwilioSenderId::From("+14155550000".into()),
        )
        .send(&message())
        .await
        .expect_err("refused");
        assert!(matches!(error, SendError::InvalidRecipient(_)), "{error:?}");
    }

    #[tokio::test]
    async fn an_unreachable_provider_is_a_transient_failure() {
        let error = sender("http://127.0.0.1:9", TwilioSenderId::From("+1".into()))
            .send(&message())
            .await
            .expect_err("nothing listens on port 9");
        assert!(matches!(error, SendError::Transient(_)), "{error:?}");
    }
}
