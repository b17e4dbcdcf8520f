//! Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP
//! Basic (account SID and auth token), a form with `To` (E.164), `Body`, and either `From` or
//! `MessagingServiceSid`; `201 Created` with the message `sid`. Calls that read a code aloud:
//! `POST …/Calls.json` with `To`, `From` and `Twiml` (`<Response><Say>…</Say></Response>`).
//! Errors carry `{code, message}`: classified by HTTP status first and Twilio's code second, as
//! Twilio advises.
//!
//! A text whose send got no answer is looked up before it is sent again: Twilio lists the messages
//! sent to a number (`GET …/Messages.json?To=…&DateSent>=…`), and a message with the same body
//! (it carries the one-time code) is the one already sent.
//!
//! Delivery receipts: each message and call names `StatusCallback`
//! (`PUBLIC_URL/webhooks/twilio/status`), where Twilio posts the final status, signed with the
//! auth token (`TwilioStatusCallbacks`).

use super::http_client;
use super::{retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{invalid, required, ConfigError};
use crate::sms::receipts::{
    same_secret, status_callback_url, Callback, CallbackRefused, DeliveryOutcome,
    StatusCallbackReader, StatusReport,
};
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::Failure;
use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
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
    /// Where Twilio posts each message's and call's final status (`PUBLIC_URL` and
    /// `/webhooks/twilio/status`); none is named when unset.
    pub status_callback: Option<String>,
}

pub struct TwilioSender {
    client: reqwest::Client,
    config: TwilioConfig,
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// A page of `GET …/Messages.json`.
#[derive(Deserialize)]
struct MessageList {
    #[serde(default)]
    messages: Vec<ListedMessage>,
}

#[derive(Deserialize)]
struct ListedMessage {
    sid: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    direction: Option<String>,
}

/// What Twilio puts before the text of a trial account's messages.
const TRIAL_PREFIX: &str = "Sent from your Twilio trial account - ";

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

    async fn find_sent(
        &self,
        message: &OutgoingSms,
        since: time::OffsetDateTime,
    ) -> Result<Option<SentReceipt>, SendError> {
        // Calls are listed without what they said: a call is placed again.
        if message.channel != DeliveryChannel::Sms {
            return Ok(None);
        }
        let day = (since - time::Duration::minutes(1)).date();
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let response = self
            .client
            .get(url)
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .query(&[
                ("To", message.to.clone()),
                ("DateSent>", day.to_string()),
                ("PageSize", "50".to_owned()),
            ])
            .send()
            .await
            .map_err(|error| transport_error("twilio", &error).sent_nothing())?;
        let status = response.status();
        if !status.is_success() {
            return Err(match status.as_u16() {
                429 => SendError::RateLimited {
                    retry_after: retry_after(&response),
                },
                401 | 403 => {
                    SendError::Rejected(format!("twilio {}: listing messages", status.as_u16()))
                }
                _ => SendError::Transient(format!("twilio {}: listing messages", status.as_u16())),
            });
        }
        let list: MessageList = response
            .json()
            .await
            .map_err(|_| SendError::Transient("twilio: unreadable message list".to_owned()))?;
        Ok(list
            .messages
            .into_iter()
            .find(|listed| {
                let body = listed.body.as_deref().unwrap_or_default();
                listed
                    .direction
                    .as_deref()
                    .unwrap_or("outbound-api")
                    .starts_with("outbound")
                    && (body == message.body
                        || body.strip_prefix(TRIAL_PREFIX) == Some(&message.body))
            })
            .map(|listed| SentReceipt {
                provider_message_id: Some(listed.sid),
            }))
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        let account = format!(
            "{}/2010-04-01/Accounts/{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let (url, mut form) = match message.channel {
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
        if let Some(callback) = &self.config.status_callback {
            form.push(("StatusCallback", callback.clone()));
        }
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
    /// Each message names `public_url`'s receipt address as its `StatusCallback`.
    pub(crate) fn into_sender(
        mut self,
        _clock: &Arc<dyn Clock>,
        public_url: &str,
    ) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(account = %self.account_sid, "SMS provider twilio");
        self.status_callback = Some(status_callback_url(public_url, "twilio"));
        Ok(Arc::new(TwilioSender::new(http_client()?, self)))
    }

    /// The reader of the status callbacks Twilio signs with this account's auth token.
    pub(crate) fn status_callbacks(&self) -> Arc<dyn StatusCallbackReader> {
        Arc::new(TwilioStatusCallbacks {
            auth_token: self.auth_token.clone(),
        })
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
            status_callback: None,
        })
    }
}

/// Twilio's status callbacks: a form with `MessageSid` and `MessageStatus` (for a call, `CallSid`
/// and `CallStatus`) and, for a failure, `ErrorCode`; signed in `X-Twilio-Signature`
/// (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>).
pub struct TwilioStatusCallbacks {
    auth_token: Credential,
}

/// Delivery error codes that mean the number cannot receive texts: 30005 "Unknown destination
/// handset" (the number does not exist), 30006 "Landline or unreachable carrier"
/// (<https://www.twilio.com/docs/api/errors/30006>). Others (30003 a phone switched off, 30007
/// carrier filtering, …) are failures of this message, not of the number.
const UNREACHABLE_DELIVERY_CODES: [&str; 2] = ["30005", "30006"];

/// Twilio's request signature: the URL Twilio called, then each POST parameter's name and value
/// sorted by name, HMAC-SHA1 with the auth token as the key, in base64.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut signed = url.to_owned();
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()) else {
        // HMAC takes a key of any length.
        return String::new();
    };
    mac.update(signed.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl StatusCallbackReader for TwilioStatusCallbacks {
    fn read(&self, callback: &Callback<'_>) -> Result<Vec<StatusReport>, CallbackRefused> {
        let signature = callback
            .header("x-twilio-signature")
            .ok_or(CallbackRefused::Unauthenticated)?;
        let params: Vec<(String, String)> =
            form_urlencoded::parse(callback.body).into_owned().collect();
        let expected = twilio_signature(self.auth_token.expose(), callback.url, &params);
        if expected.is_empty() || !same_secret(signature, &expected) {
            return Err(CallbackRefused::Unauthenticated);
        }
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let (id, status, is_call) = match (
            param("MessageSid"),
            param("MessageStatus"),
            param("CallSid"),
            param("CallStatus"),
        ) {
            (Some(id), Some(status), _, _) => (id, status, false),
            (None, _, Some(id), Some(status)) => (id, status, true),
            _ => {
                return Err(CallbackRefused::Malformed(
                    "twilio: neither MessageSid and MessageStatus nor CallSid and CallStatus"
                        .to_owned(),
                ))
            }
        };
        let error_code = param("ErrorCode").unwrap_or_default();
        let failed = |failure| {
            Some(DeliveryOutcome::Failed {
                failure,
                reason: format!("twilio {status} {error_code}")
                    .trim_end()
                    .to_owned(),
            })
        };
        let outcome = match (is_call, status) {
            (false, "delivered" | "read") | (true, "completed") => Some(DeliveryOutcome::Delivered),
            (false, "undelivered" | "failed")
                if UNREACHABLE_DELIVERY_CODES.contains(&error_code) =>
            {
                failed(Failure::Unreachable)
            }
            (false, "undelivered" | "failed") | (true, "busy" | "no-answer" | "failed") => {
                failed(Failure::Undelivered)
            }
            // queued, sending, sent, accepted, ringing, in-progress, …: still on its way.
            _ => None,
        };
        Ok(vec![StatusReport {
            provider_message_id: id.to_owned(),
            outcome,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::pairs;
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
                status_callback: None,
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

    // Twilio's own example of a signed request ("Validating requests",
    // https://www.twilio.com/docs/usage/webhooks/webhooks-security): auth token 12345.
    const EXAMPLE_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const EXAMPLE_SIGNATURE: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    #[test]
    fn the_signature_is_twilios_for_its_documented_example() {
        // Given out of order: the signature sorts them by name.
        let params = pairs(&[
            ("To", "+18005551212"),
            ("Digits", "1234"),
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+12349013030"),
            ("Caller", "+12349013030"),
        ]);
        assert_eq!(
            twilio_signature("12345", EXAMPLE_URL, &params),
            EXAMPLE_SIGNATURE
        );
    }

    /// A status callback as Twilio posts it: the form, and its signature for `url`.
    fn signed(url: &str, params: &[(&str, &str)]) -> (http::HeaderMap, Vec<u8>) {
        let params = pairs(params);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish()
            .into_bytes();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-twilio-signature",
            twilio_signature("secret-token", url, &params)
                .parse()
                .expect("a header value"),
        );
        (headers, body)
    }

    fn callbacks() -> TwilioStatusCallbacks {
        TwilioStatusCallbacks {
            auth_token: Credential::new("secret-token"),
        }
    }

    const CALLBACK_URL: &str = "https://auth.example.com/webhooks/twilio/status";

    fn read(headers: &http::HeaderMap, body: &[u8]) -> Result<Vec<StatusReport>, CallbackRefused> {
        callbacks().read(&Callback {
            url: CALLBACK_URL,
            headers,
            body,
        })
    }

    // The parameters of a message status callback ("Outbound Message Status Callback",
    // https://www.twilio.com/docs/messaging/guides/track-outbound-message-status).
    fn message_status(
        status: &'static str,
        error: Option<&'static str>,
    ) -> Vec<(&'static str, &'static str)> {
        let mut params = vec![
            ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("ApiVersion", "2010-04-01"),
            ("From", "+14155550000"),
            ("MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
            ("MessageStatus", status),
            ("SmsSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
            ("SmsStatus", status),
            ("To", "+14155552671"),
        ];
        if let Some(code) = error {
            params.push(("ErrorCode", code));
        }
        params
    }

    #[test]
    fn a_landline_reported_later_is_an_unreachable_number() {
        let (headers, body) = signed(CALLBACK_URL, &message_status("undelivered", Some("30006")));
        let reports = read(&headers, &body).expect("authentic");
        assert_eq!(
            reports,
            vec![StatusReport {
                provider_message_id: "SM1f0e8ae6ade43cb3c0ce4525424e404f".to_owned(),
                outcome: Some(DeliveryOutcome::Failed {
                    failure: Failure::Unreachable,
                    reason: "twilio undelivered 30006".to_owned(),
                }),
            }]
        );
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let outcome = |status, code| {
            let (headers, body) = signed(CALLBACK_URL, &message_status(status, code));
            read(&headers, &body).expect("authentic")[0].outcome.clone()
        };
        assert_eq!(outcome("delivered", None), Some(DeliveryOutcome::Delivered));
        assert_eq!(outcome("sent", None), None);
        assert_eq!(outcome("queued", None), None);
        assert!(matches!(
            outcome("undelivered", Some("30003")),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                ..
            })
        ));
        assert!(matches!(
            outcome("failed", Some("30005")),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Unreachable,
                ..
            })
        ));
        // A call's final status.
        let call = |status| {
            let (headers, body) = signed(
                CALLBACK_URL,
                &[
                    ("CallSid", "CA42"),
                    ("CallStatus", status),
                    ("To", "+14155552671"),
                ],
            );
            read(&headers, &body).expect("authentic")[0].clone()
        };
        assert_eq!(call("completed").outcome, Some(DeliveryOutcome::Delivered));
        assert_eq!(call("completed").provider_message_id, "CA42");
        assert!(matches!(
            call("no-answer").outcome,
            Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                ..
            })
        ));
        assert_eq!(call("ringing").outcome, None);
    }

    #[test]
    fn forged_and_unsigned_callbacks_are_refused() {
        let params = message_status("delivered", None);
        // Signed for another address.
        let (headers, body) = signed("https://attacker.example/webhooks/twilio/status", &params);
        assert_eq!(read(&headers, &body), Err(CallbackRefused::Unauthenticated));
        // A parameter changed after signing.
        let (headers, _) = signed(CALLBACK_URL, &params);
        let tampered = String::from_utf8(body)
            .expect("a form")
            .replace("delivered", "undelivered");
        assert_eq!(
            read(&headers, tampered.as_bytes()),
            Err(CallbackRefused::Unauthenticated)
        );
        // No signature at all.
        let (_, body) = signed(CALLBACK_URL, &params);
        assert_eq!(
            read(&http::HeaderMap::new(), &body),
            Err(CallbackRefused::Unauthenticated)
        );
    }

    #[test]
    fn a_signed_callback_without_a_status_is_malformed() {
        let (headers, body) = signed(CALLBACK_URL, &[("MessageSid", "SM1")]);
        assert!(matches!(
            read(&headers, &body),
            Err(CallbackRefused::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn each_message_names_its_status_callback() {
        let twilio =
            MockProvider::start(201, vec![], r#"{"sid": "SM1", "status": "queued"}"#).await;
        let mut config = TwilioConfig::from_lookup(&|name: &str| match name {
            "TWILIO_BASE_URL" => Some(twilio.base_url.clone()),
            "TWILIO_ACCOUNT_SID" => Some("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned()),
            "TWILIO_AUTH_TOKEN" => Some("secret-token".to_owned()),
            "TWILIO_FROM" => Some("+14155550000".to_owned()),
            _ => None,
        })
        .expect("settings");
        assert_eq!(config.status_callback, None);
        config.status_callback = Some(CALLBACK_URL.to_owned());
        TwilioSender::new(reqwest::Client::new(), config)
            .send(&message())
            .await
            .expect("sent");
        assert_eq!(
            twilio.requests()[0].field("StatusCallback"),
            Some(CALLBACK_URL)
        );
    }

    /// A page of `GET …/Messages.json` as Twilio's API reference shows one ("Read multiple
    /// Message resources"), holding the message with `body`.
    fn listed(body: &str) -> String {
        serde_json::json!({
            "end": 1,
            "first_page_uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json?To=%2B14155552671&PageSize=50&Page=0",
            "messages": [
                {
                    "account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "api_version": "2010-04-01",
                    "body": "Another text",
                    "date_created": "Mon, 30 Nov 2026 13:00:00 +0000",
                    "direction": "outbound-api",
                    "from": "+14155550000",
                    "sid": "SMother",
                    "status": "delivered",
                    "to": "+14155552671"
                },
                {
                    "account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "api_version": "2010-04-01",
                    "body": body,
                    "date_created": "Mon, 30 Nov 2026 13:01:00 +0000",
                    "direction": "outbound-api",
                    "from": "+14155550000",
                    "sid": "SMfound",
                    "status": "sent",
                    "to": "+14155552671"
                }
            ],
            "next_page_uri": null,
            "page": 0,
            "page_size": 50,
            "previous_page_uri": null,
            "start": 0,
            "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json?To=%2B14155552671&PageSize=50&Page=0"
        })
        .to_string()
    }

    #[tokio::test]
    async fn a_text_already_taken_is_found_by_its_body() {
        let since = time::macros::datetime!(2026-11-30 13:00:30 UTC);
        let sent = message();
        let twilio = MockProvider::start(200, vec![], &listed(&sent.body)).await;
        let found = sender(
            &twilio.base_url,
            TwilioSenderId::From("+14155550000".into()),
        )
        .find_sent(&sent, since)
        .await
        .expect("asked");
        assert_eq!(
            found
                .and_then(|receipt| receipt.provider_message_id)
                .as_deref(),
            Some("SMfound")
        );
        let request = &twilio.requests()[0];
        assert_eq!(request.method, "GET");
        assert!(request.path.ends_with("/Messages.json"), "{}", request.path);
        let query: Vec<(String, String)> = form_urlencoded::parse(request.query.as_bytes())
            .into_owned()
            .collect();
        assert!(
            query.contains(&("To".to_owned(), sent.to.clone())),
            "{query:?}"
        );
        assert!(
            query.contains(&("DateSent>".to_owned(), "2026-11-30".to_owned())),
            "{query:?}"
        );

        // A trial account's text starts with Twilio's note.
        let trial = MockProvider::start(
            200,
            vec![],
            &listed(&format!("{TRIAL_PREFIX}{}", sent.body)),
        )
        .await;
        let found = sender(&trial.base_url, TwilioSenderId::From("+14155550000".into()))
            .find_sent(&sent, since)
            .await
            .expect("asked");
        assert!(found.is_some());

        // Another code's text is not this one.
        let other =
            MockProvider::start(200, vec![], &listed("Latchkey: your code is 999999")).await;
        let found = sender(&other.base_url, TwilioSenderId::From("+14155550000".into()))
            .find_sent(&sent, since)
            .await
            .expect("asked");
        assert!(found.is_none());

        // Twilio down: the lookup fails, and nothing is concluded.
        let down = MockProvider::start(
            503,
            vec![],
            r#"{"code": 20500, "message": "Internal Server Error", "status": 503}"#,
        )
        .await;
        assert!(matches!(
            sender(&down.base_url, TwilioSenderId::From("+14155550000".into()))
                .find_sent(&sent, since)
                .await,
            Err(SendError::Transient(_))
        ));
    }
}
