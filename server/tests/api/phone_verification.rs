//! Phone verification: a signup is active only after the code sent to its phone; an unfinished
//! signup finishes at its next sign-in; a signed-in account can prove its phone again.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

const EMAIL: &str = "ada@example.com";
const PHONE: &str = "+14155552671";

async fn verify(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    app.post_with(client, "/api/verify-phone", &[("code", code)])
        .await
}

#[tokio::test]
async fn a_signup_is_not_signed_in_until_its_phone_code_is_entered() {
    let app = spawn_app().await;
    let ending = app.start_sign_up_with(&app.client, EMAIL, PHONE).await;
    assert_eq!(ending, "2671");
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE phone_verified_at IS NULL")
            .await,
        1
    );

    let code = app.latest_code(PHONE, "phone_verification").await;
    let wrong = verify(&app, &app.client, &wrong_code(&code)).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(wrong).await, "invalid_code");
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);

    // One try per code by default: the spent code is gone, a new one is needed.
    assert_eq!(
        verify(&app, &app.client, &code).await.status(),
        StatusCode::BAD_REQUEST
    );
    app.wait_out_cooldown().await;
    let resent = app.post("/api/send-verification", &[]).await;
    assert_eq!(resent.status(), StatusCode::OK);
    assert_eq!(json(resent).await["phone_ending"], "2671");
    let code = app.latest_code(PHONE, "phone_verification").await;
    let verified = verify(&app, &app.client, &code).await;
    assert_eq!(verified.status(), StatusCode::OK);

    let me = json(app.me().await).await;
    assert_eq!(me["phone_verified"], true);
    assert_eq!(app.count("SELECT COUNT(*) FROM pending_sign_ins").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'phone_verified'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_unfinished_signup_signs_in_only_through_a_new_code() {
    let app = spawn_app().await;
    let abandoned = new_client();
    app.start_sign_up_with(&abandoned, EMAIL, PHONE).await;
    let first_code = app.latest_code(PHONE, "phone_verification").await;
    app.wait_out_cooldown().await;

    // Later, from another browser: the right password leads to verification, not to a session.
    let later = new_client();
    let response = app
        .post_with(
            &later,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json(response).await;
    assert_eq!(body["status"], "verify_phone");
    assert_eq!(body["phone_ending"], "2671");
    assert!(!later
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("answered")
        .status()
        .is_success());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);

    // The first code was replaced by the new one.
    let new_code = app.latest_code(PHONE, "phone_verification").await;
    assert_ne!(new_code, first_code);
    let late = verify(&app, &later, &first_code).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    app.wait_out_cooldown().await;
    app.post_with(&later, "/api/send-verification", &[]).await;
    let code = app.latest_code(PHONE, "phone_verification").await;
    assert_eq!(verify(&app, &later, &code).await.status(), StatusCode::OK);
    assert_eq!(
        app.client
            .get(app.url("/api/me"))
            .send()
            .await
            .expect("answered")
            .status(),
        StatusCode::UNAUTHORIZED,
        "the abandoned browser is not signed in"
    );
    let me = later
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("answered");
    assert_eq!(me.status(), StatusCode::OK);

    // The other browser's pending signup ended with the sign-in.
    assert_eq!(
        verify(&app, &abandoned, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_wrong_password_for_an_unfinished_signup_sends_nothing() {
    let app = spawn_app().await;
    app.start_sign_up_with(&new_client(), EMAIL, PHONE).await;
    app.wait_out_cooldown().await;
    let response = app.log_in(EMAIL, "not the password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'phone_verification'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_code_without_a_pending_signup_or_a_session_is_refused() {
    let app = spawn_app().await;
    let response = verify(&app, &app.client, "123456").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(response).await, "no_pending_sign_in");
    let response = app.post("/api/send-verification", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM sms_messages").await, 0);
}

#[tokio::test]
async fn a_pending_signup_expires_with_its_code() {
    let app = spawn_app_with(&[("CODE_TTL_PHONE_VERIFICATION", "10m")]).await;
    app.start_sign_up_with(&app.client, EMAIL, PHONE).await;
    let code = app.latest_code(PHONE, "phone_verification").await;
    app.clock.advance(Duration::minutes(10));
    let response = verify(&app, &app.client, &code).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(response).await, "no_pending_sign_in");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE phone_verified_at IS NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn a_signup_never_finished_is_deleted_and_its_email_can_sign_up_again() {
    let app = spawn_app_with(&[("UNVERIFIED_SIGNUP_RETENTION", "2d")]).await;
    app.start_sign_up_with(&new_client(), EMAIL, "+14155550199")
        .await;
    app.sign_up("grace@example.com", "+14155552672").await;
    app.clock.advance(Duration::days(2) - Duration::minutes(5));
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!(pruned.unverified_signups, 0);
    app.clock.advance(Duration::minutes(5));
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!(pruned.unverified_signups, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    // The email is free again: its owner signs up with their own phone.
    app.sign_up_with(&new_client(), EMAIL, PHONE).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 2);
}

#[tokio::test]
async fn the_signup_code_counts_toward_the_send_limits() {
    let app = spawn_app().await;
    app.start_sign_up_with(&app.client, EMAIL, PHONE).await;
    let response = app.post("/api/request-reset", &[("email", EMAIL)]).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_signed_in_account_proves_its_phone_again() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    let before: i64 = sqlx::query_scalar("SELECT phone_verified_at FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .expect("verified");
    app.clock.advance(Duration::minutes(5));
    let sent = app.post("/api/send-verification", &[]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    let code = app.latest_code(PHONE, "phone_verification").await;
    assert_eq!(
        verify(&app, &app.client, &code).await.status(),
        StatusCode::OK
    );
    let after: i64 = sqlx::query_scalar("SELECT phone_verified_at FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .expect("verified");
    assert!(after > before, "{after} > {before}");
    assert_eq!(app.me().await.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}
