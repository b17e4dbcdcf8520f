//! The admin area: the step-up gate (an admin access code, even when signed in), then account
//! search, the 30-day counts as small charts, and one account with its actions. The server loads
//! each page's data before rendering it (`PageData`).

use super::{loaded_page, query_ending, query_notice, query_value};
use crate::api::{AdminAct, AdminStepUp, SendAdminCode};
use crate::components::{latest_error, FormMessage, NoticeBanner, SubmitButton, TextField};
use crate::error::{AppError, Field};
use crate::types::{
    paths, AccountSummary, AdminAccess, AdminAccountView, AdminAction, AdminOverview, PageData,
    PhoneEnding,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// What every admin page shows for an error: the login page for no session, the gate for an
/// expired step-up, else the message.
fn error_view(error: AppError) -> AnyView {
    match error {
        AppError::NotSignedIn => view! { <Redirect path=paths::LOGIN/> }.into_any(),
        AppError::StepUpRequired => view! { <Redirect path=paths::ADMIN/> }.into_any(),
        error => view! { <p class="form-error" role="alert">{error.user_message()}</p> }.into_any(),
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    // The server loads the gate (and any search) before rendering: the page renders in one pass.
    let (access, results) = match loaded_page() {
        Some(PageData::Admin { access, results }) => (access, results),
        _ => (Err(AppError::NotSignedIn), None),
    };
    view! {
        <Title text="Admin · Latchkey"/>
        <section class="card wide">
            <h1>"Admin"</h1>
            <NoticeBanner notice=query_notice() ending=query_ending()/>
            {match access {
                Ok(AdminAccess::StepUpRequired { phone_ending }) => {
                    view! { <StepUpGate ending=phone_ending/> }.into_any()
                }
                Ok(AdminAccess::Open { elevated_until, overview }) => {
                    view! { <Dashboard elevated_until overview results/> }.into_any()
                }
                Err(error) => error_view(error),
            }}
        </section>
    }
}

/// Ask for an admin access code, and take it.
#[component]
fn StepUpGate(ending: PhoneEnding) -> impl IntoView {
    let send = ServerAction::<SendAdminCode>::new();
    let send_error = latest_error(send);
    let step_up = ServerAction::<AdminStepUp>::new();
    let error = latest_error(step_up);
    view! {
        <p>
            "The admin area needs a fresh admin access code, sent to the number ending in "
            {ending.as_str().to_owned()} ". Codes for signing in do not work here."
        </p>
        <ActionForm action=send attr:novalidate="" attr:class="send-admin-code">
            <FormMessage error=send_error all_errors=true/>
            <SubmitButton label="Send me an admin access code" class="secondary"/>
        </ActionForm>
        <ActionForm action=step_up attr:novalidate="">
            <FormMessage error=error/>
            <TextField
                label="Admin access code"
                name="code"
                field=Field::Code
                inputmode="numeric"
                autocomplete="one-time-code"
                error=error
            />
            <SubmitButton label="Open the admin area"/>
        </ActionForm>
    }
}

#[component]
fn Dashboard(
    elevated_until: String,
    overview: AdminOverview,
    results: Option<Result<Vec<AccountSummary>, AppError>>,
) -> impl IntoView {
    let query = query_value("q");
    view! {
        <p class="muted">"Admin access until " {elevated_until} "."</p>
        <h2>"Find an account"</h2>
        <form method="get" action=paths::ADMIN class="admin-search">
            <div class="field">
                <label for="admin-q">"Email, or the last digits of the phone number"</label>
                <input id="admin-q" name="q" type="search" value=move || query.get()/>
            </div>
            <button type="submit" class="primary">"Search"</button>
        </form>
        {match results {
            None => ().into_any(),
            Some(Ok(accounts)) => view! { <SearchResults accounts/> }.into_any(),
            Some(Err(error)) => error_view(error),
        }}
        <h2>"Last 30 days"</h2>
        <Charts overview/>
    }
}

#[component]
fn SearchResults(accounts: Vec<AccountSummary>) -> impl IntoView {
    if accounts.is_empty() {
        return view! { <p class="muted search-results">"No account matches."</p> }.into_any();
    }
    view! {
        <table class="search-results">
            <thead>
                <tr><th>"Email"</th><th>"Name"</th><th>"Phone"</th><th>"Status"</th></tr>
            </thead>
            <tbody>
                {accounts
                    .into_iter()
                    .map(|account| {
                        view! {
                            <tr>
                                <td><a href=paths::admin_account(account.id, None)>{account.email}</a></td>
                                <td>{account.name}</td>
                                <td>{account.masked_phone}</td>
                                <td>{account.status.label()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// One small bar chart per count, a bar per day (oldest on the left).
#[component]
fn Charts(overview: AdminOverview) -> impl IntoView {
    let series: [(&'static str, Vec<u64>); 5] = [
        (
            "Sign-ins",
            overview.days.iter().map(|d| d.sign_ins).collect(),
        ),
        (
            "Failed sign-ins",
            overview.days.iter().map(|d| d.failures).collect(),
        ),
        ("Locks", overview.days.iter().map(|d| d.locks).collect()),
        (
            "Messages sent",
            overview.days.iter().map(|d| d.messages_sent).collect(),
        ),
        (
            "Messages failed",
            overview.days.iter().map(|d| d.messages_failed).collect(),
        ),
    ];
    let days: Vec<String> = overview.days.iter().map(|d| d.day.clone()).collect();
    view! {
        <div class="charts">
            {series
                .into_iter()
                .map(|(label, values)| view! { <BarChart label values days=days.clone()/> })
                .collect_view()}
        </div>
    }
}

const BAR_WIDTH: u64 = 8;
const CHART_HEIGHT: u64 = 40;

#[component]
fn BarChart(label: &'static str, values: Vec<u64>, days: Vec<String>) -> impl IntoView {
    let total: u64 = values.iter().sum();
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let width = BAR_WIDTH * values.len() as u64;
    let bars = values
        .iter()
        .zip(days)
        .enumerate()
        .map(|(index, (value, day))| {
            let height = if *value == 0 {
                0
            } else {
                (value * CHART_HEIGHT / max).max(2)
            };
            view! {
                <rect
                    x=(index as u64 * BAR_WIDTH).to_string()
                    y=(CHART_HEIGHT - height).to_string()
                    width=(BAR_WIDTH - 2).to_string()
                    height=height.to_string()
                >
                    <title>{format!("{day}: {value}")}</title>
                </rect>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-series=label data-total=total.to_string()>
            <figcaption>{label} " · " {total.to_string()} " in 30 days"</figcaption>
            <svg
                viewBox=format!("0 0 {width} {CHART_HEIGHT}")
                width=width.to_string()
                height=CHART_HEIGHT.to_string()
                role="img"
                aria-label=format!("{label} per day, last 30 days")
            >
                {bars}
            </svg>
        </figure>
    }
}

#[component]
pub fn AdminAccountPage() -> impl IntoView {
    let account = match loaded_page() {
        Some(PageData::AdminAccount(account)) => account,
        _ => Err(AppError::NotSignedIn),
    };
    view! {
        <Title text="Account · Admin · Latchkey"/>
        <section class="card wide">
            <NoticeBanner notice=query_notice() ending=query_ending()/>
            {match account {
                Ok(account) => view! { <AccountDetails account/> }.into_any(),
                Err(error) => error_view(error),
            }}
            <p class="links"><a href=paths::ADMIN>"Back to the admin area"</a></p>
        </section>
    }
}

#[component]
fn AccountDetails(account: AdminAccountView) -> impl IntoView {
    let id = account.id;
    view! {
        <h1>{account.email.clone()}</h1>
        <dl class="details">
            <dt>"Name"</dt><dd>{account.name.clone()}</dd>
            <dt>"Status"</dt><dd class="account-status">{account.status.label()}</dd>
            <dt>"Locked"</dt><dd>{if account.locked { "Yes" } else { "No" }}</dd>
            <dt>"Role"</dt><dd>{if account.is_admin { "Admin" } else { "User" }}</dd>
            <dt>"Phone"</dt><dd>{account.masked_phone.clone()}</dd>
            <dt>"Phone verified"</dt>
            <dd>{account.phone_verified_at.clone().unwrap_or_else(|| "Never".to_owned())}</dd>
            <dt>"Last sign-in"</dt>
            <dd>{account.last_login_at.clone().unwrap_or_else(|| "Never".to_owned())}</dd>
            <dt>"Created"</dt><dd>{account.created_at.clone()}</dd>
            <dt>"Sessions"</dt><dd>{account.active_sessions.to_string()}</dd>
        </dl>
        <h2>"Actions"</h2>
        <div class="admin-actions">
            <ActionButton id action=AdminAction::Unlock label="Unlock"/>
            <ActionButton id action=AdminAction::ForcePasswordReset label="Force a password reset"/>
            <ActionButton id action=AdminAction::RevokeSessions label="End all sessions"/>
        </div>
        <h2>"Recent events"</h2>
        <table class="events">
            <thead><tr><th>"When"</th><th>"Event"</th><th>"Detail"</th><th>"From"</th></tr></thead>
            <tbody>
                {account
                    .events
                    .into_iter()
                    .map(|event| view! {
                        <tr data-kind=event.kind.clone()>
                            <td>{event.at}</td>
                            <td>{event.description}</td>
                            <td>{event.detail.unwrap_or_default()}</td>
                            <td>{event.client_ip.unwrap_or_default()}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"Recent messages"</h2>
        <table class="messages">
            <thead><tr><th>"When"</th><th>"For"</th><th>"To"</th><th>"By"</th><th>"Status"</th></tr></thead>
            <tbody>
                {account
                    .messages
                    .into_iter()
                    .map(|message| {
                        let status = match message.failure {
                            Some(failure) => format!("{} ({failure})", message.status),
                            None => message.status,
                        };
                        view! {
                            <tr>
                                <td>{message.at}</td>
                                <td>{message.purpose}</td>
                                <td>{message.masked_phone}</td>
                                <td>{message.channel.as_str()}</td>
                                <td>{status}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ActionButton(id: i64, action: AdminAction, label: &'static str) -> impl IntoView {
    let act = ServerAction::<AdminAct>::new();
    let error = latest_error(act);
    let value = match action {
        AdminAction::Unlock => "unlock",
        AdminAction::ForcePasswordReset => "force_password_reset",
        AdminAction::RevokeSessions => "revoke_sessions",
    };
    view! {
        <ActionForm action=act attr:novalidate="">
            <FormMessage error=error all_errors=true/>
            <input type="hidden" name="account_id" value=id.to_string()/>
            <input type="hidden" name="action" value=value/>
            <SubmitButton label=label class="secondary"/>
        </ActionForm>
    }
}
