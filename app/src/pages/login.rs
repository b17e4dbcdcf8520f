//! Sign in with email and password.

use super::{flash_notice, page_flash};
use crate::api::Login;
use crate::islands::LoginForm;
use crate::types::paths;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn LoginPage() -> impl IntoView {
    let flash = page_flash();
    view! {
        <Title text="Sign in · Latchkey"/>
        <section class="card">
            <h1>"Sign in"</h1>
            {flash_notice(&flash)}
            <LoginForm init=flash.form_init(Login::PATH)/>
            <p class="links">
                <A href=paths::FORGOT_PASSWORD>"Forgot password?"</A>
                <A href=paths::SIGNUP>"Create an account"</A>
            </p>
        </section>
    }
}
