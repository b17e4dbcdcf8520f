//! OAuth 2.0 access tokens for providers that need one (RingCentral's JWT grant, Bandwidth's client
//! credentials): fetched from the token endpoint with the client id and secret as HTTP Basic, cached
//! until shortly before they expire, and fetched by one task at a time, so that a burst of messages
//! costs one token call (RingCentral allows 5 a minute). A refusal (wrong credentials, a 429) is
//! remembered for `REFUSAL_HOLD` (or the `Retry-After`), and every message meanwhile gets it
//! without asking again: a queue of messages behind bad credentials costs one token call, not
//! one each, and stays inside the provider's limit on them.

use super::{retry_after, transport_error, Credential};
use crate::clock::Clock;
use crate::sms::SendError;
use serde::Deserialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::seconds(60);

/// How long a refused token request is answered from memory.
const REFUSAL_HOLD: Duration = Duration::seconds(60);

/// Where and how to ask for a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The provider's name, for errors.
    pub provider: &'static str,
    pub url: String,
    pub client_id: String,
    pub client_secret: Credential,
    /// The grant's form fields, such as `grant_type=client_credentials`.
    pub form: Vec<(&'static str, Credential)>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    value: String,
    expires_at: OffsetDateTime,
}

/// The latest token, or the latest refusal while it holds.
#[derive(Debug, Default)]
struct TokenState {
    token: Option<CachedToken>,
    refused: Option<(OffsetDateTime, SendError)>,
}

pub struct TokenCache {
    client: reqwest::Client,
    request: TokenRequest,
    clock: Arc<dyn Clock>,
    /// Held while a token is fetched: other tasks wait for it instead of asking again.
    state: Mutex<TokenState>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenCache {
    pub fn new(client: reqwest::Client, request: TokenRequest, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            request,
            clock,
            state: Mutex::new(TokenState::default()),
        }
    }

    /// A token valid for at least another minute: the cached one, or a new one.
    pub async fn token(&self) -> Result<String, SendError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if let Some(token) = state.token.as_ref() {
            if now + RENEW_BEFORE < token.expires_at {
                return Ok(token.value.clone());
            }
        }
        if let Some((until, refusal)) = state.refused.as_ref() {
            if now < *until {
                return Err(match refusal {
                    SendError::RateLimited { .. } => SendError::RateLimited {
                        retry_after: std::time::Duration::try_from(*until - now).ok(),
                    },
                    other => other.clone(),
                });
            }
        }
        match self.fetch().await {
            Ok(fresh) => {
                let value = fresh.value.clone();
                *state = TokenState {
                    token: Some(fresh),
                    refused: None,
                };
                Ok(value)
            }
            Err(error) => {
                let error = error.sent_nothing();
                let hold = match &error {
                    SendError::Rejected(_) => Some(REFUSAL_HOLD),
                    SendError::RateLimited { retry_after } => Some(
                        retry_after
                            .and_then(|wait| Duration::try_from(wait).ok())
                            .unwrap_or(REFUSAL_HOLD),
                    ),
                    // A connection error or a 5xx: the next message may well succeed.
                    SendError::Transient(_)
                    | SendError::Ambiguous(_)
                    | SendError::InvalidRecipient(_) => None,
                };
                if let Some(hold) = hold {
                    state.refused = Some((now + hold, error.clone()));
                }
                Err(error)
            }
        }
    }

    /// Drops `rejected` (the API refused it before its time), unless another task replaced it.
    pub async fn forget(&self, rejected: &str) {
        let mut state = self.state.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|token| token.value == rejected)
        {
            state.token = None;
        }
    }

    async fn fetch(&self) -> Result<CachedToken, SendError> {
        let provider = self.request.provider;
        let form: Vec<(&str, &str)> = self
            .request
            .form
            .iter()
            .map(|(name, value)| (*name, value.expose()))
            .collect();
        let response = self
            .client
            .post(&self.request.url)
            .basic_auth(
                &self.request.client_id,
                Some(self.request.client_secret.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|error| transport_error(provider, &error))?;
        let status = response.status();
        if status.is_success() {
            let token: TokenResponse = response.json().await.map_err(|_| {
                SendError::Transient(format!("{provider}: unreadable token response"))
            })?;
            let lifetime = Duration::seconds(token.expires_in.unwrap_or(3600).max(0));
            return Ok(CachedToken {
                value: token.access_token,
                expires_at: self.clock.now() + lifetime,
            });
        }
        let wait = retry_after(&response);
        let error: TokenError = response.json().await.unwrap_or_default();
        let described = format!(
            "{provider} token {}: {} {}",
            status.as_u16(),
            error.error.unwrap_or_default(),
            error.error_description.unwrap_or_default()
        );
        Err(match status.as_u16() {
            429 => SendError::RateLimited { retry_after: wait },
            400..=499 => SendError::Rejected(described),
            _ => SendError::Transient(described),
        })
    }
}
