//! What a code page says about delivery: the live notice when the latest code could not be
//! delivered, and the one control that asks for a new code (by text or by call).

use crate::api::{delivery_status, RequestReset, ResendCode as ResendUnlockCode, ResendSignInCode};
use crate::api::{SendAdminCode, SendVerification};
use crate::components::{focus_first_error, DeliveryChoice, FormMessage, FormState, SubmitButton};
use crate::flash::FormInit;
use crate::types::CodeFlow;
use leptos::html;
use leptos::prelude::*;

/// How often a code page asks whether its code failed to arrive, and for how long.
const DELIVERY_POLL_SECS: u64 = 3;
const DELIVERY_POLLS: u32 = 100;

/// "This number can't receive text messages" or "We couldn't deliver the code", once the latest
/// code of `flow` for `email` has failed for good. Asked in the browser every few seconds while
/// the page is open.
#[island]
pub fn DeliveryFailureNotice(email: String, flow: CodeFlow) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|tick| *tick += 1),
            std::time::Duration::from_secs(DELIVERY_POLL_SECS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let status = LocalResource::new(move || {
        let polls = tick.get();
        let email = email.clone();
        async move {
            if polls > DELIVERY_POLLS || email.is_empty() {
                return None;
            }
            delivery_status(email, flow.as_str().to_owned()).await.ok()
        }
    });
    let message = move || {
        let failed = status.get().flatten().filter(|status| status.failed)?;
        Some(match (failed.unreachable, failed.by_call, failed.voice_available) {
            (true, false, true) => {
                "This number can't receive text messages. Try a phone call instead: open \
                 \u{201c}Didn't get a code?\u{201d} below."
            }
            (true, false, false) => {
                "This number can't receive text messages. Ask the administrator of this service \
                 to check the number on your account."
            }
            (true, true, _) => "This number can't receive calls. Try a text message instead.",
            (false, _, true) => {
                "We couldn't deliver the code to your phone. Try a phone call, or send a new code."
            }
            (false, _, false) => {
                "We couldn't deliver the code to your phone. Send a new code, or check the number \
                 with the administrator of this service."
            }
        })
    };
    view! {
        <p class="form-error delivery-failed" role="alert" aria-live="assertive">
            {message}
        </p>
    }
}

/// "Didn't get a code?": one control that sends a new code, by text or (where a provider places
/// calls) by phone call. `email` names the account on the unlock and reset pages; the other flows
/// know it from the pending sign-in or the session.
#[island]
pub fn ResendCode(
    flow: CodeFlow,
    voice: bool,
    email: String,
    init: FormInit,
    /// Open from the start (after a failed request for a new code).
    open: bool,
) -> impl IntoView {
    let form = NodeRef::<html::Form>::new();
    let fields = move |state: FormState| {
        view! {
            <FormMessage state all_errors=true/>
            <p class="hint">"A new code replaces the old one, which then stops working."</p>
            {(!email.is_empty()).then(|| view! { <input type="hidden" name="email" value=email.clone()/> })}
            <DeliveryChoice voice state name="channel" legend="Send it by"/>
            <SubmitButton label="Send a new code" pending_label="Sending…" state class="secondary"/>
        }
    };
    let body = match flow {
        CodeFlow::Unlock => {
            let action = ServerAction::<ResendUnlockCode>::new();
            let state = FormState::new(action, &init);
            focus_first_error(form, state);
            view! { <ActionForm action node_ref=form attr:novalidate="">{fields(state)}</ActionForm> }
                .into_any()
        }
        CodeFlow::PasswordReset => {
            let action = ServerAction::<RequestReset>::new();
            let state = FormState::new(action, &init);
            focus_first_error(form, state);
            view! { <ActionForm action node_ref=form attr:novalidate="">{fields(state)}</ActionForm> }
                .into_any()
        }
        CodeFlow::PhoneVerification => {
            let action = ServerAction::<SendVerification>::new();
            let state = FormState::new(action, &init);
            focus_first_error(form, state);
            view! { <ActionForm action node_ref=form attr:novalidate="">{fields(state)}</ActionForm> }
                .into_any()
        }
        CodeFlow::SignIn => {
            let action = ServerAction::<ResendSignInCode>::new();
            let state = FormState::new(action, &init);
            focus_first_error(form, state);
            view! { <ActionForm action node_ref=form attr:novalidate="">{fields(state)}</ActionForm> }
                .into_any()
        }
        CodeFlow::AdminStepUp => {
            let action = ServerAction::<SendAdminCode>::new();
            let state = FormState::new(action, &init);
            focus_first_error(form, state);
            view! { <ActionForm action node_ref=form attr:novalidate="">{fields(state)}</ActionForm> }
                .into_any()
        }
    };
    view! {
        <details class="resend" open=open>
            <summary>"Didn't get a code?"</summary>
            {body}
        </details>
    }
}
