//! Verify the phone with the code sent to it: to finish a signup (or the sign-in of an unfinished
//! one), or, signed in, to prove the number again.

use super::{query_ending, query_notice, query_wait};
use crate::api::VerifyPhone;
use crate::components::{
    latest_error, FormMessage, NoticeBanner, ResendCodeForm, SubmitButton, TextField,
};
use crate::error::Field;
use crate::types::{paths, CodeFlow};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn VerifyPhonePage() -> impl IntoView {
    let verify = ServerAction::<VerifyPhone>::new();
    let error = latest_error(verify);
    view! {
        <Title text="Verify your phone · Latchkey"/>
        <section class="card">
            <h1>"Verify your phone"</h1>
            <NoticeBanner notice=query_notice() ending=query_ending() wait_secs=query_wait()/>
            <p class="muted">
                "Your account works once the number is verified. If you leave now, sign in later to \
                 get a new code."
            </p>
            <ActionForm action=verify attr:novalidate="">
                <FormMessage error=error/>
                <TextField
                    label="Verification code"
                    name="code"
                    field=Field::Code
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    hint="The code from the text message or call."
                    error=error
                />
                <SubmitButton label="Verify phone"/>
            </ActionForm>
            <ResendCodeForm email=Signal::derive(String::new) flow=CodeFlow::PhoneVerification/>
            <p class="links">
                <A href=paths::LOGIN>"Back to sign in"</A>
            </p>
        </section>
    }
}
