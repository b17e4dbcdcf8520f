//! Create an account.

use crate::api::Signup;
use crate::components::{latest_error, DeliveryChoice, FormMessage, SubmitButton, TextField};
use crate::error::Field;
use crate::types::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let error = latest_error(action);
    view! {
        <Title text="Create an account · Latchkey"/>
        <section class="card">
            <h1>"Create an account"</h1>
            <ActionForm action=action attr:novalidate="">
                <FormMessage error=error/>
                <div class="row">
                    <TextField
                        label="First name"
                        name="first_name"
                        field=Field::FirstName
                        autocomplete="given-name"
                        error=error
                    />
                    <TextField
                        label="Last name"
                        name="last_name"
                        field=Field::LastName
                        autocomplete="family-name"
                        error=error
                    />
                </div>
                <TextField
                    label="Email"
                    name="email"
                    field=Field::Email
                    kind="email"
                    autocomplete="email"
                    error=error
                />
                <TextField
                    label="Mobile phone"
                    name="phone"
                    field=Field::Phone
                    kind="tel"
                    autocomplete="tel"
                    hint="Codes are sent here. Include the country code if you are outside the default region, e.g. +44 7911 123456."
                    error=error
                />
                <DeliveryChoice error=error/>
                <TextField
                    label="Password"
                    name="password"
                    field=Field::Password
                    kind="password"
                    autocomplete="new-password"
                    hint="At least 8 characters."
                    error=error
                />
                <TextField
                    label="Confirm password"
                    name="password_confirm"
                    field=Field::PasswordConfirm
                    kind="password"
                    autocomplete="new-password"
                    error=error
                />
                <SubmitButton
                    label="Create account"
                />
            </ActionForm>
            <p class="links">
                <A href=paths::LOGIN>"Already have an account? Sign in"</A>
            </p>
        </section>
    }
}
