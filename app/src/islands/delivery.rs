//! What a code page says about its code under the code field: how far the message has got (live),
//! and the one control that asks for a new code, by text or by call, with a countdown until the
//! server's send limits allow one.

use crate::api::{DeliveryStatus, RequestReset, ResendCode as ResendUnlockCode, ResendSignInCode};
use crate::api::{SendAdminCode, SendVerification};
use crate::components::{form_parts, DeliveryChoice, FormMessage, FormState};
use crate::error::AppError;
use crate::flash::FormInit;
use crate::form_post::{fetch_json, PostForm};
use crate::types::{CodeDelivery, CodeScope, DeliveryProgress};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// How often a code page asks where its code is, and for how long.
const POLL_SECS: u32 = 3;
const POLLS: u32 = 100;

/// What the person is told about the latest code.
pub fn delivery_message(status: &CodeDelivery) -> Option<&'static str> {
    if status.failed {
        return Some(
            match (status.unreachable, status.by_call, status.voice_available) {
                (true, false, true) => {
                    "This number can't receive text messages. Try a phone call instead: open \
                     \u{201c}Didn't get a code?\u{201d} below."
                }
                (true, false, false) => {
                    "This number can't receive text messages. Ask the administrator of this \
                     service to check the number on your account."
                }
                (true, true, _) => "This number can't receive calls. Try a text message instead.",
                (false, _, true) => {
                    "We couldn't deliver the code to your phone. Try a phone call, or send a new \
                     code."
                }
                (false, _, false) => {
                    "We couldn't deliver the code to your phone. Send a new code, or check the \
                     number with the administrator of this service."
                }
            },
        );
    }
    match status.progress {
        DeliveryProgress::Sending => Some("Sending your code…"),
        DeliveryProgress::Sent => Some("Your code is on its way to your phone."),
        DeliveryProgress::Delivered => Some("Your code has been delivered to your phone."),
        DeliveryProgress::Unknown | DeliveryProgress::Failed => None,
    }
}

/// "1:05", "0:42": a countdown as a clock shows it.
pub fn clock(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Seconds since the epoch, as the browser's clock has them (the countdown's base).
fn now_secs() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() / 1000.0
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// The delivery line and "Didn't get a code?" of a code page. `email` names the account on the
/// unlock and reset pages; the other flows know it from the pending sign-in or the session.
#[island]
pub fn CodeStatus(
    scope: CodeScope,
    voice: bool,
    email: String,
    init: FormInit,
    /// Open from the start (after a failed request for a new code).
    open: bool,
) -> impl IntoView {
    let status = RwSignal::new(None::<CodeDelivery>);
    // When a new code may be asked for, on the browser's clock, and the clock now.
    let allowed_at = RwSignal::new(0.0_f64);
    let now = RwSignal::new(now_secs());
    let polls = RwSignal::new(0u32);
    let email_for_poll = email.clone();
    let refresh = move || {
        let email = email_for_poll.clone();
        leptos::task::spawn_local(async move {
            let mut query = vec![("flow", scope.as_str())];
            if !email.is_empty() {
                query.push(("email", email.as_str()));
            }
            if let Ok(found) = fetch_json::<CodeDelivery>(DeliveryStatus::PATH, &query, None).await
            {
                allowed_at.set(now_secs() + found.retry_after_secs as f64);
                now.set(now_secs());
                status.set(Some(found));
            }
        });
    };
    let refresh_on_tick = refresh.clone();
    Effect::new(move |_| {
        refresh_on_tick();
        let refresh = refresh_on_tick.clone();
        if let Ok(handle) = set_interval_with_handle(
            move || {
                now.set(now_secs());
                let count = polls.get_untracked() + 1;
                polls.set(count);
                if count.is_multiple_of(POLL_SECS) && count / POLL_SECS < POLLS {
                    refresh();
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let wait = Signal::derive(move || (allowed_at.get() - now.get()).ceil().max(0.0) as u64);
    let message = move || status.get().as_ref().and_then(delivery_message);
    let failed = move || status.get().is_some_and(|status| status.failed);

    let fields = move |state: FormState| {
        let pending = state.pending;
        let blocked = move || pending.get() || wait.get() > 0;
        let label = move || {
            let wait = wait.get();
            if pending.get() {
                "Sending…".to_owned()
            } else if wait > 0 {
                format!("Send a new code ({})", clock(wait))
            } else {
                "Send a new code".to_owned()
            }
        };
        view! {
            <FormMessage state all_errors=true/>
            <p class="hint">"A new code replaces the old one, which then stops working."</p>
            {(!email.is_empty()).then(|| view! { <input type="hidden" name="email" value=email.clone()/> })}
            <DeliveryChoice voice state name="channel" legend="Send it by"/>
            <button
                type="submit"
                class="secondary"
                disabled=blocked
                aria-busy=move || if pending.get() { "true" } else { "false" }
            >
                {label}
            </button>
        }
    };
    // After each request for a new code: the next wait is the server's (from its answer when
    // refused), and the delivery line starts over.
    let after_request = move |state: FormState| {
        let refresh = refresh.clone();
        Effect::new(move |_| {
            if state.version.get() == 0 {
                return;
            }
            match state.error.get_untracked() {
                Some(AppError::TooManyCodes { retry_after_secs }) => {
                    allowed_at.set(now_secs() + retry_after_secs as f64);
                }
                _ => refresh(),
            }
        });
    };
    // Each scope asks its own server function for a new code. A phone change has none: a code
    // for a new number takes the password again, on the change's first step.
    let path = match scope {
        CodeScope::Unlock => Some(ResendUnlockCode::PATH),
        CodeScope::PasswordReset => Some(RequestReset::PATH),
        CodeScope::PhoneVerification => Some(SendVerification::PATH),
        CodeScope::SignIn => Some(ResendSignInCode::PATH),
        CodeScope::AdminStepUp => Some(SendAdminCode::PATH),
        CodeScope::PhoneChange => None,
    };
    let (action, state, form) = form_parts(&init);
    after_request(state);
    let resend = path.map(|path| {
        view! {
            <details class="resend" open=open>
                <summary>"Didn't get a code?"</summary>
                <PostForm path action node_ref=form>{fields(state)}</PostForm>
            </details>
        }
    });
    view! {
        <p class="delivery-progress muted" role="status" aria-live="polite">
            {move || (!failed()).then(message)}
        </p>
        <p class="form-error delivery-failed" role="alert" aria-live="assertive">
            {move || failed().then(message)}
        </p>
        {resend}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(progress: DeliveryProgress, failed: bool, unreachable: bool) -> CodeDelivery {
        CodeDelivery {
            progress,
            retry_after_secs: 0,
            failed,
            unreachable,
            by_call: false,
            voice_available: true,
        }
    }

    #[test]
    fn the_line_follows_the_code_and_a_failure_wins() {
        assert_eq!(
            delivery_message(&status(DeliveryProgress::Sending, false, false)),
            Some("Sending your code…")
        );
        assert_eq!(
            delivery_message(&status(DeliveryProgress::Sent, false, false)),
            Some("Your code is on its way to your phone.")
        );
        assert_eq!(
            delivery_message(&status(DeliveryProgress::Delivered, false, false)),
            Some("Your code has been delivered to your phone.")
        );
        assert_eq!(
            delivery_message(&status(DeliveryProgress::Unknown, false, false)),
            None
        );
        let unreachable = delivery_message(&status(DeliveryProgress::Failed, true, true));
        assert!(unreachable.is_some_and(|text| text.contains("can't receive text messages")));
    }

    #[test]
    fn a_countdown_reads_as_a_clock() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(42), "0:42");
        assert_eq!(clock(65), "1:05");
        assert_eq!(clock(3600), "60:00");
    }
}
