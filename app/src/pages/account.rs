//! The signed-in account: who you are, the phone on file (masked) and whether it is verified, how
//! codes are sent, whether every sign-in asks for one, the last sign-ins, recent security
//! activity, and logout.

use super::{loaded_page, query_ending, query_notice};
use crate::api::{Logout, SendVerification, SetDelivery, SetSignInCode};
use crate::components::{latest_error, DeliveryChoice, FormMessage, NoticeBanner, SubmitButton};
use crate::error::AppError;
use crate::types::{paths, AccountView, DeliveryChannel, PageData};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn AccountPage() -> impl IntoView {
    // The server loads the account before rendering (and redirects without a session), so the
    // page renders in one pass.
    let account = match loaded_page() {
        Some(PageData::Account(account)) => account,
        _ => Err(AppError::NotSignedIn),
    };
    view! {
        <Title text="Your account · Latchkey"/>
        <NoticeBanner notice=query_notice() ending=query_ending()/>
        {match account {
            Ok(view) => view! { <AccountDetails account=view/> }.into_any(),
            Err(AppError::NotSignedIn) => view! { <Redirect path=paths::LOGIN/> }.into_any(),
            Err(error) => view! {
                <section class="card">
                    <p class="form-error" role="alert">{error.user_message()}</p>
                </section>
            }
            .into_any(),
        }}
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
                <dd>
                    {account.masked_phone.clone()} " · "
                    {if account.phone_verified { "verified" } else { "not verified" }} " · "
                    <a href=paths::CHANGE_PHONE>"Change"</a>
                </dd>
                <dt>"Codes sent by"</dt>
                <dd>{account.delivery_channel.label()}</dd>
                <dt>"Last sign-in"</dt>
                <dd>{last_login}</dd>
                <dt>"Previous sign-in"</dt>
                <dd>{previous_login}</dd>
            </dl>
            {account.voice_available.then(|| view! { <DeliveryPreference current=account.delivery_channel/> })}
            <SignInCodeSetting enabled=account.sign_in_code required=account.sign_in_code_required/>
            <ReverifyPhone/>
            {account.is_admin.then(|| view! {
                <p class="links"><a href=paths::ADMIN>"Open the admin area"</a></p>
            })}
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

/// "Ask for a code every time I sign in", unless the service asks everyone.
#[component]
fn SignInCodeSetting(enabled: bool, required: bool) -> impl IntoView {
    let action = ServerAction::<SetSignInCode>::new();
    let error = latest_error(action);
    view! {
        <h2>"Sign-in codes"</h2>
        {if required {
            view! {
                <p>"This service asks for a code sent to your phone at every sign-in."</p>
            }
            .into_any()
        } else {
            view! {
                <ActionForm action=action attr:novalidate="" attr:class="sign-in-code-setting">
                    <FormMessage error=error all_errors=true/>
                    <label class="checkbox" for="sign-in-code-enabled">
                        <input
                            type="checkbox"
                            id="sign-in-code-enabled"
                            name="enabled"
                            value="on"
                            checked=enabled
                        />
                        "Ask for a code every time I sign in"
                    </label>
                    <SubmitButton label="Save sign-in setting" class="secondary"/>
                </ActionForm>
            }
            .into_any()
        }}
    }
}

/// Prove the phone on file again: a code goes to it, then the verify page takes it.
#[component]
fn ReverifyPhone() -> impl IntoView {
    let action = ServerAction::<SendVerification>::new();
    let error = latest_error(action);
    view! {
        <ActionForm action=action attr:novalidate="" attr:class="reverify-phone">
            <FormMessage error=error all_errors=true/>
            <SubmitButton label="Verify my phone again" class="secondary"/>
        </ActionForm>
    }
}
