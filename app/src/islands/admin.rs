//! The admin area's forms: the admin access code, the account search (results without a page
//! load), and the actions on one account.

use crate::api::{AdminAct, AdminSearch as AdminSearchFn, SendAdminCode};
use crate::components::{form_parts, FormMessage, SubmitButton};
use crate::error::AppError;
use crate::flash::FormInit;
use crate::form_post::{fetch_json, PostForm};
use crate::types::{paths, AccountStatus, AccountSummary, AdminAction};
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

/// Account search by email or by the last digits of the phone number. Without JavaScript it is a
/// plain `GET /admin?q=…`; with it, results come without a page load and the address follows.
#[island]
pub fn AdminSearch(
    query: String,
    results: Option<Result<Vec<AccountSummary>, AppError>>,
) -> impl IntoView {
    let query = RwSignal::new(query);
    let results = RwSignal::new(results);
    let searching = RwSignal::new(false);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let q = query.get_untracked();
        searching.set(true);
        #[cfg(feature = "hydrate")]
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(
                &leptos::wasm_bindgen::JsValue::NULL,
                "",
                Some(&paths::admin_search(&q)),
            );
        }
        leptos::task::spawn_local(async move {
            let found =
                fetch_json::<Vec<AccountSummary>>(AdminSearchFn::PATH, &[("q", q.as_str())], None)
                    .await;
            results.set(Some(found));
            searching.set(false);
        });
    };
    view! {
        <form method="get" action=paths::ADMIN class="admin-search" role="search" on:submit=on_submit>
            <div class="field">
                <label for="admin-q">"Email, or the last digits of the phone number"</label>
                <div class="input-row">
                    <input
                        id="admin-q"
                        name="q"
                        type="search"
                        value=query.get_untracked()
                        on:input=move |event| query.set(event_target_value(&event))
                    />
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
        <div class="search-results" aria-live="polite">
            {move || match results.get() {
                None => ().into_any(),
                Some(Ok(accounts)) => results_table(accounts).into_any(),
                Some(Err(error)) => {
                    view! { <p class="form-error" role="alert">{error.user_message()}</p> }.into_any()
                }
            }}
        </div>
    }
}

fn results_table(accounts: Vec<AccountSummary>) -> impl IntoView {
    if accounts.is_empty() {
        return view! { <p class="muted">"No account matches."</p> }.into_any();
    }
    let count = accounts.len();
    view! {
        <table class="data-table">
            <caption class="visually-hidden">{format!("{count} matching accounts")}</caption>
            <thead>
                <tr><th scope="col">"Email"</th><th scope="col">"Name"</th><th scope="col">"Phone"</th><th scope="col">"Status"</th></tr>
            </thead>
            <tbody>
                {accounts
                    .into_iter()
                    .map(|account| {
                        view! {
                            <tr>
                                <td data-label="Email"><a href=paths::admin_account(account.id)>{account.email}</a></td>
                                <td data-label="Name">{account.name}</td>
                                <td data-label="Phone">{account.masked_phone}</td>
                                <td data-label="Status"><StatusBadge status=account.status/></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// An account's status as a coloured badge with its words.
#[component]
pub fn StatusBadge(status: AccountStatus) -> impl IntoView {
    let tone = match status {
        AccountStatus::Active => "good",
        AccountStatus::Locked => "bad",
        AccountStatus::Unverified | AccountStatus::MustResetPassword => "warn",
    };
    view! { <span class=format!("badge badge-{tone}")>{status.label()}</span> }
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
