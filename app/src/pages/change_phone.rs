//! Change the phone number: the current password and the new number first; then
//! (`?step=code`) the code sent to the new number. The old number is told once the change is
//! made.

use super::{capabilities, flash_notice, page_flash, query_value};
use crate::api::StartPhoneChange;
use crate::islands::{CodeForm, CodeStep, NewNumberForm};
use crate::types::paths;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn ChangePhonePage() -> impl IntoView {
    let flash = page_flash();
    let code_step = query_value("step").get_untracked() == "code";
    view! {
        <Title text="Change your phone number · Latchkey"/>
        <section class="card">
            <h1>"Change your phone number"</h1>
            {flash_notice(&flash)}
            {if code_step {
                view! {
                    <CodeForm
                        step=CodeStep::PhoneChange
                        length=capabilities().code_lengths.phone_change
                        email=String::new()
                        init=flash.form_init(CodeStep::PhoneChange.path())
                    />
                    <p class="links">
                        <a href=paths::CHANGE_PHONE>"Use a different number"</a>
                    </p>
                }
                .into_any()
            } else {
                view! { <NewNumberForm init=flash.form_init(StartPhoneChange::PATH)/> }.into_any()
            }}
            <p class="links">
                <A href=paths::ACCOUNT>"Back to your account"</A>
            </p>
        </section>
    }
}
