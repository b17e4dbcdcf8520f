//! The audit log, the account's recent activity, retention, and security notices.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

const PHONE: &str = "+14155552671";

async fn kinds(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM audit_events ORDER BY id")
        .fetch_all(app.store.pool())
        .await
        .expect("events")
}

#[tokio::test]
async fn a_lock_and_unlock_leave_a_trail_with_ip_and_user_agent() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("ada@example.com", 3).await;
    let code = app.latest_code(PHONE, "unlock").await;
    app.unlock("ada@example.com", &wrong_code(&code)).await;
    app.wait_out_cooldown().await;
    app.post("/api/resend-code", &[("email", "ada@example.com")])
        .await;
    let fresh = app.latest_code(PHONE, "unlock").await;
    app.unlock("ada@example.com", &fresh).await;

    assert_eq!(
        kinds(&app).await,
        [
            "signup",
            "code_sent",
            "phone_verified",
            "login_succeeded",
            "login_failed",
            "login_failed",
            "login_failed",
            "account_locked",
            "code_sent",
            "code_rejected",
            "code_sent",
            "account_unlocked"
        ]
    );
    let (ip, agent): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT client_ip, user_agent FROM audit_events WHERE kind = 'account_locked'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("one lock");
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
    assert!(agent.is_none(), "the test client sends no user agent");
}

#[tokio::test]
async fn the_account_page_shows_recent_activity_newest_first() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("ada@example.com", 1).await;
    let me = json(app.me().await).await;
    let activity = me["recent_activity"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let descriptions: Vec<&str> = activity
        .iter()
        .filter_map(|item| item["description"].as_str())
        .collect();
    assert_eq!(
        descriptions,
        [
            "Wrong password entered",
            "Signed in",
            "Phone number verified",
            "Verification code sent",
            "Account created"
        ]
    );
    assert_eq!(activity[0]["client_ip"], "127.0.0.1");

    let page = app
        .client
        .get(app.url("/account"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Recent activity") && page.contains("Wrong password entered"));
}

#[tokio::test]
async fn a_password_reset_is_logged_revokes_sessions_and_texts_a_notice() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    let code = app.latest_code(PHONE, "password_reset").await;
    let response = app
        .post(
            "/api/reset-password",
            &[
                ("email", "ada@example.com"),
                ("code", &code),
                ("new_password", "a completely new passphrase"),
                ("new_password_confirm", "a completely new passphrase"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = kinds(&app).await;
    assert!(
        events.ends_with(&["password_reset".to_owned(), "session_revoked".to_owned()]),
        "{events:?}"
    );
    assert!(events.contains(&"reset_requested".to_owned()));

    let outbox = app.outbox().await;
    let notice = outbox
        .iter()
        .find(|entry| entry["purpose"] == "password_changed")
        .expect("a notice");
    assert_eq!(notice["to"], PHONE);
    assert!(notice["body"]
        .as_str()
        .unwrap_or_default()
        .contains("your password was just changed"));
}

#[tokio::test]
async fn logout_and_limits_are_logged() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", PHONE).await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    app.post("/api/logout", &[]).await;
    let events = kinds(&app).await;
    assert!(events.contains(&"limit_hit".to_owned()), "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("session_revoked"));
}

#[tokio::test]
async fn old_events_expired_sessions_and_past_send_counts_are_pruned() {
    let app = spawn_app_with(&[("AUDIT_RETENTION", "30d")]).await;
    app.sign_up("ada@example.com", PHONE).await;
    app.fail_logins("nobody@example.com", 1).await;
    let before = app.count("SELECT COUNT(*) FROM audit_events").await;
    assert!(before >= 2);

    app.clock.advance(Duration::days(29));
    let counters = app.count("SELECT COUNT(*) FROM send_counters").await;
    assert!(counters >= 2, "the signup code, in all and for the client");
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!(pruned.audit_events, 0);
    assert_eq!(pruned.sessions, 1, "past the 12-hour absolute lifetime");
    assert_eq!(
        pruned.send_counters,
        u64::try_from(counters).unwrap_or_default(),
        "the hour the send limits count is long past"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM send_counters").await, 0);

    app.clock.advance(Duration::days(2));
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!(
        pruned.audit_events,
        u64::try_from(before).unwrap_or_default()
    );
    assert_eq!(pruned.unknown_logins, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events").await, 0);
}

#[tokio::test]
async fn codes_a_day_past_their_expiry_and_browsers_past_their_trust_are_pruned() {
    let app = spawn_app_with(&[("TRUSTED_DEVICE_LIFETIME", "30d")]).await;
    app.sign_up("ada@example.com", PHONE).await;
    app.post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM verification_codes").await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM trusted_devices").await, 1);

    // The code's hour is over, but its holder is still told it expired.
    app.clock.advance(Duration::hours(2));
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!((pruned.expired_codes, pruned.trusted_devices), (0, 0));

    app.clock.advance(Duration::days(1));
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!(pruned.expired_codes, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM verification_codes").await,
        0
    );

    app.clock.advance(Duration::days(30));
    let pruned = app.maintenance.run_once().await.expect("a pass");
    assert_eq!(pruned.trusted_devices, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM trusted_devices").await, 0);
}

/// A lock state and the event about it are written together: in one statement on PostgreSQL (a
/// round trip fewer for every unlock and every wrong password), so that there an event that
/// cannot be recorded leaves the lock state as it was even outside a transaction.
#[tokio::test]
async fn a_lock_state_and_its_event_are_written_together() {
    use server::auth::audit::AuditKind;
    use server::auth::lockout::LockState;
    use server::store::{Backend, NewAuditEvent, Store};

    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let id = app
        .count("SELECT id FROM accounts WHERE email_normalized = 'ada@example.com'")
        .await;
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    let event = |account_id| NewAuditEvent {
        kind: AuditKind::AccountLocked,
        account_id: Some(account_id),
        detail: Some("by the test"),
        client_ip: None,
        user_agent: None,
        actor_id: None,
    };
    let mut tx = app.store.begin_write().await.expect("a write transaction");
    Store::save_lock_state_recording(
        &mut tx,
        id,
        LockState::Locked { since: now },
        event(id),
        now,
    )
    .await
    .expect("saved and recorded");
    tx.commit().await.expect("committed");
    let locked_at = "SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL";
    assert_eq!(app.count(locked_at).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'account_locked' AND detail = 'by the test'")
            .await,
        1
    );

    if app.store.backend() == Backend::Postgres {
        // An event about an account that does not exist breaks its foreign key.
        let mut conn = app.store.pool().acquire().await.expect("a connection");
        let opened = LockState::Open { failures: 0 };
        let failed =
            Store::save_lock_state_recording(&mut conn, id, opened, event(id + 1000), now).await;
        assert!(failed.is_err(), "an event about no account was recorded");
        assert_eq!(
            app.count(locked_at).await,
            1,
            "the lock state was saved alone"
        );
    }
}
