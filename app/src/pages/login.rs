//! Sign in with email and password.

use super::{query_ending, query_notice, query_value};
use crate::api::Login;
use crate::components::{latest_error, FormMessage, NoticeBanner, SubmitButton, TextField};
use crate::error::Field;
use crate::types::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = latest_error(action);
    let email = query_value("email");
    view! {
        <Title text="Sign in · Latchkey"/>
        <section class="card">
            <h1>"Sign in"</h1>
            <NoticeBanner notice=query_notice() ending=query_ending()/>
            <ActionForm action=action attr:novalidate="">
                <FormMessage error=error/>
                <TextField
                    label="Email"
                    name="email"
                    field=Field::Email
                    kind="email"
                    autocomplete="email"
                    value=email
                    error=error
                />
                <TextField
                    label="Password"
                    name="password"
                    field=Field::Password
                    kind="password"
                    autocomplete="current-password"
                    error=error
                />
                <SubmitButton label="Sign in"/>
            </ActionForm>
            <p class="links">
                <A href=paths::FORGOT_PASSWORD>"Forgot password?"</A>
                <A href=paths::SIGNUP>"Create an account"</A>
            </p>
        </section>
    }
}
