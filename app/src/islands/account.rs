//! The signed-in account's forms: how codes are sent, a code at every sign-in, proving the phone
//! again, changing the number, removing a trusted browser, and signing out.

use crate::api::{
    ForgetDevice, Logout, SendVerification, SetDelivery, SetSignInCode, StartPhoneChange,
};
use crate::components::{
    form_parts, DeliveryChoice, FormMessage, FormState, SubmitButton, TextField,
};
use crate::error::Field;
use crate::flash::FormInit;
use crate::form_post::{FormAction, PostForm};
use crate::types::DeliveryChannel;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Text messages or calls for future codes.
#[island]
pub fn DeliveryPreferenceForm(current: DeliveryChannel, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=SetDelivery::PATH action=action node_ref=form class="delivery-preference">
            <FormMessage state all_errors=true/>
            <DeliveryChoice voice=true state selected=current name="channel" legend="Send my codes by"/>
            <SubmitButton label="Save delivery preference" pending_label="Saving…" state class="secondary"/>
        </PostForm>
    }
}

/// "Ask for a code every time I sign in".
#[island]
pub fn SignInCodeSettingForm(enabled: bool, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=SetSignInCode::PATH action=action node_ref=form class="sign-in-code-setting">
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
        </PostForm>
    }
}

/// Prove the phone on file again: a code goes to it, then the verify page takes it.
#[island]
pub fn ReverifyPhoneForm(init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=SendVerification::PATH action=action node_ref=form class="reverify-phone">
            <FormMessage state all_errors=true/>
            <SubmitButton label="Verify my phone again" pending_label="Sending a code…" state class="secondary"/>
        </PostForm>
    }
}

/// The first step of a phone change: the current password and the new number.
#[island]
pub fn NewNumberForm(init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=StartPhoneChange::PATH action=action node_ref=form>
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
        </PostForm>
    }
}

/// "Remove" beside one trusted browser on the account page.
#[island]
pub fn ForgetDeviceForm(device_id: i64, this_browser: bool, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    let question = if this_browser {
        "Stop trusting this browser? A lock caused by someone else will then stop it too."
    } else {
        "Stop trusting that browser? A lock caused by someone else will then stop it too."
    };
    view! {
        <PostForm path=ForgetDevice::PATH action=action node_ref=form class="forget-device">
            <FormMessage state all_errors=true/>
            <input type="hidden" name="device_id" value=device_id.to_string()/>
            <SubmitButton label="Remove" pending_label="Removing…" state class="link-button" confirm=question/>
        </PostForm>
    }
}

/// "Sign out", in the header of every signed-in page.
#[island]
pub fn SignOutButton() -> impl IntoView {
    let action = FormAction::new();
    let state = FormState::new(action, &FormInit::default());
    view! {
        <PostForm path=Logout::PATH action=action class="sign-out">
            <SubmitButton label="Sign out" pending_label="Signing out…" state class="link-button"/>
        </PostForm>
    }
}
