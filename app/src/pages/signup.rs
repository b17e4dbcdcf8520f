//! Create an account.

use super::{capabilities, page_flash};
use crate::api::Signup;
use crate::islands::SignUpForm;
use crate::types::paths;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SignupPage() -> impl IntoView {
    let flash = page_flash();
    view! {
        <Title text="Create an account · Latchkey"/>
        <section class="card">
            <h1>"Create an account"</h1>
            <SignUpForm voice=capabilities().voice init=flash.form_init(Signup::PATH)/>
            <p class="links">
                <A href=paths::LOGIN>"Already have an account? Sign in"</A>
            </p>
        </section>
    }
}
