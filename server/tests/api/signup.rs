use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn signup_stores_the_phone_as_e164_and_the_verified_phone_opens_a_session() {
    let app = spawn_app_with(&[("DEFAULT_PHONE_REGION", "US")]).await;
    app.sign_up("  Ada@Example.com ", "(415) 555-2671").await;

    let stored: (String, String) = sqlx::query_as("SELECT email, phone_e164 FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .expect("one account");
    assert_eq!(
        stored,
        ("Ada@Example.com".to_owned(), "+14155552671".to_owned())
    );

    let me = app.me().await;
    assert_eq!(me.status(), StatusCode::OK);
    let me = json(me).await;
    assert_eq!(me["email"], "Ada@Example.com");
    assert_eq!(me["masked_phone"], "+•••••••2671");
    assert_eq!(me["first_name"], "Ada");
}

#[tokio::test]
async fn the_password_is_stored_only_as_an_argon2id_hash() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .expect("one account");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn an_email_can_only_be_registered_once_whatever_its_case() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let response = app
        .post(
            "/api/signup",
            &[
                ("email", "ADA@example.COM"),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("phone", "+14155552672"),
                ("first_name", "Other"),
                ("last_name", "Person"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(error_kind(response).await, "email_taken");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_stored() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/signup",
            &[
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
                ("phone", "12"),
                ("first_name", ""),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["error"], "invalid_input");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .expect("a list of fields")
        .iter()
        .filter_map(|field| field["field"].as_str())
        .collect();
    assert_eq!(fields, ["first_name", "email", "phone", "password"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn a_mistyped_confirmation_is_refused() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/signup",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("password_confirm", "correct horse battery stapel"),
                ("phone", "+14155552671"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["fields"][0]["field"], "password_confirm");
    assert_eq!(body["fields"][0]["message"], "The passwords do not match.");
}

#[tokio::test]
async fn common_passwords_and_passwords_with_the_name_or_email_are_refused_at_signup() {
    let app = spawn_app().await;
    for (password, message) in [
        (
            "iloveyou",
            "This password is one of the most common ones. Choose one that is harder to guess.",
        ),
        (
            "ada@example.com",
            "Your password must not be your email address.",
        ),
        (
            "lovelace 1815 forever",
            "Your password must not contain your name.",
        ),
    ] {
        let response = app
            .post(
                "/api/signup",
                &[
                    ("email", "ada@example.com"),
                    ("password", password),
                    ("password_confirm", password),
                    ("phone", "+14155552671"),
                    ("first_name", "Ada"),
                    ("last_name", "Lovelace"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{password}");
        let body = json(response).await;
        assert_eq!(body["fields"][0]["field"], "password", "{password}");
        assert_eq!(body["fields"][0]["message"], message, "{password}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}
