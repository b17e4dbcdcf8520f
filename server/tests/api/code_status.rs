//! `GET /api/code-delivery`: where the latest code is, and when a new one may be asked for. An
//! email's answer is the same whether it has an account or not; a pending sign-in's or a
//! session's tells the whole progress.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

const PHONE: &str = "+14155552671";

async fn status(app: &TestApp, client: &reqwest::Client, query: &[(&str, &str)]) -> Value {
    let response = client
        .get(app.url("/api/code-delivery"))
        .query(query)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

#[tokio::test]
async fn an_email_gets_the_same_answer_with_or_without_an_account() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    app.fail_logins("nobody@example.com", 3).await;
    app.deliver_all().await;
    let real = status(
        &app,
        &app.client,
        &[("email", "ada@example.com"), ("flow", "unlock")],
    )
    .await;
    let unknown = status(
        &app,
        &app.client,
        &[("email", "nobody@example.com"), ("flow", "unlock")],
    )
    .await;
    assert_eq!(real, unknown);
    assert_eq!(real["progress"], "unknown");
    // The unlock code started the 60-second cooldown, for the real account and the decoy alike.
    assert_eq!(real["retry_after_secs"], 60);
    app.clock.advance(time::Duration::seconds(45));
    let later = status(
        &app,
        &app.client,
        &[("email", "ada@example.com"), ("flow", "unlock")],
    )
    .await;
    assert_eq!(later["retry_after_secs"], 15);
    app.clock.advance(time::Duration::seconds(15));
    let now = status(
        &app,
        &app.client,
        &[("email", "ada@example.com"), ("flow", "unlock")],
    )
    .await;
    assert_eq!(now["retry_after_secs"], 0);
}

#[tokio::test]
async fn a_pending_signup_sees_its_code_go_out_and_the_wait_for_the_next() {
    let app = spawn_app().await;
    let browser = new_client();
    app.start_sign_up_with(&browser, "ada@example.com", PHONE)
        .await;
    let queued = status(&app, &browser, &[("flow", "phone_verification")]).await;
    assert!(
        queued["progress"] == "sending" || queued["progress"] == "sent",
        "{queued}"
    );
    assert_eq!(queued["retry_after_secs"], 60);
    app.deliver_all().await;
    let sent = status(&app, &browser, &[("flow", "phone_verification")]).await;
    assert_eq!(sent["progress"], "sent");
    assert_eq!(sent["failed"], false);

    // Another browser has no pending signup: it learns nothing.
    let stranger = new_client()
        .get(app.url("/api/code-delivery"))
        .query(&[("flow", "sign_in")])
        .send()
        .await
        .expect("answered");
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(stranger).await, "no_pending_sign_in");
    let stranger = new_client()
        .get(app.url("/api/code-delivery"))
        .query(&[("flow", "phone_verification")])
        .send()
        .await
        .expect("answered");
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_hourly_cap_that_holds_longer_than_the_cooldown_is_the_wait() {
    let app = spawn_app_with(&[("SEND_MAX_PER_HOUR", "1"), ("SEND_COOLDOWN", "0")]).await;
    let browser = new_client();
    app.start_sign_up_with(&browser, "ada@example.com", PHONE)
        .await;
    app.clock.advance(time::Duration::minutes(10));
    let capped = status(&app, &browser, &[("flow", "phone_verification")]).await;
    assert_eq!(capped["retry_after_secs"], 50 * 60);
}
