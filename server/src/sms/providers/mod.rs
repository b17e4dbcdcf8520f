//! Real SMS and voice providers, one module each, behind `SmsSender`, and the managed verification
//! services (`*_verify`, `bandwidth_mfa`) behind `CodeService`. They share an HTTP client with
//! connect and total timeouts, a redacting `Credential` type, the OAuth token cache, and the
//! mapping of transport failures.

pub mod bandwidth;
pub mod bandwidth_mfa;
pub mod bird;
pub mod messagebird;
pub mod messagebird_verify;
pub mod ringcentral;
pub mod token;
pub mod twilio;
pub mod twilio_verify;
pub mod vonage;
pub mod vonage_verify;
pub mod xoxzo;

use super::SendError;
use std::fmt;
use std::time::Duration;

/// A secret from the environment (token, API secret); never shown by `Debug` or in errors.
#[derive(Clone)]
pub struct Credential(String);

impl Credential {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

/// The longest a provider may be given for one send (`<PROVIDER>_TIMEOUT`): the HTTP client's
/// own limit.
pub const LONGEST_SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// The client every provider uses: rustls, 5 s to connect, a minute in all. A send is cut sooner,
/// at its provider's own timeout (`<PROVIDER>_TIMEOUT`), by the delivery worker.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(LONGEST_SEND_TIMEOUT)
        .build()
        .map_err(|error| anyhow::anyhow!("could not build the HTTP client: {error}"))
}

/// A request that never got an answer: always worth retrying.
/// A request that got no answer. Without a connection nothing reached the provider; after one,
/// a timeout or a cut connection leaves unknown whether the provider took the message.
fn transport_error(provider: &str, error: &reqwest::Error) -> SendError {
    if error.is_connect() {
        SendError::Transient(format!("{provider}: could not connect"))
    } else if error.is_timeout() {
        SendError::Ambiguous(format!("{provider}: timed out"))
    } else {
        SendError::Ambiguous(format!("{provider}: request failed"))
    }
}

/// A provider's own message id, checked before it goes into a URL: not empty, and every byte one
/// that `allowed` lets through.
fn checked_message_id<'a>(
    provider: &str,
    id: &'a str,
    allowed: impl Fn(u8) -> bool,
) -> Result<&'a str, SendError> {
    if id.is_empty() || !id.bytes().all(allowed) {
        return Err(SendError::Rejected(format!(
            "{provider}: {id:?} is not a message id"
        )));
    }
    Ok(id)
}

/// The error a non-success answer to a question about a message stands for: rate limited (with
/// the provider's wait), refused (4xx: asking again will not help), or a passing failure.
fn asking_error(provider: &str, response: &reqwest::Response) -> SendError {
    let status = response.status().as_u16();
    match status {
        429 => SendError::RateLimited {
            retry_after: retry_after(response),
        },
        400..=499 => SendError::Rejected(format!("{provider} {status}")),
        _ => SendError::Transient(format!("{provider} {status}")),
    }
}

/// The `Retry-After` header in seconds, if the provider sent one.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
pub(crate) mod mock {
    //! A provider stand-in on 127.0.0.1 that records each request and answers as told.

    use axum::{
        body::Bytes,
        extract::State,
        http::{HeaderMap, Method, StatusCode, Uri},
        response::IntoResponse,
        Router,
    };
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone)]
    pub struct Recorded {
        pub method: Method,
        pub path: String,
        /// The query string, without `?`.
        pub query: String,
        pub headers: HeaderMap,
        pub form: Vec<(String, String)>,
        pub body: String,
    }

    /// Extra response headers, by name.
    pub type Headers = Vec<(&'static str, String)>;

    /// One answer: status, extra headers, JSON body.
    #[derive(Clone)]
    pub struct Answer {
        pub status: StatusCode,
        pub headers: Headers,
        pub body: String,
    }

    impl Answer {
        pub fn new(status: u16, headers: Headers, body: &str) -> Self {
            Self {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                headers,
                body: body.to_owned(),
            }
        }
    }

    /// The answers for requests whose path ends with `path_suffix`, given in turn; the last one
    /// repeats.
    pub struct Route {
        pub path_suffix: &'static str,
        pub answers: Vec<Answer>,
    }

    struct RouteState {
        path_suffix: &'static str,
        answers: Vec<Answer>,
        served: usize,
    }

    #[derive(Clone)]
    struct Shared {
        requests: Arc<Mutex<Vec<Recorded>>>,
        routes: Arc<Mutex<Vec<RouteState>>>,
    }

    pub struct MockProvider {
        pub base_url: String,
        requests: Arc<Mutex<Vec<Recorded>>>,
    }

    impl MockProvider {
        /// Answers every request with `status`, `headers` and the JSON `body`.
        pub async fn start(status: u16, headers: Headers, body: &str) -> Self {
            Self::with_routes(vec![Route {
                path_suffix: "",
                answers: vec![Answer::new(status, headers, body)],
            }])
            .await
        }

        /// Answers by path; a path no route matches gets a 404.
        pub async fn with_routes(routes: Vec<Route>) -> Self {
            let requests = Arc::new(Mutex::new(Vec::new()));
            let shared = Shared {
                requests: Arc::clone(&requests),
                routes: Arc::new(Mutex::new(
                    routes
                        .into_iter()
                        .map(|route| RouteState {
                            path_suffix: route.path_suffix,
                            answers: route.answers,
                            served: 0,
                        })
                        .collect(),
                )),
            };
            let app = Router::new().fallback(record).with_state(shared);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            let address = listener.local_addr().expect("an address");
            tokio::spawn(async move { axum::serve(listener, app).await });
            Self {
                base_url: format!("http://{address}"),
                requests,
            }
        }

        pub fn requests(&self) -> Vec<Recorded> {
            self.requests
                .lock()
                .map(|requests| requests.clone())
                .unwrap_or_default()
        }

        /// The recorded requests whose path ends with `suffix`.
        pub fn requests_to(&self, suffix: &str) -> Vec<Recorded> {
            self.requests()
                .into_iter()
                .filter(|request| request.path.ends_with(suffix))
                .collect()
        }
    }

    async fn record(
        State(shared): State<Shared>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> impl IntoResponse {
        let form = url::form_urlencoded::parse(&body).into_owned().collect();
        if let Ok(mut requests) = shared.requests.lock() {
            requests.push(Recorded {
                method,
                path: uri.path().to_owned(),
                query: uri.query().unwrap_or_default().to_owned(),
                headers,
                form,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let answer = shared.routes.lock().ok().and_then(|mut routes| {
            let route = routes
                .iter_mut()
                .find(|route| uri.path().ends_with(route.path_suffix))?;
            let index = route.served.min(route.answers.len().checked_sub(1)?);
            route.served += 1;
            route.answers.get(index).cloned()
        });
        let answer =
            answer.unwrap_or_else(|| Answer::new(404, vec![], r#"{"error":"no such path"}"#));
        let mut response = (answer.status, answer.body.clone()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        for (name, value) in &answer.headers {
            if let Ok(value) = axum::http::HeaderValue::from_str(value) {
                response.headers_mut().insert(*name, value);
            }
        }
        response
    }

    /// Name-value pairs as a provider's form or query carries them.
    pub fn pairs(params: &[(&str, &str)]) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    impl Recorded {
        pub fn field(&self, name: &str) -> Option<&str> {
            self.form
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        }

        pub fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap_or_default()
        }

        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).and_then(|value| value.to_str().ok())
        }
    }
}
