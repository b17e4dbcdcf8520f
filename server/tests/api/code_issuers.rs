//! Codes issued and checked by a managed verification service (`CODE_ISSUER=twilio_verify`),
//! end to end against a stand-in for Twilio Verify on 127.0.0.1 that makes its own codes and
//! answers as Twilio documents: the lockout, reset and sign-in-code flows; a code of one scope
//! refused in another; Latchkey's own code over the SMS providers when the service is down, and
//! a clear answer when there is no fallback; nothing spent while the service cannot check.

use crate::helpers::*;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode as MockStatus, Uri},
    response::IntoResponse,
    Router,
};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const EMAIL: &str = "ada@example.com";
const PHONE: &str = "+14155552671";
const SERVICE: &str = "VAe2e00000000000000000000000000000";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// One verification the stand-in started.
#[derive(Debug, Clone)]
struct Verification {
    to: String,
    channel: String,
    code: String,
    status: &'static str,
    wrong_checks: u32,
}

#[derive(Default)]
struct VerifyState {
    verifications: Vec<Verification>,
    /// Every request's path, in order.
    requests: Vec<String>,
    /// Answer every start with 503.
    starts_down: bool,
    /// Answer every check with 503.
    checks_down: bool,
}

/// Twilio Verify, played: `POST …/Verifications` makes a 6-digit code for `To`; `POST
/// …/Verifications/{To}` with `Status=canceled` cancels that number's pending one (404 if none);
/// `POST …/VerificationCheck` answers `approved` once for the right code, `pending` for a wrong
/// one (`max_attempts_reached` after five), 404 for one no longer pending.
#[derive(Clone)]
struct FakeVerify {
    base_url: String,
    state: Arc<Mutex<VerifyState>>,
}

impl FakeVerify {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(VerifyState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{address}"),
            state,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut VerifyState) -> T) -> T {
        let mut state = self.state.lock().expect("the stand-in's state");
        f(&mut state)
    }

    /// The code of the newest verification to `to`.
    fn code_for(&self, to: &str) -> String {
        self.with(|state| {
            state
                .verifications
                .iter()
                .rev()
                .find(|verification| verification.to == to)
                .map(|verification| verification.code.clone())
                .expect("a verification was started")
        })
    }

    fn started(&self) -> Vec<Verification> {
        self.with(|state| state.verifications.clone())
    }

    fn requests_to(&self, suffix: &str) -> usize {
        self.with(|state| {
            state
                .requests
                .iter()
                .filter(|path| path.ends_with(suffix))
                .count()
        })
    }
}

fn twilio_error(status: u16, code: u32, message: &str) -> (MockStatus, String) {
    (
        MockStatus::from_u16(status).unwrap_or(MockStatus::INTERNAL_SERVER_ERROR),
        format!(r#"{{"code": {code}, "message": "{message}", "status": {status}}}"#),
    )
}

async fn answer(
    State(state): State<Arc<Mutex<VerifyState>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let path = uri.path().to_owned();
    let mut state = state.lock().expect("the stand-in's state");
    state.requests.push(path.clone());
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "ACe2e:e2e-token"
        )
    );
    let (status, body) = if headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        != Some(expected.as_str())
    {
        twilio_error(401, 20003, "Authentication Error")
    } else if let Some(to) = path
        .strip_prefix(&format!("/v2/Services/{SERVICE}/Verifications/"))
        .map(|to| to.replace("%2B", "+"))
    {
        match state
            .verifications
            .iter_mut()
            .find(|verification| verification.to == to && verification.status == "pending")
        {
            Some(pending) if field("Status") == "canceled" => {
                pending.status = "canceled";
                (MockStatus::OK, r#"{"status": "canceled"}"#.to_owned())
            }
            _ => twilio_error(404, 20404, "The requested resource was not found"),
        }
    } else if path == format!("/v2/Services/{SERVICE}/Verifications") {
        if state.starts_down {
            twilio_error(503, 20503, "Service Unavailable")
        } else {
            let sid = format!("VE{:032}", state.verifications.len() + 1);
            let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
            state.verifications.push(Verification {
                to: field("To"),
                channel: field("Channel"),
                code,
                status: "pending",
                wrong_checks: 0,
            });
            (
                MockStatus::CREATED,
                format!(r#"{{"sid": "{sid}", "status": "pending", "valid": false}}"#),
            )
        }
    } else if path == format!("/v2/Services/{SERVICE}/VerificationCheck") {
        let index = field("VerificationSid")
            .strip_prefix("VE")
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| number.checked_sub(1));
        let code = field("Code");
        if state.checks_down {
            twilio_error(503, 20503, "Service Unavailable")
        } else {
            match index.and_then(|index| state.verifications.get_mut(index)) {
                Some(verification) if verification.status == "pending" => {
                    if verification.code == code {
                        verification.status = "approved";
                    } else {
                        verification.wrong_checks += 1;
                        if verification.wrong_checks >= 5 {
                            verification.status = "max_attempts_reached";
                        }
                    }
                    let status = if verification.code == code {
                        "approved"
                    } else {
                        verification.status
                    };
                    (
                        MockStatus::OK,
                        format!(
                            r#"{{"status": "{status}", "valid": {}}}"#,
                            status == "approved"
                        ),
                    )
                }
                _ => twilio_error(404, 20404, "The requested resource was not found"),
            }
        }
    } else {
        twilio_error(404, 20404, "The requested resource was not found")
    };
    (status, [("content-type", "application/json")], body)
}

/// Settings under which only sign-in codes come from the service, and every sign-in asks for one.
const SIGN_IN_CODES_ONLY: [(&str, &str); 3] = [
    ("CODE_ISSUER", "latchkey"),
    ("CODE_ISSUER_SIGN_IN", "twilio_verify"),
    ("SIGN_IN_CODE", "required"),
];

/// A server whose codes Twilio Verify (the stand-in) issues, with three tries per code.
async fn app_with_verify(verify: &FakeVerify, extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("CODE_ISSUER", "twilio_verify"),
        ("TWILIO_VERIFY_BASE_URL", verify.base_url.as_str()),
        ("TWILIO_ACCOUNT_SID", "ACe2e"),
        ("TWILIO_AUTH_TOKEN", "e2e-token"),
        ("TWILIO_VERIFY_SERVICE_SID", SERVICE),
        ("CODE_MAX_TRIES", "3"),
        ("SEND_COOLDOWN", "0"),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

async fn reset_password(app: &TestApp, code: &str) -> reqwest::Response {
    app.post(
        "/api/reset-password",
        &[
            ("email", EMAIL),
            ("code", code),
            ("new_password", NEW_PASSWORD),
            ("new_password_confirm", NEW_PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn a_locked_account_is_unlocked_with_the_code_the_service_sent_and_only_once() {
    let verify = FakeVerify::start().await;
    let app = app_with_verify(&verify, &[]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;

    let started = verify.started();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].to, PHONE);
    assert_eq!(started[0].channel, "sms");
    // The service sent the code: nothing went to the providers, and no code is kept in the queue.
    assert!(app.outbox().await.is_empty());
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE provider = 'twilio_verify' \
             AND status = 'sent' AND body IS NULL AND provider_message_id LIKE 'VE%'"
        )
        .await,
        1
    );

    let code = verify.code_for(PHONE);
    let wrong = app.unlock(EMAIL, &wrong_code(&code)).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(wrong).await, "invalid_code");
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
    assert_eq!(app.log_in(EMAIL, PASSWORD).await.status(), StatusCode::OK);
    // Single use: the same code again is refused.
    app.fail_logins(EMAIL, 3).await;
    let again = app.unlock(EMAIL, &code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE kind = 'account_unlocked'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_code_the_service_sent_for_one_scope_never_passes_another() {
    let verify = FakeVerify::start().await;
    let app = app_with_verify(&verify, &[]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;
    let unlock_code = verify.code_for(PHONE);

    let asked = app.post("/api/request-reset", &[("email", EMAIL)]).await;
    assert_eq!(asked.status(), StatusCode::OK);
    app.deliver_all().await;
    let reset_code = verify.code_for(PHONE);
    // Twilio keeps one pending verification per number: the unlock one was cancelled first.
    assert_eq!(
        verify.requests_to(&format!("/Verifications/%2B{}", &PHONE[1..])),
        2
    );

    let crossed = reset_password(&app, &unlock_code).await;
    assert_eq!(crossed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(crossed).await, "invalid_code");
    let crossed_back = app.unlock(EMAIL, &reset_code).await;
    assert_eq!(crossed_back.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reset_password(&app, &reset_code).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.log_in(EMAIL, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_sign_in_code_from_the_service_opens_the_session() {
    let verify = FakeVerify::start().await;
    // Only sign-in codes come from the service: the signup's phone code is Latchkey's own.
    let app = app_with_verify(&verify, &SIGN_IN_CODES_ONLY).await;
    app.sign_up(EMAIL, PHONE).await;
    assert!(verify.started().is_empty());
    let browser = new_client();
    let response = app
        .post_with(
            &browser,
            "/api/login",
            &[("email", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(json(response).await["status"], "code_required");
    app.deliver_all().await;
    let code = verify.code_for(PHONE);
    let done = app
        .post_with(&browser, "/api/sign-in-code", &[("code", &code)])
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let me = browser
        .get(app.url("/api/me"))
        .send()
        .await
        .expect("answered");
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn when_the_service_is_down_latchkeys_own_code_goes_out_through_the_providers() {
    let verify = FakeVerify::start().await;
    verify.with(|state| state.starts_down = true);
    let app = app_with_verify(&verify, &[("SMS_PROVIDERS", "outbox")]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    // Two tries at the service, a backoff apart; then the providers.
    app.send_due().await;
    app.clock.advance(time::Duration::minutes(1));
    app.send_due().await;
    app.deliver_all().await;
    assert_eq!(verify.requests_to("/Verifications"), 2);
    let code = app.latest_code(PHONE, "unlock").await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE provider = 'outbox' AND status = 'sent' \
             AND code_service IS NULL"
        )
        .await,
        1
    );
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_fallback_a_code_the_service_cannot_send_is_reported_failed() {
    let verify = FakeVerify::start().await;
    verify.with(|state| state.starts_down = true);
    let app = app_with_verify(&verify, &SIGN_IN_CODES_ONLY).await;
    app.sign_up(EMAIL, PHONE).await;
    let browser = new_client();
    app.post_with(
        &browser,
        "/api/login",
        &[("email", EMAIL), ("password", PASSWORD)],
    )
    .await;
    app.send_due().await;
    app.clock.advance(time::Duration::minutes(1));
    app.send_due().await;
    let status = browser
        .get(app.url("/api/code-delivery"))
        .query(&[("flow", "sign_in")])
        .send()
        .await
        .expect("answered");
    let status = json(status).await;
    assert_eq!(status["failed"], true, "{status}");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE purpose = 'sign_in' AND status = 'failed' \
             AND provider = 'twilio_verify'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM sms_messages WHERE purpose = 'sign_in' AND provider = 'outbox'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn while_the_service_cannot_check_nothing_is_spent_and_the_person_is_told_to_wait() {
    let verify = FakeVerify::start().await;
    let app = app_with_verify(&verify, &[("CODE_MAX_TRIES", "1")]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;
    let code = verify.code_for(PHONE);

    verify.with(|state| state.checks_down = true);
    let refused = app.unlock(EMAIL, &wrong_code(&code)).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after(&refused), 30);
    assert_eq!(error_kind(refused).await, "code_service_unavailable");

    verify.with(|state| state.checks_down = false);
    // One try per code: had the refused attempt counted, the right code would now be spent.
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_email_asks_no_service() {
    let verify = FakeVerify::start().await;
    let app = app_with_verify(&verify, &[]).await;
    app.fail_logins("nobody@example.com", 3).await;
    app.deliver_all().await;
    let refused = app.unlock("nobody@example.com", "123456").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(refused).await, "invalid_code");
    assert!(verify.started().is_empty());
    assert_eq!(verify.requests_to("/VerificationCheck"), 0);
}

#[tokio::test]
async fn a_code_asked_for_by_call_is_a_twilio_call() {
    let verify = FakeVerify::start().await;
    let app = app_with_verify(&verify, &[]).await;
    app.seed_account(EMAIL, PHONE, "voice").await;
    app.fail_logins(EMAIL, 3).await;
    app.deliver_all().await;
    assert_eq!(verify.started()[0].channel, "call");
    let code = verify.code_for(PHONE);
    assert_eq!(app.unlock(EMAIL, &code).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_send_limits_and_the_pumping_guard_hold_before_the_service_is_asked() {
    let verify = FakeVerify::start().await;
    let app = app_with_verify(&verify, &[("SEND_COOLDOWN", "60s")]).await;
    app.seed_account(EMAIL, PHONE, "sms").await;
    let first = app.post("/api/request-reset", &[("email", EMAIL)]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = app.post("/api/request-reset", &[("email", EMAIL)]).await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    app.deliver_all().await;
    assert_eq!(
        verify.started().len(),
        1,
        "the refused request asked the service nothing"
    );

    // A premium-rate number (as if stored under an older policy) gets no code, from anyone.
    sqlx::query("UPDATE accounts SET phone_e164 = '+19005550199'")
        .execute(app.store.pool())
        .await
        .expect("updated");
    app.clock.advance(time::Duration::minutes(2));
    let refused = app.post("/api/request-reset", &[("email", EMAIL)]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_kind(refused).await, "undeliverable_phone");
    app.deliver_all().await;
    assert_eq!(verify.started().len(), 1);
}
