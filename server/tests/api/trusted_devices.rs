//! Trusted devices: a browser that completed a sign-in signs in past a lock that strangers caused,
//! its own wrong passwords count against it alone, its cookie rotates at every sign-in, it is
//! listed on the account page and can be removed, and a password reset forgets them all.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

const EMAIL: &str = "ada@example.com";
const PHONE: &str = "+14155552671";

/// The value of the device cookie a response sets, if any.
fn device_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("latchkey_device="))
        .and_then(|value| value.split(';').next())
        .map(|pair| pair.trim_start_matches("latchkey_device=").to_owned())
}

async fn login_with(app: &TestApp, client: &reqwest::Client, password: &str) -> Value {
    let response = app
        .post_with(
            client,
            "/api/login",
            &[("email", EMAIL), ("password", password)],
        )
        .await;
    let status = response.status();
    let mut body = json(response).await;
    body["http_status"] = status.as_u16().into();
    body
}

#[tokio::test]
async fn a_trusted_browser_signs_in_past_a_lock_that_strangers_caused() {
    let app = spawn_app().await;
    // The owner's browser signs up and verifies its phone: a completed sign-in, so it is trusted.
    app.sign_up(EMAIL, PHONE).await;
    app.fail_logins(EMAIL, 3).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        1
    );

    let stranger = login_with(&app, &new_client(), PASSWORD).await;
    assert_eq!(stranger["status"], "locked", "{stranger}");

    let owner = login_with(&app, &app.client, PASSWORD).await;
    assert_eq!(owner["status"], "signed_in", "{owner}");
}

#[tokio::test]
async fn wrong_passwords_from_a_trusted_browser_count_against_it_alone_and_end_its_trust() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    for _ in 0..2 {
        let answer = login_with(&app, &app.client, "wrong password").await;
        assert_eq!(answer["http_status"], 401);
        assert_eq!(answer["attempts_left"], Value::Null, "{answer}");
    }
    // The account's own count is untouched: a stranger still has all three tries.
    let stranger = app.fail_logins(EMAIL, 1).await;
    assert_eq!(
        json(stranger.into_iter().next().expect("one")).await["attempts_left"],
        2
    );

    // The browser's third wrong password ends its trust, and locks nothing.
    login_with(&app, &app.client, "wrong password").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM trusted_devices").await,
        0,
        "the browser is a stranger now"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'device_trust_ended'")
            .await,
        1
    );
    // As a stranger, its next wrong passwords count toward the account's lock.
    let answer = login_with(&app, &app.client, "wrong password").await;
    assert_eq!(answer["attempts_left"], 1, "{answer}");
}

#[tokio::test]
async fn the_device_cookie_rotates_at_every_sign_in_and_the_old_one_is_worthless() {
    let app = spawn_app().await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    let browser = new_client();
    let first = app
        .post_with(
            &browser,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    let old = device_cookie(&first).expect("a device cookie at sign-in");
    let second = app
        .post_with(
            &browser,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    let new = device_cookie(&second).expect("a new device cookie");
    assert_ne!(old, new);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM trusted_devices").await,
        2,
        "the seeding browser and this one"
    );

    app.fail_logins(EMAIL, 3).await;
    let replay = new_client()
        .post(app.url("/api/login"))
        .header("Accept", "application/json")
        .header("Cookie", format!("latchkey_device={old}"))
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .expect("answered");
    assert_eq!(json(replay).await["status"], "locked");
    let current = app
        .post_with(
            &browser,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(json(current).await["status"], "signed_in");
}

#[tokio::test]
async fn trusted_browsers_are_listed_and_one_removed_is_a_stranger_again() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    let laptop = new_client();
    login_with(&app, &laptop, PASSWORD).await;

    let me = json(app.me().await).await;
    let devices = me["trusted_devices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(devices.len(), 2, "{me}");
    let this_one: Vec<&Value> = devices
        .iter()
        .filter(|device| device["this_browser"] == true)
        .collect();
    assert_eq!(this_one.len(), 1, "{devices:?}");
    let laptop_id = devices
        .iter()
        .find(|device| device["this_browser"] == false)
        .and_then(|device| device["id"].as_i64())
        .expect("the laptop's id");

    let removed = app
        .post(
            "/api/forget-device",
            &[("device_id", &laptop_id.to_string())],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'device_forgotten'")
            .await,
        1
    );
    app.fail_logins(EMAIL, 3).await;
    assert_eq!(
        login_with(&app, &laptop, PASSWORD).await["status"],
        "locked"
    );

    // Removing needs a session, and nobody removes another account's browsers.
    let anonymous = app
        .post_with(&new_client(), "/api/forget-device", &[("device_id", "1")])
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_reset_forgets_every_trusted_browser() {
    let app = spawn_app().await;
    app.sign_up(EMAIL, PHONE).await;
    let response = app.post("/api/request-reset", &[("email", EMAIL)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let code = app.latest_code(PHONE, "password_reset").await;
    let new_password = "a brand new passphrase";
    let reset = app
        .post_with(
            &app.client,
            "/api/reset-password",
            &[
                ("email", EMAIL),
                ("code", &code),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM trusted_devices").await, 0);

    app.fail_logins(EMAIL, 3).await;
    let owner = login_with(&app, &app.client, new_password).await;
    assert_eq!(owner["status"], "locked", "{owner}");
}
