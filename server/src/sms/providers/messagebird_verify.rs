//! MessageBird's Verify API as the code issuer (`CODE_ISSUER=messagebird_verify`, also accepted
//! as `bird_verify`): MessageBird (now Bird) makes, sends and checks the code, on the classic REST
//! API (`Authorization: AccessKey <key>`, JSON) while Bird keeps it open.
//!
//! - Start: `POST /verify` with `recipient` (digits, no `+`), `type` (`sms` or `tts`),
//!   `originator`, `reference`, `template` (with `%token`), `timeout` (seconds) and `tokenLength`:
//!   `201` with the verification `id`.
//! - Check: `GET /verify/{id}?token={code}`: `200` with `status: verified`; a wrong token is
//!   refused with the errors envelope (`422`), an unknown or finished verification `404`.
//! - Errors: `{"errors": [{"code", "description", "parameter"}]}`: 2 request not allowed (bad
//!   key), 9/10 missing or invalid parameters, 20 not found, 25 not enough balance.
//!
//! MessageBird keeps a code as long as asked (`timeout`, up to three days): Latchkey's lifetime.

use super::{http_client, retry_after, transport_error, Credential};
use crate::auth::codes::ServiceAnswer;
use crate::setting::{required, ConfigError};
use crate::sms::code_service::{
    checked_verification_id, CodeService, VerificationCheck, VerificationStart,
};
use crate::sms::{DeliveryChannel, SendError};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://rest.messagebird.com";

/// The longest `timeout` MessageBird takes, in seconds.
const LONGEST_TIMEOUT_SECS: u64 = 259_200;

#[derive(Debug, Clone)]
pub struct MessageBirdVerifyConfig {
    pub base_url: String,
    pub access_key: Credential,
    /// Who the text is from (`MESSAGEBIRD_ORIGINATOR`); MessageBird's default when unset.
    pub originator: Option<String>,
    /// The language calls are read in (`MESSAGEBIRD_VOICE_LANGUAGE`, `en-gb` by default).
    pub voice_language: String,
}

impl MessageBirdVerifyConfig {
    /// Reads `MESSAGEBIRD_ACCESS_KEY` and the optional `MESSAGEBIRD_ORIGINATOR`,
    /// `MESSAGEBIRD_VOICE_LANGUAGE` and `MESSAGEBIRD_VERIFY_BASE_URL`.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("MESSAGEBIRD_VERIFY_BASE_URL")
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            access_key: Credential::new(required(
                get,
                "messagebird_verify",
                "MESSAGEBIRD_ACCESS_KEY",
            )?),
            originator: get("MESSAGEBIRD_ORIGINATOR"),
            voice_language: get("MESSAGEBIRD_VOICE_LANGUAGE").unwrap_or_else(|| "en-gb".to_owned()),
        })
    }

    pub(crate) fn into_service(self) -> anyhow::Result<Arc<dyn CodeService>> {
        tracing::info!("codes issued by MessageBird Verify");
        Ok(Arc::new(MessageBirdVerify::new(http_client()?, self)))
    }
}

pub struct MessageBirdVerify {
    client: reqwest::Client,
    config: MessageBirdVerifyConfig,
}

#[derive(Deserialize)]
struct Verification {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize, Default)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: Option<i64>,
    description: Option<String>,
}

/// MessageBird's "not found".
const NOT_FOUND: i64 = 20;

impl MessageBirdVerify {
    pub fn new(client: reqwest::Client, config: MessageBirdVerifyConfig) -> Self {
        Self { client, config }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn authorization(&self) -> String {
        format!("AccessKey {}", self.config.access_key.expose())
    }
}

/// A refusal: its HTTP status, MessageBird's first error code, and the error it stands for.
async fn refusal(response: reqwest::Response) -> (u16, Option<i64>, SendError) {
    let status = response.status().as_u16();
    let wait = retry_after(&response);
    let errors: Errors = response.json().await.unwrap_or_default();
    let first = errors.errors.first();
    let code = first.and_then(|entry| entry.code);
    let described = format!(
        "messagebird_verify {status}: {} {}",
        code.map(|code| code.to_string()).unwrap_or_default(),
        first
            .and_then(|entry| entry.description.as_deref())
            .unwrap_or_default()
    );
    let error = match status {
        429 => SendError::RateLimited { retry_after: wait },
        422 if matches!(code, Some(9 | 10)) && described.contains("recipient") => {
            SendError::InvalidRecipient(described)
        }
        400..=499 => SendError::Rejected(described),
        _ => SendError::Transient(described),
    };
    (status, code, error)
}

#[async_trait]
impl CodeService for MessageBirdVerify {
    fn name(&self) -> &'static str {
        "messagebird_verify"
    }

    fn supports_voice(&self) -> bool {
        true
    }

    async fn start(&self, request: &VerificationStart<'_>) -> Result<String, SendError> {
        let mut body = json!({
            "recipient": request.to.trim_start_matches('+'),
            "reference": request.reference.to_string(),
            "template": format!("Your {} is %token. Do not share it.", request.scope.describe()),
            "timeout": request.lifetime.as_secs().clamp(1, LONGEST_TIMEOUT_SECS),
            "tokenLength": request.code_length,
        });
        match request.channel {
            DeliveryChannel::Sms => body["type"] = json!("sms"),
            DeliveryChannel::Voice => {
                body["type"] = json!("tts");
                body["language"] = json!(self.config.voice_language);
            }
        }
        if let Some(originator) = &self.config.originator {
            body["originator"] = json!(originator);
        }
        let response = self
            .client
            .post(self.url("verify"))
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|error| transport_error("messagebird_verify", &error))?;
        if !response.status().is_success() {
            return Err(refusal(response).await.2);
        }
        let created: Verification = response.json().await.map_err(|_| {
            SendError::Transient("messagebird_verify: unreadable success response".to_owned())
        })?;
        Ok(checked_verification_id("messagebird_verify", &created.id)?.to_owned())
    }

    async fn check(&self, request: &VerificationCheck<'_>) -> Result<ServiceAnswer, SendError> {
        let id = checked_verification_id("messagebird_verify", request.verification_id)?;
        let response = self
            .client
            .get(self.url(&format!("verify/{id}")))
            .query(&[("token", request.code)])
            .header(reqwest::header::AUTHORIZATION, self.authorization())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport_error("messagebird_verify", &error).sent_nothing())?;
        if response.status().is_success() {
            let checked: Verification = response.json().await.map_err(|_| {
                SendError::Transient("messagebird_verify: unreadable check response".to_owned())
            })?;
            return Ok(match checked.status.as_str() {
                "verified" => ServiceAnswer::Approved,
                "sent" => ServiceAnswer::Wrong,
                "failed" => ServiceAnswer::NoTriesLeft,
                _ => ServiceAnswer::Expired,
            });
        }
        match refusal(response).await {
            (404, _, _) | (_, Some(NOT_FOUND), _) => Ok(ServiceAnswer::Expired),
            // The token is not the one sent.
            (422, _, _) => Ok(ServiceAnswer::Wrong),
            (_, _, error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeScope;
    use crate::sms::providers::mock::MockProvider;
    use std::time::Duration;

    const ID: &str = "4e213b01155d1e35a9d9571v00162985";

    fn service(base_url: &str) -> MessageBirdVerify {
        MessageBirdVerify::new(
            reqwest::Client::new(),
            MessageBirdVerifyConfig {
                base_url: base_url.to_owned(),
                access_key: Credential::new("live_key"),
                originator: Some("Latchkey".to_owned()),
                voice_language: "en-gb".to_owned(),
            },
        )
    }

    fn start(channel: DeliveryChannel) -> VerificationStart<'static> {
        VerificationStart {
            to: "+31612345678",
            scope: CodeScope::Unlock,
            channel,
            code_length: 6,
            lifetime: Duration::from_secs(3600),
            reference: 99,
        }
    }

    fn check() -> VerificationCheck<'static> {
        VerificationCheck {
            to: "+31612345678",
            verification_id: ID,
            code: "123456",
            age: Duration::from_secs(20),
        }
    }

    fn verification(status: &str) -> String {
        format!(
            r#"{{"id": "{ID}", "href": "https://rest.messagebird.com/verify/{ID}", "recipient": 31612345678, "reference": "99", "messages": {{"href": "https://rest.messagebird.com/messages/63b1"}}, "status": "{status}", "createdDatetime": "2017-05-30T12:39:50+00:00", "validUntilDatetime": "2017-05-30T13:39:50+00:00"}}"#
        )
    }

    fn errors(code: i64, description: &str) -> String {
        format!(
            r#"{{"errors": [{{"code": {code}, "description": "{description}", "parameter": null}}]}}"#
        )
    }

    #[tokio::test]
    async fn a_code_is_asked_for_as_messagebird_documents() {
        let mock = MockProvider::start(201, vec![], &verification("sent")).await;
        let id = service(&mock.base_url)
            .start(&start(DeliveryChannel::Sms))
            .await
            .expect("started");
        assert_eq!(id, ID);
        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/verify");
        assert_eq!(request.header("authorization"), Some("AccessKey live_key"));
        let body = request.json();
        assert_eq!(body["recipient"], "31612345678");
        assert_eq!(body["type"], "sms");
        assert_eq!(body["originator"], "Latchkey");
        assert_eq!(body["reference"], "99");
        assert_eq!(body["timeout"], 3600);
        assert_eq!(body["tokenLength"], 6);
        assert!(body["template"]
            .as_str()
            .unwrap_or_default()
            .contains("%token"));
    }

    #[tokio::test]
    async fn a_voice_code_is_read_out_in_the_configured_language() {
        let mock = MockProvider::start(201, vec![], &verification("sent")).await;
        service(&mock.base_url)
            .start(&start(DeliveryChannel::Voice))
            .await
            .expect("started");
        let body = mock.requests()[0].json();
        assert_eq!(body["type"], "tts");
        assert_eq!(body["language"], "en-gb");
    }

    #[tokio::test]
    async fn each_check_answer_maps_to_its_verdict() {
        for (status, body, expected) in [
            (200, verification("verified"), ServiceAnswer::Approved),
            (200, verification("expired"), ServiceAnswer::Expired),
            (200, verification("failed"), ServiceAnswer::NoTriesLeft),
            (
                422,
                errors(10, "The token is invalid."),
                ServiceAnswer::Wrong,
            ),
            (404, errors(20, "verify not found"), ServiceAnswer::Expired),
        ] {
            let mock = MockProvider::start(status, vec![], &body).await;
            let answer = service(&mock.base_url).check(&check()).await;
            assert_eq!(answer, Ok(expected), "{body}");
            let request = &mock.requests()[0];
            assert_eq!(request.method, "GET");
            assert_eq!(request.path, format!("/verify/{ID}"));
            assert_eq!(request.query, "token=123456");
        }
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        for (status, body, permanent, recipient) in [
            (
                401,
                errors(2, "Request not allowed (incorrect access_key)"),
                true,
                false,
            ),
            (422, errors(10, "no (correct) recipients found"), true, true),
            (402, errors(25, "Not enough balance"), true, false),
            (500, errors(99, "Internal error"), false, false),
        ] {
            let mock = MockProvider::start(status, vec![], &body).await;
            let error = service(&mock.base_url)
                .start(&start(DeliveryChannel::Sms))
                .await
                .expect_err("refused");
            assert_eq!(error.is_permanent(), permanent, "{body}");
            assert_eq!(
                matches!(error, SendError::InvalidRecipient(_)),
                recipient,
                "{body}"
            );
        }
        let mock = MockProvider::start(401, vec![], &errors(2, "Request not allowed")).await;
        assert!(matches!(
            service(&mock.base_url).check(&check()).await,
            Err(SendError::Rejected(_))
        ));
    }
}
