//! `spawn_app()` and the requests the tests share.

use leptos::prelude::LeptosOptions;
use reqwest::{redirect::Policy, Response, StatusCode};
use serde_json::Value;
use server::clock::{Clock, ManualClock};
use server::config::Config;
use server::maintenance::Maintenance;
use server::sms::receipts::DeliveryQuestions;
use server::sms::worker::DeliveryWorker;
use server::startup::Application;
use server::store::Store;
use std::collections::HashMap;
use std::sync::Arc;

pub const PASSWORD: &str = "correct horse battery staple";

/// Every state-changing endpoint of the API.
pub const ENDPOINTS: [&str; 21] = [
    "/api/signup",
    "/api/login",
    "/api/unlock",
    "/api/resend-code",
    "/api/request-reset",
    "/api/reset-password",
    "/api/logout",
    "/api/verify-phone",
    "/api/send-verification",
    "/api/sign-in-code",
    "/api/resend-sign-in-code",
    "/api/sign-in-code-setting",
    "/api/change-phone",
    "/api/confirm-phone-change",
    "/api/admin/send-code",
    "/api/admin/step-up",
    "/api/admin/act",
    "/api/unlock-email",
    "/api/check-field",
    "/api/forget-device",
    "/api/delivery-preference",
];

/// The endpoints of `ENDPOINTS` whose every field is optional.
pub const ENDPOINTS_WITHOUT_REQUIRED_FIELDS: [&str; 5] = [
    "/api/logout",
    "/api/send-verification",
    "/api/resend-sign-in-code",
    "/api/sign-in-code-setting",
    "/api/admin/send-code",
];

pub struct TestApp {
    pub address: String,
    /// Keeps cookies, like a browser.
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    pub worker: DeliveryWorker,
    /// Asks the providers that report delivery only when asked (RingCentral).
    pub delivery_questions: DeliveryQuestions,
    pub maintenance: Maintenance,
    /// The database this server uses (for running the `server admin` command against it).
    pub database_url: String,
    _data: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with the given settings on top of the test defaults.
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    spawn_app_serving(
        settings,
        LeptosOptions::builder().output_name("latchkey").build(),
    )
    .await
}

/// Starts a server with the given settings and Leptos options (site root, hashed file names).
pub async fn spawn_app_serving(
    settings: &[(&str, &str)],
    leptos_options: LeptosOptions,
) -> TestApp {
    // Server logs only on request: `TEST_LOG=1 cargo test …`.
    if std::env::var_os("TEST_LOG").is_some() {
        server::telemetry::init();
    }
    let data = tempfile::tempdir().expect("a temporary directory");
    let database_url = if settings.iter().any(|(name, _)| *name == "DATABASE_URL") {
        String::new()
    } else {
        test_database_url(data.path()).await
    };
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".to_owned(), database_url),
        ("SERVER_SECRET".to_owned(), "ab".repeat(32)),
        ("LISTEN_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        // Every test client is 127.0.0.1: per-client limits are raised here and tested on their own.
        ("RATE_LIMIT_LOGIN".to_owned(), "100000".to_owned()),
        ("RATE_LIMIT_CODE".to_owned(), "100000".to_owned()),
        ("RATE_LIMIT_SIGNUP".to_owned(), "100000".to_owned()),
        ("SEND_MAX_PER_IP_PER_HOUR".to_owned(), "100000".to_owned()),
        // Concurrency tests queue many hashes on a busy machine; the queue's limit is tested on
        // its own (hardening.rs).
        ("PASSWORD_HASHING_MAX_WAIT".to_owned(), "3600s".to_owned()),
        // Likewise the wait for a database connection (resilience.rs tests the short one).
        ("DATABASE_ACQUIRE_TIMEOUT".to_owned(), "60s".to_owned()),
    ]);
    for (name, value) in settings {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("valid test settings");
    let database_url = config.database.url.clone();
    let clock = Arc::new(ManualClock::starting_now());
    let application = Application::build(config, leptos_options, clock.clone() as Arc<dyn Clock>)
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let store = application.store();
    let worker = application.delivery_worker();
    let delivery_questions = application.delivery_questions();
    let maintenance = application.maintenance();
    tokio::spawn(application.run_until(std::future::pending()));
    TestApp {
        address,
        client: new_client(),
        clock,
        store,
        worker,
        delivery_questions,
        maintenance,
        database_url,
        _data: data,
    }
}

/// The variable naming a PostgreSQL server (a URL to a database there, as a user who may create
/// databases) to run the tests against, instead of SQLite; `scripts/with-postgres.sh` sets it.
pub const POSTGRES_VARIABLE: &str = "LATCHKEY_TEST_POSTGRES";

/// A fresh, empty database for one test: a new database on the PostgreSQL server named by
/// `LATCHKEY_TEST_POSTGRES` when it is set, else a SQLite file in `dir`.
pub async fn test_database_url(dir: &std::path::Path) -> String {
    match postgres_test_database_url().await {
        Some(url) => url,
        None => format!("sqlite://{}/latchkey.db", dir.display()),
    }
}

/// A new database on the PostgreSQL server of `LATCHKEY_TEST_POSTGRES`; `None` when it is not
/// set (the suite runs on SQLite), for tests of what PostgreSQL alone does.
pub async fn postgres_test_database_url() -> Option<String> {
    let server = std::env::var(POSTGRES_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty())?;
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .unwrap_or_else(|error| panic!("{POSTGRES_VARIABLE}={server} does not answer: {error}"));
    let name = format!("latchkey_test_{}", hex::encode(rand::random::<[u8; 16]>()));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("a test database is created");
    let _ = admin.close().await;
    let mut url = url::Url::parse(&server).expect("LATCHKEY_TEST_POSTGRES is a URL");
    url.set_path(&name);
    Some(url.to_string())
}

/// A client with its own cookie jar (a second browser). A request that stalls fails the test after
/// a minute instead of hanging the suite.
/// Waits until `done` answers true, asking every 20 ms; fails, saying `what` did not happen, after
/// `limit`.
pub async fn eventually<F, Fut>(limit: std::time::Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("a client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a form to an API path as the wasm client does (JSON back, no redirect).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_with(&self.client, path, form).await
    }

    pub async fn post_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(path))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("the request is answered")
    }

    /// POSTs a form as a browser without JavaScript does from the page at `page` (it asks for
    /// HTML and names the page as `Referer`): the answer is a redirect.
    pub async fn post_from_page(
        &self,
        client: &reqwest::Client,
        path: &str,
        page: &str,
        form: &[(&str, &str)],
    ) -> Response {
        client
            .post(self.url(path))
            .header("Accept", "text/html")
            .header("Referer", self.url(page))
            .form(form)
            .send()
            .await
            .expect("the request is answered")
    }

    /// Signs up a fresh account, verifies its phone with the code from the outbox (which signs
    /// in), and moves the clock past the send cooldown that code started, so the test begins with
    /// a quiet, signed-in account.
    pub async fn sign_up(&self, email: &str, phone: &str) {
        self.sign_up_with(&self.client, email, phone).await;
        self.wait_out_cooldown().await;
    }

    /// `sign_up` as `client`, without moving the clock.
    pub async fn sign_up_with(&self, client: &reqwest::Client, email: &str, phone: &str) {
        let ending = self.start_sign_up_with(client, email, phone).await;
        let code = self
            .latest_code_to_ending(&ending, "phone_verification")
            .await;
        let verified = self
            .post_with(client, "/api/verify-phone", &[("code", &code)])
            .await;
        assert_eq!(
            verified.status(),
            StatusCode::OK,
            "{}",
            verified.text().await.unwrap_or_default()
        );
    }

    /// An account that finished signing up, written straight to the store (no verification code
    /// is sent), then signed in over HTTP: for tests about a provider, where a signup's own
    /// message would be in the way. `delivery` is `sms` or `voice`.
    pub async fn seed_account(&self, email: &str, phone: &str, delivery: &str) {
        use server::auth::password_hasher::{HashingPriority, PasswordHasher};
        use server::domain::{Email, Password, PersonName, PhoneNumber, PhoneRegion};
        let hash = PasswordHasher::new(1, HashingPriority::Normal)
            .expect("a hasher")
            .hash(&Password::parse_new(PASSWORD).expect("a valid password"))
            .await
            .expect("hashed");
        let email_value = Email::parse(email).expect("a valid email");
        let phone_value = PhoneNumber::parse(phone, PhoneRegion::parse("US").expect("US"))
            .expect("a valid phone");
        let first = PersonName::parse("Ada", "first name").expect("a name");
        let last = PersonName::parse("Lovelace", "last name").expect("a name");
        let now = self.clock.now();
        let mut tx = self.store.begin_write().await.expect("a transaction");
        let id = Store::insert_account(
            &mut tx,
            server::store::NewAccount {
                email: &email_value,
                password_hash: &hash,
                phone: &phone_value,
                first_name: &first,
                last_name: &last,
                delivery_channel: server::sms::DeliveryChannel::parse(delivery)
                    .expect("sms or voice"),
            },
            now,
        )
        .await
        .expect("inserted")
        .expect("a new email");
        Store::mark_phone_verified(&mut tx, id, now)
            .await
            .expect("verified");
        tx.commit().await.expect("committed");
        let response = self.log_in(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Posts the signup form as `client`, whatever the answer.
    pub async fn post_signup(
        &self,
        client: &reqwest::Client,
        email: &str,
        phone: &str,
    ) -> Response {
        self.post_with(client, "/api/signup", &signup_form(email, phone))
            .await
    }

    /// Posts the signup form only (the phone is not verified yet); returns the phone ending.
    pub async fn start_sign_up_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        phone: &str,
    ) -> String {
        let response = self.post_signup(client, email, phone).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap_or_default()
        );
        json(response).await["phone_ending"]
            .as_str()
            .expect("the phone ending")
            .to_owned()
    }

    /// The code in the newest `purpose` message to a number ending in `ending`.
    pub async fn latest_code_to_ending(&self, ending: &str, purpose: &str) -> String {
        let outbox = self.outbox().await;
        let message = outbox
            .iter()
            .find(|entry| {
                entry["purpose"] == purpose
                    && entry["to"].as_str().is_some_and(|to| to.ends_with(ending))
            })
            .unwrap_or_else(|| panic!("no {purpose} message to …{ending} in {outbox:?}"));
        code_in(message["body"].as_str().unwrap_or_default())
    }

    /// Moves the clock past the send cooldown, so that another code may be sent to the account.
    /// Delivery settles first: a clock jump past the worker's lease while a message is being sent
    /// would let a second worker take it over (in real time a send ends long before the lease).
    pub async fn wait_out_cooldown(&self) {
        self.deliver_all().await;
        self.clock.advance(time::Duration::seconds(61));
    }

    /// Moves the clock to the start of the next whole minute: the per-IP cap and the global budget
    /// count sends by the minute, so their waits depend on where in a minute the test runs.
    pub fn move_clock_to_a_whole_minute(&self) {
        let into_minute = self
            .clock
            .now()
            .unix_timestamp_nanos()
            .rem_euclid(60_000_000_000);
        if into_minute > 0 {
            self.clock.advance(time::Duration::nanoseconds(
                i64::try_from(60_000_000_000 - into_minute).expect("under a minute"),
            ));
        }
    }

    pub async fn unlock(&self, email: &str, code: &str) -> Response {
        self.post("/api/unlock", &[("email", email), ("code", code)])
            .await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Response {
        self.post("/api/login", &[("email", email), ("password", password)])
            .await
    }

    /// Signs in from a browser that never signed in before (not trusted), with its own cookies.
    pub async fn log_in_from_new_browser(&self, email: &str, password: &str) -> Response {
        self.post_with(
            &new_client(),
            "/api/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Fails `times` logins with a wrong password, with a fresh client so the caller's session
    /// is untouched.
    pub async fn fail_logins(&self, email: &str, times: usize) -> Vec<Response> {
        let attacker = new_client();
        let mut responses = Vec::new();
        for _ in 0..times {
            responses.push(
                self.post_with(
                    &attacker,
                    "/api/login",
                    &[("email", email), ("password", "wrong password")],
                )
                .await,
            );
        }
        responses
    }

    /// Sends whatever is queued and waits until no message is still being sent.
    pub async fn deliver_all(&self) {
        self.worker.drain().await.expect("the queue drains");
        // The server's own worker may hold a message it claimed first: wait (bounded) for it.
        for _ in 0..200 {
            let pending = self
                .count("SELECT COUNT(*) FROM sms_messages WHERE status IN ('queued', 'sending')")
                .await;
            if pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("messages were still queued or sending after 2 seconds");
    }

    /// Sends what is due now, and waits until no message is being sent (the server's own worker
    /// may hold one); messages queued for later stay queued.
    pub async fn send_due(&self) {
        self.worker.drain().await.expect("the queue drains");
        for _ in 0..300 {
            if self
                .count("SELECT COUNT(*) FROM sms_messages WHERE status = 'sending'")
                .await
                == 0
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("a message was still being sent after 3 seconds");
    }

    /// The HTML of the page at `path`, as `client` (a browser) gets it.
    pub async fn page_html(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("answered")
            .text()
            .await
            .unwrap_or_default()
    }

    /// Delivers whatever is queued, then returns the outbox (newest first).
    pub async fn outbox(&self) -> Vec<Value> {
        self.deliver_all().await;
        let response = self
            .client
            .get(self.url("/dev/outbox.json"))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("outbox JSON")
    }

    /// The code in the newest message to `phone_e164` for `purpose`.
    pub async fn latest_code(&self, phone_e164: &str, purpose: &str) -> String {
        let outbox = self.outbox().await;
        let message = outbox
            .iter()
            .find(|entry| entry["to"] == phone_e164 && entry["purpose"] == purpose)
            .unwrap_or_else(|| panic!("no {purpose} message to {phone_e164} in {outbox:?}"));
        code_in(message["body"].as_str().unwrap_or_default())
    }

    /// The status the server answers to a POST that declares a body of `length` bytes, read on a
    /// raw connection before any body is sent (a refusal by length comes before the body is read,
    /// and a client still writing it would only see the connection close).
    pub async fn status_for_declared_length(&self, path: &str, length: usize) -> u16 {
        let head = self.head_for_declared_length(path, length).await;
        head.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"))
    }

    /// The status line and headers of that answer.
    pub async fn head_for_declared_length(&self, path: &str, length: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.address.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connected");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {length}\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("headers written");
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while !answer.windows(4).any(|window| window == b"\r\n\r\n") {
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut chunk))
                    .await
                    .expect("answered in time")
                    .expect("read");
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..read]);
        }
        String::from_utf8_lossy(&answer).to_string()
    }

    pub async fn me(&self) -> Response {
        self.client
            .get(self.url("/api/me"))
            .send()
            .await
            .expect("answered")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.store.pool())
            .await
            .expect("a count")
    }
}

/// The code from the origin-bound last line, `@host #123456`.
pub fn code_in(body: &str) -> String {
    body.rsplit('#')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A different code of the same length.
pub fn wrong_code(code: &str) -> String {
    code.chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect()
}

/// The signup form of Ada Lovelace, with `PASSWORD`, for `email` and `phone`.
pub fn signup_form<'a>(email: &'a str, phone: &'a str) -> [(&'static str, &'a str); 6] {
    [
        ("email", email),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("phone", phone),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
    ]
}

/// A header of an answer as text ("" without one).
pub fn header(response: &Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `Retry-After` seconds of an answer (0 without one).
pub fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

pub async fn error_kind(response: Response) -> String {
    json(response).await["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
