//! Delivery through a real provider adapter, with the provider's HTTP API played by a mock on
//! 127.0.0.1 that records what it was sent.

use crate::helpers::*;
use axum::{
    body::Bytes, extract::State, http::StatusCode as AxumStatus, response::IntoResponse, Router,
};
use reqwest::StatusCode;
use std::sync::{Arc, Mutex};

const PHONE: &str = "+14155552671";

/// Every form the mock received, as (name, value) pairs.
type Forms = Arc<Mutex<Vec<Vec<(String, String)>>>>;

#[derive(Clone)]
struct Mock {
    forms: Forms,
    status: u16,
    body: &'static str,
}

async fn answer(State(mock): State<Mock>, body: Bytes) -> impl IntoResponse {
    let form = url::form_urlencoded::parse(&body).into_owned().collect();
    if let Ok(mut forms) = mock.forms.lock() {
        forms.push(form);
    }
    (
        AxumStatus::from_u16(mock.status).unwrap_or(AxumStatus::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        mock.body,
    )
}

/// A Twilio stand-in answering every request with `status` and `body`.
async fn mock_twilio(
    status: u16,
    body: &'static str,
) -> (String, Arc<Mutex<Vec<Vec<(String, String)>>>>) {
    let forms = Arc::new(Mutex::new(Vec::new()));
    let mock = Mock {
        forms: Arc::clone(&forms),
        status,
        body,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(answer).with_state(mock)).await
    });
    (format!("http://{address}"), forms)
}

async fn app_through(base_url: &str) -> TestApp {
    spawn_app_with(&[
        ("SMS_PROVIDER", "twilio"),
        ("TWILIO_BASE_URL", base_url),
        ("TWILIO_ACCOUNT_SID", "ACtest"),
        ("TWILIO_AUTH_TOKEN", "test-token"),
        ("TWILIO_FROM", "+14155550000"),
    ])
    .await
}

async fn message_row(app: &TestApp) -> (String, i64, Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT status, attempts, provider_message_id, last_error FROM sms_messages \
         WHERE purpose = 'unlock'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("one unlock message")
}

#[tokio::test]
async fn a_lockout_code_reaches_the_provider_and_unlocks_the_account() {
    let (base_url, forms) = mock_twilio(201, r#"{"sid": "SM123", "status": "queued"}"#).await;
    let app = app_through(&base_url).await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("ada@example.com", 3).await;
    app.deliver_all().await;

    let sent = forms.lock().map(|forms| forms.clone()).unwrap_or_default();
    assert_eq!(sent.len(), 1);
    let field = |name: &str| {
        sent[0]
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("To"), PHONE);
    assert_eq!(field("From"), "+14155550000");
    let code = code_in(&field("Body"));
    assert_eq!(code.len(), 6);

    let (status, attempts, provider_id, _) = message_row(&app).await;
    assert_eq!(
        (status.as_str(), attempts, provider_id.as_deref()),
        ("sent", 1, Some("SM123"))
    );
    assert_eq!(
        app.unlock("ada@example.com", &code).await.status(),
        StatusCode::OK
    );
    // The development outbox is not served with a real provider.
    let outbox = app
        .client
        .get(app.url("/dev/outbox"))
        .send()
        .await
        .expect("answered");
    assert_eq!(outbox.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invalid_number_fails_the_message_for_good() {
    let (base_url, _) = mock_twilio(
        400,
        r#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#,
    )
    .await;
    let app = app_through(&base_url).await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("ada@example.com", 3).await;
    app.deliver_all().await;
    let (status, attempts, _, last_error) = message_row(&app).await;
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    assert!(last_error.unwrap_or_default().contains("21211"));
}

#[tokio::test]
async fn a_provider_outage_is_retried_later_with_backoff() {
    let (base_url, forms) =
        mock_twilio(503, r#"{"code": 20500, "message": "Service Unavailable"}"#).await;
    let app = app_through(&base_url).await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("ada@example.com", 3).await;
    app.worker.drain().await.expect("drains");
    // Wait (bounded) until the first attempt is recorded, by either worker.
    for _ in 0..200 {
        if message_row(&app).await.0 == "queued" && message_row(&app).await.1 == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, attempts, _, last_error) = message_row(&app).await;
    assert_eq!((status.as_str(), attempts), ("queued", 1));
    assert!(last_error.unwrap_or_default().contains("503"));
    let due: i64 = sqlx::query_scalar(
        "SELECT next_attempt_at - updated_at FROM sms_messages WHERE purpose = 'unlock'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("a retry time");
    assert!(
        (1_500..=2_500).contains(&due),
        "first retry after about 2 s, not {due} ms"
    );
    assert_eq!(forms.lock().map(|forms| forms.len()).unwrap_or_default(), 1);
}
