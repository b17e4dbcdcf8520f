//! Code scopes: a code issued in one scope never works in another. For each of the six scopes,
//! a live code of that scope is offered to the five other scopes' endpoints (each refused), and
//! then to its own (accepted): thirty refused pairs, six accepted.

use crate::helpers::*;
use reqwest::StatusCode;
use server::domain::{CodeScope, Email};
use server::store::{Role, Store};

const EMAIL: &str = "ada@example.com";
const NEW_PASSWORD: &str = "another long pass phrase";

struct Scene {
    app: TestApp,
    /// Waits at the sign-in code step (right password given, sign-in codes on).
    pending: reqwest::Client,
    /// The phone on file, and the two numbers a phone change alternates between.
    phone: String,
    spare: [String; 2],
}

impl Scene {
    /// The number the next phone change moves to.
    fn next_number(&self) -> String {
        if self.phone == self.spare[0] {
            self.spare[1].clone()
        } else {
            self.spare[0].clone()
        }
    }

    /// Issues a fresh code of `scope` (with the contexts every scope's endpoint needs) and
    /// returns it.
    async fn issue(&mut self, scope: CodeScope) -> String {
        let app = &self.app;
        // A right password in a second browser: it waits for a sign-in code.
        self.pending = new_client();
        let login = app
            .post_with(
                &self.pending,
                "/api/login",
                &[("email", EMAIL), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(json(login).await["status"], "code_required");
        // A phone change waiting for its code.
        let new_number = self.next_number();
        let started = app
            .post(
                "/api/change-phone",
                &[("current_password", PASSWORD), ("phone", &new_number)],
            )
            .await;
        assert_eq!(started.status(), StatusCode::OK);
        let (to, sent) = match scope {
            CodeScope::SignIn => (self.phone.clone(), None),
            CodeScope::PhoneChange => (new_number, None),
            CodeScope::PhoneVerification => (
                self.phone.clone(),
                Some(app.post("/api/send-verification", &[]).await),
            ),
            CodeScope::PasswordReset => (
                self.phone.clone(),
                Some(app.post("/api/request-reset", &[("email", EMAIL)]).await),
            ),
            CodeScope::AdminStepUp => (
                self.phone.clone(),
                Some(app.post("/api/admin/send-code", &[]).await),
            ),
            CodeScope::Unlock => {
                app.fail_logins(EMAIL, 3).await;
                (self.phone.clone(), None)
            }
        };
        if let Some(sent) = sent {
            assert_eq!(sent.status(), StatusCode::OK, "{}", scope.as_str());
        }
        app.latest_code(&to, scope.as_str()).await
    }

    /// Offers `code` to the endpoint of `scope`.
    async fn redeem(&self, scope: CodeScope, code: &str) -> reqwest::Response {
        let app = &self.app;
        match scope {
            CodeScope::PhoneVerification => app.post("/api/verify-phone", &[("code", code)]).await,
            CodeScope::SignIn => {
                app.post_with(&self.pending, "/api/sign-in-code", &[("code", code)])
                    .await
            }
            CodeScope::Unlock => app.unlock(EMAIL, code).await,
            CodeScope::PasswordReset => {
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
            CodeScope::PhoneChange => {
                app.post("/api/confirm-phone-change", &[("code", code)])
                    .await
            }
            CodeScope::AdminStepUp => app.post("/api/admin/step-up", &[("code", code)]).await,
        }
    }
}

#[tokio::test]
async fn a_code_works_only_in_the_scope_it_was_issued_for() {
    let app = spawn_app_with(&[
        ("SEND_COOLDOWN", "0"),
        ("SEND_MAX_PER_HOUR", "1000"),
        ("SEND_MAX_PER_HOUR_ALL_CLIENTS", "1000"),
        // A refused code keeps its own scope's live code usable.
        ("CODE_MAX_TRIES", "3"),
    ])
    .await;
    let phone = "+14155552671".to_owned();
    app.sign_up(EMAIL, &phone).await;
    let mut tx = app.store.begin_write().await.expect("a transaction");
    Store::set_role(&mut tx, &Email::parse(EMAIL).expect("valid"), Role::Admin)
        .await
        .expect("updated");
    tx.commit().await.expect("committed");
    let enabled = app
        .post("/api/sign-in-code-setting", &[("enabled", "on")])
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let mut scene = Scene {
        app,
        pending: new_client(),
        phone,
        spare: ["+14155559001".to_owned(), "+14155559002".to_owned()],
    };

    // The password reset ends every session, so it comes last.
    let order = [
        CodeScope::PhoneVerification,
        CodeScope::SignIn,
        CodeScope::Unlock,
        CodeScope::PhoneChange,
        CodeScope::AdminStepUp,
        CodeScope::PasswordReset,
    ];
    assert_eq!(order.len(), CodeScope::ALL.len());
    let mut refused_pairs = 0;
    for issued_in in order {
        let code = scene.issue(issued_in).await;
        for tried_in in CodeScope::ALL.iter().copied().filter(|s| *s != issued_in) {
            let response = scene.redeem(tried_in, &code).await;
            let status = response.status();
            let error = error_kind(response).await;
            assert_eq!(
                (status, error.as_str()),
                (StatusCode::BAD_REQUEST, "invalid_code"),
                "a {} code offered as {}",
                issued_in.as_str(),
                tried_in.as_str()
            );
            refused_pairs += 1;
        }
        let accepted = scene.redeem(issued_in, &code).await;
        assert_eq!(
            accepted.status(),
            StatusCode::OK,
            "a {} code in its own scope",
            issued_in.as_str()
        );
        if issued_in == CodeScope::PhoneChange {
            scene.phone = scene.next_number();
        }
    }
    assert_eq!(refused_pairs, 30);
    // Each refusal was recorded under the scope it was offered to.
    assert_eq!(
        scene
            .app
            .count("SELECT COUNT(*) FROM audit_events WHERE kind = 'code_rejected'")
            .await,
        30
    );
}
