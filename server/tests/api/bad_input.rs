//! Bad input gets a clear 4xx error and changes nothing; never a panic or a 500.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn missing_fields_are_a_malformed_request_not_a_server_error() {
    let app = spawn_app().await;
    for endpoint in ENDPOINTS
        .iter()
        .filter(|e| !ENDPOINTS_WITHOUT_REQUIRED_FIELDS.contains(e))
    {
        let response = app.post(endpoint, &[]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{endpoint}");
        let body = json(response).await;
        assert_eq!(body["error"], "malformed_request", "{endpoint}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("missing field"),
            "{endpoint}: {body}"
        );
    }
}

#[tokio::test]
async fn empty_fields_are_reported_by_field() {
    let app = spawn_app().await;
    /// An endpoint, its form, and the field the error must name.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        ("/api/login", &[("email", ""), ("password", "x")], "email"),
        (
            "/api/login",
            &[("email", "ada@example.com"), ("password", "")],
            "password",
        ),
        (
            "/api/unlock",
            &[("email", "ada@example.com"), ("code", "")],
            "code",
        ),
        ("/api/resend-code", &[("email", " ")], "email"),
        ("/api/request-reset", &[("email", "")], "email"),
    ];
    for (endpoint, form, field) in cases {
        let response = app.post(endpoint, form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{endpoint}");
        let body = json(response).await;
        assert_eq!(body["error"], "invalid_input");
        assert_eq!(body["fields"][0]["field"], field, "{endpoint}: {body}");
    }
}

#[tokio::test]
async fn one_megabyte_fields_are_refused_with_a_field_error() {
    let app = spawn_app().await;
    let huge = "a".repeat(1024 * 1024);
    // Six 1 MB fields exceed the 2 MiB body limit: refused by their length, before anything reads them.
    assert_eq!(
        app.status_for_declared_length("/api/signup", 6 * 1024 * 1024)
            .await,
        413
    );

    let response = app
        .post(
            "/api/login",
            &[("email", "ada@example.com"), ("password", &huge)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["fields"][0]["field"], "password");
    assert_eq!(body["fields"][0]["message"], "Use at most 128 characters.");

    let response = app
        .post(
            "/api/signup",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("phone", "+14155552671"),
                ("first_name", &huge),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(response).await["fields"][0]["field"], "first_name");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn invalid_utf8_and_garbage_bodies_are_a_malformed_request() {
    let app = spawn_app().await;
    let bodies: [&[u8]; 4] = [
        b"email=%FF%FE&password=x",
        b"\xff\xfe\xfd",
        b"email=a@b.co&password",
        b"{\"email\":\"ada@example.com\",\"password\":\"x\"}",
    ];
    for body in bodies {
        let response = app
            .client
            .post(app.url("/api/login"))
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .expect("answered");
        let status = response.status();
        assert!(status.is_client_error(), "{status} for {body:?}");
    }
}

#[tokio::test]
async fn sql_and_html_in_names_are_stored_verbatim_and_rendered_escaped() {
    let app = spawn_app().await;
    let name = "<script>alert(1)</script>'); DROP TABLE accounts;--";
    let response = app
        .post(
            "/api/signup",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("phone", "+14155552671"),
                ("first_name", name),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    let stored: String = sqlx::query_scalar("SELECT first_name FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .expect("one account");
    assert_eq!(stored, name);
    let code = app.latest_code("+14155552671", "phone_verification").await;
    let verified = app.post("/api/verify-phone", &[("code", &code)]).await;
    assert_eq!(verified.status(), StatusCode::OK);
    let html = app
        .client
        .get(app.url("/account"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[tokio::test]
async fn unknown_api_paths_and_wrong_methods_are_client_errors() {
    let app = spawn_app().await;
    let response = app.post("/api/does-not-exist", &[]).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let response = app
        .client
        .get(app.url("/api/login"))
        .send()
        .await
        .expect("answered");
    assert!(response.status().is_client_error(), "{}", response.status());
}

#[tokio::test]
async fn a_plain_form_post_redirects_to_the_next_page_or_back_with_the_error() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let browser = new_client();
    let post = |form: Vec<(&'static str, &'static str)>| {
        browser
            .post(app.url("/api/login"))
            .header("Accept", "text/html,application/xhtml+xml")
            .header("Referer", app.url("/login"))
            .form(&form)
            .send()
    };
    let wrong = post(vec![
        ("email", "ada@example.com"),
        ("password", "nope nope"),
    ])
    .await
    .expect("answered");
    // Back to the page it came from, at its own address: the error and what was typed travel in
    // a signed, short-lived cookie, never in the URL.
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    let location = wrong
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(location, "/login");
    let flash_cookie = wrong
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey_flash="))
        .unwrap_or_default()
        .to_owned();
    assert!(flash_cookie.contains("HttpOnly"), "{flash_cookie}");
    assert!(
        !flash_cookie.contains("nope"),
        "the password stays out: {flash_cookie}"
    );
    let page = browser
        .get(app.url(&location))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(page.contains("The email or password is incorrect."));
    assert!(
        page.contains("value=\"ada@example.com\""),
        "the email is kept"
    );
    assert!(
        !page.contains("nope nope"),
        "the password is never shown again"
    );
    // Shown once: a reload is the plain page.
    let again = browser
        .get(app.url("/login"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(!again.contains("The email or password is incorrect."));

    let right = post(vec![("email", "ada@example.com"), ("password", PASSWORD)])
        .await
        .expect("answered");
    assert_eq!(right.status(), StatusCode::FOUND);
    assert_eq!(
        right
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/account")
    );
}

#[tokio::test]
async fn nothing_answers_with_a_server_error_for_a_sweep_of_hostile_values() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let hostile = [
        "' OR '1'='1",
        "\"; DROP TABLE accounts; --",
        "<img src=x onerror=alert(1)>",
        "\u{0}",
        "\u{202e}gnp.exe",
        "%00",
        "ada@example.com\r\nBcc: x@example.com",
        "١٢٣٤٥٦",
        "-1",
        "9999999999999999999999999",
        "   ",
    ];
    for endpoint in ENDPOINTS {
        for value in hostile {
            let form = [
                ("email", value),
                ("password", value),
                ("password_confirm", value),
                ("phone", value),
                ("first_name", value),
                ("last_name", value),
                ("code", value),
                ("new_password", value),
                ("new_password_confirm", value),
            ];
            let response = app.post(endpoint, &form).await;
            assert!(
                !response.status().is_server_error(),
                "{endpoint} with {value:?}: {}",
                response.status()
            );
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}
