//! Hostile input and clients: huge and malformed values never produce a 500, invisible characters
//! cannot make look-alike accounts, every answer carries the security headers, IPv6 clients are
//! limited by network, and waits tell the truth.

use crate::helpers::*;
use reqwest::StatusCode;
use time::Duration;

#[tokio::test]
async fn a_huge_unknown_admin_action_is_a_short_malformed_request_not_a_500() {
    let app = spawn_app().await;
    let huge = "x".repeat(200 * 1024);
    let response = app
        .post(
            "/api/admin/act",
            &[("account_id", "1"), ("action", huge.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["error"], "malformed_request");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.chars().count() <= 201,
        "the detail is cut short: {} characters",
        detail.chars().count()
    );
}

#[tokio::test]
async fn a_field_that_is_not_utf8_is_a_malformed_request_and_changes_nothing() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/signup"))
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=ada%40example.com&password={PASSWORD}&password_confirm={PASSWORD}\
             &phone=%2B14155552671&first_name=Ada%FF%FE&last_name=Lovelace"
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["error"], "malformed_request");
    assert_eq!(
        body["detail"],
        "the form field `first_name` is not valid UTF-8"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn invisible_and_text_direction_characters_are_refused_in_emails_and_names() {
    let app = spawn_app().await;
    let cases = [
        ("ada\u{200B}@example.com", "Ada", "Lovelace", "email"),
        ("ada@example.com", "Ada\u{202E}", "Lovelace", "first_name"),
        ("ada@example.com", "Ada", "Love\u{2066}lace", "last_name"),
    ];
    for (email, first, last, field) in cases {
        let response = app
            .post(
                "/api/signup",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                    ("phone", "+14155552671"),
                    ("first_name", first),
                    ("last_name", last),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        let body = json(response).await;
        assert_eq!(body["fields"][0]["field"], field, "{body}");
        assert!(
            body["fields"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("invisible or text-direction characters"),
            "{body}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

#[tokio::test]
async fn a_body_refused_for_its_size_carries_the_security_headers() {
    let app = spawn_app().await;
    let head = app
        .head_for_declared_length("/api/signup", 6 * 1024 * 1024)
        .await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let head = head.to_ascii_lowercase();
    for header in [
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "content-security-policy:",
        "referrer-policy: same-origin",
    ] {
        assert!(head.contains(header), "{header} missing from {head}");
    }
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_the_bare_name_is_ignored() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://auth.example.com")]).await;
    app.seed_account("ada@example.com", "+14155552671", "sms")
        .await;
    let response = app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.contains("latchkey_session="))
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
    assert!(cookie.contains("; Path=/") && cookie.contains("; Secure"));
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let token = cookie
        .trim_start_matches("__Host-latchkey_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let me = |cookie: String| {
        new_client()
            .get(app.url("/api/me"))
            .header("Accept", "application/json")
            .header("Cookie", cookie)
            .send()
    };
    let signed_in = me(format!("__Host-latchkey_session={token}"))
        .await
        .expect("answered");
    assert_eq!(signed_in.status(), StatusCode::OK);
    let bare = me(format!("latchkey_session={token}"))
        .await
        .expect("answered");
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ipv6_clients_of_one_network_share_their_limits() {
    let app = spawn_app_with(&[
        ("RATE_LIMIT_LOGIN", "2"),
        ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await;
    // A wrong password for a new unknown email each time: 401, never a lock.
    let attempt = std::sync::atomic::AtomicUsize::new(0);
    let login_from = |client: &'static str| {
        let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        app.client
            .post(app.url("/api/login"))
            .header("Accept", "application/json")
            .header("X-Forwarded-For", client)
            .form(&[
                ("email", format!("nobody{n}@example.com")),
                ("password", "whatever".to_owned()),
            ])
            .send()
    };
    for client in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"] {
        let response = login_from(client).await.expect("answered");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{client}");
    }
    let same_network = login_from("2001:db8:1:2:abcd::7").await.expect("answered");
    assert_eq!(same_network.status(), StatusCode::TOO_MANY_REQUESTS);
    let other_network = login_from("2001:db8:1:3::1").await.expect("answered");
    assert_eq!(other_network.status(), StatusCode::UNAUTHORIZED);

    // An IPv4-mapped address is the IPv4 client it maps.
    for _ in 0..2 {
        login_from("203.0.113.5").await.expect("answered");
    }
    let mapped = login_from("::ffff:203.0.113.5").await.expect("answered");
    assert_eq!(mapped.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_per_ip_send_cap_counts_an_ipv6_network_as_one_client() {
    let app = spawn_app_with(&[
        ("SEND_MAX_PER_IP_PER_HOUR", "2"),
        ("TRUSTED_PROXY_HEADER", "X-Forwarded-For"),
    ])
    .await;
    let reset_from = |email: &'static str, client: &'static str| {
        app.client
            .post(app.url("/api/request-reset"))
            .header("Accept", "application/json")
            .header("X-Forwarded-For", client)
            .form(&[("email", email)])
            .send()
    };
    let first = reset_from("one@example.com", "2001:db8:5::1")
        .await
        .expect("answered");
    assert_eq!(first.status(), StatusCode::OK);
    let second = reset_from("two@example.com", "2001:db8:5::2")
        .await
        .expect("answered");
    assert_eq!(second.status(), StatusCode::OK);
    let third = reset_from("three@example.com", "2001:db8:5:0:1::3")
        .await
        .expect("answered");
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = reset_from("three@example.com", "2001:db8:6::3")
        .await
        .expect("answered");
    assert_eq!(elsewhere.status(), StatusCode::OK);
}

#[tokio::test]
async fn retry_after_is_the_wait_until_a_code_can_really_be_sent() {
    let app = spawn_app().await;
    app.seed_account("ada@example.com", "+14155552671", "sms")
        .await;
    // Five codes an hour, a minute and a second apart; then, 10 s after the fifth, a sixth.
    for sent in 1..=5 {
        let response = app
            .post("/api/request-reset", &[("email", "ada@example.com")])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "code {sent}");
        if sent < 5 {
            app.clock.advance(Duration::seconds(61));
        }
    }
    app.clock.advance(Duration::seconds(10));
    // The cooldown ends in 50 s, but the hourly cap holds until the first code is an hour old.
    let refused = app
        .post("/api/request-reset", &[("email", "ada@example.com")])
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&refused);
    assert_eq!(
        wait,
        60 * 60 - 4 * 61 - 10,
        "Retry-After {wait} s: the hourly cap's wait, not the cooldown's"
    );
}

#[tokio::test]
async fn a_first_reset_request_reveals_nothing_of_the_owners_recent_codes() {
    let app = spawn_app_with(&[("TRUSTED_PROXY_HEADER", "X-Forwarded-For")]).await;
    app.seed_account("ada@example.com", "+14155552671", "sms")
        .await;
    let reset_from = |email: &'static str, client: String| {
        new_client()
            .post(app.url("/api/request-reset"))
            .header("Accept", "application/json")
            .header("X-Forwarded-For", client)
            .form(&[("email", email)])
            .send()
    };
    // The owner asks for a code; seconds later a stranger asks for one for the same email.
    let owner = reset_from("ada@example.com", "198.51.100.1".to_owned())
        .await
        .expect("answered");
    assert_eq!(owner.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(5));
    for email in ["ada@example.com", "nobody@example.com"] {
        let stranger = reset_from(email, "203.0.113.9".to_owned())
            .await
            .expect("answered");
        assert_eq!(stranger.status(), StatusCode::OK, "{email}");
    }

    // Strangers from many addresses use up the account's shared hour: the next one is answered
    // as before, and nothing more is sent; an unknown email answers alike.
    for n in 10..40 {
        reset_from("ada@example.com", format!("203.0.113.{n}"))
            .await
            .expect("answered");
    }
    let texts = app
        .count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'password_reset'")
        .await;
    assert_eq!(texts, 10, "the shared hourly cap for all clients");
    for email in ["ada@example.com", "nobody@example.com"] {
        let late = reset_from(email, "203.0.113.200".to_owned())
            .await
            .expect("answered");
        assert_eq!(late.status(), StatusCode::OK, "{email}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sms_messages WHERE purpose = 'password_reset'")
            .await,
        10
    );
}

#[tokio::test]
async fn a_sign_in_flood_is_shed_before_hashing_and_trusted_browsers_go_first() {
    let app = spawn_app_with(&[("PASSWORD_HASHING_MAX_WAIT", "1s")]).await;
    app.seed_account("ada@example.com", "+14155552671", "sms")
        .await;
    let flood = (0..300).map(|n| {
        let app = &app;
        async move {
            let response = app
                .post_with(
                    &new_client(),
                    "/api/login",
                    &[
                        ("email", format!("stranger{n}@example.com").as_str()),
                        ("password", "a wrong guess"),
                    ],
                )
                .await;
            let status = response.status();
            let wait = retry_after(&response);
            (status, wait, json(response).await)
        }
    });
    let owner = async {
        // In the middle of the flood.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        let response = app.log_in("ada@example.com", PASSWORD).await;
        (started.elapsed(), json(response).await)
    };
    let (answers, (owner_took, owner_answer)) =
        tokio::join!(futures_util::future::join_all(flood), owner);

    assert_eq!(owner_answer["status"], "signed_in", "{owner_answer}");
    let shed: Vec<_> = answers
        .iter()
        .filter(|(status, ..)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!shed.is_empty(), "some of the flood is shed");
    for (_, wait, body) in &shed {
        assert_eq!(body["error"], "busy", "{body}");
        assert!(*wait >= 1, "Retry-After says when to come back");
    }
    assert!(
        answers
            .iter()
            .all(|(status, ..)| *status == StatusCode::UNAUTHORIZED
                || *status == StatusCode::SERVICE_UNAVAILABLE),
        "only wrong passwords and refusals, never a 500"
    );
    // Shed requests counted nothing: no unknown email reached its lock.
    assert!(
        owner_took < std::time::Duration::from_secs(5),
        "the trusted browser's sign-in took {owner_took:?}"
    );
}
