//! Form building blocks shared by every form island: the state a form shares with its fields, a
//! labelled field with its own announced error, the form-level message, a submit button that shows
//! it is working, the choice between text and call, and the notice banner of a page.
//!
//! Each renders as plain HTML on the server (so forms post without JavaScript) and becomes
//! reactive inside the island that uses it.

use crate::error::{AppError, Field};
use crate::flash::FormInit;
use crate::form_post::FormAction;
use crate::types::{DeliveryChannel, Notice, PhoneEnding};
use leptos::html;
use leptos::prelude::*;

/// What a form island and its fields share: the error to show (the action's latest, or before any
/// submission the error its last plain post came back with) and whether a submission is in flight.
#[derive(Clone, Copy)]
pub struct FormState {
    pub error: Signal<Option<AppError>>,
    pub pending: Signal<bool>,
    /// Bumped at every finished submission, so that focus can follow the outcome.
    pub version: Signal<usize>,
}

impl FormState {
    pub fn new(action: FormAction, init: &FormInit) -> Self {
        let initial = init.error.clone();
        let error = action.error();
        let version = action.version();
        Self {
            error: Signal::derive(move || {
                if version.get() == 0 {
                    initial.clone()
                } else {
                    error.get()
                }
            }),
            pending: action.pending(),
            version,
        }
    }

    /// The message for `field`, if the current error points at it.
    pub fn message_for(self, field: Field) -> Signal<Option<String>> {
        let error = self.error;
        Signal::derive(move || error.get().and_then(|error| error.message_for(field)))
    }
}

/// What a form island is made of: its action, the state its fields share (starting from `init`),
/// and its form element, with focus following each failed submission to the first error.
pub fn form_parts(init: &FormInit) -> (FormAction, FormState, NodeRef<html::Form>) {
    let action = FormAction::new();
    let state = FormState::new(action, init);
    let form = NodeRef::<html::Form>::new();
    focus_first_error(form, state);
    (action, state, form)
}

/// After each finished submission that failed, moves focus to the first field marked invalid in
/// `form`, or else to the form's message, so that keyboard and screen-reader users land on it.
pub fn focus_first_error(form: NodeRef<html::Form>, state: FormState) {
    Effect::new(move |_| {
        let finished = state.version.get();
        if finished == 0 || state.error.get().is_none() {
            return;
        }
        let Some(form) = form.get_untracked() else {
            return;
        };
        let target = form
            .query_selector("[aria-invalid=\"true\"]")
            .ok()
            .flatten()
            .or_else(|| form.query_selector(".form-error").ok().flatten());
        if let Some(target) = target {
            use leptos::wasm_bindgen::JsCast;
            if let Ok(target) = target.dyn_into::<leptos::web_sys::HtmlElement>() {
                let _ = target.focus();
            }
        }
    });
}

/// Submits `form` as its submit button would (so that its submit handler runs).
pub fn submit_form(form: NodeRef<html::Form>) {
    if let Some(form) = form.get_untracked() {
        let _ = form.request_submit();
    }
}

/// Becomes true once the island is running in the browser: controls that need JavaScript (show
/// password) stay hidden until then.
pub fn hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}

/// A labelled input whose error appears under it and is announced by screen readers. A password
/// field gets a control that shows what was typed.
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    field: Field,
    state: FormState,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    /// What the field starts with.
    #[prop(optional, into)]
    value: String,
    /// A message of the live check, shown when the form has none for this field.
    #[prop(optional, into)]
    live_message: Option<Signal<Option<String>>>,
    /// What the live check found, shown under the field (e.g. the number read back).
    #[prop(optional, into)]
    live_note: Option<Signal<Option<String>>>,
    /// Runs when the person leaves the field, with its value.
    #[prop(optional, into)]
    on_leave: Option<Callback<String>>,
    /// Runs as the person types, with the value.
    #[prop(optional, into)]
    on_type: Option<Callback<String>>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let note_id = format!("{name}-note");
    let hint_id = hint.map(|_| format!("{name}-hint"));
    let described_by = match &hint_id {
        Some(hint_id) => format!("{hint_id} {error_id} {note_id}"),
        None => format!("{error_id} {note_id}"),
    };
    let form_message = state.message_for(field);
    let message = move || {
        form_message
            .get()
            .or_else(|| live_message.and_then(|live| live.get()))
    };
    let invalid = move || message().is_some();
    // Without JavaScript the browser focuses the first field marked `autofocus`: the first invalid.
    let autofocus = form_message.get_untracked().is_some();
    let revealable = kind == "password";
    let shown = RwSignal::new(false);
    let hydrated = hydrated();
    let input_type = move || if shown.get() { "text" } else { kind };
    view! {
        <div class="field">
            <label for=name>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id.clone()>{hint}</p> })}
            <div class="input-row">
                <input
                    id=name
                    name=name
                    type=input_type
                    autocomplete=autocomplete
                    inputmode=inputmode
                    value=value
                    autofocus=autofocus
                    aria-invalid=move || if invalid() { "true" } else { "false" }
                    aria-describedby=described_by
                    on:blur=move |event| {
                        if let Some(on_leave) = on_leave {
                            on_leave.run(event_target_value(&event));
                        }
                    }
                    on:input=move |event| {
                        if let Some(on_type) = on_type {
                            on_type.run(event_target_value(&event));
                        }
                    }
                />
                {revealable
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="reveal"
                                aria-controls=name
                                aria-pressed=move || if shown.get() { "true" } else { "false" }
                                hidden=move || !hydrated.get()
                                on:click=move |_| shown.update(|shown| *shown = !*shown)
                            >
                                {move || if shown.get() { "Hide" } else { "Show" }}
                                <span class="visually-hidden">" password"</span>
                            </button>
                        }
                    })}
            </div>
            <p class="field-error" id=error_id aria-live="polite">
                {message}
            </p>
            <p class="field-note" id=note_id aria-live="polite">
                {move || live_note.and_then(|note| note.get())}
            </p>
        </div>
    }
}

/// The message for the whole form, announced at once. With `all_errors`, field errors are shown
/// here too (for forms without visible fields, such as "Send a new code").
#[component]
pub fn FormMessage(state: FormState, #[prop(optional)] all_errors: bool) -> impl IntoView {
    let message = move || {
        state.error.get().and_then(|error| {
            if all_errors {
                Some(error.user_message())
            } else {
                error.form_message()
            }
        })
    };
    view! {
        <div class="form-error" role="alert" tabindex="-1">
            {message}
        </div>
    }
}

/// A form's submit button: while the form is being sent it is disabled and says so. With
/// `confirm`, the browser asks that question first, and nothing is sent unless it is confirmed.
#[component]
pub fn SubmitButton(
    label: &'static str,
    #[prop(default = "Working…")] pending_label: &'static str,
    state: FormState,
    #[prop(default = "primary")] class: &'static str,
    #[prop(optional)] confirm: Option<&'static str>,
) -> impl IntoView {
    let pending = state.pending;
    let confirm_first = move |event: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        if let Some(question) = confirm {
            if !window().confirm_with_message(question).unwrap_or(false) {
                event.prevent_default();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&event, confirm);
    };
    view! {
        <button
            type="submit"
            class=class
            disabled=move || pending.get()
            aria-busy=move || if pending.get() { "true" } else { "false" }
            on:click=confirm_first
        >
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// "Text message or phone call?" as radio buttons (`name`), when calls are available.
#[component]
pub fn DeliveryChoice(
    voice: bool,
    state: FormState,
    #[prop(optional)] selected: Option<DeliveryChannel>,
    #[prop(default = "delivery")] name: &'static str,
    #[prop(default = "How should we send your codes?")] legend: &'static str,
) -> impl IntoView {
    voice.then(|| {
        let message = state.message_for(Field::Delivery);
        view! {
            <fieldset class="field choice">
                <legend>{legend}</legend>
                {DeliveryChannel::ALL
                    .iter()
                    .copied()
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
                                    checked=selected == Some(channel)
                                />
                                <span>{channel.label()}</span>
                            </label>
                        }
                    })
                    .collect_view()}
                <p class="field-error" aria-live="polite">{move || message.get()}</p>
            </fieldset>
        }
    })
}

/// The notice a page was handed (see `crate::flash`), such as the lock message.
#[component]
pub fn NoticeBanner(
    notice: Option<Notice>,
    ending: Option<PhoneEnding>,
    wait_secs: Option<u64>,
) -> impl IntoView {
    let message =
        notice.map(|notice| notice.message(ending.as_ref().map(PhoneEnding::as_str), wait_secs));
    view! {
        <p class="notice" role="status" aria-live="polite">
            {message}
        </p>
    }
}
