//! Signing in: email and password, then (for accounts that ask for one) the code sent to the
//! phone.

use crate::api::Login;
use crate::components::{form_parts, FormMessage, SubmitButton, TextField};
use crate::error::Field;
use crate::flash::FormInit;
use crate::form_post::PostForm;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[island]
pub fn LoginForm(init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=Login::PATH action=action node_ref=form>
            <FormMessage state/>
            <TextField
                label="Email"
                name="email"
                field=Field::Email
                kind="email"
                autocomplete="username"
                value=init.value("email")
                state
            />
            <TextField
                label="Password"
                name="password"
                field=Field::Password
                kind="password"
                autocomplete="current-password"
                state
            />
            <SubmitButton label="Sign in" pending_label="Signing in…" state/>
        </PostForm>
    }
}
