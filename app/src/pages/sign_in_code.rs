//! The second step of a sign-in for accounts that ask for a code every time: the code sent to the
//! phone after the right password.

use super::{capabilities, delivery_failure_without_script, flash_notice, page_flash};
use crate::api::ResendSignInCode;
use crate::islands::{CodeForm, CodeStatus, CodeStep};
use crate::types::{paths, CodeScope};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SignInCodePage() -> impl IntoView {
    let flash = page_flash();
    let capabilities = capabilities();
    let resend_init = flash.form_init(ResendSignInCode::PATH);
    let resend_failed = resend_init.error.is_some();
    view! {
        <Title text="Enter your sign-in code · Latchkey"/>
        <section class="card">
            <h1>"Enter your sign-in code"</h1>
            {flash_notice(&flash)}
            <CodeForm
                step=CodeStep::SignIn
                length=capabilities.code_lengths.sign_in
                email=String::new()
                init=flash.form_init(CodeStep::SignIn.path())
            />
            {delivery_failure_without_script()}
            <CodeStatus
                scope=CodeScope::SignIn
                voice=capabilities.voice
                email=String::new()
                init=resend_init
                open=resend_failed
            />
            <p class="links">
                <A href=paths::LOGIN>"Start again"</A>
            </p>
        </section>
    }
}
