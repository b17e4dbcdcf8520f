//! Cross-origin requests and the security headers.

use crate::helpers::*;
use reqwest::StatusCode;

async fn login_with(app: &TestApp, header: &str, value: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("Accept", "application/json")
        .header(header, value)
        .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let sessions = app.count("SELECT COUNT(*) FROM sessions").await;

    let forged = login_with(&app, "Origin", "https://evil.example").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_kind(forged).await, "cross_origin");
    let by_referer = login_with(&app, "Referer", "https://evil.example/page").await;
    assert_eq!(by_referer.status(), StatusCode::FORBIDDEN);
    let opaque = login_with(&app, "Origin", "null").await;
    assert_eq!(opaque.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, sessions);

    let same_origin = login_with(&app, "Origin", &app.address).await;
    assert_eq!(same_origin.status(), StatusCode::OK);
    let loopback_alias = login_with(
        &app,
        "Origin",
        &app.address.replace("127.0.0.1", "localhost"),
    )
    .await;
    assert_eq!(loopback_alias.status(), StatusCode::OK);
}

#[tokio::test]
async fn clients_that_send_no_origin_are_not_browsers_and_pass() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    assert_eq!(
        app.log_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn pages_carry_a_nonce_based_content_security_policy() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("answered");
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let policy = header("content-security-policy");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default()
        .to_owned();
    assert!(nonce.len() >= 16, "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(
        header("strict-transport-security"),
        "",
        "not over plain HTTP"
    );
    let html = page.text().await.expect("html");
    let scripts = html.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every script has the nonce"
    );

    let second = app
        .client
        .get(app.url("/login"))
        .send()
        .await
        .expect("answered");
    let second_policy = second
        .headers()
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        !second_policy.contains(&nonce),
        "a new nonce for every response"
    );
}

#[tokio::test]
async fn under_https_the_cookie_is_secure_and_hsts_is_sent() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://auth.example.com")]).await;
    let response = app
        .post_signup(&app.client, "ada@example.com", "+14155552671")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert_eq!(
        response
            .headers()
            .get("strict-transport-security")
            .and_then(|value| value.to_str().ok()),
        Some("max-age=31536000; includeSubDomains")
    );
}
