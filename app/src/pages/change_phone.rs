//! Change the phone number: the current password and the new number first; then the code sent to
//! the new number. The old number is told once the change is made.

use super::{query_ending, query_notice, query_wait};
use crate::api::{ConfirmPhoneChange, StartPhoneChange};
use crate::components::{latest_error, FormMessage, NoticeBanner, SubmitButton, TextField};
use crate::error::Field;
use crate::types::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn ChangePhonePage() -> impl IntoView {
    let ending = query_ending();
    view! {
        <Title text="Change your phone number · Latchkey"/>
        <section class="card">
            <h1>"Change your phone number"</h1>
            <NoticeBanner notice=query_notice() ending=ending wait_secs=query_wait()/>
            <Show when=move || ending.get().is_some() fallback=NewNumberStep>
                <CodeStep/>
            </Show>
            <p class="links">
                <A href=paths::ACCOUNT>"Back to your account"</A>
            </p>
        </section>
    }
}

#[component]
fn NewNumberStep() -> impl IntoView {
    let start = ServerAction::<StartPhoneChange>::new();
    let error = latest_error(start);
    view! {
        <ActionForm action=start attr:novalidate="">
            <FormMessage error=error/>
            <TextField
                label="Current password"
                name="current_password"
                field=Field::Password
                kind="password"
                autocomplete="current-password"
                error=error
            />
            <TextField
                label="New mobile number"
                name="phone"
                field=Field::Phone
                kind="tel"
                autocomplete="tel"
                hint="With the country code, such as +44 7700 900123. We send a code to it."
                error=error
            />
            <SubmitButton label="Send code to the new number"/>
        </ActionForm>
    }
}

#[component]
fn CodeStep() -> impl IntoView {
    let confirm = ServerAction::<ConfirmPhoneChange>::new();
    let error = latest_error(confirm);
    view! {
        <ActionForm action=confirm attr:novalidate="">
            <FormMessage error=error/>
            <TextField
                label="Code sent to the new number"
                name="code"
                field=Field::Code
                inputmode="numeric"
                autocomplete="one-time-code"
                error=error
            />
            <SubmitButton label="Change phone number"/>
        </ActionForm>
        <p class="links">
            <a href=paths::CHANGE_PHONE rel="external">"Use a different number"</a>
        </p>
    }
}
