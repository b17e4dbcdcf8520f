//! The delivery queue survives a crash: the real `server` binary is killed (SIGKILL) with a code
//! message queued but not yet delivered, started again on the same database, and sends the message
//! exactly once. Killed while Twilio holds a send unanswered, the restarted instance takes the
//! message back at once (not after its 2-minute lease) and finds it at Twilio instead of texting
//! the code twice.

use crate::ambiguous_sends::{twilio_that_takes_texts_and_never_answers, NoAnswer, Seen};
use crate::helpers::{code_in, signup_form, test_database_url, PASSWORD};
use crate::mock_provider::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PHONE: &str = "+14155552671";
const EMAIL: &str = "ada@example.com";

/// A `server` process and the address it listens on.
struct ServerProcess {
    child: Child,
    address: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary in `data` (so no `.env` is read) on `database_url`, with `twilio_url` as
/// Twilio's API.
fn start_server(data: &Path, database_url: &str, twilio_url: &str) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(data)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LEPTOS_OUTPUT_NAME", "latchkey")
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", database_url)
        .env("SERVER_SECRET", "cd".repeat(32))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("SMS_PROVIDERS", "twilio")
        // The same name across the restart: the restarted instance takes back what it held.
        .env("INSTANCE_ID", "durability-test")
        .env("TWILIO_BASE_URL", twilio_url)
        .env("TWILIO_ACCOUNT_SID", "ACtest")
        .env("TWILIO_AUTH_TOKEN", "test-token")
        .env("TWILIO_FROM", "+14155550000")
        // The signup's verification code and the unlock code go out back to back.
        .env("SEND_COOLDOWN", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                if let Some(found) = found.take() {
                    let _ = found.send(line[at + "listening on ".len()..].trim().to_owned());
                }
            }
        }
    });
    let address = address
        .recv_timeout(Duration::from_secs(60))
        .expect("the server reports its address");
    ServerProcess { child, address }
}

async fn database(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url)
        .await
        .expect("the database opens")
}

/// (status, attempts) of the unlock message.
async fn unlock_message(pool: &sqlx::AnyPool) -> Option<(String, i64)> {
    sqlx::query_as("SELECT status, attempts FROM sms_messages WHERE purpose = 'unlock'")
        .fetch_optional(pool)
        .await
        .expect("a query")
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_message_queued_before_a_crash_is_sent_once_after_the_restart() {
    let data = tempfile::tempdir().expect("a temporary directory");
    // Twilio unreachable at first: the port is closed, so the first attempt fails and is retried.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        format!("http://{}", listener.local_addr().expect("an address"))
    };
    let database_url = test_database_url(data.path()).await;
    let first = start_server(data.path(), &database_url, &closed);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client");
    let post = |address: &str, path: &str, form: Vec<(&'static str, String)>| {
        client
            .post(format!("{address}{path}"))
            .header("Accept", "application/json")
            .form(&form)
            .send()
    };
    let signup = post(
        &first.address,
        "/api/signup",
        vec![
            ("email", EMAIL.to_owned()),
            ("password", PASSWORD.to_owned()),
            ("password_confirm", PASSWORD.to_owned()),
            ("phone", PHONE.to_owned()),
            ("first_name", "Ada".to_owned()),
            ("last_name", "Lovelace".to_owned()),
        ],
    )
    .await
    .expect("signup answered");
    assert_eq!(signup.status(), 200);
    for _ in 0..3 {
        post(
            &first.address,
            "/api/login",
            vec![
                ("email", EMAIL.to_owned()),
                ("password", "wrong password".to_owned()),
            ],
        )
        .await
        .expect("login answered");
    }
    let pool = database(&database_url).await;
    wait_for("the first attempt has failed", || async {
        unlock_message(&pool).await == Some(("queued".to_owned(), 1))
    })
    .await;

    // Crash: no shutdown, no chance to finish anything.
    drop(first);

    let twilio = MockProvider::start(vec![("/Messages.json", 201, TWILIO_SENT)]).await;
    let second = start_server(data.path(), &database_url, &twilio.base_url);
    wait_for("the message is sent", || async {
        unlock_message(&pool).await.map(|(status, _)| status) == Some("sent".to_owned())
    })
    .await;
    // Give a duplicate every chance to appear.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The signup's phone verification message is delivered too; the unlock message only once.
    let sent: Vec<_> = twilio
        .seen("/Messages.json")
        .into_iter()
        .filter(|seen| seen.field("Body").contains("Unlock code"))
        .collect();
    assert_eq!(sent.len(), 1, "sent exactly once");
    assert_eq!(sent[0].field("To"), PHONE);

    let code = code_in(sent[0].field("Body"));
    let unlock = post(
        &second.address,
        "/api/unlock",
        vec![("email", EMAIL.to_owned()), ("code", code)],
    )
    .await
    .expect("unlock answered");
    assert_eq!(unlock.status(), 200, "the code from before the crash works");
}

#[tokio::test]
async fn a_send_cut_off_by_a_crash_is_settled_at_the_restart_without_a_second_text() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
    // Twilio takes the text and never answers, so the server is killed mid-send.
    let twilio =
        twilio_that_takes_texts_and_never_answers(std::sync::Arc::clone(&seen), NoAnswer::Hang)
            .await;
    let database_url = test_database_url(data.path()).await;
    let first = start_server(data.path(), &database_url, &twilio);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client");
    let signup = client
        .post(format!("{}/api/signup", first.address))
        .header("Accept", "application/json")
        .form(&signup_form(EMAIL, PHONE))
        .send()
        .await
        .expect("signup answered");
    assert_eq!(signup.status(), 200);
    let pool = database(&database_url).await;
    let verification = || async {
        sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT status, provider_message_id FROM sms_messages WHERE purpose = 'phone_verification'",
        )
        .fetch_optional(&pool)
        .await
        .expect("a query")
    };
    wait_for(
        "Twilio holds the text and the message is being sent",
        || async {
            let posted = seen.lock().map(|seen| seen.posted.len()).unwrap_or(0);
            posted == 1
                && verification().await.map(|(status, _)| status) == Some("sending".to_owned())
        },
    )
    .await;

    // Crash mid-send: the message stays `sending`, leased for two minutes.
    drop(first);
    let restarted = Instant::now();
    let _second = start_server(data.path(), &database_url, &twilio);
    wait_for("the message is settled", || async {
        verification().await.map(|(status, _)| status) == Some("sent".to_owned())
    })
    .await;
    let settled_in = restarted.elapsed();
    assert!(
        settled_in < Duration::from_secs(30),
        "settled at the restart, not after the lease: {settled_in:?}"
    );
    let (_, provider_message_id) = verification().await.expect("the message");
    assert_eq!(
        provider_message_id.as_deref(),
        Some(format!("SM{:032}", 0).as_str())
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = seen.lock().expect("the record");
    assert_eq!(seen.posted.len(), 1, "texted once: {:?}", seen.posted);
    assert!(seen.lookups >= 1);
}
