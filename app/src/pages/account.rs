//! The signed-in account: who you are, the phone on file (masked) and whether it is verified, how
//! codes are sent, whether every sign-in asks for one, the trusted browsers, the last sign-ins and
//! recent security activity. Signing out is in the header of every signed-in page.

use super::{flash_notice, loaded_page, page_flash};
use crate::api::{ForgetDevice, SendVerification, SetDelivery, SetSignInCode};
use crate::error::AppError;
use crate::flash::Flash;
use crate::islands::{
    DeliveryPreferenceForm, ForgetDeviceForm, ReverifyPhoneForm, SignInCodeSettingForm,
};
use crate::types::{paths, AccountView, PageData};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
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
    let flash = page_flash();
    view! {
        <Title text="Your account · Latchkey"/>
        {match account {
            Ok(view) => view! { <AccountDetails account=view flash/> }.into_any(),
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
fn AccountDetails(account: AccountView, flash: Flash) -> impl IntoView {
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
            {flash_notice(&flash)}
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
            {account.voice_available.then(|| view! {
                <h2>"Code delivery"</h2>
                <DeliveryPreferenceForm
                    current=account.delivery_channel
                    init=flash.form_init(SetDelivery::PATH)
                />
            })}
            <h2>"Sign-in codes"</h2>
            {if account.sign_in_code_required {
                view! {
                    <p>"This service asks for a code sent to your phone at every sign-in."</p>
                }
                .into_any()
            } else {
                view! {
                    <SignInCodeSettingForm
                        enabled=account.sign_in_code
                        init=flash.form_init(SetSignInCode::PATH)
                    />
                }
                .into_any()
            }}
            <ReverifyPhoneForm init=flash.form_init(SendVerification::PATH)/>
            {account.is_admin.then(|| view! {
                <p class="links"><a href=paths::ADMIN>"Open the admin area"</a></p>
            })}
            <h2>"Trusted browsers"</h2>
            <p class="muted">
                "A browser you have signed in with can still sign in when someone else's wrong "
                "passwords have locked the account. A password reset forgets them all."
            </p>
            <ul class="devices">
                {account
                    .trusted_devices
                    .iter()
                    .map(|device| {
                        let init = flash.form_init(ForgetDevice::PATH);
                        view! {
                            <li>
                                <span class="what">
                                    {device.browser.clone()}
                                    {device.this_browser.then(|| view! {
                                        <span class="badge badge-good">"This browser"</span>
                                    })}
                                </span>
                                <span class="when muted">
                                    {format!("Last signed in {}", device.last_used_at)}
                                </span>
                                <ForgetDeviceForm
                                    device_id=device.id
                                    this_browser=device.this_browser
                                    init
                                />
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
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
        </section>
    }
}
