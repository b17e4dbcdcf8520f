//! Verify the phone with the code sent to it: to finish a signup (or the sign-in of an unfinished
//! one), or, signed in, to prove the number again.

use super::{capabilities, delivery_failure_without_script, flash_notice, page_flash};
use crate::api::SendVerification;
use crate::islands::{CodeForm, CodeStatus, CodeStep};
use crate::types::{paths, CodeScope};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn VerifyPhonePage() -> impl IntoView {
    let flash = page_flash();
    let capabilities = capabilities();
    let resend_init = flash.form_init(SendVerification::PATH);
    let resend_failed = resend_init.error.is_some();
    view! {
        <Title text="Verify your phone · Latchkey"/>
        <section class="card">
            <h1>"Verify your phone"</h1>
            {flash_notice(&flash)}
            <p class="muted">
                "Your account works once the number is verified. If you leave now, sign in later to \
                 get a new code."
            </p>
            <CodeForm
                step=CodeStep::PhoneVerification
                length=capabilities.code_lengths.phone_verification
                email=String::new()
                init=flash.form_init(CodeStep::PhoneVerification.path())
            />
            {delivery_failure_without_script()}
            <CodeStatus
                scope=CodeScope::PhoneVerification
                voice=capabilities.voice
                email=String::new()
                init=resend_init
                open=resend_failed
            />
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}
