//! Vonage SMS API: `POST /sms/json`, HTTP Basic (API key and secret), a form with `from`, `to`
//! (E.164 digits without `+`) and `text`, with `type=unicode` when the text is not GSM-7 (Vonage
//! garbles it otherwise). Vonage answers 200 even for most failures: each part of the message has
//! a `status` ("0" is success; the others are classified below), and the message is sent only if
//! every part is.
//!
//! Delivery receipts: with a signature secret (`VONAGE_SIGNATURE_SECRET`, signed webhooks enabled
//! on the account), each message names `PUBLIC_URL/webhooks/vonage/status` as its `callback`,
//! where Vonage posts the receipt, signed with that secret (`VonageStatusCallbacks`).

use super::http_client;
use super::{retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{invalid, required, ConfigError};
use crate::sms::encoding::Encoding;
use crate::sms::receipts::{
    same_secret, status_callback_url, Callback, CallbackRefused, DeliveryOutcome,
    StatusCallbackReader, StatusReport,
};
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::Failure;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use md5::Digest;
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
    /// The secret Vonage signs its webhooks with, and how; without it receipts are not read.
    pub signature: Option<VonageSignature>,
    /// Where each message's delivery receipt goes (`callback`): set from `PUBLIC_URL` when
    /// receipts are read.
    pub status_callback: Option<String>,
}

/// How Vonage signs its webhooks: the method chosen in the dashboard and the signature secret.
#[derive(Debug, Clone)]
pub struct VonageSignature {
    pub method: SignatureMethod,
    pub secret: Credential,
}

/// Vonage's signature methods ("Signing messages"; the Vonage SDKs' `sign_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// MD5 of the parameters followed by the secret (the dashboard's default).
    Md5Hash,
    /// HMAC of the parameters, keyed with the secret.
    HmacMd5,
    HmacSha1,
    HmacSha256,
    HmacSha512,
}

impl SignatureMethod {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "md5hash" => Self::Md5Hash,
            "md5" => Self::HmacMd5,
            "sha1" => Self::HmacSha1,
            "sha256" => Self::HmacSha256,
            "sha512" => Self::HmacSha512,
            _ => return None,
        })
    }
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
        if let Some(callback) = &self.config.status_callback {
            form.push(("callback", callback.as_str()));
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
    /// With a signature secret, each message names `public_url`'s receipt address as its
    /// `callback`.
    pub(crate) fn into_sender(
        mut self,
        _clock: &Arc<dyn Clock>,
        public_url: &str,
    ) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(api_key = %self.api_key, "SMS provider vonage");
        if self.signature.is_some() {
            self.status_callback = Some(status_callback_url(public_url, "vonage"));
        }
        Ok(Arc::new(VonageSender::new(http_client()?, self)))
    }

    /// The reader of the delivery receipts Vonage signs, when a signature secret is set.
    pub(crate) fn status_callbacks(&self) -> Option<Arc<dyn StatusCallbackReader>> {
        self.signature.clone().map(|signature| {
            Arc::new(VonageStatusCallbacks { signature }) as Arc<dyn StatusCallbackReader>
        })
    }

    /// Reads the `VONAGE_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("VONAGE_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_key: required(get, "vonage", "VONAGE_API_KEY")?,
            api_secret: Credential::new(required(get, "vonage", "VONAGE_API_SECRET")?),
            from: required(get, "vonage", "VONAGE_FROM")?,
            signature: match (
                get("VONAGE_SIGNATURE_SECRET"),
                get("VONAGE_SIGNATURE_METHOD"),
            ) {
                (None, None) => None,
                (None, Some(_)) => {
                    return Err(invalid(
                        "VONAGE_SIGNATURE_SECRET",
                        "VONAGE_SIGNATURE_METHOD is set: set the signature secret too",
                    ))
                }
                (Some(secret), method) => Some(VonageSignature {
                    method: match method.as_deref() {
                        None => SignatureMethod::Md5Hash,
                        Some(name) => SignatureMethod::parse(name).ok_or_else(|| {
                            invalid(
                                "VONAGE_SIGNATURE_METHOD",
                                "use md5hash, md5, sha1, sha256 or sha512, as chosen in the \
                                 Vonage dashboard",
                            )
                        })?,
                    },
                    secret: Credential::new(secret),
                }),
            },
            status_callback: None,
        })
    }
}

/// Vonage's delivery receipts for the SMS API ("Delivery receipts",
/// https://developer.vonage.com/messaging/sms/guides/delivery-receipts): `messageId`, `status`
/// and `err-code` among other parameters, as a form (`POST`) or a JSON object (`POST-JSON`), with
/// `sig`, `timestamp` and `nonce` when signed webhooks are on.
pub struct VonageStatusCallbacks {
    signature: VonageSignature,
}

/// `err-code`s that mean the number cannot receive texts ("Vonage SMS Delivery Error Codes"):
/// 3 absent subscriber, permanent (the number is no longer active), 4 barred by the user,
/// 9 the person asked not to receive messages from this service, 12 destination unreachable (no
/// route to the number). Others (2 switched off, 6 spam filtering, 7 busy, …) are failures of
/// this message, not of the number.
const UNREACHABLE_ERROR_CODES: [&str; 4] = ["3", "4", "9", "12"];

/// Vonage's signature of `params` (`sig` left out): each `&name=value` sorted by name, with `&`
/// and `=` inside values replaced by `_`; then MD5 of that followed by the secret, or an HMAC
/// keyed with the secret; in lowercase hex.
pub fn vonage_signature(signature: &VonageSignature, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(name, _)| name != "sig").collect();
    sorted.sort();
    let mut signed = String::new();
    for (name, value) in sorted {
        signed.push('&');
        signed.push_str(name);
        signed.push('=');
        signed.push_str(&value.replace(['&', '='], "_"));
    }
    let secret = signature.secret.expose().as_bytes();
    fn hmac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], signed: &str) -> String {
        match <M as hmac::digest::KeyInit>::new_from_slice(secret) {
            Ok(mut mac) => {
                mac.update(signed.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            // HMAC takes a key of any length.
            Err(_) => String::new(),
        }
    }
    match signature.method {
        SignatureMethod::Md5Hash => {
            let mut hasher = md5::Md5::new();
            hasher.update(signed.as_bytes());
            hasher.update(secret);
            hex::encode(hasher.finalize())
        }
        SignatureMethod::HmacMd5 => hmac::<Hmac<md5::Md5>>(secret, &signed),
        SignatureMethod::HmacSha1 => hmac::<Hmac<sha1::Sha1>>(secret, &signed),
        SignatureMethod::HmacSha256 => hmac::<Hmac<sha2::Sha256>>(secret, &signed),
        SignatureMethod::HmacSha512 => hmac::<Hmac<sha2::Sha512>>(secret, &signed),
    }
}

/// A receipt's parameters: a JSON object's values as text, or a form's.
fn receipt_params(callback: &Callback<'_>) -> Result<Vec<(String, String)>, CallbackRefused> {
    let json = callback
        .header("content-type")
        .is_some_and(|value| value.starts_with("application/json"));
    if !json {
        return Ok(form_urlencoded::parse(callback.body).into_owned().collect());
    }
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(callback.body)
        .map_err(|error| {
            CallbackRefused::Malformed(format!("vonage: not a JSON object: {error}"))
        })?;
    Ok(object
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect())
}

impl StatusCallbackReader for VonageStatusCallbacks {
    fn read(&self, callback: &Callback<'_>) -> Result<Vec<StatusReport>, CallbackRefused> {
        let params = receipt_params(callback).map_err(|_| CallbackRefused::Unauthenticated)?;
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let signature = param("sig").ok_or(CallbackRefused::Unauthenticated)?;
        let expected = vonage_signature(&self.signature, &params);
        if expected.is_empty() || !same_secret(&signature.to_ascii_lowercase(), &expected) {
            return Err(CallbackRefused::Unauthenticated);
        }
        let (Some(id), Some(status)) = (param("messageId"), param("status")) else {
            return Err(CallbackRefused::Malformed(
                "vonage: a delivery receipt has messageId and status".to_owned(),
            ));
        };
        let error_code = param("err-code").unwrap_or_default();
        let outcome = match status {
            "delivered" => Some(DeliveryOutcome::Delivered),
            "failed" | "rejected" | "expired" => Some(DeliveryOutcome::Failed {
                failure: if UNREACHABLE_ERROR_CODES.contains(&error_code) {
                    Failure::Unreachable
                } else {
                    Failure::Undelivered
                },
                reason: format!("vonage {status} {error_code}")
                    .trim_end()
                    .to_owned(),
            }),
            // accepted, buffered, unknown: not final.
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
                signature: None,
                status_callback: None,
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
                SendError::Ambiguous(_) => "no answer",
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

    fn signed_with(method: SignatureMethod, secret: &str) -> VonageSignature {
        VonageSignature {
            method,
            secret: Credential::new(secret),
        }
    }

    // The vectors of Vonage's own SDKs: vonage-python-sdk `http_client/tests/test_auth.py`
    // (HMAC-SHA256 and HMAC-MD5, `&` and `=` in values) and the earlier SDK's
    // `test_check_signature` (MD5 hash).
    #[test]
    fn signatures_match_vonages_sdk_vectors() {
        let params = pairs(&[
            ("param2", "value2"),
            ("timestamp", "1234567890"),
            ("param1", "value1"),
        ]);
        assert_eq!(
            vonage_signature(
                &signed_with(SignatureMethod::HmacSha256, "signature_secret"),
                &params
            ),
            "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"
        );
        assert_eq!(
            vonage_signature(
                &signed_with(SignatureMethod::HmacMd5, "signature_secret"),
                &params
            ),
            "724c2bf6ca423c36e20631b11d1c5753"
        );
        let special = pairs(&[
            ("param1", "value&1"),
            ("param2", "value=2"),
            ("timestamp", "1234567890"),
        ]);
        assert_eq!(
            vonage_signature(
                &signed_with(SignatureMethod::HmacMd5, "signature_secret"),
                &special
            ),
            "2bbf0abafb2c55e5af6231513896a2ac"
        );
        let old = pairs(&[
            ("a", "1"),
            ("b", "2"),
            ("timestamp", "1461605396"),
            ("sig", "6af838ef94998832dbfc29020b564830"),
        ]);
        assert_eq!(
            vonage_signature(&signed_with(SignatureMethod::Md5Hash, "secret"), &old),
            "6af838ef94998832dbfc29020b564830"
        );
    }

    fn callbacks() -> VonageStatusCallbacks {
        VonageStatusCallbacks {
            signature: signed_with(SignatureMethod::HmacSha256, "signature_secret"),
        }
    }

    /// A delivery receipt as Vonage's guide shows one, signed.
    fn receipt(status: &str, error: &str) -> Vec<(String, String)> {
        let mut params = pairs(&[
            ("err-code", error),
            ("message-timestamp", "2018-10-25 12:10:29"),
            ("messageId", "0B00000127FDBC63"),
            ("msisdn", "447547232824"),
            ("network-code", "23410"),
            ("price", "0.03330000"),
            ("scts", "1810251310"),
            ("status", status),
            ("to", "Vonage"),
            ("api-key", "abcd1234"),
            ("timestamp", "1540469430"),
            ("nonce", "7c3b1b22-7a31-4aa8-bd8e-3b1f0e2c9c3a"),
        ]);
        let sig = vonage_signature(&callbacks().signature, &params);
        params.push(("sig".to_owned(), sig));
        params
    }

    fn read_form(params: &[(String, String)]) -> Result<Vec<StatusReport>, CallbackRefused> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        callbacks().read(&Callback {
            url: "https://auth.example.com/webhooks/vonage/status",
            headers: &headers,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn receipts_are_read_as_forms_and_as_json() {
        assert_eq!(
            read_form(&receipt("delivered", "0")),
            Ok(vec![StatusReport {
                provider_message_id: "0B00000127FDBC63".to_owned(),
                outcome: Some(DeliveryOutcome::Delivered),
            }])
        );
        let object: serde_json::Map<String, serde_json::Value> = receipt("failed", "3")
            .into_iter()
            .map(|(name, value)| (name, serde_json::Value::String(value)))
            .collect();
        let body = serde_json::to_vec(&object).expect("JSON");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
        let reports = callbacks()
            .read(&Callback {
                url: "https://auth.example.com/webhooks/vonage/status",
                headers: &headers,
                body: &body,
            })
            .expect("authentic");
        assert_eq!(
            reports[0].outcome,
            Some(DeliveryOutcome::Failed {
                failure: Failure::Unreachable,
                reason: "vonage failed 3".to_owned(),
            })
        );
    }

    #[test]
    fn statuses_and_error_codes_map_to_outcomes() {
        let outcome = |status, code| {
            read_form(&receipt(status, code)).expect("authentic")[0]
                .outcome
                .clone()
        };
        assert!(matches!(
            outcome("failed", "2"),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                ..
            })
        ));
        assert!(matches!(
            outcome("rejected", "12"),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Unreachable,
                ..
            })
        ));
        assert!(matches!(
            outcome("expired", "1"),
            Some(DeliveryOutcome::Failed {
                failure: Failure::Undelivered,
                ..
            })
        ));
        assert_eq!(outcome("accepted", "0"), None);
        assert_eq!(outcome("buffered", "0"), None);
    }

    #[test]
    fn unsigned_and_tampered_receipts_are_refused() {
        let mut tampered = receipt("delivered", "0");
        for (name, value) in &mut tampered {
            if name == "messageId" {
                *value = "0B00000000000000".to_owned();
            }
        }
        assert_eq!(read_form(&tampered), Err(CallbackRefused::Unauthenticated));
        let unsigned: Vec<_> = receipt("delivered", "0")
            .into_iter()
            .filter(|(name, _)| name != "sig")
            .collect();
        assert_eq!(read_form(&unsigned), Err(CallbackRefused::Unauthenticated));
        let mut other_secret = receipt("delivered", "0");
        other_secret.retain(|(name, _)| name != "sig");
        let sig = vonage_signature(
            &signed_with(SignatureMethod::HmacSha256, "guess"),
            &other_secret,
        );
        other_secret.push(("sig".to_owned(), sig));
        assert_eq!(
            read_form(&other_secret),
            Err(CallbackRefused::Unauthenticated)
        );
        // Signed, but not a receipt.
        let mut no_status = pairs(&[("timestamp", "1540469430")]);
        let sig = vonage_signature(&callbacks().signature, &no_status);
        no_status.push(("sig".to_owned(), sig));
        assert!(matches!(
            read_form(&no_status),
            Err(CallbackRefused::Malformed(_))
        ));
    }

    #[test]
    fn the_signature_settings_are_checked_at_startup() {
        let settings = |extra: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                [
                    ("VONAGE_API_KEY", "abcd1234"),
                    ("VONAGE_API_SECRET", "secret"),
                    ("VONAGE_FROM", "Latchkey"),
                ]
                .iter()
                .chain(extra)
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
            }
        };
        assert!(VonageConfig::from_lookup(&settings(&[]))
            .expect("valid")
            .status_callbacks()
            .is_none());
        let md5hash = VonageConfig::from_lookup(&settings(&[("VONAGE_SIGNATURE_SECRET", "s")]))
            .expect("valid");
        assert_eq!(
            md5hash.signature.map(|signature| signature.method),
            Some(SignatureMethod::Md5Hash)
        );
        let error = VonageConfig::from_lookup(&settings(&[
            ("VONAGE_SIGNATURE_SECRET", "s"),
            ("VONAGE_SIGNATURE_METHOD", "sha384"),
        ]))
        .expect_err("no such method");
        assert!(
            error.to_string().contains("VONAGE_SIGNATURE_METHOD"),
            "{error}"
        );
        let error = VonageConfig::from_lookup(&settings(&[("VONAGE_SIGNATURE_METHOD", "sha256")]))
            .expect_err("a method without a secret");
        assert!(
            error.to_string().contains("VONAGE_SIGNATURE_SECRET"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn with_receipts_each_message_names_its_callback() {
        let vonage = MockProvider::start(
            200,
            vec![],
            r#"{"message-count": "1", "messages": [{"to": "447700900000", "message-id": "0A0000000123ABCD1", "status": "0"}]}"#,
        )
        .await;
        let mut config = VonageConfig::from_lookup(&|name: &str| match name {
            "VONAGE_BASE_URL" => Some(vonage.base_url.clone()),
            "VONAGE_API_KEY" => Some("abcd1234".to_owned()),
            "VONAGE_API_SECRET" => Some("secret".to_owned()),
            "VONAGE_FROM" => Some("Latchkey".to_owned()),
            "VONAGE_SIGNATURE_SECRET" => Some("signature_secret".to_owned()),
            _ => None,
        })
        .expect("settings");
        config.status_callback = Some("https://auth.example.com/webhooks/vonage/status".to_owned());
        VonageSender::new(reqwest::Client::new(), config)
            .send(&message())
            .await
            .expect("sent");
        assert_eq!(
            vonage.requests()[0].field("callback"),
            Some("https://auth.example.com/webhooks/vonage/status")
        );
    }
}
