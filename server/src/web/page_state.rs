//! What one response hands the next page (see `app::flash`), carried in two short-lived cookies
//! signed with the server secret, never in the address:
//! - the **flash** (`latchkey_flash`, one minute): a notice, or a failed form's error and what was
//!   typed into it (never a password or a code). It belongs to one page and is cleared once that
//!   page has been shown.
//! - the **recovery** (`latchkey_recovery`, as long as an unlock or reset code lives): the email an
//!   unlock or password reset is for, and the browser's binding: a random value, kept while the
//!   cookie is, that the unlock and reset codes this browser asks for are bound to (the server
//!   functions see it as `RequestContext::browser_binding`; pages never see it).
//!
//! Server functions name the state in a response header (`app::flash::FLASH_HEADER`,
//! `RECOVERY_HEADER`); this middleware signs it into its cookie and removes the header. On the way
//! in it checks the signatures and puts what holds into the request's extensions for the pages. A
//! plain form post that fails comes back from server_fn (or the rate limiter) as a redirect with
//! the error in the query string; this middleware moves the error and the typed values into the
//! flash and redirects to the clean address instead.

use crate::auth::secret::ServerSecret;
use app::error::AppError;
use app::flash::{may_keep_field, FailedForm, Flash, Recovery, FLASH_HEADER, RECOVERY_HEADER};
use app::ssr::{cookie_from, BrowserBinding, CookieNames};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use time::Duration;

pub const FLASH_COOKIE: &str = "latchkey_flash";
pub const RECOVERY_COOKIE: &str = "latchkey_recovery";

/// What the recovery cookie holds: the account of an unlock or reset, and the browser's binding,
/// a random value the codes asked for from this browser are bound to (see `BrowserBinding`). The
/// binding stays in the cookie: pages are given the recovery state without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RecoveryCookie {
    #[serde(flatten)]
    recovery: Recovery,
    #[serde(default)]
    binding: Option<String>,
}

/// A new random binding: 128 bits, URL-safe.
fn new_binding() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How long a flash waits for its page: the next page load, so a minute is plenty.
const FLASH_LIFETIME: Duration = Duration::minutes(1);
/// A typed value longer than this is not carried back (no field of ours takes more).
const MAX_KEPT_VALUE: usize = 320;
/// A cookie larger than this may be dropped by browsers (4 KiB with its name and attributes).
const MAX_COOKIE_VALUE: usize = 3800;
/// A plain form post's body is read for its values only up to this size (the body limit layer
/// refuses larger ones first).
const MAX_FORM_BODY: usize = 2 * 1024 * 1024;

/// The keys and cookie attributes of the page state.
pub struct PageStateKeys {
    secret: ServerSecret,
    /// Served over HTTPS: the cookies get `Secure`.
    https: bool,
    /// How long the recovery state lives: as long as an unlock or reset code.
    recovery_lifetime: Duration,
}

impl PageStateKeys {
    pub fn new(secret: ServerSecret, https: bool, recovery_lifetime: Duration) -> Self {
        Self {
            secret,
            https,
            recovery_lifetime,
        }
    }

    /// `base64url(json).base64url(HMAC(secret, purpose, json))`.
    fn seal(&self, purpose: &str, state: &impl Serialize) -> Option<String> {
        let json = serde_json::to_vec(state).ok()?;
        let mac = self.secret.keyed_hash(purpose, &[&json]);
        Some(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(mac)
        ))
    }

    /// The state sealed in `value`, if its signature holds.
    fn open<T: DeserializeOwned>(&self, purpose: &str, value: &str) -> Option<T> {
        let (payload, mac) = value.split_once('.')?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let expected = self.secret.keyed_hash(purpose, &[&json]);
        if !bool::from(expected.as_slice().ct_eq(&mac)) {
            return None;
        }
        serde_json::from_slice(&json).ok()
    }

    fn cookie(&self, name: &str, value: &str, lifetime: Duration) -> Option<HeaderValue> {
        HeaderValue::from_str(
            &self
                .names()
                .set_cookie(name, value, lifetime.whole_seconds()),
        )
        .ok()
    }

    fn names(&self) -> CookieNames {
        CookieNames { https: self.https }
    }

    fn clearing(&self, name: &str) -> Option<HeaderValue> {
        self.cookie(name, "", Duration::ZERO)
    }

    /// The flash as a cookie: what was typed is left out, then the error's detail, if it would not
    /// fit.
    fn flash_cookie(&self, mut flash: Flash) -> Option<HeaderValue> {
        for _ in 0..3 {
            let sealed = self.seal(FLASH_COOKIE, &flash)?;
            if sealed.len() <= MAX_COOKIE_VALUE {
                return self.cookie(FLASH_COOKIE, &sealed, FLASH_LIFETIME);
            }
            if !flash.values.is_empty() {
                flash.values.clear();
            } else if let Some(failed) = flash.failed.as_mut() {
                failed.error = AppError::MalformedRequest {
                    detail: String::new(),
                };
            }
        }
        None
    }
}

pub async fn carry(
    State(keys): State<Arc<PageStateKeys>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let is_page = request.method() == Method::GET && !path.starts_with("/api/");
    let mut flash_shown = false;
    if let Some(flash) = cookie_from(request.headers(), &keys.names().name(FLASH_COOKIE))
        .and_then(|value| keys.open::<Flash>(FLASH_COOKIE, &value))
        .filter(|flash| is_page && flash.page == path)
    {
        request.extensions_mut().insert(flash);
        flash_shown = true;
    }
    let mut binding = None;
    if let Some(cookie) = cookie_from(request.headers(), &keys.names().name(RECOVERY_COOKIE))
        .and_then(|value| keys.open::<RecoveryCookie>(RECOVERY_COOKIE, &value))
    {
        request.extensions_mut().insert(cookie.recovery);
        binding = cookie.binding;
    }
    // The browser keeps its binding while it has a recovery cookie; a new one otherwise (kept
    // only if this request sets the cookie).
    let binding = binding.unwrap_or_else(new_binding);
    request
        .extensions_mut()
        .insert(BrowserBinding(binding.clone()));

    let typed = if is_plain_form_post(&request) {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BODY).await else {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is too large.",
            )
                .into_response();
        };
        let typed = kept_values(&bytes);
        request = Request::from_parts(parts, Body::from(bytes));
        Some(typed)
    } else {
        None
    };

    let mut response = next.run(request).await;
    let mut flash = response
        .headers_mut()
        .remove(FLASH_HEADER)
        .and_then(|value| serde_json::from_slice::<Flash>(value.as_bytes()).ok());
    if let Some(typed) = typed {
        if let Some(failed) = failed_plain_post(&mut response, &path, typed) {
            flash = Some(failed);
        }
    }
    let headers = response.headers_mut();
    match flash {
        Some(flash) => append_cookie(headers, keys.flash_cookie(flash)),
        None if flash_shown => append_cookie(headers, keys.clearing(FLASH_COOKIE)),
        None => {}
    }
    if let Some(recovery) = headers
        .remove(RECOVERY_HEADER)
        .and_then(|value| serde_json::from_slice::<Recovery>(value.as_bytes()).ok())
    {
        let recovery = RecoveryCookie {
            recovery,
            binding: Some(binding),
        };
        let cookie = keys
            .seal(RECOVERY_COOKIE, &recovery)
            .and_then(|sealed| keys.cookie(RECOVERY_COOKIE, &sealed, keys.recovery_lifetime));
        append_cookie(headers, cookie);
    }
    response
}

fn append_cookie(headers: &mut HeaderMap, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// A browser's own form submission to a server function (no JavaScript): it asks for HTML and
/// sends the form encoded.
fn is_plain_form_post(request: &Request) -> bool {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    };
    request.method() == Method::POST
        && request.uri().path().starts_with("/api/")
        && header(header::ACCEPT).contains("text/html")
        && header(header::CONTENT_TYPE).starts_with("application/x-www-form-urlencoded")
}

/// The values of a form body that may be shown again: no password, no code, nothing long.
fn kept_values(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .filter(|(name, value)| may_keep_field(name) && value.chars().count() <= MAX_KEPT_VALUE)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// If `response` sends a failed plain post back to its page with the error in the address, makes
/// it a `303` to the clean address and returns the flash that carries the error and `typed`.
fn failed_plain_post(
    response: &mut Response,
    action: &str,
    typed: Vec<(String, String)>,
) -> Option<Flash> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response
        .headers()
        .get(header::LOCATION)?
        .to_str()
        .ok()?
        .to_owned();
    let (page, query, error) = split_error_address(&location)?;
    let clean = if query.is_empty() {
        page.clone()
    } else {
        format!("{page}?{query}")
    };
    let clean = HeaderValue::from_str(&clean).ok()?;
    response.headers_mut().insert(header::LOCATION, clean);
    *response.status_mut() = StatusCode::SEE_OTHER;
    Some(Flash {
        page,
        failed: Some(FailedForm {
            action: action.to_owned(),
            error,
        }),
        values: typed,
        ..Flash::default()
    })
}

/// An address with server_fn's error parameters (`__path`, `__err`) as its path, its other query
/// pairs re-encoded, and the error.
fn split_error_address(location: &str) -> Option<(String, String, AppError)> {
    let url = url::Url::parse(location)
        .or_else(|_| url::Url::parse("http://page.invalid").and_then(|base| base.join(location)))
        .ok()?;
    let mut error = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "__err" => {
                let json = URL_SAFE.decode(value.as_bytes()).ok()?;
                error = Some(serde_json::from_slice::<AppError>(&json).ok()?);
            }
            "__path" => {}
            _ => {
                rest.append_pair(&key, &value);
            }
        }
    }
    Some((url.path().to_owned(), rest.finish(), error?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::types::Notice;

    fn keys() -> PageStateKeys {
        let secret = ServerSecret::from_bytes(vec![9; 32]).expect("long enough");
        PageStateKeys::new(secret, false, Duration::hours(1))
    }

    #[test]
    fn sealed_state_opens_only_with_its_own_signature_and_purpose() {
        let keys = keys();
        let flash = Flash::notice("/login", Notice::SignedOut);
        let sealed = keys.seal(FLASH_COOKIE, &flash).expect("seals");
        assert_eq!(keys.open::<Flash>(FLASH_COOKIE, &sealed), Some(flash));
        assert_eq!(keys.open::<Flash>(RECOVERY_COOKIE, &sealed), None);
        let (payload, mac) = sealed.split_once('.').expect("two parts");
        let forged = Flash::notice("/login", Notice::Locked);
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        assert_eq!(
            keys.open::<Flash>(FLASH_COOKIE, &format!("{forged_payload}.{mac}")),
            None
        );
        assert_eq!(keys.open::<Flash>(FLASH_COOKIE, payload), None);
        let other = PageStateKeys::new(
            ServerSecret::from_bytes(vec![8; 32]).expect("long enough"),
            false,
            Duration::hours(1),
        );
        assert_eq!(other.open::<Flash>(FLASH_COOKIE, &sealed), None);
    }

    #[test]
    fn typed_values_keep_no_password_code_or_long_value() {
        let body = format!(
            "email=a%40example.com&password=secret&password_confirm=secret&code=123456&\
             first_name=Ada&last_name={}",
            "x".repeat(MAX_KEPT_VALUE + 1)
        );
        assert_eq!(
            kept_values(body.as_bytes()),
            vec![
                ("email".to_owned(), "a@example.com".to_owned()),
                ("first_name".to_owned(), "Ada".to_owned()),
            ]
        );
    }

    #[test]
    fn an_error_address_becomes_the_clean_page_and_its_error() {
        let error = AppError::InvalidCredentials {
            attempts_left: Some(1),
        };
        let encoded = URL_SAFE.encode(serde_json::to_vec(&error).expect("json"));
        let location =
            format!("http://127.0.0.1:3000/admin?q=a%2Bb&__path=%2Fapi%2Flogin&__err={encoded}");
        let (page, query, decoded) = split_error_address(&location).expect("an error address");
        assert_eq!(page, "/admin");
        assert_eq!(query, "q=a%2Bb");
        assert_eq!(decoded, error);
        assert!(split_error_address("http://127.0.0.1:3000/account").is_none());
    }

    #[test]
    fn an_oversized_flash_drops_the_typed_values_first() {
        let keys = keys();
        let flash = Flash {
            page: "/signup".into(),
            failed: Some(FailedForm {
                action: "/api/signup".into(),
                error: AppError::EmailTaken,
            }),
            values: (0..40)
                .map(|index| (format!("field{index}"), "y".repeat(200)))
                .collect(),
            ..Flash::default()
        };
        let cookie = keys
            .flash_cookie(flash)
            .expect("fits once the values are gone");
        let value = cookie.to_str().expect("ascii");
        assert!(value.len() < 4096);
        let sealed = value
            .strip_prefix("latchkey_flash=")
            .and_then(|rest| rest.split(';').next())
            .expect("a cookie");
        let opened = keys.open::<Flash>(FLASH_COOKIE, sealed).expect("opens");
        assert!(opened.values.is_empty());
        assert_eq!(
            opened.failed.map(|failed| failed.error),
            Some(AppError::EmailTaken)
        );
    }
}
