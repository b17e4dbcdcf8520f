//! Send limits (who may make Latchkey send a code, how often) and per-client request rate limits.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

const PHONE: &str = "+14155552671";

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post("/api/request-reset", &[("email", email)]).await
}

#[tokio::test]
async fn a_second_code_within_the_cooldown_is_refused_with_the_wait_and_nothing_is_queued() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    assert_eq!(
        request_reset(&app, "ada@example.com").await.status(),
        StatusCode::OK
    );

    app.clock.advance(Duration::seconds(20));
    let refused = request_reset(&app, "ada@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), 40);
    let body = json(refused).await;
    assert_eq!(body["error"], "too_many_codes");
    assert_eq!(body["retry_after_secs"], 40);
    assert_eq!(app.count("SELECT COUNT(*) FROM sms_messages").await, 1);

    app.clock.advance(Duration::seconds(40));
    assert_eq!(
        request_reset(&app, "ada@example.com").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sms_messages").await, 2);
}

#[tokio::test]
async fn the_sixth_code_in_an_hour_waits_until_the_first_leaves_the_window() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    for _ in 0..5 {
        assert_eq!(
            request_reset(&app, "ada@example.com").await.status(),
            StatusCode::OK
        );
        app.clock.advance(Duration::minutes(2));
    }
    let refused = request_reset(&app, "ada@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), 50 * 60);
    assert_eq!(
        json(refused).await["error"],
        "too_many_codes",
        "the hourly cap, not the cooldown"
    );
    app.clock.advance(Duration::minutes(50));
    assert_eq!(
        request_reset(&app, "ada@example.com").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_destination_shares_its_limits_across_accounts() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.seed_account("ada.work@example.com", PHONE, "sms").await;
    assert_eq!(
        request_reset(&app, "ada@example.com").await.status(),
        StatusCode::OK
    );
    let refused = request_reset(&app, "ada.work@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_per_client_cap_holds_across_accounts() {
    let app = spawn_app_with(&[("SEND_MAX_PER_IP_PER_HOUR", "2")]).await;
    for i in 0..3 {
        app.seed_account(
            &format!("user{i}@example.com"),
            &format!("+141555520{i}0"),
            "sms",
        )
        .await;
    }
    app.move_clock_to_a_whole_minute();
    assert_eq!(
        request_reset(&app, "user0@example.com").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        request_reset(&app, "user1@example.com").await.status(),
        StatusCode::OK
    );
    let refused = request_reset(&app, "user2@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        retry_after(&refused),
        3660,
        "the cap counts whole minutes: it frees an hour after the end of the first one"
    );
    app.clock.advance(Duration::seconds(3659));
    assert_eq!(
        request_reset(&app, "user2@example.com").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        request_reset(&app, "user2@example.com").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_global_budget_stops_all_sending_and_a_lock_still_holds_without_a_message() {
    let app = spawn_app_with(&[("SMS_MAX_PER_HOUR", "1")]).await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.seed_account("bob@example.com", "+14155552672", "sms")
        .await;
    assert_eq!(
        request_reset(&app, "ada@example.com").await.status(),
        StatusCode::OK
    );

    let locked = app
        .fail_logins("bob@example.com", 3)
        .await
        .pop()
        .expect("three responses");
    assert_eq!(json(locked).await["status"], "locked");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE email = 'bob@example.com' AND locked_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages").await,
        1,
        "no unlock message"
    );
    let resend = app
        .post("/api/resend-code", &[("email", "bob@example.com")])
        .await;
    assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_client_with_retry_after() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN", "3")]).await;
    app.sign_up("ada@example.com", PHONE).await;
    for _ in 0..3 {
        let response = app.log_in("ada@example.com", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let limited = app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&limited), 20);
    assert_eq!(json(limited).await["error"], "rate_limited");

    app.clock.advance(Duration::seconds(20));
    assert_eq!(
        app.log_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn code_entry_is_rate_limited_separately_from_sign_in() {
    let app = spawn_app_with(&[("RATE_LIMIT_CODE", "2"), ("RATE_LIMIT_LOGIN", "100")]).await;
    for _ in 0..2 {
        let response = app.unlock("ada@example.com", "123456").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        app.unlock("ada@example.com", "123456").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.log_in("ada@example.com", "whatever").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_LOGIN", "1"),
        ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await;
    let login_from = |client: &'static str| {
        app.client
            .post(app.url("/api/login"))
            .header("Accept", "application/json")
            .header("X-Forwarded-For", client)
            .form(&[("email", "nobody@example.com"), ("password", "whatever")])
            .send()
    };
    assert_eq!(
        login_from("203.0.113.1").await.expect("answered").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from("203.0.113.2").await.expect("answered").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from("10.0.0.9, 203.0.113.1")
            .await
            .expect("answered")
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the right-most address is the one the proxy saw"
    );
}

#[tokio::test]
async fn a_rate_limited_plain_form_post_goes_back_to_its_page_with_the_message() {
    let app = spawn_app_with(&[("RATE_LIMIT_LOGIN", "1")]).await;
    let browser = new_client();
    let post = || {
        browser
            .post(app.url("/api/login"))
            .header("Accept", "text/html")
            .header("Referer", app.url("/login"))
            .form(&[("email", "nobody@example.com"), ("password", "whatever")])
            .send()
    };
    post().await.expect("answered");
    let limited = post().await.expect("answered");
    assert_eq!(limited.status(), StatusCode::SEE_OTHER);
    let location = limited
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(location, "/login");
    let page = browser
        .get(app.url(&location))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Too many attempts. Try again in 1 minute."),
        "{location}"
    );
}

#[tokio::test]
async fn the_unlock_page_says_when_a_held_back_code_can_be_asked_for() {
    let app = spawn_app_with(&[("SMS_MAX_PER_HOUR", "1")]).await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.move_clock_to_a_whole_minute();
    assert_eq!(
        request_reset(&app, "ada@example.com").await.status(),
        StatusCode::OK
    );
    app.wait_out_cooldown().await;
    let browser = new_client();
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            browser
                .post(app.url("/api/login"))
                .header("Accept", "text/html")
                .header("Referer", app.url("/login"))
                .form(&[("email", "ada@example.com"), ("password", "wrong password")])
                .send()
                .await
                .expect("answered"),
        );
    }
    let location = last
        .and_then(|response| response.headers().get("location").cloned())
        .and_then(|value| value.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    assert_eq!(
        location, "/unlock",
        "no email, notice or wait in the address"
    );
    let page = browser
        .get(app.url(&location))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Too many codes were requested, so we could not send one to the mobile number ending in 2671 now. Ask for a new code in 60 minutes."),
        "{location}"
    );
}
