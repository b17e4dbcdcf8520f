//! Use case 1: three wrong passwords lock the account; a code sent to the phone unlocks it.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

const PHONE: &str = "+14155552671";

#[tokio::test]
async fn a_wrong_password_counts_but_does_not_lock_before_the_third() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    for response in app.fail_logins("ada@example.com", 2).await {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_kind(response).await, "invalid_credentials");
    }
    assert_eq!(app.count("SELECT failed_logins FROM accounts").await, 2);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn the_third_wrong_password_locks_the_account_and_texts_a_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let mut responses = app.fail_logins("ada@example.com", 3).await;
    let third = responses.pop().expect("three responses");
    assert_eq!(third.status(), StatusCode::OK);
    let body = json(third).await;
    assert_eq!(body["status"], "locked");
    assert_eq!(body["phone_ending"], "2671");

    let code = app.latest_code(PHONE, "unlock").await;
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    // Only the hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT code_hash FROM verification_codes")
        .fetch_one(app.store.pool())
        .await
        .expect("one code");
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&code));
}

#[tokio::test]
async fn while_locked_even_the_right_password_is_not_checked_and_no_new_code_is_sent() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    assert_eq!(app.outbox().await.len(), 1);

    // From any browser the account does not trust (its own trusted ones are in trusted_devices.rs).
    let response = app
        .log_in_from_new_browser("ada@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(response).await["status"], "locked");
    assert_eq!(
        app.outbox().await.len(),
        1,
        "no second message while locked"
    );
}

#[tokio::test]
async fn the_code_unlocks_the_account_once_and_then_the_password_works() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;

    let response = app.unlock("ada@example.com", &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NULL AND failed_logins = 0")
            .await,
        1
    );

    // Single use.
    let again = app.unlock("ada@example.com", &code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(again).await, "invalid_code");

    let login = app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(json(login).await["status"], "signed_in");
}

#[tokio::test]
async fn a_wrong_code_invalidates_the_code_so_a_new_one_must_be_requested() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;

    let wrong = app.unlock("ada@example.com", &wrong_code(&code)).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(wrong).await, "invalid_code");
    let right_too_late = app.unlock("ada@example.com", &code).await;
    assert_eq!(right_too_late.status(), StatusCode::BAD_REQUEST);

    app.wait_out_cooldown().await;
    let resend = app
        .post("/api/resend-code", &[("email", "ada@example.com")])
        .await;
    assert_eq!(resend.status(), StatusCode::OK);
    assert_eq!(json(resend).await["phone_ending"], "2671");
    let fresh = app.latest_code(PHONE, "unlock").await;
    let response = app.unlock("ada@example.com", &fresh).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_code_expires_exactly_at_its_lifetime() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;

    app.clock.advance(Duration::hours(1));
    let response = app.unlock("ada@example.com", &code).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The right code, too late, is told apart from a wrong one.
    assert_eq!(error_kind(response).await, "expired_code");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        1
    );
    // It is gone now: entered again, it is just a wrong code.
    let again = app.unlock("ada@example.com", &code).await;
    assert_eq!(error_kind(again).await, "invalid_code");
}

#[tokio::test]
async fn only_the_holder_of_an_expired_code_learns_that_it_expired() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    app.fail_logins("nobody@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;
    app.clock.advance(Duration::hours(2));
    // A guess at an expired code reads as a guess at an unknown email's.
    let guess = app.unlock("ada@example.com", &wrong_code(&code)).await;
    let unknown = app.unlock("nobody@example.com", &wrong_code(&code)).await;
    assert_eq!(json(guess).await, json(unknown).await);
}

#[tokio::test]
async fn a_code_just_inside_its_lifetime_still_works() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;

    app.clock.advance(Duration::hours(1) - Duration::seconds(1));
    let response = app.unlock("ada@example.com", &code).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_resent_code_replaces_the_previous_one_of_the_same_browser() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    app.wait_out_cooldown().await;
    app.post("/api/resend-code", &[("email", "ada@example.com")])
        .await;
    let first = app.latest_code(PHONE, "unlock").await;
    app.wait_out_cooldown().await;
    app.post("/api/resend-code", &[("email", "ada@example.com")])
        .await;
    let second = app.latest_code(PHONE, "unlock").await;
    if first == second {
        // One chance in a million: the replacement drew the same digits.
        return;
    }
    let old = app.unlock("ada@example.com", &first).await;
    assert_eq!(old.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unlocking_with_the_browsers_own_code_also_ends_the_lockout_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    // The lockout's code works from any browser; the one asked for here, only from this one.
    let lockout_code = app.latest_code(PHONE, "unlock").await;
    app.wait_out_cooldown().await;
    app.post("/api/resend-code", &[("email", "ada@example.com")])
        .await;
    let own_code = app.latest_code(PHONE, "unlock").await;
    if own_code == lockout_code {
        // One chance in a million: the new code drew the same digits.
        return;
    }
    let unlocked = app.unlock("ada@example.com", &own_code).await;
    assert_eq!(unlocked.status(), StatusCode::OK);

    let left_over = app.unlock("ada@example.com", &lockout_code).await;
    assert_eq!(left_over.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(left_over).await, "invalid_code");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM verification_codes WHERE purpose = 'unlock'")
            .await,
        0,
        "no unlock code is left once the account is unlocked"
    );
}

#[tokio::test]
async fn the_lockout_threshold_and_code_length_are_configurable() {
    let app = spawn_app_with(&[("LOCKOUT_THRESHOLD", "5"), ("CODE_LENGTH", "8")]).await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let responses = app.fail_logins("ada@example.com", 5).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 200]);
    assert_eq!(app.latest_code(PHONE, "unlock").await.len(), 8);
}

#[tokio::test]
async fn the_unlock_message_names_the_product_and_its_validity() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let outbox = app.outbox().await;
    let body = outbox[0]["body"].as_str().unwrap_or_default();
    assert!(body.starts_with("Latchkey:"), "{body}");
    assert!(body.contains("valid 1 hour"), "{body}");
    assert!(
        body.ends_with(&format!("@127.0.0.1 #{}", code_in(body))),
        "{body}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM sms_messages")
        .fetch_one(app.store.pool())
        .await
        .expect("one message");
    assert_eq!(status, "sent");
}

#[tokio::test]
async fn an_unlock_code_never_resets_a_password_and_a_reset_code_never_unlocks() {
    // Three tries per code, so that the cross-purpose attempts below do not spend the codes.
    let app = spawn_app_with(&[("CODE_MAX_TRIES", "3")]).await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let unlock_code = app.latest_code(PHONE, "unlock").await;
    let as_reset = app
        .post(
            "/api/reset-password",
            &[
                ("email", "ada@example.com"),
                ("code", &unlock_code),
                ("new_password", "a brand new password"),
                ("new_password_confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(as_reset.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(as_reset).await, "invalid_code");

    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let reset_code = app.latest_code(PHONE, "password_reset").await;
    let as_unlock = app.unlock("ada@example.com", &reset_code).await;
    assert_eq!(as_unlock.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        1
    );

    // Each still works for its own purpose.
    let unlock = app.unlock("ada@example.com", &unlock_code).await;
    assert_eq!(unlock.status(), StatusCode::OK);
    let reset = app
        .post(
            "/api/reset-password",
            &[
                ("email", "ada@example.com"),
                ("code", &reset_code),
                ("new_password", "a brand new password"),
                ("new_password_confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
}

#[tokio::test]
async fn with_one_try_a_code_for_the_wrong_purpose_spends_the_live_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.fail_logins("ada@example.com", 3).await;
    let unlock_code = app.latest_code(PHONE, "unlock").await;
    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let reset_code = app.latest_code(PHONE, "password_reset").await;
    let as_unlock = app.unlock("ada@example.com", &reset_code).await;
    assert_eq!(as_unlock.status(), StatusCode::BAD_REQUEST);
    let unlock = app.unlock("ada@example.com", &unlock_code).await;
    assert_eq!(
        unlock.status(),
        StatusCode::BAD_REQUEST,
        "the wrong entry spent the unlock code"
    );
}

#[tokio::test]
async fn an_unknown_email_is_answered_like_a_wrong_password() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let unknown = app
        .log_in_from_new_browser("nobody@example.com", PASSWORD)
        .await;
    let wrong = app
        .log_in_from_new_browser("ada@example.com", "not the password")
        .await;
    assert_eq!(unknown.status(), wrong.status());
    assert_eq!(json(unknown).await, json(wrong).await);

    let unknown = app
        .post(
            "/api/unlock",
            &[("email", "nobody@example.com"), ("code", "123456")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(unknown).await, "invalid_code");
}

#[tokio::test]
async fn resending_for_an_unknown_email_shows_a_stable_decoy_and_sends_nothing() {
    let app = spawn_app().await;
    let first = json(
        app.post("/api/resend-code", &[("email", "nobody@example.com")])
            .await,
    )
    .await;
    app.wait_out_cooldown().await;
    let second = json(
        app.post("/api/resend-code", &[("email", "NOBODY@example.com")])
            .await,
    )
    .await;
    let ending = first["phone_ending"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ending.len(), 4);
    assert!(ending.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(first, second);
    assert!(app.outbox().await.is_empty());
}

#[tokio::test]
async fn the_attempt_before_the_lock_is_announced_alike_for_unknown_emails() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    for email in ["ada@example.com", "nobody@example.com"] {
        let answers = app.fail_logins(email, 2).await;
        let mut bodies = Vec::new();
        for answer in answers {
            assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{email}");
            bodies.push(json(answer).await);
        }
        assert_eq!(
            bodies,
            vec![
                serde_json::json!({"error": "invalid_credentials", "attempts_left": 2}),
                serde_json::json!({"error": "invalid_credentials", "attempts_left": 1}),
            ],
            "{email}"
        );
    }
    let page = new_client();
    let warned = app
        .post_from_page(
            &page,
            "/api/login",
            "/login",
            &[
                ("email", "grace@example.com"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(warned.status(), StatusCode::SEE_OTHER);
    app.post_from_page(
        &page,
        "/api/login",
        "/login",
        &[
            ("email", "grace@example.com"),
            ("password", "wrong password"),
        ],
    )
    .await;
    let login = page
        .get(app.url("/login"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(
        login.contains("One more wrong password locks the account and sends a code to its phone.")
    );
}
