//! The adversarial suite: every endpoint fed hostile, oversized, empty, mistyped, truncated and
//! malformed input (well over 200 cases), with zero 5xx and nothing stored half-way; plus races
//! against the send limits.

use crate::helpers::*;
use futures_util::future::join_all;
use reqwest::StatusCode;

const FIELDS: [&str; 9] = [
    "email",
    "password",
    "password_confirm",
    "phone",
    "first_name",
    "last_name",
    "code",
    "new_password",
    "new_password_confirm",
];

/// Values an attacker or a broken client sends.
fn hostile_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "' OR '1'='1",
        "'; DROP TABLE accounts; --",
        "\" OR \"\"=\"",
        "admin'--",
        "1; SELECT * FROM sessions",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:alert(1)",
        "{{7*7}}",
        "${jndi:ldap://127.0.0.1/a}",
        "../../../../etc/passwd",
        "\u{0}",
        "\u{202e}gnp.exe",
        "\u{feff}ada@example.com",
        "ada@example.com\r\nBcc: x@example.com",
        "%00",
        "%",
        "١٢٣٤٥٦",
        "-1",
        "9999999999999999999999999",
        "0x41",
        "   ",
        "",
        "null",
        "true",
        "[]",
        "{}",
        "😀😀😀😀😀😀😀😀",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    values.push("7".repeat(10_000));
    values
}

/// A form with every field set to `value`.
fn form_of(value: &str) -> Vec<(&'static str, String)> {
    FIELDS
        .iter()
        .map(|field| (*field, value.to_owned()))
        .collect()
}

async fn state(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) FROM accounts").await,
        app.count("SELECT COUNT(*) FROM verification_codes").await,
        app.count("SELECT COUNT(*) FROM sms_messages WHERE status != 'decoy'")
            .await,
        app.count("SELECT COUNT(*) FROM accounts WHERE locked_at IS NOT NULL OR failed_logins > 0")
            .await,
    )
}

#[tokio::test]
async fn two_hundred_and_more_hostile_requests_get_no_server_error_and_change_nothing() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let before = state(&app).await;
    let mut cases = 0usize;

    // Every endpoint, every field set to each hostile value; a 1 MB value goes into one field at a
    // time, so that the body stays under the 2 MiB limit and reaches validation.
    let one_megabyte = "a".repeat(1024 * 1024);
    let mut forms: Vec<Vec<(&'static str, String)>> = hostile_values()
        .iter()
        .map(|value| form_of(value))
        .collect();
    for field in FIELDS {
        let mut form = form_of("x");
        if let Some(slot) = form.iter_mut().find(|(name, _)| *name == field) {
            slot.1 = one_megabyte.clone();
        }
        forms.push(form);
    }
    for endpoint in ENDPOINTS {
        for form in &forms {
            let response = app
                .client
                .post(app.url(endpoint))
                .header("Accept", "application/json")
                .form(form)
                .send()
                .await
                .expect("answered");
            let status = response.status();
            let sample: String = form
                .iter()
                .map(|(_, value)| value.chars().take(20).collect::<String>())
                .collect::<Vec<_>>()
                .join("|");
            assert!(
                !status.is_server_error(),
                "{endpoint} with {sample:?}: {status}"
            );
            cases += 1;
        }
    }

    // Malformed bodies: truncated, wrong types, wrong encodings, wrong content types.
    let raw_bodies: [(&str, &[u8]); 10] = [
        (
            "application/x-www-form-urlencoded",
            b"email=nobody%40example.com&pass",
        ),
        (
            "application/x-www-form-urlencoded",
            b"email=%E0%A4%A&password=x",
        ),
        ("application/x-www-form-urlencoded", b"\xff\xfe\xfd\xfc"),
        (
            "application/x-www-form-urlencoded",
            b"email[]=a&email[]=b&password=x",
        ),
        (
            "application/x-www-form-urlencoded",
            b"email=a&email=b&password=x&password=y",
        ),
        ("application/x-www-form-urlencoded", b"=&=&=&"),
        (
            "application/json",
            b"{\"email\": \"nobody@example.com\", \"password\": 5}",
        ),
        ("application/json", b"{\"email\": "),
        ("text/plain", b"email=nobody@example.com&password=x"),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nada\r\n--",
        ),
    ];
    for endpoint in ENDPOINTS {
        for (content_type, body) in raw_bodies {
            let response = app
                .client
                .post(app.url(endpoint))
                .header("Accept", "application/json")
                .header("Content-Type", content_type)
                .body(body.to_vec())
                .send()
                .await
                .expect("answered");
            let status = response.status();
            assert!(
                !status.is_server_error(),
                "{endpoint} with {content_type} {body:?}: {status}"
            );
            cases += 1;
        }
    }

    // Wrong methods and unknown paths.
    for endpoint in ENDPOINTS {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let response = app
                .client
                .request(method.clone(), app.url(endpoint))
                .send()
                .await
                .expect("answered");
            assert!(
                !response.status().is_server_error(),
                "{method} {endpoint}: {}",
                response.status()
            );
            cases += 1;
        }
    }

    // Bodies over the 2 MiB limit, refused by their declared length.
    for endpoint in ENDPOINTS {
        let status = app
            .status_for_declared_length(endpoint, 3 * 1024 * 1024)
            .await;
        assert_eq!(status, 413, "{endpoint}");
        cases += 1;
    }

    assert!(cases >= 200, "only {cases} cases ran");
    // Hostile sign-in attempts count as failures against ada only if they name her; none did.
    assert_eq!(state(&app).await, before, "nothing was stored half-way");
}

#[tokio::test]
async fn twenty_parallel_resets_queue_one_message_under_the_cooldown() {
    let app = spawn_app().await;
    app.sign_up("ada@example.com", "+14155552671").await;
    let requests = (0..20).map(|_| {
        let client = new_client();
        let app = &app;
        async move {
            app.post_with(
                &client,
                "/api/request-reset",
                &[("email", "ada@example.com")],
            )
            .await
            .status()
        }
    });
    let statuses = join_all(requests).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        19
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'password_reset'")
            .await,
        1
    );
}

#[tokio::test]
async fn parallel_resends_never_exceed_the_hourly_cap() {
    let app = spawn_app_with(&[("SEND_COOLDOWN", "0")]).await;
    app.sign_up("ada@example.com", "+14155552671").await;
    app.fail_logins("ada@example.com", 3).await;
    let requests = (0..30).map(|_| {
        let client = new_client();
        let app = &app;
        async move {
            app.post_with(&client, "/api/resend-code", &[("email", "ada@example.com")])
                .await
                .status()
        }
    });
    join_all(requests).await;
    // The lock's message plus four resends: five in the hour, never more.
    assert_eq!(app.count("SELECT COUNT(*) FROM sms_messages").await, 5);
}
