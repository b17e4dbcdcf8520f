//! A provider's HTTP API played on 127.0.0.1: answers by path and records every request.

use axum::{
    body::Bytes,
    extract::State,
    http::{StatusCode, Uri},
    response::IntoResponse,
    Router,
};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub form: Vec<(String, String)>,
}

impl Seen {
    pub fn field(&self, name: &str) -> &str {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default()
    }
}

/// A path suffix and the status and JSON body every request to it gets.
pub type Route = (&'static str, u16, &'static str);

#[derive(Clone)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    routes: Arc<Vec<Route>>,
}

pub struct MockProvider {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MockProvider {
    /// Answers requests by the first route whose suffix ends their path; others get a 404.
    pub async fn start(routes: Vec<Route>) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            seen: Arc::clone(&seen),
            routes: Arc::new(routes),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            axum::serve(listener, Router::new().fallback(answer).with_state(shared)).await
        });
        Self {
            base_url: format!("http://{address}"),
            seen,
        }
    }

    /// The requests whose path ends with `suffix`, oldest first.
    pub fn seen(&self, suffix: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|request| request.path.ends_with(suffix))
            .collect()
    }
}

async fn answer(State(shared): State<Shared>, uri: Uri, body: Bytes) -> impl IntoResponse {
    let form = url::form_urlencoded::parse(&body).into_owned().collect();
    if let Ok(mut seen) = shared.seen.lock() {
        seen.push(Seen {
            path: uri.path().to_owned(),
            form,
        });
    }
    let (status, body) = shared
        .routes
        .iter()
        .find(|(suffix, _, _)| uri.path().ends_with(suffix))
        .map(|(_, status, body)| (*status, *body))
        .unwrap_or((404, r#"{"error": "no such path"}"#));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body,
    )
}

/// Twilio settings pointing at `mock`.
pub fn twilio_settings(mock: &MockProvider) -> Vec<(&'static str, String)> {
    vec![
        ("TWILIO_BASE_URL", mock.base_url.clone()),
        ("TWILIO_ACCOUNT_SID", "ACtest".to_owned()),
        ("TWILIO_AUTH_TOKEN", "test-token".to_owned()),
        ("TWILIO_FROM", "+14155550000".to_owned()),
    ]
}

pub const TWILIO_SENT: &str = r#"{"sid": "SM123", "status": "queued"}"#;
pub const TWILIO_CALLED: &str = r#"{"sid": "CA123", "status": "queued"}"#;
pub const TWILIO_NOT_A_NUMBER: &str =
    r#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#;
pub const TWILIO_LANDLINE: &str =
    r#"{"code": 21614, "message": "'To' number is not a valid mobile number", "status": 400}"#;
