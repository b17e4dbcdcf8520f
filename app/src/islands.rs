//! The only parts of the pages the browser hydrates (`#[island]`): everything else is rendered on
//! the server, and its forms work as plain form posts. The wasm holds just these.

use crate::api::delivery_status;
use crate::types::CodeFlow;
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
                "This number can't receive text messages. Try a phone call instead."
            }
            (true, false, false) => {
                "This number can't receive text messages. Ask the administrator of this service \
                 to check the number on your account."
            }
            (true, true, _) => "This number can't receive calls. Try a text message instead.",
            (false, _, true) => {
                "We couldn't deliver the code to your phone. Try a phone call, or resend the code."
            }
            (false, _, false) => {
                "We couldn't deliver the code to your phone. Resend it, or check the number with \
                 the administrator of this service."
            }
        })
    };
    view! {
        <p class="form-error delivery-failed" role="alert" aria-live="assertive">
            {message}
        </p>
    }
}
