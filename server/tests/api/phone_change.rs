//! Changing the phone number: the current password, a code sent to the new number, a notice to
//! the old one, and an audit record.

use crate::helpers::*;
use reqwest::StatusCode;

const EMAIL: &str = "ada@example.com";
const OLD: &str = "+14155552671";
const NEW: &str = "+14155559876";

async fn start(app: &TestApp, password: &str, phone: &str) -> reqwest::Response {
    app.post(
        "/api/change-phone",
        &[("current_password", password), ("phone", phone)],
    )
    .await
}

#[tokio::test]
async fn a_new_number_takes_the_password_and_its_own_code_and_the_old_number_is_told() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, OLD).await;

    let wrong = start(&app, "not my password", NEW).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let body = json(wrong).await;
    assert_eq!(body["fields"][0]["field"], "password");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'phone_change'")
            .await,
        0
    );

    let started = start(&app, PASSWORD, "(415) 555-9876").await;
    assert_eq!(started.status(), StatusCode::OK);
    assert_eq!(json(started).await["phone_ending"], "9876");
    // The code went to the new number only.
    let code = app.latest_code(NEW, "phone_change").await;
    assert!(app
        .outbox()
        .await
        .iter()
        .all(|m| m["purpose"] != "phone_change" || m["to"] == NEW));
    // Nothing changes before the code.
    assert!(json(app.me().await).await["masked_phone"]
        .as_str()
        .unwrap_or_default()
        .ends_with("2671"));

    let refused = app
        .post("/api/confirm-phone-change", &[("code", &wrong_code(&code))])
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    app.wait_out_cooldown().await;
    start(&app, PASSWORD, NEW).await;
    let code = app.latest_code(NEW, "phone_change").await;
    let confirmed = app
        .post("/api/confirm-phone-change", &[("code", &code)])
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);

    let me = json(app.me().await).await;
    assert!(me["masked_phone"]
        .as_str()
        .unwrap_or_default()
        .ends_with("9876"));
    assert_eq!(me["phone_verified"], true);
    let notice = app
        .outbox()
        .await
        .into_iter()
        .find(|m| m["purpose"] == "phone_changed")
        .expect("a notice");
    assert_eq!(notice["to"], OLD);
    assert!(notice["body"]
        .as_str()
        .unwrap_or_default()
        .contains("ending in 9876"));
    let detail: String =
        sqlx::query_scalar("SELECT detail FROM audit_events WHERE kind = 'phone_changed'")
            .fetch_one(app.store.pool())
            .await
            .expect("audited");
    assert!(
        detail.contains("2671") && detail.contains("9876"),
        "{detail}"
    );

    // Codes now go to the new number.
    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", EMAIL)]).await;
    app.latest_code(NEW, "password_reset").await;
}

#[tokio::test]
async fn bad_numbers_and_the_same_number_are_refused_and_nothing_is_sent() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, OLD).await;
    for phone in ["", "not a phone", OLD, "+1415555267"] {
        let response = start(&app, PASSWORD, phone).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{phone:?}");
        assert_eq!(json(response).await["fields"][0]["field"], "phone");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'phone_change'")
            .await,
        0
    );
    let confirm = app
        .post("/api/confirm-phone-change", &[("code", "123456")])
        .await;
    assert_eq!(confirm.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_current_passwords_count_toward_the_lock() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, OLD).await;
    for attempt in 1..=3 {
        let response = start(&app, "not my password", NEW).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "attempt {attempt}"
        );
        let message = json(response).await["fields"][0]["message"].clone();
        if attempt < 3 {
            assert_eq!(message, "That is not your current password.");
        } else {
            assert!(
                message.as_str().unwrap_or_default().contains("locked"),
                "{message}"
            );
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        1
    );
    // The unlock code went to the phone on file, as after wrong sign-ins.
    let code = app.latest_code(OLD, "unlock").await;
    // While locked, even the right password changes nothing.
    let refused = start(&app, PASSWORD, NEW).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'phone_change'")
            .await,
        0
    );
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
    app.wait_out_cooldown().await;
    assert_eq!(start(&app, PASSWORD, NEW).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signed_out_nothing_can_be_changed() {
    let app = spawn_app().await;
    let response = start(&app, PASSWORD, NEW).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .post("/api/confirm-phone-change", &[("code", "123456")])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
