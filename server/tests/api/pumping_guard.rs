//! The SMS-pumping guard: which destinations codes may go to.

use crate::helpers::*;
use reqwest::StatusCode;

async fn sign_up_with_phone(app: &TestApp, phone: &str) -> reqwest::Response {
    app.post_signup(&app.client, "ada@example.com", phone).await
}

#[tokio::test]
async fn premium_rate_and_toll_free_numbers_are_refused_at_signup() {
    let app = spawn_app().await;
    for (phone, kind) in [
        ("+44 909 876 5432", "a premium-rate number"),
        ("+1 800 555 0199", "a toll-free number"),
    ] {
        let response = sign_up_with_phone(&app, phone).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{phone}");
        let body = json(response).await;
        assert_eq!(body["fields"][0]["field"], "phone");
        assert_eq!(
            body["fields"][0]["message"],
            format!("Codes can't be sent to this number: it is {kind}. Use a mobile number.")
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn with_a_country_list_numbers_elsewhere_are_refused_at_signup() {
    let app = spawn_app_with(&[("SMS_ALLOWED_COUNTRIES", "US, CA")]).await;
    let response = sign_up_with_phone(&app, "+44 7400 123456").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(response).await["fields"][0]["message"],
        "Codes can't be sent to phone numbers in GB from this service."
    );
    assert_eq!(
        sign_up_with_phone(&app, "(415) 555-2671").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_stored_number_that_is_no_longer_allowed_gets_no_code() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", "+14155552671", "sms")
        .await;
    // As if the number had been stored under an older, looser policy.
    sqlx::query("UPDATE accounts SET phone_e164 = '+18005550199'")
        .execute(app.store.pool())
        .await
        .expect("updated");
    let response = app
        .post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(response).await, "undeliverable_phone");
    assert_eq!(app.count("SELECT COUNT(*) FROM sms_messages").await, 0);
}
