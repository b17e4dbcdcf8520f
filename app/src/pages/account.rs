//! The signed-in account: who you are, the phone on file (masked), how codes are sent, the last
//! sign-ins, recent security activity, and logout.

use crate::api::{me, Logout, SetDelivery};
use crate::components::{latest_error, DeliveryChoice, FormMessage, SubmitButton};
use crate::error::AppError;
use crate::types::{paths, AccountView, DeliveryChannel};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn AccountPage() -> impl IntoView {
    let account = Resource::new(|| (), |_| me());
    view! {
        <Title text="Your account · Latchkey"/>
        <Suspense fallback=|| view! { <section class="card"><p>"Loading…"</p></section> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(view) => view! { <AccountDetails account=view/> }.into_any(),
                    Err(AppError::NotSignedIn) => view! { <Redirect path=paths::LOGIN/> }.into_any(),
                    Err(error) => view! {
                        <section class="card">
                            <p class="form-error" role="alert">{error.user_message()}</p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountDetails(account: AccountView) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let last_login = account
        .last_login_at
        .clone()
        .unwrap_or_else(|| "Not yet".to_owned());
    let previous_login = account
        .previous_login_at
        .clone()
        .unwrap_or_else(|| "None: this is your first sign-in.".to_owned());
    view! {
        <section class="card">
            <h1>"Hello, " {account.first_name.clone()}</h1>
            <dl class="details">
                <dt>"Name"</dt>
                <dd>{format!("{} {}", account.first_name, account.last_name)}</dd>
                <dt>"Email"</dt>
                <dd>{account.email.clone()}</dd>
                <dt>"Mobile phone"</dt>
                <dd>{account.masked_phone.clone()}</dd>
                <dt>"Codes sent by"</dt>
                <dd>{account.delivery_channel.label()}</dd>
                <dt>"Last sign-in"</dt>
                <dd>{last_login}</dd>
                <dt>"Previous sign-in"</dt>
                <dd>{previous_login}</dd>
            </dl>
            {account.voice_available.then(|| view! { <DeliveryPreference current=account.delivery_channel/> })}
            <h2>"Recent activity"</h2>
            <ul class="activity">
                {account
                    .recent_activity
                    .iter()
                    .map(|item| {
                        let place = item
                            .client_ip
                            .as_ref()
                            .map(|ip| format!(" · from {ip}"))
                            .unwrap_or_default();
                        view! {
                            <li>
                                <span class="what">{item.description.clone()}</span>
                                <span class="when muted">{format!("{}{place}", item.at)}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <ActionForm action=logout attr:novalidate="">
                <button type="submit" class="secondary">
                    "Sign out"
                </button>
            </ActionForm>
        </section>
    }
}

/// Choose between text messages and calls for future codes.
#[component]
fn DeliveryPreference(current: DeliveryChannel) -> impl IntoView {
    let action = ServerAction::<SetDelivery>::new();
    let error = latest_error(action);
    view! {
        <h2>"Code delivery"</h2>
        <ActionForm action=action attr:novalidate="" attr:class="delivery-preference">
            <FormMessage error=error all_errors=true/>
            <DeliveryChoice error=error selected=current name="channel"/>
            <SubmitButton
                label="Save delivery preference"
                class="secondary"
            />
        </ActionForm>
    }
}
