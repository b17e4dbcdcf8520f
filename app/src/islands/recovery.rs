//! Getting back in: unlocking a locked account with its code, and resetting a forgotten password.

use crate::api::{RememberUnlockEmail, RequestReset, ResetPassword, Unlock};
use crate::code_entry::CodeField;
use crate::components::{focus_first_error, FormMessage, FormState, SubmitButton, TextField};
use crate::error::Field;
use crate::flash::FormInit;
use leptos::html;
use leptos::prelude::*;

/// The unlock page without an account in mind: which email is locked.
#[island]
pub fn UnlockEmailForm(init: FormInit) -> impl IntoView {
    let action = ServerAction::<RememberUnlockEmail>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="">
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
            <SubmitButton label="Continue" pending_label="One moment…" state/>
        </ActionForm>
    }
}

/// The unlock code for the account `email`.
#[island]
pub fn UnlockForm(email: String, length: u8, init: FormInit) -> impl IntoView {
    let action = ServerAction::<Unlock>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="">
            <FormMessage state/>
            <input type="hidden" name="email" value=email/>
            <CodeField
                label="Verification code"
                hint="The code from the text message or call. It works once and expires after a while."
                length
                state
                form
            />
            <SubmitButton label="Unlock account" pending_label="Unlocking…" state/>
        </ActionForm>
    }
}

/// "Forgot password?": a code to the phone of the account with this email.
#[island]
pub fn ForgotPasswordForm(init: FormInit) -> impl IntoView {
    let action = ServerAction::<RequestReset>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="">
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
            <SubmitButton label="Send code" pending_label="Sending…" state/>
        </ActionForm>
    }
}

/// The reset code and the new password, for the account `email`.
#[island]
pub fn ResetPasswordForm(email: String, length: u8, init: FormInit) -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="">
            <FormMessage state/>
            <input type="hidden" name="email" value=email/>
            <CodeField
                label="Verification code"
                hint="The code from the text message or call."
                length
                state
                form
                auto_submit=false
            />
            <TextField
                label="New password"
                name="new_password"
                field=Field::Password
                kind="password"
                autocomplete="new-password"
                hint="At least 8 characters."
                state
            />
            <TextField
                label="Confirm new password"
                name="new_password_confirm"
                field=Field::PasswordConfirm
                kind="password"
                autocomplete="new-password"
                state
            />
            <SubmitButton label="Change password" pending_label="Changing…" state/>
        </ActionForm>
    }
}
