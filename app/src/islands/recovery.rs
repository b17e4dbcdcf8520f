//! Getting back in: unlocking a locked account with its code, and resetting a forgotten password.

use crate::api::{RememberUnlockEmail, RequestReset, ResetPassword};
use crate::code_entry::CodeField;
use crate::components::{form_parts, FormMessage, SubmitButton, TextField};
use crate::error::Field;
use crate::flash::FormInit;
use crate::form_post::PostForm;
use crate::wire_names::wire_names;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Which account a way back in is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailStep {
    /// The unlock page without an account in mind: which email is locked.
    Unlock,
    /// "Forgot password?": a code to the phone of the account with this email.
    ForgotPassword,
}

wire_names!(EmailStep { Unlock => "unlock", ForgotPassword => "forgot_password" });

/// The email of the account to unlock, or to reset the password of.
#[island]
pub fn EmailStepForm(step: EmailStep, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    let (path, label, pending_label) = match step {
        EmailStep::Unlock => (RememberUnlockEmail::PATH, "Continue", "One moment…"),
        EmailStep::ForgotPassword => (RequestReset::PATH, "Send code", "Sending…"),
    };
    view! {
        <PostForm path action node_ref=form>
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
            <SubmitButton label pending_label state/>
        </PostForm>
    }
}

/// The reset code and the new password, for the account `email`.
#[island]
pub fn ResetPasswordForm(email: String, length: u8, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=ResetPassword::PATH action=action node_ref=form>
            <FormMessage state/>
            <input type="hidden" name="email" value=email/>
            <CodeField
                label="Verification code"
                hint=Some("The code from the text message or call.")
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
        </PostForm>
    }
}
