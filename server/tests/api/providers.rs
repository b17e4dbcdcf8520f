//! Delivery through real provider adapters, with each provider's HTTP API played by a mock on
//! 127.0.0.1 that records what it was sent: codes that unlock, failover from a failing provider
//! to the next, permanent failures the person is told about, calls, the SMS-to-voice fallback, and
//! test numbers that never reach a provider.

use crate::helpers::*;
use crate::mock_provider::*;
use reqwest::StatusCode;
use serde_json::Value;

const PHONE: &str = "+14155552671";
const EMAIL: &str = "ada@example.com";

/// A signup that asks for codes by phone call.
const SIGNUP_BY_CALL: [(&str, &str); 7] = [
    ("email", EMAIL),
    ("password", PASSWORD),
    ("password_confirm", PASSWORD),
    ("phone", PHONE),
    ("first_name", "Ada"),
    ("last_name", "Lovelace"),
    ("delivery", "voice"),
];

/// A server with `settings` (owned values) on top of the test defaults.
async fn app_with(settings: &[(&'static str, String)]) -> TestApp {
    let borrowed: Vec<(&str, &str)> = settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    spawn_app_with(&borrowed).await
}

async fn app_through_twilio(mock: &MockProvider, extra: &[(&'static str, &str)]) -> TestApp {
    let mut settings = twilio_settings(mock);
    settings.push(("SMS_PROVIDERS", "twilio".to_owned()));
    settings.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    app_with(&settings).await
}

/// (status, channel, stage, attempts, provider, provider message id, last error), oldest first.
type Row = (
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

async fn message_rows(app: &TestApp, purpose: &str) -> Vec<Row> {
    sqlx::query_as(
        "SELECT status, channel, stage, attempts, provider, provider_message_id, last_error \
         FROM sms_messages WHERE purpose = $1 ORDER BY id",
    )
    .bind(purpose)
    .fetch_all(app.store.pool())
    .await
    .expect("the messages")
}

/// Sends, waits out each retry by moving the clock, and stops when nothing is left to send.
async fn deliver_through_retries(app: &TestApp) {
    for _ in 0..40 {
        // Let the server's own worker finish any message it holds before time moves.
        app.send_due().await;
        if app
            .count("SELECT COUNT(*) FROM sms_messages WHERE status = 'queued'")
            .await
            == 0
        {
            return;
        }
        app.clock.advance(time::Duration::minutes(6));
    }
    panic!("messages were still queued after 40 rounds of retries");
}

async fn delivery_status(app: &TestApp, email: &str, flow: &str) -> Value {
    let response = app
        .client
        .get(app.url("/api/code-delivery"))
        .query(&[("email", email), ("flow", flow)])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

/// The digits a call reads out (the first reading).
fn spoken_code(text: &str) -> String {
    let first = text.split("Again").next().unwrap_or_default();
    first
        .split(" is: ")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

#[tokio::test]
async fn a_lockout_code_reaches_the_provider_and_unlocks_the_account() {
    let mock = MockProvider::start(vec![("/Messages.json", 201, TWILIO_SENT)]).await;
    let app = app_through_twilio(&mock, &[]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;

    let sent = mock.seen("/Messages.json");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/2010-04-01/Accounts/ACtest/Messages.json");
    assert_eq!(sent[0].field("To"), PHONE);
    assert_eq!(sent[0].field("From"), "+14155550000");
    let code = code_in(sent[0].field("Body"));
    assert_eq!(code.len(), 6);

    let rows = message_rows(&app, "unlock").await;
    assert_eq!(rows.len(), 1);
    let (status, channel, _, attempts, provider, provider_id, _) = &rows[0];
    assert_eq!(
        (status.as_str(), channel.as_str(), *attempts),
        ("sent", "sms", 1)
    );
    assert_eq!(
        (provider.as_deref(), provider_id.as_deref()),
        (Some("twilio"), Some("SM123"))
    );
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
    // The development outbox is not served with a real provider and no test numbers.
    let outbox = app
        .client
        .get(app.url("/dev/outbox"))
        .send()
        .await
        .expect("answered");
    assert_eq!(outbox.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_outage_is_retried_with_backoff_then_the_next_provider_delivers() {
    let twilio = MockProvider::start(vec![(
        "/Messages.json",
        500,
        r#"{"code": 20500, "message": "Internal Server Error"}"#,
    )])
    .await;
    let vonage = MockProvider::start(vec![(
        "/sms/json",
        200,
        r#"{"message-count": "1", "messages": [{"to": "14155552671", "message-id": "0C000000F00ABD35", "status": "0"}]}"#,
    )])
    .await;
    let mut settings = twilio_settings(&twilio);
    settings.extend([
        ("SMS_PROVIDERS", "twilio,vonage".to_owned()),
        ("VONAGE_BASE_URL", vonage.base_url.clone()),
        ("VONAGE_API_KEY", "key".to_owned()),
        ("VONAGE_API_SECRET", "secret".to_owned()),
        ("VONAGE_FROM", "Latchkey".to_owned()),
    ]);
    let app = app_with(&settings).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;

    // The first attempt fails and waits about 2 s before the next one.
    app.worker.drain().await.expect("drains");
    for _ in 0..300 {
        if twilio.seen("/Messages.json").len() == 1
            && message_rows(&app, "unlock").await[0].0 == "queued"
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let due: i64 = app
        .count("SELECT next_attempt_at - updated_at FROM sms_messages WHERE purpose = 'unlock'")
        .await;
    assert!(
        (1_500..=2_500).contains(&due),
        "first retry after about 2 s, not {due} ms"
    );

    deliver_through_retries(&app).await;
    assert_eq!(
        twilio.seen("/Messages.json").len(),
        5,
        "five attempts at the first provider"
    );
    let sent = vonage.seen("/sms/json");
    assert_eq!(sent.len(), 1, "then one at the second");
    let rows = message_rows(&app, "unlock").await;
    let (status, _, stage, attempts, provider, provider_id, _) = &rows[0];
    assert_eq!((status.as_str(), *stage, *attempts), ("sent", 1, 1));
    assert_eq!(provider.as_deref(), Some("vonage"));
    assert_eq!(provider_id.as_deref(), Some("0C000000F00ABD35"));
    let code = code_in(sent[0].field("text"));
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_number_that_cannot_receive_is_a_permanent_failure_the_person_is_told_about() {
    let mock = MockProvider::start(vec![
        ("/Messages.json", 400, TWILIO_NOT_A_NUMBER),
        ("/Calls.json", 201, TWILIO_CALLED),
    ])
    .await;
    let app = app_through_twilio(&mock, &[("SEND_COOLDOWN", "0")]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;

    let rows = message_rows(&app, "unlock").await;
    let (status, _, _, attempts, _, _, last_error) = &rows[0];
    assert_eq!((status.as_str(), *attempts), ("failed", 1), "not retried");
    assert!(last_error.as_deref().unwrap_or_default().contains("21211"));
    assert_eq!(mock.seen("/Messages.json").len(), 1);

    let status = delivery_status(&app, EMAIL, "unlock").await;
    assert_eq!(status["failed"], true);
    assert_eq!(
        status["unreachable"], true,
        "the number can't receive texts"
    );
    assert_eq!(status["by_call"], false);
    assert_eq!(status["voice_available"], true);
    // Nothing is told about other flows, or about addresses without an account.
    assert_eq!(
        delivery_status(&app, EMAIL, "password_reset").await["failed"],
        false
    );
    assert_eq!(
        delivery_status(&app, "nobody@example.com", "unlock").await["failed"],
        false
    );

    // "Call me instead": the code is read out by a call, and it unlocks.
    let response = app
        .post(
            "/api/resend-code",
            &[("email", EMAIL), ("channel", "voice")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        delivery_status(&app, EMAIL, "unlock").await["failed"],
        false,
        "the new code is on its way"
    );
    app.deliver_all().await;
    let calls = mock.seen("/Calls.json");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].field("To"), PHONE);
    let code = spoken_code(calls[0].field("Twiml"));
    assert_eq!(code.len(), 6, "{}", calls[0].field("Twiml"));
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn refused_credentials_at_the_only_provider_fail_the_message_as_undelivered() {
    let mock = MockProvider::start(vec![(
        "/Messages.json",
        401,
        r#"{"code": 20003, "message": "Authentication Error", "status": 401}"#,
    )])
    .await;
    let app = app_through_twilio(&mock, &[]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    assert_eq!(
        delivery_status(&app, EMAIL, "unlock").await["failed"],
        false,
        "nothing sent yet"
    );
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;
    let rows = message_rows(&app, "unlock").await;
    assert_eq!(
        (rows[0].0.as_str(), rows[0].3),
        ("failed", 1),
        "not retried"
    );
    let status = delivery_status(&app, EMAIL, "unlock").await;
    assert_eq!(status["failed"], true);
    assert_eq!(status["unreachable"], false, "the number is not to blame");
}

#[tokio::test]
async fn a_failed_text_falls_back_to_a_call_when_configured() {
    let mock = MockProvider::start(vec![
        ("/Messages.json", 400, TWILIO_LANDLINE),
        ("/Calls.json", 201, TWILIO_CALLED),
    ])
    .await;
    let app = app_through_twilio(&mock, &[("SMS_VOICE_FALLBACK", "true")]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;

    let rows = message_rows(&app, "unlock").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("failed", "sms"));
    assert_eq!((rows[1].0.as_str(), rows[1].1.as_str()), ("sent", "voice"));
    assert_eq!(rows[1].5.as_deref(), Some("CA123"));
    let calls = mock.seen("/Calls.json");
    assert_eq!(calls.len(), 1);
    let twiml = calls[0].field("Twiml");
    assert!(
        twiml.starts_with("<Response><Say>This is Latchkey."),
        "{twiml}"
    );
    let code = spoken_code(twiml);
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
    // Spoken texts are not kept once sent.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE body IS NOT NULL OR fallback_body IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn test_numbers_are_captured_in_the_outbox_and_never_reach_the_provider() {
    let mock = MockProvider::start(vec![("/Messages.json", 201, TWILIO_SENT)]).await;
    let app = app_through_twilio(&mock, &[("SMS_TEST_NUMBERS", PHONE)]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.seed_account("grace@example.com", "+14155552672", "sms")
        .await;
    app.fail_logins(EMAIL, 3).await;
    app.fail_logins("grace@example.com", 3).await;

    let code = app.latest_code(PHONE, "unlock").await;
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
    let sent = mock.seen("/Messages.json");
    assert_eq!(sent.len(), 1, "only the real number reached the provider");
    assert_eq!(sent[0].field("To"), "+14155552672");
    let outbox = app.outbox().await;
    assert!(
        outbox.iter().all(|entry| entry["to"] == PHONE),
        "{outbox:?}"
    );
}

#[tokio::test]
async fn codes_go_by_call_for_people_who_chose_voice() {
    let app = spawn_app().await;
    let response = app.post("/api/signup", &SIGNUP_BY_CALL).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Even the signup's phone verification code is read aloud.
    let outbox = app.outbox().await;
    assert_eq!(outbox[0]["purpose"], "phone_verification");
    assert_eq!(outbox[0]["channel"], "voice");
    let code = spoken_code(outbox[0]["body"].as_str().unwrap_or_default());
    let verified = app.post("/api/verify-phone", &[("code", &code)]).await;
    assert_eq!(verified.status(), StatusCode::OK);
    app.wait_out_cooldown().await;
    let me: Value = app
        .client
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["delivery_channel"], "voice");
    assert_eq!(me["voice_available"], true);

    app.fail_logins(EMAIL, 3).await;
    let outbox = app.outbox().await;
    let call = &outbox[0];
    assert_eq!(call["channel"], "voice");
    let code = spoken_code(call["body"].as_str().unwrap_or_default());
    assert_eq!(code.len(), 6, "{call:?}");
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);

    // Asking for a text instead, this once.
    app.wait_out_cooldown().await;
    let response = app
        .post(
            "/api/request-reset",
            &[("email", EMAIL), ("channel", "sms")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let outbox = app.outbox().await;
    assert_eq!(outbox[0]["channel"], "sms");
    assert_eq!(outbox[0]["purpose"], "password_reset");
}

#[tokio::test]
async fn the_delivery_preference_is_changed_on_the_account_and_recorded() {
    let app = spawn_app().await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    let change = |channel: &'static str| {
        let app = &app;
        async move {
            app.post("/api/delivery-preference", &[("channel", channel)])
                .await
        }
    };
    assert_eq!(change("voice").await.status(), StatusCode::OK);
    let me: Value = app
        .client
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["delivery_channel"], "voice");
    assert_eq!(
        me["recent_activity"][0]["description"],
        "Code delivery preference changed"
    );

    let bad = change("carrier-pigeon").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.expect("JSON");
    assert_eq!(body["fields"][0]["field"], "delivery");

    let stranger = new_client();
    let response = app
        .post_with(&stranger, "/api/delivery-preference", &[("channel", "sms")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn voice_cannot_be_chosen_when_no_provider_places_calls() {
    let app = app_with(&[
        ("SMS_PROVIDERS", "vonage".to_owned()),
        ("VONAGE_API_KEY", "key".to_owned()),
        ("VONAGE_API_SECRET", "secret".to_owned()),
        ("VONAGE_FROM", "Latchkey".to_owned()),
    ])
    .await;
    let response = app.post("/api/signup", &SIGNUP_BY_CALL).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["fields"][0]["field"], "delivery");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);

    let response = app
        .post(
            "/api/request-reset",
            &[("email", "anyone@example.com"), ("channel", "voice")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "voice_unavailable");
}

/// Twilio played here, but slow for one number: a message to `hanging` is answered only after a
/// minute, any other at once.
async fn twilio_hanging_for(hanging: &'static str) -> String {
    use axum::{body::Bytes, http::header, Router};
    let app = Router::new().fallback(move |body: Bytes| async move {
        let to_hanging = url::form_urlencoded::parse(&body)
            .any(|(name, value)| name == "To" && value == hanging);
        if to_hanging {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
        (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            TWILIO_SENT,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn a_provider_call_that_hangs_does_not_hold_up_other_codes() {
    const HANGING: &str = "+14155550177";
    let base_url = twilio_hanging_for(HANGING).await;
    let app = app_with(&[
        ("SMS_PROVIDERS", "twilio".to_owned()),
        ("TWILIO_BASE_URL", base_url),
        ("TWILIO_ACCOUNT_SID", "ACtest".to_owned()),
        ("TWILIO_AUTH_TOKEN", "test-token".to_owned()),
        ("TWILIO_FROM", "+14155550000".to_owned()),
    ])
    .await;
    app.start_sign_up_with(&new_client(), "slow@example.com", HANGING)
        .await;
    // The server's worker has taken the first message and waits on the provider.
    let started = std::time::Instant::now();
    while app
        .count("SELECT COUNT(*) FROM sms_messages WHERE status = 'sending'")
        .await
        == 0
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "never sending"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.start_sign_up_with(&new_client(), "quick@example.com", PHONE)
        .await;
    let started = std::time::Instant::now();
    loop {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT to_phone, status FROM sms_messages ORDER BY id")
                .fetch_all(app.store.pool())
                .await
                .expect("the messages");
        if rows
            .iter()
            .any(|(to, status)| to == PHONE && status == "sent")
        {
            assert!(
                rows.iter()
                    .any(|(to, status)| to == HANGING && status == "sending"),
                "{rows:?}"
            );
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the second code waited behind the hanging call: {rows:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A provider that takes every request and never answers.
async fn never_answering_provider() -> String {
    let app = axum::Router::new().fallback(|| async {
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
        StatusCode::OK
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// Vonage, which never answers, for texts; Twilio for calls; `extra` on top.
async fn app_with_hanging_vonage(twilio: &MockProvider, extra: &[(&'static str, &str)]) -> TestApp {
    let mut settings = twilio_settings(twilio);
    settings.extend([
        ("SMS_PROVIDERS", "vonage,twilio".to_owned()),
        ("VONAGE_BASE_URL", never_answering_provider().await),
        ("VONAGE_API_KEY", "key".to_owned()),
        ("VONAGE_API_SECRET", "secret".to_owned()),
        ("VONAGE_FROM", "Latchkey".to_owned()),
    ]);
    settings.extend(
        extra
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned())),
    );
    app_with(&settings).await
}

/// How many of the messages on `channel` are in `status`.
async fn count_in(app: &TestApp, channel: &str, status: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM sms_messages WHERE channel = $1 AND status = $2")
        .bind(channel)
        .bind(status)
        .fetch_one(app.store.pool())
        .await
        .expect("a count")
}

/// A number whose messages stay in the outbox (`SMS_TEST_NUMBERS`).
const TEST_NUMBER: &str = "+14155550199";

#[tokio::test]
async fn a_hanging_provider_holds_its_share_of_sends_and_never_another_providers_message() {
    let twilio = MockProvider::start(vec![("/Calls.json", 201, TWILIO_CALLED)]).await;
    let app = app_with_hanging_vonage(
        &twilio,
        &[
            ("SMS_MAX_IN_FLIGHT", "4"),
            ("SMS_MAX_IN_FLIGHT_PER_PROVIDER", "2"),
            ("VONAGE_TIMEOUT", "60s"),
            ("SMS_TEST_NUMBERS", TEST_NUMBER),
        ],
    )
    .await;
    // Five texts for Vonage: more than every send this instance may have in flight.
    for n in 0..5 {
        app.start_sign_up_with(
            &new_client(),
            &format!("text{n}@example.com"),
            &format!("+1415555017{n}"),
        )
        .await;
    }
    eventually(
        std::time::Duration::from_secs(10),
        "two texts sending",
        || async { count_in(&app, "sms", "sending").await == 2 },
    )
    .await;
    // A code by call goes to Twilio while Vonage holds its share.
    let response = app.post("/api/signup", &SIGNUP_BY_CALL).await;
    assert_eq!(response.status(), StatusCode::OK);
    eventually(
        std::time::Duration::from_secs(10),
        "the call past the hanging texts",
        || async { !twilio.seen("/Calls.json").is_empty() },
    )
    .await;
    assert_eq!(twilio.seen("/Calls.json")[0].field("To"), PHONE);
    // Vonage never held more than its share: the other texts wait in the queue.
    assert_eq!(count_in(&app, "sms", "sending").await, 2);
    assert_eq!(count_in(&app, "sms", "queued").await, 3);
    // A test number's text is captured, though Vonage's turn would be next.
    app.start_sign_up_with(&new_client(), "tester@example.com", TEST_NUMBER)
        .await;
    eventually(
        std::time::Duration::from_secs(10),
        "the test number's text captured",
        || async { app.count("SELECT COUNT(*) FROM dev_outbox").await > 0 },
    )
    .await;
    assert_eq!(count_in(&app, "sms", "queued").await, 3);
}

#[tokio::test]
async fn a_provider_silent_past_its_timeout_is_asked_again_later() {
    let twilio = MockProvider::start(vec![("/Calls.json", 201, TWILIO_CALLED)]).await;
    let app = app_with_hanging_vonage(&twilio, &[("VONAGE_TIMEOUT", "1s")]).await;
    app.start_sign_up_with(&new_client(), "late@example.com", PHONE)
        .await;
    let queued_again = "SELECT COUNT(*) FROM sms_messages WHERE status = 'queued' \
                        AND last_error IS NOT NULL";
    eventually(
        std::time::Duration::from_secs(10),
        "the send cut short",
        || async { app.count(queued_again).await == 1 },
    )
    .await;
    let (error, ambiguous_since): (Option<String>, Option<i64>) =
        sqlx::query_as("SELECT last_error, ambiguous_since FROM sms_messages")
            .fetch_one(app.store.pool())
            .await
            .expect("the message");
    assert_eq!(
        error.as_deref(),
        Some("no answer: vonage: timed out after 1 s")
    );
    assert!(
        ambiguous_since.is_some(),
        "Vonage may have taken it: not known to be unsent"
    );
}
