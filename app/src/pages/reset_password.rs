//! Set a new password with the code sent to the phone on file, for the account this browser
//! asked a reset code for.

use super::{
    capabilities, delivery_failure_without_script, flash_notice, page_flash, page_recovery,
};
use crate::api::{RequestReset, ResetPassword};
use crate::flash::Recovery;
use crate::islands::{CodeStatus, ResetPasswordForm};
use crate::types::{paths, CodeScope};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let flash = page_flash();
    view! {
        <Title text="Choose a new password · Latchkey"/>
        <section class="card">
            <h1>"Choose a new password"</h1>
            {flash_notice(&flash)}
            {match page_recovery() {
                Some(Recovery { email, .. }) => {
                    let capabilities = capabilities();
                    let resend_init = flash.form_init(RequestReset::PATH);
                    let resend_failed = resend_init.error.is_some();
                    view! {
                        <p class="muted">
                            "Account: " <strong>{email.clone()}</strong> " · "
                            <A href=paths::FORGOT_PASSWORD>"Use a different email"</A>
                        </p>
                        <ResetPasswordForm
                            email=email.clone()
                            length=capabilities.code_lengths.password_reset
                            init=flash.form_init(ResetPassword::PATH)
                        />
                        {delivery_failure_without_script()}
                        <CodeStatus
                            scope=CodeScope::PasswordReset
                            voice=capabilities.voice
                            email
                            init=resend_init
                            open=resend_failed
                        />
                    }
                    .into_any()
                }
                None => view! {
                    <p>
                        "Start by asking for a code: "
                        <A href=paths::FORGOT_PASSWORD>"Forgot password?"</A>
                    </p>
                }
                .into_any(),
            }}
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}
