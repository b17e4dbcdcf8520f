//! The HTTP API: one server function per account flow, at the stable paths documented in
//! `docs/API.md`. Each is a thin adapter: it gathers the request context, calls the
//! `AccountService`, sets the session cookie, and names the page to go to next.
//! Inputs are form-encoded (`application/x-www-form-urlencoded`); outputs and errors are JSON.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::types::{paths, Notice};
use crate::types::{AccountView, CodeDelivery, CodeSent, LoginOutcome};
use leptos::prelude::*;

#[server(prefix = "/api", endpoint = "signup")]
pub async fn signup(
    email: String,
    password: String,
    password_confirm: String,
    phone: String,
    first_name: String,
    last_name: String,
    /// `sms` (when absent) or `voice`.
    delivery: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope, set_cookie, SignupForm};
    let (service, ctx) = request_scope().await?;
    let form = SignupForm {
        email,
        password,
        password_confirm,
        phone,
        first_name,
        last_name,
        delivery: delivery.unwrap_or_default(),
    };
    let session = service.sign_up(&ctx, form).await?;
    set_cookie(&session.set_cookie)?;
    redirect(paths::ACCOUNT);
    Ok(())
}

#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<LoginOutcome, AppError> {
    use crate::ssr::{redirect, request_scope, set_cookie, LoginResult};
    let (service, ctx) = request_scope().await?;
    match service.log_in(&ctx, &email, &password).await? {
        LoginResult::SignedIn(session) => {
            set_cookie(&session.set_cookie)?;
            redirect(paths::ACCOUNT);
            Ok(LoginOutcome::SignedIn)
        }
        LoginResult::Locked {
            phone_ending,
            code_delayed_secs,
        } => {
            let next = match code_delayed_secs {
                Some(wait) => paths::unlock_after_delay(email.trim(), &phone_ending, wait),
                None => paths::unlock(email.trim(), &phone_ending, Notice::Locked),
            };
            redirect(&next);
            Ok(LoginOutcome::Locked {
                phone_ending,
                retry_after_secs: code_delayed_secs,
            })
        }
    }
}

#[server(prefix = "/api", endpoint = "unlock")]
pub async fn unlock(email: String, code: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.unlock(&ctx, &email, &code).await?;
    redirect(&paths::login(Some(email.trim()), Some(Notice::Unlocked)));
    Ok(())
}

#[server(prefix = "/api", endpoint = "resend-code")]
pub async fn resend_code(email: String, channel: Option<String>) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .resend_unlock_code(&ctx, &email, channel.as_deref())
        .await?;
    redirect(&paths::unlock(
        email.trim(),
        &sent.phone_ending,
        Notice::CodeResent,
    ));
    Ok(sent)
}

#[server(prefix = "/api", endpoint = "request-reset")]
pub async fn request_reset(email: String, channel: Option<String>) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .request_password_reset(&ctx, &email, channel.as_deref())
        .await?;
    redirect(&paths::reset_password(
        email.trim(),
        &sent.phone_ending,
        Notice::ResetCodeSent,
    ));
    Ok(sent)
}

#[server(prefix = "/api", endpoint = "reset-password")]
pub async fn reset_password(
    email: String,
    code: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service
        .reset_password(&ctx, &email, &code, &new_password, &new_password_confirm)
        .await?;
    redirect(&paths::login(
        Some(email.trim()),
        Some(Notice::PasswordChanged),
    ));
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope, set_cookie};
    let (service, ctx) = request_scope().await?;
    let clear_cookie = service.log_out(&ctx).await?;
    set_cookie(&clear_cookie)?;
    redirect(&paths::login(None, Some(Notice::SignedOut)));
    Ok(())
}

#[server(prefix = "/api", endpoint = "me", input = server_fn::codec::GetUrl)]
pub async fn me() -> Result<AccountView, AppError> {
    use crate::ssr::request_scope;
    let (service, ctx) = request_scope().await?;
    service.current_account(&ctx).await
}

/// Whether the latest code of `flow` (`unlock` or `password_reset`) failed to reach `email`'s phone.
#[server(prefix = "/api", endpoint = "code-delivery", input = server_fn::codec::GetUrl)]
pub async fn delivery_status(email: String, flow: String) -> Result<CodeDelivery, AppError> {
    use crate::ssr::request_scope;
    let (service, ctx) = request_scope().await?;
    service.code_delivery(&ctx, &email, &flow).await
}

/// Changes how the signed-in account receives codes: `sms` or `voice`.
#[server(prefix = "/api", endpoint = "delivery-preference")]
pub async fn set_delivery(channel: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.set_delivery_channel(&ctx, &channel).await?;
    redirect(paths::ACCOUNT);
    Ok(())
}
