//! Vonage Verify v2 as the code issuer (`CODE_ISSUER=vonage_verify`): Vonage makes, sends and
//! checks the code. HTTP Basic (API key and secret), JSON both ways, base
//! `https://api.nexmo.com/v2/verify`.
//!
//! - Start: `POST /v2/verify` with `brand`, `code_length`, `channel_timeout` (15 to 900 seconds)
//!   and one `workflow` step (`sms` or `voice`, `to` in E.164 digits without `+`): `202` with
//!   `request_id`. `409` ("Concurrent verifications to the same number are not allowed", with
//!   the live `request_id`): Vonage keeps one verification per number, so that one is cancelled
//!   (`DELETE /v2/verify/{request_id}`, `204`) and the start made again, once.
//! - Check: `POST /v2/verify/{request_id}` with `code`: `200` with `status: completed`; `400`
//!   "Invalid Code" for a wrong one; `404` once the request is over (expired, done); `410`
//!   ("An incorrect code has been provided too many times. Workflow terminated.").
//! - Errors: RFC 7807 `{title, detail, type, instance}`; `401` bad credentials, `422` invalid
//!   parameters, `429` rate limited.
//!
//! A code lives at most 15 minutes (the longest `channel_timeout` of its one step).

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
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://api.nexmo.com";

/// The longest `channel_timeout` Vonage takes: a one-step workflow's code lives this long.
pub const VONAGE_VERIFY_LIFETIME: Duration = Duration::from_secs(900);

#[derive(Debug, Clone)]
pub struct VonageVerifyConfig {
    pub base_url: String,
    pub api_key: String,
    pub api_secret: Credential,
    /// The name the message says the code is from (`VONAGE_VERIFY_BRAND`, `Latchkey` by default).
    pub brand: String,
}

impl VonageVerifyConfig {
    /// Reads `VONAGE_API_KEY`, `VONAGE_API_SECRET`, and the optional `VONAGE_VERIFY_BRAND` and
    /// `VONAGE_VERIFY_BASE_URL`.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("VONAGE_VERIFY_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_key: required(get, "vonage_verify", "VONAGE_API_KEY")?,
            api_secret: Credential::new(required(get, "vonage_verify", "VONAGE_API_SECRET")?),
            brand: get("VONAGE_VERIFY_BRAND").unwrap_or_else(|| "Latchkey".to_owned()),
        })
    }

    pub(crate) fn into_service(self) -> anyhow::Result<Arc<dyn CodeService>> {
        tracing::info!(key = %self.api_key, "codes issued by Vonage Verify");
        Ok(Arc::new(VonageVerify::new(http_client()?, self)))
    }
}

pub struct VonageVerify {
    client: reqwest::Client,
    config: VonageVerifyConfig,
}

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    status: String,
    title: Option<String>,
    detail: Option<String>,
}

impl VonageVerify {
    pub fn new(client: reqwest::Client, config: VonageVerifyConfig) -> Self {
        Self { client, config }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/v2/verify{path}",
            self.config.base_url.trim_end_matches('/')
        )
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(&self.config.api_key, Some(self.config.api_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// One start; `Ok(Err(id))` when the number already has verification `id` going on.
    async fn try_start(
        &self,
        request: &VerificationStart<'_>,
    ) -> Result<Result<String, String>, SendError> {
        let channel = match request.channel {
            DeliveryChannel::Sms => "sms",
            DeliveryChannel::Voice => "voice",
        };
        let body = json!({
            "brand": self.config.brand,
            "code_length": request.code_length,
            "channel_timeout": request.lifetime.as_secs().clamp(15, VONAGE_VERIFY_LIFETIME.as_secs()),
            "client_ref": request.reference.to_string(),
            "workflow": [{"channel": channel, "to": request.to.trim_start_matches('+')}],
        });
        let response = self
            .request(reqwest::Method::POST, "")
            .json(&body)
            .send()
            .await
            .map_err(|error| transport_error("vonage_verify", &error))?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            let started: Answer = response.json().await.map_err(|_| {
                SendError::Transient("vonage_verify: unreadable success response".to_owned())
            })?;
            return Ok(Ok(checked_verification_id(
                "vonage_verify",
                &started.request_id,
            )?
            .to_owned()));
        }
        let wait = retry_after(&response);
        let answer: Answer = response.json().await.unwrap_or_default();
        if status == 409 && !answer.request_id.is_empty() {
            return Ok(Err(answer.request_id));
        }
        Err(refusal(status, wait, &answer))
    }

    async fn cancel(&self, request_id: &str) -> Result<(), SendError> {
        let id = checked_verification_id("vonage_verify", request_id)?;
        let response = self
            .request(reqwest::Method::DELETE, &format!("/{id}"))
            .send()
            .await
            .map_err(|error| transport_error("vonage_verify", &error).sent_nothing())?;
        let status = response.status().as_u16();
        // 404: it ended meanwhile.
        if response.status().is_success() || status == 404 {
            return Ok(());
        }
        let wait = retry_after(&response);
        let answer: Answer = response.json().await.unwrap_or_default();
        Err(refusal(status, wait, &answer))
    }
}

fn refusal(status: u16, wait: Option<Duration>, answer: &Answer) -> SendError {
    let described = format!(
        "vonage_verify {status}: {} {}",
        answer.title.as_deref().unwrap_or_default(),
        answer.detail.as_deref().unwrap_or_default()
    );
    match status {
        429 => SendError::RateLimited { retry_after: wait },
        422 if described.to_ascii_lowercase().contains("number") => {
            SendError::InvalidRecipient(described)
        }
        400..=499 => SendError::Rejected(described),
        _ => SendError::Transient(described),
    }
}

#[async_trait]
impl CodeService for VonageVerify {
    fn name(&self) -> &'static str {
        "vonage_verify"
    }

    fn supports_voice(&self) -> bool {
        true
    }

    async fn start(&self, request: &VerificationStart<'_>) -> Result<String, SendError> {
        match self.try_start(request).await? {
            Ok(id) => Ok(id),
            Err(live) => {
                self.cancel(&live).await?;
                self.try_start(request).await?.map_err(|_| {
                    SendError::Transient(
                        "vonage_verify: the number's earlier verification is still going on"
                            .to_owned(),
                    )
                })
            }
        }
    }

    async fn check(&self, request: &VerificationCheck<'_>) -> Result<ServiceAnswer, SendError> {
        let id = checked_verification_id("vonage_verify", request.verification_id)?;
        let response = self
            .request(reqwest::Method::POST, &format!("/{id}"))
            .json(&json!({ "code": request.code }))
            .send()
            .await
            .map_err(|error| transport_error("vonage_verify", &error).sent_nothing())?;
        let status = response.status().as_u16();
        let wait = retry_after(&response);
        let answer: Answer = response.json().await.unwrap_or_default();
        match status {
            200..=299 if answer.status == "completed" => Ok(ServiceAnswer::Approved),
            200..=299 => Ok(ServiceAnswer::Wrong),
            // "Invalid Code": not the one sent.
            400 => Ok(ServiceAnswer::Wrong),
            404 => Ok(ServiceAnswer::Expired),
            410 => Ok(ServiceAnswer::NoTriesLeft),
            _ => Err(refusal(status, wait, &answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeScope;
    use crate::sms::providers::mock::{Answer as Reply, MockProvider, Route};
    use base64::Engine;

    const ID: &str = "c11236f4-00bf-4b89-84ba-88b25df97315";
    const LIVE: &str = "f8386e0f-6873-4617-aa99-19016217b2aa";

    fn service(base_url: &str) -> VonageVerify {
        VonageVerify::new(
            reqwest::Client::new(),
            VonageVerifyConfig {
                base_url: base_url.to_owned(),
                api_key: "abcd1234".to_owned(),
                api_secret: Credential::new("abcdef0123456789"),
                brand: "Latchkey".to_owned(),
            },
        )
    }

    fn start(channel: DeliveryChannel) -> VerificationStart<'static> {
        VerificationStart {
            to: "+447700900000",
            scope: CodeScope::SignIn,
            channel,
            code_length: 6,
            lifetime: Duration::from_secs(3600),
            reference: 5,
        }
    }

    fn check() -> VerificationCheck<'static> {
        VerificationCheck {
            to: "+447700900000",
            verification_id: ID,
            code: "123456",
            age: Duration::from_secs(10),
        }
    }

    fn problem(title: &str, detail: &str) -> String {
        format!(
            r#"{{"title": "{title}", "detail": "{detail}", "instance": "f79d7a15-30b7-498a-bc99-4e879b836b18", "type": "https://developer.nexmo.com/api-errors#x"}}"#
        )
    }

    #[tokio::test]
    async fn a_code_is_asked_for_as_vonage_documents() {
        let mock = MockProvider::start(202, vec![], &format!(r#"{{"request_id": "{ID}"}}"#)).await;
        let id = service(&mock.base_url)
            .start(&start(DeliveryChannel::Sms))
            .await
            .expect("started");
        assert_eq!(id, ID);
        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v2/verify");
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("abcd1234:abcdef0123456789")
        );
        assert_eq!(
            request.header("authorization"),
            Some(expected_auth.as_str())
        );
        let body = request.json();
        assert_eq!(body["brand"], "Latchkey");
        assert_eq!(body["code_length"], 6);
        assert_eq!(body["channel_timeout"], 900);
        assert_eq!(body["workflow"][0]["channel"], "sms");
        assert_eq!(body["workflow"][0]["to"], "447700900000");
    }

    #[tokio::test]
    async fn a_number_with_a_verification_going_on_has_it_cancelled_then_a_new_one() {
        let mock = MockProvider::with_routes(vec![
            Route {
                path_suffix: "/v2/verify",
                answers: vec![
                    Reply::new(
                        409,
                        vec![],
                        &format!(
                            r#"{{"title": "Conflict", "detail": "Concurrent verifications to the same number are not allowed", "instance": "229ececf", "request_id": "{LIVE}"}}"#
                        ),
                    ),
                    Reply::new(202, vec![], &format!(r#"{{"request_id": "{ID}"}}"#)),
                ],
            },
            Route {
                path_suffix: LIVE,
                answers: vec![Reply::new(204, vec![], "")],
            },
        ])
        .await;
        let id = service(&mock.base_url)
            .start(&start(DeliveryChannel::Voice))
            .await
            .expect("started");
        assert_eq!(id, ID);
        let requests = mock.requests();
        let methods: Vec<_> = requests
            .iter()
            .map(|request| (request.method.to_string(), request.path.clone()))
            .collect();
        assert_eq!(
            methods,
            [
                ("POST".to_owned(), "/v2/verify".to_owned()),
                ("DELETE".to_owned(), format!("/v2/verify/{LIVE}")),
                ("POST".to_owned(), "/v2/verify".to_owned()),
            ]
        );
        assert_eq!(requests[2].json()["workflow"][0]["channel"], "voice");
    }

    #[tokio::test]
    async fn each_check_answer_maps_to_its_verdict() {
        for (status, body, expected) in [
            (
                200,
                format!(r#"{{"request_id": "{ID}", "status": "completed"}}"#),
                ServiceAnswer::Approved,
            ),
            (
                400,
                problem(
                    "Invalid Code",
                    "The code you provided does not match the expected value.",
                ),
                ServiceAnswer::Wrong,
            ),
            (
                404,
                problem("Not Found", "Request not found"),
                ServiceAnswer::Expired,
            ),
            (
                410,
                problem(
                    "Invalid Code",
                    "An incorrect code has been provided too many times. Workflow terminated.",
                ),
                ServiceAnswer::NoTriesLeft,
            ),
        ] {
            let mock = MockProvider::start(status, vec![], &body).await;
            let answer = service(&mock.base_url).check(&check()).await;
            assert_eq!(answer, Ok(expected), "{body}");
            let request = &mock.requests()[0];
            assert_eq!(request.path, format!("/v2/verify/{ID}"));
            assert_eq!(request.json()["code"], "123456");
        }
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        for (status, body, permanent, recipient) in [
            (
                401,
                problem("Unauthorized", "You did not provide correct credentials."),
                true,
                false,
            ),
            (
                422,
                problem(
                    "Invalid params",
                    "The value of one or more parameters is invalid: invalid phone number",
                ),
                true,
                true,
            ),
            (
                500,
                problem("Internal Error", "Something went wrong"),
                false,
                false,
            ),
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
        let mock = MockProvider::start(
            429,
            vec![("retry-after", "3".to_owned())],
            &problem("Rate Limit Hit", "Please wait"),
        )
        .await;
        assert_eq!(
            service(&mock.base_url).check(&check()).await,
            Err(SendError::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            })
        );
    }
}
