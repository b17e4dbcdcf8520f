//! The second step of a sign-in for accounts that ask for a code every time: the code sent to the
//! phone after the right password.

use super::{query_ending, query_notice, query_wait};
use crate::api::SignInCode;
use crate::components::{
    latest_error, FormMessage, NoticeBanner, ResendCodeForm, SubmitButton, TextField,
};
use crate::error::Field;
use crate::types::{paths, CodeFlow};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn SignInCodePage() -> impl IntoView {
    let finish = ServerAction::<SignInCode>::new();
    let error = latest_error(finish);
    view! {
        <Title text="Enter your sign-in code · Latchkey"/>
        <section class="card">
            <h1>"Enter your sign-in code"</h1>
            <NoticeBanner notice=query_notice() ending=query_ending() wait_secs=query_wait()/>
            <ActionForm action=finish attr:novalidate="">
                <FormMessage error=error/>
                <TextField
                    label="Sign-in code"
                    name="code"
                    field=Field::Code
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    hint="The code from the text message or call. It works once."
                    error=error
                />
                <SubmitButton label="Sign in"/>
            </ActionForm>
            <ResendCodeForm email=Signal::derive(String::new) flow=CodeFlow::SignIn/>
            <p class="links">
                <A href=paths::LOGIN>"Start again"</A>
            </p>
        </section>
    }
}
