//! Bandwidth's MFA API as the code issuer (`CODE_ISSUER=bandwidth_mfa`): Bandwidth makes, sends
//! and checks the code. HTTP Basic (an API user), JSON both ways, base
//! `https://mfa.bandwidth.com/api/v1`.
//!
//! - Start: `POST /accounts/{accountId}/code/messaging` (a text) or `/code/voice` (a call) with
//!   `to`, `from`, `applicationId` (the messaging or the voice application), `scope`, `message`
//!   (with `{CODE}`) and `digits`: `200` with `messageId` (`callId` for a call).
//! - Check: `POST /accounts/{accountId}/code/verify` with `to`, `scope`, `code` and
//!   `expirationTimeInMinutes` (1 to 15; any code of that number and scope made within that many
//!   minutes passes): `200` with `valid: true` or `valid: false` (a wrong code is not an HTTP
//!   error); `429` after too many wrong codes.
//! - Errors: `{"error", "requestId"}` (400, 429, 500), `{"message"}` or `{"Message"}` (401, 403).
//!
//! Each code gets a scope of its own (its scope's short name and its message's id, under
//! Bandwidth's 25 characters), which is also its verification id: no other code, of its scope or
//! another, passes its check. A code lives at most 15 minutes, Bandwidth's longest.

use super::{http_client, retry_after, transport_error, Credential};
use crate::auth::codes::ServiceAnswer;
use crate::domain::CodeScope;
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

pub const DEFAULT_BASE_URL: &str = "https://mfa.bandwidth.com/api/v1";

/// The longest `expirationTimeInMinutes` Bandwidth takes.
pub const BANDWIDTH_MFA_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone)]
pub struct BandwidthMfaConfig {
    pub base_url: String,
    pub account_id: String,
    pub username: String,
    pub password: Credential,
    /// The messaging application texts are sent from.
    pub application_id: String,
    /// The voice application calls are placed from; no calls without it.
    pub voice_application_id: Option<String>,
    /// The Bandwidth number codes come from (E.164).
    pub from: String,
}

impl BandwidthMfaConfig {
    /// Reads `BANDWIDTH_ACCOUNT_ID`, `BANDWIDTH_USERNAME`, `BANDWIDTH_PASSWORD`,
    /// `BANDWIDTH_MFA_APPLICATION_ID`, `BANDWIDTH_MFA_FROM`, and the optional
    /// `BANDWIDTH_MFA_VOICE_APPLICATION_ID` and `BANDWIDTH_MFA_BASE_URL`.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let service = "bandwidth_mfa";
        Ok(Self {
            base_url: get("BANDWIDTH_MFA_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            account_id: required(get, service, "BANDWIDTH_ACCOUNT_ID")?,
            username: required(get, service, "BANDWIDTH_USERNAME")?,
            password: Credential::new(required(get, service, "BANDWIDTH_PASSWORD")?),
            application_id: required(get, service, "BANDWIDTH_MFA_APPLICATION_ID")?,
            voice_application_id: get("BANDWIDTH_MFA_VOICE_APPLICATION_ID"),
            from: required(get, service, "BANDWIDTH_MFA_FROM")?,
        })
    }

    pub(crate) fn into_service(self) -> anyhow::Result<Arc<dyn CodeService>> {
        tracing::info!(account = %self.account_id, "codes issued by Bandwidth MFA");
        Ok(Arc::new(BandwidthMfa::new(http_client()?, self)))
    }
}

pub struct BandwidthMfa {
    client: reqwest::Client,
    config: BandwidthMfaConfig,
}

#[derive(Deserialize)]
struct Verified {
    valid: bool,
}

#[derive(Deserialize, Default)]
struct BandwidthError {
    error: Option<String>,
    #[serde(alias = "Message")]
    message: Option<String>,
}

/// The longest scope Bandwidth takes.
const SCOPE_LENGTH: usize = 25;
/// The largest message id a code's own scope can carry (every short name fits with it).
const LONGEST_REFERENCE: i64 = 999_999_999_999_999;

/// A scope's short name, so that a code's own scope fits Bandwidth's 25 characters.
fn short_name(scope: CodeScope) -> &'static str {
    match scope {
        CodeScope::PhoneVerification => "phone",
        CodeScope::SignIn => "signin",
        CodeScope::Unlock => "unlock",
        CodeScope::PasswordReset => "reset",
        CodeScope::PhoneChange => "newphone",
        CodeScope::AdminStepUp => "admin",
    }
}

impl BandwidthMfa {
    pub fn new(client: reqwest::Client, config: BandwidthMfaConfig) -> Self {
        Self { client, config }
    }

    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<reqwest::Response, SendError> {
        self.client
            .post(format!(
                "{}/accounts/{}/code/{path}",
                self.config.base_url.trim_end_matches('/'),
                self.config.account_id
            ))
            .basic_auth(&self.config.username, Some(self.config.password.expose()))
            .json(&body)
            .send()
            .await
            .map_err(|error| transport_error("bandwidth_mfa", &error))
    }
}

async fn refusal(response: reqwest::Response) -> SendError {
    let status = response.status().as_u16();
    let wait = retry_after(&response);
    let error: BandwidthError = response.json().await.unwrap_or_default();
    let described = format!(
        "bandwidth_mfa {status}: {}",
        error.error.or(error.message).unwrap_or_default()
    );
    match status {
        429 => SendError::RateLimited { retry_after: wait },
        400..=499 => SendError::Rejected(described),
        _ => SendError::Transient(described),
    }
}

#[async_trait]
impl CodeService for BandwidthMfa {
    fn name(&self) -> &'static str {
        "bandwidth_mfa"
    }

    fn supports_voice(&self) -> bool {
        self.config.voice_application_id.is_some()
    }

    async fn start(&self, request: &VerificationStart<'_>) -> Result<String, SendError> {
        let scope = format!("{}-{}", short_name(request.scope), request.reference);
        if scope.len() > SCOPE_LENGTH || request.reference > LONGEST_REFERENCE {
            return Err(SendError::Rejected(format!(
                "bandwidth_mfa: the scope {scope:?} is longer than Bandwidth takes"
            )));
        }
        let (path, application_id) = match request.channel {
            DeliveryChannel::Sms => ("messaging", self.config.application_id.as_str()),
            DeliveryChannel::Voice => match &self.config.voice_application_id {
                Some(voice) => ("voice", voice.as_str()),
                None => {
                    return Err(SendError::Rejected(
                        "bandwidth_mfa: calls need BANDWIDTH_MFA_VOICE_APPLICATION_ID".to_owned(),
                    ))
                }
            },
        };
        let body = json!({
            "to": request.to,
            "from": self.config.from,
            "applicationId": application_id,
            "scope": scope,
            "message": format!("Your {} is {{CODE}}. Do not share it.", request.scope.describe()),
            "digits": request.code_length,
        });
        let response = self.post(path, body).await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        Ok(checked_verification_id("bandwidth_mfa", &scope)?.to_owned())
    }

    async fn check(&self, request: &VerificationCheck<'_>) -> Result<ServiceAnswer, SendError> {
        let scope = checked_verification_id("bandwidth_mfa", request.verification_id)?;
        // Only codes made since this one was: a whole minute at least, 15 at most.
        let minutes = request.age.as_secs().div_ceil(60).clamp(1, 15);
        let body = json!({
            "to": request.to,
            "scope": scope,
            "code": request.code,
            "expirationTimeInMinutes": minutes,
        });
        let response = self
            .post("verify", body)
            .await
            .map_err(SendError::sent_nothing)?;
        match response.status().as_u16() {
            200..=299 => {
                let verified: Verified = response.json().await.map_err(|_| {
                    SendError::Transient("bandwidth_mfa: unreadable check response".to_owned())
                })?;
                Ok(if verified.valid {
                    ServiceAnswer::Approved
                } else {
                    ServiceAnswer::Wrong
                })
            }
            // "This number has exceeded verification attempts".
            429 => Ok(ServiceAnswer::NoTriesLeft),
            _ => Err(refusal(response).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::{Answer, MockProvider, Route};
    use base64::Engine;

    fn service(base_url: &str, voice: bool) -> BandwidthMfa {
        BandwidthMfa::new(
            reqwest::Client::new(),
            BandwidthMfaConfig {
                base_url: base_url.to_owned(),
                account_id: "9900000".to_owned(),
                username: "api-user".to_owned(),
                password: Credential::new("api-password"),
                application_id: "93de2206-9669-4e07-948d-329f4b722ee2".to_owned(),
                voice_application_id: voice.then(|| "7c3a1b2d-voice".to_owned()),
                from: "+19195551212".to_owned(),
            },
        )
    }

    fn start(scope: CodeScope, channel: DeliveryChannel) -> VerificationStart<'static> {
        VerificationStart {
            to: "+19195554321",
            scope,
            channel,
            code_length: 6,
            lifetime: Duration::from_secs(3600),
            reference: 4242,
        }
    }

    fn check(verification_id: &'static str, age_secs: u64) -> VerificationCheck<'static> {
        VerificationCheck {
            to: "+19195554321",
            verification_id,
            code: "123456",
            age: Duration::from_secs(age_secs),
        }
    }

    async fn mock(code: Vec<Answer>, verify: Vec<Answer>) -> MockProvider {
        MockProvider::with_routes(vec![
            Route {
                path_suffix: "/code/messaging",
                answers: code.clone(),
            },
            Route {
                path_suffix: "/code/voice",
                answers: code,
            },
            Route {
                path_suffix: "/code/verify",
                answers: verify,
            },
        ])
        .await
    }

    #[tokio::test]
    async fn a_code_is_asked_for_in_its_own_scope_as_bandwidth_documents() {
        let mock = mock(
            vec![Answer::new(
                200,
                vec![],
                r#"{"messageId": "1589228074636lm4k2je7j7jklbn2"}"#,
            )],
            vec![],
        )
        .await;
        let id = service(&mock.base_url, false)
            .start(&start(CodeScope::PasswordReset, DeliveryChannel::Sms))
            .await
            .expect("started");
        assert_eq!(id, "reset-4242");
        let request = &mock.requests()[0];
        assert_eq!(request.path, "/accounts/9900000/code/messaging");
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("api-user:api-password")
        );
        assert_eq!(
            request.header("authorization"),
            Some(expected_auth.as_str())
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(body["to"], "+19195554321");
        assert_eq!(body["from"], "+19195551212");
        assert_eq!(
            body["applicationId"],
            "93de2206-9669-4e07-948d-329f4b722ee2"
        );
        assert_eq!(body["scope"], "reset-4242");
        assert_eq!(body["digits"], 6);
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("{CODE}"), "{message}");
        let longest = ["phone", "signin", "unlock", "reset", "newphone", "admin"]
            .iter()
            .map(|name| format!("{name}-{}", LONGEST_REFERENCE).len())
            .max();
        assert!(
            longest <= Some(25),
            "every scope fits Bandwidth's 25 characters"
        );
    }

    #[tokio::test]
    async fn a_voice_code_uses_the_voice_application_and_without_one_is_refused() {
        let mock = mock(
            vec![Answer::new(
                200,
                vec![],
                r#"{"callId": "c-15ac29a2-1331029c"}"#,
            )],
            vec![],
        )
        .await;
        let bandwidth = service(&mock.base_url, true);
        assert!(bandwidth.supports_voice());
        bandwidth
            .start(&start(CodeScope::Unlock, DeliveryChannel::Voice))
            .await
            .expect("called");
        let request = &mock.requests_to("/code/voice")[0];
        assert_eq!(request.json()["applicationId"], "7c3a1b2d-voice");
        let without = service(&mock.base_url, false);
        assert!(!without.supports_voice());
        assert!(matches!(
            without
                .start(&start(CodeScope::Unlock, DeliveryChannel::Voice))
                .await,
            Err(SendError::Rejected(_))
        ));
    }

    #[tokio::test]
    async fn a_check_reads_valid_and_accepts_only_codes_made_since_this_one() {
        for (status, body, expected) in [
            (200, r#"{"valid": true}"#, ServiceAnswer::Approved),
            (200, r#"{"valid": false}"#, ServiceAnswer::Wrong),
            (
                429,
                r#"{"error": "This number has exceeded verification attempts, please wait 2 minutes", "requestId": "abc"}"#,
                ServiceAnswer::NoTriesLeft,
            ),
        ] {
            let mock = mock(vec![], vec![Answer::new(status, vec![], body)]).await;
            let answer = service(&mock.base_url, false)
                .check(&check("unlock-17", 61))
                .await;
            assert_eq!(answer, Ok(expected), "{body}");
            let request = mock.requests_to("/code/verify")[0].json();
            assert_eq!(request["to"], "+19195554321");
            assert_eq!(request["scope"], "unlock-17");
            assert_eq!(request["code"], "123456");
            assert_eq!(request["expirationTimeInMinutes"], 2);
        }
        let mock = mock(
            vec![],
            vec![Answer::new(200, vec![], r#"{"valid": false}"#)],
        )
        .await;
        let bandwidth = service(&mock.base_url, false);
        for (age, minutes) in [(0, 1), (3600, 15)] {
            bandwidth
                .check(&check("unlock-17", age))
                .await
                .expect("answered");
            let requests = mock.requests_to("/code/verify");
            let last = requests
                .last()
                .map(|request| request.json())
                .unwrap_or_default();
            assert_eq!(last["expirationTimeInMinutes"], minutes);
        }
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        for (status, body, permanent) in [
            (
                400,
                r#"{"error": "to number is required", "requestId": "abc"}"#,
                true,
            ),
            (401, r#"{"message": "Unauthorized"}"#, true),
            (
                403,
                r#"{"Message": "User is not authorized to access this resource with an explicit deny"}"#,
                true,
            ),
            (
                500,
                r#"{"error": "Internal Error", "requestId": "abc"}"#,
                false,
            ),
        ] {
            let mock = mock(
                vec![Answer::new(status, vec![], body)],
                vec![Answer::new(status, vec![], body)],
            )
            .await;
            let bandwidth = service(&mock.base_url, false);
            let error = bandwidth
                .start(&start(CodeScope::Unlock, DeliveryChannel::Sms))
                .await
                .expect_err("refused");
            assert_eq!(error.is_permanent(), permanent, "{status}");
            if status == 403 {
                assert!(error.to_string().contains("explicit deny"), "{error}");
            }
            assert!(bandwidth.check(&check("unlock-1", 5)).await.is_err());
        }
        let unreachable = service("http://127.0.0.1:9", false)
            .check(&check("unlock-1", 5))
            .await;
        assert!(
            matches!(unreachable, Err(SendError::Transient(_))),
            "{unreachable:?}"
        );
    }
}
