//! The signed-in account's forms: how codes are sent, a code at every sign-in, proving the phone
//! again, changing the number, and signing out.

use crate::api::{
    ConfirmPhoneChange, Logout, SendVerification, SetDelivery, SetSignInCode, StartPhoneChange,
};
use crate::code_entry::CodeField;
use crate::components::{
    focus_first_error, DeliveryChoice, FormMessage, FormState, SubmitButton, TextField,
};
use crate::error::Field;
use crate::flash::FormInit;
use crate::types::DeliveryChannel;
use leptos::html;
use leptos::prelude::*;

/// Text messages or calls for future codes.
#[island]
pub fn DeliveryPreferenceForm(current: DeliveryChannel, init: FormInit) -> impl IntoView {
    let action = ServerAction::<SetDelivery>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="" attr:class="delivery-preference">
            <FormMessage state all_errors=true/>
            <DeliveryChoice voice=true state selected=current name="channel" legend="Send my codes by"/>
            <SubmitButton label="Save delivery preference" pending_label="Saving…" state class="secondary"/>
        </ActionForm>
    }
}

/// "Ask for a code every time I sign in".
#[island]
pub fn SignInCodeSettingForm(enabled: bool, init: FormInit) -> impl IntoView {
    let action = ServerAction::<SetSignInCode>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="" attr:class="sign-in-code-setting">
            <FormMessage state all_errors=true/>
            <label class="checkbox" for="sign-in-code-enabled">
                <input
                    type="checkbox"
                    id="sign-in-code-enabled"
                    name="enabled"
                    value="on"
                    checked=enabled
                />
                <span>"Ask for a code every time I sign in"</span>
            </label>
            <SubmitButton label="Save sign-in setting" pending_label="Saving…" state class="secondary"/>
        </ActionForm>
    }
}

/// Prove the phone on file again: a code goes to it, then the verify page takes it.
#[island]
pub fn ReverifyPhoneForm(init: FormInit) -> impl IntoView {
    let action = ServerAction::<SendVerification>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="" attr:class="reverify-phone">
            <FormMessage state all_errors=true/>
            <SubmitButton label="Verify my phone again" pending_label="Sending a code…" state class="secondary"/>
        </ActionForm>
    }
}

/// The first step of a phone change: the current password and the new number.
#[island]
pub fn NewNumberForm(init: FormInit) -> impl IntoView {
    let action = ServerAction::<StartPhoneChange>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="">
            <FormMessage state/>
            <TextField
                label="Current password"
                name="current_password"
                field=Field::Password
                kind="password"
                autocomplete="current-password"
                state
            />
            <TextField
                label="New mobile number"
                name="phone"
                field=Field::Phone
                kind="tel"
                autocomplete="tel"
                hint="With the country code, such as +44 7700 900123. We send a code to it."
                value=init.value("phone")
                state
            />
            <SubmitButton label="Send code to the new number" pending_label="Sending…" state/>
        </ActionForm>
    }
}

/// The second step of a phone change: the code sent to the new number.
#[island]
pub fn ConfirmNumberForm(length: u8, init: FormInit) -> impl IntoView {
    let action = ServerAction::<ConfirmPhoneChange>::new();
    let state = FormState::new(action, &init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    view! {
        <ActionForm action node_ref=form attr:novalidate="">
            <FormMessage state/>
            <CodeField label="Code sent to the new number" length state form/>
            <SubmitButton label="Change phone number" pending_label="Checking…" state/>
        </ActionForm>
    }
}

/// "Sign out", in the header of every signed-in page.
#[island]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<Logout>::new();
    let state = FormState::new(action, &FormInit::default());
    view! {
        <ActionForm action attr:class="sign-out">
            <SubmitButton label="Sign out" pending_label="Signing out…" state class="link-button"/>
        </ActionForm>
    }
}
