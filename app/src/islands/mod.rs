//! The parts of the pages the browser hydrates (`#[island]`): every form, and the live notice of a
//! failed delivery. The server renders each as working HTML, so that every flow also works
//! without JavaScript; once the wasm has loaded, a form submits through its server function
//! without a page load, shows that it is working, and puts each error at its field.

mod account;
mod admin;
mod code_form;
mod delivery;
mod recovery;
mod sign_in;
mod signup;

pub use account::{
    DeliveryPreferenceForm, ForgetDeviceForm, NewNumberForm, ReverifyPhoneForm,
    SignInCodeSettingForm, SignOutButton,
};
pub use admin::{AdminActionForm, AdminSearch, AdminSendCodeForm};
pub use code_form::{CodeForm, CodeStep};
pub use delivery::{delivery_message, CodeStatus};
pub use recovery::{EmailStep, EmailStepForm, ResetPasswordForm};
pub use sign_in::LoginForm;
pub use signup::SignUpForm;

use leptos::prelude::*;

/// Marks the document once the wasm has taken over (`<html data-hydrated="true">`), so that tests
/// can tell that it loads and runs under the Content-Security-Policy.
#[island]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
