//! Malicious lockout, end to end at the default limits: an attacker who knows the email, from a
//! new address for every step (IPv4 addresses and IPv6 networks, through the trusted proxy header),
//! spends reset codes, burns codes with wrong guesses, asks for new unlock codes and locks the
//! account again and again, while the clock runs through the hour. The owner must keep a way in:
//! a trusted browser signs in throughout; a new browser gets a working unlock code at once.

use crate::helpers::*;
use reqwest::StatusCode;
use std::cell::Cell;
use time::Duration;

const EMAIL: &str = "ada@example.com";
const PHONE: &str = "+14155552671";

/// The server at its default limits (the test harness raises the per-client ones), behind a
/// proxy whose header names the client.
async fn spawn_at_default_limits() -> TestApp {
    spawn_app_with(&[
        ("RATE_LIMIT_LOGIN", "30"),
        ("RATE_LIMIT_CODE", "10"),
        ("RATE_LIMIT_SIGNUP", "10"),
        ("SEND_MAX_PER_IP_PER_HOUR", "20"),
        ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await
}

/// The attacker: a new browser at a new address for every step.
struct Attacker<'a> {
    app: &'a TestApp,
    step: Cell<u32>,
}

impl Attacker<'_> {
    fn next_address(&self) -> String {
        let step = self.step.get();
        self.step.set(step + 1);
        if step.is_multiple_of(2) {
            format!("203.0.{}.{}", step / 250, step % 250 + 1)
        } else {
            format!("2001:db8:{step:x}::1")
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        new_client()
            .post(self.app.url(path))
            .header("Accept", "application/json")
            .header("X-Forwarded-For", self.next_address())
            .form(form)
            .send()
            .await
            .expect("answered")
    }

    /// One round of the attack: a reset code asked for and a wrong one offered, a new unlock
    /// code asked for and a wrong one offered, then three wrong passwords.
    async fn round(&self) {
        self.post("/api/request-reset", &[("email", EMAIL)]).await;
        self.post(
            "/api/reset-password",
            &[
                ("email", EMAIL),
                ("code", "000000"),
                ("new_password", "attacker's password"),
                ("new_password_confirm", "attacker's password"),
            ],
        )
        .await;
        self.post("/api/resend-code", &[("email", EMAIL)]).await;
        self.post("/api/unlock", &[("email", EMAIL), ("code", "000000")])
            .await;
        for _ in 0..3 {
            self.post(
                "/api/login",
                &[("email", EMAIL), ("password", "a wrong guess")],
            )
            .await;
        }
    }
}

/// The owner on a browser that never signed in: asks for an unlock code, reads it from the phone
/// and unlocks. The code asked for must arrive, and work.
async fn owner_unlocks_from_a_new_browser(app: &TestApp, address: Option<&str>) {
    let browser = new_client();
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let mut request = browser
            .post(app.url(path))
            .header("Accept", "application/json")
            .form(&form);
        if let Some(address) = address {
            request = request.header("X-Forwarded-For", address);
        }
        request.send()
    };
    let sent_before = app
        .count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock' AND status <> 'decoy'")
        .await;
    let resend = post("/api/resend-code", vec![("email", EMAIL.to_owned())])
        .await
        .expect("answered");
    assert_eq!(resend.status(), StatusCode::OK);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock' AND status <> 'decoy'"
        )
        .await,
        sent_before + 1,
        "a code really went to the phone"
    );
    let code = app.latest_code(PHONE, "unlock").await;
    let unlocked = post(
        "/api/unlock",
        vec![("email", EMAIL.to_owned()), ("code", code)],
    )
    .await
    .expect("answered");
    assert_eq!(unlocked.status(), StatusCode::OK, "the owner's code works");
}

#[tokio::test]
async fn an_owner_with_a_trusted_browser_is_never_locked_out_by_an_attack_from_many_addresses() {
    let app = spawn_at_default_limits().await;
    // The owner signs up at home (127.0.0.1): that browser is trusted, that network familiar.
    app.sign_up(EMAIL, PHONE).await;
    let attacker = Attacker {
        app: &app,
        step: Cell::new(0),
    };
    // Two rounds a minute for an hour: far more than every per-account cap allows.
    for minute in 0..60 {
        attacker.round().await;
        attacker.round().await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
                .await,
            1,
            "minute {minute}: the attack keeps the account locked for strangers"
        );
        match minute % 20 {
            // A new browser at home: its code comes from the reserve others cannot spend.
            4 => owner_unlocks_from_a_new_browser(&app, None).await,
            9 | 19 => {
                let trusted = app.log_in(EMAIL, PASSWORD).await;
                assert_eq!(
                    json(trusted).await["status"],
                    "signed_in",
                    "minute {minute}: the trusted browser signs in"
                );
            }
            _ => {}
        }
        app.clock.advance(Duration::minutes(1));
    }
    // What the attack cost: the phone got at most the per-account caps' worth of texts.
    let texts = app
        .count("SELECT COUNT(*) FROM sms_messages WHERE status <> 'decoy'")
        .await;
    assert!(texts < 60, "{texts} texts in the hour");
}

#[tokio::test]
async fn an_owner_with_no_trusted_browser_gets_a_working_unlock_code_at_once() {
    let app = spawn_at_default_limits().await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    // The owner has no trusted browser, and asks from a network none ever signed in from.
    let forgotten = app.count("SELECT COUNT(*) FROM trusted_devices").await;
    assert_eq!(forgotten, 1);
    let mut tx = app.store.begin_write().await.expect("a transaction");
    sqlx::query("DELETE FROM trusted_devices")
        .execute(&mut *tx)
        .await
        .expect("deleted");
    tx.commit().await.expect("committed");

    // The attack of the report, from a new address each time: reset codes until one client's
    // share of the hour is spent, a wrong guess at each, and the lock; then again every 12 minutes.
    let attacker = Attacker {
        app: &app,
        step: Cell::new(0),
    };
    for round in 0..5 {
        attacker.round().await;
        assert_eq!(
            app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL")
                .await,
            1
        );
        owner_unlocks_from_a_new_browser(&app, Some(&format!("198.51.100.{}", round + 1))).await;
        app.clock.advance(Duration::minutes(12));
    }
}
