//! The landing page.

use crate::types::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Latchkey"/>
        <section class="card">
            <h1>"Latchkey"</h1>
            <p>
                "Accounts protected by one-time codes: three wrong passwords lock the account, and \
                 only a code sent to the owner's phone opens it again."
            </p>
            <div class="actions">
                <A href=paths::LOGIN attr:class="button primary">"Sign in"</A>
                <A href=paths::SIGNUP attr:class="button secondary">"Create an account"</A>
            </div>
        </section>
    }
}
