//! Bandwidth Messaging API v2: `POST /api/v2/users/{accountId}/messages`, a JSON body with
//! `applicationId`, `from`, `to` (an array of E.164 numbers) and `text`; `202 Accepted` with the
//! message `id`. Authenticated with an OAuth 2.0 client-credentials token (Bandwidth's current
//! scheme; cached by `TokenCache`) or, for older accounts, an API user's HTTP Basic credentials.
//! Errors are `{type, description, fieldErrors?}`. Text messages only.
//!
//! Delivery receipts: Bandwidth posts each message's events to the messaging application's
//! callback URL (set it to `PUBLIC_URL/webhooks/bandwidth/status`), a JSON array of
//! `{type, description, errorCode?, message: {id}}`, with the callback credentials set on the
//! application as HTTP Basic (`BANDWIDTH_CALLBACK_USERNAME`, `BANDWIDTH_CALLBACK_PASSWORD`;
//! `BandwidthStatusCallbacks`).

use super::http_client;
use super::token::{TokenCache, TokenRequest};
use super::{retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::setting::{invalid, required, ConfigError};
use crate::sms::receipts::{
    same_secret, Callback, CallbackRefused, DeliveryOutcome, StatusCallbackReader, StatusReport,
};
use crate::sms::{DeliveryChannel, OutgoingSms, SendError, SentReceipt, SmsSender};
use crate::store::Failure;
use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use std::sync::Arc;

pub const DEFAULT_BASE_URL: &str = "https://messaging.bandwidth.com";
pub const DEFAULT_TOKEN_URL: &str = "https://api.bandwidth.com/api/v1/oauth2/token";

#[derive(Debug, Clone)]
pub enum BandwidthAuth {
    /// OAuth 2.0 client credentials (`BANDWIDTH_CLIENT_ID`, `BANDWIDTH_CLIENT_SECRET`).
    OAuth {
        token_url: String,
        client_id: String,
        client_secret: Credential,
    },
    /// A legacy API user (`BANDWIDTH_USERNAME`, `BANDWIDTH_PASSWORD`), deprecated by Bandwidth.
    Basic {
        username: String,
        password: Credential,
    },
}

#[derive(Debug, Clone)]
pub struct BandwidthConfig {
    pub base_url: String,
    pub account_id: String,
    pub auth: BandwidthAuth,
    pub application_id: String,
    pub from: String,
    /// The credentials Bandwidth sends with its callbacks; without them receipts are not read.
    pub callbacks: Option<BandwidthCallbackCredentials>,
}

/// The callback credentials of the messaging application (Bandwidth sends them as HTTP Basic).
#[derive(Debug, Clone)]
pub struct BandwidthCallbackCredentials {
    pub username: String,
    pub password: Credential,
}

pub struct BandwidthSender {
    client: reqwest::Client,
    config: BandwidthConfig,
    tokens: Option<TokenCache>,
}

#[derive(Deserialize)]
struct Accepted {
    id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BandwidthError {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    field_errors: Vec<FieldError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldError {
    field_name: String,
}

impl BandwidthSender {
    pub fn new(client: reqwest::Client, config: BandwidthConfig, clock: Arc<dyn Clock>) -> Self {
        let tokens = match &config.auth {
            BandwidthAuth::OAuth {
                token_url,
                client_id,
                client_secret,
            } => Some(TokenCache::new(
                client.clone(),
                TokenRequest {
                    provider: "bandwidth",
                    url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    form: vec![("grant_type", Credential::new("client_credentials"))],
                },
                clock,
            )),
            BandwidthAuth::Basic { .. } => None,
        };
        Self {
            client,
            config,
            tokens,
        }
    }
}

#[async_trait]
impl SmsSender for BandwidthSender {
    fn name(&self) -> &'static str {
        "bandwidth"
    }

    async fn send(&self, message: &OutgoingSms) -> Result<SentReceipt, SendError> {
        if message.channel == DeliveryChannel::Voice {
            return Err(SendError::Rejected(
                "bandwidth: calls are not supported".to_owned(),
            ));
        }
        let url = format!(
            "{}/api/v2/users/{}/messages",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_id
        );
        let body = serde_json::json!({
            "applicationId": self.config.application_id,
            "from": self.config.from,
            "to": [message.to],
            "text": message.body,
        });
        let body = &body;
        let post = |bearer: Option<String>| {
            let request = self.client.post(&url);
            let request = match (&self.config.auth, bearer) {
                (BandwidthAuth::Basic { username, password }, _) => {
                    request.basic_auth(username, Some(password.expose()))
                }
                (BandwidthAuth::OAuth { .. }, bearer) => {
                    request.bearer_auth(bearer.unwrap_or_default())
                }
            };
            async move {
                request
                    .json(body)
                    .send()
                    .await
                    .map_err(|error| transport_error("bandwidth", &error))
            }
        };
        let response = match (&self.config.auth, &self.tokens) {
            (BandwidthAuth::Basic { .. }, _) => post(None).await?,
            (BandwidthAuth::OAuth { .. }, Some(tokens)) => {
                let token = tokens.token().await?;
                let response = post(Some(token.clone())).await?;
                if response.status() == reqwest::StatusCode::UNAUTHORIZED {
                    // Revoked or expired early: drop it, one new token, one more try.
                    tokens.forget(&token).await;
                    post(Some(tokens.token().await?)).await?
                } else {
                    response
                }
            }
            (BandwidthAuth::OAuth { .. }, None) => {
                return Err(SendError::Rejected("bandwidth: no token source".to_owned()))
            }
        };
        let status = response.status();
        if status.is_success() {
            let accepted: Accepted = response.json().await.map_err(|_| {
                SendError::Transient("bandwidth: unreadable success response".to_owned())
            })?;
            return Ok(SentReceipt {
                provider_message_id: Some(accepted.id),
            });
        }
        let wait = retry_after(&response);
        let error: BandwidthError = response.json().await.unwrap_or_default();
        let about_recipient = error
            .field_errors
            .iter()
            .any(|field| field.field_name == "to");
        let described = format!(
            "bandwidth {}: {} {}",
            status.as_u16(),
            error.kind.unwrap_or_default(),
            error.description.unwrap_or_default()
        );
        Err(match status.as_u16() {
            429 => SendError::RateLimited { retry_after: wait },
            400 if about_recipient => SendError::InvalidRecipient(described),
            400..=499 => SendError::Rejected(described),
            _ => SendError::Transient(described),
        })
    }
}

impl BandwidthConfig {
    /// The sender for these settings (the clock: for token lifetimes, where the provider has
    /// tokens).
    pub(crate) fn into_sender(self, clock: &Arc<dyn Clock>) -> anyhow::Result<Arc<dyn SmsSender>> {
        tracing::info!(account = %self.account_id, "SMS provider bandwidth");
        Ok(Arc::new(BandwidthSender::new(
            http_client()?,
            self,
            Arc::clone(clock),
        )))
    }

    /// Reads the `BANDWIDTH_*` settings; a missing one is named in the error.
    pub(crate) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("BANDWIDTH_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            account_id: required(get, "bandwidth", "BANDWIDTH_ACCOUNT_ID")?,
            auth: match (get("BANDWIDTH_CLIENT_ID"), get("BANDWIDTH_USERNAME")) {
                (Some(_), Some(_)) => return Err(invalid(
                    "BANDWIDTH_CLIENT_ID",
                    "set BANDWIDTH_CLIENT_ID (OAuth) or BANDWIDTH_USERNAME (API user), not both",
                )),
                (Some(client_id), None) => BandwidthAuth::OAuth {
                    token_url: get("BANDWIDTH_TOKEN_URL")
                        .unwrap_or_else(|| DEFAULT_TOKEN_URL.to_owned()),
                    client_id,
                    client_secret: Credential::new(required(
                        get,
                        "bandwidth",
                        "BANDWIDTH_CLIENT_SECRET",
                    )?),
                },
                (None, Some(username)) => BandwidthAuth::Basic {
                    username,
                    password: Credential::new(required(get, "bandwidth", "BANDWIDTH_PASSWORD")?),
                },
                (None, None) => return Err(invalid(
                    "BANDWIDTH_CLIENT_ID",
                    "the bandwidth provider needs BANDWIDTH_CLIENT_ID and BANDWIDTH_CLIENT_SECRET \
                         (or a legacy BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD)",
                )),
            },
            application_id: required(get, "bandwidth", "BANDWIDTH_APPLICATION_ID")?,
            from: required(get, "bandwidth", "BANDWIDTH_FROM")?,
            callbacks: match (
                get("BANDWIDTH_CALLBACK_USERNAME"),
                get("BANDWIDTH_CALLBACK_PASSWORD"),
            ) {
                (Some(username), Some(password)) => Some(BandwidthCallbackCredentials {
                    username,
                    password: Credential::new(password),
                }),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(invalid(
                        "BANDWIDTH_CALLBACK_PASSWORD",
                        "BANDWIDTH_CALLBACK_USERNAME is set: set the password of the callback \
                         credentials too",
                    ))
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        "BANDWIDTH_CALLBACK_USERNAME",
                        "BANDWIDTH_CALLBACK_PASSWORD is set: set the user name of the callback \
                         credentials too",
                    ))
                }
            },
        })
    }

    /// The reader of the application's delivery callbacks, when its callback credentials are set.
    pub(crate) fn status_callbacks(&self) -> Option<Arc<dyn StatusCallbackReader>> {
        self.callbacks.clone().map(|credentials| {
            Arc::new(BandwidthStatusCallbacks { credentials }) as Arc<dyn StatusCallbackReader>
        })
    }
}

/// Bandwidth's message callbacks ("Webhooks", https://dev.bandwidth.com/docs/messaging/webhooks;
/// the `statusCallback` schema of Bandwidth's OpenAPI document): always an array of events.
pub struct BandwidthStatusCallbacks {
    credentials: BandwidthCallbackCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    error_code: Option<u32>,
    message: EventMessage,
}

#[derive(Deserialize)]
struct EventMessage {
    id: String,
}

/// `message-failed` error codes that mean the number cannot receive texts
/// (https://dev.bandwidth.com/docs/messaging/errors): 4350 the destination is an invalid number,
/// 4700 messaging is not supported by the carrier or handset, 4720 an invalid destination (not in
/// the numbering plan, or a landline), 4721 a deactivated number, 4775 the person opted out.
/// Others (4432 a country the account may not message, 4702 a phone switched off, 4770 spam
/// filtering, …) are failures of this message or of the account, not of the number.
const UNREACHABLE_ERROR_CODES: [u32; 5] = [4350, 4700, 4720, 4721, 4775];

impl StatusCallbackReader for BandwidthStatusCallbacks {
    fn read(&self, callback: &Callback<'_>) -> Result<Vec<StatusReport>, CallbackRefused> {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                self.credentials.username,
                self.credentials.password.expose()
            ))
        );
        let given = callback
            .header("authorization")
            .ok_or(CallbackRefused::Unauthenticated)?;
        if !same_secret(given, &expected) {
            return Err(CallbackRefused::Unauthenticated);
        }
        let events: Vec<MessageEvent> = serde_json::from_slice(callback.body).map_err(|error| {
            CallbackRefused::Malformed(format!(
                "bandwidth: not an array of message events: {error}"
            ))
        })?;
        Ok(events
            .into_iter()
            .filter_map(|event| {
                let outcome = match event.kind.as_str() {
                    "message-delivered" | "message-read" => Some(DeliveryOutcome::Delivered),
                    "message-failed" => Some(DeliveryOutcome::Failed {
                        failure: if event
                            .error_code
                            .is_some_and(|code| UNREACHABLE_ERROR_CODES.contains(&code))
                        {
                            Failure::Unreachable
                        } else {
                            Failure::Undelivered
                        },
                        reason: format!(
                            "bandwidth message-failed {} {}",
                            event
                                .error_code
                                .map(|code| code.to_string())
                                .unwrap_or_default(),
                            event.description
                        )
                        .trim_end()
                        .to_owned(),
                    }),
                    "message-sending" | "message-sent" => None,
                    // Inbound messages and replies to them are not receipts of ours.
                    _ => return None,
                };
                Some(StatusReport {
                    provider_message_id: event.message.id,
                    outcome,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::providers::mock::MockProvider;
    use base64::Engine;

    fn sender(base_url: &str) -> BandwidthSender {
        with_auth(
            base_url,
            BandwidthAuth::Basic {
                username: "apiToken".to_owned(),
                password: Credential::new("apiSecret"),
            },
        )
    }

    /// OAuth client credentials, with the token endpoint on `base_url` too.
    fn with_oauth(base_url: &str) -> BandwidthSender {
        with_auth(
            base_url,
            BandwidthAuth::OAuth {
                token_url: format!("{base_url}/api/v1/oauth2/token"),
                client_id: "bw-client".to_owned(),
                client_secret: Credential::new("bw-secret"),
            },
        )
    }

    fn with_auth(base_url: &str, auth: BandwidthAuth) -> BandwidthSender {
        BandwidthSender::new(
            reqwest::Client::new(),
            BandwidthConfig {
                base_url: base_url.to_owned(),
                account_id: "9900000".to_owned(),
                auth,
                application_id: "7fc9698a-b04a-468b-9e8f-91238c0d0086".to_owned(),
                from: "+19192676804".to_owned(),
                callbacks: None,
            },
            Arc::new(crate::clock::ManualClock::starting_now()),
        )
    }

    #[tokio::test]
    async fn oauth_client_credentials_give_a_cached_bearer_token() {
        use crate::sms::providers::mock::{Answer, Route};
        let mock = MockProvider::with_routes(vec![
            Route {
                path_suffix: "/api/v1/oauth2/token",
                answers: vec![Answer::new(
                    200,
                    vec![],
                    r#"{"access_token": "bw-token", "token_type": "Bearer", "expires_in": 3600}"#,
                )],
            },
            Route {
                path_suffix: "/messages",
                answers: vec![Answer::new(202, vec![], r#"{"id": "bw-1"}"#)],
            },
        ])
        .await;
        let bandwidth = with_oauth(&mock.base_url);
        bandwidth.send(&message()).await.expect("sent");
        bandwidth.send(&message()).await.expect("sent");

        let tokens = mock.requests_to("/oauth2/token");
        assert_eq!(tokens.len(), 1, "the token is reused");
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("bw-client:bw-secret")
        );
        assert_eq!(tokens[0].header("authorization"), Some(basic.as_str()));
        assert_eq!(tokens[0].field("grant_type"), Some("client_credentials"));
        let sends = mock.requests_to("/api/v2/users/9900000/messages");
        assert_eq!(sends.len(), 2);
        for send in sends {
            assert_eq!(send.header("authorization"), Some("Bearer bw-token"));
        }
    }

    /// An OAuth bearer token refused before its time is answered 401 (the `securitySchemes` of
    /// bandwidth.yml in Bandwidth/python-sdk); the SDK then fetches a new one.
    #[tokio::test]
    async fn a_bearer_token_refused_early_is_replaced_and_the_send_tried_again() {
        use crate::sms::providers::mock::{Answer, Route};
        let mock = MockProvider::with_routes(vec![
            Route {
                path_suffix: "/api/v1/oauth2/token",
                answers: vec![
                    Answer::new(
                        200,
                        vec![],
                        r#"{"access_token": "revoked", "token_type": "Bearer", "expires_in": 3600}"#,
                    ),
                    Answer::new(
                        200,
                        vec![],
                        r#"{"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600}"#,
                    ),
                ],
            },
            Route {
                path_suffix: "/messages",
                answers: vec![
                    Answer::new(401, vec![], r#"{"type": "unauthorized", "description": "Authentication Failed"}"#),
                    Answer::new(202, vec![], r#"{"id": "bw-2"}"#),
                ],
            },
        ])
        .await;
        let bandwidth = with_oauth(&mock.base_url);
        let receipt = bandwidth.send(&message()).await.expect("sent");
        assert_eq!(receipt.provider_message_id.as_deref(), Some("bw-2"));
        let sends = mock.requests_to("/api/v2/users/9900000/messages");
        assert_eq!(sends.len(), 2);
        assert_eq!(sends[1].header("authorization"), Some("Bearer fresh"));
        bandwidth.send(&message()).await.expect("sent");
        assert_eq!(
            mock.requests_to("/oauth2/token").len(),
            2,
            "the new token is kept"
        );
    }

    fn message() -> OutgoingSms {
        OutgoingSms {
            id: 1,
            to: "+19195554444".to_owned(),
            body: "Latchkey: your code is 123456".to_owned(),
            purpose: "unlock".to_owned(),
            channel: DeliveryChannel::Sms,
        }
    }

    #[tokio::test]
    async fn a_message_is_posted_as_json_with_to_as_an_array() {
        let mock = MockProvider::start(
            202,
            vec![],
            r#"{"id": "1589228074636lm4k2je7j7jklbn2", "owner": "+19192676804", "segmentCount": 1, "direction": "out", "to": ["+19195554444"], "from": "+19192676804"}"#,
        )
        .await;
        let receipt = sender(&mock.base_url).send(&message()).await.expect("sent");
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some("1589228074636lm4k2je7j7jklbn2")
        );

        let request = &mock.requests()[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/v2/users/9900000/messages");
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("apiToken:apiSecret")
        );
        assert_eq!(request.header("authorization"), Some(auth.as_str()));
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(
            body["applicationId"],
            "7fc9698a-b04a-468b-9e8f-91238c0d0086"
        );
        assert_eq!(body["from"], "+19192676804");
        assert_eq!(body["to"], serde_json::json!(["+19195554444"]));
        assert_eq!(body["text"], "Latchkey: your code is 123456");
    }

    #[tokio::test]
    async fn each_documented_error_maps_to_its_class() {
        let invalid_to = MockProvider::start(
            400,
            vec![],
            r#"{"type": "request-validation", "description": "Your request could not be accepted", "fieldErrors": [{"fieldName": "to", "description": "must be E164"}]}"#,
        )
        .await;
        assert!(matches!(
            sender(&invalid_to.base_url).send(&message()).await,
            Err(SendError::InvalidRecipient(_))
        ));
        let bad_request = MockProvider::start(400, vec![], r#"{"type": "request-validation", "description": "Your request could not be accepted"}"#).await;
        assert!(matches!(
            sender(&bad_request.base_url).send(&message()).await,
            Err(SendError::Rejected(_))
        ));
        let unauthorized = MockProvider::start(
            401,
            vec![],
            r#"{"type": "unauthorized", "description": "Authentication Failed"}"#,
        )
        .await;
        assert!(matches!(
            sender(&unauthorized.base_url).send(&message()).await,
            Err(SendError::Rejected(_))
        ));
        let full = MockProvider::start(429, vec![], r#"{"type": "max-message-queue-size-exceeded", "description": "The SMS queue for your account is full"}"#).await;
        assert!(matches!(
            sender(&full.base_url).send(&message()).await,
            Err(SendError::RateLimited { retry_after: None })
        ));
        let down = MockProvider::start(502, vec![], "{}").await;
        assert!(matches!(
            sender(&down.base_url).send(&message()).await,
            Err(SendError::Transient(_))
        ));
    }

    fn callbacks() -> BandwidthStatusCallbacks {
        BandwidthStatusCallbacks {
            credentials: BandwidthCallbackCredentials {
                username: "latchkey".to_owned(),
                password: Credential::new("callback-secret"),
            },
        }
    }

    fn basic(username: &str, password: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        );
        headers.insert("authorization", value.parse().expect("a header value"));
        headers
    }

    fn read(headers: &http::HeaderMap, body: &str) -> Result<Vec<StatusReport>, CallbackRefused> {
        callbacks().read(&Callback {
            url: "https://auth.example.com/webhooks/bandwidth/status",
            headers,
            body: body.as_bytes(),
        })
    }

    // The examples of Bandwidth's OpenAPI document (python-sdk bandwidth.yml,
    // `smsMessageDeliveredCallbackExample`, `messageFailedCallbackExample`).
    const DELIVERED: &str = r#"[{"type": "message-delivered", "time": "2024-09-14T18:20:11.160744Z",
        "description": "Message delivered to handset.", "to": "+12345678902",
        "message": {"id": "14762070468292kw2fuqty55yp2b2", "time": "2024-09-14T18:20:11.160744Z",
        "to": ["+12345678902"], "from": "+12345678901", "text": "",
        "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2", "owner": "+12345678902",
        "direction": "out", "segmentCount": 1}}]"#;
    const FAILED_FORBIDDEN_COUNTRY: &str = r#"[{"type": "message-failed",
        "time": "2024-12-18T16:51:27.704450Z", "description": "forbidden to country",
        "to": "+52345678903", "errorCode": 4432,
        "message": {"id": "14762070468292kw2fuqty55yp2b2", "time": "2024-12-18T16:51:27.704450Z",
        "to": ["+12345678902", "+52345678903"], "from": "+12345678901", "text": "",
        "applicationId": "93de2206-9669-4e07-948d-329f4b722ee2", "owner": "+12345678901",
        "direction": "out", "segmentCount": 1}}]"#;

    #[test]
    fn the_documented_callbacks_are_read() {
        let headers = basic("latchkey", "callback-secret");
        assert_eq!(
            read(&headers, DELIVERED),
            Ok(vec![StatusReport {
                provider_message_id: "14762070468292kw2fuqty55yp2b2".to_owned(),
                outcome: Some(DeliveryOutcome::Delivered),
            }])
        );
        // A country the account may not message is the account's setting, not the number.
        assert_eq!(
            read(&headers, FAILED_FORBIDDEN_COUNTRY),
            Ok(vec![StatusReport {
                provider_message_id: "14762070468292kw2fuqty55yp2b2".to_owned(),
                outcome: Some(DeliveryOutcome::Failed {
                    failure: Failure::Undelivered,
                    reason: "bandwidth message-failed 4432 forbidden to country".to_owned(),
                }),
            }])
        );
        let landline = FAILED_FORBIDDEN_COUNTRY.replace("4432", "4720").replace(
            "forbidden to country",
            "Carrier Rejected as Invalid Destination Address",
        );
        assert!(matches!(
            read(&headers, &landline).as_deref(),
            Ok([StatusReport {
                outcome: Some(DeliveryOutcome::Failed {
                    failure: Failure::Unreachable,
                    ..
                }),
                ..
            }])
        ));
        let sending = DELIVERED.replace("message-delivered", "message-sending");
        assert_eq!(read(&headers, &sending).expect("read")[0].outcome, None);
        let inbound = DELIVERED.replace("message-delivered", "message-received");
        assert_eq!(read(&headers, &inbound), Ok(vec![]));
    }

    #[test]
    fn callbacks_without_the_credentials_are_refused() {
        for headers in [
            basic("latchkey", "wrong"),
            basic("someone", "callback-secret"),
            http::HeaderMap::new(),
        ] {
            assert_eq!(
                read(&headers, DELIVERED),
                Err(CallbackRefused::Unauthenticated)
            );
        }
    }

    #[test]
    fn an_authenticated_callback_that_is_not_an_event_list_is_malformed() {
        let headers = basic("latchkey", "callback-secret");
        for body in ["", "{}", r#"[{"type": "message-delivered"}]"#, "[{"] {
            assert!(
                matches!(read(&headers, body), Err(CallbackRefused::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn callback_credentials_come_in_pairs() {
        let settings = |extra: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                [
                    ("BANDWIDTH_ACCOUNT_ID", "9900000"),
                    ("BANDWIDTH_CLIENT_ID", "id"),
                    ("BANDWIDTH_CLIENT_SECRET", "secret"),
                    ("BANDWIDTH_APPLICATION_ID", "app"),
                    ("BANDWIDTH_FROM", "+19192676804"),
                ]
                .iter()
                .chain(extra)
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
            }
        };
        let none = BandwidthConfig::from_lookup(&settings(&[])).expect("valid");
        assert!(none.status_callbacks().is_none());
        let both = BandwidthConfig::from_lookup(&settings(&[
            ("BANDWIDTH_CALLBACK_USERNAME", "latchkey"),
            ("BANDWIDTH_CALLBACK_PASSWORD", "callback-secret"),
        ]))
        .expect("valid");
        assert!(both.status_callbacks().is_some());
        let error =
            BandwidthConfig::from_lookup(&settings(&[("BANDWIDTH_CALLBACK_USERNAME", "latchkey")]))
                .expect_err("half a pair");
        assert!(
            error.to_string().contains("BANDWIDTH_CALLBACK_PASSWORD"),
            "{error}"
        );
    }
}
