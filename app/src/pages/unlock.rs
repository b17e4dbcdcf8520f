//! Unlock a locked account with the code sent to its phone, or ask for a new code.

use super::{query_ending, query_notice, query_value, query_wait};
use crate::api::Unlock;
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
pub fn UnlockPage() -> impl IntoView {
    let email = query_value("email");
    view! {
        <Title text="Unlock your account · Latchkey"/>
        <section class="card">
            <h1>"Unlock your account"</h1>
            <NoticeBanner notice=query_notice() ending=query_ending() wait_secs=query_wait()/>
            <Show when=move || !email.get().is_empty() fallback=EmailStep>
                <CodeStep email=email/>
            </Show>
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}

/// Without an email in the address, ask for it first (a plain GET back to this page).
#[component]
fn EmailStep() -> impl IntoView {
    view! {
        <p>"Enter the email of the locked account to enter or request its code."</p>
        <form method="get" action=paths::UNLOCK>
            <div class="field">
                <label for="unlock-email">"Email"</label>
                <input id="unlock-email" name="email" type="email" autocomplete="email" required/>
            </div>
            <button type="submit" class="primary">"Continue"</button>
        </form>
    }
}

#[component]
fn CodeStep(email: Signal<String>) -> impl IntoView {
    let unlock = ServerAction::<Unlock>::new();
    let unlock_error = latest_error(unlock);
    view! {
        <p class="muted">
            "Account: " <strong>{move || email.get()}</strong> " · "
            <a href=paths::UNLOCK rel="external">"Use a different email"</a>
        </p>
        <DeliveryFailureNotice email=email.get_untracked() flow=CodeFlow::Unlock/>
        <ActionForm action=unlock attr:novalidate="">
            <FormMessage error=unlock_error/>
            <input type="hidden" name="email" value=move || email.get()/>
            <TextField
                label="Verification code"
                name="code"
                field=Field::Code
                inputmode="numeric"
                autocomplete="one-time-code"
                hint="The code from the text message or call. It works once and expires after a while."
                error=unlock_error
            />
            <SubmitButton label="Unlock account"/>
        </ActionForm>
        <ResendCodeForm email=email flow=CodeFlow::Unlock/>
    }
}
