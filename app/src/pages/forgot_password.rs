//! "Forgot password?": ask for a reset code by email.

use super::page_flash;
use crate::api::RequestReset;
use crate::islands::{EmailStep, EmailStepForm};
use crate::types::paths;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let flash = page_flash();
    view! {
        <Title text="Reset your password · Latchkey"/>
        <section class="card">
            <h1>"Reset your password"</h1>
            <p>"Enter your email. We will text a code to the mobile number on your account."</p>
            <EmailStepForm step=EmailStep::ForgotPassword init=flash.form_init(RequestReset::PATH)/>
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}
