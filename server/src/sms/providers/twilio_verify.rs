//! Twilio Verify v2 as the code issuer (`CODE_ISSUER=twilio_verify`): Twilio makes, sends and
//! checks the code. HTTP Basic (account SID and auth token), forms, JSON answers.
//!
//! - Start: `POST /v2/Services/{ServiceSid}/Verifications` with `To` (E.164) and `Channel`
//!   (`sms` or `call`): `201` with the verification `sid` (`VE…`), `status: pending`.
//! - Check: `POST /v2/Services/{ServiceSid}/VerificationCheck` with `VerificationSid` and `Code`:
//!   `2xx` with `status` `approved` (right), `pending` (wrong), or `max_attempts_reached`,
//!   `canceled`, `expired`; `404` (`20404`) once Twilio has deleted the verification (approved,
//!   expired or out of attempts); `429` `60202` after too many checks.
//! - Twilio keeps one pending verification per number and sends its code again when another is
//!   started: a code for one scope would pass another. So the number's pending verification is
//!   cancelled first (`POST …/Verifications/{To}` with `Status=canceled`; `404` when none).
//!
//! The code's length is the Verify Service's (`CodeLength`, set in the Twilio console); the
//! scopes Twilio serves must have the same `CODE_LENGTH`. Its lifetime is Twilio's: 10 minutes.

use super::{http_client, retry_after, transport_error, Credential};
use crate::auth::codes::ServiceAnswer;
use crate::setting::{required, ConfigError};
use crate::sms::code_service::{
    checked_verification_id, CodeService, VerificationCheck, VerificationStart,
};
use crate::sms::{DeliveryChannel, SendError};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://verify.twilio.com";

/// How long Twilio keeps a verification: its codes stop working after this.
pub const TWILIO_VERIFY_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Twilio's number errors: not a valid number, not a mobile number, SMS to a landline.
const RECIPIENT_CODES: [i64; 3] = [21211, 21614, 60205];

#[derive(Debug, Clone)]
pub struct TwilioVerifyConfig {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Credential,
    /// The Verify Service (`VA…`).
    pub service_sid: String,
}

impl TwilioVerifyConfig {
    /// Reads `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_VERIFY_SERVICE_SID` and the
    /// optional `TWILIO_VERIFY_BASE_URL`; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("TWILIO_VERIFY_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            account_sid: required(get, "twilio_verify", "TWILIO_ACCOUNT_SID")?,
            auth_token: Credential::new(required(get, "twilio_verify", "TWILIO_AUTH_TOKEN")?),
            service_sid: required(get, "twilio_verify", "TWILIO_VERIFY_SERVICE_SID")?,
        })
    }

    pub(crate) fn into_service(self) -> anyhow::Result<Arc<dyn CodeService>> {
        tracing::info!(service = %self.service_sid, "codes issued by Twilio Verify");
        Ok(Arc::new(TwilioVerify::new(http_client()?, self)))
    }
}

pub struct TwilioVerify {
    client: reqwest::Client,
    config: TwilioVerifyConfig,
}

#[derive(Deserialize)]
struct Verification {
    #[serde(default)]
    sid: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize, Default)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioVerify {
    pub fn new(client: reqwest::Client, config: TwilioVerifyConfig) -> Self {
        Self { client, config }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/v2/Services/{}/{path}",
            self.config.base_url.trim_end_matches('/'),
            self.config.service_sid
        )
    }

    async fn post(
        &self,
        url: String,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, SendError> {
        self.client
            .post(url)
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|error| transport_error("twilio_verify", &error))
    }

    /// Cancels the number's pending verification, if it has one.
    async fn cancel_pending(&self, to: &str) -> Result<(), SendError> {
        let to_segment: String = url::form_urlencoded::byte_serialize(to.as_bytes()).collect();
        let response = self
            .post(
                self.url(&format!("Verifications/{to_segment}")),
                &[("Status", "canceled")],
            )
            .await
            .map_err(SendError::sent_nothing)?;
        if response.status().is_success() || response.status().as_u16() == 404 {
            return Ok(());
        }
        Err(classify(response).await)
    }
}

/// Twilio's "max check attempts reached" (on a check, `429`).
const MAX_CHECK_ATTEMPTS: i64 = 60202;
/// Twilio's "invalid parameter" (`400`).
const INVALID_PARAMETER: i64 = 60200;

/// The error a refusal stands for: by HTTP status first, Twilio's code second.
async fn classify(response: reqwest::Response) -> SendError {
    let status = response.status().as_u16();
    let wait = retry_after(&response);
    let error: TwilioError = response.json().await.unwrap_or_default();
    if status == 429 {
        return SendError::RateLimited { retry_after: wait };
    }
    described_error(status, &error)
}

fn described_error(status: u16, error: &TwilioError) -> SendError {
    let described = format!(
        "twilio_verify {status}: {} {}",
        error.code.map(|code| code.to_string()).unwrap_or_default(),
        error.message.as_deref().unwrap_or_default()
    );
    match status {
        400 if error
            .code
            .is_some_and(|code| RECIPIENT_CODES.contains(&code)) =>
        {
            SendError::InvalidRecipient(described)
        }
        400..=499 => SendError::Rejected(described),
        _ => SendError::Transient(described),
    }
}

#[async_trait]
impl CodeService for TwilioVerify {
    fn name(&self) -> &'static str {
        "twilio_verify"
    }

    fn supports_voice(&self) -> bool {
        true
    }

    async fn start(&self, request: &VerificationStart<'_>) -> Result<String, SendError> {
        self.cancel_pending(request.to).await?;
        let channel = match request.channel {
            DeliveryChannel::Sms => "sms",
            DeliveryChannel::Voice => "call",
        };
        let response = self
            .post(
                self.url("Verifications"),
                &[("To", request.to), ("Channel", channel)],
            )
            .await?;
        if !response.status().is_success() {
            return Err(classify(response).await);
        }
        let created: Verification = response.json().await.map_err(|_| {
            SendError::Transient("twilio_verify: unreadable success response".to_owned())
        })?;
        Ok(checked_verification_id("twilio_verify", &created.sid)?.to_owned())
    }

    async fn check(&self, request: &VerificationCheck<'_>) -> Result<ServiceAnswer, SendError> {
        let sid = checked_verification_id("twilio_verify", request.verification_id)?;
        let response = self
            .post(
                self.url("VerificationCheck"),
                &[("VerificationSid", sid), ("Code", request.code)],
            )
            .await
            .map_err(SendError::sent_nothing)?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            let checked: Verification = response.json().await.map_err(|_| {
                SendError::Transient("twilio_verify: unreadable check response".to_owned())
            })?;
            return Ok(match checked.status.as_str() {
                "approved" => ServiceAnswer::Approved,
                "pending" => ServiceAnswer::Wrong,
                "max_attempts_reached" => ServiceAnswer::NoTriesLeft,
                _ => ServiceAnswer::Expired,
            });
        }
        if status == 404 {
            // Deleted: approved already, expired, or out of attempts.
            return Ok(ServiceAnswer::Expired);
        }
        let wait = retry_after(&response);
        let error: TwilioError = response.json().await.unwrap_or_default();
        match (status, error.code) {
            // Too many checks of this verification: Twilio takes no more.
            (429, Some(MAX_CHECK_ATTEMPTS)) => Ok(ServiceAnswer::NoTriesLeft),
            // A code Twilio cannot read as one.
            (400, Some(INVALID_PARAMETER)) => Ok(ServiceAnswer::Wrong),
            (429, _) => Err(SendError::RateLimited { retry_after: wait }),
            _ => Err(described_error(status, &error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeScope;
    use crate::sms::providers::mock::{Answer, MockProvider, Route};
    use base64::Engine;

    const SID: &str = "VEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn service(base_url: &str) -> TwilioVerify {
        TwilioVerify::new(
            reqwest::Client::new(),
            TwilioVerifyConfig {
                base_url: base_url.to_owned(),
                account_sid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
                auth_token: Credential::new("secret-token"),
                service_sid: "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
            },
        )
    }

    fn start(channel: DeliveryChannel) -> VerificationStart<'static> {
        VerificationStart {
            to: "+14155552345",
            scope: CodeScope::Unlock,
            channel,
            code_length: 6,
            lifetime: Duration::from_secs(3600),
            reference: 7,
        }
    }

    fn check(code: &'static str) -> VerificationCheck<'static> {
        VerificationCheck {
            to: "+14155552345",
            verification_id: SID,
            code,
            age: Duration::from_secs(30),
        }
    }

    fn created() -> String {
        format!(
            r#"{{"sid": "{SID}", "service_sid": "VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "to": "+14155552345", "channel": "sms", "status": "pending", "valid": false}}"#
        )
    }

    fn checked(status: &str) -> String {
        format!(
            r#"{{"sid": "{SID}", "to": "+14155552345", "channel": "sms", "status": "{status}", "valid": {}}}"#,
            status == "approved"
        )
    }

    fn twilio_error(code: i64, status: u16) -> String {
        format!(
            r#"{{"code": {code}, "message": "refused", "more_info": "https://www.twilio.com/docs/errors/{code}", "status": {status}}}"#
        )
    }

    async fn mock(start: Vec<Answer>, check: Vec<Answer>) -> MockProvider {
        MockProvider::with_routes(vec![
            Route {
                path_suffix: "/Verifications/%2B14155552345",
                answers: vec![Answer::new(404, vec![], &twilio_error(20404, 404))],
            },
            Route {
                path_suffix: "/Verifications",
                answers: start,
            },
            Route {
                path_suffix: "/VerificationCheck",
                answers: check,
            },
        ])
        .await
    }

    #[tokio::test]
    async fn a_start_cancels_the_numbers_pending_verification_then_asks_for_a_new_one() {
        let mock = mock(vec![Answer::new(201, vec![], &created())], vec![]).await;
        let sid = service(&mock.base_url)
            .start(&start(DeliveryChannel::Sms))
            .await
            .expect("started");
        assert_eq!(sid, SID);
        let requests = mock.requests();
        assert_eq!(requests.len(), 2);
        let (cancel, create) = (&requests[0], &requests[1]);
        assert_eq!(
            cancel.path,
            "/v2/Services/VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Verifications/%2B14155552345"
        );
        assert_eq!(cancel.field("Status"), Some("canceled"));
        assert_eq!(create.method, "POST");
        assert_eq!(
            create.path,
            "/v2/Services/VAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Verifications"
        );
        let expected_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:secret-token")
        );
        for request in [cancel, create] {
            assert_eq!(
                request.header("authorization"),
                Some(expected_auth.as_str())
            );
            assert_eq!(
                request.header("content-type"),
                Some("application/x-www-form-urlencoded")
            );
        }
        assert_eq!(create.field("To"), Some("+14155552345"));
        assert_eq!(create.field("Channel"), Some("sms"));
    }

    #[tokio::test]
    async fn a_voice_code_is_a_call() {
        let mock = mock(vec![Answer::new(201, vec![], &created())], vec![]).await;
        service(&mock.base_url)
            .start(&start(DeliveryChannel::Voice))
            .await
            .expect("started");
        let create = mock.requests_to("/Verifications");
        assert_eq!(create[0].field("Channel"), Some("call"));
    }

    #[tokio::test]
    async fn each_check_answer_maps_to_its_verdict() {
        for (status, body, expected) in [
            (200, checked("approved"), ServiceAnswer::Approved),
            (200, checked("pending"), ServiceAnswer::Wrong),
            (
                200,
                checked("max_attempts_reached"),
                ServiceAnswer::NoTriesLeft,
            ),
            (200, checked("canceled"), ServiceAnswer::Expired),
            (404, twilio_error(20404, 404), ServiceAnswer::Expired),
            (429, twilio_error(60202, 429), ServiceAnswer::NoTriesLeft),
            (400, twilio_error(60200, 400), ServiceAnswer::Wrong),
        ] {
            let mock = mock(vec![], vec![Answer::new(status, vec![], &body)]).await;
            let answer = service(&mock.base_url).check(&check("123456")).await;
            assert_eq!(answer, Ok(expected), "{status} {body}");
            let request = &mock.requests_to("/VerificationCheck")[0];
            assert_eq!(request.field("VerificationSid"), Some(SID));
            assert_eq!(request.field("Code"), Some("123456"));
        }
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        for (status, code, permanent, recipient) in [
            (400, 21211, true, true),
            (400, 60205, true, true),
            (401, 20003, true, false),
            (404, 20404, true, false),
            (500, 20500, false, false),
        ] {
            let mock = mock(
                vec![Answer::new(status, vec![], &twilio_error(code, status))],
                vec![],
            )
            .await;
            let error = service(&mock.base_url)
                .start(&start(DeliveryChannel::Sms))
                .await
                .expect_err("refused");
            assert_eq!(error.is_permanent(), permanent, "{status} {code}");
            assert_eq!(
                matches!(error, SendError::InvalidRecipient(_)),
                recipient,
                "{status} {code}"
            );
        }
        let mock = mock(
            vec![Answer::new(
                429,
                vec![("retry-after", "7".to_owned())],
                &twilio_error(60203, 429),
            )],
            vec![Answer::new(500, vec![], &twilio_error(20500, 500))],
        )
        .await;
        let twilio = service(&mock.base_url);
        assert_eq!(
            twilio.start(&start(DeliveryChannel::Sms)).await,
            Err(SendError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            })
        );
        let unavailable = twilio.check(&check("123456")).await;
        assert!(
            matches!(unavailable, Err(SendError::Transient(_))),
            "{unavailable:?}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_service_is_a_transient_failure_and_a_strange_id_is_never_sent() {
        let twilio = service("http://127.0.0.1:9");
        let error = twilio
            .start(&start(DeliveryChannel::Sms))
            .await
            .expect_err("unreachable");
        assert!(matches!(error, SendError::Transient(_)), "{error:?}");
        let strange = VerificationCheck {
            verification_id: "../../Accounts",
            ..check("123456")
        };
        assert!(matches!(
            twilio.check(&strange).await,
            Err(SendError::Rejected(_))
        ));
    }
}
