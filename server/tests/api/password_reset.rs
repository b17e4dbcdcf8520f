//! Use case 2: a password reset needs a code sent to the phone on file.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

const PHONE: &str = "+14155552671";
const NEW_PASSWORD: &str = "a completely new passphrase";

async fn reset(app: &TestApp, code: &str) -> reqwest::Response {
    app.post(
        "/api/reset-password",
        &[
            ("email", "ada@example.com"),
            ("code", code),
            ("new_password", NEW_PASSWORD),
            ("new_password_confirm", NEW_PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn a_reset_code_changes_the_password_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let response = app
        .post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["phone_ending"], "2671");
    let code = app.latest_code(PHONE, "password_reset").await;

    assert_eq!(reset(&app, &code).await.status(), StatusCode::OK);

    let old = app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.log_in("ada@example.com", NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::OK);
    assert_eq!(json(new).await["status"], "signed_in");
}

#[tokio::test]
async fn a_reset_revokes_every_session_of_the_account() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    assert_eq!(app.me().await.status(), StatusCode::OK);

    // The reset happens in another browser than the signed-in one (codes are bound to the browser
    // that asked for them).
    let other_browser = new_client();
    app.post_with(
        &other_browser,
        "/api/request-reset",
        &[("email", "ada@example.com")],
    )
    .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    let response = app
        .post_with(
            &other_browser,
            "/api/reset-password",
            &[
                ("email", "ada@example.com"),
                ("code", &code),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn a_reset_clears_a_lock_and_its_unlock_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let unlock_code = app.latest_code(PHONE, "unlock").await;

    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    assert_eq!(reset(&app, &code).await.status(), StatusCode::OK);

    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NULL AND failed_logins = 0")
            .await,
        1
    );
    let stale = app.unlock("ada@example.com", &unlock_code).await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.log_in("ada@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_code_works_once_and_expires_after_an_hour() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    assert_eq!(reset(&app, &code).await.status(), StatusCode::OK);
    let replay = reset(&app, &code).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(replay).await, "invalid_code");

    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    app.clock.advance(Duration::hours(1));
    assert_eq!(reset(&app, &code).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_wrong_reset_code_changes_nothing_and_spends_the_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    assert_eq!(
        reset(&app, &wrong_code(&code)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(reset(&app, &code).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.log_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_for_an_unknown_email_looks_the_same_and_sends_nothing() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let known = app
        .post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let unknown = app
        .post("/api/request-reset", &[("email", "nobody@example.com")])
        .await;
    assert_eq!(known.status(), unknown.status());
    let known = json(known).await;
    let unknown = json(unknown).await;
    assert_eq!(
        known
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        unknown
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
    );
    assert_eq!(app.outbox().await.len(), 1);
}

#[tokio::test]
async fn a_too_short_new_password_is_refused_before_the_code_is_spent() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    let response = app
        .post(
            "/api/reset-password",
            &[
                ("email", "ada@example.com"),
                ("code", &code),
                ("new_password", "short"),
                ("new_password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(response).await["fields"][0]["field"], "password");
    assert_eq!(reset(&app, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_new_password_with_the_name_in_it_is_refused_only_after_the_code_and_keeps_the_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    let with_name = |code: String| {
        let app = &app;
        async move {
            app.post(
                "/api/reset-password",
                &[
                    ("email", "ada@example.com"),
                    ("code", &code),
                    ("new_password", "lovelace forever 1815"),
                    ("new_password_confirm", "lovelace forever 1815"),
                ],
            )
            .await
        }
    };
    // Without the right code the name is not checked: the code is what is wrong.
    let guess = with_name(wrong_code(&code)).await;
    assert_eq!(error_kind(guess).await, "invalid_code");

    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    let refused = with_name(code.clone()).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body = json(refused).await;
    assert_eq!(body["fields"][0]["field"], "password");
    assert_eq!(
        body["fields"][0]["message"],
        "Your password must not contain your name."
    );
    // The code was not spent by the refusal.
    assert_eq!(reset(&app, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_common_new_password_is_refused() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let response = app
        .post(
            "/api/reset-password",
            &[
                ("email", "ada@example.com"),
                ("code", "123456"),
                ("new_password", "password1"),
                ("new_password_confirm", "password1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(response).await["fields"][0]["message"],
        "This password is one of the most common ones. Choose one that is harder to guess."
    );
}
