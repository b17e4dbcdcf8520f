//! Sessions: cookie attributes, logout, idle and absolute expiry.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

#[tokio::test]
async fn login_sets_an_http_only_lax_cookie_and_stores_only_its_hash() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let response = new_client()
        .post(app.url("/api/login"))
        .header("Accept", "application/json")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("answered");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("latchkey_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = cookie
        .trim_start_matches("latchkey_session=")
        .split(';')
        .next()
        .unwrap_or_default();
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_all(app.store.pool())
        .await
        .expect("sessions");
    assert_eq!(stored.len(), 2, "one from signup, one from this login");
    assert!(stored
        .iter()
        .all(|hash| hash.len() == 32 && !String::from_utf8_lossy(hash).contains(token)));
}

#[tokio::test]
async fn without_a_session_the_account_is_refused_and_its_page_redirects_to_login() {
    let app = spawn_app().await;
    let me = app.me().await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_kind(me).await, "not_signed_in");
    let page = app
        .client
        .get(app.url("/account"))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), StatusCode::FOUND);
    assert_eq!(
        page.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/login")
    );
}

#[tokio::test]
async fn the_account_page_renders_the_signed_in_account() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let page = app
        .client
        .get(app.url("/account"))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("ada@example.com"));
    assert!(html.contains("+•••••••2671"));
    assert!(!html.contains("4155552671"));
}

#[tokio::test]
async fn logout_deletes_the_session() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let response = app.post("/api/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = spawn_app_with(&[("SESSION_IDLE_TIMEOUT", "30m")]).await;
    app.sign_up("ada@example.com", "+14155552671").await;
    // Signing up moved the clock past the send cooldown; this request marks the session active.
    assert_eq!(app.me().await.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.me().await.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        app.me().await.status(),
        StatusCode::OK,
        "activity keeps it alive"
    );
    app.clock.advance(Duration::minutes(30));
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_even_when_active() {
    let app = spawn_app_with(&[
        ("SESSION_IDLE_TIMEOUT", "1h"),
        ("SESSION_ABSOLUTE_TIMEOUT", "2h"),
    ])
    .await;
    app.sign_up("ada@example.com", "+14155552671").await;
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(40));
        assert_eq!(app.me().await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(40));
    assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    app.fail_logins("ada@example.com", 2).await;
    assert_eq!(
        app.log_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.count("SELECT failed_logins FROM accounts").await, 0);
    let after = app.fail_logins("ada@example.com", 2).await;
    assert!(after.iter().all(|r| r.status() == StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn the_health_endpoints_answer() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("answered");
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("answered");
    assert_eq!(ready.status(), StatusCode::OK);
}
