//! The atomic rules under concurrent requests.

use crate::helpers::*;
use futures_util::future::join_all;
use reqwest::StatusCode;

const PHONE: &str = "+14155552671";

#[tokio::test]
async fn fifty_concurrent_wrong_passwords_lock_once_and_queue_one_message() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    let attempts = (0..50).map(|_| {
        let client = new_client();
        let app = &app;
        async move {
            app.post_with(
                &client,
                "/api/login",
                &[("email", "ada@example.com"), ("password", "wrong password")],
            )
            .await
            .status()
        }
    });
    let statuses = join_all(attempts).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        2
    );

    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(app.count("SELECT failed_logins FROM accounts").await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM verification_codes").await,
        1
    );
}

#[tokio::test]
async fn two_concurrent_right_codes_unlock_exactly_once() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("ada@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;

    let submissions = (0..2).map(|_| {
        let client = new_client();
        let app = &app;
        let code = code.clone();
        async move {
            app.post_with(
                &client,
                "/api/unlock",
                &[("email", "ada@example.com"), ("code", code.as_str())],
            )
            .await
            .status()
        }
    });
    let mut statuses = join_all(submissions).await;
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
}

#[tokio::test]
async fn ten_concurrent_right_reset_codes_change_the_password_once() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    // All from the browser that asked for the code (it is bound to it).
    let submissions = (0..10).map(|i| {
        let client = app.client.clone();
        let app = &app;
        let code = code.clone();
        async move {
            let password = format!("new password number {i}");
            app.post_with(
                &client,
                "/api/reset-password",
                &[
                    ("email", "ada@example.com"),
                    ("code", &code),
                    ("new_password", &password),
                    ("new_password_confirm", &password),
                ],
            )
            .await
            .status()
        }
    });
    let statuses = join_all(submissions).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn two_workers_never_send_the_same_message() {
    let app = spawn_app().await;
    for i in 0..20 {
        let email = format!("user{i}@example.com");
        app.sign_up(&email, &format!("+1415555{:04}", 2000 + i))
            .await;
        app.post("/api/request-reset", &[("email", &email)]).await;
    }
    let first = app.worker.clone();
    let second = app.worker.clone();
    let (a, b) = tokio::join!(first.drain(), second.drain());
    a.expect("drains");
    b.expect("drains");
    // The server's own worker runs too and may still be sending one: three workers in all.
    app.deliver_all().await;
    // Each account's signup verification code, and its reset code.
    assert_eq!(app.count("SELECT COUNT(*) FROM dev_outbox").await, 40);
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT message_id) FROM dev_outbox")
            .await,
        40
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE status = 'sent' AND body IS NULL")
            .await,
        40
    );
}
