//! An unknown email cannot be told from a real one: not by the answers, not by their timing.

use crate::helpers::*;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

const PHONE: &str = "+14155552671";

#[tokio::test]
async fn an_unknown_email_locks_at_the_same_failure_with_a_decoy_ending() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let real = app.fail_logins("ada@example.com", 4).await;
    let unknown = app.fail_logins("nobody@example.com", 4).await;
    for (real, unknown) in real.into_iter().zip(unknown) {
        assert_eq!(real.status(), unknown.status());
        let (real, unknown) = (json(real).await, json(unknown).await);
        assert_eq!(real.get("status"), unknown.get("status"));
        assert_eq!(real.get("error"), unknown.get("error"));
    }
    let decoy = json(app.log_in("nobody@example.com", PASSWORD).await).await;
    assert_eq!(decoy["status"], "locked");
    let ending = decoy["phone_ending"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(ending.len() == 4 && ending.chars().all(|c| c.is_ascii_digit()));
    // The same decoy everywhere the email shows an ending.
    app.wait_out_cooldown().await;
    let resend = json(
        app.post("/api/resend-code", &[("email", "nobody@example.com")])
            .await,
    )
    .await;
    assert_eq!(resend["phone_ending"], ending.as_str());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'unlock'")
            .await,
        1
    );
}

#[tokio::test]
async fn signing_up_clears_the_failures_counted_for_the_email() {
    let app = spawn_app().await;
    app.fail_logins("ada@example.com", 3).await;
    app.sign_up("ada@example.com", PHONE).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM unknown_login_failures")
            .await,
        0
    );
    assert_eq!(
        app.log_in("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

/// The median time of `rounds` wrong-password logins for each email, interleaved.
async fn medians(app: &TestApp, emails: [&str; 2], rounds: usize) -> [Duration; 2] {
    let mut samples = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, email) in emails.iter().enumerate() {
            let started = Instant::now();
            let response = app.log_in(email, "not the password").await;
            samples[i].push(started.elapsed());
            assert!(!response.status().is_server_error());
        }
    }
    samples.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    })
}

fn assert_indistinguishable([a, b]: [Duration; 2], what: &str) {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    // Both are dominated by one argon2 verification; a missing one would double the time.
    assert!(
        high.as_secs_f64() <= low.as_secs_f64() * 1.35 + 0.005,
        "{what}: medians {a:?} and {b:?} differ too much"
    );
}

#[tokio::test]
async fn a_wrong_password_takes_as_long_for_an_unknown_email_as_for_a_real_one() {
    let app = spawn_app_with(&[("LOCKOUT_THRESHOLD", "100")]).await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    let times = medians(&app, ["ada@example.com", "nobody@example.com"], 25).await;
    assert_indistinguishable(times, "wrong password vs unknown email");
}

#[tokio::test]
async fn a_locked_account_answers_as_slowly_as_a_wrong_password() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.seed_account("bob@example.com", "+14155552672", "sms")
        .await;
    app.fail_logins("ada@example.com", 3).await;
    // ada is locked (her answer needs no argon2); bob's wrong passwords are checked every time.
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..24 {
        let started = Instant::now();
        app.log_in("ada@example.com", "not the password").await;
        times[0].push(started.elapsed());
        let started = Instant::now();
        let response = app.log_in("bob@example.com", "not the password").await;
        times[1].push(started.elapsed());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        if round % 2 == 1 {
            // Keep bob below the lock: a success resets his count.
            app.log_in("bob@example.com", PASSWORD).await;
        }
    }
    let medians = times.map(|mut samples| {
        samples.sort();
        samples[samples.len() / 2]
    });
    assert_indistinguishable(medians, "locked vs wrong password");
}

#[tokio::test]
async fn the_send_limits_answer_alike_for_real_and_unknown_emails() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    for path in ["/api/request-reset", "/api/resend-code"] {
        for email in ["ada@example.com", "nobody@example.com"] {
            app.wait_out_cooldown().await;
            let first = app.post(path, &[("email", email)]).await;
            let second = app.post(path, &[("email", email)]).await;
            assert_eq!(first.status(), StatusCode::OK, "{path} {email}");
            assert_eq!(
                second.status(),
                StatusCode::TOO_MANY_REQUESTS,
                "{path} {email}"
            );
            assert_eq!(
                second
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("60")
            );
        }
    }
    // Only the real reset code was sent; the rest were decoys that never leave.
    assert_eq!(app.outbox().await.len(), 1);
}

#[tokio::test]
async fn right_after_a_lock_a_resend_is_refused_alike_for_real_and_unknown_emails() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    for email in ["ada@example.com", "nobody@example.com"] {
        let lock = app
            .fail_logins(email, 3)
            .await
            .pop()
            .expect("three answers");
        assert_eq!(json(lock).await["status"], "locked", "{email}");
        let resend = app.post("/api/resend-code", &[("email", email)]).await;
        assert_eq!(resend.status(), StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert_eq!(
            resend
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("60")
        );
    }
}

#[tokio::test]
async fn a_lock_whose_code_is_held_back_says_when_to_ask_again_alike_for_both() {
    let app = spawn_app_with(&[("SMS_MAX_PER_HOUR", "1")]).await;
    app.seed_account("ada@example.com", PHONE, "sms").await;
    app.move_clock_to_a_whole_minute();
    app.post("/api/request-reset", &[("email", "bob@example.com")])
        .await;
    for email in ["ada@example.com", "nobody@example.com"] {
        let lock = json(
            app.fail_logins(email, 3)
                .await
                .pop()
                .expect("three answers"),
        )
        .await;
        assert_eq!(lock["status"], "locked", "{email}");
        // The budget counts whole minutes: it frees an hour after the first one ends.
        assert_eq!(lock["retry_after_secs"], 3660, "{email}: {lock}");
    }
}
