//! The HTTP API: one server function per account flow, at the stable paths documented in
//! `docs/API.md`. Each is a thin adapter: it gathers the request context, calls the
//! `AccountService`, sets the session cookie, says what the next page is told (its flash; see
//! `crate::flash`), and names that page. Page addresses carry no messages or emails.
//! Inputs are form-encoded (`application/x-www-form-urlencoded`); outputs and errors are JSON.

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::flash::{hand_on, remember_recovery, Flash, Recovery};
#[cfg(feature = "ssr")]
use crate::types::{paths, Notice};
use crate::types::{
    AccountSummary, AccountView, AdminAccess, AdminAccountView, AdminAction, CodeDelivery,
    CodeSent, FieldCheck, LoginOutcome,
};
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
) -> Result<CodeSent, AppError> {
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
    let pending = service.sign_up(&ctx, form).await?;
    set_cookie(&pending.cookie)?;
    hand_on(
        &Flash::notice(paths::VERIFY_PHONE, Notice::VerificationSent)
            .with_ending(&pending.phone_ending)
            .held_back(pending.code_delayed_secs, Notice::CodeDelayed),
    );
    redirect(paths::VERIFY_PHONE);
    Ok(CodeSent {
        phone_ending: pending.phone_ending,
    })
}

#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<LoginOutcome, AppError> {
    use crate::ssr::{redirect, request_scope, set_cookie, set_cookies, LoginResult};
    let (service, ctx) = request_scope().await?;
    match service.log_in(&ctx, &email, &password).await? {
        LoginResult::SignedIn(session) => {
            set_cookies(&session.cookies)?;
            redirect(paths::ACCOUNT);
            Ok(LoginOutcome::SignedIn)
        }
        LoginResult::CodeRequired(pending) => {
            set_cookie(&pending.cookie)?;
            hand_on(
                &Flash::notice(paths::SIGN_IN_CODE, Notice::SignInCodeSent)
                    .with_ending(&pending.phone_ending)
                    .held_back(pending.code_delayed_secs, Notice::CodeDelayed),
            );
            redirect(paths::SIGN_IN_CODE);
            Ok(LoginOutcome::CodeRequired {
                phone_ending: pending.phone_ending,
                retry_after_secs: pending.code_delayed_secs,
            })
        }
        LoginResult::VerifyPhone(pending) => {
            set_cookie(&pending.cookie)?;
            hand_on(
                &Flash::notice(paths::VERIFY_PHONE, Notice::VerificationSent)
                    .with_ending(&pending.phone_ending)
                    .held_back(pending.code_delayed_secs, Notice::CodeDelayed),
            );
            redirect(paths::VERIFY_PHONE);
            Ok(LoginOutcome::VerifyPhone {
                phone_ending: pending.phone_ending,
                retry_after_secs: pending.code_delayed_secs,
            })
        }
        LoginResult::Locked {
            phone_ending,
            code_delayed_secs,
        } => {
            remember_recovery(&Recovery {
                email: email.trim().to_owned(),
                ending: Some(phone_ending.clone()),
            });
            hand_on(
                &Flash::notice(paths::UNLOCK, Notice::Locked)
                    .with_ending(&phone_ending)
                    .held_back(code_delayed_secs, Notice::LockedCodeDelayed),
            );
            redirect(paths::UNLOCK);
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
    hand_on(&Flash::notice(paths::LOGIN, Notice::Unlocked).with_value("email", email.trim()));
    redirect(paths::LOGIN);
    Ok(())
}

#[server(prefix = "/api", endpoint = "resend-code")]
pub async fn resend_code(email: String, channel: Option<String>) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .resend_unlock_code(&ctx, &email, channel.as_deref())
        .await?;
    remember_recovery(&Recovery {
        email: email.trim().to_owned(),
        ending: Some(sent.phone_ending.clone()),
    });
    hand_on(&Flash::notice(paths::UNLOCK, Notice::CodeResent).with_ending(&sent.phone_ending));
    redirect(paths::UNLOCK);
    Ok(sent)
}

#[server(prefix = "/api", endpoint = "request-reset")]
pub async fn request_reset(email: String, channel: Option<String>) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .request_password_reset(&ctx, &email, channel.as_deref())
        .await?;
    remember_recovery(&Recovery {
        email: email.trim().to_owned(),
        ending: Some(sent.phone_ending.clone()),
    });
    hand_on(
        &Flash::notice(paths::RESET_PASSWORD, Notice::ResetCodeSent)
            .with_ending(&sent.phone_ending),
    );
    redirect(paths::RESET_PASSWORD);
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
    hand_on(
        &Flash::notice(paths::LOGIN, Notice::PasswordChanged).with_value("email", email.trim()),
    );
    redirect(paths::LOGIN);
    Ok(())
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope, set_cookie};
    let (service, ctx) = request_scope().await?;
    let clear_cookie = service.log_out(&ctx).await?;
    set_cookie(&clear_cookie)?;
    hand_on(&Flash::notice(paths::LOGIN, Notice::SignedOut));
    redirect(paths::LOGIN);
    Ok(())
}

/// Stops trusting one of the account's browsers (listed on the account page).
#[server(prefix = "/api", endpoint = "forget-device")]
pub async fn forget_device(device_id: i64) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.forget_device(&ctx, device_id).await?;
    hand_on(&Flash::notice(paths::ACCOUNT, Notice::DeviceForgotten));
    redirect(paths::ACCOUNT);
    Ok(())
}

#[server(prefix = "/api", endpoint = "me", input = server_fn::codec::GetUrl)]
pub async fn me() -> Result<AccountView, AppError> {
    use crate::ssr::request_scope;
    let (service, ctx) = request_scope().await?;
    service.current_account(&ctx).await
}

/// Where the latest code of `flow` (a code scope such as `unlock`) is, and when a new one may be
/// asked for: for `email`'s account, or without it for this browser's pending sign-in or session.
#[server(prefix = "/api", endpoint = "code-delivery", input = server_fn::codec::GetUrl)]
pub async fn delivery_status(
    #[server(default)] email: Option<String>,
    flow: String,
) -> Result<CodeDelivery, AppError> {
    use crate::ssr::request_scope;
    use crate::types::CodeScope;
    let scope = CodeScope::from_name(&flow).ok_or_else(|| AppError::MalformedRequest {
        detail: "flow must be a code scope: phone_verification, sign_in, unlock, \
                 password_reset, phone_change or admin_step_up"
            .to_owned(),
    })?;
    let (service, ctx) = request_scope().await?;
    service
        .code_delivery(
            &ctx,
            email.as_deref().filter(|email| !email.is_empty()),
            scope,
        )
        .await
}

/// Changes how the signed-in account receives codes: `sms` or `voice`.
#[server(prefix = "/api", endpoint = "delivery-preference")]
pub async fn set_delivery(channel: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.set_delivery_channel(&ctx, &channel).await?;
    hand_on(&Flash::notice(paths::ACCOUNT, Notice::DeliverySaved));
    redirect(paths::ACCOUNT);
    Ok(())
}

/// A phone verification code: finishes a pending signup (and signs in), or re-verifies the phone
/// of the signed-in account.
#[server(prefix = "/api", endpoint = "verify-phone")]
pub async fn verify_phone(code: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope, set_cookies, PhoneVerified};
    let (service, ctx) = request_scope().await?;
    if let PhoneVerified::SignedIn(session) = service.verify_phone(&ctx, &code).await? {
        set_cookies(&session.cookies)?;
    }
    hand_on(&Flash::notice(paths::ACCOUNT, Notice::PhoneVerified));
    redirect(paths::ACCOUNT);
    Ok(())
}

/// Sends a phone verification code: again for a pending signup, anew for a signed-in account.
#[server(prefix = "/api", endpoint = "send-verification")]
pub async fn send_verification(channel: Option<String>) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .send_phone_verification(&ctx, channel.as_deref())
        .await?;
    hand_on(
        &Flash::notice(paths::VERIFY_PHONE, Notice::CodeResent).with_ending(&sent.phone_ending),
    );
    redirect(paths::VERIFY_PHONE);
    Ok(sent)
}

/// The code that finishes a sign-in for an account that asks for one every time.
#[server(prefix = "/api", endpoint = "sign-in-code")]
pub async fn sign_in_code(code: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope, set_cookies};
    let (service, ctx) = request_scope().await?;
    let session = service.finish_sign_in(&ctx, &code).await?;
    set_cookies(&session.cookies)?;
    redirect(paths::ACCOUNT);
    Ok(())
}

#[server(prefix = "/api", endpoint = "resend-sign-in-code")]
pub async fn resend_sign_in_code(channel: Option<String>) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .resend_sign_in_code(&ctx, channel.as_deref())
        .await?;
    hand_on(
        &Flash::notice(paths::SIGN_IN_CODE, Notice::CodeResent).with_ending(&sent.phone_ending),
    );
    redirect(paths::SIGN_IN_CODE);
    Ok(sent)
}

/// "Ask for a code every time I sign in": `enabled` is `on` (a ticked checkbox) or absent.
#[server(prefix = "/api", endpoint = "sign-in-code-setting")]
pub async fn set_sign_in_code(enabled: Option<String>) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let enabled = match enabled.as_deref().map(str::trim) {
        None | Some("") | Some("off") | Some("false") => false,
        Some("on") | Some("true") => true,
        Some(_) => {
            return Err(AppError::MalformedRequest {
                detail: "enabled must be on or off".to_owned(),
            })
        }
    };
    service.set_sign_in_code(&ctx, enabled).await?;
    hand_on(&Flash::notice(paths::ACCOUNT, Notice::SettingsSaved));
    redirect(paths::ACCOUNT);
    Ok(())
}

/// Starts a phone change: the current password, and the new number (which gets a code).
#[server(prefix = "/api", endpoint = "change-phone")]
pub async fn start_phone_change(
    current_password: String,
    phone: String,
) -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service
        .start_phone_change(&ctx, &current_password, &phone)
        .await?;
    hand_on(
        &Flash::notice(paths::CHANGE_PHONE, Notice::PhoneChangeCodeSent)
            .with_ending(&sent.phone_ending),
    );
    redirect(paths::CHANGE_PHONE_CODE);
    Ok(sent)
}

/// Finishes a phone change with the code sent to the new number.
#[server(prefix = "/api", endpoint = "confirm-phone-change")]
pub async fn confirm_phone_change(code: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.confirm_phone_change(&ctx, &code).await?;
    hand_on(&Flash::notice(paths::ACCOUNT, Notice::PhoneChanged));
    redirect(paths::ACCOUNT);
    Ok(())
}

/// Whether this session may use the admin area now (and if so, the 30-day counts).
#[server(prefix = "/api", endpoint = "admin/gate", input = server_fn::codec::GetUrl)]
pub async fn admin_gate() -> Result<AdminAccess, AppError> {
    use crate::ssr::request_scope;
    let (service, ctx) = request_scope().await?;
    service.admin_gate(&ctx).await
}

/// Sends an admin access code to the signed-in admin's phone.
#[server(prefix = "/api", endpoint = "admin/send-code")]
pub async fn send_admin_code() -> Result<CodeSent, AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    let sent = service.send_admin_code(&ctx).await?;
    hand_on(&Flash::notice(paths::ADMIN, Notice::AdminCodeSent).with_ending(&sent.phone_ending));
    redirect(paths::ADMIN);
    Ok(sent)
}

/// An admin access code: opens the admin area to this session for `ADMIN_ELEVATION_TTL`.
#[server(prefix = "/api", endpoint = "admin/step-up")]
pub async fn admin_step_up(code: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.admin_step_up(&ctx, &code).await?;
    redirect(paths::ADMIN);
    Ok(())
}

/// Accounts whose email contains `q`, or whose phone number ends in the digits of `q`.
#[server(prefix = "/api", endpoint = "admin/search", input = server_fn::codec::GetUrl)]
pub async fn admin_search(q: String) -> Result<Vec<AccountSummary>, AppError> {
    use crate::ssr::request_scope;
    let (service, ctx) = request_scope().await?;
    service.admin_search(&ctx, &q).await
}

#[server(prefix = "/api", endpoint = "admin/account", input = server_fn::codec::GetUrl)]
pub async fn admin_account(id: i64) -> Result<AdminAccountView, AppError> {
    use crate::ssr::request_scope;
    let (service, ctx) = request_scope().await?;
    service.admin_account(&ctx, id).await
}

/// An admin action on one account: `unlock`, `force_password_reset` or `revoke_sessions`.
#[server(prefix = "/api", endpoint = "admin/act")]
pub async fn admin_act(account_id: i64, action: AdminAction) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, ctx) = request_scope().await?;
    service.admin_act(&ctx, account_id, action).await?;
    let notice = match action {
        AdminAction::Unlock => Notice::AdminUnlocked,
        AdminAction::ForcePasswordReset => Notice::AdminResetForced,
        AdminAction::RevokeSessions => Notice::AdminSessionsRevoked,
    };
    hand_on(&Flash::notice(paths::ADMIN_ACCOUNT, notice));
    redirect(&paths::admin_account(account_id));
    Ok(())
}

/// The unlock page without an account in mind: remembers which email the unlock is for (nothing
/// is looked up or sent), and goes back to the page.
#[server(prefix = "/api", endpoint = "unlock-email")]
pub async fn remember_unlock_email(email: String) -> Result<(), AppError> {
    use crate::ssr::{redirect, request_scope};
    let (service, _) = request_scope().await?;
    let email = service.check_email(&email)?;
    remember_recovery(&Recovery {
        email,
        ending: None,
    });
    redirect(paths::UNLOCK);
    Ok(())
}

/// Checks one signup field as it is typed, by the same rules that decide on submit: `field` is
/// `first_name`, `last_name`, `email`, `phone`, `password` or `password_confirm`; the password is
/// checked against the email and names given, and the confirmation against the password.
/// Rate-limited like signup.
#[server(prefix = "/api", endpoint = "check-field")]
pub async fn check_field(
    field: String,
    value: String,
    #[server(default)] email: String,
    #[server(default)] first_name: String,
    #[server(default)] last_name: String,
    #[server(default)] password: String,
) -> Result<FieldCheck, AppError> {
    use crate::ssr::{request_scope, SignupForm};
    let (service, _) = request_scope().await?;
    let form = SignupForm {
        email,
        password,
        password_confirm: String::new(),
        phone: String::new(),
        first_name,
        last_name,
        delivery: String::new(),
    };
    service.check_signup_field(&field, &value, form).await
}
