//! The form of every page whose one field is a code: the phone verification, the sign-in code, the
//! unlock code, the code sent to a new number, and the admin access code. One island for all of
//! them, told apart by `CodeStep`, keeps the wasm small.

use crate::api::{AdminStepUp, ConfirmPhoneChange, SignInCode, Unlock, VerifyPhone};
use crate::code_entry::CodeField;
use crate::components::{form_parts, FormMessage, SubmitButton};
use crate::flash::FormInit;
use crate::form_post::PostForm;
use crate::wire_names::wire_names;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Which code a code form takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStep {
    /// Finishes a signup, or proves the phone again.
    PhoneVerification,
    /// The second step of a sign-in.
    SignIn,
    /// Unlocks the account named by the form's email.
    Unlock,
    /// Confirms a new phone number.
    PhoneChange,
    /// Opens the admin area.
    AdminStepUp,
}

wire_names!(CodeStep {
    PhoneVerification => "phone_verification",
    SignIn => "sign_in",
    Unlock => "unlock",
    PhoneChange => "phone_change",
    AdminStepUp => "admin_step_up",
});

/// What a code form of one step says and where it posts.
struct Wording {
    path: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    button: &'static str,
    pending: &'static str,
}

impl CodeStep {
    fn wording(self) -> Wording {
        match self {
            Self::PhoneVerification => Wording {
                path: VerifyPhone::PATH,
                label: "Verification code",
                hint: Some("The code from the text message or call."),
                button: "Verify phone",
                pending: "Checking…",
            },
            Self::SignIn => Wording {
                path: SignInCode::PATH,
                label: "Sign-in code",
                hint: Some("The code from the text message or call. It works once."),
                button: "Sign in",
                pending: "Checking…",
            },
            Self::Unlock => Wording {
                path: Unlock::PATH,
                label: "Verification code",
                hint: Some(
                    "The code from the text message or call. It works once and expires after a \
                     while.",
                ),
                button: "Unlock account",
                pending: "Unlocking…",
            },
            Self::PhoneChange => Wording {
                path: ConfirmPhoneChange::PATH,
                label: "Code sent to the new number",
                hint: None,
                button: "Change phone number",
                pending: "Checking…",
            },
            Self::AdminStepUp => Wording {
                path: AdminStepUp::PATH,
                label: "Admin access code",
                hint: None,
                button: "Open the admin area",
                pending: "Checking…",
            },
        }
    }

    /// The server function the form posts to.
    pub fn path(self) -> &'static str {
        self.wording().path
    }
}

/// A code form. `email` names the account on the unlock page (empty elsewhere: the pending
/// sign-in or the session names it).
#[island]
pub fn CodeForm(step: CodeStep, length: u8, email: String, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    let Wording {
        path,
        label,
        hint,
        button,
        pending,
    } = step.wording();
    view! {
        <PostForm path action node_ref=form>
            <FormMessage state/>
            {(!email.is_empty()).then(|| view! { <input type="hidden" name="email" value=email/> })}
            <CodeField label hint length state form/>
            <SubmitButton label=button pending_label=pending state/>
        </PostForm>
    }
}
