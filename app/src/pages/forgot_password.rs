//! "Forgot password?": ask for a reset code by email.

use crate::api::RequestReset;
use crate::components::{latest_error, FormMessage, SubmitButton, TextField};
use crate::error::Field;
use crate::types::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestReset>::new();
    let error = latest_error(action);
    view! {
        <Title text="Reset your password · Latchkey"/>
        <section class="card">
            <h1>"Reset your password"</h1>
            <p>"Enter your email. We will text a code to the mobile number on your account."</p>
            <ActionForm action=action attr:novalidate="">
                <FormMessage error=error/>
                <TextField
                    label="Email"
                    name="email"
                    field=Field::Email
                    kind="email"
                    autocomplete="email"
                    error=error
                />
                <SubmitButton label="Send code"/>
            </ActionForm>
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}
