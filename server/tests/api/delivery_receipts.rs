//! Delivery receipts by webhook (`POST /webhooks/{provider}/status`): a failure a provider reports
//! after accepting the message reaches the code's status and the admin delivery log, and a
//! delivery is shown too; forged, malformed and unknown callbacks are refused with a 4xx and
//! change nothing.

use crate::helpers::*;
use crate::mock_provider::*;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use server::sms::providers::twilio::twilio_signature;

const PHONE: &str = "+14155552671";
const EMAIL: &str = "ada@example.com";

async fn app_with(settings: Vec<(&'static str, String)>) -> TestApp {
    let borrowed: Vec<(&str, &str)> = settings
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    spawn_app_with(&borrowed).await
}

/// A server sending through a Twilio that accepts every text (`SM123`) and call (`CA123`).
async fn through_twilio() -> (TestApp, MockProvider) {
    let twilio = MockProvider::start(vec![
        ("/Messages.json", 201, TWILIO_SENT),
        ("/Calls.json", 201, TWILIO_CALLED),
    ])
    .await;
    let mut settings = twilio_settings(&twilio);
    settings.push(("SMS_PROVIDERS", "twilio".to_owned()));
    (app_with(settings).await, twilio)
}

/// Posts Twilio's status callback form, signed with `auth_token` for the address it goes to.
async fn twilio_callback(
    app: &TestApp,
    auth_token: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let url = app.url("/webhooks/twilio/status");
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    new_client()
        .post(&url)
        .header(
            "X-Twilio-Signature",
            twilio_signature(auth_token, &url, &params),
        )
        .form(&params)
        .send()
        .await
        .expect("answered")
}

fn message_status(
    sid: &'static str,
    status: &'static str,
    error: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![
        ("AccountSid", "ACtest"),
        ("From", "+14155550000"),
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("To", PHONE),
        ("ErrorCode", error),
    ]
}

/// A signup whose verification text the provider has taken; the browser that signed up.
async fn signed_up_and_sent(app: &TestApp) -> reqwest::Client {
    let client = new_client();
    app.start_sign_up_with(&client, EMAIL, PHONE).await;
    app.deliver_all().await;
    client
}

/// The code page now says the number cannot receive texts, and the message records `reason`.
async fn assert_reported_unreachable(app: &TestApp, client: &reqwest::Client, reason: &str) {
    let after = code_delivery(app, client).await;
    assert_eq!(after["progress"], "failed");
    assert_eq!(after["failed"], true);
    assert_eq!(after["unreachable"], true);
    assert_eq!(the_message(app).await.2.as_deref(), Some(reason));
}

async fn code_delivery(app: &TestApp, client: &reqwest::Client) -> Value {
    let response = client
        .get(app.url("/api/code-delivery"))
        .query(&[("flow", "phone_verification")])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

/// (status, failure, last error, delivered) of the only message.
async fn the_message(app: &TestApp) -> (String, Option<String>, Option<String>, bool) {
    let (status, failure, last_error, delivered_at): (
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
    ) = sqlx::query_as("SELECT status, failure, last_error, delivered_at FROM sms_messages")
        .fetch_one(app.store.pool())
        .await
        .expect("one message");
    (status, failure, last_error, delivered_at.is_some())
}

async fn admin_log_status(app: &TestApp) -> String {
    let account_id: i64 = sqlx::query_scalar("SELECT id FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .expect("the account");
    app.store
        .recent_messages_of(account_id, 10)
        .await
        .expect("the log")[0]
        .status
        .clone()
}

#[tokio::test]
async fn a_landline_reported_after_sending_turns_the_code_page_into_call_me_instead() {
    let (app, twilio) = through_twilio().await;
    let client = signed_up_and_sent(&app).await;
    // The message told Twilio where to report.
    assert_eq!(
        twilio.seen("/Messages.json")[0].field("StatusCallback"),
        app.url("/webhooks/twilio/status")
    );
    let before = code_delivery(&app, &client).await;
    assert_eq!(before["progress"], "sent");
    assert_eq!(before["failed"], false);
    let page_before = app.page_html(&client, "/verify-phone").await;
    assert!(!page_before.contains("<noscript>"), "nothing to report yet");

    // Twilio: "30006 Landline or unreachable carrier", by status callback.
    let response = twilio_callback(
        &app,
        "test-token",
        &message_status("SM123", "undelivered", "30006"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let after = code_delivery(&app, &client).await;
    assert_eq!(after["progress"], "failed");
    assert_eq!(after["failed"], true);
    assert_eq!(after["unreachable"], true);
    assert_eq!(after["by_call"], false);
    assert_eq!(after["voice_available"], true);
    assert_eq!(
        the_message(&app).await,
        (
            "failed".to_owned(),
            Some("unreachable".to_owned()),
            Some("twilio undelivered 30006".to_owned()),
            false
        )
    );
    assert_eq!(admin_log_status(&app).await, "failed");
    // Without JavaScript the page says so too, on its next load.
    let page = app.page_html(&client, "/verify-phone").await;
    let notice = page
        .split("<noscript>")
        .nth(1)
        .and_then(|rest| rest.split("</noscript>").next())
        .unwrap_or_default();
    assert!(
        notice.contains("receive text messages. Try a phone call instead"),
        "{notice}"
    );
    // It says "open “Didn't get a code?” below": the control comes after it.
    let (Some(notice_at), Some(resend_at)) =
        (page.find("<noscript>"), page.find("class=\"resend\""))
    else {
        panic!("the page has the notice and the resend control: {page}");
    };
    assert!(
        notice_at < resend_at,
        "the notice comes before the control it points to"
    );

    // Twilio retries a callback it thinks was lost: the same answer, nothing more changes.
    let again = twilio_callback(
        &app,
        "test-token",
        &message_status("SM123", "undelivered", "30006"),
    )
    .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(the_message(&app).await.0, "failed");
}

#[tokio::test]
async fn a_delivery_is_shown_and_a_later_contrary_report_changes_nothing() {
    let (app, _twilio) = through_twilio().await;
    let client = signed_up_and_sent(&app).await;
    // Interim statuses change nothing.
    let sent = twilio_callback(
        &app,
        "test-token",
        &[("MessageSid", "SM123"), ("MessageStatus", "sent")],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    assert_eq!(code_delivery(&app, &client).await["progress"], "sent");

    let delivered = twilio_callback(
        &app,
        "test-token",
        &[("MessageSid", "SM123"), ("MessageStatus", "delivered")],
    )
    .await;
    assert_eq!(delivered.status(), StatusCode::NO_CONTENT);
    assert_eq!(code_delivery(&app, &client).await["progress"], "delivered");
    assert_eq!(admin_log_status(&app).await, "delivered");

    // Out of order: a failure reported after the delivery does not undo it.
    twilio_callback(
        &app,
        "test-token",
        &message_status("SM123", "failed", "30008"),
    )
    .await;
    let (status, failure, _, delivered) = the_message(&app).await;
    assert_eq!((status.as_str(), failure, delivered), ("sent", None, true));

    // A message this server never sent: accepted (so that Twilio stops retrying), nothing changes.
    let unknown = twilio_callback(
        &app,
        "test-token",
        &message_status("SMffff", "undelivered", "30006"),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE status = 'failed'")
            .await,
        0
    );
}

#[tokio::test]
async fn forged_malformed_and_misdirected_callbacks_are_refused_and_change_nothing() {
    let (app, _twilio) = through_twilio().await;
    let client = signed_up_and_sent(&app).await;
    let failure = message_status("SM123", "undelivered", "30006");

    // Signed with another key.
    let forged = twilio_callback(&app, "not-the-token", &failure).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_kind(forged).await, "forbidden");
    // Not signed at all.
    let unsigned = new_client()
        .post(app.url("/webhooks/twilio/status"))
        .form(&failure)
        .send()
        .await
        .expect("answered");
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);
    // Signed, but not a status callback.
    let malformed = twilio_callback(&app, "test-token", &[("Body", "hello")]).await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(malformed).await, "malformed_request");
    // A provider that is not configured here, and one that is not a provider.
    for path in ["/webhooks/bandwidth/status", "/webhooks/nobody/status"] {
        let response = new_client()
            .post(app.url(path))
            .body("[]")
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }

    assert_eq!(
        the_message(&app).await,
        ("sent".to_owned(), None, None, false)
    );
    assert_eq!(code_delivery(&app, &client).await["failed"], false);
}

const BANDWIDTH_ACCEPTED: &str = r#"{"id": "1589228074636lm4k2je7j7jklbn2", "owner": "+19192676804",
    "applicationId": "app", "time": "2024-12-18T16:51:27.704Z", "segmentCount": 1,
    "direction": "out", "to": ["+14155552671"], "from": "+19192676804", "text": ""}"#;

fn basic(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
    )
}

#[tokio::test]
async fn bandwidth_callbacks_with_the_applications_credentials_are_read() {
    let bandwidth = MockProvider::start(vec![("/messages", 202, BANDWIDTH_ACCEPTED)]).await;
    let app = app_with(vec![
        ("SMS_PROVIDERS", "bandwidth".to_owned()),
        ("BANDWIDTH_BASE_URL", bandwidth.base_url.clone()),
        ("BANDWIDTH_ACCOUNT_ID", "9900000".to_owned()),
        ("BANDWIDTH_USERNAME", "api-user".to_owned()),
        ("BANDWIDTH_PASSWORD", "api-secret".to_owned()),
        ("BANDWIDTH_APPLICATION_ID", "app".to_owned()),
        ("BANDWIDTH_FROM", "+19192676804".to_owned()),
        ("BANDWIDTH_CALLBACK_USERNAME", "latchkey".to_owned()),
        ("BANDWIDTH_CALLBACK_PASSWORD", "callback-secret".to_owned()),
    ])
    .await;
    let client = signed_up_and_sent(&app).await;
    assert_eq!(code_delivery(&app, &client).await["progress"], "sent");

    // The shape of Bandwidth's documented `message-failed` callback, for a landline (4720).
    let failed = r#"[{"type": "message-failed", "time": "2024-12-18T16:51:27.704450Z",
        "description": "Carrier Rejected as Invalid Destination Address", "to": "+14155552671",
        "errorCode": 4720, "message": {"id": "1589228074636lm4k2je7j7jklbn2",
        "time": "2024-12-18T16:51:27.704450Z", "to": ["+14155552671"], "from": "+19192676804",
        "text": "", "applicationId": "app", "owner": "+19192676804", "direction": "out",
        "segmentCount": 1}}]"#;
    let post = |authorization: String, body: &'static str| {
        new_client()
            .post(app.url("/webhooks/bandwidth/status"))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let forged = post(basic("latchkey", "guess"), failed)
        .await
        .expect("answered");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let malformed = post(
        basic("latchkey", "callback-secret"),
        r#"{"type": "message-failed"}"#,
    )
    .await
    .expect("answered");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(the_message(&app).await.0, "sent");

    let accepted = post(basic("latchkey", "callback-secret"), failed)
        .await
        .expect("answered");
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    assert_reported_unreachable(
        &app,
        &client,
        "bandwidth message-failed 4720 Carrier Rejected as Invalid Destination Address",
    )
    .await;
}

#[tokio::test]
async fn vonage_receipts_signed_with_the_signature_secret_are_read() {
    use server::sms::providers::vonage::{vonage_signature, SignatureMethod, VonageSignature};
    use server::sms::providers::Credential;
    let vonage = MockProvider::start(vec![(
        "/sms/json",
        200,
        r#"{"message-count": "1", "messages": [{"to": "14155552671", "message-id": "0B00000127FDBC63", "status": "0"}]}"#,
    )])
    .await;
    let app = app_with(vec![
        ("SMS_PROVIDERS", "vonage".to_owned()),
        ("VONAGE_BASE_URL", vonage.base_url.clone()),
        ("VONAGE_API_KEY", "abcd1234".to_owned()),
        ("VONAGE_API_SECRET", "api-secret".to_owned()),
        ("VONAGE_FROM", "Latchkey".to_owned()),
        ("VONAGE_SIGNATURE_SECRET", "signature-secret".to_owned()),
        ("VONAGE_SIGNATURE_METHOD", "sha256".to_owned()),
    ])
    .await;
    let client = signed_up_and_sent(&app).await;
    assert_eq!(
        vonage.seen("/sms/json")[0].field("callback"),
        app.url("/webhooks/vonage/status")
    );

    let receipt = |secret: &str| {
        let mut params: Vec<(String, String)> = [
            ("err-code", "3"),
            ("messageId", "0B00000127FDBC63"),
            ("msisdn", "14155552671"),
            ("status", "failed"),
            ("to", "Latchkey"),
            ("timestamp", "1540469430"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        let signature = VonageSignature {
            method: SignatureMethod::HmacSha256,
            secret: Credential::new(secret),
        };
        let sig = vonage_signature(&signature, &params);
        params.push(("sig".to_owned(), sig));
        params
    };
    let post = |params: Vec<(String, String)>| {
        new_client()
            .post(app.url("/webhooks/vonage/status"))
            .form(&params)
            .send()
    };
    let forged = post(receipt("guess")).await.expect("answered");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(the_message(&app).await.0, "sent");

    let accepted = post(receipt("signature-secret")).await.expect("answered");
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    assert_reported_unreachable(&app, &client, "vonage failed 3").await;
}

#[tokio::test]
async fn ringcentral_is_asked_what_became_of_a_message_and_its_answer_reaches_the_page() {
    const RINGCENTRAL_TOKEN: &str = r#"{"access_token": "token-1", "token_type": "bearer", "expires_in": 3600, "refresh_token": "r", "refresh_token_expires_in": 604799, "scope": "SMS", "owner_id": "256440016"}"#;
    const RINGCENTRAL_SENT: &str = r#"{"uri": "https://platform.ringcentral.com/account/1346632010/extension/1346632010/message-store/315450330010", "id": 315450330010, "to": [{"phoneNumber": "+14155552671"}], "from": {"phoneNumber": "+18559100010"}, "type": "SMS", "messageStatus": "Sent"}"#;
    // The message-store record once the carrier has refused a landline (SMS-CAR-411).
    const RINGCENTRAL_FAILED: &str = r#"{"uri": "https://platform.ringcentral.com/account/1346632010/extension/1346632010/message-store/315450330010", "id": 315450330010, "to": [{"phoneNumber": "+14155552671"}], "from": {"phoneNumber": "+18559100010"}, "type": "SMS", "direction": "Outbound", "messageStatus": "DeliveryFailed", "deliveryErrorCode": "SMS-CAR-411"}"#;
    let ringcentral = MockProvider::start(vec![
        ("/restapi/oauth/token", 200, RINGCENTRAL_TOKEN),
        ("/extension/~/sms", 200, RINGCENTRAL_SENT),
        ("/message-store/315450330010", 200, RINGCENTRAL_FAILED),
    ])
    .await;
    let app = app_with(vec![
        ("SMS_PROVIDERS", "ringcentral".to_owned()),
        ("RINGCENTRAL_SERVER_URL", ringcentral.base_url.clone()),
        ("RINGCENTRAL_CLIENT_ID", "client-id".to_owned()),
        ("RINGCENTRAL_CLIENT_SECRET", "client-secret".to_owned()),
        ("RINGCENTRAL_JWT", "jwt-credential".to_owned()),
        ("RINGCENTRAL_FROM", "+18559100010".to_owned()),
    ])
    .await;
    let client = signed_up_and_sent(&app).await;
    assert_eq!(
        the_message(&app).await,
        ("sent".to_owned(), None, None, false)
    );

    // Just sent: not asked about yet.
    app.delivery_questions.ask_once().await.expect("asked");
    assert!(ringcentral.seen("/message-store/315450330010").is_empty());
    assert_eq!(code_delivery(&app, &client).await["failed"], false);

    app.clock.advance(time::Duration::seconds(11));
    assert_eq!(app.delivery_questions.ask_once().await.expect("asked"), 1);
    assert_reported_unreachable(&app, &client, "ringcentral DeliveryFailed SMS-CAR-411").await;
    // Settled: never asked about again.
    let asked = ringcentral.seen("/message-store/315450330010").len();
    app.clock.advance(time::Duration::seconds(60));
    app.delivery_questions.ask_once().await.expect("asked");
    assert_eq!(ringcentral.seen("/message-store/315450330010").len(), asked);
}

#[tokio::test]
async fn bird_is_asked_what_became_of_a_message_and_its_answer_reaches_the_page() {
    const WORKSPACE: &str = "a1405560-c8d3-4b1a-877d-3f449ad95352";
    const CHANNEL: &str = "614208aa-b153-4d5d-9989-2fddfc0ce4c3";
    // Bird's message object (docs.bird.com/api/channels-api), as accepted and as later found.
    const BIRD_ACCEPTED: &str = r#"{"id": "96a0b5fa-a986-453d-be5c-3117f989f025", "channelId": "614208aa-b153-4d5d-9989-2fddfc0ce4c3", "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": "+14155552671"}]}, "status": "accepted", "reason": "", "direction": "outgoing"}"#;
    const BIRD_FAILED: &str = r#"{"id": "96a0b5fa-a986-453d-be5c-3117f989f025", "channelId": "614208aa-b153-4d5d-9989-2fddfc0ce4c3", "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": "+14155552671"}]}, "status": "delivery_failed", "reason": "carrier rejected", "direction": "outgoing"}"#;
    let bird = MockProvider::start(vec![
        ("/messages", 202, BIRD_ACCEPTED),
        (
            "/messages/96a0b5fa-a986-453d-be5c-3117f989f025",
            200,
            BIRD_FAILED,
        ),
    ])
    .await;
    let app = app_with(vec![
        ("SMS_PROVIDERS", "bird".to_owned()),
        ("BIRD_BASE_URL", bird.base_url.clone()),
        ("BIRD_ACCESS_KEY", "access-key".to_owned()),
        ("BIRD_WORKSPACE_ID", WORKSPACE.to_owned()),
        ("BIRD_CHANNEL_ID", CHANNEL.to_owned()),
    ])
    .await;
    let client = signed_up_and_sent(&app).await;
    let sent = bird.seen("/messages");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].path,
        format!("/workspaces/{WORKSPACE}/channels/{CHANNEL}/messages")
    );
    assert_eq!(
        the_message(&app).await,
        ("sent".to_owned(), None, None, false)
    );

    app.clock.advance(time::Duration::seconds(11));
    assert_eq!(app.delivery_questions.ask_once().await.expect("asked"), 1);
    let after = code_delivery(&app, &client).await;
    assert_eq!(after["progress"], "failed");
    assert_eq!(after["failed"], true);
    assert_eq!(
        the_message(&app).await.2.as_deref(),
        Some("bird delivery_failed carrier rejected")
    );
}

#[tokio::test]
async fn messagebird_is_asked_what_became_of_a_text_and_its_answer_reaches_the_page() {
    // The message object of MessageBird's Go SDK fixture, as created and as later found failed.
    const CREATED: &str = r#"{"id": "6fe65f90454aa61536e6a88b88972670", "href": "https://rest.messagebird.com/messages/6fe65f90454aa61536e6a88b88972670", "direction": "mt", "type": "sms", "originator": "Latchkey", "recipients": {"items": [{"recipient": 14155552671, "status": "sent", "statusDatetime": "2026-11-30T10:02:59+00:00", "messagePartCount": 1}], "totalCount": 1, "totalSentCount": 1, "totalDeliveredCount": 0, "totalDeliveryFailedCount": 0}}"#;
    const FAILED: &str = r#"{"id": "6fe65f90454aa61536e6a88b88972670", "href": "https://rest.messagebird.com/messages/6fe65f90454aa61536e6a88b88972670", "direction": "mt", "type": "sms", "originator": "Latchkey", "recipients": {"items": [{"recipient": 14155552671, "status": "delivery_failed", "statusReason": "unknown subscriber", "statusDatetime": "2026-11-30T10:03:09+00:00", "messagePartCount": 1}], "totalCount": 1, "totalSentCount": 1, "totalDeliveredCount": 0, "totalDeliveryFailedCount": 1}}"#;
    let messagebird = MockProvider::start(vec![
        ("/messages", 201, CREATED),
        ("/messages/6fe65f90454aa61536e6a88b88972670", 200, FAILED),
    ])
    .await;
    let app = app_with(vec![
        ("SMS_PROVIDERS", "messagebird".to_owned()),
        ("MESSAGEBIRD_BASE_URL", messagebird.base_url.clone()),
        ("MESSAGEBIRD_ACCESS_KEY", "live_key".to_owned()),
        ("MESSAGEBIRD_ORIGINATOR", "Latchkey".to_owned()),
    ])
    .await;
    let client = signed_up_and_sent(&app).await;
    assert_eq!(messagebird.seen("/messages").len(), 1);

    app.clock.advance(time::Duration::seconds(11));
    assert_eq!(app.delivery_questions.ask_once().await.expect("asked"), 1);
    let after = code_delivery(&app, &client).await;
    assert_eq!(after["progress"], "failed");
    assert_eq!(after["failed"], true);
    assert_eq!(
        the_message(&app).await.2.as_deref(),
        Some("messagebird delivery_failed unknown subscriber")
    );
}
