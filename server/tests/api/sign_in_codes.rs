//! A code at every sign-in: the account's own setting and the deployment default; the password
//! alone never opens a session.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

const EMAIL: &str = "ada@example.com";
const PHONE: &str = "+14155552671";

async fn set_sign_in_code(app: &TestApp, enabled: bool) -> reqwest::Response {
    let form: &[(&str, &str)] = if enabled { &[("enabled", "on")] } else { &[] };
    app.post("/api/sign-in-code-setting", form).await
}

async fn signed_in(app: &TestApp, client: &reqwest::Client) -> bool {
    client
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("answered")
        .status()
        == StatusCode::OK
}

#[tokio::test]
async fn with_the_setting_on_the_password_alone_opens_no_session() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    assert_eq!(json(app.me().await).await["sign_in_code"], false);
    assert_eq!(set_sign_in_code(&app, true).await.status(), StatusCode::OK);
    assert_eq!(json(app.me().await).await["sign_in_code"], true);

    let browser = new_client();
    let response = app
        .post_with(
            &browser,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["status"], "code_required");
    assert_eq!(body["phone_ending"], "2671");
    assert!(!signed_in(&app, &browser).await);

    // A wrong code spends it (one try by default); the right one is then refused too.
    let code = app.latest_code(PHONE, "sign_in").await;
    let wrong = app
        .post_with(
            &browser,
            "/api/sign-in-code",
            &[("code", &wrong_code(&code))],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(wrong).await, "invalid_code");
    let spent = app
        .post_with(&browser, "/api/sign-in-code", &[("code", &code)])
        .await;
    assert_eq!(spent.status(), StatusCode::BAD_REQUEST);
    assert!(!signed_in(&app, &browser).await);

    // Resend, as for unlock: a new code, under the cooldown.
    let early = app
        .post_with(&browser, "/api/resend-sign-in-code", &[])
        .await;
    assert_eq!(early.status(), StatusCode::TOO_MANY_REQUESTS);
    app.wait_out_cooldown().await;
    let resent = app
        .post_with(&browser, "/api/resend-sign-in-code", &[])
        .await;
    assert_eq!(resent.status(), StatusCode::OK);
    let fresh = app.latest_code(PHONE, "sign_in").await;
    let done = app
        .post_with(&browser, "/api/sign-in-code", &[("code", &fresh)])
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(signed_in(&app, &browser).await);
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ins").await, 0);

    // Used once only.
    let again = app
        .post_with(&new_client(), "/api/sign-in-code", &[("code", &fresh)])
        .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_without_a_right_password_in_this_browser_is_refused() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    set_sign_in_code(&app, true).await;
    let with_password = new_client();
    app.post_with(
        &with_password,
        "/api/login",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;
    let code = app.latest_code(PHONE, "sign_in").await;
    // Another browser with the code but without the password step.
    let thief = new_client();
    let response = app
        .post_with(&thief, "/api/sign-in-code", &[("code", &code)])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(response).await, "no_pending_sign_in");
    assert!(!signed_in(&app, &thief).await);
    // And a wrong password leads to no code at all.
    app.wait_out_cooldown().await;
    let before = app.count("SELECT COUNT(*) FROM sms_messages").await;
    let response = app
        .post_with(
            &thief,
            "/api/login",
            &[("email", EMAIL), ("password", "nope nope nope")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM sms_messages").await, before);
}

#[tokio::test]
async fn the_pending_sign_in_expires_with_the_code() {
    let app = spawn_app_with(&[("CODE_TTL_SIGN_IN", "5m")]).await;
    app.sign_up(EMAIL, PHONE).await;
    set_sign_in_code(&app, true).await;
    let browser = new_client();
    app.post_with(
        &browser,
        "/api/login",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;
    let code = app.latest_code(PHONE, "sign_in").await;
    assert!(app.outbox().await[0]["body"]
        .as_str()
        .unwrap_or_default()
        .contains("valid 5 minutes"));
    app.clock.advance(Duration::minutes(5));
    let response = app
        .post_with(&browser, "/api/sign-in-code", &[("code", &code)])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn required_by_the_deployment_it_cannot_be_turned_off() {
    let app = spawn_app_with(&[("SIGN_IN_CODE", "required")]).await;
    app.sign_up(EMAIL, PHONE).await;
    let me = json(app.me().await).await;
    assert_eq!(me["sign_in_code"], true);
    assert_eq!(me["sign_in_code_required"], true);
    let refused = set_sign_in_code(&app, false).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let response = app
        .post_with(
            &new_client(),
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(json(response).await["status"], "code_required");
}

#[tokio::test]
async fn on_by_default_an_account_may_turn_it_off() {
    let app = spawn_app_with(&[("SIGN_IN_CODE", "on")]).await;
    app.sign_up(EMAIL, PHONE).await;
    let login = |client: reqwest::Client| {
        let app = &app;
        async move {
            json(
                app.post_with(
                    &client,
                    "/api/login",
                    &[("email", EMAIL), ("password", PASSWORD)],
                )
                .await,
            )
            .await["status"]
                .clone()
        }
    };
    assert_eq!(login(new_client()).await, "code_required");
    assert_eq!(set_sign_in_code(&app, false).await.status(), StatusCode::OK);
    assert_eq!(login(new_client()).await, "signed_in");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'sign_in_code_changed'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_code_follows_the_delivery_preference() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    set_sign_in_code(&app, true).await;
    let saved = app
        .post("/api/delivery-preference", &[("channel", "voice")])
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    app.post_with(
        &new_client(),
        "/api/login",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;
    let outbox = app.outbox().await;
    assert_eq!(outbox[0]["purpose"], "sign_in");
    assert_eq!(outbox[0]["channel"], "voice");
}
