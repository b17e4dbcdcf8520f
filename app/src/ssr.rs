//! The boundary between the server functions and the server: the `AccountService` trait (implemented
//! in the `server` crate), what a request tells it, and the cookie plumbing the adapters share.
//! Compiled only with the `ssr` feature, so none of it reaches the wasm build.

use crate::error::AppError;
use crate::types::{
    AccountSummary, AccountView, AdminAccess, AdminAccountView, AdminAction, CodeDelivery,
    CodeScope, CodeSent, FieldCheck, PhoneEnding,
};
use async_trait::async_trait;
use axum::extract::ConnectInfo;
use http::{header, request::Parts, HeaderMap, HeaderValue};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "latchkey_session";

/// The name of the cookie that carries a pending sign-in (a right password waiting for its code).
pub const PENDING_COOKIE: &str = "latchkey_pending";

/// The name of the cookie a trusted browser holds (see the server's `trusted_devices`).
pub const DEVICE_COOKIE: &str = "latchkey_device";

/// What the cookies are called on this server. Served over HTTPS, every cookie name carries the
/// `__Host-` prefix: the browser then only accepts the cookie from this very host, over HTTPS,
/// for the whole site, so a sibling subdomain cannot plant or overwrite one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CookieNames {
    pub https: bool,
}

impl CookieNames {
    /// The name `base` goes by here.
    pub fn name(self, base: &str) -> String {
        if self.https {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// The `Set-Cookie` value that gives the browser the cookie `base` holding `value` for
    /// `max_age_secs` (0 removes it): `HttpOnly`, `SameSite=Lax`, for the whole site, and
    /// `Secure` under HTTPS, as the `__Host-` name requires.
    pub fn set_cookie(self, base: &str, value: &str, max_age_secs: i64) -> String {
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
            self.name(base),
            if self.https { "; Secure" } else { "" }
        )
    }

    /// The raw session token from the request's cookies, if one was sent.
    pub fn session_token(self, headers: &HeaderMap) -> Option<String> {
        cookie_from(headers, &self.name(SESSION_COOKIE))
    }

    /// The raw pending sign-in token from the request's cookies, if one was sent.
    pub fn pending_token(self, headers: &HeaderMap) -> Option<String> {
        cookie_from(headers, &self.name(PENDING_COOKIE))
    }

    /// The raw device token from the request's cookies, if one was sent.
    pub fn device_token(self, headers: &HeaderMap) -> Option<String> {
        cookie_from(headers, &self.name(DEVICE_COOKIE))
    }
}

/// The client's IP address as the server resolved it (from the connection, or from the trusted
/// proxy header; an IPv4-mapped IPv6 address as plain IPv4), and the network it is counted by;
/// the server puts it in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp {
    /// The address itself: what the audit log and the session list show.
    pub address: IpAddr,
    /// What per-client limits and counts key on: the address for IPv4, its network (a /64 by
    /// default) for IPv6, written as the network's first address.
    pub network: IpAddr,
}

/// The random value this browser's recovery codes are bound to, from its signed recovery cookie
/// (or new); the server puts it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserBinding(pub String);

/// Who is asking: what the server knows about the request besides its form fields.
#[derive(Clone, Default)]
pub struct RequestContext {
    pub client_ip: Option<IpAddr>,
    /// The network per-client limits count this client in (see `ClientIp`).
    pub client_network: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The raw session token from the cookie, if one was sent.
    pub session_token: Option<String>,
    /// The raw pending sign-in token from its cookie, if one was sent.
    pub pending_token: Option<String>,
    /// The raw token of the browser's device cookie, if one was sent (a trusted browser).
    pub device_token: Option<String>,
    /// What the unlock and reset codes this browser asks for are bound to (see `BrowserBinding`).
    pub browser_binding: Option<String>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("client_ip", &self.client_ip)
            .field("client_network", &self.client_network)
            .field("user_agent", &self.user_agent)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "pending_token",
                &self.pending_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "device_token",
                &self.device_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The signup form exactly as typed.
#[derive(Clone)]
pub struct SignupForm {
    pub email: String,
    pub password: String,
    pub password_confirm: String,
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    /// `sms` or `voice`; empty means `sms`.
    pub delivery: String,
}

/// A session the service opened; the adapter sets each of `cookies` on the response (the session
/// cookie, and the removal of a finished pending sign-in's cookie).
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub cookies: Vec<String>,
}

/// A right password (or a new signup) whose sign-in waits for a code: the adapter sets `cookie`
/// (the pending sign-in) and sends the browser to the code page.
#[derive(Debug, Clone)]
pub struct PendingStep {
    pub cookie: String,
    pub phone_ending: PhoneEnding,
    /// A send limit held the code back; a new one can be asked for after that many seconds.
    pub code_delayed_secs: Option<u64>,
}

/// What a right phone verification code did.
#[derive(Debug, Clone)]
pub enum PhoneVerified {
    /// It finished a signup (or the sign-in of an unfinished one): a session is open.
    SignedIn(OpenedSession),
    /// A signed-in account proved its phone again.
    Reverified,
}

/// The service's answer to a login attempt that was not an error.
#[derive(Debug, Clone)]
pub enum LoginResult {
    SignedIn(OpenedSession),
    /// The account asks for a code at every sign-in.
    CodeRequired(PendingStep),
    /// The signup is unfinished: the phone must be verified first.
    VerifyPhone(PendingStep),
    /// Locked. `code_delayed_secs`: the lock happened now but a send limit held the code back;
    /// a code can be asked for after that many seconds.
    Locked {
        phone_ending: PhoneEnding,
        code_delayed_secs: Option<u64>,
    },
}

/// Every account flow, as the server functions call it. Implemented by the `server` crate and
/// provided to Leptos as an `Arc<dyn AccountService>` context.
#[async_trait]
pub trait AccountService: Send + Sync + 'static {
    /// Creates an account whose phone is not yet verified, and sends the verification code.
    async fn sign_up(
        &self,
        ctx: &RequestContext,
        form: SignupForm,
    ) -> Result<PendingStep, AppError>;
    /// A phone verification code: finishes the pending signup in `ctx`, or re-verifies the phone
    /// of the signed-in account.
    async fn verify_phone(
        &self,
        ctx: &RequestContext,
        code: &str,
    ) -> Result<PhoneVerified, AppError>;
    /// Sends a phone verification code again (pending signup) or anew (signed-in account).
    async fn send_phone_verification(
        &self,
        ctx: &RequestContext,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError>;
    /// The code that finishes the pending sign-in in `ctx`.
    async fn finish_sign_in(
        &self,
        ctx: &RequestContext,
        code: &str,
    ) -> Result<OpenedSession, AppError>;
    async fn resend_sign_in_code(
        &self,
        ctx: &RequestContext,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError>;
    /// The signed-in account's choice of a code at every sign-in.
    async fn set_sign_in_code(&self, ctx: &RequestContext, enabled: bool) -> Result<(), AppError>;
    /// Checks the current password and sends a code to `new_phone`.
    async fn start_phone_change(
        &self,
        ctx: &RequestContext,
        current_password: &str,
        new_phone: &str,
    ) -> Result<CodeSent, AppError>;
    /// The code sent to the new number: the change takes effect and the old number is told.
    async fn confirm_phone_change(&self, ctx: &RequestContext, code: &str) -> Result<(), AppError>;
    /// Whether the signed-in admin's session may use the admin area now.
    async fn admin_gate(&self, ctx: &RequestContext) -> Result<AdminAccess, AppError>;
    async fn send_admin_code(&self, ctx: &RequestContext) -> Result<CodeSent, AppError>;
    /// An admin access code: opens the admin area to this session for a while.
    async fn admin_step_up(&self, ctx: &RequestContext, code: &str) -> Result<(), AppError>;
    async fn admin_search(
        &self,
        ctx: &RequestContext,
        query: &str,
    ) -> Result<Vec<AccountSummary>, AppError>;
    async fn admin_account(
        &self,
        ctx: &RequestContext,
        account_id: i64,
    ) -> Result<AdminAccountView, AppError>;
    async fn admin_act(
        &self,
        ctx: &RequestContext,
        account_id: i64,
        action: AdminAction,
    ) -> Result<(), AppError>;
    async fn log_in(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: &str,
    ) -> Result<LoginResult, AppError>;
    async fn unlock(&self, ctx: &RequestContext, email: &str, code: &str) -> Result<(), AppError>;
    /// A new unlock code, by `channel` (`sms` or `voice`) when given, else by the account's
    /// preference.
    async fn resend_unlock_code(
        &self,
        ctx: &RequestContext,
        email: &str,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError>;
    async fn request_password_reset(
        &self,
        ctx: &RequestContext,
        email: &str,
        channel: Option<&str>,
    ) -> Result<CodeSent, AppError>;
    /// Where the latest code of `scope` is, and when a new one may be asked for: for `email`'s
    /// account, or without an email for the pending sign-in or session in `ctx`.
    async fn code_delivery(
        &self,
        ctx: &RequestContext,
        email: Option<&str>,
        scope: CodeScope,
    ) -> Result<CodeDelivery, AppError>;
    /// Changes how the signed-in account gets its codes.
    async fn set_delivery_channel(
        &self,
        ctx: &RequestContext,
        channel: &str,
    ) -> Result<(), AppError>;
    async fn reset_password(
        &self,
        ctx: &RequestContext,
        email: &str,
        code: &str,
        new_password: &str,
        new_password_confirm: &str,
    ) -> Result<(), AppError>;
    /// An email as typed, trimmed, if it is shaped like one (nothing is looked up).
    fn check_email(&self, email: &str) -> Result<String, AppError>;
    /// One signup field checked as it is typed, by the rules signup applies (`field` as the
    /// form names it); `form` holds the other fields the check needs.
    async fn check_signup_field(
        &self,
        field: &str,
        value: &str,
        form: SignupForm,
    ) -> Result<FieldCheck, AppError>;
    /// Ends the session in `ctx`, if any; returns the header value that clears the cookie.
    async fn log_out(&self, ctx: &RequestContext) -> Result<String, AppError>;
    async fn current_account(&self, ctx: &RequestContext) -> Result<AccountView, AppError>;
    /// Stops trusting one browser of the signed-in account.
    async fn forget_device(&self, ctx: &RequestContext, device_id: i64) -> Result<(), AppError>;
}

/// The service and the request context for the server function being run.
pub async fn request_scope() -> Result<(Arc<dyn AccountService>, RequestContext), AppError> {
    let Some(service) = use_context::<Arc<dyn AccountService>>() else {
        tracing::error!("AccountService missing from the Leptos context");
        return Err(AppError::Internal);
    };
    let parts = use_context::<Parts>();
    let resolved = parts
        .as_ref()
        .and_then(|parts| parts.extensions.get::<ClientIp>().copied());
    let (client_ip, client_network) = match resolved {
        Some(ClientIp { address, network }) => (Some(address), Some(network)),
        None => {
            let address = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
                .await
                .ok()
                .map(|ConnectInfo(address)| address.ip().to_canonical());
            (address, address)
        }
    };
    let headers = parts.as_ref().map(|parts| &parts.headers);
    let cookies = use_context::<CookieNames>().unwrap_or_default();
    let ctx = RequestContext {
        client_ip,
        client_network,
        user_agent: headers
            .and_then(|headers| headers.get(header::USER_AGENT))
            .and_then(|value| value.to_str().ok())
            .map(|value| value.chars().take(512).collect()),
        session_token: headers.and_then(|headers| cookies.session_token(headers)),
        pending_token: headers.and_then(|headers| cookies.pending_token(headers)),
        device_token: headers.and_then(|headers| cookies.device_token(headers)),
        browser_binding: parts
            .as_ref()
            .and_then(|parts| parts.extensions.get::<BrowserBinding>())
            .map(|BrowserBinding(binding)| binding.clone()),
    };
    Ok((service, ctx))
}

/// The value of the cookie `name` in the request's `Cookie` headers, if present and not empty.
pub fn cookie_from(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, token)| token.to_owned())
        .filter(|token| !token.is_empty())
}

/// Adds a `Set-Cookie` header to the server function's response.
pub fn set_cookie(value: &str) -> Result<(), AppError> {
    let value = HeaderValue::from_str(value).map_err(|_| {
        tracing::error!("session cookie is not a valid header value");
        AppError::Internal
    })?;
    expect_context::<ResponseOptions>().append_header(header::SET_COOKIE, value);
    Ok(())
}

/// Adds each of `values` as a `Set-Cookie` header.
pub fn set_cookies(values: &[String]) -> Result<(), AppError> {
    values.iter().try_for_each(|value| set_cookie(value))
}

/// Sends the browser to `path` after the server function: a 302 for a plain form post, a
/// client-side navigation once the wasm is loaded. API clients get a `Location` header.
pub fn redirect(path: &str) {
    // leptos_axum panics on a header value it cannot build; our paths are percent-encoded ASCII,
    // but check anyway so that no input can ever reach that panic.
    if HeaderValue::from_str(path).is_ok() {
        leptos_axum::redirect(path);
    } else {
        tracing::error!("refusing to redirect to a path that is not a valid header value");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_token_is_found_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; latchkey_session=abc123; other=1"),
        );
        assert_eq!(
            CookieNames::default().session_token(&headers).as_deref(),
            Some("abc123")
        );
    }

    #[test]
    fn over_https_only_the_host_prefixed_cookie_counts() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("latchkey_session=planted; __Host-latchkey_session=real"),
        );
        let https = CookieNames { https: true };
        assert_eq!(https.session_token(&headers).as_deref(), Some("real"));
        assert_eq!(https.name(SESSION_COOKIE), "__Host-latchkey_session");
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("latchkey_session=planted"),
        );
        assert_eq!(https.session_token(&headers), None);
    }

    #[test]
    fn an_empty_or_missing_session_cookie_is_no_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(CookieNames::default().session_token(&headers), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("latchkey_session="),
        );
        assert_eq!(CookieNames::default().session_token(&headers), None);
    }
}
