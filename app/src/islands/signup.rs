//! Creating an account, with each field checked as it is left by the same rules that decide on
//! submit, and the phone verification that finishes it.

use crate::api::{CheckField, Signup};
use crate::components::{form_parts, DeliveryChoice, FormMessage, SubmitButton, TextField};
use crate::error::Field;
use crate::flash::FormInit;
use crate::form_post::{fetch_json, PostForm};
use crate::types::{DeliveryChannel, FieldCheck};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// What the live check said about one field, and the values it was asked with.
#[derive(Clone, Copy)]
struct LiveCheck {
    message: RwSignal<Option<String>>,
    note: RwSignal<Option<String>>,
}

impl LiveCheck {
    fn new() -> Self {
        Self {
            message: RwSignal::new(None),
            note: RwSignal::new(None),
        }
    }

    fn show(self, check: FieldCheck) {
        self.message.set(check.message);
        self.note.set(check.note);
    }
}

#[island]
pub fn SignUpForm(voice: bool, init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    let values = RwSignal::new(init.values.clone());
    let value_of = move |name: &str| {
        values.with_untracked(|values| {
            values
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        })
    };
    let remember = move |name: &'static str, value: String| {
        values.update(|values| {
            values.retain(|(field, _)| field != name);
            values.push((name.to_owned(), value));
        })
    };
    let checks: [(Field, LiveCheck); 6] = [
        (Field::FirstName, LiveCheck::new()),
        (Field::LastName, LiveCheck::new()),
        (Field::Email, LiveCheck::new()),
        (Field::Phone, LiveCheck::new()),
        (Field::Password, LiveCheck::new()),
        (Field::PasswordConfirm, LiveCheck::new()),
    ];
    let check_of = move |field: Field| {
        checks
            .iter()
            .find(|(candidate, _)| *candidate == field)
            .map(|(_, check)| *check)
            .unwrap_or_else(LiveCheck::new)
    };
    // Asks the server to check `field` by the rules that decide on submit; the password is checked
    // with the email and names typed so far, and its confirmation against it.
    let check = move |field: Field, name: &'static str, value: String| {
        remember(name, value.clone());
        let live = check_of(field);
        if value.is_empty() {
            live.show(FieldCheck::default());
            return;
        }
        let (email, first_name, last_name, password) = (
            value_of("email"),
            value_of("first_name"),
            value_of("last_name"),
            value_of("password"),
        );
        leptos::task::spawn_local(async move {
            let form = [
                ("field", field_name(field)),
                ("value", value.as_str()),
                ("email", email.as_str()),
                ("first_name", first_name.as_str()),
                ("last_name", last_name.as_str()),
                ("password", password.as_str()),
            ];
            if let Ok(result) = fetch_json::<FieldCheck>(CheckField::PATH, &[], Some(&form)).await {
                live.show(result);
            }
        });
    };
    // The confirmation is compared as it is typed, once the person has started on it.
    let confirm_as_typed = move |value: String| {
        remember("password_confirm", value.clone());
        let live = check_of(Field::PasswordConfirm);
        let password = value_of("password");
        live.message.set(
            (!value.is_empty() && !password.starts_with(&value) && value != password)
                .then(|| "The two passwords do not match.".to_owned()),
        );
    };
    let message = move |field: Field| -> Signal<Option<String>> { check_of(field).message.into() };
    let note = move |field: Field| -> Signal<Option<String>> { check_of(field).note.into() };
    let selected = DeliveryChannel::parse(&init.value("delivery"));
    view! {
        <PostForm path=Signup::PATH action=action node_ref=form>
            <FormMessage state/>
            <div class="row">
                <TextField
                    label="First name"
                    name="first_name"
                    field=Field::FirstName
                    autocomplete="given-name"
                    value=init.value("first_name")
                    live_message=message(Field::FirstName)
                    on_leave=move |value: String| check(Field::FirstName, "first_name", value)
                    state
                />
                <TextField
                    label="Last name"
                    name="last_name"
                    field=Field::LastName
                    autocomplete="family-name"
                    value=init.value("last_name")
                    live_message=message(Field::LastName)
                    on_leave=move |value: String| check(Field::LastName, "last_name", value)
                    state
                />
            </div>
            <TextField
                label="Email"
                name="email"
                field=Field::Email
                kind="email"
                autocomplete="email"
                value=init.value("email")
                live_message=message(Field::Email)
                on_leave=move |value: String| check(Field::Email, "email", value)
                state
            />
            <TextField
                label="Mobile phone"
                name="phone"
                field=Field::Phone
                kind="tel"
                autocomplete="tel"
                hint="Codes are sent here. Include the country code if you are outside the default region, e.g. +44 7400 123456."
                value=init.value("phone")
                live_message=message(Field::Phone)
                live_note=note(Field::Phone)
                on_leave=move |value: String| check(Field::Phone, "phone", value)
                state
            />
            <DeliveryChoice voice state selected=selected.unwrap_or_default()/>
            <TextField
                label="Password"
                name="password"
                field=Field::Password
                kind="password"
                autocomplete="new-password"
                hint="At least 8 characters."
                live_message=message(Field::Password)
                on_leave=move |value: String| check(Field::Password, "password", value)
                state
            />
            <TextField
                label="Confirm password"
                name="password_confirm"
                field=Field::PasswordConfirm
                kind="password"
                autocomplete="new-password"
                live_message=message(Field::PasswordConfirm)
                on_type=confirm_as_typed
                on_leave=move |value: String| check(Field::PasswordConfirm, "password_confirm", value)
                state
            />
            <SubmitButton label="Create account" pending_label="Creating your account…" state/>
        </PostForm>
    }
}

/// The name `POST /api/check-field` takes for a field.
fn field_name(field: Field) -> &'static str {
    match field {
        Field::Email => "email",
        Field::Password => "password",
        Field::PasswordConfirm => "password_confirm",
        Field::Phone => "phone",
        Field::FirstName => "first_name",
        Field::LastName => "last_name",
        Field::Code => "code",
        Field::Delivery => "delivery",
        Field::Query => "q",
    }
}
