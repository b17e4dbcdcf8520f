//! The one code field every code page uses: a single input that takes a code typed, pasted with
//! spaces or dashes, or offered by the phone's keyboard (`autocomplete="one-time-code"`), submits
//! its form once the last digit is in, and, where the browser has WebOTP, fills itself from the
//! text message (the request is aborted when the page goes away).

use crate::components::{submit_form, FormState};
use crate::error::Field;
use leptos::html;
use leptos::prelude::*;

/// The digits of what was typed, if it reads as a complete code of `length` digits: spaces and
/// dashes are ignored, as the server ignores them.
pub fn complete_code(typed: &str, length: u8) -> Option<String> {
    if !typed
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || c == '-')
    {
        return None;
    }
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == usize::from(length)).then_some(digits)
}

#[component]
pub fn CodeField(
    label: &'static str,
    hint: Option<&'static str>,
    length: u8,
    state: FormState,
    form: NodeRef<html::Form>,
    /// Submit the form once the code is complete (off where more fields follow the code).
    #[prop(default = true)]
    auto_submit: bool,
) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let message = state.message_for(Field::Code);
    let form_error = state.error;
    let invalid = move || message.get().is_some() || form_error.get().is_some();
    // A code is sent on its own once, however often its last digit is typed again.
    let last_sent = StoredValue::new(String::new());
    let submit_if_complete = move |typed: String| {
        let Some(code) = complete_code(&typed, length) else {
            return;
        };
        if !auto_submit || state.pending.get_untracked() || last_sent.get_value() == code {
            return;
        }
        last_sent.set_value(code.clone());
        if let Some(input) = input.get_untracked() {
            input.set_value(&code);
        }
        submit_form(form);
    };
    listen_for_sms_code(move |code| {
        if let Some(input) = input.get_untracked() {
            input.set_value(&code);
        }
        submit_if_complete(code);
    });
    let hint_id = hint.map(|_| "code-hint");
    let described_by = if hint.is_some() {
        "code-hint code-error"
    } else {
        "code-error"
    };
    view! {
        <div class="field code-field">
            <label for="code">{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <input
                node_ref=input
                id="code"
                name="code"
                type="text"
                inputmode="numeric"
                autocomplete="one-time-code"
                spellcheck="false"
                maxlength="24"
                size=length.to_string()
                data-length=length.to_string()
                autofocus=true
                aria-invalid=move || if invalid() { "true" } else { "false" }
                aria-describedby=described_by
                on:input=move |event| submit_if_complete(event_target_value(&event))
            />
            <p class="field-error" id="code-error" aria-live="polite">
                {move || message.get()}
            </p>
        </div>
    }
}

/// Asks the browser for the code of an incoming text message (WebOTP), where it can, and hands it
/// to `found`. The request ends when the component goes away.
fn listen_for_sms_code(found: impl Fn(String) + Copy + 'static) {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        web_otp::request(found);
        #[cfg(not(feature = "hydrate"))]
        let _ = found;
    });
}

#[cfg(feature = "hydrate")]
mod web_otp {
    use js_sys::{Array, Object, Reflect};
    use leptos::prelude::*;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use send_wrapper::SendWrapper;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{AbortController, CredentialRequestOptions};

    pub fn request(found: impl Fn(String) + 'static) {
        let window = window();
        if !Reflect::has(&window, &JsValue::from_str("OTPCredential")).unwrap_or(false) {
            return;
        }
        let Ok(controller) = AbortController::new() else {
            return;
        };
        let options = Object::new();
        let otp = Object::new();
        let transports = Array::of1(&JsValue::from_str("sms"));
        if Reflect::set(&otp, &"transport".into(), &transports).is_err()
            || Reflect::set(&options, &"otp".into(), &otp).is_err()
            || Reflect::set(&options, &"signal".into(), &controller.signal()).is_err()
        {
            return;
        }
        let options: CredentialRequestOptions = options.unchecked_into();
        let Ok(promise) = window.navigator().credentials().get_with_options(&options) else {
            return;
        };
        let abort = SendWrapper::new(controller);
        on_cleanup(move || abort.abort());
        leptos::task::spawn_local(async move {
            let Ok(credential) = JsFuture::from(promise).await else {
                return;
            };
            if let Some(code) = Reflect::get(&credential, &"code".into())
                .ok()
                .and_then(|code| code.as_string())
            {
                found(code);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_code_with_spaces_or_dashes_is_complete() {
        assert_eq!(complete_code("123456", 6).as_deref(), Some("123456"));
        assert_eq!(complete_code(" 123 456 ", 6).as_deref(), Some("123456"));
        assert_eq!(complete_code("123-456", 6).as_deref(), Some("123456"));
    }

    #[test]
    fn a_short_long_or_lettered_code_is_not() {
        assert_eq!(complete_code("12345", 6), None);
        assert_eq!(complete_code("1234567", 6), None);
        assert_eq!(complete_code("12a456", 6), None);
        assert_eq!(complete_code("12345678", 8).as_deref(), Some("12345678"));
    }
}
