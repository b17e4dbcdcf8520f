//! Form building blocks shared by every page: a labelled field with its own announced error,
//! the form-level message, the notice banner, a submit button that shows it is working, the choice
//! between text and call, and the "resend" forms of the code pages.

use crate::api::{RequestReset, ResendCode, ResendSignInCode, SendVerification};
use crate::error::{AppError, Field};
use crate::types::{Capabilities, CodeFlow, DeliveryChannel, Notice};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// The error of an action's latest run, if it failed.
pub fn latest_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let value = action.value();
    Signal::derive(move || value.get().and_then(Result::err))
}

/// A labelled input whose error appears under it and is announced by screen readers.
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    field: Field,
    error: Signal<Option<AppError>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] value: Option<Signal<String>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let hint_id = hint.map(|_| format!("{name}-hint"));
    let described_by = match &hint_id {
        Some(hint_id) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    let message = move || error.get().and_then(|error| error.message_for(field));
    view! {
        <div class="field">
            <label for=name>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id.clone()>{hint}</p> })}
            <input
                id=name
                name=name
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                value=move || value.map(|value| value.get())
                aria-invalid=move || if message().is_some() { "true" } else { "false" }
                aria-describedby=described_by
            />
            <p class="field-error" id=error_id aria-live="polite">
                {message}
            </p>
        </div>
    }
}

/// The message for the whole form. With `all_errors`, field errors are shown here too (for forms
/// whose fields are hidden, such as "Resend code").
#[component]
pub fn FormMessage(
    error: Signal<Option<AppError>>,
    #[prop(optional)] all_errors: bool,
) -> impl IntoView {
    let message = move || {
        error.get().and_then(|error| {
            if all_errors {
                Some(error.user_message())
            } else {
                error.form_message()
            }
        })
    };
    view! {
        <div class="form-error" role="alert" aria-live="assertive">
            {message}
        </div>
    }
}

/// The notice a page was sent with (`?notice=…`), such as the lock message.
#[component]
pub fn NoticeBanner(
    notice: Signal<Option<Notice>>,
    ending: Signal<Option<String>>,
    #[prop(optional, into)] wait_secs: Option<Signal<Option<u64>>>,
) -> impl IntoView {
    let message = move || {
        let wait = wait_secs.and_then(|wait| wait.get());
        notice
            .get()
            .map(|notice| notice.message(ending.get().as_deref(), wait))
    };
    view! {
        <p class="notice" role="status" aria-live="polite">
            {message}
        </p>
    }
}

/// A form's submit button. Pages are rendered on the server only (see `islands`), so the form
/// posts and the next page answers; there is no "working…" state to show.
#[component]
pub fn SubmitButton(
    label: &'static str,
    #[prop(default = "primary")] class: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class=class>
            {label}
        </button>
    }
}

/// Whether this deployment can read codes aloud by phone call.
pub fn voice_available() -> bool {
    use_context::<Capabilities>().unwrap_or_default().voice
}

/// "Text message or phone call?" as radio buttons (`delivery`), when calls are available.
#[component]
pub fn DeliveryChoice(
    error: Signal<Option<AppError>>,
    #[prop(optional)] selected: DeliveryChannel,
    #[prop(default = "delivery")] name: &'static str,
) -> impl IntoView {
    voice_available().then(|| {
        let message = move || {
            error
                .get()
                .and_then(|error| error.message_for(Field::Delivery))
        };
        view! {
            <fieldset class="field choice">
                <legend>"How should we send your codes?"</legend>
                {DeliveryChannel::ALL
                    .into_iter()
                    .map(|channel| {
                        let id = format!("{name}-{}", channel.as_str());
                        let label_for = id.clone();
                        view! {
                            <label for=label_for class="radio">
                                <input
                                    type="radio"
                                    id=id
                                    name=name
                                    value=channel.as_str()
                                    checked=channel == selected
                                />
                                {channel.label()}
                            </label>
                        }
                    })
                    .collect_view()}
                <p class="field-error" aria-live="polite">{message}</p>
            </fieldset>
        }
    })
}

/// "Resend code", and with calls available "Call me instead" and "Text me instead", for the
/// unlock and reset pages. The buttons name the channel (`channel`); plain resend uses the
/// account's preference.
#[component]
pub fn ResendCodeForm(email: Signal<String>, flow: CodeFlow) -> impl IntoView {
    let buttons = move || {
        let voice = voice_available();
        view! {
            <p class="muted">
                "Wrong or expired code, or nothing arrived? Ask for a new one; the old code stops working."
            </p>
            <div class="actions">
                <SubmitButton label="Resend code" class="secondary"/>
                {voice
                    .then(|| {
                        view! {
                            <button
                                type="submit"
                                name="channel"
                                value="voice"
                                class="secondary"
                            >
                                "Call me instead"
                            </button>
                            <button
                                type="submit"
                                name="channel"
                                value="sms"
                                class="secondary"
                            >
                                "Text me instead"
                            </button>
                        }
                    })}
            </div>
        }
    };
    match flow {
        CodeFlow::Unlock => {
            let resend = ServerAction::<ResendCode>::new();
            let error = latest_error(resend);
            view! {
                <ActionForm action=resend attr:novalidate="">
                    <FormMessage error=error all_errors=true/>
                    <input type="hidden" name="email" value=move || email.get()/>
                    {buttons()}
                </ActionForm>
            }
            .into_any()
        }
        CodeFlow::PasswordReset => {
            let resend = ServerAction::<RequestReset>::new();
            let error = latest_error(resend);
            view! {
                <ActionForm action=resend attr:novalidate="">
                    <FormMessage error=error all_errors=true/>
                    <input type="hidden" name="email" value=move || email.get()/>
                    {buttons()}
                </ActionForm>
            }
            .into_any()
        }
        // These two know the account from the pending sign-in cookie (or the session).
        CodeFlow::PhoneVerification => {
            let resend = ServerAction::<SendVerification>::new();
            let error = latest_error(resend);
            view! {
                <ActionForm action=resend attr:novalidate="">
                    <FormMessage error=error all_errors=true/>
                    {buttons()}
                </ActionForm>
            }
            .into_any()
        }
        CodeFlow::SignIn => {
            let resend = ServerAction::<ResendSignInCode>::new();
            let error = latest_error(resend);
            view! {
                <ActionForm action=resend attr:novalidate="">
                    <FormMessage error=error all_errors=true/>
                    {buttons()}
                </ActionForm>
            }
            .into_any()
        }
    }
}
