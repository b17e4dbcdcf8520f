//! Set a new password with the code sent to the phone on file.

use super::{query_ending, query_notice, query_value};
use crate::api::ResetPassword;
use crate::components::{
    latest_error, FormMessage, NoticeBanner, ResendCodeForm, SubmitButton, TextField,
};
use crate::error::Field;
use crate::islands::DeliveryFailureNotice;
use crate::types::paths;
use crate::types::CodeFlow;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let email = query_value("email");
    view! {
        <Title text="Choose a new password · Latchkey"/>
        <section class="card">
            <h1>"Choose a new password"</h1>
            <NoticeBanner notice=query_notice() ending=query_ending()/>
            <Show
                when=move || !email.get().is_empty()
                fallback=|| view! {
                    <p>
                        "Start by asking for a code: "
                        <A href=paths::FORGOT_PASSWORD>"Forgot password?"</A>
                    </p>
                }
            >
                <ResetForm email=email/>
            </Show>
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}

#[component]
fn ResetForm(email: Signal<String>) -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let reset_error = latest_error(reset);
    view! {
        <p class="muted">
            "Account: " <strong>{move || email.get()}</strong> " · "
            <A href=paths::FORGOT_PASSWORD>"Use a different email"</A>
        </p>
        <DeliveryFailureNotice email=email.get_untracked() flow=CodeFlow::PasswordReset/>
        <ActionForm action=reset attr:novalidate="">
            <FormMessage error=reset_error/>
            <input type="hidden" name="email" value=move || email.get()/>
            <TextField
                label="Verification code"
                name="code"
                field=Field::Code
                inputmode="numeric"
                autocomplete="one-time-code"
                hint="The code from the text message or call."
                error=reset_error
            />
            <TextField
                label="New password"
                name="new_password"
                field=Field::Password
                kind="password"
                autocomplete="new-password"
                hint="At least 8 characters."
                error=reset_error
            />
            <TextField
                label="Confirm new password"
                name="new_password_confirm"
                field=Field::PasswordConfirm
                kind="password"
                autocomplete="new-password"
                error=reset_error
            />
            <SubmitButton
                label="Change password"
            />
        </ActionForm>
        <ResendCodeForm email=email flow=CodeFlow::PasswordReset/>
    }
}
