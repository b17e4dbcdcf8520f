//! RingCentral SMS: an access token from the JWT grant (`POST /restapi/oauth/token`, client id and
//! secret as HTTP Basic), cached by `TokenCache`; then
//! `POST /restapi/v1.0/account/~/extension/~/sms` with the bearer token and a JSON body
//! `{from: {phoneNumber}, to: [{phoneNumber}], text}`; `200 OK` with the numeric message `id`.
//! Errors are `{errorCode, message, errors: [{errorCode, message, parameterName}]}`, classified by
//! the codes as RingCentral advises: the specific ones are in `errors[]` (`CMN-101` on `to` for a
//! number that cannot be texted, on 400 or 403), under a general top-level one. After a 429,
//! nothing is sent until its `Retry-After` has passed: RingCentral restarts the penalty for every
//! request made inside it. A 5xx with `Retry-After` is retried after that wait. RingCentral has no
//! calls for codes: SMS only.
//!
//! Delivery: RingCentral reports a message's fate only when asked, in its message-store record
//! (`GET …/message-store/{id}`: `messageStatus`, and `deliveryErrorCode` on a failure); the
//! message is asked about in the minutes after it was sent (`receipts::DeliveryQuestions`).
//! A send that got no answer is looked up in the message store (`GET …/message-store?
//! phoneNumber=…&dateFrom=…`, outbound texts) before it is sent again: a record whose `subject`
//! (the text, which holds the one-time code) is the message's is the one already sent.

use super::http_client;
use super::token::{TokenCache, TokenRequest};
use super::{checked_message_id, retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{required, ConfigError};
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::{DeliveryOutcome, Failure};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

pub const DEFAULT_SERVER_URL: &str = "https://platform.ringcentral.com";

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// When RingCentral answers 429 without `Retry-After`, its documentation says to wait 30 s.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct RingCentralConfig {
    pub server_url: String,
    pub client_id: String,
    pub client_secret: Credential,
    /// The JWT credential made in the Developer Console; exchanged for access tokens, never sent
    /// as a bearer itself.
    pub jwt: Credential,
    /// A number of the authenticated extension with the `SmsSender` feature, E.164.
    pub from: String,
}

pub struct RingCentralSender {
    client: reqwest::Client,
    config: RingCentralConfig,
    tokens: TokenCache,
    clock: Arc<dyn Clock>,
    /// The end of the penalty after a 429: no request goes out before it.
    quiet_until: Mutex<Option<OffsetDateTime>>,
}

#[derive(Deserialize)]
struct Created {
    id: serde_json::Value,
}

/// RingCentral's error envelope: a general `errorCode` (such as `InvalidParameter`) and the
/// specific ones in `errors[]` (such as `CMN-101` for the `to` parameter).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RingCentralError {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    parameter_name: Option<String>,
    #[serde(default)]
    errors: Vec<RingCentralErrorDetail>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RingCentralErrorDetail {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    parameter_name: Option<String>,
}

impl RingCentralError {
    /// Every code the answer carries, the top-level one first.
    fn codes(&self) -> impl Iterator<Item = &str> {
        self.error_code
            .as_deref()
            .into_iter()
            .chain(self.errors.iter().filter_map(|e| e.error_code.as_deref()))
    }

    /// Whether the answer says the recipient cannot get the message: a recipient code, or
    /// `CMN-101` (an invalid parameter value) about the `to` parameter.
    fn names_the_recipient(&self) -> bool {
        let invalid_to = |code: Option<&str>, parameter: Option<&str>| {
            code == Some("CMN-101") && parameter.is_some_and(|name| name.starts_with("to"))
        };
        self.codes().any(|code| RECIPIENT_CODES.contains(&code))
            || invalid_to(self.error_code.as_deref(), self.parameter_name.as_deref())
            || self.errors.iter().any(|detail| {
                invalid_to(
                    detail.error_code.as_deref(),
                    detail.parameter_name.as_deref(),
                )
            })
    }
}

/// Codes that mean the recipient cannot get the message from us: sending to this number is
/// forbidden or it cannot receive texts (MSG-240, MSG-243, MSG-246, MSG-247).
const RECIPIENT_CODES: [&str; 4] = ["MSG-240", "MSG-243", "MSG-246", "MSG-247"];

/// A message id as text: an int64 JSON number (sometimes a string), its digits kept exactly.
fn id_text(id: serde_json::Value) -> String {
    match id {
        serde_json::Value::String(id) => id,
        other => other.to_string(),
    }
}

/// A page of the message store, as far as a lookup goes.
#[derive(Deserialize)]
struct StoredPage {
    #[serde(default)]
    records: Vec<StoredRecord>,
}

#[derive(Deserialize)]
struct StoredRecord {
    id: serde_json::Value,
    #[serde(default)]
    subject: Option<String>,
}

/// A message-store record, as far as its delivery goes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredMessage {
    message_status: String,
    #[serde(default)]
    delivery_error_code: Option<String>,
}

/// Whether a `deliveryErrorCode` means the number cannot receive texts (RingCentral's SMS error
/// codes, docs/messaging/sms/sms-errors.md): 410 and 411 an invalid, unallocated or landline
/// destination, 413 the person opted out, whatever the source (`SMS-RC-`, `SMS-UP-`,
/// `SMS-CAR-`). Others (430 to 452: spam filters and limits, …) are failures of this message.
fn names_an_unreachable_number(code: &str) -> bool {
    code.rsplit('-')
        .next()
        .is_some_and(|number| matches!(number, "410" | "411" | "413"))
}

impl RingCentralSender {
    pub fn new(client: reqwest::Client, config: RingCentralConfig, clock: Arc<dyn Clock>) -> Self {
        let tokens = TokenCache::new(
            client.clone(),
            TokenRequest {
                provider: "ringcentral",
                url: format!(
                    "{}/restapi/oauth/token",
                    config.server_url.trim_end_matches('/')
                ),
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                form: vec![
                    ("grant_type", Credential::new(JWT_GRANT)),
                    ("assertion", config.jwt.clone()),
                ],
            },
            Arc::clone(&clock),
        );
        Self {
            client,
            config,
            tokens,
            clock,
            quiet_until: Mutex::new(None),
        }
    }

    /// The rest of the penalty, if one is running.
    fn penalty_left(&self) -> Option<Duration> {
        let until = (*self.quiet_until.lock().ok()?)?;
        let left = until - self.clock.now();
        left.is_positive()
            .then(|| Duration::try_from(left).ok())
            .flatten()
    }

    fn start_penalty(&self, wait: Duration) {
        if let Ok(mut until) = self.quiet_until.lock() {
            *until = Some(self.clock.now() + wait);
        }
    }

    async fn post(
        &self,
        message: &OutgoingSms,
        token: &str,
    ) -> Result<reqwest::Response, SendError> {
        let url = format!(
            "{}/restapi/v1.0/account/~/extension/~/sms",
            self.config.server_url.trim_end_matches('/')
        );
        let body = serde_json::json!({
            "from": {"phoneNumber": self.config.from},
            "to": [{"phoneNumber": message.to}],
            "text": message.body,
        });
        self.client
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|error| transport_error("ringcentral", &error))
    }
}

impl RingCentralSender {
    /// Reads `path` below the extension (`message-store…`) with the bearer token, as every read
    /// here goes: nothing inside a rate-limit penalty, one new token after a 401, a penalty
    /// started by a 429. `what` names the read in errors. A read that got no answer sent nothing:
    /// its failure is transient, never ambiguous.
    async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<T, SendError> {
        if let Some(left) = self.penalty_left() {
            return Err(SendError::RateLimited {
                retry_after: Some(left),
            });
        }
        let url = format!(
            "{}/restapi/v1.0/account/~/extension/~/{path}",
            self.config.server_url.trim_end_matches('/')
        );
        let get = |token: String| {
            self.client
                .get(&url)
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, "application/json")
                .query(query)
                .send()
        };
        let no_answer =
            |error: reqwest::Error| transport_error("ringcentral", &error).sent_nothing();
        let token = self.tokens.token().await?;
        let mut response = get(token.clone()).await.map_err(no_answer)?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            self.tokens.forget(&token).await;
            response = get(self.tokens.token().await?).await.map_err(no_answer)?;
        }
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&response).unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
            self.start_penalty(wait);
            return Err(SendError::RateLimited {
                retry_after: Some(wait),
            });
        }
        if !status.is_success() {
            return Err(SendError::Transient(format!(
                "ringcentral {}: {what} could not be read",
                status.as_u16()
            )));
        }
        response
            .json()
            .await
            .map_err(|_| SendError::Transient(format!("ringcentral: {what} was unreadable")))
    }
}

#[async_trait]
impl SmsSender for RingCentralSender {
    fn name(&self) -> &'static str {
        "ringcentral"
    }

    fn reports_when_asked(&self) -> bool {
        true
    }

    async fn find_sent(
        &self,
        message: &OutgoingSms,
        since: OffsetDateTime,
    ) -> Result<Option<SentReceipt>, SendError> {
        if message.channel != DeliveryChannel::Sms {
            return Ok(None);
        }
        let from = (since - time::Duration::minutes(1))
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| SendError::Transient("ringcentral: an unwritable time".to_owned()))?;
        let page: StoredPage = self
            .read_json(
                "message-store",
                &[
                    ("messageType", "SMS"),
                    ("direction", "Outbound"),
                    ("phoneNumber", message.to.as_str()),
                    ("dateFrom", from.as_str()),
                    ("perPage", "100"),
                ],
                "the message store",
            )
            .await?;
        Ok(page
            .records
            .into_iter()
            .find(|record| record.subject.as_deref() == Some(message.body.as_str()))
            .map(|record| SentReceipt {
                provider_message_id: Some(id_text(record.id)),
            }))
    }

    async fn delivery_outcome(
        &self,
        provider_message_id: &str,
    ) -> Result<Option<DeliveryOutcome>, SendError> {
        // The id is RingCentral's own, digits only.
        let provider_message_id =
            checked_message_id("ringcentral", provider_message_id, |b| b.is_ascii_digit())?;
        let stored: StoredMessage = self
            .read_json(
                &format!("message-store/{provider_message_id}"),
                &[],
                "the message-store record",
            )
            .await?;
        Ok(match stored.message_status.as_str() {
            "Delivered" => Some(DeliveryOutcome::Delivered),
            "DeliveryFailed" | "SendingFailed" => {
                let code = stored.delivery_error_code.unwrap_or_default();
                Some(DeliveryOutcome::Failed {
                    failure: if names_an_unreachable_number(&code) {
                        Failure::Unreachable
                    } else {
                        Failure::Undelivered
                    },
                    reason: format!("ringcentral {} {code}", stored.message_status)
                        .trim_end()
                        .to_owned(),
                })
            }
            // Queued, Sent: on its way.
            _ => None,
        })
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        if message.channel == DeliveryChannel::Voice {
            return Err(SendError::Rejected(
                "ringcentral: calls are not supported".to_owned(),
            ));
        }
        if let Some(left) = self.penalty_left() {
            return Err(SendError::RateLimited {
                retry_after: Some(left),
            });
        }
        let mut token = self.tokens.token().await?;
        let mut response = self.post(message, &token).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            // Revoked or expired early: one new token, one more try.
            self.tokens.forget(&token).await;
            token = self.tokens.token().await?;
            response = self.post(message, &token).await?;
        }
        let status = response.status();
        if status.is_success() {
            let created: Created = response.json().await.map_err(|_| {
                SendError::Transient("ringcentral: unreadable success response".to_owned())
            })?;
            return Ok(SentReceipt {
                provider_message_id: Some(id_text(created.id)),
            });
        }
        let wait = retry_after(&response);
        let error: RingCentralError = response.json().await.unwrap_or_default();
        let described = format!(
            "ringcentral {}: {} {}",
            status.as_u16(),
            error.codes().collect::<Vec<_>>().join(" "),
            error.message.as_deref().unwrap_or_default()
        );
        Err(match status.as_u16() {
            429 => {
                let wait = wait.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
                self.start_penalty(wait);
                SendError::RateLimited {
                    retry_after: Some(wait),
                }
            }
            // CMN-101 about `to` comes with 400 or 403, under `InvalidParameter`.
            400 | 403 if error.names_the_recipient() => SendError::InvalidRecipient(described),
            400..=499 => SendError::Rejected(described),
            // "Obey Retry-After on 5xx" (docs/basics/errors.md): the provider's wait, else backoff.
            _ if wait.is_some() => SendError::RateLimited { retry_after: wait },
            _ => SendError::Transient(described),
        })
    }
}

impl RingCentralConfig {
    /// The sender for these settings (the clock: for token lifetimes, where the provider has
    /// tokens).
    pub(crate) fn into_sender(self, clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(client = %self.client_id, "SMS provider ringcentral");
        Ok(Arc::new(RingCentralSender::new(
            http_client()?,
            self,
            Arc::clone(clock),
        )))
    }

    /// Reads the `RINGCENTRAL_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            server_url: get("RINGCENTRAL_SERVER_URL")
                .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned()),
            client_id: required(get, "ringcentral", "RINGCENTRAL_CLIENT_ID")?,
            client_secret: Credential::new(required(
                get,
                "ringcentral",
                "RINGCENTRAL_CLIENT_SECRET",
            )?),
            jwt: Credential::new(required(get, "ringcentral", "RINGCENTRAL_JWT")?),
            from: required(get, "ringcentral", "RINGCENTRAL_FROM")?,
        })
    }
}

#[cfg(test)]
mod tests;
