//! What one page hands the next travels in signed cookies, never in the address; pages and the
//! API are never cached; and signup fields are checked live by the rules of signup itself.

use crate::helpers::*;
use reqwest::StatusCode;

const PHONE: &str = "+14155552671";

fn header_values(response: &reqwest::Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect()
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> String {
    client
        .get(app.url(path))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html")
}

#[tokio::test]
async fn signed_in_pages_and_the_api_are_never_cached() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    for path in ["/account", "/account/phone", "/login", "/api/me"] {
        let response = app
            .client
            .get(app.url(path))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_values(&response, "cache-control"),
            vec!["no-store".to_owned()],
            "{path}"
        );
    }
    let logout = app.post("/api/logout", &[]).await;
    assert_eq!(
        header_values(&logout, "cache-control"),
        vec!["no-store".to_owned()]
    );
    // The built files keep their own caching (static_assets.rs).
}

#[tokio::test]
async fn a_lock_sends_the_browser_to_an_unlock_page_whose_address_names_nobody() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let browser = new_client();
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            app.post_from_page(
                &browser,
                "/api/login",
                "/login",
                &[("email", "ada@example.com"), ("password", "wrong password")],
            )
            .await,
        );
    }
    let locked = last.expect("three attempts");
    assert_eq!(
        locked
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/unlock")
    );
    let unlock = page(&browser, &app, "/unlock").await;
    assert!(unlock.contains(
        "Your account is temporarily locked. We sent a verification code to the mobile number \
         ending in 2671."
    ));
    assert!(unlock.contains("ada@example.com"), "the account it is for");
    assert!(unlock.contains("name=\"email\" value=\"ada@example.com\""));

    // The code from the outbox unlocks, through the page's own form.
    let code = app.latest_code(PHONE, "unlock").await;
    let unlocked = app
        .post_from_page(
            &browser,
            "/api/unlock",
            "/unlock",
            &[("email", "ada@example.com"), ("code", code.as_str())],
        )
        .await;
    assert_eq!(
        unlocked
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/login")
    );
    let login = page(&browser, &app, "/login").await;
    assert!(login.contains("Your account is unlocked. Sign in with your password."));
    assert!(
        login.contains("value=\"ada@example.com\""),
        "the email is filled in"
    );

    // Another browser, with no state of its own, is asked which account.
    let stranger = page(&new_client(), &app, "/unlock").await;
    assert!(stranger.contains("Enter the email of the locked account"));
    assert!(!stranger.contains("ada@example.com"));
}

#[tokio::test]
async fn a_forged_or_foreign_page_state_is_ignored() {
    let app = spawn_app().await;
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let flash = r#"{"page":"/login","failed":{"action":"/api/login","error":{"error":"invalid_input","fields":[{"field":"email","message":"Call +1 900 555 0100 to unlock"}]}}}"#;
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(flash);
    let recovery = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"email":"victim@example.com"}"#);
    let login = forged
        .get(app.url("/login"))
        .header(
            "Cookie",
            format!("latchkey_flash={payload}.AAAA; latchkey_recovery={recovery}.AAAA"),
        )
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(!login.contains("Call +1 900"));
    let unlock = forged
        .get(app.url("/unlock"))
        .header("Cookie", format!("latchkey_recovery={recovery}.AAAA"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(!unlock.contains("victim@example.com"));
    // Words in the address are not read at all.
    let old_style = forged
        .get(app.url("/login?__err=eyJlcnJvciI6ImludGVybmFsIn0%3D&notice=locked&ending=6666"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(!old_style.contains("6666"));
    assert!(!old_style.contains("Something went wrong"));
}

#[tokio::test]
async fn the_unlock_page_remembers_an_email_typed_into_it() {
    let app = spawn_app().await;
    let browser = new_client();
    let refused = browser
        .post(app.url("/api/unlock-email"))
        .header("Accept", "application/json")
        .form(&[("email", "not an email")])
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(refused).await["fields"][0]["field"], "email");
    let remembered = browser
        .post(app.url("/api/unlock-email"))
        .header("Accept", "application/json")
        .form(&[("email", " Ada@Example.com ")])
        .send()
        .await
        .expect("answered");
    assert_eq!(remembered.status(), StatusCode::OK);
    let unlock = page(&browser, &app, "/unlock").await;
    assert!(unlock.contains("Ada@Example.com"));
    assert!(unlock.contains("Didn&#x27;t get a code?") || unlock.contains("Didn't get a code?"));
    let other = page(&browser, &app, "/unlock?account=other").await;
    assert!(other.contains("Enter the email of the locked account"));
}

async fn check(
    app: &TestApp,
    field: &str,
    value: &str,
    others: &[(&str, &str)],
) -> serde_json::Value {
    let mut form = vec![("field", field), ("value", value)];
    form.extend_from_slice(others);
    let response = app.post("/api/check-field", &form).await;
    assert_eq!(response.status(), StatusCode::OK, "{field}={value}");
    json(response).await
}

#[tokio::test]
async fn signup_fields_are_checked_live_by_the_rules_of_signup() {
    let app = spawn_app().await;
    let phone = check(&app, "phone", "(415) 555-2671", &[]).await;
    assert_eq!(phone["message"], serde_json::Value::Null);
    assert_eq!(
        phone["note"],
        "+1 415-555-2671 · US · a mobile or landline number"
    );
    let uk = check(&app, "phone", "+44 7400 123456", &[]).await;
    assert_eq!(uk["note"], "+44 7400 123456 · GB · a mobile number");
    let premium = check(&app, "phone", "+44 909 876 5432", &[]).await;
    assert_eq!(
        premium["message"],
        "Codes can't be sent to this number: it is a premium-rate number. Use a mobile number."
    );
    assert_eq!(premium["note"], serde_json::Value::Null);
    let email = check(&app, "email", "ada@", &[]).await;
    assert_eq!(
        email["message"],
        "Enter an email address like name@example.com."
    );
    assert_eq!(
        check(&app, "email", "ada@example.com", &[]).await["message"],
        serde_json::Value::Null
    );
    let short = check(&app, "password", "short", &[]).await;
    assert!(
        short["message"].as_str().unwrap_or_default().contains("8"),
        "{short}"
    );
    let common = check(&app, "password", "password123", &[]).await;
    assert!(common["message"].is_string(), "{common}");
    let personal = check(
        &app,
        "password",
        "lovelace-rules-2026",
        &[("last_name", "Lovelace")],
    )
    .await;
    assert!(personal["message"].is_string(), "{personal}");
    let mismatch = check(
        &app,
        "password_confirm",
        "another long password",
        &[("password", PASSWORD)],
    )
    .await;
    assert!(mismatch["message"].is_string(), "{mismatch}");
    assert_eq!(
        check(
            &app,
            "password_confirm",
            PASSWORD,
            &[("password", PASSWORD)]
        )
        .await["message"],
        serde_json::Value::Null
    );
    let unknown = app
        .post("/api/check-field", &[("field", "role"), ("value", "admin")])
        .await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(unknown).await, "malformed_request");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn live_checks_have_their_own_rate_limit() {
    let app = spawn_app_with(&[("RATE_LIMIT_FIELD_CHECK", "2")]).await;
    for _ in 0..2 {
        check(&app, "email", "ada@example.com", &[]).await;
    }
    let limited = app
        .post(
            "/api/check-field",
            &[("field", "email"), ("value", "ada@example.com")],
        )
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    // Signup has a bucket of its own.
    let signup = app
        .post(
            "/api/signup",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("phone", PHONE),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    assert_eq!(signup.status(), StatusCode::OK);
}
