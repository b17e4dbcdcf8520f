//! One module a page. Pages read what the previous step handed them from the query string.

mod account;
mod admin;
mod change_phone;
mod forgot_password;
mod home;
mod login;
mod not_found;
mod reset_password;
mod sign_in_code;
mod signup;
mod unlock;
mod verify_phone;

pub use account::AccountPage;
pub use admin::{AdminAccountPage, AdminPage};
pub use change_phone::ChangePhonePage;
pub use forgot_password::ForgotPasswordPage;
pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use reset_password::ResetPasswordPage;
pub use sign_in_code::SignInCodePage;
pub use signup::SignupPage;
pub use unlock::UnlockPage;
pub use verify_phone::VerifyPhonePage;

use crate::components::NoticeBanner;
use crate::error::AppError;
use crate::flash::{Flash, Recovery};
use crate::types::{Capabilities, PageData};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A query-string value as a signal ("" when absent). Addresses carry only what names a page's
/// content (a search, an account id, a step), never a message.
fn query_value(key: &'static str) -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(key).unwrap_or_default())
}

/// What the previous step handed this page (see `crate::flash`).
fn page_flash() -> Flash {
    #[cfg(feature = "ssr")]
    {
        crate::flash::page_flash()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Flash::default()
    }
}

/// The account an unlock or reset is for, if this browser started one.
fn page_recovery() -> Option<Recovery> {
    #[cfg(feature = "ssr")]
    {
        crate::flash::page_recovery()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// What this deployment can do (calls, code lengths).
fn capabilities() -> Capabilities {
    use_context::<Capabilities>().unwrap_or_default()
}

/// The notice of the page's flash.
fn flash_notice(flash: &Flash) -> impl IntoView {
    view! {
        <NoticeBanner
            notice=flash.notice
            ending=flash.ending.clone()
            wait_secs=flash.wait_secs
        />
    }
}

/// Whether the page is rendered for a signed-in session: the server loaded a signed-in page's
/// data for it, and the session held.
pub(crate) fn signed_in() -> bool {
    let session_held = |error: Option<&AppError>| !matches!(error, Some(AppError::NotSignedIn));
    match loaded_page() {
        Some(PageData::Account(account)) => session_held(account.as_ref().err()),
        Some(PageData::Admin { access, .. }) => session_held(access.as_ref().err()),
        Some(PageData::AdminAccount(account)) => session_held(account.as_ref().err()),
        Some(PageData::CodeDelivery(_)) | None => false,
    }
}

/// The latest code's failure ("This number can't receive text messages…"), for a browser without
/// JavaScript: the code-status island says it otherwise, and renders nothing on the server.
fn delivery_failure_without_script() -> impl IntoView {
    let message = match loaded_page() {
        Some(PageData::CodeDelivery(delivery)) if delivery.failed => {
            crate::islands::delivery_message(&delivery)
        }
        _ => None,
    };
    message.map(|message| {
        view! {
            <noscript>
                <p class="form-error delivery-failed" role="alert">{message}</p>
            </noscript>
        }
    })
}

/// What the server loaded for this page before rendering it (see `PageData`); `None` when the
/// page is rendered without it.
fn loaded_page() -> Option<PageData> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PageData>().cloned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}
