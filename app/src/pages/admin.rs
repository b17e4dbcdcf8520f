//! The admin area: the step-up gate (an admin access code, even when signed in), then account
//! search, the 30-day counts as a chart with its numbers in a table, and one account with its
//! actions. The server loads each page's data before rendering it (`PageData`).

use super::{capabilities, flash_notice, loaded_page, page_flash, query_value};
use crate::api::{AdminAct, SendAdminCode};
use crate::error::AppError;
use crate::flash::Flash;
use crate::islands::{AdminActionForm, AdminSearch, AdminSendCodeForm, CodeForm, CodeStep};
use crate::types::{
    paths, AccountStatus, AccountSummary, AdminAccess, AdminAccountView, AdminAction,
    AdminOverview, PageData, PhoneEnding,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
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
    let flash = page_flash();
    let wide = matches!(access, Ok(AdminAccess::Open { .. }));
    view! {
        <Title text="Admin · Latchkey"/>
        <section class=if wide { "card wide" } else { "card" }>
            <h1>"Admin"</h1>
            {flash_notice(&flash)}
            {match access {
                Ok(AdminAccess::StepUpRequired { phone_ending }) => {
                    view! { <StepUpGate ending=phone_ending flash/> }.into_any()
                }
                Ok(AdminAccess::Open { elevated_until, overview }) => {
                    view! {
                        <p class="muted">"Admin access until " {elevated_until} "."</p>
                        <h2>"Find an account"</h2>
                        <AdminSearch query=query_value("q").get_untracked()/>
                        <SearchResults results/>
                        <h2>"Last 30 days"</h2>
                        <Overview overview/>
                    }
                    .into_any()
                }
                Err(error) => error_view(error),
            }}
        </section>
    }
}

/// The results of a search (`/admin?q=…`), rendered by the server; nothing before a search. Their
/// summary takes the focus, so that it is announced after a search.
#[component]
fn SearchResults(results: Option<Result<Vec<AccountSummary>, AppError>>) -> impl IntoView {
    let body = match results {
        None => return ().into_any(),
        Some(Err(error)) => {
            view! { <p class="form-error" role="alert">{error.user_message()}</p> }.into_any()
        }
        Some(Ok(accounts)) if accounts.is_empty() => view! {
            <p class="muted results-summary" tabindex="-1" autofocus=true>"No account matches."</p>
        }
        .into_any(),
        Some(Ok(accounts)) => {
            let summary = match accounts.len() {
                1 => "1 matching account".to_owned(),
                count => format!("{count} matching accounts"),
            };
            view! {
                <p class="results-summary" tabindex="-1" autofocus=true>{summary}</p>
                <table class="data-table">
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
    };
    view! { <div class="search-results">{body}</div> }.into_any()
}

/// An account's status as a coloured badge with its words.
#[component]
fn StatusBadge(status: AccountStatus) -> impl IntoView {
    let tone = match status {
        AccountStatus::Active => "good",
        AccountStatus::Locked => "bad",
        AccountStatus::Unverified | AccountStatus::MustResetPassword => "warn",
    };
    view! { <span class=format!("badge badge-{tone}")>{status.label()}</span> }
}

/// Ask for an admin access code, and take it.
#[component]
fn StepUpGate(ending: PhoneEnding, flash: Flash) -> impl IntoView {
    view! {
        <p>
            "The admin area needs a fresh admin access code, sent to the number ending in "
            {ending.as_str().to_owned()} ". Codes for signing in do not work here."
        </p>
        <AdminSendCodeForm init=flash.form_init(SendAdminCode::PATH)/>
        <CodeForm
            step=CodeStep::AdminStepUp
            length=capabilities().code_lengths.admin_step_up
            email=String::new()
            init=flash.form_init(CodeStep::AdminStepUp.path())
        />
    }
}

/// The five daily counts of the last 30 days.
struct Series {
    label: &'static str,
    class: &'static str,
    values: Vec<u64>,
}

fn series(overview: &AdminOverview) -> [Series; 5] {
    let days = &overview.days;
    [
        Series {
            label: "Sign-ins",
            class: "s-sign-ins",
            values: days.iter().map(|d| d.sign_ins).collect(),
        },
        Series {
            label: "Failed sign-ins",
            class: "s-failures",
            values: days.iter().map(|d| d.failures).collect(),
        },
        Series {
            label: "Locks",
            class: "s-locks",
            values: days.iter().map(|d| d.locks).collect(),
        },
        Series {
            label: "Messages sent",
            class: "s-sent",
            values: days.iter().map(|d| d.messages_sent).collect(),
        },
        Series {
            label: "Messages failed",
            class: "s-failed",
            values: days.iter().map(|d| d.messages_failed).collect(),
        },
    ]
}

/// A chart per count, and every number in a table.
#[component]
fn Overview(overview: AdminOverview) -> impl IntoView {
    let days: Vec<String> = overview.days.iter().map(|d| d.day.clone()).collect();
    let all = series(&overview);
    let table_rows = overview
        .days
        .iter()
        .rev()
        .map(|day| {
            view! {
                <tr>
                    <th scope="row" data-label="Day">{day.day.clone()}</th>
                    <td data-label="Sign-ins">{day.sign_ins.to_string()}</td>
                    <td data-label="Failed sign-ins">{day.failures.to_string()}</td>
                    <td data-label="Locks">{day.locks.to_string()}</td>
                    <td data-label="Messages sent">{day.messages_sent.to_string()}</td>
                    <td data-label="Messages failed">{day.messages_failed.to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="charts">
            {all
                .into_iter()
                .map(|series| view! { <BarChart series days=days.clone()/> })
                .collect_view()}
        </div>
        <details class="numbers">
            <summary>"The numbers, day by day"</summary>
            <table class="data-table">
                <caption class="visually-hidden">"Daily counts, last 30 days, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Day"</th>
                        <th scope="col">"Sign-ins"</th>
                        <th scope="col">"Failed sign-ins"</th>
                        <th scope="col">"Locks"</th>
                        <th scope="col">"Messages sent"</th>
                        <th scope="col">"Messages failed"</th>
                    </tr>
                </thead>
                <tbody>{table_rows}</tbody>
            </table>
        </details>
    }
}

/// Chart geometry, in SVG units: the plot area sits right of the value axis and above the days.
const PLOT_LEFT: u64 = 28;
const PLOT_TOP: u64 = 8;
const PLOT_WIDTH: u64 = 300;
const PLOT_HEIGHT: u64 = 80;
const AXIS_BELOW: u64 = 18;

/// One count as bars, a day each, oldest on the left: a value axis with its top value, the first
/// and last day under the bars, and each bar's day and value on hover and on keyboard focus.
#[component]
fn BarChart(series: Series, days: Vec<String>) -> impl IntoView {
    let Series {
        label,
        class,
        values,
    } = series;
    let total: u64 = values.iter().sum();
    let max = values.iter().copied().max().unwrap_or(0);
    let scale_top = max.max(1);
    let slot = PLOT_WIDTH / (values.len().max(1) as u64);
    let bars = values
        .iter()
        .zip(&days)
        .enumerate()
        .map(|(index, (value, day))| {
            let height = if *value == 0 { 0 } else { (value * PLOT_HEIGHT / scale_top).max(2) };
            let x = PLOT_LEFT + index as u64 * slot;
            let text = format!("{day}: {value} {}", label.to_lowercase());
            view! {
                <g class="bar" tabindex="0" role="img" aria-label=text.clone()>
                    <title>{text.clone()}</title>
                    // The whole column answers the pointer, however short the bar.
                    <rect class="hit" x=x.to_string() y=PLOT_TOP.to_string() width=slot.to_string() height=PLOT_HEIGHT.to_string()/>
                    <rect
                        class="value"
                        x=(x + 1).to_string()
                        y=(PLOT_TOP + PLOT_HEIGHT - height).to_string()
                        width=slot.saturating_sub(2).max(1).to_string()
                        height=height.to_string()
                    />
                </g>
            }
        })
        .collect_view();
    let width = PLOT_LEFT + PLOT_WIDTH + 4;
    let height = PLOT_TOP + PLOT_HEIGHT + AXIS_BELOW;
    let base = PLOT_TOP + PLOT_HEIGHT;
    let first_day = days.first().cloned().unwrap_or_default();
    let last_day = days.last().cloned().unwrap_or_default();
    view! {
        <figure class=format!("chart {class}") data-series=label data-total=total.to_string()>
            <figcaption>
                <strong>{label}</strong>
                {total.to_string()} " in 30 days · most in a day: " {max.to_string()}
            </figcaption>
            <svg
                viewBox=format!("0 0 {width} {height}")
                preserveAspectRatio="xMidYMid meet"
                role="group"
                aria-label=format!("{label} per day, last 30 days")
            >
                <line class="axis" x1=PLOT_LEFT.to_string() y1=PLOT_TOP.to_string() x2=PLOT_LEFT.to_string() y2=base.to_string()/>
                <line class="axis" x1=PLOT_LEFT.to_string() y1=base.to_string() x2=(PLOT_LEFT + PLOT_WIDTH).to_string() y2=base.to_string()/>
                <line class="grid" x1=PLOT_LEFT.to_string() y1=PLOT_TOP.to_string() x2=(PLOT_LEFT + PLOT_WIDTH).to_string() y2=PLOT_TOP.to_string()/>
                <text class="tick" x=(PLOT_LEFT - 4).to_string() y=(PLOT_TOP + 4).to_string() text-anchor="end">{scale_top.to_string()}</text>
                <text class="tick" x=(PLOT_LEFT - 4).to_string() y=base.to_string() text-anchor="end">"0"</text>
                {bars}
                <text class="tick" x=PLOT_LEFT.to_string() y=(base + 14).to_string() text-anchor="start">{first_day}</text>
                <text class="tick" x=(PLOT_LEFT + PLOT_WIDTH).to_string() y=(base + 14).to_string() text-anchor="end">{last_day}</text>
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
    let flash = page_flash();
    view! {
        <Title text="Account · Admin · Latchkey"/>
        <section class="card wide">
            {flash_notice(&flash)}
            {match account {
                Ok(account) => view! { <AccountDetails account flash/> }.into_any(),
                Err(error) => error_view(error),
            }}
            <p class="links"><a href=paths::ADMIN>"Back to the admin area"</a></p>
        </section>
    }
}

#[component]
fn AccountDetails(account: AdminAccountView, flash: Flash) -> impl IntoView {
    let id = account.id;
    let init = flash.form_init(AdminAct::PATH);
    view! {
        <h1 class="account-email">{account.email.clone()}</h1>
        <dl class="details">
            <dt>"Name"</dt><dd>{account.name.clone()}</dd>
            <dt>"Status"</dt><dd class="account-status"><StatusBadge status=account.status/></dd>
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
            <AdminActionForm account_id=id action=AdminAction::Unlock init=init.clone()/>
            <AdminActionForm account_id=id action=AdminAction::ForcePasswordReset init=init.clone()/>
            <AdminActionForm account_id=id action=AdminAction::RevokeSessions init/>
        </div>
        <h2>"Recent events"</h2>
        <table class="data-table events">
            <thead><tr><th scope="col">"When"</th><th scope="col">"Event"</th><th scope="col">"Detail"</th><th scope="col">"From"</th></tr></thead>
            <tbody>
                {account
                    .events
                    .into_iter()
                    .map(|event| view! {
                        <tr data-kind=event.kind.clone()>
                            <td data-label="When">{event.at}</td>
                            <td data-label="Event">{event.description}</td>
                            <td data-label="Detail">{event.detail.unwrap_or_default()}</td>
                            <td data-label="From">{event.client_ip.unwrap_or_default()}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"Recent messages"</h2>
        <table class="data-table messages">
            <thead><tr><th scope="col">"When"</th><th scope="col">"For"</th><th scope="col">"To"</th><th scope="col">"By"</th><th scope="col">"Status"</th></tr></thead>
            <tbody>
                {account
                    .messages
                    .into_iter()
                    .map(|message| {
                        let tone = match message.status.as_str() {
                            "sent" | "delivered" => "good",
                            "failed" => "bad",
                            _ => "warn",
                        };
                        let failure = message.failure.map(|failure| view! { <span class="muted">" " {failure}</span> });
                        view! {
                            <tr>
                                <td data-label="When">{message.at}</td>
                                <td data-label="For">{message.purpose}</td>
                                <td data-label="To">{message.masked_phone}</td>
                                <td data-label="By">{message.channel.as_str()}</td>
                                <td data-label="Status">
                                    <span class=format!("badge badge-{tone}")>{message.status}</span>
                                    {failure}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
