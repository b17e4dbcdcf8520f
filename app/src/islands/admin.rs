//! The admin area's forms: the admin access code, the account search, and the actions on one
//! account.

use crate::api::{AdminAct, SendAdminCode};
use crate::components::{form_parts, FormMessage, SubmitButton};
use crate::flash::FormInit;
use crate::form_post::PostForm;
use crate::types::{paths, AdminAction};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// "Send me an admin access code".
#[island]
pub fn AdminSendCodeForm(init: FormInit) -> impl IntoView {
    let (action, state, form) = form_parts(&init);
    view! {
        <PostForm path=SendAdminCode::PATH action=action node_ref=form class="send-admin-code">
            <FormMessage state all_errors=true/>
            <SubmitButton label="Send me an admin access code" pending_label="Sending…" state class="secondary"/>
        </PostForm>
    }
}

/// Account search by email or by the last digits of the phone number: a plain `GET /admin?q=…`
/// whose results the server renders. Once the wasm runs, the search opens that address through
/// the client-side navigation (`navigation::go`): the results replace the page's without a page
/// load, and the button says it is searching meanwhile.
#[island]
pub fn AdminSearch(query: String) -> impl IntoView {
    let searching = RwSignal::new(false);
    let field = NodeRef::<leptos::html::Input>::new();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if searching.get_untracked() {
            return;
        }
        let q = field
            .get_untracked()
            .map(|input| input.value())
            .unwrap_or_default();
        searching.set(true);
        crate::navigation::go(&paths::admin_search(&q));
    };
    view! {
        <form method="get" action=paths::ADMIN class="admin-search" role="search" on:submit=on_submit>
            <div class="field">
                <label for="admin-q">"Email, or the last digits of the phone number"</label>
                <div class="input-row">
                    <input id="admin-q" name="q" type="search" value=query node_ref=field/>
                    <button
                        type="submit"
                        class="primary"
                        disabled=move || searching.get()
                        aria-busy=move || if searching.get() { "true" } else { "false" }
                    >
                        {move || if searching.get() { "Searching…" } else { "Search" }}
                    </button>
                </div>
            </div>
        </form>
    }
}

/// One admin action on one account, confirmed before it is sent.
#[island]
pub fn AdminActionForm(account_id: i64, action: AdminAction, init: FormInit) -> impl IntoView {
    let (act, state, form) = form_parts(&init);
    let (value, label, question) = match action {
        AdminAction::Unlock => ("unlock", "Unlock", "Unlock this account?"),
        AdminAction::ForcePasswordReset => (
            "force_password_reset",
            "Force a password reset",
            "Force a password reset? The password stops working and every session ends.",
        ),
        AdminAction::RevokeSessions => (
            "revoke_sessions",
            "End all sessions",
            "End every session of this account?",
        ),
    };
    view! {
        <PostForm path=AdminAct::PATH action=act node_ref=form>
            <FormMessage state all_errors=true/>
            <input type="hidden" name="account_id" value=account_id.to_string()/>
            <input type="hidden" name="action" value=value/>
            <SubmitButton label state class="secondary" confirm=question/>
        </PostForm>
    }
}
