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

use crate::types::{Notice, PageData};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// A query-string value as a signal ("" when absent), so a page follows client-side navigation.
fn query_value(key: &'static str) -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(key).unwrap_or_default())
}

/// The `?notice=` a page was sent with.
fn query_notice() -> Signal<Option<Notice>> {
    let notice = query_value("notice");
    Signal::derive(move || Notice::parse(&notice.get()))
}

/// The `?ending=` digits, kept only if they are exactly four digits.
fn query_ending() -> Signal<Option<String>> {
    let ending = query_value("ending");
    Signal::derive(move || {
        let ending = ending.get();
        (ending.len() == 4 && ending.chars().all(|c| c.is_ascii_digit())).then_some(ending)
    })
}

/// The `?wait=` seconds, if a whole number.
fn query_wait() -> Signal<Option<u64>> {
    let wait = query_value("wait");
    Signal::derive(move || wait.get().parse().ok())
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
