//! The real binary's startup: configuration errors, providers, the generated secret.

use crate::helpers::*;
use reqwest::StatusCode;
use std::process::Command;

#[test]
fn a_bad_setting_stops_startup_with_a_message_naming_the_variable() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(data.path())
        .env("LOCKOUT_THRESHOLD", "zero")
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .expect("the server runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LOCKOUT_THRESHOLD"), "{stderr}");
    assert!(
        stderr.contains("`zero` must be a whole number from 1 to 100"),
        "{stderr}"
    );
    assert!(
        !data.path().join("data").exists(),
        "nothing is created when the configuration is refused"
    );
}

#[test]
fn a_product_name_that_makes_texts_longer_than_one_sms_stops_startup() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(data.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PRODUCT_NAME", "Łódź Konto")
        .env("SERVER_SECRET", "ab".repeat(32))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/l.db", data.path().display()),
        )
        .output()
        .expect("the server runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PRODUCT_NAME (\"Łódź Konto\")"), "{stderr}");
    assert!(stderr.contains("UCS-2"), "{stderr}");
    assert!(
        !data.path().join("l.db").exists(),
        "nothing is created when the texts cannot be sent"
    );
}

#[test]
fn an_unreachable_postgresql_stops_startup_at_once_with_the_reason() {
    // A port nothing listens on: the connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    let data = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(data.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("postgres://latchkey@{closed}/latchkey"),
        )
        .env("SERVER_SECRET", "ab".repeat(32))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .expect("the server runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not open the PostgreSQL database"),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
}

#[tokio::test]
async fn the_outbox_page_exists_only_while_the_outbox_is_the_provider() {
    let outbox = spawn_app().await;
    let page = outbox
        .client
        .get(outbox.url("/dev/outbox"))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page
        .text()
        .await
        .expect("html")
        .contains("Development only"));

    let log = spawn_app_with(&[("SMS_PROVIDER", "log")]).await;
    for path in ["/dev/outbox", "/dev/outbox.json"] {
        let response = log
            .client
            .get(log.url(path))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Delivery still works through the log provider.
    log.seed_account("ada@example.com", "+14155552671", "sms")
        .await;
    log.fail_logins("ada@example.com", 3).await;
    log.deliver_all().await;
    let sent: (String, String) = sqlx::query_as("SELECT status, provider FROM sms_messages")
        .fetch_one(log.store.pool())
        .await
        .expect("one message");
    assert_eq!(sent, ("sent".to_owned(), "log".to_owned()));
}

#[tokio::test]
async fn a_checkpoint_copies_the_whole_log_and_writers_rarely_do_it_themselves() {
    // SQLite's write-ahead log, so SQLite even when the suite runs against PostgreSQL.
    let data = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}/latchkey.db", data.path().display());
    let app = spawn_app_with(&[("DATABASE_URL", &url)]).await;
    let wal_autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(app.store.pool())
        .await
        .expect("the setting");
    assert_eq!(
        wal_autocheckpoint, 20_000,
        "writers rarely checkpoint themselves"
    );
    app.sign_up("ada@example.com", "+14155552671").await;
    // With no reader holding an old snapshot, a passive checkpoint copies every page.
    let mut settled = false;
    for _ in 0..50 {
        let (log, copied) = app.store.checkpoint().await.expect("a checkpoint");
        if log > 0 && log == copied {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(settled, "the log was never fully copied back");
}
