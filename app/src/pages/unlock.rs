//! Unlock a locked account with the code sent to its phone, or ask for a new code. The account is
//! the one this browser's sign-in locked (or named on this page), never one from the address.

use super::{
    capabilities, delivery_failure_without_script, flash_notice, page_flash, page_recovery,
    query_value,
};
use crate::api::{RememberUnlockEmail, ResendCode as ResendUnlockCode};
use crate::flash::Recovery;
use crate::islands::{CodeForm, CodeStatus, CodeStep, EmailStep, EmailStepForm};
use crate::types::{paths, CodeScope};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn UnlockPage() -> impl IntoView {
    let flash = page_flash();
    // "Unlock a different account" leaves the remembered one aside.
    let recovery = page_recovery().filter(|_| query_value("account").get_untracked() != "other");
    view! {
        <Title text="Unlock your account · Latchkey"/>
        <section class="card">
            <h1>"Unlock your account"</h1>
            {flash_notice(&flash)}
            {match recovery {
                Some(Recovery { email, .. }) => {
                    let capabilities = capabilities();
                    let resend_init = flash.form_init(ResendUnlockCode::PATH);
                    let resend_failed = resend_init.error.is_some();
                    view! {
                        <p class="muted">
                            "Account: " <strong>{email.clone()}</strong>
                        </p>
                        <CodeForm
                            step=CodeStep::Unlock
                            length=capabilities.code_lengths.unlock
                            email=email.clone()
                            init=flash.form_init(CodeStep::Unlock.path())
                        />
                        {delivery_failure_without_script()}
                        <CodeStatus
                            scope=CodeScope::Unlock
                            voice=capabilities.voice
                            email
                            init=resend_init
                            open=resend_failed
                        />
                        <p class="links">
                            <a href=paths::UNLOCK_OTHER rel="external">"Unlock a different account"</a>
                        </p>
                    }
                    .into_any()
                }
                None => view! {
                    <p>"Enter the email of the locked account to enter or request its code."</p>
                    <EmailStepForm step=EmailStep::Unlock init=flash.form_init(RememberUnlockEmail::PATH)/>
                }
                .into_any(),
            }}
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}
