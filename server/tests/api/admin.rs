//! The admin area: the role (granted by `server admin grant`), the step-up code tied to the
//! session and its expiry, search, the account view, the audited actions, and the 30-day counts.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use server::domain::Email;
use server::store::{Role, Store};
use time::Duration;

const ADMIN: &str = "root@example.com";
const ADMIN_PHONE: &str = "+14155550100";
const USER: &str = "ada@example.com";
const USER_PHONE: &str = "+14155552671";

/// Runs the real binary's admin command against the app's database.
fn server_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("SERVER_SECRET", "ab".repeat(32))
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the server binary runs")
}

async fn make_admin(app: &TestApp, email: &str) {
    let mut tx = app.store.begin_write().await.expect("a transaction");
    Store::set_role(
        &mut tx,
        &Email::parse(email).expect("an email"),
        Role::Admin,
    )
    .await
    .expect("updated")
    .expect("the account exists");
    tx.commit().await.expect("committed");
}

async fn gate(app: &TestApp) -> reqwest::Response {
    app.client
        .get(app.url("/api/admin/gate"))
        .send()
        .await
        .expect("answered")
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("answered");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The admin, signed in and stepped up.
async fn elevated_admin(app: &TestApp) {
    app.sign_up(ADMIN, ADMIN_PHONE).await;
    make_admin(app, ADMIN).await;
    let sent = app.post("/api/admin/send-code", &[]).await;
    assert_eq!(sent.status(), StatusCode::OK);
    let code = app.latest_code(ADMIN_PHONE, "admin_step_up").await;
    let opened = app.post("/api/admin/step-up", &[("code", &code)]).await;
    assert_eq!(opened.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_admin_command_grants_and_revokes_the_role() {
    let app = spawn_app().await;
    app.sign_up(USER, USER_PHONE).await;
    assert_eq!(gate(&app).await.status(), StatusCode::FORBIDDEN);

    let granted = server_command(&app, &["admin", "grant", "Ada@Example.com"]);
    assert!(granted.status.success(), "{granted:?}");
    assert!(String::from_utf8_lossy(&granted.stdout).contains("is now an admin"));
    assert_eq!(json(app.me().await).await["is_admin"], true);
    let gate_answer = json(gate(&app).await).await;
    assert_eq!(gate_answer["status"], "step_up_required");
    assert_eq!(gate_answer["phone_ending"], "2671");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'role_changed'")
            .await,
        1
    );

    let unknown = server_command(&app, &["admin", "grant", "nobody@example.com"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));
    let usage = server_command(&app, &["admin", "promote", USER]);
    assert_eq!(usage.status.code(), Some(2));

    let revoked = server_command(&app, &["admin", "revoke", USER]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(gate(&app).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn nobody_but_an_elevated_admin_gets_in() {
    let app = spawn_app().await;
    let response = gate(&app).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.sign_up(USER, USER_PHONE).await;
    let response = gate(&app).await;
    assert_eq!(error_kind(response).await, "forbidden");
    for (path, form) in [
        ("/api/admin/send-code", vec![]),
        ("/api/admin/step-up", vec![("code", "123456")]),
        (
            "/api/admin/act",
            vec![("account_id", "1"), ("action", "unlock")],
        ),
    ] {
        let response = app.post(path, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = get_json(&app, "/api/admin/search?q=ada").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The page tells a signed-in user it is only for administrators, with 403.
    let page = app
        .client
        .get(app.url("/admin"))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page
        .text()
        .await
        .unwrap_or_default()
        .contains("This page is only for administrators."));
    // The page itself sends a visitor without a session to sign in.
    let page = new_client()
        .get(app.url("/admin"))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_step_up_is_tied_to_its_session_and_ends_on_time() {
    let app = spawn_app_with(&[("ADMIN_ELEVATION_TTL", "10m")]).await;
    app.sign_up(ADMIN, ADMIN_PHONE).await;
    make_admin(&app, ADMIN).await;
    // Without a step-up, no admin data.
    let (status, body) = get_json(&app, "/api/admin/search?q=root").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "step_up_required");

    app.post("/api/admin/send-code", &[]).await;
    let code = app.latest_code(ADMIN_PHONE, "admin_step_up").await;
    let body = app.outbox().await[0]["body"].clone();
    assert!(body
        .as_str()
        .unwrap_or_default()
        .contains("valid 10 minutes"));
    assert_eq!(
        app.post("/api/admin/step-up", &[("code", &code)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(json(gate(&app).await).await["status"], "open");
    // Used once.
    assert_eq!(
        app.post("/api/admin/step-up", &[("code", &code)])
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // Another session of the same admin is not elevated.
    let other = new_client();
    app.post_with(
        &other,
        "/api/login",
        &[("email", ADMIN), ("password", PASSWORD)],
    )
    .await;
    let other_gate = other
        .get(app.url("/api/admin/gate"))
        .send()
        .await
        .expect("answered");
    assert_eq!(json(other_gate).await["status"], "step_up_required");

    app.clock
        .advance(Duration::minutes(10) - Duration::seconds(1));
    assert_eq!(json(gate(&app).await).await["status"], "open");
    app.clock.advance(Duration::seconds(1));
    assert_eq!(json(gate(&app).await).await["status"], "step_up_required");
    let (status, _) = get_json(&app, "/api/admin/search?q=root").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'admin_elevated'")
            .await,
        1
    );
}

#[tokio::test]
async fn search_finds_accounts_by_email_or_phone_ending() {
    let app = spawn_app().await;
    app.seed_account(USER, USER_PHONE, "sms").await;
    app.seed_account("grace@example.com", "+14155552672", "sms")
        .await;
    app.client
        .post(app.url("/api/logout"))
        .send()
        .await
        .expect("signed out");
    elevated_admin(&app).await;

    let emails = |body: &Value| -> Vec<String> {
        body.as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|a| a["email"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (status, body) = get_json(&app, "/api/admin/search?q=GRACE").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emails(&body), ["grace@example.com"]);
    assert_eq!(body[0]["masked_phone"], "+•••••••2672");
    let (_, body) = get_json(&app, "/api/admin/search?q=2671").await;
    assert_eq!(emails(&body), [USER]);
    let (_, body) = get_json(&app, "/api/admin/search?q=example.com").await;
    assert_eq!(emails(&body).len(), 3);
    let (_, body) = get_json(&app, "/api/admin/search?q=%25").await;
    assert_eq!(body["error"], "invalid_input");
    let (_, body) = get_json(&app, "/api/admin/search?q=a%25%25").await;
    assert_eq!(emails(&body).len(), 0, "% is matched literally");
    let (status, body) = get_json(&app, "/api/admin/search?q=12").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fields"][0]["field"], "query");
}

#[tokio::test]
async fn an_admin_sees_an_account_and_every_action_is_audited_with_the_admin() {
    let app = spawn_app().await;
    let user_browser = new_client();
    app.sign_up_with(&user_browser, USER, USER_PHONE).await;
    app.wait_out_cooldown().await;
    app.fail_logins(USER, 3).await;
    elevated_admin(&app).await;
    let user_id = account_id(&app, USER).await;
    let admin_id = account_id(&app, ADMIN).await;

    let (status, view) = get_json(&app, &format!("/api/admin/account?id={user_id}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "locked");
    assert_eq!(view["locked"], true);
    assert_eq!(view["masked_phone"], "+•••••••2671");
    assert!(view["phone_verified_at"].is_string());
    assert!(view["last_login_at"].is_string());
    assert_eq!(view["active_sessions"], 1);
    let kinds: Vec<&str> = view["events"]
        .as_array()
        .map(|events| events.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds[..2], ["code_sent", "account_locked"]);
    let messages = view["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages[0]["purpose"], "unlock");
    assert_eq!(messages[0]["status"], "sent");
    assert_eq!(messages[1]["purpose"], "phone_verification");
    let (status, _) = get_json(&app, "/api/admin/account?id=999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for id in ["999999", "not-a-number"] {
        let page = app
            .client
            .get(app.url(&format!("/admin/account?id={id}")))
            .send()
            .await
            .expect("answered");
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{id}");
        assert!(page
            .text()
            .await
            .unwrap_or_default()
            .contains("There is no such account."));
    }
    let page = app
        .client
        .get(app.url(&format!("/admin/account?id={user_id}")))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap_or_default().contains(USER));

    let act = |action: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/admin/act",
                &[("account_id", &user_id.to_string()), ("action", action)],
            )
            .await
            .status()
        }
    };
    // Unlock: the user signs in with the password again.
    assert_eq!(act("unlock").await, StatusCode::OK);
    assert_eq!(
        app.post_with(
            &new_client(),
            "/api/login",
            &[("email", USER), ("password", PASSWORD)]
        )
        .await
        .status(),
        StatusCode::OK
    );
    // End the sessions: the user's browser is signed out.
    assert_eq!(act("revoke_sessions").await, StatusCode::OK);
    assert_eq!(
        user_browser
            .get(app.url("/api/me"))
            .send()
            .await
            .expect("answered")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Force a reset: the password no longer signs in until it is reset by code.
    assert_eq!(act("force_password_reset").await, StatusCode::OK);
    let refused = app
        .post_with(
            &new_client(),
            "/api/login",
            &[("email", USER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_kind(refused).await, "password_reset_required");
    app.wait_out_cooldown().await;
    app.post("/api/request-reset", &[("email", USER)]).await;
    let code = app.latest_code(USER_PHONE, "password_reset").await;
    let new_password = "a brand new pass phrase";
    let reset = app
        .post(
            "/api/reset-password",
            &[
                ("email", USER),
                ("code", &code),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(
        app.post_with(
            &new_client(),
            "/api/login",
            &[("email", USER), ("password", new_password)]
        )
        .await
        .status(),
        StatusCode::OK
    );

    let actions: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT kind, account_id, actor_id FROM audit_events WHERE kind LIKE 'admin_%' \
         AND kind <> 'admin_elevated' ORDER BY id",
    )
    .fetch_all(app.store.pool())
    .await
    .expect("events");
    assert_eq!(
        actions,
        [
            ("admin_unlocked".to_owned(), Some(user_id), Some(admin_id)),
            (
                "admin_revoked_sessions".to_owned(),
                Some(user_id),
                Some(admin_id)
            ),
            (
                "admin_forced_reset".to_owned(),
                Some(user_id),
                Some(admin_id)
            ),
        ]
    );
    let bad = app
        .post(
            "/api/admin/act",
            &[("account_id", &user_id.to_string()), ("action", "delete")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_overview_counts_the_last_30_days() {
    let app = spawn_app().await;
    app.seed_account(USER, USER_PHONE, "sms").await;
    app.fail_logins(USER, 3).await;
    app.deliver_all().await;
    app.client
        .post(app.url("/api/logout"))
        .send()
        .await
        .expect("signed out");
    elevated_admin(&app).await;
    let access = json(gate(&app).await).await;
    let days = access["overview"]["days"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(days.len(), 30);
    let total = |name: &str| -> u64 { days.iter().filter_map(|day| day[name].as_u64()).sum() };
    // The user's and the admin's sign-ins; three failures; one lock; the unlock code, the admin's
    // verification and access codes.
    assert_eq!(total("sign_ins"), 2, "{days:?}");
    assert_eq!(total("failures"), 3);
    assert_eq!(total("locks"), 1);
    assert_eq!(total("messages_sent"), 3);
    assert_eq!(total("messages_failed"), 0);
    assert!(days[..28].iter().all(|day| day["sign_ins"] == 0));

    let page = app
        .client
        .get(app.url("/admin"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("data-series=\"Failed sign-ins\" data-total=\"3\""),
        "{page}"
    );
}

#[tokio::test]
async fn a_message_a_receipt_reported_delivered_shows_so_in_the_delivery_log() {
    let app = spawn_app().await;
    app.sign_up(USER, USER_PHONE).await;
    let (provider, provider_message_id): (String, String) = sqlx::query_as(
        "SELECT provider, provider_message_id FROM sms_messages WHERE purpose = 'phone_verification'",
    )
    .fetch_one(app.store.pool())
    .await
    .expect("the verification message");
    let recorded = app
        .store
        .record_delivery_outcome(
            &provider,
            &provider_message_id,
            &server::store::DeliveryOutcome::Delivered,
            server::clock::Clock::now(app.clock.as_ref()),
        )
        .await
        .expect("recorded");
    assert!(recorded);
    elevated_admin(&app).await;
    let user_id = account_id(&app, USER).await;
    let (status, view) = get_json(&app, &format!("/api/admin/account?id={user_id}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["messages"][0]["status"], "delivered");
    let page = app
        .page_html(&app.client, &format!("/admin/account?id={user_id}"))
        .await;
    assert!(
        page.contains(r#"<span class="badge badge-good">delivered"#),
        "a delivered message reads as good news: {}",
        page.split("Recent messages")
            .nth(1)
            .unwrap_or_default()
            .chars()
            .take(900)
            .collect::<String>()
    );
}

/// The id of the account with `email`.
async fn account_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(app.store.pool())
        .await
        .expect("the account")
}
